// tests/integration/aal/browser.test.mjs — assurance levels seen by a relying
// party using openid-client v6: an app that needs AAL2 gets the one-time-code step
// after the password, tokens say acr=aal2 and amr pwd+otp+mfa (ID token checked by
// openid-client, access token by jose), SSO to an AAL1 app, step-up from an AAL1
// session via acr_values, the unmet page, prompt=none, and the AAL2 idle limit
// (aal.test.sh runs authd with [policy] aal2_idle_s = 6). Tests run in order and
// share the browser of the first one (the idle test needs an AAL2 session).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import {
	env, origin, SESSION_COOKIE, configFor, Browser, authorize, authRequest, redeem,
	postPassword, postOtp, location, freshCode, hiddenField, unescapeHtml, formKind,
} from './lib.mjs';

const app1 = await configFor(env.app1);
const app2 = await configFor(env.app2);
const jwks = jose.createRemoteJWKSet(new URL(app1.serverMetadata().jwks_uri));

const aal2 = { browser: null, lastUse: 0, sid: null, lapsed: null };

async function verifyAccess(at, aud) {
	const { payload, protectedHeader } = await jose.jwtVerify(at, jwks, {
		issuer: env.issuer, algorithms: ['ES256'],
	});
	assert.equal(protectedHeader.typ, 'at+jwt');
	assert.equal(payload.client_id, aud);
	return payload;
}

test('discovery lists the acr values aal1 aal2 aal3', () => {
	assert.deepEqual(app1.serverMetadata().acr_values_supported, ['aal1', 'aal2', 'aal3']);
});

test('min_aal=2: password alone leads to the one-time-code form, the code completes it', async () => {
	const b = new Browser();
	const ar = await authRequest(app2, env.app2.redirect);
	const first = await authorize(b, ar.url);
	assert.equal(first.kind, 'password', 'a fresh browser starts with the password form');
	const tx = hiddenField(first.html, 'tx');

	let res = await postPassword(b, first.html, env.ben);
	assert.equal(res.status, 303);
	const next = location(res);
	assert.equal(next.origin + next.pathname, origin + '/login', 'no code after the password alone');
	assert.equal(next.searchParams.get('tx'), tx, 'the same transaction continues');
	assert.equal(next.searchParams.get('code'), null);
	assert.equal(b.jar.has(SESSION_COOKIE), false, 'no session before the second factor');

	const page = await b.fetch(next);
	assert.equal(page.status, 200);
	const html = await page.text();
	assert.match(html, /<input type="hidden" name="method" value="totp">/);
	assert.match(html, /name="otp" type="text" autocomplete="one-time-code" inputmode="numeric"/);
	assert.match(html, /name="recovery_code"/);
	assert.doesNotMatch(html, /name="password"/, 'the second step does not ask for the password');
	assert.equal(hiddenField(html, 'tx'), tx);

	res = await postOtp(b, html, { otp: await freshCode(env.ben) });
	assert.equal(res.status, 303);
	const cb = location(res);
	assert.equal(cb.origin + cb.pathname, env.app2.redirect);
	assert.ok(b.jar.has(SESSION_COOKIE), 'the completed sign-in sets the session cookie');
	const tokens = await redeem(app2, cb, ar);
	const c = tokens.claims();
	assert.equal(c.acr, 'aal2');
	assert.ok(c.amr.includes('pwd') && c.amr.includes('otp') && c.amr.includes('mfa'),
		`amr ${JSON.stringify(c.amr)}`);
	assert.equal(c.preferred_username, 'ben');
	assert.ok(Math.abs(c.auth_time - Date.now() / 1000) < 30, 'auth_time is now');
	const at = await verifyAccess(tokens.access_token, env.app2.id);
	assert.equal(at.acr, 'aal2');
	assert.equal(at.sub, c.sub);
	assert.ok(at.amr.includes('otp'));

	// The same browser, an AAL1 app: a code at once, no form (SSO), same session.
	const ar1 = await authRequest(app1, env.app1.redirect);
	const sso = await authorize(b, ar1.url);
	assert.ok(sso.callback, 'app1 got a code without any form');
	assert.equal(sso.callback.origin + sso.callback.pathname, env.app1.redirect);
	const t1 = await redeem(app1, sso.callback, ar1);
	assert.equal(t1.claims().sub, c.sub);
	assert.equal(t1.claims().sid, c.sid);
	assert.equal(t1.claims().acr, 'aal2');
	aal2.browser = b;
	aal2.lastUse = Date.now();
	aal2.sid = c.sid;
});

test('acr_values=aal3 with an AAL2 session and no AAL3 method: the unmet page, no code', async () => {
	assert.ok(aal2.browser, 'needs the AAL2 browser of the previous test');
	const b = aal2.browser;
	const ar = await authRequest(app1, env.app1.redirect, { acr_values: 'aal3' });
	const res = await b.fetch(ar.url);
	assert.equal(res.status, 303);
	const loc = location(res);
	assert.equal(loc.origin + loc.pathname, origin + '/login', 'no code for aal3 from an aal2 session');
	const page = await b.fetch(loc);
	assert.equal(page.status, 403);
	const html = await page.text();
	assert.match(html, /<a href="\/account">/);
	assert.match(unescapeHtml(html), /error=unmet_authentication_requirements/);
	assert.equal(formKind(html), undefined, 'no form to fill in');
});

