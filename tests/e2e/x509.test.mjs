// tests/e2e/x509.test.mjs — the citizen-certificate page script
// (/static/x509.js) in real headless Chromium against a fake HiPKI Local Sign
// Server: requests to http://127.0.0.1:61161 are answered by this test
// (GET /pkcs11info, POST /sign with tbsPackage), which signs the nonce with
// the test card's key through `openssl cms -sign`, as the card would. Checks:
// no local server → clear message; wrong PIN → clear message; right PIN →
// signed in (account page); "Link my citizen certificate" on the account page
// binds a second card. Run by tests/e2e/run.sh (it binds good-g2 to E2E_USER
// and enables [x509]). Prints TAP.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(path.join(process.env.E2E_TMP, 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

const ISS = process.env.AUTHD_ISSUER;
const PKI = process.env.E2E_PKI;
const LOCAL = 'http://127.0.0.1:61161';
const PIN = '123456';

let n = 0;
let failed = 0;
function ok(cond, desc, why) {
	n++;
	console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${desc}`);
	if (!cond) {
		failed++;
		if (why) console.log('# ' + String(why).replace(/\n/g, '\n# '));
	}
}

// The fake local sign server: which card is "in the reader", and whether the
// service runs at all.
const fake = { up: false, card: 'good-g2', signed: [] };

function signWithCard(card, tbs) {
	const dir = mkdtempSync(path.join(tmpdir(), 'authd-x509-e2e-'));
	try {
		writeFileSync(path.join(dir, 'tbs'), tbs);
		execFileSync('openssl', ['cms', '-sign', '-binary', '-nodetach', '-md', 'sha256',
			'-signer', path.join(PKI, `${card}.crt`), '-inkey', path.join(PKI, `${card}.key`),
			'-in', path.join(dir, 'tbs'), '-outform', 'DER', '-out', path.join(dir, 'sig')]);
		return readFileSync(path.join(dir, 'sig')).toString('base64');
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

async function localServer(route) {
	const req = route.request();
	if (!fake.up)
		return route.abort('connectionrefused');
	const headers = { 'access-control-allow-origin': new URL(ISS).origin,
		'content-type': 'application/json' };
	const url = new URL(req.url());
	if (url.pathname === '/pkcs11info')
		return route.fulfill({ status: 200, headers, body: JSON.stringify({ ret_code: 0,
			slots: [{ slotDescription: 'Fake reader', token: { label: 'MOICA' } }] }) });
	if (url.pathname === '/sign' && req.method() === 'POST') {
		const pkg = JSON.parse(new URLSearchParams(req.postData() || '').get('tbsPackage') || '{}');
		fake.signed.push(pkg);
		if (pkg.pin !== PIN)
			return route.fulfill({ status: 200, headers,
				body: JSON.stringify({ ret_code: 0x76000008, last_error: 'PIN incorrect' }) });
		const sig = signWithCard(fake.card, pkg.tbs);
		return route.fulfill({ status: 200, headers, body: JSON.stringify({ ret_code: 0,
			signature: sig, certb64: '' }) });
	}
	return route.fulfill({ status: 404, headers, body: '{}' });
}

async function cardClick(page, pin) {
	if (!(await page.$('#x509-pin'))) {
		await page.click('#method-x509');
		await page.waitForSelector('#x509-pin');
	}
	await page.fill('#x509-pin', pin);
	await page.click('#method-x509');
}

async function statusText(page, re) {
	for (let i = 0; i < 100; i++) {
		const t = (await page.textContent('#method-status')) || '';
		if (re.test(t))
			return t;
		await new Promise((r) => setTimeout(r, 100));
	}
	return (await page.textContent('#method-status')) || '';
}

async function run(ctx) {
	const page = ctx.pages()[0] || await ctx.newPage();
	page.setDefaultTimeout(20000);
	await page.route(`${LOCAL}/**`, localServer);

	await page.goto(`${ISS}/account?lang=en`);
	ok(new URL(page.url()).pathname === '/login', 'the account page asks for a sign-in');
	ok(await page.$('#method-x509') !== null, 'the sign-in page shows the citizen-certificate button');

	// 1. The HiCOS service is not running.
	await cardClick(page, PIN);
	let t = await statusText(page, /HiPKI|HiCOS/);
	ok(/HiPKI|HiCOS/.test(t), 'no local sign server: the page says to install/start HiCOS', t);

	// 2. Wrong PIN.
	fake.up = true;
	await cardClick(page, '000000');
	t = await statusText(page, /could not sign|PIN/);
	ok(/could not sign/.test(t), 'wrong PIN: the page says the card could not sign', t);
	const asked = fake.signed[fake.signed.length - 1] || {};
	ok(asked.signatureType === 'PKCS7' && asked.hashAlgorithm === 'SHA256' &&
		asked.func === 'MakeSignature' && typeof asked.tbs === 'string' && asked.tbs.length === 44,
	'the script asks the local server for a PKCS#7 SHA-256 signature over the 32-byte nonce',
	JSON.stringify(asked));

	// 3. Right PIN: signed in, back on the account page.
	await Promise.all([page.waitForNavigation(), cardClick(page, PIN)]);
	ok(new URL(page.url()).pathname === '/account', 'right PIN: signed in and back on /account', page.url());
	const main = (await page.textContent('main')) || '';
	ok(main.includes(process.env.E2E_USER), 'the account page is the bound user\'s', main.slice(0, 300));
	ok(main.includes('王小明'), 'the account page lists the bound card (CN)', main.slice(0, 600));
	ok(!main.includes('A123456789'), 'the full national ID is nowhere on the page');
	ok(/The help desk added a sign-in method on .+citizen certificate \(王小明\)/.test(main),
		'the help desk\'s binding (authctl x509 bind) is announced', main.slice(0, 600));

	// 4. Link a second card from the account page.
	fake.card = 'good-g3';
	const link = await page.$('#method-x509');
	ok(link !== null && /Link|連結/.test(await link.textContent()), 'the account page offers to link a card');
	if (link) {
		await Promise.all([page.waitForNavigation(), cardClick(page, PIN)]);
		const after = (await page.textContent('main')) || '';
		ok(after.includes('陳美麗'), 'the second card (G3) is linked and listed', after.slice(0, 600));
		ok(/A new sign-in method was added on .+ from .+citizen certificate \(陳美麗\)/.test(after),
			'the new card is announced, when and from where', after.slice(0, 600));
	}
}

async function main() {
	const profile = mkdtempSync(path.join(tmpdir(), 'authd-chromium-'));
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.CHROMIUM,
		headless: true,
		locale: 'en-US',
		env: { ...process.env, HOME: process.env.E2E_HOME },
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	try {
		await run(ctx);
	} finally {
		await ctx.close();
		rmSync(profile, { recursive: true, force: true });
	}
}

main().then(() => {
	console.log(`1..${n}`);
	process.exit(failed ? 1 : 0);
}, (e) => {
	ok(false, 'the run finished', e && e.stack ? e.stack : e);
	console.log(`1..${n}`);
	process.exit(1);
});
