// tests/e2e/x509.test.mjs — the citizen-certificate page script
// (/static/x509.js) in real headless Chromium against the HiCOS simulator
// (tests/sim/hicos.py, a separate process on a loopback port started by
// tests/e2e/run.sh: no CORS headers, /popupForm, /sign, /pkcs11info, the real
// ret_code / last_error codes, PIN tries and lock, signatures by `openssl cms`
// without the signer certificate, which comes in certb64). The whole sign-in
// goes through the popup bridge: the page opens /popupForm from the click,
// the popup posts getTbs, the page answers with MakeSignature, the popup
// answers with the result. Checks: the local server down; no card; wrong PIN
// with the tries left; the card locked after the third; a site HiCOS does not
// trust (the /addDomain link); a popup of the wrong origin ignored, and its
// forged answer too; the right PIN signs in; linking a second card from the
// account page. Run by tests/e2e/run.sh (it binds good-g2 to E2E_USER and
// points [x509] local_sign_origin at the simulator). Prints TAP.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(path.join(process.env.E2E_TMP, 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

const ISS = process.env.AUTHD_ISSUER;
const HICOS = process.env.E2E_HICOS;            // http://127.0.0.1:PORT
const CONTROL = process.env.E2E_HICOS_CONTROL;
const PIN = '123456';

