// tests/integration/rp-defaults.test.mjs — a relying party that follows its
// library's README: openid-client v6 with nothing but the client id and secret
// (it then authenticates with client_secret_post), against a client registered
// with authctl's defaults; a client registered for exactly one method keeps to
// it; and per-client require_pkce: an old confidential app let off PKCE signs
// in without it, a verifier for a code issued without a challenge is refused,
// and authd names that client in a warning at every start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as client from 'openid-client';
import { env, configFor, Browser, oauthError } from './helpers.mjs';

function need(name) {
	const v = process.env[name];
	if (!v) throw new Error(`${name} is not set; run through tests/integration/run.sh`);
	return v;
}
const rpd = { id: need('AUTHD_RPD'), secret: need('AUTHD_RPD_SECRET'), redirect: need('AUTHD_RPD_REDIRECT') };
const rpn = { id: need('AUTHD_RPN'), secret: need('AUTHD_RPN_SECRET'), redirect: need('AUTHD_RPN_REDIRECT') };

// The README's flow: PKCE, state and nonce, with the client's default scopes.
async function signInWith(config, c) {
	const verifier = client.randomPKCECodeVerifier();
	const state = client.randomState();
	const nonce = client.randomNonce();
	const url = client.buildAuthorizationUrl(config, {
		redirect_uri: c.redirect, scope: 'openid profile email', state, nonce,
		code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
	});
	const cb = await new Browser().signIn(url, env.user, env.password);
	return client.authorizationCodeGrant(config, cb,
		{ pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
}

// What the openid-client README shows: discovery(server, clientId, clientSecret).
async function readmeConfig(c) {
	return client.discovery(new URL(env.issuer), c.id, c.secret);
}

test('openid-client defaults (client_secret_post) sign in to a client registered with the defaults', async () => {
	const config = await readmeConfig(rpd);
	const tokens = await signInWith(config, rpd);
	assert.equal(tokens.claims().aud, rpd.id);
	assert.equal(tokens.claims().preferred_username, env.user);
	// The same client by Basic, as most other libraries send it.
	const again = await signInWith(await configFor(rpd), rpd);
	assert.equal(again.claims().aud, rpd.id);
	// A wrong secret in the form is still a wrong secret.
	const wrong = await client.discovery(new URL(env.issuer), rpd.id, rpd.secret + 'x');
	const browser = new Browser();
	const verifier = client.randomPKCECodeVerifier();
	const url = client.buildAuthorizationUrl(wrong, {
		redirect_uri: rpd.redirect, scope: 'openid',
		code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
	});
	const cb = await browser.signIn(url, env.user, env.password);
	assert.equal(await oauthError(client.authorizationCodeGrant(wrong, cb, { pkceCodeVerifier: verifier })),
		'invalid_client');
});

test('a client registered for exactly client_secret_basic refuses the secret in the form', async () => {
	const post = await client.discovery(new URL(env.issuer), env.rp.id, env.rp.secret);
	const browser = new Browser();
	const verifier = client.randomPKCECodeVerifier();
	const url = client.buildAuthorizationUrl(post, {
		redirect_uri: env.rp.redirect, scope: 'openid',
		code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
	});
	const cb = await browser.signIn(url, env.user, env.password);
	assert.equal(await oauthError(client.authorizationCodeGrant(post, cb, { pkceCodeVerifier: verifier })),
		'invalid_client');
});

test('both Basic and form secret at once are refused, even for a client that accepts either', async () => {
	const res = await fetch(new URL('/token', env.issuer), {
		method: 'POST',
		headers: {
			'content-type': 'application/x-www-form-urlencoded',
			authorization: 'Basic ' + Buffer.from(`${rpd.id}:${rpd.secret}`).toString('base64'),
		},
		body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', redirect_uri: rpd.redirect,
			client_id: rpd.id, client_secret: rpd.secret }),
	});
	assert.equal(res.status, 400);
	assert.equal((await res.json()).error, 'invalid_request');
});

async function codeWithoutPkce(config, c) {
	const state = client.randomState();
	const url = client.buildAuthorizationUrl(config, { redirect_uri: c.redirect, scope: 'openid', state });
	const res = await new Browser().fetch(url);
	return { res, state, url };
}

test('require_pkce off: a confidential client registered without PKCE signs in without it', async () => {
	const config = await configFor(rpn);
	const state = client.randomState();
	const url = client.buildAuthorizationUrl(config, { redirect_uri: rpn.redirect, scope: 'openid', state });
	assert.equal(url.searchParams.get('code_challenge'), null);
	const cb = await new Browser().signIn(url, env.user, env.password);
	const tokens = await client.authorizationCodeGrant(config, cb, { expectedState: state, idTokenExpected: true });
	assert.equal(tokens.claims().aud, rpn.id);

	// PKCE still works for it when the app sends it, and is then checked.
	const verifier = client.randomPKCECodeVerifier();
	const url2 = client.buildAuthorizationUrl(config, { redirect_uri: rpn.redirect, scope: 'openid',
		code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
	const cb2 = await new Browser().signIn(url2, env.user, env.password);
	assert.equal(await oauthError(client.authorizationCodeGrant(config, cb2,
		{ pkceCodeVerifier: client.randomPKCECodeVerifier() })), 'invalid_grant');
});

test('require_pkce off: a code_verifier for a code issued without a challenge is refused (downgrade)', async () => {
	const config = await configFor(rpn);
	const url = client.buildAuthorizationUrl(config, { redirect_uri: rpn.redirect, scope: 'openid' });
	const cb = await new Browser().signIn(url, env.user, env.password);
	assert.equal(await oauthError(client.authorizationCodeGrant(config, cb,
		{ pkceCodeVerifier: client.randomPKCECodeVerifier() })), 'invalid_grant');
});

test('require_pkce on (the default): an authorization request without PKCE is refused', async () => {
	const config = await readmeConfig(rpd);
	const { res } = await codeWithoutPkce(config, rpd);
	assert.equal(res.status, 303);
	const loc = new URL(res.headers.get('location'));
	assert.equal(loc.origin + loc.pathname, rpd.redirect);
	assert.equal(loc.searchParams.get('error'), 'invalid_request');
	assert.match(loc.searchParams.get('error_description'), /PKCE/);
});

test('authd warns at start-up about each client registered without PKCE', () => {
	const lines = readFileSync(need('AUTHD_LOG'), 'utf8').split('\n').filter((l) => l.includes('without PKCE'));
	assert.ok(lines.some((l) => l.includes(`"${rpn.id}"`)), 'the no-PKCE client is named');
	assert.ok(!lines.some((l) => l.includes(`"${rpd.id}"`)), 'a client with PKCE is not');
});
