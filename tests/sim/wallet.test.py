#!/usr/bin/python3
"""tests/sim/wallet.test.py — the 數位憑證皮夾 verifier simulator: Access-Token
checked, QR PNG of authUri, pending → verified / failed / expired, parameter
refusals, outages; served over TLS like the real module.
Standalone: /usr/bin/python3 tests/sim/wallet.test.py"""
import base64
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402
from wallet import TEST_CREDENTIAL, qr_png  # noqa: E402

T = simlib.Tap()
TOKEN = "vrf-" + os.urandom(12).hex()
REF = "00000000_authd_test_citizen_vp"


def main():
    d = tempfile.mkdtemp(prefix="authd-sim-wallet-")
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", d + "/key.pem", "-out", d + "/cert.pem", "-days", "1",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
        with open(d + "/token", "w") as f:
            f.write(TOKEN + "\n")
        sim = simlib.start("wallet", "--access-token-file", d + "/token", "--ref", REF,
                           "--tls-cert", d + "/cert.pem", "--tls-key", d + "/key.pem")
        try:
            ctx = ssl.create_default_context(cafile=d + "/cert.pem")
            run(sim, ctx)
        finally:
            sim.stop()
    finally:
        shutil.rmtree(d)
    T.done()


def call(sim, ctx, method, path, body=None, token=TOKEN, timeout=10):
    h = {"Access-Token": token} if token is not None else {}
    st, _, b = simlib.http(method, sim.url + path, body, h, timeout=timeout, context=ctx)
    try:
        return st, json.loads(b)
    except ValueError:
        return st, b


def qrcode(sim, ctx, txid=None, ref=REF, token=TOKEN):
    txid = txid or str(uuid.uuid4())
    return txid, call(sim, ctx, "GET", "/api/oidvp/qrcode?ref=%s&transactionId=%s" % (quote(ref), quote(txid)),
                      token=token)


def result(sim, ctx, txid, token=TOKEN, timeout=10):
    return call(sim, ctx, "POST", "/api/oidvp/result", {"transactionId": txid}, token=token, timeout=timeout)


def png_ok(data):
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    pos, idat, size = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    return size is not None and size[0] == size[1] and len(raw) == size[1] * (size[0] + 1)


def run(sim, ctx):
    T.ok(sim.url.startswith("https://"), "the verifier module is served over TLS", sim.url)
    try:
        simlib.http("GET", sim.url + "/api/oidvp/qrcode", context=ssl.create_default_context())
        T.ok(False, "a client that does not trust the module's certificate cannot connect")
    except (ssl.SSLError, OSError):
        T.ok(True, "a client that does not trust the module's certificate cannot connect")

    for tok, why in ((None, "missing"), ("nope", "wrong"), (TOKEN + "x", "longer")):
        _, (st, r) = qrcode(sim, ctx, token=tok)
        T.ok(st == 403 and r.get("code") == "35116", "a %s Access-Token is refused (403, 35116)" % why, (st, r))
    st, r = result(sim, ctx, "x", token="nope")
    T.ok(st == 403 and r.get("code") == "35116", "result with a wrong Access-Token is refused too", (st, r))

    txid, (st, r) = qrcode(sim, ctx)
    T.ok(st == 200 and r.get("code") == "0" and r.get("transactionId") == txid,
         "qrcode: 200, code 0, our transactionId", r)
    img = r.get("qrcodeImage", "")
    T.ok(img.startswith("data:image/png;base64,") and png_ok(base64.b64decode(img.split(",", 1)[1])),
         "qrcodeImage is a data: URL of a well-formed PNG")
    T.ok(base64.b64decode(img.split(",", 1)[1]) == qr_png(r.get("authUri", "")),
         "the PNG is the QR code of authUri (libqrencode, same input, same image)")
    T.ok(r.get("authUri", "").startswith("modadigitalwallet://authorize?"), "authUri is the wallet deep link", r)

    st, r = result(sim, ctx, txid)
    T.ok(st == 400 and r.get("code") == "4002", "before the person presents: 400 4002 查無驗證結果", (st, r))
    sim.ctl("present")
    st, r = result(sim, ctx, txid)
    T.ok(st == 200 and r.get("verifyResult") is True and r.get("transactionId") == txid and
         r.get("data") == TEST_CREDENTIAL, "after presenting: verifyResult true with the disclosed claims", r)
    st, r2 = result(sim, ctx, txid)
    T.ok(st == 200 and r2 == r, "the verified result can be read again (the caller must make it single-use)")

    txid, _ = qrcode(sim, ctx)
    sim.ctl("fail", code="2008", description="vc claim is not matched the requirement of filter")
    st, r = result(sim, ctx, txid)
    T.ok(st == 200 and r.get("verifyResult") is False and r.get("code") == "2008" and "data" not in r,
         "a refused presentation: 200, verifyResult false, the error code, no data", r)

    txid, _ = qrcode(sim, ctx)
    sim.ctl("advance", seconds=301)
    st, r = result(sim, ctx, txid)
    T.ok(st == 400 and r.get("code") == "4003", "after the session lifetime: 400 4003", (st, r))
    try:
        sim.ctl("present")
        T.ok(False, "an expired session cannot be presented to")
    except simlib.SimError:
        T.ok(True, "an expired session cannot be presented to")

    st, r = result(sim, ctx, str(uuid.uuid4()))
    T.ok(st == 400 and r.get("code") == "4002", "an unknown transactionId also answers 4002", (st, r))
    _, (st, r) = qrcode(sim, ctx, txid=txid)
    T.ok(st == 500 and r.get("code") == "5001", "a reused transactionId is a 500 5001", (st, r))
    _, (st, r) = qrcode(sim, ctx, txid="x" * 51)
    T.ok(st == 400 and r.get("code") == "4001", "a transactionId over 50 characters is refused (4001)", (st, r))
    _, (st, r) = qrcode(sim, ctx, ref="nosuchref")
    T.ok(st == 400 and r.get("code") == "2011", "an unknown ref is refused (2011)", (st, r))
    st, r = call(sim, ctx, "POST", "/api/oidvp/result", {"transaction": "x"})
    T.ok(st == 400 and r.get("code") == "4001", "result without transactionId is refused (4001)", (st, r))

    sim.ctl("holder_did", on=True)
    txid, _ = qrcode(sim, ctx)
    sim.ctl("present", data=[{"credentialType": "x", "claims": []}])
    st, r = result(sim, ctx, txid)
    T.ok(st == 200 and r.get("holderDid", "").startswith("did:") and r.get("data") == [{"credentialType": "x", "claims": []}],
         "a test can choose the disclosed data and ask for holderDid", r)

    sim.ctl("fault", mode="refuse")
    try:
        socket.create_connection(("127.0.0.1", sim.info["service_port"]), 2).close()
        T.ok(False, "outage refuse")
    except OSError:
        T.ok(True, "outage refuse: connection refused")
    sim.ctl("fault", mode="http500")
    st, r = result(sim, ctx, txid)
    T.ok(st == 500, "outage http500", st)
    sim.ctl("fault", mode="hang")
    t0 = time.time()
    try:
        result(sim, ctx, txid, timeout=1)
        T.ok(False, "outage hang: no answer")
    except (socket.timeout, TimeoutError, OSError):
        T.ok(time.time() - t0 < 3, "outage hang: no answer, the client's timeout fires")
    sim.ctl("fault", mode="none")
    st, r = result(sim, ctx, txid)
    T.ok(st == 200, "service back after the outage", st)


if __name__ == "__main__":
    main()
