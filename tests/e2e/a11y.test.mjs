// tests/e2e/a11y.test.mjs — accessibility proven in a browser (issue 15):
// axe-core (npm, pinned in tests/integration/package-lock.json) in real
// headless Chromium over the pages a person meets — the sign-in form, a wrong
// password, an error page, an unknown path, the device code form, the account
// page and its two-step set-up (the QR code), an app the account cannot reach yet (unmet), the logout confirmation —
// in the light and the dark scheme, 390 and 320 px wide (zh-TW; English at
// 390 px):
// zero WCAG 2.0/2.1 A and AA violations, and nothing wider than the screen.
// Run by tests/e2e/run.sh (alphabetically first: the person it signs in as has
// no security key yet). Prints TAP.
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(path.join(process.env.E2E_TMP, 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const ISS = process.env.AUTHD_ISSUER;
const USER = process.env.E2E_WA_USER;
const PASSWORD = process.env.E2E_WA_PASSWORD;
const REDIRECT = process.env.E2E_REDIRECT;
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

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

function authorizeUrl(client) {
	const u = new URL('/authorize', ISS);
	u.search = new URLSearchParams({ response_type: 'code', client_id: client, redirect_uri: REDIRECT,
		scope: 'openid', state: 'a11y-state', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
		code_challenge_method: 'S256' }).toString();
	return u.toString();
}

// axe over the page as it is now, and its width against the viewport's.
async function check(page, what) {
	await page.addScriptTag({ content: AXE });
	const r = await page.evaluate(async (tags) => {
		const res = await globalThis.axe.run(document, { runOnly: { type: 'tag', values: tags } });
		return res.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ` +
			v.nodes.slice(0, 3).map((x) => x.target.join(' ')).join(', '));
	}, TAGS);
	ok(r.length === 0, `${what}: no WCAG 2.1 A/AA violation`, r.join('\n'));
	const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
	ok(w[0] <= w[1], `${what}: no sideways scroll (${w[0]} <= ${w[1]} px)`);
}

// Each page state, reached from scratch; signedIn ones after the sign-in.
// A state marked wide-only is checked at 390 px only: each visit is a failed
// attempt the address throttle counts (10 free), and other suites follow.
const states = [
	['sign-in form', async (p) => { await p.goto(authorizeUrl('e2e-aal2')); }],
	['sign-in with a wrong password', 'wide-only', async (p) => {
		await p.goto(authorizeUrl('e2e-aal2'));
		await p.fill('#username', USER);
		await p.fill('#password', 'not-the-password-' + Date.now());
		await Promise.all([p.waitForNavigation(), p.click('form[action="/login"] button[type=submit]')]);
	}],
	['error page (unknown application)', async (p) => { await p.goto(authorizeUrl('no-such-app')); }],
	['unknown path', async (p) => { await p.goto(`${ISS}/no-such-page`); }],
	['device code form', async (p) => { await p.goto(`${ISS}/device`); }],
	['device code form with an error', 'wide-only', async (p) => {
		await p.goto(`${ISS}/device`);
		await p.fill('#user_code', 'ZZZZ-ZZZZ');
		await Promise.all([p.waitForNavigation(), p.click('main form button[type=submit]')]);
	}],
];
const signedIn = [
	['account page', async (p) => { await p.goto(`${ISS}/account`); }],
	['two-step set-up page (QR code, key)', async (p) => {
		await p.goto(`${ISS}/account`);
		await Promise.all([p.waitForNavigation(), p.click('form:has(input[value=totp_begin]) button')]);
	}],
	['an app the account cannot reach yet (unmet)', async (p) => { await p.goto(authorizeUrl('e2e-aal3')); }],
	['logout confirmation', async (p) => { await p.goto(`${ISS}/logout`); }],
];

async function signIn(page) {
	await page.goto(`${ISS}/account`);
	if (new URL(page.url()).pathname !== '/login')
		return;
	await page.fill('#username', USER);
	await page.fill('#password', PASSWORD);
	await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
}

async function run(ctx) {
	const page = ctx.pages()[0] || await ctx.newPage();
	page.setDefaultTimeout(20000);
	for (const lang of ['zh-TW', 'en']) {
		await page.setExtraHTTPHeaders({ 'accept-language': lang });
		for (const scheme of ['light', 'dark']) {
			await page.emulateMedia({ colorScheme: scheme });
			// Layout does not change with the language: English at 390 px only.
			for (const width of lang === 'en' ? [390] : [390, 320]) {
				await page.setViewportSize({ width, height: 844 });
				await ctx.clearCookies();
				for (const st of states) {
					const [what, go] = [st[0], st[st.length - 1]];
					if (st.length === 3 && width !== 390)
						continue;
					await go(page);
					await check(page, `${what}, ${lang}, ${scheme}, ${width} px`);
				}
				await signIn(page);
				ok(new URL(page.url()).pathname === '/account', `signed in (${lang}, ${scheme}, ${width} px)`,
					page.url());
				for (const [what, go] of signedIn) {
					await go(page);
					await check(page, `${what}, ${lang}, ${scheme}, ${width} px`);
				}
			}
		}
	}
}

async function main() {
	const profile = mkdtempSync(path.join(tmpdir(), 'authd-chromium-'));
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.CHROMIUM,
		headless: true,
		// axe is added as a script of the page; the pages' CSP allows only
		// their own files, so this test context sets it aside.
		bypassCSP: true,
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
	ok(false, 'the browser run finished', e && e.stack);
	console.log(`1..${n}`);
	process.exit(1);
});
