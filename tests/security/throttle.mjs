// tests/security/throttle.mjs — the parallel clients of review-throttle.test.sh:
// many sign-in attempts at one moment, each a real browser flow (its own
// authorization request, login cookie, transaction and CSRF token) or a real
// host login (POST /token), each presenting the client address of its choice in
// X-Forwarded-For (authd believes it only from [server] trusted_proxies, which
// the test sets to 127.0.0.1). Prints one JSON object on stdout.
//
// node throttle.mjs COMMAND 'JSON-ARGS' — commands below (see `commands`).
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';

const I = process.env.AUTHD_ISSUER;
if (!I) throw new Error('AUTHD_ISSUER is not set');
const origin = new URL(I).origin;

const b64url = (b) => Buffer.from(b).toString('base64url');

// One request; jar is a Map of cookies for authd's origin, or null.
async function call(path, { method = 'GET', form = null, jar = null, addr = null, headers = {} } = {}) {
	const h = new Headers(headers);
	if (addr) h.set('x-forwarded-for', addr);
	if (jar && jar.size > 0) h.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
	let body;
	if (form) {
		h.set('content-type', 'application/x-www-form-urlencoded');
		h.set('origin', origin);
		body = new URLSearchParams(form).toString();
	}
	const t0 = performance.now();
	let res;
	try {
		res = await fetch(new URL(path, I), { method, headers: h, body, redirect: 'manual' });
	} catch (e) {
		return { status: 0, error: String(e.cause?.code ?? e.message), ms: performance.now() - t0 };
	}
	const text = await res.text();
	const ms = performance.now() - t0;
	if (jar) {
		for (const sc of res.headers.getSetCookie()) {
			const nv = sc.split(';')[0];
			const i = nv.indexOf('=');
			const name = nv.slice(0, i).trim();
			const value = nv.slice(i + 1).trim();
			if (value === '' || /;\s*max-age=0/i.test(sc)) jar.delete(name);
			else jar.set(name, value);
		}
	}
	return {
		status: res.status,
		location: res.headers.get('location'),
		retryAfter: res.headers.get('retry-after'),
		text,
		ms,
	};
}

function hidden(html, name) {
	const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html);
	return m ? m[1] : undefined;
}

// A login transaction as a browser at addr gets it: authorize, then the page.
async function newTx(a, addr) {
	const jar = new Map();
	const verifier = b64url(crypto.randomBytes(32));
	const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
	const q = new URLSearchParams({
		response_type: 'code', client_id: a.client, redirect_uri: a.redirect, scope: 'openid',
		state: b64url(crypto.randomBytes(9)), nonce: b64url(crypto.randomBytes(9)),
		code_challenge: challenge, code_challenge_method: 'S256',
	});
	const r1 = await call(`/authorize?${q}`, { jar, addr });
	if (r1.status !== 303 || !r1.location?.startsWith('/login?'))
		throw new Error(`authorize from ${addr}: ${r1.status} ${r1.location ?? ''}`);
	const r2 = await call(r1.location, { jar, addr });
	const tx = hidden(r2.text, 'tx'), csrf = hidden(r2.text, 'csrf');
	if (r2.status !== 200 || !tx || !csrf) throw new Error(`login page from ${addr}: ${r2.status}`);
	return { jar, tx, csrf, addr };
}

const postPassword = (t, username, password) =>
	call('/login', { method: 'POST', jar: t.jar, addr: t.addr, form: { tx: t.tx, csrf: t.csrf, username, password } });
const postOtp = (t, otp) =>
	call('/login', { method: 'POST', jar: t.jar, addr: t.addr, form: { tx: t.tx, csrf: t.csrf, method: 'totp', otp } });

// RFC 6238 with SHA-1, 6 digits, 30 s, from a base32 secret.
function totp(secret, step) {
	const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let bits = '';
	for (const ch of secret.replace(/=+$/, '')) bits += alpha.indexOf(ch).toString(2).padStart(5, '0');
	const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
	const msg = Buffer.alloc(8);
	msg.writeBigUInt64BE(BigInt(step));
	const h = crypto.createHmac('sha1', key).update(msg).digest();
	const o = h[19] & 15;
	return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}
