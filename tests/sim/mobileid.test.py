#!/usr/bin/python3
"""tests/sim/mobileid.test.py — the Mobile ID (TWCA) simulator: IdentifyNo
over UTF-16LE checked on every request and produced on every answer, the
Login → browser page → return POST → server-to-server confirmation flow,
denial, expiry, forged and replayed returns, the server-side carrier check,
outages. Standalone: /usr/bin/python3 tests/sim/mobileid.test.py"""
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from html.parser import HTMLParser
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402

T = simlib.Tap()
BIZ = "42712608"
KNO = "1"
HKEY = "k-" + os.urandom(10).hex()
RET = "https://sso.city.example/login/return/mobileid"


def idn(fields, key=HKEY, enc="utf-16-le"):
    return hashlib.sha256(("".join(fields) + key).encode(enc)).hexdigest()


class Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"id": a.get("id"), "action": a.get("action"), "fields": {}})
        elif tag == "input" and self.forms:
            self.forms[-1]["fields"][a.get("name")] = a.get("value", "")


def forms(body):
    p = Form()
    p.feed(body.decode())
    return {f["id"]: f for f in p.forms}


def post(sim, path, fields, timeout=10):
    st, _, b = simlib.http("POST", sim.url + path, urlencode(fields),
                           {"Content-Type": "application/x-www-form-urlencoded"}, timeout=timeout)
    try:
        return st, json.loads(b)
    except ValueError:
        return st, b


def answer_ok(r):
    return r.get("IdentifyNo") == idn([r["BusinessNo"], r["ApiVersion"], r["HashKeyNo"], r["VerifyNo"],
                                       r["ResultCode"], r["ReturnCode"], r["OutputParams"]])


def login(sim, member="A123456789", rp="sess=臺北-α", key=HKEY, enc="utf-16-le", verify_no=None):
    vn = verify_no or time.strftime("%Y%m%d") + os.urandom(16).hex()
    inp = json.dumps({"MemberNo": member, "Action": "Login"}, separators=(",", ":"))
    f = {"BusinessNo": BIZ, "ApiVersion": "1.0", "HashKeyNo": KNO, "VerifyNo": vn, "ReturnURL": RET,
         "ReturnParams": rp, "InputParams": inp}
    f["IdentifyNo"] = idn([BIZ, "1.0", KNO, vn, rp, inp], key, enc)
    st, r = post(sim, "/IDPortal/Login", f)
    return vn, st, r


def do(sim, vn, token, key=HKEY):
    f = {"BusinessNo": BIZ, "ApiVersion": "1.0", "HashKeyNo": KNO, "VerifyNo": vn, "Token": token}
    f["IdentifyNo"] = idn([BIZ, "1.0", KNO, vn, token], key)
    return post(sim, "/IDPortal/Do", f)


def confirm(sim, vn, member, token):
    f = {"BusinessNo": BIZ, "ApiVersion": "1.0", "HashKeyNo": KNO, "VerifyNo": vn, "MemberNo": member,
         "Token": token}
    f["IdentifyNo"] = idn([BIZ, "1.0", KNO, vn, member, token])
    return post(sim, "/IDPortal/ServerSideVerifyResult", f)


def return_ok(f):
    return f.get("IdentifyNo") == idn([f["BusinessNo"], f["ApiVersion"], f["HashKeyNo"], f["VerifyNo"],
                                       f["ResultCode"], f["ReturnCode"], f["ReturnParams"], f["OutputParams"]])


def main():
    d = tempfile.mkdtemp(prefix="authd-sim-mid-")
    try:
        with open(d + "/hk", "w") as f:
            f.write(HKEY)
        sim = simlib.start("mobileid", "--business", "%s:%s=%s" % (BIZ, KNO, d + "/hk"))
        try:
            run(sim)
        finally:
            sim.stop()
    finally:
        shutil.rmtree(d)
    T.done()