test('acr_values=aal2 from an AAL1 app steps an AAL1 session up with the code form only', async () => {
	const b = new Browser();
	const ar = await authRequest(app1, env.app1.redirect);
	const first = await authorize(b, ar.url);
	assert.equal(first.kind, 'password');
	let res = await postPassword(b, first.html, env.ben);
	assert.equal(res.status, 303);
	const cb = location(res);
	assert.equal(cb.origin + cb.pathname, env.app1.redirect, 'AAL1 is enough for app1');
	const t1 = await redeem(app1, cb, ar);
	assert.equal(t1.claims().acr, 'aal1');
	assert.deepEqual(t1.claims().amr, ['pwd']);
	const oldCookie = b.jar.get(SESSION_COOKIE);
	assert.ok(oldCookie);

	const up = await authRequest(app1, env.app1.redirect, { acr_values: 'aal2' });
	const step = await authorize(b, up.url);
	assert.equal(step.kind, 'totp', 'only the one-time-code form, no password form');
	res = await postOtp(b, step.html, { otp: await freshCode(env.ben) });
	assert.equal(res.status, 303);
	const cb2 = location(res);
	assert.equal(cb2.origin + cb2.pathname, env.app1.redirect);
	const t2 = await redeem(app1, cb2, up);
	const c2 = t2.claims();
	assert.equal(c2.acr, 'aal2');
	assert.ok(c2.amr.includes('pwd') && c2.amr.includes('otp') && c2.amr.includes('mfa'));
	assert.equal(c2.sub, t1.claims().sub);
	assert.ok(c2.auth_time >= t1.claims().auth_time);
	const newCookie = b.jar.get(SESSION_COOKIE);
	assert.ok(newCookie && newCookie !== oldCookie, 'step-up gives a new session id');

	// The old cookie is worthless now.
	const stale = new Browser();
	stale.jar.set(SESSION_COOKIE, oldCookie);
	const none = await authRequest(app1, env.app1.redirect, { prompt: 'none' });
	const r = await stale.fetch(none.url);
	assert.equal(r.status, 303);
	assert.equal(location(r).searchParams.get('error'), 'login_required');
});

test('min_aal=2 for a user without TOTP: the unmet page (403) with /account and a way back', async () => {
	const b = new Browser();
	const ar = await authRequest(app2, env.app2.redirect);
	const first = await authorize(b, ar.url);
	assert.equal(first.kind, 'password');
	const res = await postPassword(b, first.html, env.ann);
	assert.equal(res.status, 403);
	assert.equal(res.headers.get('location'), null, 'no code, no redirect');
	const html = await res.text();
	assert.match(html, /<a href="\/account">/);
	const back = [...html.matchAll(/<a href="([^"]*)">/g)].map((m) => unescapeHtml(m[1]))
		.find((h) => h.startsWith(env.app2.redirect));
	assert.ok(back, 'a link back to the application');
	const u = new URL(back);
	assert.equal(u.searchParams.get('error'), 'unmet_authentication_requirements');
	assert.equal(u.searchParams.get('state'), ar.state);
	assert.equal(u.searchParams.get('iss'), env.issuer);
	assert.equal(u.searchParams.get('code'), null);
	// Signed in at the level reached, so the account page (and AAL1 apps) work.
	const acct = await b.fetch('/account');
	assert.equal(acct.status, 200);
	assert.match(await acct.text(), /ann/);
});

test('prompt=none for app2 with an AAL1 session: interaction_required at the redirect', async () => {
	const b = new Browser();
	const ar = await authRequest(app1, env.app1.redirect);
	const first = await authorize(b, ar.url);
	const res = await postPassword(b, first.html, env.ben);
	assert.equal(res.status, 303);
	assert.equal(location(res).origin + location(res).pathname, env.app1.redirect);

	const none = await authRequest(app2, env.app2.redirect, { prompt: 'none' });
	const r = await b.fetch(none.url);
	assert.equal(r.status, 303);
	const loc = location(r);
	assert.equal(loc.origin + loc.pathname, env.app2.redirect);
	assert.equal(loc.searchParams.get('error'), 'interaction_required');
	assert.equal(loc.searchParams.get('state'), none.state);
	assert.equal(loc.searchParams.get('code'), null);

	// Without any session it is login_required.
	const r2 = await new Browser().fetch(none.url);
	assert.equal(location(r2).searchParams.get('error'), 'login_required');
});

test('AAL2 idle limit (6 s): app2 asks for the password again, app1 still gets in', async () => {
	assert.ok(aal2.browser, 'needs the AAL2 browser of the second test');
	const idle = 7000 - (Date.now() - aal2.lastUse);
	if (idle > 0) await new Promise((r) => setTimeout(r, idle));
	const b = aal2.browser;

	const ar2 = await authRequest(app2, env.app2.redirect);
	const again = await authorize(b, ar2.url);
	assert.equal(again.callback, undefined, 'no code for app2 from an idle AAL2 session');
	assert.equal(again.kind, 'password', 'full reauthentication: the password form, not only the code');

	const ar1 = await authRequest(app1, env.app1.redirect);
	const sso = await authorize(b, ar1.url);
	assert.ok(sso.callback, 'app1 (AAL1) still gets a code without a form');
	const t1 = await redeem(app1, sso.callback, ar1);
	assert.equal(t1.claims().sid, aal2.sid, 'the same session');
	aal2.lapsed = t1;
});

test('after the AAL2 idle limit, new tokens say the level the session holds: acr aal1', () => {
	assert.ok(aal2.lapsed, 'needs the tokens of the idle test');
	const c = aal2.lapsed.claims();
	// docs/assurance-levels.md: the ID token carries acr, "the level the session
	// holds"; the AAL2 proof has lapsed, so aal2 would overstate it (and an app
	// cannot see idleness in auth_time).
	assert.equal(c.acr, 'aal1', `ID token acr after the AAL2 idle limit: ${c.acr}`);
});
