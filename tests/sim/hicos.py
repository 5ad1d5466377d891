#!/usr/bin/python3
"""tests/sim/hicos.py — a simulator of the HiPKI Local Sign Server (HiCOS
跨平台網頁元件, http://localhost:61161), as docs/taiwan-methods.md describes it.

Like the real server, no answer carries CORS headers (a page on another
origin cannot read /sign or /pkcs11info with fetch), except /p11Image.bmp,
which public integrations read cross-origin through a canvas (so the real
one must allow it; --no-image-cors turns that off).

  GET  /popupForm        the page a site opens with window.open(): it posts
                         '{"func":"getTbs"}' to window.opener, takes one JSON
                         request by postMessage (MakeSignature, GetUserCert,
                         CheckEnvir), calls /sign or /pkcs11info same-origin,
                         posts the answer's text back and closes itself.
  POST /sign             form body tbsPackage=<JSON> (the JSON is form-decoded:
                         a '+' in it becomes a space, so callers send %2B —
                         the quirk every public integration works around)
  GET  /pkcs11info[?withcert=true]
  GET  /p11Image.bmp     the pkcs11info JSON as the pixels of a 1-pixel-high BMP
  GET  /addDomain?domain=HOST   a confirmation page; POST /addDomain adds HOST to
                         the trusted sites (only enforced with trust {"enforce": true})

Error codes (ret_code / last_error) are the ones public integrations decode:
0x76000006 no card, 0x76100003 no reader, 0x76100006 card login failed with
last_error 0x80000002 / 0x80000001 (wrong PIN, 2 / 1 tries left) and 0xA4
(locked, after the third wrong PIN), 0xA2 (PIN length), 0x76000998 no PIN,
0x76000031 site not trusted, 0x7600000B bad JSON, 0x7600000E unknown func.

Control ops (besides simlib's):
  readers {readers: [{name, card|null}]}   the readers and which card is in each ([] = no reader)
  insert {card, reader?}   remove {reader?}
  pin {card, pin}          set a card's PIN (default 123456)   unlock {card}
  cards                    PIN tries left / locked per card
  embed_cert {on}          PKCS#7 carries the signer certificate (default off: only certb64)
  detached {on}            PKCS#7 without the content (default off)
  trust {enforce, domains} the trusted-sites list
  next_error {ret_code, last_error?}   the next /sign answers this
  image_cors {on}
"""
import base64
import html
import json
import os
import struct
import sys
from urllib.parse import unquote_plus, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402
import simpki  # noqa: E402
from simlib import Reply, SimError  # noqa: E402

SERVER_VERSION = "1.3.4.103340"
E_NO_TBS = 0x76000003
E_NO_CARD = 0x76000006
E_JSON = 0x7600000B
E_PARAM = 0x7600000C
E_TIMEOUT = 0x7600000D
E_FUNC = 0x7600000E
E_UNTRUSTED = 0x76000031
E_NO_PIN = 0x76000998
E_NO_READER = 0x76100003
E_READER = 0x76100004
E_LOGIN = 0x76100006
E_SIGTYPE = 0x76300002
E_B64 = 0x76600002
CKR_PIN_LEN_RANGE = 0xA2
CKR_PIN_LOCKED = 0xA4
MESSAGES = {E_NO_TBS: "未輸入待簽訊息", E_NO_CARD: "未插入IC卡", E_JSON: "JSON格式錯誤", E_PARAM: "參數錯誤",
            E_FUNC: "不支援的方法", E_UNTRUSTED: "在未授權的網站執行元件", E_NO_PIN: "未輸入PIN碼",
            E_NO_READER: "無可用讀卡機", E_READER: "取得讀卡機資訊失敗", E_LOGIN: "IC卡登入失敗",
            E_SIGTYPE: "簽章型別錯誤", E_B64: "Base64解碼錯誤", E_TIMEOUT: "執行檔錯誤或逾時"}
SERIALS = {"good-g2": "TP03281234567890", "good-g3": "TP03289876543210", "revoked": "TP03281111111111",
           "expired": "TP03282222222222", "other": "TP03283333333333", "revoked2": "TP03284444444444"}


def s32(v):
    """last_error as the JSON carries it: a signed 32-bit integer."""
    return v - (1 << 32) if v >= 1 << 31 else v


