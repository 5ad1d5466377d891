"""tests/sim/simlib.py — what every simulator of an external service shares.

A simulator is one process with two loopback listeners:
  - the *service* port speaks the real protocol (optionally over TLS);
  - the *control* port (plain HTTP, POST /control with a JSON body
    {"op": ..., ...}) lets a test play the person and inject faults.
Two ports, so that an outage of the service ("connection refused") can be
staged while the test still reaches the control interface.

Start-up: the process prints one JSON line on stdout
  {"name":..., "pid":..., "service_port":..., "control_port":..., "service_url":..., "control_url":...}
and, with --ready-file F, writes the same JSON to F (atomically) — shell tests
wait for the file, Python tests read the line. SIGTERM or {"op":"shutdown"}
stops it.

Faults every simulator supports ({"op":"fault", "mode": M}):
  none     normal service
  refuse   the service listener is closed: connection refused
  http500  every request answered 500 with a plain-text body
  hang     requests are read and never answered (until the fault is cleared,
           then the connection is closed without a reply)
  garbage  200 with a body that is not the protocol's format
Common ops: ping, requests (the recorded requests, newest last), clear,
advance {"seconds": N} (moves the simulator's clock forward: expiry without
waiting), fault, shutdown.

Only the Python standard library and Debian's python3-cryptography are used.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 1 << 20


class Reply:
    """One HTTP answer of the service."""

    def __init__(self, status=200, body=b"", ctype="application/json;charset=UTF-8", headers=None):
        self.status = status
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.body = body
        self.ctype = ctype
        self.headers = headers or {}


def json_reply(obj, status=200, headers=None):
    return Reply(status, obj, headers=headers)


class Request:
    def __init__(self, method, path, query, headers, body, client):
        self.method = method
        self.path = path
        self.query = query          # dict name -> first value
        self.headers = headers      # email.message.Message (case-insensitive)
        self.body = body            # bytes
        self.client = client

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def form(self):
        """application/x-www-form-urlencoded body: name -> first value."""
        q = parse_qs(self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        return {k: v[0] for k, v in q.items()}


class SimError(Exception):
    pass


class Simulator:
    """Subclasses set NAME, implement handle(req) -> Reply and control_<op>(args)."""

    NAME = "sim"

    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.fault = "none"
        self.fault_changed = threading.Condition(self.lock)
        self.log = []
        self.service = None
        self.service_port = args.port
        self.control = None
        self.stopping = threading.Event()
        self.ssl_ctx = None
        if args.tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
            self.ssl_ctx = ctx

    # ---- time: the simulator's clock can be moved forward by a test
    def now(self):
        return time.time() + self.clock_offset

    # ---- hooks for subclasses
    def handle(self, req):
        raise NotImplementedError

    def garbage(self, req):
        return Reply(200, "<html><body>Service Unavailable</body></html>", "text/html")

    @staticmethod
    def add_arguments(p):
        pass

    # ---- recorded requests (for tests to assert what was sent)
    def record(self, req, reply):
        entry = {"t": self.now(), "method": req.method, "path": req.path,
                 "query": req.query, "status": reply.status if reply else None}
        try:
            entry["body"] = req.body.decode("utf-8")
        except UnicodeDecodeError:
            entry["body"] = req.body.hex()
        for h in ("Access-Token", "Origin", "Referer", "Content-Type"):
            if req.headers.get(h) is not None:
                entry.setdefault("headers", {})[h] = req.headers.get(h)
        with self.lock:
            self.log.append(entry)
            del self.log[:-500]

    # ---- control interface
    def dispatch_control(self, args):
        op = args.get("op")
        if not isinstance(op, str) or not op.replace("_", "").isalnum():
            raise SimError("missing or bad op")
        fn = getattr(self, "control_" + op, None)
        if fn is None:
            raise SimError("unknown op %r" % op)
        with self.lock:
            return fn(args)

    def control_ping(self, a):
        return {"ok": True, "name": self.NAME, "now": self.now(), "fault": self.fault}

    def control_requests(self, a):
        return {"requests": list(self.log)}

    def control_clear(self, a):
        self.log.clear()
        return {"ok": True}

    def control_advance(self, a):
        self.clock_offset += float(a.get("seconds", 0))
        return {"ok": True, "now": self.now()}

    def control_fault(self, a):
        mode = a.get("mode", "none")
        if mode not in ("none", "refuse", "http500", "hang", "garbage"):
            raise SimError("unknown fault mode %r" % mode)
        old = self.fault
        self.fault = mode
        self.fault_changed.notify_all()
        if mode == "refuse" and old != "refuse":
            self._stop_service()
        elif old == "refuse" and mode != "refuse":
            self._start_service()
        return {"ok": True, "fault": mode}

    def control_shutdown(self, a):
        threading.Thread(target=self.stop, daemon=True).start()
        return {"ok": True}

    # ---- listeners
    def _make_handler(self, is_control):
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = sim.NAME
            sys_version = ""

            def log_message(self, fmt, *a):
                if sim.args.verbose:
                    sys.stderr.write("%s %s\n" % (sim.NAME, fmt % a))

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n < 0 or n > MAX_BODY:
                    raise SimError("body too large")
                return self.rfile.read(n) if n else b""

            def _send(self, reply):
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.ctype)
                self.send_header("Content-Length", str(len(reply.body)))
                self.send_header("Cache-Control", "no-store")
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            def _serve(self):
                try:
                    body = self._body()
                except (SimError, ValueError):
                    self.close_connection = True
                    return self._send(Reply(413, "too large", "text/plain"))
                u = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
                req = Request(self.command, u.path, query, self.headers, body, self.client_address)
                if is_control:
                    return self._control(req)
                f = sim.fault
                if f == "hang":
                    sim.record(req, None)
                    with sim.lock:
                        while sim.fault == "hang" and not sim.stopping.is_set():
                            sim.fault_changed.wait(0.5)
                    self.close_connection = True
                    return
                if f == "http500":
                    reply = Reply(500, "Internal Server Error", "text/plain")
                elif f == "garbage":
                    reply = sim.garbage(req)
                else:
                    try:
                        reply = sim.handle(req)
                    except Exception as e:  # a simulator bug must show, not hang
                        import traceback
                        traceback.print_exc()
                        reply = Reply(500, "simulator error: %s" % e, "text/plain")
                sim.record(req, reply)
                self._send(reply)

            def _control(self, req):
                if req.method != "POST" or req.path != "/control":
                    return self._send(Reply(404, {"error": "POST /control"}))
                try:
                    args = req.json()
                    if not isinstance(args, dict):
                        raise SimError("body must be a JSON object")
                    out = sim.dispatch_control(args)
                    return self._send(Reply(200, out))
                except (SimError, ValueError, KeyError, TypeError) as e:
                    return self._send(Reply(400, {"error": str(e)}))

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _serve

        return Handler

    def _start_service(self):
        srv = ThreadingHTTPServer(("127.0.0.1", self.service_port), self._make_handler(False))
        srv.daemon_threads = True
        if self.ssl_ctx is not None:
            srv.socket = self.ssl_ctx.wrap_socket(srv.socket, server_side=True)
        self.service_port = srv.server_address[1]
        self.service = srv
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def _stop_service(self):
        srv, self.service = self.service, None
        if srv is not None:
            srv.shutdown()
            srv.server_close()

    def service_url(self):
        scheme = "https" if self.ssl_ctx is not None else "http"
        host = self.args.host_name or "127.0.0.1"
        return "%s://%s:%d" % (scheme, host, self.service_port)

    def run(self):
        self._start_service()
        ctl = ThreadingHTTPServer(("127.0.0.1", self.args.control_port), self._make_handler(True))
        ctl.daemon_threads = True
        self.control = ctl
        threading.Thread(target=ctl.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        info = {"name": self.NAME, "pid": os.getpid(), "service_port": self.service_port,
                "control_port": ctl.server_address[1], "service_url": self.service_url(),
                "control_url": "http://127.0.0.1:%d/control" % ctl.server_address[1]}
        line = json.dumps(info)
        if self.args.ready_file:
            tmp = self.args.ready_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(line + "\n")
            os.rename(tmp, self.args.ready_file)
        print(line, flush=True)
        signal.signal(signal.SIGTERM, lambda *a: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *a: self.stopping.set())
        while not self.stopping.wait(0.2):
            pass
        self.stop()

    def stop(self):
        self.stopping.set()
        with self.lock:
            self.fault_changed.notify_all()
        self._stop_service()
        if self.control is not None:
            self.control.shutdown()
            self.control.server_close()
            self.control = None


def main(cls):
    p = argparse.ArgumentParser(description=cls.__doc__)
    p.add_argument("--port", type=int, default=0, help="service port (0: a free one)")
    p.add_argument("--control-port", type=int, default=0)
    p.add_argument("--ready-file")
    p.add_argument("--tls-cert", help="serve the service over TLS with this PEM chain")
    p.add_argument("--tls-key")
    p.add_argument("--host-name", help="host name used in URLs the simulator hands out")
    p.add_argument("--verbose", action="store_true")
    cls.add_arguments(p)
    args = p.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    cls(args).run()


# ---------------------------------------------------------------------------
# Helpers for tests (and shell scripts via simctl.py): start a simulator
# process, talk to its control port, stop it.

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"   # Debian's, for Debian's python3-cryptography


class Running:
    def __init__(self, proc, info):
        self.proc = proc
        self.info = info
        self.url = info["service_url"]
        self.control_url = info["control_url"]

    def ctl(self, op, **kw):
        return control(self.control_url, op, **kw)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except Exception:
                self.proc.kill()
                self.proc.wait()


def start(name, *args, timeout=10):
    import subprocess
    proc = subprocess.Popen([PYTHON, os.path.join(HERE, name + ".py")] + list(args),
                            stdout=subprocess.PIPE, text=True)
    deadline = time.time() + timeout
    line = ""
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line:
            break
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (name, proc.returncode))
    if not line:
        proc.kill()
        raise RuntimeError("%s did not start" % name)
    return Running(proc, json.loads(line))


def control(url, op, **kw):
    import urllib.request
    import urllib.error
    kw["op"] = op
    req = urllib.request.Request(url, data=json.dumps(kw).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise SimError("%s: %s" % (op, e.read().decode(errors="replace")))


class Tap:
    """Minimal TAP output for the simulator tests."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, why=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc), flush=True)
        if not cond:
            self.failed += 1
            if why is not None:
                for ln in str(why).splitlines()[:20]:
                    print("# " + ln)
        return cond

    def done(self):
        print("1..%d" % self.n)
        print("# %s: %d passed, %d failed" % (os.path.basename(sys.argv[0]), self.n - self.failed, self.failed))
        sys.exit(1 if self.failed else 0)


def http(method, url, body=None, headers=None, timeout=10, context=None):
    """(status, headers, body bytes); never raises on an HTTP status."""
    import urllib.request
    import urllib.error
    data = body
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        headers = dict(headers or {}, **{"Content-Type": "application/json"})
    elif isinstance(body, str):
        data = body.encode()
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