const stepNow = () => Math.floor(Date.now() / 30000);
// n six-digit codes that none of the steps the server accepts now would take.
function wrongCodes(secret, n) {
	const s = stepNow();
	const valid = new Set([-2, -1, 0, 1, 2].map((d) => totp(secret, s + d)));
	const out = [];
	for (let c = 100000; out.length < n; c += 7919) if (!valid.has(String(c % 1000000).padStart(6, '0'))) out.push(String(c % 1000000).padStart(6, '0'));
	return out;
}

const tally = (rs) => rs.reduce((m, r) => ((m[r.status] = (m[r.status] ?? 0) + 1), m), {});

// Password attempts for unknown names from addresses of their own, to keep the
// worker pool busy with Argon2id while something else happens.
async function busyLoad(a, b) {
	if (!b) return null;
	const txs = await Promise.all(Array.from({ length: b.n }, (_, i) => newTx(a, b.addrs[i % b.addrs.length])));
	return Promise.all(txs.map((t, i) => postPassword(t, `nobody-busy-${process.pid}-${i}`, 'not-the-password')));
}

async function hostToken(a, form, addr) {
	const basic = Buffer.from(`${encodeURIComponent(a.client)}:${encodeURIComponent(a.secret)}`).toString('base64');
	const r = await call('/token', { method: 'POST', addr, form, headers: { authorization: `Basic ${basic}` } });
	try { r.json = JSON.parse(r.text); } catch { r.json = null; }
	return r;
}