POPUP = """<!doctype html>
<html lang="zh-Hant"><head><meta charset="utf-8"><title>HiPKI Local Sign Server</title></head>
<body><p id="status">處理中…</p>
<script>
(function () {
  var done = false;
  function finish(target, origin, text) {
    done = true;
    try { target.postMessage(text, origin); } catch (e) {}
    document.getElementById('status').textContent = '完成';
    setTimeout(function () { window.close(); }, 50);
  }
  window.addEventListener('message', function (ev) {
    var req;
    if (done || typeof ev.data !== 'string') return;
    try { req = JSON.parse(ev.data); } catch (e) { return; }
    if (!req || typeof req.func !== 'string' || req.func === 'getTbs') return;
    var xhr = new XMLHttpRequest(), o = encodeURIComponent(ev.origin);
    if (req.func === 'MakeSignature') {
      xhr.open('POST', '/sign');
      xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
    } else if (req.func === 'GetUserCert') {
      xhr.open('GET', '/pkcs11info?withcert=true&origin=' + o);
    } else if (req.func === 'CheckEnvir') {
      xhr.open('GET', '/pkcs11info?origin=' + o);
    } else {
      finish(ev.source, ev.origin, JSON.stringify({func: req.func, ret_code: %(efunc)d,
        message: '不支援的方法'}));
      return;
    }
    xhr.onload = function () { finish(ev.source, ev.origin, xhr.responseText); };
    xhr.onerror = function () {
      finish(ev.source, ev.origin, JSON.stringify({ret_code: %(etimeout)d, message: '執行檔錯誤或逾時'}));
    };
    /* the request is sent as it came: "tbsPackage=" + the JSON, not encoded */
    xhr.send(req.func === 'MakeSignature' ? 'tbsPackage=' + ev.data + '&origin=' + o : null);
  });
  if (window.opener) window.opener.postMessage(JSON.stringify({func: 'getTbs'}), '*');
  else document.getElementById('status').textContent = '請由網頁開啟';
  setTimeout(function () { if (!done) window.close(); }, 30000);
})();
</script></body></html>
""" % {"efunc": E_FUNC, "etimeout": E_TIMEOUT}


