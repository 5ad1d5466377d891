// tests/sim/hicos.test.mjs — the HiCOS simulator's /popupForm bridge in real
// headless Chromium (Debian chromium + playwright-core from
// tests/integration/node_modules): a page on another origin cannot read /sign
// with fetch (no CORS), but it can open /popupForm, receive {"func":"getTbs"}
// from that origin, post one MakeSignature / GetUserCert request and get the
// answer back; the popup closes itself; a wrong PIN counts down; an untrusted
// site is refused until /addDomain; Cross-Origin-Opener-Policy same-origin
// breaks the bridge and same-origin-allow-popups keeps it; /p11Image.bmp is
// readable through a canvas. Standalone: node tests/sim/hicos.test.mjs
import { createRequire } from 'node:module';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, 'tests', 'integration', 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

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

function pkiDir() {
	const dir = process.env.X509_E2E_PKI_CACHE ||
		path.join(process.env.TMPDIR || '/tmp', `authd-x509-e2e-pki3-${process.getuid()}`);
	execFileSync('sh', [path.join(root, 'certs', 'make-test-pki.sh'), dir, '1', '2', '3'], { stdio: 'ignore' });
	return dir;
}

function startSim(pki) {
	return new Promise((resolve, reject) => {
		const p = spawn('/usr/bin/python3', [path.join(here, 'hicos.py'), '--pki', pki],
			{ stdio: ['ignore', 'pipe', 'inherit'] });
		let buf = '';
		p.stdout.on('data', (d) => {
			buf += d;
			const nl = buf.indexOf('\n');
			if (nl >= 0)
				resolve({ proc: p, info: JSON.parse(buf.slice(0, nl)) });
		});
		p.on('exit', (code) => reject(new Error(`hicos.py exited ${code}`)));
	});
}

async function ctl(sim, op, args = {}) {
	const r = await fetch(sim.info.control_url, { method: 'POST', body: JSON.stringify({ op, ...args }),
		headers: { 'content-type': 'application/json' } });
	return r.json();
}

// The page of "another origin" (the site that wants a signature).
function openerPage(sim) {
	return `<!doctype html><meta charset=utf-8><title>opener</title>
<textarea id=req></textarea><button id=go>sign</button><button id=direct>direct</button>
<button id=img>img</button><button id=add>add</button>
<script>
const SIM = ${JSON.stringify(sim)};
function bridge(raw) {
  return new Promise((resolve, reject) => {
    const w = window.open(SIM + '/popupForm', 'hicos', 'width=320,height=200');
    if (!w) return reject(new Error('popup blocked'));
    const seen = [];
    let ready = false;
    const timer = setTimeout(() => { window.removeEventListener('message', on);
      resolve({ timeout: true, seen, closed: w.closed }); }, 4000);
    function on(ev) {
      if (ev.origin !== SIM || ev.source !== w) return;
      seen.push(ev.data);
      if (!ready) {
        if (ev.data === '{"func":"getTbs"}') {
          ready = true;
          w.postMessage({ not: 'a string' }, SIM);   /* what an extension might post */
          w.postMessage(raw, SIM);
        }
        return;
      }
      clearTimeout(timer);
      window.removeEventListener('message', on);
      setTimeout(() => resolve({ first: seen[0], reply: ev.data, closed: w.closed }), 300);
    }
    window.addEventListener('message', on);
  });
}
document.getElementById('go').onclick = () => {
  window.__out = undefined;
  bridge(document.getElementById('req').value).then((r) => { window.__out = r; },
    (e) => { window.__out = { error: String(e) }; });
};
document.getElementById('direct').onclick = () => {
  window.__out = undefined;
  fetch(SIM + '/sign', { method: 'POST', body: 'tbsPackage=' + encodeURIComponent('{"func":"MakeSignature"}'),
    headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    .then((r) => r.text()).then((t) => { window.__out = { read: t }; },
      (e) => { window.__out = { error: e.name }; });
};
document.getElementById('img').onclick = () => {
  window.__out = undefined;
  const img = new Image();
  img.crossOrigin = 'anonymous';
  img.onload = () => {
    const c = document.createElement('canvas'); c.width = 2000; c.height = 1;
    const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, 2000, 1).data;
    let s = '';
    for (let i = 0; i < 2000 && d[i * 4 + 2] !== 0; i++) s += String.fromCharCode(d[i * 4 + 2], d[i * 4 + 1], d[i * 4]);
    window.__out = { json: s };
  };
  img.onerror = () => { window.__out = { error: 'image' }; };
  img.src = SIM + '/p11Image.bmp?' + Date.now();
};
document.getElementById('add').onclick = () => {
  window.__add = window.open(SIM + '/addDomain?domain=' + location.hostname, 'AddDomain', 'width=400,height=400');
};
</script>`;
}

