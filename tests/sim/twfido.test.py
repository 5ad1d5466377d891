#!/usr/bin/python3
"""tests/sim/twfido.test.py — the TW FidO simulator speaks the protocol:
checksums in both directions (random and zero IV), tickets, pending codes and
the poll interval, approval with a PKCS#7 / PKCS#1 signature by a test-PKI
card, denial, expiry, replay of a redeemed ticket, input refusals, the
idp_checksum faults and the outages. Standalone: /usr/bin/python3 tests/sim/twfido.test.py"""
import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402
import simpki  # noqa: E402
from twfido import checksum, checksum_ok  # noqa: E402

T = simlib.Tap()
SID = "sp-city-0001"
KEY = os.urandom(32)
ME = "A123456789"


def post(sim, method, body, timeout=10):
    st, _, b = simlib.http("POST", sim.url + "/moise/sp/" + method, body, timeout=timeout)
    try:
        return st, json.loads(b)
    except ValueError:
        return st, b


def push(sim, id_num=ME, op_code="SIGN", sign_data=None, iv=None, key=KEY, tl=60, **extra):
    txid = str(uuid.uuid4())
    sign_data = sign_data if sign_data is not None else base64.b64encode(b"nonce-" + os.urandom(8)).decode()
    body = {"transaction_id": txid, "sp_service_id": SID, "id_num": id_num, "op_code": op_code,
            "hint": "臺北市政府登入", "time_limit": tl}
    if op_code == "SIGN":
        body["sign_info"] = {"sign_type": extra.pop("sign_type", "PKCS#7"), "sign_data": sign_data,
                             "tbs_encoding": "base64", "hash_algorithm": "SHA256"}
    body.update(extra)
    dev = body.get("device_user_def_desc", "")
    body["sp_checksum"] = checksum(key, [txid, SID, id_num, dev, op_code, body["hint"],
                                         sign_data if op_code == "SIGN" else ""], iv)
    st, r = post(sim, "requestAthOrSignPush", body)
    return txid, st, r, sign_data


