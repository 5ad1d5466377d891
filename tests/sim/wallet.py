#!/usr/bin/python3
"""tests/sim/wallet.py — a simulator of the 數位憑證皮夾 (TW digital wallet)
verifier module's REST API, DWVP-01 (the verifier shows a QR code), as
數位發展部's published API specification describes it (docs/taiwan-methods.md).

Service (Access-Token header on every call):
  GET  /api/oidvp/qrcode?ref=REF&transactionId=TX[&isCallback=Y]
       200 {transactionId, qrcodeImage: "data:image/png;base64,...", authUri, code:"0", message:"SUCCESS"}
  POST /api/oidvp/result  {"transactionId": TX}
       200 {code:"0", message:"SUCCESS", verifyResult:true, resultDescription:"success",
            transactionId, data:[{credentialType, claims:[{ename, cname, value}]}]}
       200 {code:"2004", verifyResult:false, resultDescription, transactionId}   (presentation refused)
       400 {code:"4002", message:"查無驗證結果"}   (nothing presented yet, or an unknown transaction)
       400 {code:"4003", message:"invalid session"}  (the QR's session expired)
Errors: 400 4001 (bad parameters), 400 2011 (unknown ref), 500 5001 (a reused
transactionId), 403 35116 (missing or wrong Access-Token).

The QR image is a real PNG of authUri made with Debian's libqrencode.

Control ops (besides simlib's):
  token {value}                      the accepted Access-Token
  ref {ref, credentialType?}         add a VP template ref the verifier knows
  transactions                       list, newest last
  present {transaction, data?}       the person presents the credential (data: the
                                     disclosed [{credentialType, claims}] — default: the
                                     test citizen credential)
  fail {transaction, code?, description?}   the presentation fails verification
  expire {transaction}               the session expires now
  session_ttl {seconds}              lifetime of a QR session (default 300)
  holder_did {on}                    also return holderDid in results
{transaction} is a transactionId or "latest".
"""
import base64
import ctypes
import ctypes.util
import hmac
import os
import struct
import sys
import zlib
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402
from simlib import Reply, SimError, json_reply  # noqa: E402

TEST_CREDENTIAL = [{
    "credentialType": "00000000_authd_test_citizen",
    "claims": [
        {"ename": "name", "cname": "姓名", "value": "王小明"},
        {"ename": "birthday", "cname": "出生日期", "value": "1980-01-01"},
        {"ename": "email", "cname": "電子郵件", "value": "wang@example.tw"},
        {"ename": "subject_id", "cname": "持有者識別碼", "value": "urn:uuid:6f2e4c7a-4d5b-4a57-9a36-1f0e6c1d2b3a"},
    ],
}]


class _QRcode(ctypes.Structure):
    _fields_ = [("version", ctypes.c_int), ("width", ctypes.c_int),
                ("data", ctypes.POINTER(ctypes.c_ubyte))]


def qr_png(text, scale=4, border=4):
    """PNG (8-bit greyscale) of the QR code of text, by libqrencode."""
    lib = ctypes.CDLL(ctypes.util.find_library("qrencode") or "libqrencode.so.4")
    lib.QRcode_encodeString.restype = ctypes.POINTER(_QRcode)
    lib.QRcode_encodeString.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                                        ctypes.c_int, ctypes.c_int]
    lib.QRcode_free.argtypes = [ctypes.POINTER(_QRcode)]
    qr = lib.QRcode_encodeString(text.encode(), 0, 1, 2, 1)  # version auto, ECC M, 8-bit, case-sensitive
    if not qr:
        raise SimError("QR encoding failed")
    try:
        w = qr.contents.width
        mods = [[qr.contents.data[y * w + x] & 1 for x in range(w)] for y in range(w)]
    finally:
        lib.QRcode_free(qr)
    size = (w + 2 * border) * scale
    rows = []
    for y in range(size):
        my = y // scale - border
        row = bytearray(b"\x00")  # filter: none
        for x in range(size):
            mx = x // scale - border
            dark = 0 <= mx < w and 0 <= my < w and mods[my][mx]
            row.append(0 if dark else 255)
        rows.append(bytes(row))

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xffffffff)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


