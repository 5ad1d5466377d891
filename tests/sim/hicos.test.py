#!/usr/bin/python3
"""tests/sim/hicos.test.py — the HiPKI Local Sign Server simulator over HTTP:
no CORS headers, /pkcs11info, /p11Image.bmp, /sign with PKCS#7 (with and
without the signer certificate) and PKCS#1 by a test-PKI card, the wrong-PIN
countdown to a locked card, no card, no reader, untrusted site and /addDomain,
the form-decoding quirk of tbsPackage. The postMessage exchange of /popupForm
is driven in Chromium by hicos.test.mjs.
Standalone: /usr/bin/python3 tests/sim/hicos.test.py"""
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile
from urllib.parse import quote, urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402
import simpki  # noqa: E402

T = simlib.Tap()


def sign(sim, pin="123456", tbs="bm9uY2UtMTIz", enc="base64", st="PKCS7", raw_form=None, headers=None, **kw):
    pkg = {"func": "MakeSignature", "tbs": tbs, "tbsEncoding": enc, "hashAlgorithm": "SHA256",
           "signatureType": st, "pin": pin, "withCardSN": "true", "nonce": ""}
    pkg.update(kw)
    body = raw_form if raw_form is not None else urlencode({"tbsPackage": json.dumps(pkg)})
    st_, h, b = simlib.http("POST", sim.url + "/sign", body,
                            dict({"Content-Type": "application/x-www-form-urlencoded"}, **(headers or {})))
    return st_, h, json.loads(b)


def cors_free(h):
    return not any(k.lower().startswith("access-control-") for k in h.keys())


def cms_verify(pki, sig, content=None, certfile=None):
    with tempfile.TemporaryDirectory() as d:
        with open(d + "/sig", "wb") as f:
            f.write(sig)
        chain = d + "/chain.pem"
        with open(chain, "wb") as f:
            for n in ("anchors.pem", "intermediates.pem"):
                with open(os.path.join(pki, n), "rb") as g:
                    f.write(g.read())
        cmd = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", d + "/sig", "-CAfile", chain,
               "-purpose", "any"]
        if certfile:
            cmd += ["-certfile", certfile]
        if content is not None:
            with open(d + "/content", "wb") as f:
                f.write(content)
            cmd += ["-content", d + "/content"]
        r = subprocess.run(cmd, capture_output=True)
        return r.returncode == 0, r.stdout, r.stderr.decode(errors="replace")


def main():
    pki = simpki.ensure_pki()
    sim = simlib.start("hicos", "--pki", pki)
    try:
        run(sim, pki)
    finally:
        sim.stop()
    T.done()


