// tests/security/attest.mjs — a software WebAuthn authenticator and a browser
// for the attack suite's attestation test (review-attestation.test.sh): it makes
// its own credential keys and attestation statements (packed with any x5c chain
// and attestation key it is given, or none), registers them through the account
// page's real flow (password sign-in, POST /account/webauthn begin/finish) and
// signs in usernameless through /authorize, /login/begin and /login, then
// redeems the code. It also makes FIDO MDS3 BLOBs (ES256 JWTs) for the test PKI.
//
// usage: node attest.mjs register USER PASSWORD SPEC.json CRED-OUT.json
//          SPEC: {"fmt": "packed"|"none", "attKey": PEM path, "chain": [PEM paths,
//          leaf first], "aaguid": hex, "uv": bool, "be": bool, "bs": bool}
//          prints {"status", "location", "text"}: the finish answer, and the
//          account page's key list (text) after it
//        node attest.mjs signin CRED.json CLIENT SECRET REDIRECT [be]
//          prints {"status", "acr", "amr", "error", "text"}
//        node attest.mjs blob SIGNER-KEY SIGNER-CERT ENTRIES.json NEXT-UPDATE [tamper]
//          prints the BLOB; ENTRIES.json: [{"aaguid", "root": PEM path,
//          "description", "status"}]
// Needs AUTHD_ISSUER and NODE_EXTRA_CA_CERTS (the dev CA).
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate }
	from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { jarFetch } from '../integration/cookies.mjs';

const ISS = process.env.AUTHD_ISSUER;
const ORIGIN = ISS ? new URL(ISS).origin : '';
const RP_ID = ISS ? new URL(ISS).hostname : '';
const b64u = (b) => Buffer.from(b).toString('base64url');
const sha256 = (b) => createHash('sha256').update(b).digest();

// ---- CBOR (RFC 8949), the subset WebAuthn uses, canonical lengths
function head(major, n) {
	if (n < 24) return Buffer.from([major << 5 | n]);
	if (n < 0x100) return Buffer.from([major << 5 | 24, n]);
	if (n < 0x10000) return Buffer.from([major << 5 | 25, n >> 8, n & 0xff]);
	const b = Buffer.alloc(5);
	b[0] = major << 5 | 26;
	b.writeUInt32BE(n, 1);
	return b;
}
function cbor(v) {
	if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
	if (typeof v === 'string') return Buffer.concat([head(3, Buffer.byteLength(v)), Buffer.from(v)]);
	if (Buffer.isBuffer(v)) return Buffer.concat([head(2, v.length), v]);
	if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cbor)]);
	if (v instanceof Map) {
		const parts = [head(5, v.size)];
		for (const [k, x] of v) parts.push(cbor(k), cbor(x));
		return Buffer.concat(parts);
	}
	throw new Error(`cbor: ${typeof v}`);
}

// ---- the authenticator
function newCredential() {
	const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
	const jwk = publicKey.export({ format: 'jwk' });
	return { id: b64u(randomBytes(32)), pem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
		x: jwk.x, y: jwk.y, count: 0 };
}

function coseKey(c) {
	return cbor(new Map([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(c.x, 'base64url')],
		[-3, Buffer.from(c.y, 'base64url')]]));
}

const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 };

function authData(c, flags, aaguid) {
	const count = Buffer.alloc(4);
	count.writeUInt32BE(c.count);
	const parts = [sha256(RP_ID), Buffer.from([flags]), count];
	if (aaguid !== undefined) {
		const id = Buffer.from(c.id, 'base64url');
		const len = Buffer.alloc(2);
		len.writeUInt16BE(id.length);
		parts.push(Buffer.from(aaguid, 'hex'), len, id, coseKey(c));
	}
	return Buffer.concat(parts);
}

function clientData(type, challenge) {
	return Buffer.from(JSON.stringify({ type, challenge, origin: ORIGIN, crossOrigin: false }));
}