let n = 0;
let failed = 0;
function ok(cond, desc, why) {
	n++;
	console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${desc}`);
	if (!cond) {
		failed++;
		if (why !== undefined)
			console.log('# ' + String(typeof why === 'string' ? why : JSON.stringify(why)).replace(/\n/g, '\n# '));
	}
}

// The person at the card reader, and faults (tests/sim/README.md).
async function ctl(op, args = {}) {
	const r = await fetch(CONTROL, { method: 'POST', body: JSON.stringify({ op, ...args }),
		headers: { 'content-type': 'application/json' } });
	const j = await r.json();
	if (!r.ok)
		throw new Error(`hicos control ${op}: ${JSON.stringify(j)}`);
	return j;
}

async function signRequests() {
	const r = await ctl('requests');
	return r.requests.filter((q) => q.path === '/sign');
}

async function cardClick(page, pin) {
	if (!(await page.$('#x509-pin'))) {
		await page.click('#method-x509');
		await page.waitForSelector('#x509-pin');
	}
	await page.fill('#x509-pin', pin);
	await page.click('#method-x509');
}

async function statusText(page, re, ms = 20000) {
	for (let i = 0; i < ms / 100; i++) {
		const t = (await page.textContent('#method-status')) || '';
		if (re.test(t))
			return t;
		await new Promise((r) => setTimeout(r, 100));
	}
	return (await page.textContent('#method-status')) || '';
}

// The last MakeSignature package the simulator received (form-decoded as the
// server does).
function lastPackage(reqs) {
	const q = reqs[reqs.length - 1];
	if (!q)
		return {};
	const body = typeof q.body === 'string' ? q.body : '';
	try {
		return JSON.parse(new URLSearchParams(body).get('tbsPackage') || '{}');
	} catch (e) {
		return { unparsed: body };
	}
}

async function run(ctx) {
	const page = ctx.pages()[0] || await ctx.newPage();
	page.setDefaultTimeout(20000);

	await page.goto(`${ISS}/account?lang=en`);
	ok(new URL(page.url()).pathname === '/login', 'the account page asks for a sign-in');
	ok(await page.$('#method-x509') !== null, 'the sign-in page shows the citizen-certificate button');
	const resp = await page.goto(page.url());
	ok(resp.headers()['cross-origin-opener-policy'] === 'same-origin-allow-popups',
		'the card page is sent with Cross-Origin-Opener-Policy: same-origin-allow-popups',
		resp.headers()['cross-origin-opener-policy']);

	// 1. The local sign server is not running (its port refuses).
	await ctl('fault', { mode: 'refuse' });
	await cardClick(page, PIN);
	let t = await statusText(page, /HiPKI|HiCOS/);
	ok(/HiPKI Local Sign Server .*did not answer/.test(t), 'no local sign server: the page says to install/start HiCOS', t);
	await ctl('fault', { mode: 'none' });
	await ctl('clear');

	// 2. No card in the reader.
	await ctl('remove');
	const popupP = page.waitForEvent('popup');
	await cardClick(page, PIN);
	const popup = await popupP;
	t = await statusText(page, /No citizen certificate card/);
	ok(/No citizen certificate card in the reader/.test(t), 'no card: the page says to insert the card', t);
	ok(new URL(popup.url()).origin === HICOS || popup.isClosed(),
		'the popup was the local server\'s /popupForm', popup.isClosed() ? 'closed' : popup.url());
	await popup.waitForEvent('close', { timeout: 5000 }).catch(() => {});
	ok(popup.isClosed(), 'the popup closes itself after answering');
	await ctl('insert', { card: 'good-g2' });

	// 3. Wrong PIN twice: the tries left; the third locks the card.
	await cardClick(page, '000000');
	t = await statusText(page, /Wrong PIN/);
	ok(/Wrong PIN: 2 tries left/.test(t), 'first wrong PIN: 2 tries left', t);
	const pkg = lastPackage(await signRequests());
	ok(pkg.func === 'MakeSignature' && pkg.signatureType === 'PKCS7' && pkg.hashAlgorithm === 'SHA256' &&
		typeof pkg.tbs === 'string' && pkg.tbs.length === 44 && !/ /.test(pkg.tbs),
	'the page asks, through the popup, for a PKCS#7 SHA-256 signature over the 32-byte nonce (its + intact)', pkg);
	await cardClick(page, '000001');
	t = await statusText(page, /1 try left/);
	ok(/Wrong PIN: 1 try left/.test(t), 'second wrong PIN: 1 try left, one more locks', t);
	await cardClick(page, '000002');
	t = await statusText(page, /locked/);
	ok(/card is locked \(3 wrong PINs\)/.test(t), 'third wrong PIN: the card is locked, and where to unlock it', t);
	let cards = (await ctl('cards')).cards;
	ok(cards['good-g2'] && cards['good-g2'].locked === true, 'the simulated card is locked', cards);
	await cardClick(page, PIN);
	t = await statusText(page, /locked/);
	ok(/card is locked/.test(t) && new URL(page.url()).pathname === '/login',
		'a locked card stays refused even with the right PIN', t);
	await ctl('unlock', { card: 'good-g2' });   // the household office unlocks it

	// 4. HiCOS does not trust this site yet: the /addDomain link; after it, signing works.
	await ctl('trust', { enforce: true, domains: ['127.0.0.1'] });
	await cardClick(page, PIN);
	t = await statusText(page, /trust/);
	ok(/does not yet trust this site/.test(t), 'an untrusted site: the page says so', t);
	const add = await page.$('#x509-add-domain');
	const href = add ? await add.getAttribute('href') : '';
	ok(href === `${HICOS}/addDomain?domain=localhost`, 'with a link to the local server\'s /addDomain for this host', href);
	if (add) {
		const [tab] = await Promise.all([ctx.waitForEvent('page'), add.click()]);
		await tab.waitForSelector('#confirm');
		await Promise.all([tab.waitForNavigation(), tab.click('#confirm')]);
		ok(/localhost/.test((await tab.textContent('#done')) || ''), 'the person adds the site in HiCOS');
		await tab.close();
	}

	// 5. A popup of another origin (the same server reached as localhost, not
	// the configured 127.0.0.1): its getTbs and a forged answer are ignored.
	const wrong = HICOS.replace('127.0.0.1', 'localhost');
	await ctx.route(`${HICOS}/popupForm`, (route) => route.fulfill({ status: 302,
		headers: { location: `${wrong}/popupForm` } }));
	await ctl('clear');
	const wpP = page.waitForEvent('popup');
	await cardClick(page, PIN);
	const wp = await wpP;
	await wp.waitForURL(`${wrong}/popupForm`).catch(() => {});
	await wp.evaluate(() => {
		window.opener.postMessage(JSON.stringify({ func: 'sign', ret_code: 0, signature: 'AAAA', certb64: '' }), '*');
	}).catch(() => {});
	t = await statusText(page, /did not answer/);
	ok(/did not answer/.test(t) && new URL(page.url()).pathname === '/login',
		'a popup of the wrong origin is ignored: no request, no forged sign-in, the page times out', t);
	ok((await signRequests()).length === 0, 'the page never sent the MakeSignature request to the wrong origin');
	await ctx.unroute(`${HICOS}/popupForm`);
	// A message this page posts to itself is not the local server either.
	await page.evaluate(() => {
		window.postMessage('{"func":"getTbs"}', '*');
		window.postMessage(JSON.stringify({ func: 'sign', ret_code: 0, signature: 'AAAA' }), '*');
	});
	await new Promise((r) => setTimeout(r, 500));
	ok(new URL(page.url()).pathname === '/login', 'messages of this page\'s own origin are ignored');

	// 6. Right PIN: signed in through the popup (the PKCS#7 without the
	// certificate; authd takes it from certb64).
	await ctl('clear');
	await Promise.all([page.waitForNavigation(), cardClick(page, PIN)]);
	ok(new URL(page.url()).pathname === '/account', 'right PIN: signed in and back on /account', page.url());
	ok((await signRequests()).length === 1, 'one MakeSignature for the sign-in');
	const main = (await page.textContent('main')) || '';
	ok(main.includes(process.env.E2E_USER), 'the account page is the bound user\'s', main.slice(0, 300));
	ok(main.includes('王小明'), 'the account page lists the bound card (CN)', main.slice(0, 600));
	ok(!main.includes('A123456789'), 'the full national ID is nowhere on the page');
	ok(/The help desk added a sign-in method on .+citizen certificate \(王小明\)/.test(main),
		'the help desk\'s binding (authctl x509 bind) is announced', main.slice(0, 600));
	cards = (await ctl('cards')).cards;
	ok(cards['good-g2'].tries_left === 3, 'the right PIN resets the card\'s tries', cards);

	// 7. Link a second card from the account page, through the popup too.
	await ctl('insert', { card: 'good-g3' });
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
