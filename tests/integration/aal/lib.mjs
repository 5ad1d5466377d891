// tests/integration/aal/lib.mjs — what the assurance-level node tests share: the
// coordinates aal.test.sh exports (its own authd, clients app1/app2, user ben with
// TOTP), a cookie-keeping browser that walks the multi-step sign-in one page at a
// time (so each test can say which form it expected), and one-time codes from
// oathtool that never reuse a time step the server has already seen.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as client from 'openid-client';
import { jarFetch } from '../cookies.mjs';

function need(name) {
	const v = process.env[name];
	if (!v) throw new Error(`${name} is not set; run these tests through tests/integration/aal.test.sh`);
	return v;
}

export const env = {
	issuer: need('AAL_ISSUER'),
	app1: { id: need('AAL_APP1'), secret: need('AAL_APP1_SECRET'), redirect: need('AAL_APP1_REDIRECT') },
	app2: { id: need('AAL_APP2'), secret: need('AAL_APP2_SECRET'), redirect: need('AAL_APP2_REDIRECT') },
	ann: { name: 'ann', password: need('AAL_ANN_PASSWORD') },
	ben: { name: 'ben', password: need('AAL_BEN_PASSWORD'), secret: need('AAL_BEN_SECRET'),
		stepFile: need('AAL_BEN_STEP_FILE') },
};
export const origin = new URL(env.issuer).origin;
export const SESSION_COOKIE = '__Host-authd_session';

export async function configFor(c) {
	const config = await client.discovery(new URL(env.issuer), c.id,
		{ id_token_signed_response_alg: 'ES256' }, client.ClientSecretBasic(c.secret));
	client.enableNonRepudiationChecks(config);
	return config;
}

const entities = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" };
export function unescapeHtml(s) {
	return s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e) => entities[e]);
}

export function hiddenField(html, name) {
	const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html);
	return m ? unescapeHtml(m[1]) : undefined;
}

// Which sign-in form a page is: 'totp', 'password', or undefined (not a form).
export function formKind(html) {
	if (/<input type="hidden" name="method" value="totp">/.test(html)) return 'totp';
	if (/name="password"/.test(html) && /<form method="post" action="\/login">/.test(html))
		return 'password';
	return undefined;
}

// One browser: a cookie jar for the issuer's origin, redirects never followed.
export class Browser {
	constructor() {
		this.jar = new Map();
	}

	fetch(url, init = {}) {
		const headers = new Headers(init.headers);
		headers.set('accept-language', 'en');
		return jarFetch(this.jar, origin, new URL(url, env.issuer), { ...init, headers });
	}

	// POST a form to the issuer as the page's own form would.
	post(path, fields) {
		return this.fetch(new URL(path, env.issuer), {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
			body: new URLSearchParams(fields),
		});
	}
}

export function location(res, base = env.issuer) {
	const l = res.headers.get('location');
	assert.ok(l, `expected a Location header (status ${res.status})`);
	return new URL(l, base);
}

// GET /authorize; returns either { callback } (the session answered) or
// { page, html, kind } (the sign-in page the browser was sent to).
export async function authorize(browser, url) {
	const res = await browser.fetch(url);
	assert.equal(res.status, 303, `authorize answered ${res.status}`);
	const loc = location(res, url);
	if (!(loc.origin === origin && loc.pathname === '/login'))
		return { callback: loc };
	const page = await browser.fetch(loc);
	assert.equal(page.status, 200, `login page answered ${page.status}`);
	const html = await page.text();
	return { page: loc, html, kind: formKind(html) };
}

// Posts the password form of html; returns the raw response.
export function postPassword(browser, html, user) {
	return browser.post('/login', {
		tx: hiddenField(html, 'tx'), csrf: hiddenField(html, 'csrf'), method: 'password',
		username: user.name, password: user.password,
	});
}

// Posts the one-time-code form of html with { otp } or { recovery_code }.
export function postOtp(browser, html, fields) {
	return browser.post('/login', {
		tx: hiddenField(html, 'tx'), csrf: hiddenField(html, 'csrf'), method: 'totp', ...fields,
	});
}

export function authRequest(config, redirectUri, extra = {}) {
	const verifier = client.randomPKCECodeVerifier();
	const state = client.randomState();
	const nonce = client.randomNonce();
	return client.calculatePKCECodeChallenge(verifier).then((challenge) => ({
		url: client.buildAuthorizationUrl(config, {
			redirect_uri: redirectUri, scope: 'openid profile', code_challenge: challenge,
			code_challenge_method: 'S256', state, nonce, ...extra,
		}),
		verifier, state, nonce,
	}));
}

export function redeem(config, callback, ar) {
	return client.authorizationCodeGrant(config, callback, {
		pkceCodeVerifier: ar.verifier, expectedState: ar.state, expectedNonce: ar.nonce,
		idTokenExpected: true,
	});
}

// A one-time code for a time step after the last one this user used (the server
// refuses a step at or before its last accepted one) and within ±1 of now. Waits
// (at most one step) when both allowed steps are used up. The last step lives in
// a file so that the shell script and these tests share it.
export async function freshCode(user) {
	const last = Number(readFileSync(user.stepFile, 'utf8').trim());
	for (let i = 0; i < 40; i++) {
		const now = Math.floor(Date.now() / 1000 / 30);
		const step = Math.max(now, last + 1);
		if (step <= now + 1) {
			writeFileSync(user.stepFile, `${step}\n`);
			return codeAt(user.secret, step);
		}
		await new Promise((r) => setTimeout(r, 1000));
	}
	throw new Error('no fresh TOTP step within 40 s');
}

export function codeAt(secret, step) {
	return execFileSync('oathtool', ['--totp', '-b', secret, '--now', `@${step * 30 + 1}`],
		{ encoding: 'utf8' }).trim();
}

export { client };