def bmp(text):
    """The JSON text as the pixel bytes of a 24-bit BMP, 1 pixel high. The
    integrations' readers take 3 characters per pixel until a pixel whose
    first byte is 0 and then JSON.parse the lot, so the text is padded with
    spaces (JSON whitespace) to a whole pixel, and a zero pixel ends it."""
    data = text.encode("ascii")
    data += b" " * (-len(data) % 3) + b"\x00\x00\x00"
    w = max(1, -(-len(data) // 3))
    row = data + b"\x00" * (w * 3 - len(data))
    row += b"\x00" * (-len(row) % 4)
    hdr = struct.pack("<2sIHHI", b"BM", 54 + len(row), 0, 0, 54)
    dib = struct.pack("<IiiHHIIiiII", 40, w, 1, 1, 24, 0, len(row), 2835, 2835, 0, 0)
    return hdr + dib + row


class HiCos(simlib.Simulator):
    """HiPKI Local Sign Server simulator."""
    NAME = "hicos"

    @staticmethod
    def add_arguments(p):
        p.add_argument("--pki", help="test PKI directory (certs/make-test-pki.sh)")
        p.add_argument("--card", default="good-g2", help="the card in the reader at start")
        p.add_argument("--no-image-cors", action="store_true")

    def __init__(self, args):
        super().__init__(args)
        self.pki = args.pki or simpki.default_pki()
        self.readers = [{"name": "CASTLES EZ100PU 00 00", "card": args.card}]
        self.cards = {}
        self.embed_cert = False
        self.detached = False
        self.trust_enforce = False
        self.trusted = {"localhost", "127.0.0.1"}
        self.next = None
        self.image_cors = not args.no_image_cors

    def card(self, name):
        c = self.cards.get(name)
        if c is None:
            c = {"card": simpki.Card(self.pki, name), "pin": "123456", "tries": 3, "locked": False}
            self.cards[name] = c
        return c

    # ---- answers
    def jreply(self, obj):
        # no Access-Control-* header: the real server sends none
        return Reply(200, json.dumps(obj, ensure_ascii=False), "application/json;charset=UTF-8")

    def fail(self, func, code, last_error=0):
        return {"func": func, "ret_code": code, "last_error": s32(last_error),
                "message": MESSAGES.get(code, "")}

    def origin_host(self, req, explicit=None):
        o = explicit or req.headers.get("Origin") or req.headers.get("Referer") or ""
        try:
            return urlsplit(o).hostname or ""
        except ValueError:
            return ""

    def trusted_req(self, req, explicit=None):
        return not self.trust_enforce or self.origin_host(req, explicit) in self.trusted

    def handle(self, req):
        with self.lock:
            p = req.path
            if p == "/popupForm":
                return Reply(200, POPUP, "text/html;charset=UTF-8")
            if p == "/sign" and req.method == "POST":
                return self.jreply(self.sign(req))
            if p == "/pkcs11info":
                return self.jreply(self.info(req, req.query.get("withcert") == "true",
                                             req.query.get("origin")))
            if p == "/p11Image.bmp":
                text = json.dumps(self.info(req, False, None), ensure_ascii=True, separators=(",", ":"))
                hdr = {"Access-Control-Allow-Origin": "*"} if self.image_cors else {}
                return Reply(200, bmp(text), "image/bmp", hdr)
            if p == "/addDomain":
                return self.add_domain(req)
            return Reply(404, "Not Found", "text/plain")

    def info(self, req, withcert, origin):
        if not self.trusted_req(req, origin):
            return {"func": "pkcs11info", "ret_code": E_UNTRUSTED, "serverVersion": SERVER_VERSION,
                    "message": MESSAGES[E_UNTRUSTED]}
        slots = []
        for r in self.readers:
            # An empty reader: "token": null (public samples skip a slot whose
            # token is null or the string "unknown token").
            slot = {"slotDescription": r["name"], "token": None}
            if r["card"]:
                c = self.card(r["card"])["card"]
                tok = {"label": "HiCOS PKI Smart Card", "serialNumber": SERIALS.get(r["card"], "TP0328" + "0" * 10)}
                if withcert:
                    tok["certs"] = [{"label": "Sign Cert", "usage": "digitalSignature",
                                     "certb64": c.certb64, "subjectDN": c.subject(), "issuerDN": c.issuer(),
                                     "sn": c.serial_hex(),
                                     "notBefore": c.cert.not_valid_before.strftime("%Y%m%d%H%M%SZ"),
                                     "notAfter": c.cert.not_valid_after.strftime("%Y%m%d%H%M%SZ")}]
                slot["token"] = tok
            slots.append(slot)
        return {"func": "pkcs11info", "ret_code": 0, "serverVersion": SERVER_VERSION, "slots": slots}

    def sign(self, req):
        try:
            form = req.body.decode("utf-8")
            fields = {}
            for part in form.split("&"):
                k, _, v = part.partition("=")
                fields[unquote_plus(k)] = unquote_plus(v)
            pkg = json.loads(fields.get("tbsPackage", ""))
            if not isinstance(pkg, dict):
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            return self.fail("sign", E_JSON)
        if not self.trusted_req(req, fields.get("origin")):
            return self.fail("sign", E_UNTRUSTED)
        if pkg.get("func") != "MakeSignature":
            return self.fail("sign", E_FUNC)
        if self.next is not None:
            code, le = self.next
            self.next = None
            return self.fail("sign", code, le)
        if not self.readers:
            return self.fail("sign", E_NO_READER)
        want = pkg.get("slotDescription") or ""
        reader = None
        for r in self.readers:
            if (want and r["name"] == want) or (not want and r["card"]):
                reader = r
                break
        if reader is None:
            return self.fail("sign", E_READER if want else E_NO_CARD)
        if not reader["card"]:
            return self.fail("sign", E_NO_CARD)
        tbs = pkg.get("tbs")
        if not isinstance(tbs, str) or tbs == "":
            return self.fail("sign", E_NO_TBS)
        enc = pkg.get("tbsEncoding") or "NONE"
        alg = pkg.get("hashAlgorithm") or "SHA256"
        st = pkg.get("signatureType") or "PKCS7"
        if enc not in ("NONE", "base64") or alg not in simpki.HASHES:
            return self.fail("sign", E_PARAM)
        if st not in ("PKCS7", "PKCS1", "RAW"):
            return self.fail("sign", E_SIGTYPE)
        try:
            data = base64.b64decode(tbs, validate=True) if enc == "base64" else tbs.encode("utf-8")
        except ValueError:
            return self.fail("sign", E_B64)
        pin = pkg.get("pin")
        if not isinstance(pin, str) or pin == "":
            return self.fail("sign", E_NO_PIN)
        c = self.card(reader["card"])
        if c["locked"]:
            return self.fail("sign", E_LOGIN, CKR_PIN_LOCKED)
        if not 6 <= len(pin) <= 8:
            return self.fail("sign", E_LOGIN, CKR_PIN_LEN_RANGE)
        if pin != c["pin"]:
            c["tries"] -= 1
            if c["tries"] <= 0:
                c["locked"] = True
                return self.fail("sign", E_LOGIN, CKR_PIN_LOCKED)
            return self.fail("sign", E_LOGIN, 0x80000000 | c["tries"])
        c["tries"] = 3
        card = c["card"]
        if st == "PKCS7":
            sig = card.cms_sign(data, alg, embed_cert=self.embed_cert, detached=self.detached)
        elif st == "PKCS1":
            sig = card.pkcs1_sign(data, alg)
        else:
            sig = card.raw_sign(data)
        out = {"func": "sign", "ret_code": 0, "last_error": 0, "version": "1.0",
               "signature": base64.b64encode(sig).decode(), "certb64": card.certb64}
        if str(pkg.get("withCardSN", "")).lower() == "true":
            out["cardSN"] = SERIALS.get(reader["card"], "")
        return out

    def add_domain(self, req):
        if req.method == "POST":
            f = req.form()
            dom = f.get("domain", "")
            if f.get("confirm") == "1" and dom and len(dom) < 254 and all(
                    ch.isalnum() or ch in ".-" for ch in dom):
                self.trusted.add(dom.lower())
                return Reply(200, "<!doctype html><meta charset=utf-8><p id=done>%s 已加入信任網站</p>"
                             % html.escape(dom), "text/html;charset=UTF-8")
            return Reply(400, "<!doctype html><meta charset=utf-8><p>參數錯誤</p>", "text/html;charset=UTF-8")
        dom = req.query.get("domain", "")
        return Reply(200, (
            "<!doctype html><html lang=zh-Hant><meta charset=utf-8><title>加入信任網站</title>"
            "<p>是否將 <b id=domain>%s</b> 加入信任網站？</p>"
            "<form method=post action=/addDomain><input type=hidden name=domain value=\"%s\">"
            "<input type=hidden name=confirm value=1><button id=confirm>確定</button></form>")
            % (html.escape(dom), html.escape(dom)), "text/html;charset=UTF-8")

    # ---- control
    def control_readers(self, a):
        rs = a.get("readers")
        if not isinstance(rs, list):
            raise SimError("readers is a list")
        new = []
        for r in rs:
            if r.get("card"):
                self.card(r["card"])
            new.append({"name": str(r["name"]), "card": r.get("card")})
        self.readers = new
        return {"ok": True}

    def _reader(self, a):
        if not self.readers:
            raise SimError("no reader")
        name = a.get("reader")
        for r in self.readers:
            if name is None or r["name"] == name:
                return r
        raise SimError("no such reader")

    def control_insert(self, a):
        self.card(a["card"])
        self._reader(a)["card"] = a["card"]
        return {"ok": True}

    def control_remove(self, a):
        self._reader(a)["card"] = None
        return {"ok": True}

    def control_pin(self, a):
        self.card(a["card"])["pin"] = str(a["pin"])
        return {"ok": True}

    def control_unlock(self, a):
        c = self.card(a["card"])
        c["tries"], c["locked"] = 3, False
        return {"ok": True}

    def control_cards(self, a):
        return {"cards": {k: {"tries_left": v["tries"], "locked": v["locked"]} for k, v in self.cards.items()}}

    def control_embed_cert(self, a):
        self.embed_cert = bool(a.get("on", True))
        return {"ok": True}

    def control_detached(self, a):
        self.detached = bool(a.get("on", True))
        return {"ok": True}

    def control_trust(self, a):
        self.trust_enforce = bool(a.get("enforce", self.trust_enforce))
        if "domains" in a:
            self.trusted = {str(d).lower() for d in a["domains"]}
        return {"ok": True, "enforce": self.trust_enforce, "domains": sorted(self.trusted)}

    def control_next_error(self, a):
        self.next = (int(a["ret_code"]), int(a.get("last_error", 0)))
        return {"ok": True}

    def control_image_cors(self, a):
        self.image_cors = bool(a.get("on", True))
        return {"ok": True}


if __name__ == "__main__":
    simlib.main(HiCos)
