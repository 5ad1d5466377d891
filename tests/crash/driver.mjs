// tests/crash/driver.mjs — the clients of the crash-safety test (run.sh).
//
//   node driver.mjs run STATE    concurrent logins (authorize -> login form ->
//                                code grant), refresh grants and revocations
//                                until the file STATE.stop appears; writes STATE
//   node driver.mjs verify STATE checks that everything acknowledged is still true
//
// Only what a client saw succeed is recorded. A request cut off by a kill (no
// response) leaves its outcome unknown to the client, so the chain it touched
// is marked uncertain and left out of the final checks — exactly the freedom
// the server has. Everything else must hold after any number of SIGKILLs:
//   - the newest refresh token of each chain works (once) and introspects active;
//   - every acknowledged revocation stayed: introspection inactive, grant refused;
//   - while running, a refresh token the client holds as newest is never refused
//     (a refusal would mean an acknowledged rotation was lost);
//   - every user can still sign in with their password (at once after a restart:
//     the leases of checks the kill interrupted are dropped at start-up; a 429
//     because the same user's other sign-in is being checked is retried).
// Environment: AUTHD_ISSUER, CRASH_CLIENT_ID, CRASH_CLIENT_SECRET, CRASH_REDIRECT,
// CRASH_USERS (JSON [[name, password], ...]), CRASH_CONCURRENCY (8).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const issuer = process.env.AUTHD_ISSUER;
const client = { id: process.env.CRASH_CLIENT_ID, secret: process.env.CRASH_CLIENT_SECRET };
const redirect = process.env.CRASH_REDIRECT;
const users = JSON.parse(process.env.CRASH_USERS || '[]');
const concurrency = Math.min(Math.max(Number(process.env.CRASH_CONCURRENCY || 8), 1), 64);
const [mode, stateFile] = process.argv.slice(2);
if (!issuer || !client.id || !client.secret || !redirect || users.length === 0 || !stateFile ||
    (mode !== 'run' && mode !== 'verify')) {
	console.error('usage: node driver.mjs run|verify STATE (environment: see the header)');
	process.exit(2);
}
const origin = new URL(issuer).origin;
const basic = 'Basic ' + Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64');

// A network failure: the daemon was killed or is restarting. Not an answer.
class Cut extends Error {}

async function req(url, init = {}) {
	try {
		const res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(10000) });
		const body = await res.text();
		return { status: res.status, headers: res.headers, body };
	} catch (e) {
		throw new Cut(String(e.cause?.code || e.message));
	}
}

function form(url, params, headers = {}) {
	return req(url, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
		body: new URLSearchParams(params),
	});
}

const b64u = (b) => Buffer.from(b).toString('base64url');
function hidden(html, name) {
	const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html);
	return m ? m[1].replace(/&amp;/g, '&') : undefined;
}

// One person's browser: authorize -> /login form -> code, then the code grant.
// Returns the token response, or throws Cut / Error.
async function login(user, password) {
	const jar = new Map();
	const cookies = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
	const keep = (r) => {
		for (const sc of r.headers.getSetCookie()) {
			const nv = sc.split(';')[0];
			const i = nv.indexOf('=');
			jar.set(nv.slice(0, i).trim(), nv.slice(i + 1).trim());
		}
	};
	const verifier = b64u(randomBytes(32));
	const state = b64u(randomBytes(16));
	const u = new URL('/authorize', issuer);
	u.search = new URLSearchParams({
		response_type: 'code', client_id: client.id, redirect_uri: redirect,
		scope: 'openid offline_access', state, nonce: b64u(randomBytes(16)),
		code_challenge: b64u(createHash('sha256').update(verifier).digest()),
		code_challenge_method: 'S256',
	});
	let r = await req(u);
	if (r.status !== 303) throw new Error(`authorize: ${r.status} ${r.body.slice(0, 200)}`);
	keep(r);
	const loginUrl = new URL(r.headers.get('location'), issuer);
	r = await req(loginUrl, { headers: { cookie: cookies() } });
	if (r.status !== 200) throw new Error(`login page: ${r.status}`);
	keep(r);
	const tx = hidden(r.body, 'tx'), csrf = hidden(r.body, 'csrf');
	if (!tx || !csrf) throw new Error('login page without tx/csrf');
	// The same person signing in from two places at once: the throttle checks
	// one password per account at a time and answers the other 429 at once.
	// That is a refusal to retry, not a lost write.
	for (let i = 0; ; i++) {
		r = await form(new URL('/login', issuer), { tx, csrf, username: user, password },
			{ cookie: cookies(), origin });
		if (r.status !== 429 || i === 20) break;
		await sleep(Math.min(Number(r.headers.get('retry-after')) || 1, 2) * 1000 * Math.random() + 50);
	}
	if (r.status !== 303) throw new Error(`login post: ${r.status} ${r.body.slice(0, 200)}`);
	const cb = new URL(r.headers.get('location'));
	if (cb.searchParams.get('state') !== state || !cb.searchParams.get('code'))
		throw new Error(`login redirect: ${cb}`);
	r = await form(new URL('/token', issuer), {
		grant_type: 'authorization_code', code: cb.searchParams.get('code'),
		redirect_uri: redirect, code_verifier: verifier,
	}, { authorization: basic });
	if (r.status !== 200) throw new Error(`code grant: ${r.status} ${r.body}`);
	const t = JSON.parse(r.body);
	if (!t.refresh_token || !t.access_token) throw new Error('code grant without tokens');
	return t;
}