def run(sim, pki):
    card = simpki.Card(pki, "good-g2")
    st, h, b = simlib.http("GET", sim.url + "/popupForm")
    T.ok(st == 200 and b"getTbs" in b and b"window.opener" in b and cors_free(h),
         "/popupForm is the bridge page (posts getTbs to its opener), without CORS headers")
    st, h, b = simlib.http("OPTIONS", sim.url + "/sign", headers={"Origin": "https://sso.city.example",
                                                                  "Access-Control-Request-Method": "POST"})
    T.ok(cors_free(h), "a CORS preflight to /sign gets no Access-Control-* header", dict(h))

    st, h, b = simlib.http("GET", sim.url + "/pkcs11info?withcert=true")
    info = json.loads(b)
    tok = (info.get("slots") or [{}])[0].get("token", {})
    T.ok(cors_free(h) and info.get("ret_code") == 0 and tok.get("certs", [{}])[0].get("certb64") == card.certb64,
         "/pkcs11info?withcert=true lists the reader, the card and its certificate (no CORS)", info)
    st, h, b = simlib.http("GET", sim.url + "/pkcs11info")
    T.ok("certs" not in json.loads(b)["slots"][0]["token"], "/pkcs11info without withcert lists no certificate")

    st, h, b = simlib.http("GET", sim.url + "/p11Image.bmp", headers={"Origin": "https://sso.city.example"})
    w = struct.unpack("<i", b[18:22])[0]
    px = b[54:54 + 3 * w]
    text = px.split(b"\x00", 1)[0].decode("ascii")
    T.ok(b[:2] == b"BM" and json.loads(text).get("serverVersion") and
         h.get("Access-Control-Allow-Origin") == "*",
         "/p11Image.bmp carries the pkcs11info JSON in its pixels, readable cross-origin", text[:80])

    # signing: PKCS#7 without the certificate (default), certificate in certb64
    st, h, r = sign(sim)
    sig = base64.b64decode(r.get("signature", ""))
    T.ok(cors_free(h) and r.get("ret_code") == 0 and r.get("func") == "sign" and r.get("certb64") == card.certb64
         and r.get("cardSN"), "right PIN: ret_code 0, signature, certb64 and cardSN; no CORS headers", r)
    good, out, err = cms_verify(pki, sig)
    T.ok(not good, "by default the PKCS#7 does not carry the signer certificate (verification needs certb64)", err)
    with tempfile.NamedTemporaryFile("wb", suffix=".der") as f:
        f.write(base64.b64decode(r["certb64"]))
        f.flush()
        pem = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", f.name], capture_output=True).stdout
    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as f:
        f.write(pem)
        f.flush()
        good, out, err = cms_verify(pki, sig, certfile=f.name)
    T.ok(good and out == b"nonce-123", "with certb64 supplied the PKCS#7 verifies over the decoded tbs", err)
    sim.ctl("embed_cert", on=True)
    _, _, r = sign(sim)
    good, out, err = cms_verify(pki, base64.b64decode(r["signature"]))
    T.ok(good and out == b"nonce-123", "embed_cert on: the PKCS#7 carries the certificate and verifies alone", err)
    sim.ctl("detached", on=True)
    _, _, r = sign(sim)
    good, out, err = cms_verify(pki, base64.b64decode(r["signature"]), content=b"nonce-123")
    T.ok(good, "detached on: a detached PKCS#7 that verifies against the content", err)
    sim.ctl("detached", on=False)
    _, _, r = sign(sim, st="PKCS1", tbs="hello", enc="NONE")
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives import hashes
    try:
        card.cert.public_key().verify(base64.b64decode(r["signature"]), b"hello", padding.PKCS1v15(), hashes.SHA256())
        ok = True
    except Exception:
        ok = False
    T.ok(ok, "PKCS1 over a NONE-encoded tbs: an RSA PKCS#1 v1.5 SHA-256 signature of the text")

    # the form-decoding quirk: the JSON inside tbsPackage is form-decoded
    pkg = json.dumps({"func": "MakeSignature", "tbs": "a+b", "tbsEncoding": "NONE", "hashAlgorithm": "SHA256",
                      "signatureType": "PKCS7", "pin": "123456"})
    _, _, r = sign(sim, raw_form="tbsPackage=" + pkg)
    good, out, err = cms_verify(pki, base64.b64decode(r["signature"]))
    T.ok(out == b"a b", "an unencoded '+' in tbsPackage arrives as a space (callers must send %2B)", out)
    _, _, r = sign(sim, raw_form="tbsPackage=" + pkg.replace("+", "%2B"))
    good, out, err = cms_verify(pki, base64.b64decode(r["signature"]))
    T.ok(out == b"a+b", "with %2B the signed content is exactly the tbs", out)
    sim.ctl("embed_cert", on=False)

    # PIN errors, countdown, lock
    _, _, r = sign(sim, pin="")
    T.ok(r.get("ret_code") == 0x76000998, "no PIN: 0x76000998", r)
    _, _, r = sign(sim, pin="12345")
    T.ok(r.get("ret_code") == 0x76100006 and r.get("last_error") == 0xA2, "a 5-digit PIN: login failed, 0xA2", r)
    _, _, r = sign(sim, pin="654321")
    T.ok(r.get("ret_code") == 0x76100006 and r.get("last_error") == -2147483646,
         "wrong PIN: 0x76100006 with last_error 0x80000002 (two tries left), as a signed int", r)
    _, _, r = sign(sim, pin="123456")
    T.ok(r.get("ret_code") == 0, "a right PIN after a wrong one signs and resets the count", r)
    codes = [sign(sim, pin="000000")[2].get("last_error") for _ in range(3)]
    T.ok(codes == [-2147483646, -2147483647, 0xA4], "three wrong PINs: 2 left, 1 left, locked (0xA4)", codes)
    _, _, r = sign(sim, pin="123456")
    T.ok(r.get("ret_code") == 0x76100006 and r.get("last_error") == 0xA4, "a locked card refuses the right PIN", r)
    T.ok(sim.ctl("cards")["cards"]["good-g2"]["locked"] is True, "the control port reports the card locked")
    sim.ctl("unlock", card="good-g2")

    # card and reader states
    sim.ctl("remove")
    _, _, r = sign(sim)
    T.ok(r.get("ret_code") == 0x76000006, "no card in the reader: 0x76000006", r)
    info = json.loads(simlib.http("GET", sim.url + "/pkcs11info")[2])
    T.ok(info["slots"] and info["slots"][0].get("token", "x") is None, "pkcs11info: the reader without a token", info)
    sim.ctl("readers", readers=[])
    _, _, r = sign(sim)
    T.ok(r.get("ret_code") == 0x76100003, "no reader: 0x76100003", r)
    sim.ctl("readers", readers=[{"name": "Reader A", "card": "good-g2"}, {"name": "Reader B", "card": "good-g3"}])
    _, _, r = sign(sim, slotDescription="Reader B")
    T.ok(r.get("certb64") == simpki.Card(pki, "good-g3").certb64, "slotDescription picks the card to sign with", r)
    _, _, r = sign(sim, slotDescription="Reader C")
    T.ok(r.get("ret_code") == 0x76100004, "an unknown slotDescription is refused", r)

    # requests that are not right
    _, _, r = sign(sim, raw_form="tbsPackage=%7Bnot-json")
    T.ok(r.get("ret_code") == 0x7600000B, "tbsPackage that is not JSON: 0x7600000B", r)
    _, _, r = sign(sim, func="DecryptData")
    T.ok(r.get("ret_code") == 0x7600000E, "an unknown func: 0x7600000E", r)
    _, _, r = sign(sim, tbs="")
    T.ok(r.get("ret_code") == 0x76000003, "no tbs: 0x76000003", r)
    _, _, r = sign(sim, tbs="%%%", enc="base64")
    T.ok(r.get("ret_code") == 0x76600002, "tbs that is not base64: 0x76600002", r)
    sim.ctl("next_error", ret_code=0x76000999)
    _, _, r = sign(sim)
    T.ok(r.get("ret_code") == 0x76000999, "an injected error (user cancelled) is answered once", r)

    # trusted sites
    sim.ctl("trust", enforce=True, domains=["localhost"])
    _, _, r = sign(sim, headers={"Origin": "https://evil.example"})
    T.ok(r.get("ret_code") == 0x76000031, "an untrusted site: 0x76000031", r)
    info = json.loads(simlib.http("GET", sim.url + "/pkcs11info", headers={"Referer": "https://sso.city.example/login"})[2])
    T.ok(info.get("ret_code") == 0x76000031, "pkcs11info from an untrusted Referer: 0x76000031", info)
    st, h, b = simlib.http("GET", sim.url + "/addDomain?domain=" + quote("sso.city.example"))
    T.ok(b"sso.city.example" in b and b"confirm" in b, "/addDomain shows a confirmation for the domain")
    simlib.http("POST", sim.url + "/addDomain", "domain=sso.city.example&confirm=1",
                {"Content-Type": "application/x-www-form-urlencoded"})
    _, _, r = sign(sim, headers={"Origin": "https://sso.city.example"})
    T.ok(r.get("ret_code") == 0, "after /addDomain the site may sign", r)

    sim.ctl("fault", mode="refuse")
    try:
        simlib.http("GET", sim.url + "/pkcs11info", timeout=2)
        T.ok(False, "HiCOS not running: connection refused")
    except OSError:
        T.ok(True, "HiCOS not running: connection refused")
    sim.ctl("fault", mode="none")


if __name__ == "__main__":
    main()
