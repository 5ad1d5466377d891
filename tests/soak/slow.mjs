// tests/soak/slow.mjs — slow and idle clients must not starve others (run by
// slow.sh against a daemon with max_connections = CAP, read_timeout_s = RT).
//
// Opens CAP+100 TLS connections that say nothing after the handshake (those
// over the cap must be refused at the handshake, not served), and SLOW
// slowloris connections that drip a request header one byte every DRIP ms.
// Then checks, with TAP lines:
//   1. a normal client gets 200 from /healthz within RT+3 s of the flood;
//   2. the server closes every idle connection within RT+2 s of its handshake;
//   3. the server closes every slow-drip connection within RT+3 s (the whole
//      request must arrive within read_timeout_s, not each byte);
//   4. afterwards 50 normal requests in a row all succeed.
// Environment: AUTHD_ISSUER, SLOW_CAP, SLOW_RT, SLOW_DRIPPERS (20), SLOW_DRIP_MS (500).
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const url = new URL(process.env.AUTHD_ISSUER);
const cap = Number(process.env.SLOW_CAP);
const rt = Number(process.env.SLOW_RT);
const drippers = Number(process.env.SLOW_DRIPPERS || 20);
const dripMs = Number(process.env.SLOW_DRIP_MS || 500);
const ca = readFileSync(process.env.NODE_EXTRA_CA_CERTS);
const port = Number(url.port);
let n = 0, failed = 0;
function check(ok, desc, detail = '') {
	n++;
	if (!ok) failed++;
	console.log(`${ok ? 'ok' : 'not ok'} ${n} - ${desc}${detail ? ` # ${detail}` : ''}`);
}

// A TLS connection; resolves with {sock, t0} once the handshake is done, or
// {refused: true} when the server ends it during the handshake.
function open() {
	return new Promise((resolve) => {
		const t0 = Date.now();
		const s = connect({ host: url.hostname, port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
		const c = { sock: s, t0, closedAt: 0, refused: false, done: false };
		s.on('secureConnect', () => { c.up = Date.now(); resolve(c); });
		s.on('error', () => {});
		s.on('data', () => {});
		s.on('close', () => {
			c.closedAt = Date.now();
			if (!c.up) { c.refused = true; resolve(c); }
		});
		s.setTimeout(60000, () => s.destroy());
	});
}

// One plain GET /healthz on a new connection: status code or 0.
function healthz() {
	return new Promise((resolve) => {
		let buf = '';
		const s = connect({ host: url.hostname, port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] },
			() => s.write(`GET /healthz HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`));
		s.setEncoding('latin1');
		s.on('data', (d) => { buf += d; });
		s.on('error', () => {});
		s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(buf)?.[1] || 0)));
		s.setTimeout(5000, () => s.destroy());
	});
}

const line = `GET /healthz HTTP/1.1\r\nHost: ${url.host}\r\n` + 'X-Slow: ' + 'a'.repeat(200) + '\r\n\r\n';
const slow = [];
for (let i = 0; i < drippers; i++) {
	const c = await open();
	if (c.refused) continue;
	slow.push(c);
	let pos = 0;
	c.timer = setInterval(() => {
		if (c.closedAt || pos >= line.length) return clearInterval(c.timer);
		c.sock.write(line[pos++]);
	}, dripMs);
}
const idle = [];
const floodStart = Date.now();
const batch = 25;
for (let i = 0; i < cap + 100; i += batch)
	idle.push(...await Promise.all(Array.from({ length: Math.min(batch, cap + 100 - i) }, open)));
const refused = idle.filter((c) => c.refused).length;
const held = idle.filter((c) => !c.refused);
console.log(`# flood: ${slow.length} slow-drip, ${held.length} idle held, ${refused} refused at the ` +
	`handshake, in ${Date.now() - floodStart} ms`);
check(refused >= 100 - drippers, `connections over the cap (${cap}) are refused at the handshake`,
	`${refused} of ${cap + 100} refused`);

// 1. a normal client gets through within RT+3 s
const t1 = Date.now();
let status = 0;
while (Date.now() - t1 < (rt + 3) * 1000 && (status = await healthz()) !== 200)
	await sleep(200);
const waited = Date.now() - t1;
check(status === 200, `a normal client gets /healthz within ${rt + 3} s of the flood`, `${waited} ms`);

// 2, 3: everything idle or dripping is closed by the server in time
await sleep((rt + 3) * 1000 - (Date.now() - t1) + 500);
const late = (cs, bound) => cs.filter((c) => !c.closedAt || c.closedAt - c.up > bound * 1000);
const idleLate = late(held, rt + 2);
const idleMax = Math.max(0, ...held.filter((c) => c.closedAt).map((c) => c.closedAt - c.up));
check(idleLate.length === 0, `idle connections closed within read_timeout_s + 2 s`,
	`${held.length - idleLate.length}/${held.length} closed; slowest ${idleMax} ms`);
const slowLate = late(slow, rt + 3);
const slowMax = Math.max(0, ...slow.filter((c) => c.closedAt).map((c) => c.closedAt - c.up));
check(slowLate.length === 0, `slow-drip connections closed within read_timeout_s + 3 s`,
	`${slow.length - slowLate.length}/${slow.length} closed; slowest ${slowMax} ms`);

// 4. back to normal
let ok = 0;
for (let i = 0; i < 50; i++) if (await healthz() === 200) ok++;
check(ok === 50, 'afterwards 50 normal requests in a row succeed', `${ok}/50`);
for (const c of [...slow, ...idle]) { clearInterval(c.timer); c.sock.destroy(); }
process.exit(failed === 0 ? 0 : 1);
