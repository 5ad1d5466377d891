// tests/e2e/apache.test.mjs — docs/integrating-apps.md §9 ("Worked example:
// Apache with mod_auth_openidc") run as written (issue 15): the guide's
// <VirtualHost> block is read from the guide itself, only its placeholders
// replaced (host names, port, secret, passphrase, TLS lines) and the CA bundle
// directive its CA bullet names added; Debian's apache2 with
// libapache2-mod-auth-openidc serves it in the foreground (-X) from a
// ServerRoot of its own in a temp folder, on a free loopback port, in front of
// the real authd of tests/e2e/run.sh. Headless Chromium then:
//   1. opens the AAL1 area: password sign-in at authd, and the page (a CGI)
//      shows REMOTE_USER (preferred_username) and OIDC_CLAIM_acr=aal1;
//   2. opens /admin (Require claim acr:aal2): from the AAL1 session authd asks
//      for the one-time code (TOTP from oathtool) and the page shows aal2;
//   3. follows the guide's logout link: authd's session ends and the browser
//      lands on the post-logout page outside the protected area.
// Apache is stopped by this test, also on failure. Prints TAP.
import { createRequire } from 'node:module';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';

const require = createRequire(path.join(process.env.E2E_TMP, 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

const ISS = process.env.AUTHD_ISSUER;
const T = process.env.E2E_TMP;
const GUIDE = path.join(process.env.E2E_ROOT, 'docs', 'integrating-apps.md');
const APACHE = process.env.APACHE2 || '/usr/sbin/apache2';
const MODS = '/usr/lib/apache2/modules';
const CLIENT = 'edu-leave'; // the guide's client id, unchanged
const USER = 'chen.apache';
const PASSWORD = 'Apache-e2e-' + randomBytes(9).toString('base64url');

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

function authctl(args, input) {
	return execFileSync(process.env.E2E_AUTHCTL, ['-c', process.env.E2E_CONF, ...args],
		{ encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
}

const codeAt = (secret, step) => execFileSync('oathtool', ['--totp', '-b', secret, '--now', `@${step * 30 + 1}`],
	{ encoding: 'utf8' }).trim();
const stepNow = () => Math.floor(Date.now() / 30000);

// authctl totp enrol NAME --code-stdin: answered with the previous step's code
// (so the sign-in's code, of the current step, is one authd has not seen).
function enrolTotp(name) {
	return new Promise((resolve, reject) => {
		const c = spawn(process.env.E2E_AUTHCTL, ['-c', process.env.E2E_CONF, 'totp', 'enrol', name, '--code-stdin'],
			{ stdio: ['pipe', 'pipe', 'pipe'] });
		let out = '';
		let err = '';
		let secret;
		c.stdout.on('data', (d) => {
			out += d;
			const m = /[?&]secret=([A-Z2-7]+)/.exec(out);
			if (m && !secret) {
				secret = m[1];
				c.stdin.end(codeAt(secret, stepNow() - 1) + '\n');
			}
		});
		c.stderr.on('data', (d) => { err += d; });
		c.on('exit', (code) => (code === 0 && secret ? resolve(secret) :
			reject(new Error(`authctl totp enrol ${name}: exit ${code}: ${err}`))));
	});
}

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

// The guide's §9 block, its placeholders replaced; each replacement must find
// its text, so a changed guide fails here instead of drifting from the test.
function guideConfig(port, secret, dir) {
	const guide = readFileSync(GUIDE, 'utf8');
	const sec = guide.slice(guide.indexOf('## 9. Worked example: Apache with mod_auth_openidc'));
	const block = /```apache\n([\s\S]*?)```/.exec(sec)[1];
	const app = `https://localhost:${port}`;
	const subs = [
		['<VirtualHost *:443>', `<VirtualHost 127.0.0.1:${port}>`],
		['ServerName leave.edu.city.example', 'ServerName localhost'],
		['    # ... SSLEngine, certificate ...', `    SSLEngine on\n    SSLCertificateFile ${T}/certs/tls.crt\n` +
			`    SSLCertificateKeyFile ${T}/certs/tls.key`],
		['https://leave.edu.city.example', app],
		['https://sso.city.example', ISS],
		['"<the client_secret printed by authctl>"', `"${secret}"`],
		['"<output of: openssl rand -base64 32>"', `"${randomBytes(32).toString('base64')}"`],
	];
	let conf = block;
	for (const [from, to] of subs) {
		if (!conf.includes(from))
			throw new Error(`the guide's Apache block no longer has: ${from}`);
		conf = conf.split(from).join(to);
	}
	// The CA bullet's directive, with this run's CA in a file www-data can read.
	const ca = /`(OIDCCABundlePath) (\S+)`/.exec(sec);
	if (!ca)
		throw new Error('the guide no longer names OIDCCABundlePath');
	copyFileSync(path.join(T, 'certs', 'ca.crt'), path.join(dir, 'authd-ca.pem'));
	conf = conf.replace(/^( *)(OIDCProviderMetadataURL .*)$/m, `$1$2\n$1${ca[1]} ${dir}/authd-ca.pem`);
	// The logout link, as the guide writes it.
	const lo = /`https:\/\/leave\.edu\.city\.example(\/oidc\/callback\?logout=[^`]+)`/.exec(sec);
	if (!lo)
		throw new Error('the guide no longer gives the logout link');
	const logout = app + lo[1].split(encodeURIComponent('https://leave.edu.city.example'))
		.join(encodeURIComponent(app));
	const postLogout = /post-logout URI `https:\/\/leave\.edu\.city\.example([^`]+)`/.exec(sec);
	const redirect = /redirect URI `https:\/\/leave\.edu\.city\.example([^`]+)`/.exec(sec);
	if (!postLogout || !redirect)
		throw new Error('the guide no longer names the redirect and post-logout URIs');
	return { conf, logout, app, redirect: app + redirect[1], postLogout: app + postLogout[1] };
}

const CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
printf 'REMOTE_USER=%s\\n' "$REMOTE_USER"
printf 'OIDC_CLAIM_sub=%s\\n' "$OIDC_CLAIM_sub"
printf 'OIDC_CLAIM_acr=%s\\n' "$OIDC_CLAIM_acr"
`;

// The server around the guide's block: its own ServerRoot, pid file, logs and
// modules; a CGI that echoes what mod_auth_openidc hands the application.
function serverConfig(dir, port, vhost) {
	const mods = ['mpm_prefork', 'authn_core', 'authz_core', 'authz_user', 'auth_openidc', 'ssl',
		'socache_shmcb', 'mime', 'dir', 'cgi'];
	const asRoot = process.getuid() === 0;
	return [
		`ServerRoot ${dir}`,
		`ServerName localhost`,
		`Listen 127.0.0.1:${port}`,
		`PidFile ${dir}/httpd.pid`,
		`ErrorLog ${dir}/error.log`,
		`LogLevel warn auth_openidc:info`,
		`Mutex file:${dir}`,
		...mods.map((m) => `LoadModule ${m}_module ${MODS}/mod_${m}.so`),
		// As root, children run as www-data (the guide's CA file note).
		...(asRoot ? ['User www-data', 'Group www-data'] : []),
		`TypesConfig /etc/mime.types`,
		`DocumentRoot ${dir}/htdocs`,
		`<Directory ${dir}/htdocs>`,
		`    Options +ExecCGI`,
		`    AddHandler cgi-script .cgi`,
		`    DirectoryIndex index.cgi index.html`,
		`</Directory>`,
		vhost,
	].join('\n') + '\n';
}

async function startApache(dir, port) {
	const log = [];
	const child = spawn(APACHE, ['-X', '-f', `${dir}/httpd.conf`], { stdio: ['ignore', 'pipe', 'pipe'] });
	child.stdout.on('data', (d) => log.push(String(d)));
	child.stderr.on('data', (d) => log.push(String(d)));
	let exited = false;
	child.on('exit', () => { exited = true; });
	for (let i = 0; i < 100 && !exited; i++) {
		const up = await new Promise((resolve) => {
			const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
			s.on('error', () => resolve(false));
		});
		if (up)
			return child;
		await new Promise((r) => setTimeout(r, 100));
	}
	child.kill('SIGKILL');
	let elog = '';
	try { elog = readFileSync(`${dir}/error.log`, 'utf8'); } catch { /* none */ }
	throw new Error(`apache2 did not start: ${log.join('')}${elog}`);
}

function stopApache(child) {
	if (!child || child.exitCode !== null || child.signalCode !== null)
		return Promise.resolve();
	return new Promise((resolve) => {
		const t = setTimeout(() => child.kill('SIGKILL'), 5000);
		child.on('exit', () => { clearTimeout(t); resolve(); });
		child.kill('SIGTERM');
	});
}

async function signInPassword(page) {
	await page.fill('#username', USER);
	await page.fill('#password', PASSWORD);
	await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
}

async function run(ctx, a) {
	const page = ctx.pages()[0] || await ctx.newPage();
	page.setDefaultTimeout(20000);
	await page.setExtraHTTPHeaders({ 'accept-language': 'en' });

	// 1. AAL1 area.
	await page.goto(`${a.app}/`);
	const at = new URL(page.url());
	ok(at.origin === ISS && at.pathname === '/login', 'the protected page sends the browser to authd\'s sign-in',
		page.url());
	await signInPassword(page);
	let body = await page.textContent('body');
	ok(page.url() === `${a.app}/`, 'after the password, the browser is back on the protected page', page.url());
	ok(body.includes(`REMOTE_USER=${USER}\n`), 'Apache passes REMOTE_USER = preferred_username', body);
	ok(/OIDC_CLAIM_sub=\S+\n/.test(body), 'the page has the user\'s OIDC_CLAIM_sub', body);
	ok(body.includes('OIDC_CLAIM_acr=aal1\n'), 'the password session is acr aal1', body);

	// 2. Step-up to aal2 for /admin.
	// mod_auth_openidc answers an unmet Require claim with a page that sends
	// the browser on to authd (OIDCUnAutzAction auth): wait for it to get there.
	const unmet = await page.goto(`${a.app}/admin/`);
	ok(unmet.status() === 200 && /^text\/html/.test(unmet.headers()['content-type']),
		'mod_auth_openidc answers the unmet Require claim with a page (200), not Apache\'s bare 401',
		`${unmet.status()} ${unmet.headers()['content-type']}`);
	await page.waitForURL((u) => u.origin === ISS, { timeout: 10000 }).catch(() => {});
	ok(new URL(page.url()).origin === ISS && await page.$('#otp') !== null && await page.$('#password') === null,
		'/admin (Require claim acr:aal2) from the aal1 session leads to authd\'s one-time-code step alone',
		page.url());
	// A code of a step authd has not seen (enrolment used the previous one).
	while (Date.now() % 30000 > 27000)
		await new Promise((r) => setTimeout(r, 500));
	await page.fill('#otp', codeAt(a.totp, stepNow()));
	await Promise.all([page.waitForNavigation(), page.click('form:has(#otp) button[type=submit]')]);
	body = await page.textContent('body');
	ok(page.url() === `${a.app}/admin/`, 'after the one-time code, the browser is on /admin', page.url());
	ok(body.includes('OIDC_CLAIM_acr=aal2\n') && body.includes(`REMOTE_USER=${USER}\n`),
		'/admin shows the user at acr aal2', body);

	// 3. Logout through mod_auth_openidc's logout URL.
	// No confirmation page: mod_auth_openidc sends id_token_hint with it.
	await page.goto(a.logout);
	ok(page.url() === a.postLogout, 'logout lands on the post-logout page outside the protected area', page.url());
	ok((await page.textContent('body')).includes('Signed out'), 'the post-logout page is served without a session');
	await page.goto(`${ISS}/account`);
	ok(new URL(page.url()).pathname === '/login', 'authd\'s session has ended (/account asks to sign in)',
		page.url());
	await page.goto(`${a.app}/`);
	ok(new URL(page.url()).origin === ISS, 'Apache\'s session has ended (the protected page asks authd again)',
		page.url());
}

async function main() {
	const dir = mkdtempSync(path.join(tmpdir(), 'authd-apache-'));
	chmodSync(dir, 0o755); // www-data reads the CA bundle and runs the CGI
	let apache;
	let profile;
	let ctx;
	try {
		authctl(['user', 'add', USER, '--password-stdin', '--display-name', '陳阿帕契'], PASSWORD + '\n');
		const totp = await enrolTotp(USER);
		// The guide's step-up needs an AAL1 session first: this person turned
		// off "ask my second factor at every sign-in" (on once TOTP is enrolled).
		authctl(['user', 'second-factor', USER, 'off']);
		ok(true, 'a user with a password and TOTP who asks for the code only where an app needs it');
		const port = await freePort();
		const probe = guideConfig(port, 'x', dir);
		const secret = /client_secret: *(\S+)/.exec(authctl(['client', 'add', CLIENT,
			'--redirect-uri', probe.redirect, '--post-logout-redirect-uri', probe.postLogout,
			'--name-en', 'Leave (Apache)']))?.[1];
		ok(!!secret, 'the guide\'s client registered with its redirect and post-logout URIs');
		const a = guideConfig(port, secret, dir);
		a.totp = totp;
		mkdirSync(`${dir}/htdocs/admin`, { recursive: true });
		for (const f of ['htdocs/index.cgi', 'htdocs/admin/index.cgi'])
			writeFileSync(`${dir}/${f}`, CGI, { mode: 0o755 });
		writeFileSync(`${dir}/htdocs/signed-out.html`, '<!doctype html><title>Signed out</title><p>Signed out</p>\n');
		writeFileSync(`${dir}/httpd.conf`, serverConfig(dir, port, a.conf));
		const t = spawn(APACHE, ['-t', '-f', `${dir}/httpd.conf`], { stdio: 'ignore' });
		const syntax = await new Promise((r) => t.on('exit', r));
		ok(syntax === 0, 'apache2 -t accepts the guide\'s configuration');
		apache = await startApache(dir, port);
		ok(true, `apache2 -X with mod_auth_openidc on 127.0.0.1:${port}`);
		profile = mkdtempSync(path.join(tmpdir(), 'authd-chromium-'));
		ctx = await chromium.launchPersistentContext(profile, {
			executablePath: process.env.CHROMIUM,
			headless: true,
			env: { ...process.env, HOME: process.env.E2E_HOME },
			args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
				'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		});
		await run(ctx, a);
	} catch (e) {
		ok(false, 'the Apache run finished', e && e.stack);
	} finally {
		if (ctx)
			await ctx.close();
		await stopApache(apache);
		if (failed) {
			try {
				console.log('# ' + readFileSync(`${dir}/error.log`, 'utf8').split('\n').slice(-15).join('\n# '));
			} catch { /* no log */ }
		}
		if (profile)
			rmSync(profile, { recursive: true, force: true });
		rmSync(dir, { recursive: true, force: true });
	}
}

main().then(() => {
	console.log(`1..${n}`);
	process.exit(failed ? 1 : 0);
}, (e) => {
	ok(false, 'the Apache run finished', e && e.stack);
	console.log(`1..${n}`);
	process.exit(1);
});