def decode_ticket(t):
    seg, _, dig = t.partition(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    payload = json.loads(base64.urlsafe_b64decode(pad(seg)))
    ok = base64.urlsafe_b64encode(hashlib.sha256(seg.encode()).digest()).rstrip(b"=").decode() == dig
    return payload, ok


def poll(sim, txid, tid, key=KEY):
    body = {"transaction_id": txid, "sp_service_id": SID, "sp_ticket_id": tid,
            "sp_checksum": checksum(key, [txid, SID, tid])}
    return post(sim, "getAthOrSignResult", body)


def main():
    pki = simpki.ensure_pki()
    d = tempfile.mkdtemp(prefix="authd-sim-twfido-")
    kf = os.path.join(d, "key")
    with open(kf, "w") as f:
        f.write(base64.b64encode(KEY).decode())
    sim = simlib.start("twfido", "--pki", pki, "--service-id", "%s=%s" % (SID, kf))
    try:
        run(sim, pki)
    finally:
        sim.stop()
        subprocess.run(["rm", "-rf", d])
    T.done()


def run(sim, pki):
    # -- refusals before any state
    txid, st, r, _ = push(sim, key=os.urandom(32))
    T.ok(st == 200 and r.get("error_code") == "SP-API-ATH-03-INV_SP_CHECKSUM",
         "a push whose sp_checksum is under another key is refused (INV_SP_CHECKSUM)", r)
    body = {"transaction_id": "x", "sp_service_id": "nobody", "sp_checksum": "00", "id_num": ME,
            "op_code": "ATH", "hint": ""}
    st, r = post(sim, "requestAthOrSignPush", body)
    T.ok(r.get("error_code") == "SP-API-ATH-03-SPSVCID_NF", "an unknown sp_service_id is refused", r)
    _, _, r, _ = push(sim, id_num="A123456788")
    T.ok(r.get("error_code") == "SP-API-ATH-03-PM_IDN_FT_ERR", "a national ID with a bad check digit is refused", r)
    _, _, r, _ = push(sim, id_num="F126574887")
    T.ok(r.get("error_code") == "SP-API-ATH-03-IDNUM_USERPROF_NF",
         "a valid ID of someone without the app is refused (IDNUM_USERPROF_NF)", r)
    for tl, code in ((29, "SPTKT_TIME_ORV"), (601, "SPTKT_TIME_ORV"), ("soon", "SPTKT_TIME_FT_ERR")):
        _, _, r, _ = push(sim, tl=tl)
        T.ok(r.get("error_code") == "SP-API-ATH-03-" + code, "time_limit %r is refused (%s)" % (tl, code), r)
    _, _, r, _ = push(sim, sign_data="A" * 1025)
    T.ok(r.get("error_code") == "SP-API-ATH-03-SIGNDATA_LEN_LIMIT", "sign_data over 1024 characters is refused", r)

    # -- a push with a zero IV (the spec's .NET sample) is accepted; the answer's
    # idp_checksum verifies over transaction_id + error_code + sp_ticket
    txid, st, r, tbs = push(sim, iv=bytes(12))
    res = r.get("result") or {}
    T.ok(r.get("error_code") == "0" and "sp_ticket" in res, "a push with a zero-IV sp_checksum is accepted", r)
    T.ok(checksum_ok(KEY, [txid, "0", res.get("sp_ticket", "")], res.get("idp_checksum", "")),
         "the answer's idp_checksum verifies over transaction_id+error_code+sp_ticket")
    T.ok(bytes.fromhex(res.get("idp_checksum", "00" * 12))[:12] != bytes(12),
         "the simulator's own idp_checksum uses a random IV (a verifier must read the IV)")
    payload, dig_ok = decode_ticket(res.get("sp_ticket", "."))
    T.ok(dig_ok and payload.get("transaction_id") == txid and payload.get("sp_service_id") == SID,
         "the sp_ticket is BASE64URL(payload).BASE64URL(SHA-256(first segment)) naming our transaction", payload)
    tid = payload.get("sp_ticket_id")
    hashed = payload.get("hashed_id_num")
    T.ok(isinstance(hashed, str) and len(hashed) == 64 and ME not in json.dumps(payload),
         "the ticket carries hashed_id_num, never the ID itself", payload)

    _, r = post(sim, "requestAthOrSignPush", {"transaction_id": txid, "sp_service_id": SID,
                                              "sp_checksum": checksum(KEY, [txid, SID, ME, "", "ATH", "", ""]),
                                              "id_num": ME, "op_code": "ATH", "hint": ""})
    T.ok(r.get("error_code") == "SP-API-ATH-03-TXNLOG_INS_ERR", "a reused transaction_id is refused", r)

    # -- polling: pending codes and the minimum interval
    st, r = poll(sim, txid, tid, key=os.urandom(32))
    T.ok(r.get("error_code") == "SP-API-ATH-02-INV_SP_CHECKSUM", "a poll with a bad sp_checksum is refused", r)
    st, r = poll(sim, txid, tid)
    T.ok(st == 200 and r.get("error_code") == "20002", "first poll: pending 20002 (sent, not opened)", r)
    st, r = poll(sim, txid, tid)
    T.ok(st == 429, "a poll sooner than the minimum interval gets 429 Too Many Requests", (st, r))
    sim.ctl("open")
    sim.ctl("advance", seconds=4.1)
    st, r = poll(sim, txid, tid)
    T.ok(r.get("error_code") == "20003", "after the person opens the app: pending 20003", r)
    sim.ctl("approve")
    sim.ctl("advance", seconds=4.1)
    st, r = poll(sim, txid, tid)
    res = r.get("result") or {}
    T.ok(r.get("error_code") == "0" and res.get("hashed_id_num") == hashed,
         "approved: error_code 0 with the same hashed_id_num as the ticket", r)
    T.ok(checksum_ok(KEY, [txid, "0", res.get("hashed_id_num", ""), res.get("signed_response", "")],
                     res.get("idp_checksum", "")),
         "the result's idp_checksum verifies over transaction_id+error_code+hashed_id_num+signed_response")
    verify_cms(pki, res, tbs)
    sim.ctl("advance", seconds=4.1)
    st, r = poll(sim, txid, tid)
    T.ok(r.get("error_code") == "SP-API-ATH-02-SPTKTID_SPTKT_RDM", "a redeemed ticket cannot be fetched again", r)
    st, r = poll(sim, str(uuid.uuid4()), tid)
    T.ok(r.get("error_code") == "SP-API-ATH-02-SPTKTID_SPTKT_NF",
         "a ticket id under another transaction_id is not found", r)

    # -- hashed_id_num is stable per person
    txid2, _, r, _ = push(sim, op_code="ATH")
    p2, _ = decode_ticket(r["result"]["sp_ticket"])
    T.ok(p2["hashed_id_num"] == hashed, "hashed_id_num is stable per person (same ID, new transaction)")
    sim.ctl("approve")
    _, r = poll(sim, txid2, p2["sp_ticket_id"])
    T.ok(r.get("error_code") == "0" and "signed_response" not in r.get("result", {}),
         "an ATH (authentication-only) result has hashed_id_num and no signature", r)

    # -- denial, signing failure, expiry
    for op, code in (("deny", "APP_USER_CANCEL"), ("sign_fail", "APP_SIGN_FAILURE")):
        txid3, _, r, _ = push(sim)
        p3, _ = decode_ticket(r["result"]["sp_ticket"])
        sim.ctl(op)
        _, r = poll(sim, txid3, p3["sp_ticket_id"])
        T.ok(r.get("error_code") == "SP-API-ATH-02-" + code and "result" not in r,
             "%s: the poll answers %s (no result, no idp_checksum)" % (op, code), r)
    txid4, _, r, _ = push(sim, tl=30)
    p4, _ = decode_ticket(r["result"]["sp_ticket"])
    sim.ctl("advance", seconds=31)
    _, r = poll(sim, txid4, p4["sp_ticket_id"])
    T.ok(r.get("error_code") == "SP-API-ATH-02-SPTKT_OVD", "after time_limit the ticket is expired (SPTKT_OVD)", r)
    try:
        sim.ctl("approve")
        T.ok(False, "an expired ticket cannot be approved")
    except simlib.SimError:
        T.ok(True, "an expired ticket cannot be approved")

    # -- QR (getSpTicket I-SCAN) without an ID: whoever scans is named at approval
    txid5 = str(uuid.uuid4())
    body = {"transaction_id": txid5, "sp_service_id": SID, "id_num": "", "op_code": "SIGN",
            "op_mode": "I-SCAN", "hint": "掃碼登入", "time_limit": "120",
            "sign_info": {"sign_type": "PKCS#1", "sign_data": "bm9uY2U=", "tbs_encoding": "base64",
                          "hash_algorithm": "SHA256"}}
    body["sp_checksum"] = checksum(KEY, [txid5, SID, "", "SIGN", "I-SCAN", "掃碼登入", "bm9uY2U="])
    _, r = post(sim, "getSpTicket", body)
    T.ok(r.get("error_code") == "0", "getSpTicket (I-SCAN, time_limit as a string) issues a ticket", r)
    p5, _ = decode_ticket(r["result"]["sp_ticket"])
    T.ok(p5["hashed_id_num"] == "" and p5["op_mode"] == "I-SCAN", "a QR ticket names nobody yet", p5)
    sim.ctl("approve", id_num="B287654326")
    _, r = poll(sim, txid5, p5["sp_ticket_id"])
    res = r.get("result", {})
    card = simpki.Card(pki, "good-g3")
    pub = card.cert.public_key()
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives import hashes
    try:
        pub.verify(base64.b64decode(res.get("signed_response", "")), b"nonce", padding.PKCS1v15(), hashes.SHA256())
        good = True
    except Exception:
        good = False
    T.ok(good and res.get("cert") == card.certb64,
         "the scanner's card signed PKCS#1 over the decoded sign_data; cert is the card's", r)

    # -- a push approved on another person's phone fails
    txid6, _, r, _ = push(sim)
    sim.ctl("approve", id_num="B287654326")
    _, r = poll(sim, txid6, decode_ticket(r["result"]["sp_ticket"])[0]["sp_ticket_id"])
    T.ok(r.get("error_code") == "SP-API-ATH-02-DEVID_SPTKT_MISMATCH",
         "approval by someone else than the ticket's person: DEVID_SPTKT_MISMATCH", r)

    # -- v2.9 pending style
    sim.ctl("pending_style", style="v29")
    txid7, _, r, _ = push(sim)
    _, r = poll(sim, txid7, decode_ticket(r["result"]["sp_ticket"])[0]["sp_ticket_id"])
    T.ok(r.get("error_code") == "SP-API-ATH-02-SPTKTID_TXNLOG_NF", "v2.9 style: pending is SPTKTID_TXNLOG_NF", r)
    sim.ctl("pending_style", style="legacy")

    # -- idp_checksum faults
    for mode in ("wrong_key", "wrong_fields", "missing"):
        sim.ctl("checksum", mode=mode)
        txid8, _, r, _ = push(sim)
        res = r.get("result", {})
        T.ok(r.get("error_code") == "0" and
             not checksum_ok(KEY, [txid8, "0", res.get("sp_ticket", "")], res.get("idp_checksum", "")),
             "checksum fault %s: the answer's idp_checksum does not verify" % mode)
    sim.ctl("checksum", mode="ok")
    sim.ctl("next_error", method="requestAthOrSignPush", code="PS_FCM_NOT_FOUND")
    _, _, r, _ = push(sim)
    T.ok(r.get("error_code") == "SP-API-ATH-03-PS_FCM_NOT_FOUND", "an injected push-module error is answered once", r)

    # -- outages
    sim.ctl("fault", mode="refuse")
    try:
        socket.create_connection(("127.0.0.1", sim.info["service_port"]), 2).close()
        T.ok(False, "outage refuse: the service port refuses connections")
    except OSError:
        T.ok(True, "outage refuse: the service port refuses connections")
    sim.ctl("fault", mode="http500")
    st, _ = post(sim, "requestAthOrSignPush", {})
    T.ok(st == 500, "outage http500: every call answers 500", st)
    sim.ctl("fault", mode="hang")
    t0 = time.time()
    try:
        post(sim, "requestAthOrSignPush", {}, timeout=1)
        T.ok(False, "outage hang: the call times out")
    except (socket.timeout, TimeoutError, OSError):
        T.ok(time.time() - t0 < 3, "outage hang: the call times out (no answer)")
    sim.ctl("fault", mode="garbage")
    st, r = post(sim, "requestAthOrSignPush", {})
    T.ok(st == 200 and isinstance(r, bytes), "outage garbage: 200 with a body that is not JSON", r)
    sim.ctl("fault", mode="none")
    _, st, r, _ = push(sim)
    T.ok(r.get("error_code") == "0", "after the outage the service answers again", r)
    log = sim.ctl("requests")["requests"]
    T.ok(len(log) > 10 and all(e["path"].startswith("/moise/sp/") for e in log),
         "the control port lists the recorded requests")


def verify_cms(pki, res, tbs):
    with tempfile.TemporaryDirectory() as d:
        sig = os.path.join(d, "sig")
        with open(sig, "wb") as f:
            f.write(base64.b64decode(res.get("signed_response", "")))
        chain = os.path.join(d, "chain.pem")
        with open(chain, "wb") as f:
            for n in ("anchors.pem", "intermediates.pem"):
                with open(os.path.join(pki, n), "rb") as g:
                    f.write(g.read())
        out = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sig,
                              "-CAfile", chain, "-purpose", "any"], capture_output=True)
        T.ok(out.returncode == 0 and out.stdout == base64.b64decode(tbs),
             "signed_response is a CMS SignedData over sign_data that verifies to the GRCA-like root",
             out.stderr.decode(errors="replace"))
    cert = base64.b64decode(res.get("cert", ""))
    T.ok(cert == simpki.Card(pki, "good-g2").der, "cert is the person's MOICA-like certificate (DER, base64)")


if __name__ == "__main__":
    main()