function flagsOf(spec) {
	return FLAG.UP | (spec.uv ? FLAG.UV : 0) | (spec.be ? FLAG.BE : 0) | (spec.bs ? FLAG.BS : 0);
}

function attestation(c, spec, challenge) {
	const cd = clientData('webauthn.create', challenge);
	const ad = authData(c, flagsOf(spec) | FLAG.AT, spec.aaguid || '00'.repeat(16));
	let stmt = new Map();
	if (spec.fmt === 'packed') {
		const key = createPrivateKey(readFileSync(spec.attKey));
		stmt = new Map([['alg', -7], ['sig', sign('sha256', Buffer.concat([ad, sha256(cd)]), key)],
			['x5c', spec.chain.map((p) => new X509Certificate(readFileSync(p)).raw)]]);
	}
	const ao = cbor(new Map([['fmt', spec.fmt], ['attStmt', stmt], ['authData', ad]]));
	return { client_data: b64u(cd), attestation_object: b64u(ao) };
}

function assertion(c, challenge, flags) {
	c.count++;
	const cd = clientData('webauthn.get', challenge);
	const ad = authData(c, flags);
	const sig = sign('sha256', Buffer.concat([ad, sha256(cd)]), createPrivateKey(c.pem));
	return { credential_id: c.id, client_data: b64u(cd), authenticator_data: b64u(ad),
		signature: b64u(sig), user_handle: c.userHandle || '' };
}

// ---- the browser
const jar = new Map();
// English pages, so the checks read one language.
const go = (url, init = {}) => jarFetch(jar, ORIGIN, new URL(url, ISS),
	{ ...init, headers: { 'accept-language': 'en', ...(init.headers || {}) } });
const post = (url, fields, headers = {}) => go(url, { method: 'POST', body: new URLSearchParams(fields),
	headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, ...headers } });
const field = (html, name) => {
	const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
	return m ? m[1].replace(/&amp;/g, '&') : undefined;
};
// The page's text without tags, for what a person reads.
const text = (html) => html.replace(/<script[\s\S]*?<\/script>/g, '').replace(/<[^>]+>/g, ' ')
	.replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim();

async function follow(res) {
	while (res.status === 303 || res.status === 302) res = await go(res.headers.get('location'));
	return res;
}

async function passwordSignIn(user, password) {
	let res = await follow(await go('/account?lang=en'));
	const html = await res.text();
	res = await post('/login', { tx: field(html, 'tx'), csrf: field(html, 'csrf'), username: user,
		password });
	if (res.status !== 303) throw new Error(`password sign-in: ${res.status}`);
	res = await follow(res);
	return res.text();
}

async function register(user, password, specPath, credOut) {
	const spec = JSON.parse(readFileSync(specPath, 'utf8'));
	const account = await passwordSignIn(user, password);
	const form = /<form[^>]*id="webauthn-register"[\s\S]*?<\/form>/.exec(account);
	if (!form) throw new Error('no add-a-key form on the account page');
	const csrf = field(form[0], 'csrf');
	let res = await post('/account/webauthn', { csrf, action: 'begin' }, { accept: 'application/json' });
	const begin = await res.json();
	if (!begin.publicKey) throw new Error(`begin: ${res.status} ${JSON.stringify(begin)}`);
	const c = newCredential();
	c.userHandle = begin.publicKey.user.id;
	const att = attestation(c, spec, begin.publicKey.challenge);
	res = await post('/account/webauthn', { csrf, action: 'finish', reg: begin.reg,
		name: spec.name || 'Test key', transports: 'usb', ...att });
	const out = { status: res.status, location: res.headers.get('location') };
	if (res.status !== 303) out.text = text(await res.text());
	const page = await (await go('/account?lang=en')).text();
	const list = /<ul class="keys" id="webauthn-keys">[\s\S]*?<\/ul>/.exec(page);
	out.list = list ? text(list[0]) : '';
	writeFileSync(credOut, JSON.stringify({ ...c, be: !!spec.be }));
	return out;
}

