// tests/e2e/device.test.mjs — the device flow of a host (pam_authd mode=device)
// in real headless Chromium, as a person meets it (issue 11, item 8): a link
// carrying a host's code, signed in or not, never reaches the approval; the
// code typed into /device's form does, through the sign-in, and the approval
// page names the server, the account, the address and the time, in zh-TW and
// in English; Allow gives the host its tokens for that account. The host's
// side (device request, polling) is plain fetch. Run by tests/e2e/run.sh.
// Prints TAP.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const require = createRequire(path.join(process.env.E2E_TMP, 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

const ISS = process.env.AUTHD_ISSUER;
const USER = process.env.E2E_USER;
const PASSWORD = process.env.E2E_PASSWORD;
const HOST = 'e2e-host';
const DG = 'urn:ietf:params:oauth:grant-type:device_code';

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

function authctl(...args) {
	return execFileSync(process.env.E2E_AUTHCTL, ['-c', process.env.E2E_CONF, ...args],
		{ encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let secret;
async function host(endpoint, fields) {
	const res = await fetch(`${ISS}${endpoint}`, {
		method: 'POST',
		headers: {
			authorization: 'Basic ' + Buffer.from(`${HOST}:${secret}`).toString('base64'),
			'content-type': 'application/x-www-form-urlencoded',
		},
		body: new URLSearchParams(fields),
	});
	return { status: res.status, j: await res.json() };
}

async function main() {
	secret = /client_secret: *(\S+)/.exec(authctl('client', 'add', HOST, '--grant', DG, '--scope', 'openid',
		'--scope', 'profile', '--host', '--name', '建置伺服器', '--name-en', 'Build server'))?.[1];
	ok(!!secret, 'authctl client add --host gives the host a secret');
	const profile = mkdtempSync(path.join(tmpdir(), 'authd-chromium-'));
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.CHROMIUM,
		headless: true,
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

async function run(ctx) {
	const page = ctx.pages()[0] || await ctx.newPage();
	page.setDefaultTimeout(20000);
	await page.setExtraHTTPHeaders({ 'accept-language': 'zh-TW' });
	const start = await host('/device_authorization', { scope: 'openid profile', login_hint: USER,
		remote_addr: '203.0.113.9' });
	ok(start.status === 200 && start.j.user_code && start.j.verification_uri === `${ISS}/device`,
		'the host gets a user code and the verification URI', JSON.stringify(start));
	ok(!('verification_uri_complete' in start.j), 'no verification_uri_complete for a host');
	const code = start.j.user_code;

	// The phishing link (what verification_uri_complete used to be).
	let res = await page.goto(`${ISS}/device?user_code=${encodeURIComponent(code)}`);
	ok(res.status() === 400 && await page.locator('button[value=approve]').count() === 0 &&
		await page.inputValue('#user_code') === '',
	'a link with the code: the empty code form, no sign-in, no approval', `status ${res.status()}`);

	// The person types the code.
	await page.goto(`${ISS}/device`);
	await page.fill('#user_code', code.toLowerCase());
	await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
	ok(new URL(page.url()).pathname === '/login', 'the typed code leads to the sign-in', page.url());
	await page.fill('#username', USER);
	await page.fill('#password', PASSWORD);
	await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
	ok(new URL(page.url()).pathname === '/device', 'after the sign-in, back at /device', page.url());
	const zh = await page.textContent('main');
	ok(zh.includes('伺服器：建置伺服器') && zh.includes(`將登入的帳號：${USER}`) &&
		zh.includes('要求來自位址：127.0.0.1') && zh.includes('伺服器回報的連線來源：203.0.113.9') &&
		/要求時間：20\d\d-\d\d-\d\d \d\d:\d\d:\d\d \(UTC[+-]\d{4}\)/.test(zh),
	'the approval page (zh-TW) names server, account, addresses and time', zh.slice(0, 600));

	await page.setExtraHTTPHeaders({ 'accept-language': 'en' });
	await page.reload();
	const en = await page.textContent('main');
	ok(en.includes('Server: Build server') && en.includes(`Account to be logged in: ${USER}`) &&
		en.includes('Request came from address: 127.0.0.1') &&
		en.includes('Connection reported by the server from: 203.0.113.9') && en.includes('Requested at: 20') &&
		en.includes('choose Deny'),
	'the approval page (English) names them too and says when to deny', en.slice(0, 600));

	await Promise.all([page.waitForNavigation(), page.click('button[value=approve]')]);
	ok((await page.textContent('main')).includes('Allowed'), 'Allow: the page confirms');
	const tok = await host('/token', { grant_type: DG, device_code: start.j.device_code });
	const claims = tok.j.id_token ? JSON.parse(Buffer.from(tok.j.id_token.split('.')[1], 'base64url')) : {};
	ok(tok.status === 200 && claims.preferred_username === USER,
		'the host gets tokens for the account it named', JSON.stringify(tok.j).slice(0, 300));

	// Signed in now: a link with another host code still gets no approval.
	const second = await host('/device_authorization', { scope: 'openid', login_hint: USER });
	res = await page.goto(`${ISS}/device?user_code=${encodeURIComponent(second.j.user_code)}`);
	ok(res.status() === 400 && await page.locator('button[value=approve]').count() === 0,
		'signed in, a link with a host code still shows no approval', `status ${res.status()}`);
	authctl('client', 'remove', HOST);
}

main().then(() => {
	console.log(`1..${n}`);
	process.exit(failed ? 1 : 0);
}, (e) => {
	ok(false, 'the browser run finished', e && e.stack);
	console.log(`1..${n}`);
	process.exit(1);
});
