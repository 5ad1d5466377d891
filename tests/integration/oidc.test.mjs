// tests/integration/oidc.test.mjs — authd driven by openid-client v6, the way a
// Node relying party uses it: discovery, authorization code + PKCE through the
// real login form, ID token validation, userinfo, refresh rotation with reuse
// detection, introspection and revocation, client credentials, and SSO across
// two clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as jose from 'jose';
import { env, configFor, login, Browser, authRequest, oauthError, hiddenField } from './helpers.mjs';

const rp = await configFor(env.rp);
const rp2 = await configFor(env.rp2);
const svc = await configFor({ ...env.svc });

test('discovery describes a code-only, PKCE-S256 provider at the configured issuer', () => {
	const md = rp.serverMetadata();
	assert.equal(md.issuer, env.issuer);
	assert.deepEqual(md.response_types_supported, ['code']);
	assert.deepEqual(md.code_challenge_methods_supported, ['S256']);
	assert.ok(md.id_token_signing_alg_values_supported.includes('ES256'));
	assert.ok(md.id_token_signing_alg_values_supported.includes('RS256'), 'OIDC requires RS256');
	assert.ok(!md.id_token_signing_alg_values_supported.includes('none'));
	for (const ep of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri',
		'introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint'])
		assert.ok(md[ep]?.startsWith(env.issuer + '/'), `${ep} under the issuer`);
});

test('authorization code + PKCE: ID token validated by openid-client, claims as scoped', async () => {
	const { tokens, callback, browser } = await login(rp, env.rp);
	assert.equal(browser.loginPages, 1, 'a fresh browser sees the login page');
	assert.equal(callback.searchParams.get('iss'), env.issuer, 'RFC 9207 iss in the callback');
	assert.equal(tokens.token_type, 'bearer');
	assert.ok(tokens.expires_in > 0 && tokens.expires_in <= 300);
	const c = tokens.claims();
	assert.equal(c.iss, env.issuer);
	assert.equal(c.aud, env.rp.id);
	assert.equal(typeof c.sub, 'string');
	assert.ok(c.sub.length > 0 && c.sub !== env.user, 'sub is a stable id, not the user name');
	assert.equal(c.preferred_username, env.user);
	assert.equal(c.email, 'alice@city.example');
	assert.equal(c.name, 'Alice Chen');
	assert.ok(c.auth_time <= c.iat && c.iat <= Math.ceil(Date.now() / 1000) + 5);
	assert.deepEqual(c.amr, ['pwd']);
	assert.equal(typeof c.acr, 'string');
	assert.equal(typeof c.sid, 'string');
});

test('userinfo answers for the access token and names the same subject', async () => {
	const { tokens } = await login(rp, env.rp);
	const sub = tokens.claims().sub;
	const ui = await client.fetchUserInfo(rp, tokens.access_token, sub);
	assert.equal(ui.sub, sub);
	assert.equal(ui.preferred_username, env.user);
	assert.equal(ui.email, 'alice@city.example');
	// A different subject must be refused by the client library: the check works.
	await assert.rejects(client.fetchUserInfo(rp, tokens.access_token, 'someone-else'));
});

test('userinfo refuses a missing or forged bearer token with 401', async () => {
	const url = rp.serverMetadata().userinfo_endpoint;
	let res = await fetch(url);
	assert.equal(res.status, 401);
	assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
	const { tokens } = await login(rp, env.rp);
	const parts = tokens.access_token.split('.');
	const sig = parts[2];
	parts[2] = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
	res = await fetch(url, { headers: { authorization: `Bearer ${parts.join('.')}` } });
	assert.equal(res.status, 401);
	assert.match(res.headers.get('www-authenticate') ?? '', /invalid_token/);
});

test('refresh tokens rotate; replaying an old one revokes the whole family', async () => {
	const { tokens } = await login(rp, env.rp);
	const r1 = tokens.refresh_token;
	assert.equal(typeof r1, 'string');
	const t2 = await client.refreshTokenGrant(rp, r1);
	const r2 = t2.refresh_token;
	assert.equal(typeof r2, 'string');
	assert.notEqual(r2, r1, 'a new refresh token on every use');
	assert.notEqual(t2.access_token, tokens.access_token);
	// r1 again: reuse, which means theft; every token of the family dies.
	assert.equal(await oauthError(client.refreshTokenGrant(rp, r1)), 'invalid_grant');
	assert.equal(await oauthError(client.refreshTokenGrant(rp, r2)), 'invalid_grant',
		'the newest refresh token is revoked too');
});

test('refresh token of one client cannot be used by another', async () => {
	const { tokens } = await login(rp, env.rp);
	assert.equal(await oauthError(client.refreshTokenGrant(rp2, tokens.refresh_token)), 'invalid_grant');
	// And the rightful client still can (the family was not touched by the attempt).
	const t2 = await client.refreshTokenGrant(rp, tokens.refresh_token);
	assert.equal(typeof t2.access_token, 'string');
});