const commands = {
	// {client, redirect, addr, n, user | users, password}: n browser sign-ins
	// prepared first, then all posted at once. -> {codes, maxMs}
	async 'pw-burst'(a) {
		const txs = await Promise.all(Array.from({ length: a.n }, () => newTx(a, a.addr)));
		const rs = await Promise.all(txs.map((t, i) => postPassword(t, a.users ? a.users[i % a.users.length] : a.user, a.password)));
		return { codes: tally(rs), maxMs: Math.round(Math.max(...rs.map((r) => r.ms))) };
	},
	// {client, redirect, attempts: [{user, password, addr}]}: one after another.
	// -> {statuses: [...], retryAfter: [...]}
	async 'pw-seq'(a) {
		const statuses = [], retryAfter = [];
		// Transactions first, so that the attempts follow each other closely.
		const txs = await Promise.all(a.attempts.map((at) => newTx(a, at.addr)));
		for (const [i, at] of a.attempts.entries()) {
			const t = txs[i];
			const r = await postPassword(t, at.user, at.password);
			statuses.push(r.status);
			retryAfter.push(r.retryAfter);
		}
		return { statuses, retryAfter };
	},
	// {client, redirect, addr, user, password, max}: wrong passwords one at a
	// time until one is refused with a back-off (429 with Retry-After > 1, not
	// the 1 s of an attempt in flight). -> {statuses, retryAfter}
	async 'pw-until'(a) {
		const statuses = [];
		let retryAfter = null;
		for (let i = 0; i < (a.max ?? 20); i++) {
			const t = await newTx(a, a.addr);
			const r = await postPassword(t, a.user, a.password);
			statuses.push(r.status);
			if (r.status === 429 && Number(r.retryAfter) > 1) {
				retryAfter = Number(r.retryAfter);
				break;
			}
			if (r.status === 429) await new Promise((res) => setTimeout(res, 1000));
		}
		return { statuses, retryAfter };
	},
	// {client, redirect, addr, user, password, delayMs}: one whole sign-in
	// (authorize, page, password), started after delayMs. -> {status, ms, location}
	async signin(a) {
		await new Promise((r) => setTimeout(r, a.delayMs ?? 0));
		const t0 = performance.now();
		const t = await newTx(a, a.addr);
		const t1 = performance.now();
		const r = await postPassword(t, a.user, a.password);
		return { status: r.status, ms: Math.round(performance.now() - t0), pageMs: Math.round(t1 - t0),
			postMs: Math.round(r.ms), location: r.location ?? '' };
	},
	// {client, redirect, addr, user, password, secret, n, busy}: the password
	// step, then n wrong codes at once in that one transaction (with the pool
	// busy), then the right code. -> {codes, final: {status, location, retryAfter, text}}
	async 'otp-burst'(a) {
		const t = await newTx(a, a.addr);
		const pw = await postPassword(t, a.user, a.password);
		if (pw.status !== 303 || !pw.location?.startsWith('/login?tx=')) throw new Error(`password step: ${pw.status}`);
		const busy = busyLoad(a, a.busy);
		await new Promise((r) => setTimeout(r, a.busy ? 150 : 0));
		const codes = wrongCodes(a.secret, a.n + (a.seq ?? 0));
		const rs = await Promise.all(codes.slice(0, a.n).map((c) => postOtp(t, c)));
		await busy;
		// Then one at a time, while they are still answered as wrong (401).
		const seq = [];
		for (const c of codes.slice(a.n)) {
			const r = await postOtp(t, c);
			seq.push(r.status);
			if (r.status !== 401) break;
		}
		const f = await postOtp(t, totp(a.secret, stepNow()));
		return { codes: tally(rs), seq, final: { status: f.status, location: f.location ?? '', retryAfter: f.retryAfter, text: f.text.slice(0, 4000) } };
	},
	// {client, secret, addr, n, user, password}: n host logins at once. -> {codes, errors}
	async 'host-burst'(a) {
		const rs = await Promise.all(Array.from({ length: a.n }, () =>
			hostToken(a, { grant_type: 'password', username: a.user, password: a.password, scope: 'openid' }, a.addr)));
		const errors = rs.reduce((m, r) => ((m[r.json?.error ?? r.status] = (m[r.json?.error ?? r.status] ?? 0) + 1), m), {});
		return { codes: tally(rs), errors };
	},
	// {client, secret, addr, user, password, totp, n, busy, redirect, bclient}:
	// host password step, n wrong codes at once with that mfa_token, then the
	// right code. -> {codes, final: {status, error, description, retryAfter}}
	async 'host-otp-burst'(a) {
		const pw = await hostToken(a, { grant_type: 'password', username: a.user, password: a.password, scope: 'openid' }, a.addr);
		if (pw.json?.error !== 'mfa_required') throw new Error(`host password step: ${pw.status} ${pw.text}`);
		const busy = busyLoad({ client: a.bclient, redirect: a.redirect }, a.busy);
		await new Promise((r) => setTimeout(r, a.busy ? 150 : 0));
		const mfa = { grant_type: 'urn:authd:params:oauth:grant-type:mfa-otp', mfa_token: pw.json.mfa_token };
		const codes = wrongCodes(a.totp, a.n + (a.seq ?? 0));
		const rs = await Promise.all(codes.slice(0, a.n).map((otp) => hostToken(a, { ...mfa, otp }, a.addr)));
		await busy;
		const seq = [];
		for (const otp of codes.slice(a.n)) {
			const r = await hostToken(a, { ...mfa, otp }, a.addr);
			seq.push(`${r.status} ${r.json?.error ?? ''}${r.retryAfter ? ' Retry-After' : ''}`);
			if (r.status !== 400 || r.json?.error !== 'invalid_grant' || r.retryAfter) break;
		}
		const f = await hostToken(a, { ...mfa, otp: totp(a.totp, stepNow()) }, a.addr);
		return { codes: tally(rs), seq, final: { status: f.status, error: f.json?.error ?? '', description: f.json?.error_description ?? '', retryAfter: f.retryAfter } };
	},
	// {client, redirect, addr, n, prefix, owner: {addr, user, password, delayMs}}:
	// n wrong passwords for n names (PREFIXi) from addr, all at once; the
	// owner's whole sign-in from owner.addr starts about delayMs into it.
	// -> {codes, burstMs, owner: {status, ms}}
	async dos(a) {
		const txs = await Promise.all(Array.from({ length: a.n }, () => newTx(a, a.addr)));
		// The owner is a process of its own (the sign-in command), so that this
		// one's work on 300 answers does not count as the server's delay.
		const owner = spawn(process.execPath, [process.argv[1], 'signin',
			JSON.stringify({ ...a.owner, client: a.client, redirect: a.redirect })],
		{ stdio: ['ignore', 'pipe', 'inherit'] });
		let ownerOut = '';
		owner.stdout.on('data', (d) => (ownerOut += d));
		const ownerDone = new Promise((res) => owner.on('close', res));
		await new Promise((res) => setTimeout(res, 150));	// node's start-up
		const t0 = performance.now();
		const rs = await Promise.all(txs.map((t, i) => postPassword(t, `${a.prefix}${i}`, 'not-the-password')));
		const burstMs = Math.round(performance.now() - t0);
		await ownerDone;
		return { codes: tally(rs), burstMs, owner: JSON.parse(ownerOut || '{"status":0,"ms":-1}') };
	},
	// {client, redirect, addr, cert, key}: a citizen-card sign-in by challenge
	// signing (as tests/integration/x509.test.sh does): /login/begin's nonce
	// signed with `openssl cms`, posted from addr. -> {status, location}
	async card(a) {
		const t = await newTx(a, a.addr);
		const b = await call('/login/begin', { method: 'POST', jar: t.jar, addr: t.addr,
			form: { tx: t.tx, csrf: t.csrf, method: 'x509' } });
		const nonce = JSON.parse(b.text).nonce;
		if (b.status !== 200 || !nonce) throw new Error(`login/begin: ${b.status} ${b.text}`);
		const sig = execFileSync('openssl', ['cms', '-sign', '-binary', '-nodetach', '-signer', a.cert,
			'-inkey', a.key, '-md', 'sha256', '-outform', 'DER'], { input: nonce });
		const r = await call('/login', { method: 'POST', jar: t.jar, addr: t.addr,
			headers: { 'accept-language': 'en' },
			form: { tx: t.tx, csrf: t.csrf, method: 'x509', mode: 'sign', pkcs7: sig.toString('base64') } });
		return { status: r.status, location: r.location ?? '', text: r.status === 303 ? '' : r.text.slice(0, 2000) };
	},
	// {n, addr | addrs, parallel}: wrong device user codes. -> {codes, statuses}
	async 'device-codes'(a) {
		const one = (i) => call(`/device?user_code=BBBB-${'BCDFGHJKLMNPQRSTVWXZ'[i % 20]}${'BCDFGHJKLMNPQRSTVWXZ'[Math.floor(i / 20) % 20]}BB`,
			{ addr: a.addrs ? a.addrs[i % a.addrs.length] : a.addr, headers: { 'accept-language': 'en' } });
		let rs = [];
		// Warm connections first, so that the codes arrive within a millisecond
		// or two rather than one TLS handshake after another.
		if (a.parallel) await Promise.all(Array.from({ length: a.n }, () => call('/healthz')));
		if (a.parallel) rs = await Promise.all(Array.from({ length: a.n }, (_, i) => one(i)));
		else for (let i = 0; i < a.n; i++) rs.push(await one(i));
		return { codes: tally(rs), statuses: rs.map((r) => r.status) };
	},
};

const [cmd, args] = process.argv.slice(2);
if (!commands[cmd]) {
	console.error(`unknown command ${cmd}; one of ${Object.keys(commands).join(', ')}`);
	process.exit(2);
}
commands[cmd](JSON.parse(args ?? '{}')).then(
	(out) => console.log(JSON.stringify(out)),
	(e) => { console.error(e.stack ?? String(e)); process.exit(1); },
);
