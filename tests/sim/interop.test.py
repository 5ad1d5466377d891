#!/usr/bin/python3
"""tests/sim/interop.test.py — the C protocol code (modules/twfido_proto,
mobileid_proto, wallet_proto) against the simulators: requests the C code
builds are accepted (checksums, IdentifyNo, field order), and the
simulators' answers — success, pending, too-fast polls, denial, expiry,
forged returns, wrong checksums, wrong tokens, outages — are classified by
the C code as the simulator meant them. Two independent implementations of
each protocol agreeing (Python here, C there).

Needs build/libauthd-core.a (make all); compiles tests/sim/proto_driver.c
into a temporary directory. Standalone: /usr/bin/python3 tests/sim/interop.test.py [BUILD]"""
import base64
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from html.parser import HTMLParser
from urllib.parse import urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import simlib  # noqa: E402
import simpki  # noqa: E402

T = simlib.Tap()
DRV = None


def drv(*args, stdin=None):
    r = subprocess.run([DRV] + list(args), input=stdin, capture_output=True, text=True)
    return (r.stdout or r.stderr).strip()


def build_driver(build, out):
    libs = [os.path.join(ROOT, build, "libauthd-core.a"), os.path.join(ROOT, build, "libauthd-internal.a")]
    if not all(os.path.exists(p) for p in libs):
        print("Bail out! %s missing: run make all first" % libs[0])
        sys.exit(1)
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-o", out,
           os.path.join(HERE, "proto_driver.c")] + libs + ["-ljansson", "-lssl", "-lcrypto", "-pthread"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print("Bail out! cannot build the driver: " + " ".join(shlex.quote(c) for c in cmd))
        print("# " + r.stderr.replace("\n", "\n# "))
        sys.exit(1)


class Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = {}
        self.cur = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.cur = self.forms.setdefault(a.get("id"), {"action": a.get("action"), "fields": {}})
        elif tag == "input" and self.cur is not None:
            self.cur["fields"][a.get("name")] = a.get("value", "")


def forms(body):
    p = Forms()
    p.feed(body)
    return p.forms


# ---- TW FidO

def twfido(pki, d):
    sid = "sp-city-0001"
    key = os.urandom(32)
    kh = key.hex()
    with open(d + "/twkey", "w") as f:
        f.write(base64.b64encode(key).decode())
    sim = simlib.start("twfido", "--pki", pki, "--service-id", "%s=%s" % (sid, d + "/twkey"))

    def post(method, body):
        st, _, b = simlib.http("POST", sim.url + "/moise/sp/" + method, body.encode(),
                               {"Content-Type": "application/json"})
        return st, b.decode(errors="replace")

    try:
        hashed_seen = set()
        for op, mode in (("ATH", "PUSH"), ("SIGN", "PUSH"), ("SIGN", "ISCAN")):
            tx = str(uuid.uuid4())
            out = drv("twfido-build", kh, sid, tx, "A123456789", op, mode,
                      base64.b64encode(b"nonce-" + os.urandom(6)).decode()).split("\n")
            method = out[0]
            st, b = post(method, out[1])
            p = drv("twfido-ticket", kh, sid, tx, str(st), stdin=b).split()
            T.ok(p[0] == "ok" and method == ("requestAthOrSignPush" if mode == "PUSH" else "getSpTicket"),
                 "twfido %s %s: the simulator accepts the C sp_checksum; C verifies its idp_checksum and ticket"
                 % (op, mode), (out, b))
            tid, expected = p[1], (p[2] if p[2] != "-" else "")
            poll = drv("twfido-poll", kh, sid, tx, tid)
            st, b = post("getAthOrSignResult", poll)
            T.ok(drv("twfido-result", kh, tx, expected, str(st), stdin=b).startswith("pending "),
                 "twfido %s %s: the first poll is pending" % (op, mode), b)
            st, b = post("getAthOrSignResult", poll)
            T.ok(st == 429 and drv("twfido-result", kh, tx, expected, str(st), stdin=b).startswith("slow_down"),
                 "twfido %s %s: a too-fast poll is slow_down" % (op, mode), (st, b))
            sim.ctl("approve", ticket="latest", id_num="A123456789")
            sim.ctl("advance", seconds=4.1)
            st, b = post("getAthOrSignResult", poll)
            r = drv("twfido-result", kh, tx, expected, str(st), stdin=b).split()
            T.ok(r[0] == "ok" and (op == "ATH" or r[2].startswith("MII")),
                 "twfido %s %s: approved; C verifies the result's idp_checksum%s"
                 % (op, mode, " (signed_response present)" if op == "SIGN" else ""), (b, r))
            hashed_seen.add(r[1])
            sim.ctl("advance", seconds=4.1)
        T.ok(len(hashed_seen) == 1, "twfido: hashed_id_num is stable for the person across requests", hashed_seen)

        tx = str(uuid.uuid4())
        method, body = drv("twfido-build", kh, sid, tx, "A123456789", "ATH", "PUSH", "").split("\n")[:2]
        st, b = post(method, body)
        tid = drv("twfido-ticket", kh, sid, tx, str(st), stdin=b).split()[1]
        sim.ctl("deny", ticket="latest")
        st, b = post("getAthOrSignResult", drv("twfido-poll", kh, sid, tx, tid))
        T.ok(drv("twfido-result", kh, tx, "", str(st), stdin=b).startswith("denied"),
             "twfido: the person refuses on the phone → denied", b)

        tx = str(uuid.uuid4())
        method, body = drv("twfido-build", kh, sid, tx, "A123456789", "ATH", "PUSH", "").split("\n")[:2]
        st, b = post(method, body)
        tid = drv("twfido-ticket", kh, sid, tx, str(st), stdin=b).split()[1]
        sim.ctl("expire", ticket="latest")
        st, b = post("getAthOrSignResult", drv("twfido-poll", kh, sid, tx, tid))
        T.ok(drv("twfido-result", kh, tx, "", str(st), stdin=b).startswith("expired"),
             "twfido: the ticket's time passes → expired", b)

        for mode in ("wrong_key", "wrong_fields", "missing"):
            sim.ctl("checksum", mode=mode)
            tx = str(uuid.uuid4())
            method, body = drv("twfido-build", kh, sid, tx, "A123456789", "ATH", "PUSH", "").split("\n")[:2]
            st, b = post(method, body)
            T.ok(drv("twfido-ticket", kh, sid, tx, str(st), stdin=b).startswith("bad_checksum"),
                 "twfido: an answer with a %s idp_checksum is rejected (bad_checksum)" % mode, b)
        sim.ctl("checksum", mode="ok")

        tx = str(uuid.uuid4())
        method, body = drv("twfido-build", "00" * 32, sid, tx, "A123456789", "ATH", "PUSH", "").split("\n")[:2]
        st, b = post(method, body)
        T.ok("INV_SP_CHECKSUM" in b and not drv("twfido-ticket", kh, sid, tx, str(st), stdin=b).startswith("ok"),
             "twfido: a request under the wrong key is refused, and C does not take the refusal for a ticket", b)

        sim.ctl("fault", mode="http500")
        st, b = post(method, body)
        T.ok(drv("twfido-ticket", kh, sid, tx, str(st), stdin=b).startswith("unavailable"),
             "twfido: an outage (HTTP 500) is unavailable", (st, b))
        sim.ctl("fault", mode="garbage")
        st, b = post(method, body)
        T.ok(drv("twfido-ticket", kh, sid, tx, str(st), stdin=b).startswith("malformed"),
             "twfido: a non-protocol answer is malformed", (st, b))
        sim.ctl("fault", mode="none")
    finally:
        sim.stop()


# ---- Mobile ID

def mobileid(d):
    biz = "42712608"
    hk = "k-" + os.urandom(8).hex()
    ret = "https://sso.city.example/login/return/mobileid"
    rp = "sess=臺北-α"
    with open(d + "/hk", "w") as f:
        f.write(hk)
    sim = simlib.start("mobileid", "--business", "%s:1=%s" % (biz, d + "/hk"))

    def post(path, body):
        st, _, b = simlib.http("POST", sim.url + path, body,
                               {"Content-Type": "application/x-www-form-urlencoded"})
        return st, b.decode(errors="replace")

    def login():
        vn = time.strftime("%Y%m%d") + os.urandom(16).hex()
        st, b = post("/IDPortal/Login", drv("mid-login", biz, hk, vn, ret, rp, "A123456789"))
        a = drv("mid-answer", biz, hk, vn, "A123456789", str(st), stdin=b).split()
        return vn, a, b

    try:
        vn, a, b = login()
        T.ok(a[0] == "ok" and a[3] == "A123456789",
             "mobileid: Login with the C IdentifyNo (UTF-16LE, CJK ReturnParams) is accepted; C verifies the answer",
             (a, b))
        token = a[4]
        sim.ctl("approve")
        st, b = post("/IDPortal/Do", drv("mid-do", biz, hk, vn, token))
        f = forms(b).get("ret", {}).get("fields", {})
        r = drv("mid-return", biz, hk, vn, rp, stdin=urlencode(f)).split()
        T.ok(st == 200 and r[0] == "ok" and r[4] == token,
             "mobileid: the TWCA page takes the C form; C verifies the return POST", (st, f, r))
        T.ok(drv("mid-return", biz, hk, vn, "sess=other", stdin=urlencode(f)).startswith("mismatch"),
             "mobileid: a valid return for another browser's state (ReturnParams) is a mismatch")
        st, b = post("/IDPortal/ServerSideVerifyResult", drv("mid-confirm", biz, hk, vn, "A123456789", token))
        r = drv("mid-answer", biz, hk, vn, "A123456789", str(st), stdin=b).split()
        T.ok(r[0] == "ok", "mobileid: the server-to-server confirmation built by C is answered S/0 and verified", b)
        r = drv("mid-answer", biz, hk, vn, "B287654326", str(st), stdin=b).split()
        T.ok(r[0] == "mismatch", "mobileid: the same confirmation checked for another member is a mismatch", r)

        for kind in ("bad_identify", "altered_member"):
            fg = sim.ctl("forge", kind=kind)["fields"]
            r = drv("mid-return", biz, hk, fg["VerifyNo"], fg["ReturnParams"], stdin=urlencode(fg))
            T.ok(r.startswith("bad_identify"), "mobileid: a forged return (%s) is bad_identify" % kind, r)

        vn, a, _ = login()
        sim.ctl("deny", reason="rocid")
        st, b = post("/IDPortal/Do", drv("mid-do", biz, hk, vn, a[4]))
        f = forms(b).get("ret", {}).get("fields", {})
        T.ok(drv("mid-return", biz, hk, vn, rp, stdin=urlencode(f)).startswith("denied"),
             "mobileid: the carrier says the number is not the member's → denied", f)

        vn, a, _ = login()
        sim.ctl("advance", seconds=301)
        st, b = post("/IDPortal/Do", drv("mid-do", biz, hk, vn, a[4]))
        f = forms(b).get("ret", {}).get("fields", {})
        T.ok(drv("mid-return", biz, hk, vn, rp, stdin=urlencode(f)).startswith("failed"),
             "mobileid: expiry comes back as a failure", f)

        sim.ctl("identify", mode="wrong_key")
        vn, a, b = login()
        T.ok(a[0] == "bad_identify", "mobileid: an answer whose IdentifyNo is under another key is bad_identify", b)
        sim.ctl("identify", mode="ok")
        sim.ctl("fault", mode="http500")
        vn, a, b = login()
        T.ok(a[0] == "unavailable", "mobileid: an outage (HTTP 500) is unavailable", a)
        sim.ctl("fault", mode="none")
    finally:
        sim.stop()


# ---- wallet

def wallet(d):
    token = "tok-" + os.urandom(8).hex()
    ref = "00000000_city_login"
    with open(d + "/token", "w") as f:
        f.write(token)
    sim = simlib.start("wallet", "--access-token-file", d + "/token", "--ref", ref)

    def call(method, path, body=None, tok=token):
        h = {"Access-Token": tok}
        if body:
            h["Content-Type"] = "application/json"
        st, _, b = simlib.http(method, sim.url + path, body.encode() if body else None, h)
        return st, b.decode(errors="replace")

    def qrcode():
        tx = str(uuid.uuid4())
        st, b = call("GET", drv("wallet-path", ref, tx))
        return tx, drv("wallet-qrcode", tx, str(st), stdin=b)

    def result(tx, tok=token):
        st, b = call("POST", "/api/oidvp/result", drv("wallet-body", tx), tok)
        return drv("wallet-result", tx, str(st), stdin=b)

    try:
        tx, q = qrcode()
        T.ok(q.startswith("ok modadigitalwallet://"), "wallet: the C path gets a QR; C accepts it", q)
        T.ok(result(tx).startswith("pending 4002"), "wallet: nothing presented yet → pending")
        sim.ctl("present")
        r = result(tx)
        T.ok(r.startswith("ok 0 ") and "name=王小明" in r, "wallet: presented → ok with the claims", r)
        T.ok(result(tx, "wrong").startswith("rejected"), "wallet: a wrong Access-Token → rejected")
        tx, _ = qrcode()
        sim.ctl("fail", code="2004", description="vp validate fail")
        T.ok(result(tx).startswith("failed 2004"), "wallet: a presentation that did not verify → failed")
        tx, _ = qrcode()
        sim.ctl("expire")
        T.ok(result(tx).startswith("expired"), "wallet: the session ended → expired")
        sim.ctl("fault", mode="http500")
        T.ok(result(tx).startswith("unavailable"), "wallet: an outage (HTTP 500) → unavailable")
        sim.ctl("fault", mode="garbage")
        T.ok(result(tx).startswith("malformed"), "wallet: a non-protocol answer → malformed")
        sim.ctl("fault", mode="none")
    finally:
        sim.stop()


def main():
    global DRV
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    d = tempfile.mkdtemp(prefix="authd-sim-interop-")
    try:
        DRV = d + "/proto_driver"
        build_driver(build, DRV)
        pki = simpki.ensure_pki()
        twfido(pki, d)
        mobileid(d)
        wallet(d)
    finally:
        shutil.rmtree(d)
    T.done()


if __name__ == "__main__":
    main()
