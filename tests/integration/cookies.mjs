// tests/integration/cookies.mjs — the cookie handling of the test "browsers"
// (helpers.mjs, aal/lib.mjs): a jar for one origin, sent only there, updated
// from Set-Cookie (an empty value or Max-Age=0 deletes). No redirect is followed.
export async function jarFetch(jar, origin, url, init = {}) {
	const u = new URL(url);
	const headers = new Headers(init.headers);
	if (u.origin === origin && jar.size > 0)
		headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
	const res = await fetch(u, { ...init, headers, redirect: 'manual' });
	if (u.origin === origin) {
		for (const sc of res.headers.getSetCookie()) {
			const nv = sc.split(';')[0];
			const i = nv.indexOf('=');
			const name = nv.slice(0, i).trim();
			const value = nv.slice(i + 1).trim();
			if (value === '' || /;\s*max-age=0/i.test(sc)) jar.delete(name);
			else jar.set(name, value);
		}
	}
	return res;
}
