// tests/security/forge.mjs — makes the hostile JWTs of the attack suite from a
// genuine token of the running authd (its header and claims are the template).
// usage: node forge.mjs MODE TOKEN [JS] [ARG]
//   MODE none        alg "none", empty signature
//        hs256-pem   HS256 keyed with our ES256 public key as SPKI PEM (ARG = JWKS URL)
//        hs256-jwk   HS256 keyed with the bytes of our JWK as /jwks serves it (ARG = JWKS URL)
//        foreign     ES256 with a key of another issuer, under our kid
//        real        ES256 with authd's own private key (ARG = store folder), for
//                    tokens that are genuinely signed but whose claims are wrong
// With DEPTH=N in the environment the claims get a member nested N arrays deep.
// JS is run with p (claims), h (header) and now (seconds) in scope, to edit them.
// Prints the token. Needs NODE_PATH with jose (tests/integration/node_modules).
import { execFileSync } from "node:child_process";
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from "node:crypto";

const [mode, token, js = "", arg = ""] = process.argv.slice(2);
if (!mode || !token) {
	console.error("usage: node forge.mjs MODE TOKEN [JS] [ARG]");
	process.exit(2);
}
const part = (s) => JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
const [h0, p0] = token.split(".");
const h = part(h0);
const p = part(p0);
const now = Math.floor(Date.now() / 1000);
if (js) new Function("p", "h", "now", js)(p, h, now);

const enc = (o) => Buffer.from(typeof o === "string" ? o : JSON.stringify(o)).toString("base64url");
// The claims as text; a nesting this deep is the attack, so it is written, not built.
function claims() {
	const body = JSON.stringify(p), n = Number(process.env.DEPTH || 0);
	return n > 0 ? `${body.slice(0, -1)},"deep":${"[".repeat(n)}1${"]".repeat(n)}}` : body;
}

async function jwks() {
	const r = await fetch(arg);
	if (!r.ok) throw new Error(`GET ${arg}: ${r.status}`);
	const text = await r.text();
	return { text, keys: JSON.parse(text).keys };
}

// authd's keyring from the store (meta/keyring), as mdb_dump -p prints it:
// backslash escapes, a version byte, then JSON.
function keyring(dir) {
	const out = execFileSync("mdb_dump", ["-p", "-s", "meta", dir], { encoding: "latin1" });
	const lines = out.split("\n");
	const i = lines.indexOf(" keyring");
	if (i < 0) throw new Error("no keyring in the store");
	const raw = lines[i + 1].slice(1).replace(/\\(\\|[0-9a-fA-F]{2})/g,
		(m, x) => (x === "\\" ? "\\" : String.fromCharCode(parseInt(x, 16))));
	return JSON.parse(Buffer.from(raw.slice(1), "latin1").toString("utf8"));
}

function es256(key, input) {
	return sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }).toString("base64url");
}

async function main() {
	let out;
	if (mode === "none") {
		h.alg = "none";
		out = `${enc(h)}.${enc(claims())}.`;
	} else if (mode === "hs256-pem" || mode === "hs256-jwk") {
		const { text, keys } = await jwks();
		const k = keys.find((x) => x.kid === h.kid) || keys[0];
		let secret;
		if (mode === "hs256-pem") {
			secret = createPublicKey({ key: k, format: "jwk" }).export({ type: "spki", format: "pem" });
		} else {
			// The JWK exactly as served: the substring of /jwks that is this key.
			const at = text.indexOf(`"kid":"${k.kid}"`);
			const start = text.lastIndexOf("{", at);
			const end = text.indexOf("}", at) + 1;
			secret = text.slice(start, end);
		}
		h.alg = "HS256";
		const input = `${enc(h)}.${enc(claims())}`;
		out = `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
	} else if (mode === "foreign") {
		const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
		h.alg = "ES256";
		const input = `${enc(h)}.${enc(claims())}`;
		out = `${input}.${es256(privateKey, input)}`;
	} else if (mode === "real") {
		const ring = keyring(arg || process.env.AUTHD_DATA);
		const k = ring.keys.find((x) => x.kid === h.kid);
		if (!k) throw new Error(`kid ${h.kid} not in the keyring`);
		const input = `${enc(h)}.${enc(claims())}`;
		out = `${input}.${es256(createPrivateKey(k.pem), input)}`;
	} else {
		throw new Error(`unknown mode ${mode}`);
	}
	process.stdout.write(out + "\n");
}
main().catch((e) => {
	console.error(String(e));
	process.exit(1);
});