async function result(page) {
	await page.waitForFunction(() => window.__out !== undefined, null, { timeout: 10000 });
	return page.evaluate(() => window.__out);
}

async function viaPopup(page, req) {
	// The JSON is sent as it will be form-decoded: '+' as %2B (tbs is base64).
	await page.fill('#req', JSON.stringify(req).replace(/\+/g, '%2B'));
	await page.click('#go');
	return result(page);
}

const signReq = (pin, extra = {}) => ({ func: 'MakeSignature', tbs: '+25vbmNlLzEyMw==', tbsEncoding: 'base64',
	hashAlgorithm: 'SHA256', signatureType: 'PKCS7', pin, withCardSN: 'true', nonce: '', ...extra });

async function run(browser, sim, pki) {
	const SIM = `http://127.0.0.1:${sim.info.service_port}`;
	const pages = {};
	const server = createServer((req, res) => {
		const coop = { '/coop-same-origin': 'same-origin', '/coop-allow-popups': 'same-origin-allow-popups' }[req.url];
		const headers = { 'content-type': 'text/html; charset=utf-8' };
		if (coop)
			headers['cross-origin-opener-policy'] = coop;
		res.writeHead(200, headers);
		res.end(openerPage(SIM));
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	const ORIGIN = `http://127.0.0.1:${server.address().port}`;
	try {
		const ctx = await browser.newContext();
		const page = await ctx.newPage();
		page.setDefaultTimeout(15000);
		await page.goto(ORIGIN + '/');

		await page.click('#direct');
		let out = await result(page);
		const seen = (await ctl(sim, 'requests')).requests.filter((r) => r.path === '/sign');
		ok(out.error === 'TypeError' && seen.length === 1,
			'a direct fetch to /sign from another origin fails (no CORS) although the server answered', out);

		await ctl(sim, 'clear');
		out = await viaPopup(page, signReq('123456'));
		let reply = out.reply ? JSON.parse(out.reply) : {};
		ok(out.first === '{"func":"getTbs"}', 'the popup first posts {"func":"getTbs"} from its own origin', out);
		ok(reply.func === 'sign' && reply.ret_code === 0 && typeof reply.signature === 'string' &&
			reply.certb64 && reply.cardSN, 'MakeSignature through the popup: func sign, ret_code 0, signature, certb64', reply);
		ok(out.closed === true, 'the popup closes itself after answering', out);
		const got = (await ctl(sim, 'requests')).requests.filter((r) => r.path === '/sign');
		ok(got.length === 1 && got[0].body.startsWith('tbsPackage={') && got[0].body.includes('%2B'),
			'the popup posted "tbsPackage=" + the JSON as it came (not re-encoded)', got);
		if (reply.signature) {
			const d = mkdtempSync(path.join(tmpdir(), 'authd-sim-hicos-'));
			try {
				writeFileSync(path.join(d, 'sig'), Buffer.from(reply.signature, 'base64'));
				writeFileSync(path.join(d, 'cert.der'), Buffer.from(reply.certb64, 'base64'));
				execFileSync('openssl', ['x509', '-inform', 'DER', '-in', path.join(d, 'cert.der'),
					'-out', path.join(d, 'cert.pem')]);
				const content = execFileSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER',
					'-in', path.join(d, 'sig'), '-certfile', path.join(d, 'cert.pem'), '-noverify'], { stdio: 'pipe' });
				ok(content.equals(Buffer.from('+25vbmNlLzEyMw==', 'base64')),
					'the PKCS#7 verifies with certb64 over the decoded tbs (the %2B came through as +)');
			} catch (e) {
				ok(false, 'the PKCS#7 verifies with certb64', e.stderr ? e.stderr.toString() : e);
			} finally {
				rmSync(d, { recursive: true, force: true });
			}
		}

		out = await viaPopup(page, signReq('000000'));
		reply = out.reply ? JSON.parse(out.reply) : {};
		ok(reply.ret_code === 0x76100006 && reply.last_error === -2147483646,
			'a wrong PIN through the popup: 0x76100006, last_error 0x80000002 (two tries left)', reply);
		await ctl(sim, 'unlock', { card: 'good-g2' });

		out = await viaPopup(page, { func: 'GetUserCert' });
		reply = out.reply ? JSON.parse(out.reply) : {};
		ok(reply.func === 'pkcs11info' && reply.slots?.[0]?.token?.certs?.[0]?.certb64,
			'GetUserCert through the popup: the card\'s certificates', reply);

		await page.click('#img');
		out = await result(page);
		let info = {};
		try { info = JSON.parse(out.json || '{}'); } catch { info = {}; }
		ok(info.ret_code === 0 && info.serverVersion, '/p11Image.bmp is read through a canvas from another origin', out);
		await ctl(sim, 'image_cors', { on: false });
		await page.click('#img');
		out = await result(page);
		ok(out.error === 'image', 'without Access-Control-Allow-Origin the image cannot be read', out);
		await ctl(sim, 'image_cors', { on: true });

		// trusted sites
		await ctl(sim, 'trust', { enforce: true, domains: ['localhost'] });
		out = await viaPopup(page, signReq('123456'));
		reply = out.reply ? JSON.parse(out.reply) : {};
		ok(reply.ret_code === 0x76000031, 'an untrusted site is refused through the popup (0x76000031)', reply);
		const [add] = await Promise.all([page.waitForEvent('popup'), page.click('#add')]);
		await add.waitForLoadState();
		ok((await add.textContent('#domain')) === '127.0.0.1', '/addDomain asks to trust the opener\'s host');
		await Promise.all([add.waitForNavigation(), add.click('#confirm')]);
		ok(/已加入信任網站/.test(await add.textContent('body')), 'the person confirms: the site is trusted');
		await add.close();
		out = await viaPopup(page, signReq('123456'));
		reply = out.reply ? JSON.parse(out.reply) : {};
		ok(reply.ret_code === 0, 'after /addDomain the popup signs for this site', reply);
		await ctl(sim, 'trust', { enforce: false });

		// Cross-Origin-Opener-Policy on the opener page
		await page.goto(ORIGIN + '/coop-same-origin');
		out = await viaPopup(page, signReq('123456'));
		ok(out.timeout === true && (out.seen || []).length === 0,
			'with COOP same-origin the popup has no opener: the bridge never starts', out);
		await page.goto(ORIGIN + '/coop-allow-popups');
		out = await viaPopup(page, signReq('123456'));
		reply = out.reply ? JSON.parse(out.reply) : {};
		ok(reply.ret_code === 0, 'with COOP same-origin-allow-popups the bridge works', out);
		await ctx.close();
	} finally {
		server.close();
	}
}

async function main() {
	const pki = pkiDir();
	const sim = await startSim(pki);
	const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'] });
	try {
		await run(browser, sim, pki);
	} finally {
		await browser.close();
		sim.proc.kill('SIGTERM');
	}
}

main().then(() => {
	console.log(`1..${n}`);
	console.log(`# hicos.test.mjs: ${n - failed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
}, (e) => {
	ok(false, 'the run finished', e && e.stack ? e.stack : e);
	console.log(`1..${n}`);
	process.exit(1);
});
