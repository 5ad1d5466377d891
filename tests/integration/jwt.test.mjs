// tests/integration/jwt.test.mjs — authd's tokens checked by two verifiers that
// share no code with it: jose (createRemoteJWKSet + jwtVerify, algorithms and typ
// pinned) and Debian's libjwt 1.10.2 through build/tests/libjwt-verify. Also the
// forgeries each must refuse: a tampered payload, a foreign key, alg confusion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as jose from 'jose';
import * as client from 'openid-client';
import { env, configFor, login } from './helpers.mjs';

const run = promisify(execFile);
const rp = await configFor(env.rp);
const svc = await configFor(env.svc);
const md = rp.serverMetadata();
const JWKS = jose.createRemoteJWKSet(new URL(md.jwks_uri));
const { tokens } = await login(rp, env.rp);
const cc = await client.clientCredentialsGrant(svc);

const dir = mkdtempSync(join(tmpdir(), 'authd-jwt-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const jwks = await (await fetch(md.jwks_uri)).json();
const jwksFile = join(dir, 'jwks.json');
writeFileSync(jwksFile, JSON.stringify(jwks));

// Resolves to { code, stdout } whatever the exit status.
async function libjwt(token) {
	try {
		const { stdout } = await run(env.jwtVerify, [jwksFile, token]);
		return { code: 0, stdout };
	} catch (e) {
		return { code: e.code, stdout: e.stdout };
	}
}

function b64json(part) {
	return JSON.parse(Buffer.from(part, 'base64url').toString());
}

test('/jwks publishes ES256, RS256 and EdDSA public keys, current and next', () => {
	assert.ok(Array.isArray(jwks.keys));
	const algs = new Set(jwks.keys.map((k) => k.alg));
	for (const a of ['ES256', 'RS256', 'EdDSA']) assert.ok(algs.has(a), `${a} key published`);
	for (const a of ['ES256', 'RS256', 'EdDSA'])
		assert.ok(jwks.keys.filter((k) => k.alg === a).length >= 2, `${a}: current and next`);
	for (const k of jwks.keys) {
		assert.equal(k.use, 'sig');
		assert.equal(typeof k.kid, 'string');
		for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
			assert.equal(k[priv], undefined, `no private member ${priv} in ${k.kid}`);
	}
	assert.equal(new Set(jwks.keys.map((k) => k.kid)).size, jwks.keys.length, 'kids are unique');
});

test('jose verifies the access token as an RFC 9068 JWT (typ at+jwt, ES256)', async () => {
	const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, JWKS, {
		issuer: env.issuer,
		audience: env.rp.id,
		typ: 'at+jwt',
		algorithms: ['ES256'],
		requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
	});
	assert.equal(protectedHeader.typ, 'at+jwt');
	assert.equal(payload.client_id, env.rp.id);
	assert.equal(payload.sub, tokens.claims().sub);
	assert.match(payload.scope, /(^| )openid( |$)/);
	assert.equal(typeof payload.acr, 'string');
	assert.ok(payload.exp - payload.iat <= 300, 'short-lived');
});

test('jose verifies the ID token (typ JWT, ES256) with nonce and auth_time', async () => {
	const { payload, protectedHeader } = await jose.jwtVerify(tokens.id_token, JWKS, {
		issuer: env.issuer,
		audience: env.rp.id,
		typ: 'JWT',
		algorithms: ['ES256'],
		requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'sid'],
	});
	assert.equal(protectedHeader.alg, 'ES256');
	assert.equal(payload.nonce, tokens.claims().nonce);
});

test('an access token is not accepted where an ID token is expected, and back', async () => {
	await assert.rejects(jose.jwtVerify(tokens.access_token, JWKS, {
		issuer: env.issuer, audience: env.rp.id, typ: 'JWT', algorithms: ['ES256'],
	}));
	await assert.rejects(jose.jwtVerify(tokens.id_token, JWKS, {
		issuer: env.issuer, audience: env.rp.id, typ: 'at+jwt', algorithms: ['ES256'],
	}));
});

test('jose verifies the client-credentials access token', async () => {
	const { payload } = await jose.jwtVerify(cc.access_token, JWKS, {
		issuer: env.issuer, audience: env.svc.id, typ: 'at+jwt', algorithms: ['ES256'],
	});
	assert.equal(payload.client_id, env.svc.id);
	assert.equal(payload.sub, env.svc.id, 'RFC 9068: sub is the client when no person is involved');
});

test('jose refuses a tampered payload, a foreign key and a wrong audience', async () => {
	const [h, p, s] = tokens.access_token.split('.');
	const claims = b64json(p);
	claims.sub = 'mallory';
	const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
	await assert.rejects(jose.jwtVerify(tampered, JWKS, { issuer: env.issuer, algorithms: ['ES256'] }),
		{ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });

	const { privateKey } = await jose.generateKeyPair('ES256');
	const foreign = await new jose.SignJWT(claims)
		.setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: b64json(h).kid })
		.sign(privateKey);
	await assert.rejects(jose.jwtVerify(foreign, JWKS, { issuer: env.issuer, algorithms: ['ES256'] }),
		{ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });

	await assert.rejects(jose.jwtVerify(tokens.access_token, JWKS, {
		issuer: env.issuer, audience: 'someone-else', algorithms: ['ES256'],
	}), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
});

test('libjwt verifies the ID token with the key from /jwks and prints its claims', async () => {
	const { code, stdout } = await libjwt(tokens.id_token);
	assert.equal(code, 0);
	const claims = JSON.parse(stdout);
	assert.equal(claims.iss, env.issuer);
	assert.equal(claims.aud, env.rp.id);
	assert.equal(claims.sub, tokens.claims().sub);
	assert.equal(claims.nonce, tokens.claims().nonce);
});

test('libjwt refuses the ID token with its payload or its signature changed', async () => {
	const [h, p, s] = tokens.id_token.split('.');
	const claims = b64json(p);
	claims.sub = 'mallory';
	const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
	assert.equal((await libjwt(tampered)).code, 1);
	const otherSig = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
	assert.equal((await libjwt(`${h}.${p}.${otherSig}`)).code, 1);
});

test('libjwt-verify refuses HS256 signed with the public key (alg confusion)', async () => {
	const h = b64json(tokens.id_token.split('.')[0]);
	const key = jwks.keys.find((k) => k.kid === h.kid);
	const pem = await jose.exportSPKI(await jose.importJWK(key, key.alg));
	const forged = await new jose.SignJWT(tokens.claims())
		.setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: h.kid })
		.sign(new TextEncoder().encode(pem));
	assert.equal((await libjwt(forged)).code, 1);
});

test('libjwt-verify refuses a token whose kid is not published', async () => {
	const [h, p, s] = tokens.id_token.split('.');
	const header = b64json(h);
	header.kid = 'not-a-published-kid';
	assert.equal((await libjwt(`${Buffer.from(JSON.stringify(header)).toString('base64url')}.${p}.${s}`)).code, 1);
});