class Wallet(simlib.Simulator):
    """數位憑證皮夾 verifier module simulator."""
    NAME = "wallet"

    @staticmethod
    def add_arguments(p):
        p.add_argument("--access-token-file", help="file holding the accepted Access-Token")
        p.add_argument("--ref", action="append", default=[], help="a VP template ref the verifier knows")
        p.add_argument("--session-ttl", type=int, default=300)

    def __init__(self, args):
        super().__init__(args)
        self.token = None
        if args.access_token_file:
            with open(args.access_token_file) as f:
                self.token = f.read().strip()
        self.refs = set(args.ref or ["00000000_authd_test_citizen_vp"])
        self.ttl = args.session_ttl
        self.tx = {}
        self.order = []
        self.holder_did = False

    def err(self, status, code, message):
        return json_reply({"code": code, "message": message}, status)

    def handle(self, req):
        if req.path not in ("/api/oidvp/qrcode", "/api/oidvp/result"):
            return self.err(404, "404", "Not Found")
        given = req.headers.get("Access-Token") or ""
        with self.lock:
            if self.token is None or not hmac.compare_digest(given.encode(), self.token.encode()):
                return self.err(403, "35116", "AccessToken權限不足，請聯繫系統管理員。")
            if req.path == "/api/oidvp/qrcode":
                if req.method != "GET":
                    return self.err(405, "405", "Method Not Allowed")
                return self.qrcode(req)
            if req.method != "POST":
                return self.err(405, "405", "Method Not Allowed")
            return self.result(req)

    def qrcode(self, req):
        ref = req.query.get("ref", "")
        txid = req.query.get("transactionId", "")
        if not ref or not txid or len(txid) > 50 or req.query.get("isCallback", "N") not in ("Y", "N"):
            return self.err(400, "4001", "輸入參數錯誤")
        if ref not in self.refs:
            return self.err(400, "2011", "無效的presentation_definition")
        if txid in self.tx:
            return self.err(500, "5001", "資料庫異常")
        nonce = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        auth_uri = ("modadigitalwallet://authorize?client_id=%s&request_uri=%s"
                    % (quote(self.service_url(), safe=""),
                       quote("%s/oidvp/authorization-request/%s" % (self.service_url(), nonce), safe="")))
        png = qr_png(auth_uri)
        self.tx[txid] = {"transactionId": txid, "ref": ref, "created": self.now(), "state": "pending",
                         "data": None, "code": None, "description": None, "authUri": auth_uri}
        self.order.append(txid)
        return json_reply({"transactionId": txid,
                           "qrcodeImage": "data:image/png;base64," + base64.b64encode(png).decode(),
                           "authUri": auth_uri, "code": "0", "message": "SUCCESS"})

    def result(self, req):
        try:
            body = req.json()
            txid = body.get("transactionId") if isinstance(body, dict) else None
        except ValueError:
            txid = None
        if not isinstance(txid, str) or not txid or len(txid) > 50:
            return self.err(400, "4001", "輸入參數錯誤")
        t = self.tx.get(txid)
        if t is None:
            return self.err(400, "4002", "查無驗證結果")
        if t["state"] == "pending" and self.now() > t["created"] + self.ttl:
            t["state"] = "expired"
        if t["state"] == "expired":
            return self.err(400, "4003", "invalid session")
        if t["state"] == "pending":
            return self.err(400, "4002", "查無驗證結果")
        if t["state"] == "failed":
            return json_reply({"code": t["code"], "message": t["description"], "verifyResult": False,
                               "resultDescription": t["description"], "transactionId": txid})
        out = {"code": "0", "message": "SUCCESS", "verifyResult": True, "resultDescription": "success",
               "transactionId": txid, "data": t["data"]}
        if self.holder_did:
            out["holderDid"] = "did:key:z6Mk" + base64.b32encode(txid.encode()).decode().strip("=").lower()[:40]
        return json_reply(out)

    def garbage(self, req):
        return Reply(200, "<html><head><title>502 Bad Gateway</title></head></html>", "text/html")

    # ---- control
    def _tx(self, a):
        ref = a.get("transaction", "latest")
        if ref == "latest":
            if not self.order:
                raise SimError("no transaction yet")
            ref = self.order[-1]
        t = self.tx.get(ref)
        if t is None:
            raise SimError("no such transaction")
        if t["state"] == "pending" and self.now() > t["created"] + self.ttl:
            t["state"] = "expired"
        return t

    def control_token(self, a):
        v = a.get("value")
        if not isinstance(v, str) or not v:
            raise SimError("value")
        self.token = v
        return {"ok": True}

    def control_ref(self, a):
        self.refs.add(a["ref"])
        return {"ok": True}

    def control_transactions(self, a):
        return {"transactions": [{k: self.tx[i][k] for k in ("transactionId", "ref", "state", "authUri")}
                                 for i in self.order]}

    def control_present(self, a):
        t = self._tx(a)
        if t["state"] != "pending":
            raise SimError("transaction is %s" % t["state"])
        data = a.get("data", TEST_CREDENTIAL)
        if not isinstance(data, list):
            raise SimError("data is a list")
        t["state"], t["data"] = "verified", data
        return {"ok": True}

    def control_fail(self, a):
        t = self._tx(a)
        if t["state"] != "pending":
            raise SimError("transaction is %s" % t["state"])
        t["state"] = "failed"
        t["code"] = str(a.get("code", "2004"))
        t["description"] = a.get("description", "vp validate fail")
        return {"ok": True}

    def control_expire(self, a):
        t = self._tx(a)
        t["created"] = self.now() - self.ttl - 1
        if t["state"] == "pending":
            t["state"] = "expired"
        return {"ok": True}

    def control_session_ttl(self, a):
        self.ttl = int(a["seconds"])
        return {"ok": True}

    def control_holder_did(self, a):
        self.holder_did = bool(a.get("on", True))
        return {"ok": True}


if __name__ == "__main__":
    simlib.main(Wallet)
