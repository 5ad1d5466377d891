// tests/integration/helpers.mjs — what the node tests share: the coordinates
// run.sh exports, openid-client configurations for the test clients, and a small
// cookie-keeping "browser" that walks authorize -> login form -> code redirect the
// way a person's browser would (no redirect is followed blindly).
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { jarFetch } from './cookies.mjs';

function need(name) {
	const v = process.env[name];
	if (!v) throw new Error(`${name} is not set; run the node tests through tests/integration/run.sh`);
	return v;
}

export const env = {
	issuer: need('AUTHD_ISSUER'),
	user: need('AUTHD_USER'),
	password: need('AUTHD_PASSWORD'),
	rp: { id: need('AUTHD_RP'), secret: need('AUTHD_RP_SECRET'), redirect: need('AUTHD_RP_REDIRECT') },
	rp2: { id: need('AUTHD_RP2'), secret: need('AUTHD_RP2_SECRET'), redirect: need('AUTHD_RP2_REDIRECT') },
	svc: { id: need('AUTHD_SVC'), secret: need('AUTHD_SVC_SECRET') },
	jwtVerify: need('AUTHD_JWT_VERIFY'),
};
export const issuerOrigin = new URL(env.issuer).origin;

// One openid-client configuration per client, from discovery. ES256 is what
// authd signs with by default; pinning it means an RS256 or HS256 ID token fails.
// Non-repudiation checks make openid-client verify the ID token's signature
// against /jwks as well, not only trust the TLS channel.
export async function configFor(c) {
	const config = await client.discovery(new URL(env.issuer), c.id,
		{ id_token_signed_response_alg: 'ES256' }, client.ClientSecretBasic(c.secret));
	client.enableNonRepudiationChecks(config);
	return config;
}

const entities = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" };
function unescapeHtml(s) {
	return s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e) => entities[e]);
}

// The value of <input type="hidden" name="NAME" value="...">.
export function hiddenField(html, name) {
	const re = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`);
	const m = re.exec(html);
	return m ? unescapeHtml(m[1]) : undefined;
}

// A cookie jar for the issuer's origin only, like a browser's for one site.
export class Browser {
	constructor() {
		this.jar = new Map();
		this.loginPages = 0;
	}

	fetch(url, init = {}) {
		return jarFetch(this.jar, issuerOrigin, url, init);
	}

	// Follows /authorize to the redirect_uri, through the login form when the
	// session does not already cover it. Returns the callback URL (not fetched:
	// the test redirect URIs are not served by anyone).
	async signIn(authorizationUrl, username, password) {
		let res = await this.fetch(authorizationUrl);
		assert.equal(res.status, 303, `authorize answered ${res.status}: ${await res.text()}`);
		let loc = new URL(res.headers.get('location'), authorizationUrl);
		if (loc.origin === issuerOrigin && loc.pathname === '/login') {
			this.loginPages++;
			res = await this.fetch(loc);
			assert.equal(res.status, 200);
			const html = await res.text();
			const tx = hiddenField(html, 'tx');
			const csrf = hiddenField(html, 'csrf');
			assert.ok(tx && csrf, 'login page has hidden tx and csrf fields');
			assert.match(html, /<form method="post" action="\/login">/);
			res = await this.fetch(new URL('/login', env.issuer), {
				method: 'POST',
				headers: {
					'content-type': 'application/x-www-form-urlencoded',
					origin: issuerOrigin,
				},
				body: new URLSearchParams({ tx, csrf, username, password }),
			});
			assert.equal(res.status, 303, `login answered ${res.status}`);
			loc = new URL(res.headers.get('location'));
		}
		return loc;
	}
}

// A fresh authorization request with PKCE S256, state and nonce.
export async function authRequest(config, redirectUri, scope = 'openid profile email offline_access') {
	const verifier = client.randomPKCECodeVerifier();
	const state = client.randomState();
	const nonce = client.randomNonce();
	const url = client.buildAuthorizationUrl(config, {
		redirect_uri: redirectUri,
		scope,
		code_challenge: await client.calculatePKCECodeChallenge(verifier),
		code_challenge_method: 'S256',
		state,
		nonce,
	});
	return { url, verifier, state, nonce };
}

// The whole login: returns openid-client's token response.
export async function login(config, c, browser = new Browser(), user = env.user, password = env.password) {
	const ar = await authRequest(config, c.redirect);
	const callback = await browser.signIn(ar.url, user, password);
	const tokens = await client.authorizationCodeGrant(config, callback, {
		pkceCodeVerifier: ar.verifier,
		expectedState: ar.state,
		expectedNonce: ar.nonce,
		idTokenExpected: true,
	});
	return { tokens, callback, browser, ar };
}

// The OAuth error code carried by an openid-client rejection.
export async function oauthError(promise) {
	try {
		await promise;
	} catch (e) {
		if (e.error) return e.error;
		// A 401 with WWW-Authenticate (RFC 6749 §5.2 for Basic) arrives as a
		// challenge error; the OAuth code is in the challenge or the JSON body.
		const fromChallenge = e.cause?.[0]?.parameters?.error;
		if (fromChallenge) return fromChallenge;
		if (e.response) {
			try {
				const j = await e.response.json();
				if (j.error) return j.error;
			} catch {
				// not JSON: fall through to the library's own code
			}
		}
		return e.code ?? e.message;
	}
	return 'resolved';
}
