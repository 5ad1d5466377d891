// tests/bench/load.mjs — load generator for the password-login and refresh
// figures of `make bench`. Node built-ins only (fetch, crypto), so it runs
// without the integration suite's npm modules. Every login is the real browser
// flow with a fresh cookie jar (so it creates a new session): GET /authorize ->
// GET /login?tx= -> POST /login -> 303 to the redirect_uri with a code.
//
// usage:
//   node load.mjs logins ISSUER CLIENT REDIRECT USERS CONCURRENCY SECONDS MAX
//     prints one JSON line {logins, failures, seconds, rate, first_error}
//   node load.mjs seed ISSUER CLIENT SECRET REDIRECT USERS COUNT OUTFILE
//     logs in COUNT times, redeems each code, writes the refresh tokens to OUTFILE
// USERS is a file of "name password" lines; logins go round-robin over them.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const b64u = (buf) => Buffer.from(buf).toString('base64url');

function hidden(html, name) {
	const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html);
	return m ? m[1].replace(/&amp;/g, '&') : undefined;
}

function readUsers(file) {
	const users = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
		const i = l.indexOf(' ');
		return { name: l.slice(0, i), password: l.slice(i + 1) };
	});
	if (users.length === 0) throw new Error(`no users in ${file}`);
	return users;
}

class Jar {
	constructor() { this.c = new Map(); }
	header() { return [...this.c].map(([k, v]) => `${k}=${v}`).join('; '); }
	take(res) {
		for (const sc of res.headers.getSetCookie()) {
			const nv = sc.split(';')[0];
			const i = nv.indexOf('=');
			this.c.set(nv.slice(0, i), nv.slice(i + 1));
		}
	}
}

// One login; resolves to { code, verifier } or throws with the step that failed.
async function login(issuer, clientId, redirect, user) {
	const jar = new Jar();
	const origin = new URL(issuer).origin;
	const verifier = b64u(randomBytes(32));
	const challenge = b64u(createHash('sha256').update(verifier).digest());
	const q = new URLSearchParams({
		response_type: 'code', client_id: clientId, redirect_uri: redirect,
		scope: 'openid offline_access', state: b64u(randomBytes(12)),
		nonce: b64u(randomBytes(12)), code_challenge: challenge, code_challenge_method: 'S256',
	});
	let res = await fetch(`${issuer}/authorize?${q}`, { redirect: 'manual' });
	await res.arrayBuffer();
	if (res.status !== 303) throw new Error(`authorize ${res.status}`);
	jar.take(res);
	res = await fetch(new URL(res.headers.get('location'), issuer),
		{ redirect: 'manual', headers: { cookie: jar.header() } });
	const html = await res.text();
	if (res.status !== 200) throw new Error(`login page ${res.status}`);
	jar.take(res);
	res = await fetch(`${issuer}/login`, {
		method: 'POST',
		redirect: 'manual',
		headers: {
			cookie: jar.header(), origin,
			'content-type': 'application/x-www-form-urlencoded',
		},
		body: new URLSearchParams({
			tx: hidden(html, 'tx'), csrf: hidden(html, 'csrf'),
			username: user.name, password: user.password,
		}),
	});
	await res.arrayBuffer();
	if (res.status !== 303) throw new Error(`login ${res.status}`);
	const code = new URL(res.headers.get('location')).searchParams.get('code');
	if (!code) throw new Error('no code in the redirect');
	return { code, verifier };
}

async function logins([issuer, clientId, redirect, usersFile, conc, secs, max]) {
	const users = readUsers(usersFile);
	const deadline = Date.now() + Number(secs) * 1000;
	const limit = Number(max);
	let started = 0, done = 0, failures = 0, firstError = null;
	const t0 = performance.now();
	async function lane() {
		while (Date.now() < deadline && started < limit) {
			const user = users[started++ % users.length];
			try {
				await login(issuer, clientId, redirect, user);
				done++;
			} catch (e) {
				failures++;
				firstError ??= String(e.message ?? e);
				if (failures > 1000 && done === 0) return; // the server is not logging anyone in
			}
		}
	}
	await Promise.all(Array.from({ length: Number(conc) }, lane));
	const seconds = (performance.now() - t0) / 1000;
	console.log(JSON.stringify({ logins: done, failures, seconds, rate: done / seconds, first_error: firstError }));
}

async function seed([issuer, clientId, secret, redirect, usersFile, count, outFile]) {
	const users = readUsers(usersFile);
	const basic = 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64');
	const tokens = [];
	const n = Number(count);
	let next = 0;
	async function lane() {
		while (next < n) {
			const i = next++;
			const { code, verifier } = await login(issuer, clientId, redirect, users[i % users.length]);
			const res = await fetch(`${issuer}/token`, {
				method: 'POST',
				headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
				body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: verifier }),
			});
			const j = await res.json();
			if (res.status !== 200 || !j.refresh_token)
				throw new Error(`token ${res.status} ${j.error ?? ''}`);
			tokens.push(j.refresh_token);
		}
	}
	await Promise.all(Array.from({ length: 8 }, lane));
	writeFileSync(outFile, tokens.join('\n') + '\n', { mode: 0o600 });
	console.log(JSON.stringify({ seeded: tokens.length }));
}

const [mode, ...args] = process.argv.slice(2);
const modes = { logins, seed };
if (!modes[mode]) {
	console.error('usage: load.mjs logins|seed ...');
	process.exit(2);
}
modes[mode](args).catch((e) => {
	console.error(`load.mjs ${mode}: ${e.message ?? e}`);
	process.exit(1);
});