def run(sim):
    vn, st, r = login(sim, key="wrong")
    T.ok(st == 200 and r.get("ResultCode") == "F" and r.get("ReturnCode") == "2031002",
         "Login with an IdentifyNo under another HashKey is refused", r)
    T.ok(answer_ok(r), "even a refusal carries a correct IdentifyNo")
    vn, st, r = login(sim, enc="utf-8")
    T.ok(r.get("ReturnCode") == "2031002",
         "an IdentifyNo over UTF-8 instead of UTF-16LE is refused (ReturnParams has CJK and Greek)", r)

    vn, st, r = login(sim)
    T.ok(r.get("ResultCode") == "S" and r.get("ReturnCode") == "0" and r.get("VerifyNo") == vn,
         "Login: ResultCode S, ReturnCode 0, our VerifyNo", r)
    T.ok(answer_ok(r), "Login's answer IdentifyNo verifies (UTF-16LE, fixed order, + HashKey)")
    out = json.loads(r.get("OutputParams") or "{}")
    token = out.get("Token", "")
    T.ok(out.get("MemberNo") == "A123456789" and token.startswith("srv"), "OutputParams has MemberNo and Token", out)
    _, st, r = login(sim, verify_no=vn)
    T.ok(r.get("ReturnCode") == "2031006", "a reused VerifyNo is refused", r)

    st, b = do(sim, vn, token, key="wrong")
    T.ok(st == 400 and b"2031002" in b, "the TWCA page refuses a form with a bad IdentifyNo")
    st, b = do(sim, vn, token + "x")
    T.ok(st == 400 and b"2031000" in b, "the TWCA page refuses a token of another transaction")
    st, b = do(sim, vn, token)
    fs = forms(b)
    T.ok(st == 200 and "again" in fs and fs["again"]["action"] == "/IDPortal/Do" and b"pending" in b,
         "while the person is not done, the page re-posts itself")
    st, r = confirm(sim, vn, "A123456789", token)
    T.ok(r.get("ReturnCode") == "2031007" and answer_ok(r), "confirmation before the person is done: not finished", r)

    sim.ctl("approve")
    st, b = do(sim, vn, token)
    fs = forms(b)
    ret = fs.get("ret", {})
    f = ret.get("fields", {})
    T.ok(ret.get("action") == RET and f.get("ResultCode") == "S" and f.get("ReturnCode") == "0",
         "approved: the page form-POSTs a success to ReturnURL", ret)
    T.ok(return_ok(f), "the return POST's IdentifyNo verifies (…+ReturnParams+OutputParams + HashKey)")
    T.ok(f.get("ReturnParams") == "sess=臺北-α", "ReturnParams comes back unchanged", f.get("ReturnParams"))
    op = json.loads(f.get("OutputParams") or "{}")
    mid = json.loads(op.get("MIDOutputParams", {}).get("MIDResp", "{}"))
    T.ok(op.get("MemberNo") == "A123456789" and op.get("Token") == token and mid.get("msisdn") == "0912345678"
         and op["MIDOutputParams"].get("VerifyCode") == "0000", "OutputParams names the member, token and number", op)

    st, r = confirm(sim, vn, "A123456789", token + "x")
    T.ok(r.get("ReturnCode") == "2031000" and answer_ok(r),
         "server-to-server confirmation with another Token: 2031000 (records do not match)", r)
    st, r = confirm(sim, vn, "B287654326", token)
    T.ok(r.get("ReturnCode") == "2031000", "confirmation naming another member: 2031000", r)
    st, r = confirm(sim, vn, "A123456789", token)
    T.ok(r.get("ResultCode") == "S" and r.get("ReturnCode") == "0" and answer_ok(r) and
         json.loads(r["OutputParams"]).get("MemberNo") == "A123456789",
         "server-to-server confirmation: S / 0, same OutputParams member", r)

    # forged and replayed returns
    fg = sim.ctl("forge", kind="replay")
    T.ok(return_ok(fg["fields"]) and fg["fields"]["VerifyNo"] == vn,
         "a replayed return is byte-identical and verifies: only the caller's one-time state can stop it")
    vn2, _, r2 = login(sim)
    tok2 = json.loads(r2["OutputParams"])["Token"]
    for kind in ("bad_identify", "altered_member"):
        fg = sim.ctl("forge", kind=kind)
        T.ok(fg["fields"]["ResultCode"] == "S" and not return_ok(fg["fields"]),
             "forged return (%s): claims success but its IdentifyNo does not verify" % kind)
    st, r = confirm(sim, vn2, "A123456789", tok2)
    T.ok(r.get("ReturnCode") == "2031007", "and the confirmation API says the forged transaction is not done", r)

    # denial and expiry
    sim.ctl("deny", reason="rocid")
    st, b = do(sim, vn2, tok2)
    f = forms(b).get("ret", {}).get("fields", {})
    T.ok(f.get("ResultCode") == "F" and f.get("ReturnCode") == "3645011" and return_ok(f),
         "denied by the carrier (number not the member's): F 3645011", f)
    vn3, _, r3 = login(sim)
    tok3 = json.loads(r3["OutputParams"])["Token"]
    sim.ctl("advance", seconds=301)
    st, b = do(sim, vn3, tok3)
    f = forms(b).get("ret", {}).get("fields", {})
    T.ok(f.get("ReturnCode") == "2031004" and f.get("OutputParams") == "" and return_ok(f),
         "after the token lifetime the page returns a timeout", f)
    vn4, _, r4 = login(sim)
    sim.ctl("deny", reason="cancel")
    st, r = confirm(sim, vn4, "A123456789", json.loads(r4["OutputParams"])["Token"])
    T.ok(r.get("ReturnCode") == "2031005", "the person cancels: the confirmation says so", r)

    # server-side carrier check (no browser)
    for msisdn, code in (("0912345678", "0"), ("0987654321", "3645011"), ("12345", "3645002")):
        vnx = time.strftime("%Y%m%d") + os.urandom(16).hex()
        inp = json.dumps({"MemberNo": "A123456789", "Action": "ValidateMSISDNAdvance",
                          "MIDInputParams": {"Msisdn": msisdn, "Birthday": None, "ClauseVer": "1121215",
                                             "ClauseTime": "2026-01-01T00:00:00+08:00"}})
        ff = {"BusinessNo": BIZ, "ApiVersion": "1.0", "HashKeyNo": KNO, "VerifyNo": vnx, "InputParams": inp}
        ff["IdentifyNo"] = idn([BIZ, "1.0", KNO, vnx, inp])
        st, r = post(sim, "/IDPortal/ServerSideTransaction", ff)
        T.ok(r.get("ReturnCode") == code and answer_ok(r), "ServerSideTransaction %s → %s" % (msisdn, code), r)

    # our IdentifyNo faults
    sim.ctl("identify", mode="wrong_key")
    _, _, r = login(sim)
    T.ok(r.get("ResultCode") == "S" and not answer_ok(r), "identify fault wrong_key: the answer does not verify")
    sim.ctl("identify", mode="missing")
    _, _, r = login(sim)
    T.ok("IdentifyNo" not in r, "identify fault missing: no IdentifyNo at all")
    sim.ctl("identify", mode="ok")

    # outages
    sim.ctl("fault", mode="refuse")
    try:
        socket.create_connection(("127.0.0.1", sim.info["service_port"]), 2).close()
        T.ok(False, "outage refuse")
    except OSError:
        T.ok(True, "outage refuse: connection refused")
    sim.ctl("fault", mode="hang")
    t0 = time.time()
    try:
        post(sim, "/IDPortal/Login", {}, timeout=1)
        T.ok(False, "outage hang")
    except (socket.timeout, TimeoutError, OSError):
        T.ok(time.time() - t0 < 3, "outage hang: no answer")
    sim.ctl("fault", mode="http500")
    st, _ = post(sim, "/IDPortal/Login", {})
    T.ok(st == 500, "outage http500", st)
    sim.ctl("fault", mode="none")
    _, st, r = login(sim)
    T.ok(r.get("ResultCode") == "S", "service back after the outage", r)


if __name__ == "__main__":
    main()