test('introspection: active before revocation, inactive after (access and refresh)', async () => {
	const { tokens } = await login(rp, env.rp);
	let info = await client.tokenIntrospection(rp, tokens.access_token);
	assert.equal(info.active, true);
	assert.equal(info.client_id, env.rp.id);
	assert.equal(info.sub, tokens.claims().sub);
	assert.equal(info.iss, env.issuer);
	assert.ok(info.exp > Date.now() / 1000);
	info = await client.tokenIntrospection(rp, tokens.refresh_token);
	assert.equal(info.active, true);

	await client.tokenRevocation(rp, tokens.access_token);
	info = await client.tokenIntrospection(rp, tokens.access_token);
	assert.equal(info.active, false);
	assert.deepEqual(Object.keys(info), ['active'], 'an inactive answer says nothing else');

	await client.tokenRevocation(rp, tokens.refresh_token);
	info = await client.tokenIntrospection(rp, tokens.refresh_token);
	assert.equal(info.active, false);
	assert.equal(await oauthError(client.refreshTokenGrant(rp, tokens.refresh_token)), 'invalid_grant');
});

test('introspection of garbage is simply inactive; revocation of garbage is 200', async () => {
	const info = await client.tokenIntrospection(rp, 'not-a-token');
	assert.equal(info.active, false);
	await client.tokenRevocation(rp, 'not-a-token');
});

test('client credentials grant gives an access token and no refresh or ID token', async () => {
	const t = await client.clientCredentialsGrant(svc);
	assert.equal(typeof t.access_token, 'string');
	assert.equal(t.token_type, 'bearer');
	assert.equal(t.refresh_token, undefined);
	assert.equal(t.id_token, undefined);
	const info = await client.tokenIntrospection(svc, t.access_token);
	assert.equal(info.active, true);
	assert.equal(info.client_id, env.svc.id);
});

test('client credentials with a wrong secret is invalid_client', async () => {
	const bad = await client.discovery(new URL(env.issuer), env.svc.id, undefined,
		client.ClientSecretBasic(env.svc.secret + 'x'));
	const err = await client.clientCredentialsGrant(bad).catch((e) => e);
	assert.equal(err.status, 401);
	assert.equal(await oauthError(Promise.reject(err)), 'invalid_client');
});

test('a code client may not use client credentials', async () => {
	assert.equal(await oauthError(client.clientCredentialsGrant(rp)), 'unauthorized_client');
});

test('SSO: a second client gets a code from the session without the login page', async () => {
	const browser = new Browser();
	const first = await login(rp, env.rp, browser);
	assert.equal(browser.loginPages, 1);
	const second = await login(rp2, env.rp2, browser);
	assert.equal(browser.loginPages, 1, 'no second login page');
	const c1 = first.tokens.claims();
	const c2 = second.tokens.claims();
	assert.equal(c2.aud, env.rp2.id);
	assert.equal(c2.sub, c1.sub);
	assert.equal(c2.sid, c1.sid, 'one session, one sid');
	assert.equal(c2.auth_time, c1.auth_time, 'auth_time is when the person signed in');
});

test('prompt=login forces the login page even with a session', async () => {
	const browser = new Browser();
	await login(rp, env.rp, browser);
	const ar = await authRequest(rp, env.rp.redirect);
	const url = new URL(ar.url);
	url.searchParams.set('prompt', 'login');
	await browser.signIn(url, env.user, env.password);
	assert.equal(browser.loginPages, 2);
});

test('prompt=none without a session returns login_required to the client', async () => {
	const ar = await authRequest(rp, env.rp.redirect);
	const url = new URL(ar.url);
	url.searchParams.set('prompt', 'none');
	const res = await new Browser().fetch(url);
	assert.equal(res.status, 303);
	const loc = new URL(res.headers.get('location'));
	assert.equal(loc.origin + loc.pathname, env.rp.redirect);
	assert.equal(loc.searchParams.get('error'), 'login_required');
	assert.equal(loc.searchParams.get('state'), ar.state);
});

test('the code is bound to the client: another client cannot redeem it', async () => {
	const ar = await authRequest(rp, env.rp.redirect);
	const callback = await new Browser().signIn(ar.url, env.user, env.password);
	const code = callback.searchParams.get('code');
	const res = await fetch(rp2.serverMetadata().token_endpoint, {
		method: 'POST',
		headers: {
			authorization: 'Basic ' + Buffer.from(`${env.rp2.id}:${env.rp2.secret}`).toString('base64'),
			'content-type': 'application/x-www-form-urlencoded',
		},
		body: new URLSearchParams({
			grant_type: 'authorization_code', code, redirect_uri: env.rp2.redirect,
			code_verifier: ar.verifier,
		}),
	});
	assert.equal(res.status, 400);
	assert.equal((await res.json()).error, 'invalid_grant');
});

