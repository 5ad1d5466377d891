// tests/pam/flaky-authd.mjs CERT KEY — an authd that answers the password step
// and then stops answering, for pam_authd's rule "once authd has answered in an
// attempt, a later failure to reach it is a refusal" (issue 11, item 5: else
// whoever can slow authd down between the two steps skips the second factor).
// It speaks authd's protocol for the two steps, over TLS with the test
// certificate: discovery (its own issuer), POST /token grant_type=password ->
// 400 mfa_required with an mfa_token, and the mfa-otp grant -> 503
// temporarily_unavailable, as authd answers when it cannot take the request.
// User "flaky" gets that; user "down" gets the 503 at the password step (the
// control: that one is "unavailable"). Client authentication is checked
// (Basic, the id and secret in FLAKY_CLIENT / FLAKY_SECRET). Prints its port
// on stdout, then serves until killed.
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const [cert, key] = process.argv.slice(2);
const id = process.env.FLAKY_CLIENT, secret = process.env.FLAKY_SECRET;
let issuer;

function reply(res, status, obj) {
	res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
	res.end(JSON.stringify(obj));
}

const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
	let body = '';
	req.on('data', (c) => { body += c; });
	req.on('end', () => {
		if (req.method === 'GET' && req.url === '/.well-known/openid-configuration')
			return reply(res, 200, { issuer, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` });
		if (req.method !== 'POST' || req.url !== '/token')
			return reply(res, 404, { error: 'not_found' });
		const want = 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
		if (req.headers.authorization !== want)
			return reply(res, 401, { error: 'invalid_client' });
		const f = new URLSearchParams(body);
		if (f.get('grant_type') === 'password' && f.get('username') === 'flaky')
			return reply(res, 400, { error: 'mfa_required', error_description: 'a one-time code is required',
				mfa_token: randomBytes(32).toString('base64url'), mfa_methods: ['otp'] });
		return reply(res, 503, { error: 'temporarily_unavailable', error_description: 'busy' });
	});
});
server.listen(0, '127.0.0.1', () => {
	issuer = `https://127.0.0.1:${server.address().port}`;
	console.log(server.address().port);
});