function claims(jwt) {
	return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
}

async function signin(credPath, client, secret, redirect, beArg) {
	const c = JSON.parse(readFileSync(credPath, 'utf8'));
	const verifier = b64u(randomBytes(32));
	const q = new URLSearchParams({ response_type: 'code', client_id: client, redirect_uri: redirect,
		scope: 'openid', state: 'st', nonce: 'n', code_challenge: b64u(sha256(verifier)),
		code_challenge_method: 'S256' });
	let res = await go(`/authorize?${q}`);
	res = await follow(res);
	const html = await res.text();
	const tx = field(html, 'tx'), csrf = field(html, 'csrf');
	res = await post('/login/begin', { tx, csrf, method: 'webauthn' }, { accept: 'application/json' });
	const begin = await res.json();
	if (!begin.publicKey) throw new Error(`login/begin: ${res.status} ${JSON.stringify(begin)}`);
	const flags = FLAG.UP | FLAG.UV | (beArg === 'be' || c.be ? FLAG.BE : 0);
	res = await post('/login', { tx, csrf, method: 'webauthn', ...assertion(c, begin.publicKey.challenge,
		flags) });
	writeFileSync(credPath, JSON.stringify(c));
	const out = { status: res.status };
	const loc = res.headers.get('location') || '';
	if (res.status !== 303 || !loc.startsWith(redirect)) {
		const html = await res.text();
		out.text = text(html);
		out.location = loc;
		// the page for a level the account cannot reach links back to the app
		out.unmet = /error=unmet_authentication_requirements/.test(html);
		return out;
	}
	const u = new URL(loc);
	if (u.searchParams.get('error')) {
		out.error = u.searchParams.get('error');
		return out;
	}
	const tok = await fetch(`${ISS}/token`, { method: 'POST',
		headers: { authorization: 'Basic ' + Buffer.from(`${client}:${secret}`).toString('base64'),
			'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({ grant_type: 'authorization_code', code: u.searchParams.get('code'),
			redirect_uri: redirect, code_verifier: verifier }) });
	const j = await tok.json();
	if (!j.id_token) throw new Error(`token: ${tok.status} ${JSON.stringify(j)}`);
	const idt = claims(j.id_token);
	out.acr = idt.acr;
	out.amr = idt.amr;
	return out;
}

// ---- MDS3 BLOB
function blob(keyPath, certPath, entriesPath, nextUpdate, tamper) {
	const key = createPrivateKey(readFileSync(keyPath));
	const pem = (p) => new X509Certificate(readFileSync(p)).raw.toString('base64');
	const entries = JSON.parse(readFileSync(entriesPath, 'utf8')).map((e) => ({
		aaguid: e.aaguid.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
		metadataStatement: { description: e.description, attestationRootCertificates: [pem(e.root)] },
		statusReports: [{ status: 'FIDO_CERTIFIED_L1', effectiveDate: '2020-01-01' },
			...(e.status ? [{ status: e.status, effectiveDate: '2021-01-01' }] : [])],
		timeOfLastStatusChange: '2021-01-01',
	}));
	const header = { alg: 'ES256', typ: 'JWT', x5c: [pem(certPath)] };
	const payload = { legalHeader: 'authd security test', no: 1, nextUpdate, entries };
	const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
	const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
	if (tamper) sig[5] ^= 1;
	return `${input}.${b64u(sig)}\n`;
}

const [cmd, ...args] = process.argv.slice(2);
try {
	if (cmd === 'register') console.log(JSON.stringify(await register(...args)));
	else if (cmd === 'signin') console.log(JSON.stringify(await signin(...args)));
	else if (cmd === 'blob') process.stdout.write(blob(args[0], args[1], args[2], args[3], args[4] === 'tamper'));
	else throw new Error('usage: node attest.mjs register|signin|blob ...');
} catch (e) {
	console.error(String(e && e.stack || e));
	process.exit(1);
}