// Issue 11, item 10: whose code it is is checked before the reuse rule acts.
test('a used code presented by another client is refused; the first client keeps its tokens', async () => {
	const ar = await authRequest(rp, env.rp.redirect);
	const callback = await new Browser().signIn(ar.url, env.user, env.password);
	const tokens = await client.authorizationCodeGrant(rp, callback, {
		pkceCodeVerifier: ar.verifier, expectedState: ar.state, expectedNonce: ar.nonce,
		idTokenExpected: true,
	});
	const res = await fetch(rp2.serverMetadata().token_endpoint, {
		method: 'POST',
		headers: {
			authorization: 'Basic ' + Buffer.from(`${env.rp2.id}:${env.rp2.secret}`).toString('base64'),
			'content-type': 'application/x-www-form-urlencoded',
		},
		body: new URLSearchParams({
			grant_type: 'authorization_code', code: callback.searchParams.get('code'),
			redirect_uri: env.rp2.redirect, code_verifier: ar.verifier,
		}),
	});
	assert.equal(res.status, 400);
	assert.equal((await res.json()).error, 'invalid_grant');
	const intro = await client.tokenIntrospection(rp, tokens.access_token);
	assert.equal(intro.active, true, 'the first client\'s access token is still active');
	const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token);
	assert.ok(refreshed.access_token, 'the first client\'s refresh token still works');
	// The same client presenting it again: that is a reuse, and the family goes.
	await assert.rejects(client.authorizationCodeGrant(rp, callback, {
		pkceCodeVerifier: ar.verifier, expectedState: ar.state, expectedNonce: ar.nonce,
	}));
	assert.equal((await client.tokenIntrospection(rp, refreshed.access_token)).active, false);
});

// Issue 11, item 9: end_session takes an ID token of ours as id_token_hint,
// nothing else; an access token also carries sid.
test('end_session: an access token or a foreign token as id_token_hint is refused, the ID token works', async () => {
	const browser = new Browser();
	const { tokens } = await login(rp, env.rp, browser);
	assert.equal(jose.decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
	assert.equal(jose.decodeProtectedHeader(tokens.id_token).typ, 'JWT');
	const sidAt = jose.decodeJwt(tokens.access_token).sid;
	assert.equal(sidAt, tokens.claims().sid, 'the access token names the session too');

	let res = await browser.fetch(client.buildEndSessionUrl(rp, { id_token_hint: tokens.access_token }),
		{ headers: { 'accept-language': 'en' } });
	assert.equal(res.status, 400, 'an access token is not an id_token_hint');
	const page = await res.text();
	assert.match(page, /did not carry an ID token issued by this service/);
	assert.match(page, /id_token_hint/);

	// The same claims and header, signed by another key under our kid.
	const { privateKey } = await jose.generateKeyPair('ES256');
	const forged = await new jose.SignJWT(jose.decodeJwt(tokens.id_token))
		.setProtectedHeader(jose.decodeProtectedHeader(tokens.id_token)).sign(privateKey);
	res = await browser.fetch(client.buildEndSessionUrl(rp, { id_token_hint: forged }));
	assert.equal(res.status, 400, 'a token signed by another key is refused');

	// Nothing was logged out: the session still answers the next authorize.
	let ar = await authRequest(rp, env.rp.redirect);
	await browser.signIn(ar.url, env.user, env.password);
	assert.equal(browser.loginPages, 1, 'the session survived both refusals');

	// The genuine ID token proves the session: logged out without a question.
	res = await browser.fetch(client.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token }),
		{ headers: { 'accept-language': 'en' } });
	assert.equal(res.status, 200);
	assert.match(await res.text(), /You are signed out/);
	ar = await authRequest(rp, env.rp.redirect);
	await browser.signIn(ar.url, env.user, env.password);
	assert.equal(browser.loginPages, 2, 'after the logout the login page is shown again');
});

test('logout ends the session: the next authorize shows the login page again', async () => {
	const browser = new Browser();
	const { tokens } = await login(rp, env.rp, browser);
	const end = new URL(rp.serverMetadata().end_session_endpoint);
	let res = await browser.fetch(end);
	assert.equal(res.status, 200, 'a confirmation page, so a stray link cannot sign people out');
	const csrf = hiddenField(await res.text(), 'csrf');
	assert.ok(csrf);
	res = await browser.fetch(end, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(env.issuer).origin },
		body: new URLSearchParams({ csrf, id_token_hint: tokens.id_token }),
	});
	assert.ok(res.status === 200 || res.status === 303, `logout answered ${res.status}`);
	const ar = await authRequest(rp, env.rp.redirect);
	await browser.signIn(ar.url, env.user, env.password);
	assert.equal(browser.loginPages, 2);
});