const refresh = (rt) => form(new URL('/token', issuer),
	{ grant_type: 'refresh_token', refresh_token: rt }, { authorization: basic });
const revoke = (rt) => form(new URL('/revoke', issuer),
	{ token: rt, token_type_hint: 'refresh_token' }, { authorization: basic });
const introspect = (t) => form(new URL('/introspect', issuer), { token: t }, { authorization: basic });

// ---- run -------------------------------------------------------------------
async function run() {
	const chains = [];   // {refresh, revoked, uncertain, busy, user}
	const st = { logins: 0, refreshes: 0, revocations: 0, cuts: 0, errors: 0, violations: [] };
	const stop = () => existsSync(stateFile + '.stop');
	const pick = () => {
		const free = chains.filter((c) => !c.busy && !c.revoked && !c.uncertain);
		return free.length ? free[Math.floor(Math.random() * free.length)] : null;
	};
	async function worker(w) {
		let n = 0;
		while (!stop() && n++ < 1e6) {
			const roll = Math.random();
			const c = roll < 0.55 ? pick() : null;
			try {
				if (c === null) {
					const [u, p] = users[(w + n) % users.length];
					const t = await login(u, p);
					chains.push({ refresh: t.refresh_token, revoked: false, uncertain: false, user: u });
					st.logins++;
				} else if (roll < 0.45) {
					c.busy = true;
					try {
						const r = await refresh(c.refresh);
						if (r.status === 200) {
							c.refresh = JSON.parse(r.body).refresh_token;
							st.refreshes++;
						} else if (r.status >= 500) {
							c.uncertain = true;
							st.errors++;
							st.violations.push(`refresh answered ${r.status}: ${r.body}`);
						} else {
							// The client holds this as the newest token: refusing it
							// means an acknowledged rotation was lost.
							c.uncertain = true;
							st.violations.push(`newest refresh token refused: ${r.status} ${r.body}`);
						}
					} catch (e) {
						c.uncertain = true;
						throw e;
					} finally {
						c.busy = false;
					}
				} else {
					c.busy = true;
					try {
						const r = await revoke(c.refresh);
						if (r.status === 200) {
							c.revoked = true;
							st.revocations++;
						} else {
							c.uncertain = true;
							st.violations.push(`revocation answered ${r.status}: ${r.body}`);
						}
					} catch (e) {
						c.uncertain = true;
						throw e;
					} finally {
						c.busy = false;
					}
				}
			} catch (e) {
				if (e instanceof Cut) {
					st.cuts++;
					await sleep(50 + Math.random() * 100);
				} else {
					// A refused login or grant with a live server: count it and
					// report; the run fails on any.
					st.errors++;
					if (st.violations.length < 50) st.violations.push(String(e.message));
					await sleep(50);
				}
			}
		}
	}
	await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
	writeFileSync(stateFile, JSON.stringify({ chains, stats: st }));
	const certain = chains.filter((c) => !c.uncertain);
	console.log(`# run: ${st.logins} logins, ${st.refreshes} refreshes, ${st.revocations} revocations ` +
		`acknowledged; ${st.cuts} requests cut by kills; ${chains.length} chains ` +
		`(${certain.length} certain, ${certain.filter((c) => c.revoked).length} revoked)`);
	for (const v of st.violations.slice(0, 20)) console.log(`# violation: ${v}`);
	process.exit(st.violations.length === 0 && st.errors === 0 ? 0 : 1);
}

// ---- verify ----------------------------------------------------------------
async function verify() {
	const { chains } = JSON.parse(readFileSync(stateFile, 'utf8'));
	const bad = [];
	let live = 0, dead = 0;
	for (const c of chains) {
		if (c.uncertain) continue;
		const i = await introspect(c.refresh);
		const active = i.status === 200 && JSON.parse(i.body).active === true;
		if (c.revoked) {
			dead++;
			if (i.status !== 200 || active) bad.push(`revoked token introspects ${i.status} ${i.body}`);
			const r = await refresh(c.refresh);
			if (r.status !== 400 || JSON.parse(r.body).error !== 'invalid_grant')
				bad.push(`revoked token refreshed: ${r.status} ${r.body}`);
		} else {
			live++;
			if (!active) bad.push(`newest refresh token of ${c.user} inactive: ${i.status} ${i.body}`);
			const r = await refresh(c.refresh);
			if (r.status !== 200) bad.push(`newest refresh token of ${c.user} refused: ${r.status} ${r.body}`);
		}
	}
	for (const [u, p] of users) {
		try {
			await login(u, p);
		} catch (e) {
			bad.push(`${u} cannot sign in after the kills: ${e.message}`);
		}
	}
	console.log(`# verify: ${live} live chains refreshed, ${dead} revoked chains refused, ` +
		`${users.length} users signed in; ${bad.length} problems`);
	for (const b of bad.slice(0, 30)) console.log(`# ${b}`);
	process.exit(bad.length === 0 && live + dead > 0 ? 0 : 1);
}

await (mode === 'run' ? run() : verify());
