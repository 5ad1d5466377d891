// tests/security/softkey.mjs — a software WebAuthn authenticator for shell
// tests: a passkey (ES256, user verification, attestation "none") kept in a
// JSON file. It speaks the real protocol: clientDataJSON with the challenge
// and origin, authenticator data with the rp id hash, UP|UV(|AT) flags and a
// signature counter, a CBOR attestation object with the COSE key, and ECDSA
// signatures over authenticatorData || SHA-256(clientDataJSON). authd verifies
// what it makes with libfido2 like any browser's answer.
//
// usage: node softkey.mjs register KEYFILE ORIGIN OPTIONS_JSON
//          OPTIONS_JSON is POST /account/webauthn action=begin's answer; prints
//          the form fields of action=finish as JSON (reg, client_data,
//          attestation_object, transports) and writes KEYFILE.
//        node softkey.mjs assert KEYFILE ORIGIN OPTIONS_JSON
//          OPTIONS_JSON is POST /login/begin method=webauthn's answer; prints
//          the form fields of POST /login (credential_id, client_data,
//          authenticator_data, signature, user_handle) as JSON.
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

const [cmd, keyfile, origin, optsText] = process.argv.slice(2);
if (!cmd || !keyfile || !origin || !optsText) {
	console.error("usage: node softkey.mjs register|assert KEYFILE ORIGIN OPTIONS_JSON");
	process.exit(2);
}
const sha256 = (b) => createHash("sha256").update(b).digest();
const b64u = (b) => Buffer.from(b).toString("base64url");

// CBOR (RFC 8949), just the types a WebAuthn attestation object needs.
function head(major, n) {
	if (n < 24) return Buffer.from([(major << 5) | n]);
	if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
	if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
	const b = Buffer.alloc(5);
	b[0] = (major << 5) | 26;
	b.writeUInt32BE(n, 1);
	return b;
}
function cbor(v) {
	if (typeof v === "number")
		return v >= 0 ? head(0, v) : head(1, -1 - v);
	if (typeof v === "string") {
		const s = Buffer.from(v, "utf8");
		return Buffer.concat([head(3, s.length), s]);
	}
	if (Buffer.isBuffer(v))
		return Buffer.concat([head(2, v.length), v]);
	if (v instanceof Map) {
		const parts = [head(5, v.size)];
		for (const [k, x] of v) parts.push(cbor(k), cbor(x));
		return Buffer.concat(parts);
	}
	throw new Error(`cbor: ${typeof v}`);
}

const FLAG_UP = 0x01, FLAG_UV = 0x04, FLAG_AT = 0x40;
function authData(rpId, flags, counter, attested) {
	const c = Buffer.alloc(4);
	c.writeUInt32BE(counter, 0);
	return Buffer.concat([sha256(rpId), Buffer.from([flags]), c, attested || Buffer.alloc(0)]);
}
function clientData(type, challenge) {
	return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
}

const opts = JSON.parse(optsText);
const pk = opts.publicKey;
if (!pk || !pk.challenge) {
	console.error(`softkey: no publicKey options in ${optsText.slice(0, 200)}`);
	process.exit(1);
}

if (cmd === "register") {
	const rpId = pk.rp.id;
	const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
	const jwk = publicKey.export({ format: "jwk" });
	const credId = randomBytes(32);
	const cose = cbor(new Map([[1, 2], [3, -7], [-1, 1],
		[-2, Buffer.from(jwk.x, "base64url")], [-3, Buffer.from(jwk.y, "base64url")]]));
	const len = Buffer.alloc(2);
	len.writeUInt16BE(credId.length, 0);
	const acd = Buffer.concat([Buffer.alloc(16), len, credId, cose]);
	const ad = authData(rpId, FLAG_UP | FLAG_UV | FLAG_AT, 0, acd);
	const cdj = clientData("webauthn.create", pk.challenge);
	const ao = cbor(new Map([["fmt", "none"], ["attStmt", new Map()], ["authData", ad]]));
	writeFileSync(keyfile, JSON.stringify({ rpId, credentialId: b64u(credId),
		userHandle: pk.user.id, counter: 0,
		key: privateKey.export({ format: "pem", type: "pkcs8" }) }), { mode: 0o600 });
	console.log(JSON.stringify({ reg: opts.reg, client_data: b64u(cdj),
		attestation_object: b64u(ao), transports: "internal" }));
} else if (cmd === "assert") {
	const k = JSON.parse(readFileSync(keyfile, "utf8"));
	const allow = pk.allowCredentials || [];
	if (allow.length > 0 && !allow.some((c) => c.id === k.credentialId)) {
		console.error("softkey: this key is not in allowCredentials");
		process.exit(1);
	}
	k.counter += 1;
	const ad = authData(k.rpId, FLAG_UP | FLAG_UV, k.counter);
	const cdj = clientData("webauthn.get", pk.challenge);
	const sig = sign("sha256", Buffer.concat([ad, sha256(cdj)]), createPrivateKey(k.key));
	writeFileSync(keyfile, JSON.stringify(k), { mode: 0o600 });
	console.log(JSON.stringify({ credential_id: k.credentialId, client_data: b64u(cdj),
		authenticator_data: b64u(ad), signature: b64u(sig), user_handle: k.userHandle }));
} else {
	console.error(`softkey: unknown command ${cmd}`);
	process.exit(2);
}
