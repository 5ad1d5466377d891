#!/usr/bin/python3
"""tests/sim/twfido.py — a simulator of the TW FidO (行動自然人憑證, 內政部)
relying-party API, as docs/taiwan-methods.md describes it.

Service (JSON POST, HTTP 200 with a business error_code, like the real API):
  POST /moise/sp/getSpTicket            (SP-API-ATH-01; QR / app-to-app)
  POST /moise/sp/requestAthOrSignPush   (SP-API-ATH-03; push to the person's phone)
  POST /moise/sp/getAthOrSignResult     (SP-API-ATH-02; poll)
Every request's sp_checksum is checked (any IV accepted, as the real service
accepts both a zero and a random IV) and every successful answer carries an
idp_checksum computed the same way:
  checksum = hex( IV(12) || AES-256-GCM_key( hex(SHA-256(fields concatenated)) ) || tag(16) )

Control ops (POST /control, besides simlib's ping/requests/clear/advance/fault/shutdown):
  service {id, key_b64}            add or replace an SP service id and its AES-256 key
  person {id_num, card, devices}   register a person (card from the test PKI signs)
  tickets                          the transactions, newest last
  open {ticket}                    the person opens the push / scans the QR (pending code 2)
  approve {ticket, id_num?}        the person approves (for a QR ticket: who scanned)
  deny {ticket}                    the person cancels in the app
  sign_fail {ticket}               the app reports a signing failure
  expire {ticket}                  the ticket passes its time_limit now
  pending_style {style}            "legacy" (20002/20003) or "v29" (SP-API-ATH-02-SPTKTID_TXNLOG_NF)
  poll_interval {ms}               minimum spacing of getAthOrSignResult per ticket
  checksum {mode}                  idp_checksum: ok | wrong_key | wrong_fields | missing
  idp_iv {mode}                    random (default) | zero
  next_error {method, code}        the next call of method answers error code (e.g. PS_FCM_NOT_FOUND)
{ticket} is an sp_ticket_id or "latest".
"""
import base64
import hashlib
import hmac
import json
import os
import re
import sys
import uuid
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402
import simpki  # noqa: E402
from simlib import Reply, SimError, json_reply  # noqa: E402

BASE = "/moise/sp/"
IFACE = {"getSpTicket": "SP-API-ATH-01", "getAthOrSignResult": "SP-API-ATH-02",
         "requestAthOrSignPush": "SP-API-ATH-03"}
# error code -> message, from the public transcription of the spec's table 5-1-1.
MESSAGES = {
    "INV_SP_CHECKSUM": "SP CHECKSUM 檢驗失敗",
    "SPSVCID_NF": "Sp service id 未找到對應之 SP 資訊",
    "PM_IDN_FT_ERR": "身份證字號格式錯誤",
    "PM_INV_NF": "缺少參數或者格式不正確",
    "SPTKT_TIME_FT_ERR": "自訂 Sp_ticket 逾期時間格式錯誤",
    "SPTKT_TIME_ORV": "自訂 Sp_ticket 逾期時間超過範圍(out of range value)",
    "SIGNDATA_LEN_LIMIT": "簽章資料長度到達上限（上限1024 個字元）",
    "TXNLOG_INS_ERR": "認證簽署紀錄DB 資料表寫入失敗",
    "IDNUM_USERPROF_NF": "身分證字號未找到對應之使用者資訊",
    "DEV_DESC_MISMATCH": "未找到對應之自訂裝置名稱",
    "SPTKTID_SPTKT_NF": "Sp_ticket_id 未找到對應之Sp_ticket",
    "SPTKTID_SPTKT_RDM": "Sp_ticket_id 對應之Sp_ticket 已經被使用過",
    "SPTKTID_TXNLOG_NF": "查無使用者認證/簽署結果",
    "SPTKT_OVD": "Sp_ticket 逾期",
    "APP_USER_CANCEL": "APP 簽章時使用者取消",
    "APP_SIGN_FAILURE": "APP 簽章失敗",
    "DEVID_SPTKT_MISMATCH": "Device_id 與sp ticket 中對應之身份證字號雜湊值不符合",
    "PS_FCM_NOT_FOUND": "APP 推播資源失效",
    "PS_CONNECT_500": "推播模組PS 回應500",
    "DB_CONN_ERR": "資料庫連線失敗",
}
ID_RE = re.compile(r"^[A-Z][0-9A-Z][0-9]{8}$")
SIGN_TYPES = ("PKCS#1", "PKCS#7", "RAW")


def checksum(key, fields, iv=None):
    pt = hashlib.sha256("".join(fields).encode("utf-8")).hexdigest().encode()
    iv = iv if iv is not None else os.urandom(12)
    return (iv + AESGCM(key).encrypt(iv, pt, None)).hex()


def checksum_ok(key, fields, hexstr):
    try:
        raw = bytes.fromhex(hexstr)
        if len(raw) <= 28:
            return False
        pt = AESGCM(key).decrypt(raw[:12], raw[12:], None)
    except Exception:
        return False
    want = hashlib.sha256("".join(fields).encode("utf-8")).hexdigest().encode()
    return hmac.compare_digest(pt, want)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def id_checksum_ok(idn):
    """Taiwan national ID (A123456789) and the 2021 resident format (A800000014)."""
    letters = "ABCDEFGHJKLMNPQRSTUVXYWZIO"
    if not ID_RE.match(idn) or not idn[1] in "1289":
        return False
    n = letters.index(idn[0]) + 10
    total = n // 10 + (n % 10) * 9
    for i, ch in enumerate(idn[1:9]):
        total += int(ch) * (8 - i)
    total += int(idn[9])
    return total % 10 == 0


class TwFido(simlib.Simulator):
    """TW FidO relying-party API simulator."""
    NAME = "twfido"

    @staticmethod
    def add_arguments(p):
        p.add_argument("--pki", help="test PKI directory (certs/make-test-pki.sh)")
        p.add_argument("--service-id", action="append", default=[],
                       help="ID=KEYFILE: an SP service id and a file holding its base64 AES-256 key")
        p.add_argument("--hash-salt", default=None, help="salt of hashed_id_num (default: random)")
        p.add_argument("--poll-interval-ms", type=int, default=4000)
        p.add_argument("--sp-name", default="臺北市政府")

    def __init__(self, args):
        super().__init__(args)
        self.services = {}
        for spec in args.service_id:
            sid, _, path = spec.partition("=")
            with open(path) as f:
                self._add_service(sid, f.read().strip())
        self.salt = (args.hash_salt or os.urandom(16).hex()).encode()
        self.pki = args.pki or simpki.default_pki()
        # Who has the app: 王小明 (good-g2's A123456789) and 陳美麗 under
        # B287654326 — the test PKI's B287654321 fails the ID check digit, and
        # the real service (and authd) refuse such an ID before anything else.
        self.people = {}
        for idn, card in (("A123456789", "good-g2"), ("B287654326", "good-g3")):
            try:
                self.people[idn] = {"card": simpki.Card(self.pki, card), "devices": ["我的手機"]}
            except FileNotFoundError:
                pass
        self.tickets = {}          # sp_ticket_id -> dict
        self.order = []            # sp_ticket_ids, oldest first
        self.txids = set()
        self.pending_style = "legacy"
        self.poll_ms = args.poll_interval_ms
        self.checksum_mode = "ok"
        self.idp_iv_mode = "random"
        self.next_errors = {}

    def _add_service(self, sid, key_b64):
        key = base64.b64decode(key_b64, validate=True)
        if len(key) != 32:
            raise SimError("the AES key must be 32 bytes")
        if not sid or len(sid) > 100:
            raise SimError("bad service id")
        self.services[sid] = key

    def hashed(self, id_num):
        return hmac.new(self.salt, id_num.encode(), hashlib.sha256).hexdigest()

    # ---- answers
    def err(self, method, code, status=200):
        full = "%s-%s" % (IFACE[method], code)
        return json_reply({"error_code": full, "error_message": MESSAGES.get(code, code)}, status)

    def idp(self, key, fields):
        mode = self.checksum_mode
        if mode == "missing":
            return None
        if mode == "wrong_key":
            key = hashlib.sha256(key).digest()
        if mode == "wrong_fields":
            fields = list(fields) + ["x"]
        iv = bytes(12) if self.idp_iv_mode == "zero" else None
        return checksum(key, fields, iv)

    def garbage(self, req):
        return Reply(200, "<html><body>系統維護中</body></html>", "text/html;charset=UTF-8")

    def handle(self, req):
        if not req.path.startswith(BASE):
            return Reply(404, {"timestamp": datetime.now(timezone.utc).isoformat(), "status": 404,
                               "error": "Not Found", "path": req.path})
        method = req.path[len(BASE):]
        if method not in IFACE:
            return Reply(404, {"timestamp": datetime.now(timezone.utc).isoformat(), "status": 404,
                               "error": "Not Found", "path": req.path})
        if req.method != "POST":
            return Reply(405, {"timestamp": datetime.now(timezone.utc).isoformat(), "status": 405,
                               "error": "Method Not Allowed", "path": req.path})
        try:
            body = req.json()
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return Reply(400, {"timestamp": datetime.now(timezone.utc).isoformat(), "status": 400,
                               "error": "Bad Request", "path": req.path})
        with self.lock:
            forced = self.next_errors.pop(method, None)
            if forced:
                return self.err(method, forced)
            if method == "getAthOrSignResult":
                return self.result(method, body, req.path)
            return self.ticket(method, body)

    def _str(self, body, name, required=True):
        v = body.get(name)
        if v is None:
            if required:
                raise KeyError(name)
            return ""
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return str(v)
        if not isinstance(v, str):
            raise KeyError(name)
        return v

    def ticket(self, method, body):
        try:
            txid = self._str(body, "transaction_id")
            sid = self._str(body, "sp_service_id")
            sum_ = self._str(body, "sp_checksum")
            id_num = self._str(body, "id_num", method == "requestAthOrSignPush")
            op_code = self._str(body, "op_code")
            op_mode = self._str(body, "op_mode", method == "getSpTicket") \
                if method == "getSpTicket" else "PUSH"
            hint = self._str(body, "hint", False)
            device = self._str(body, "device_user_def_desc", False) \
                if method == "requestAthOrSignPush" else ""
            sign_info = body.get("sign_info") or {}
            if not isinstance(sign_info, dict):
                raise KeyError("sign_info")
            sign_data = self._str(sign_info, "sign_data", False)
        except KeyError:
            return self.err(method, "PM_INV_NF")
        key = self.services.get(sid)
        if key is None:
            return self.err(method, "SPSVCID_NF")
        if method == "getSpTicket":
            fields = [txid, sid, id_num, op_code, op_mode, hint, sign_data]
        else:
            fields = [txid, sid, id_num, device, op_code, hint, sign_data]
        if not checksum_ok(key, fields, sum_):
            return self.err(method, "INV_SP_CHECKSUM")
        if not txid or len(txid) > 100:
            return self.err(method, "PM_INV_NF")
        if id_num and not id_checksum_ok(id_num):
            return self.err(method, "PM_IDN_FT_ERR")
        if op_code not in ("ATH", "SIGN"):
            return self.err(method, "PM_INV_NF")
        if method == "getSpTicket" and op_mode not in ("I-SCAN", "APP2APP", "MWEB2APP"):
            return self.err(method, "PM_INV_NF")
        tl = body.get("time_limit", 60)
        try:
            if isinstance(tl, bool) or (isinstance(tl, str) and not tl.isdigit()):
                raise ValueError
            tl = int(tl)
        except (TypeError, ValueError):
            return self.err(method, "SPTKT_TIME_FT_ERR")
        if tl < 30 or tl > 600:
            return self.err(method, "SPTKT_TIME_ORV")
        if len(sign_data) > 1024:
            return self.err(method, "SIGNDATA_LEN_LIMIT")
        if op_code == "SIGN":
            st = sign_info.get("sign_type", "PKCS#7")
            enc = sign_info.get("tbs_encoding", "NONE")
            alg = sign_info.get("hash_algorithm", "SHA256")
            if not sign_data or st not in SIGN_TYPES or enc not in ("NONE", "base64") or \
                    (st != "RAW" and alg not in simpki.HASHES) or (st == "RAW" and enc != "base64"):
                return self.err(method, "PM_INV_NF")
        if (sid, txid) in self.txids:
            return self.err(method, "TXNLOG_INS_ERR")
        person = self.people.get(id_num) if id_num else None
        if id_num and person is None:
            return self.err(method, "IDNUM_USERPROF_NF")
        if device and device not in person["devices"]:
            return self.err(method, "DEV_DESC_MISMATCH")
        self.txids.add((sid, txid))
        tid = str(uuid.uuid4())
        now = self.now()
        exp = now + tl
        payload = {"transaction_id": txid, "op_code": op_code, "op_mode": op_mode,
                   "sp_service_id": sid, "sp_ticket_id": tid, "sp_name": self.args.sp_name,
                   "hint": hint,
                   "expiration_time": datetime.fromtimestamp(exp, timezone(timedelta(hours=8)))
                   .strftime("%Y-%m-%d %H:%M:%S"),
                   "hashed_id_num": self.hashed(id_num) if id_num else "", "version": "1.0"}
        seg = b64url(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
        sp_ticket = seg + "." + b64url(hashlib.sha256(seg.encode()).digest())
        self.tickets[tid] = {"sp_ticket_id": tid, "transaction_id": txid, "sp_service_id": sid,
                             "id_num": id_num, "op_code": op_code, "op_mode": op_mode,
                             "method": method, "hint": hint, "sign_info": sign_info,
                             "created": now, "expires": exp, "state": "sent",
                             "last_poll": None, "result": None, "fail": None}
        self.order.append(tid)
        out = {"error_code": "0", "error_message": "成功", "result": {"sp_ticket": sp_ticket}}
        c = self.idp(key, [txid, "0", sp_ticket])
        if c is not None:
            out["result"]["idp_checksum"] = c
        return json_reply(out)

    def result(self, method, body, path):
        try:
            txid = self._str(body, "transaction_id")
            sid = self._str(body, "sp_service_id")
            sum_ = self._str(body, "sp_checksum")
            tid = self._str(body, "sp_ticket_id")
        except KeyError:
            return self.err(method, "PM_INV_NF")
        key = self.services.get(sid)
        if key is None:
            return self.err(method, "SPSVCID_NF")
        if not checksum_ok(key, [txid, sid, tid], sum_):
            return self.err(method, "INV_SP_CHECKSUM")
        t = self.tickets.get(tid)
        if t is None or t["transaction_id"] != txid or t["sp_service_id"] != sid:
            return self.err(method, "SPTKTID_SPTKT_NF")
        now = self.now()
        if t["last_poll"] is not None and (now - t["last_poll"]) * 1000 < self.poll_ms:
            # No public source says what the real service answers to a poll
            # faster than the documented 4 s: a Spring Boot 429 (its error
            # shape is the one the real API uses for HTTP errors).
            return Reply(429, {"timestamp": datetime.now(timezone.utc).isoformat(), "status": 429,
                               "error": "Too Many Requests", "path": path},
                         headers={"Retry-After": str(max(1, -(-self.poll_ms // 1000)))})
        t["last_poll"] = now
        st = t["state"]
        if st in ("sent", "opened") and now > t["expires"]:
            t["state"] = st = "expired"
        if st == "expired":
            return self.err(method, "SPTKT_OVD")
        if st == "failed":
            return self.err(method, t["fail"])
        if st == "redeemed":
            return self.err(method, "SPTKTID_SPTKT_RDM")
        if st in ("sent", "opened"):
            if self.pending_style == "v29":
                return self.err(method, "SPTKTID_TXNLOG_NF")
            code = "20002" if st == "sent" else "20003"
            return json_reply({"error_code": code,
                               "error_message": "使用者尚未完成" if st == "sent" else "使用者處理中"})
        # approved: the result, once
        t["state"] = "redeemed"
        r = t["result"]
        res = {"hashed_id_num": r["hashed_id_num"]}
        fields = [txid, "0", r["hashed_id_num"], r.get("signed_response", "")]
        if "signed_response" in r:
            res["signed_response"] = r["signed_response"]
            res["cert"] = r["cert"]
        c = self.idp(key, fields)
        if c is not None:
            res["idp_checksum"] = c
        return json_reply({"error_code": "0", "error_message": "成功", "result": res})

    # ---- the person, through the control port
    def _ticket(self, a):
        ref = a.get("ticket", "latest")
        if ref == "latest":
            if not self.order:
                raise SimError("no ticket yet")
            ref = self.order[-1]
        t = self.tickets.get(ref)
        if t is None:
            raise SimError("no such ticket")
        return t

    def _live(self, t):
        if t["state"] in ("sent", "opened") and self.now() > t["expires"]:
            t["state"] = "expired"
        if t["state"] not in ("sent", "opened"):
            raise SimError("ticket is %s" % t["state"])

    def control_service(self, a):
        self._add_service(a["id"], a["key_b64"])
        return {"ok": True}

    def control_person(self, a):
        idn = a["id_num"]
        if not id_checksum_ok(idn):
            raise SimError("bad national id")
        self.people[idn] = {"card": simpki.Card(self.pki, a.get("card", "good-g2")),
                            "devices": list(a.get("devices", ["我的手機"]))}
        return {"ok": True, "hashed_id_num": self.hashed(idn)}

    def control_tickets(self, a):
        out = []
        for tid in self.order:
            t = self.tickets[tid]
            out.append({k: t[k] for k in ("sp_ticket_id", "transaction_id", "op_code", "op_mode",
                                           "method", "state", "expires", "hint")})
        return {"tickets": out}

    def control_open(self, a):
        t = self._ticket(a)
        self._live(t)
        t["state"] = "opened"
        return {"ok": True}

    def control_approve(self, a):
        t = self._ticket(a)
        self._live(t)
        who = a.get("id_num") or t["id_num"]
        if not who:
            raise SimError("a QR ticket needs the id_num of who scanned it")
        if t["id_num"] and who != t["id_num"]:
            t["state"], t["fail"] = "failed", "DEVID_SPTKT_MISMATCH"
            return {"ok": False, "state": "failed"}
        person = self.people.get(who)
        if person is None:
            raise SimError("no such person")
        r = {"hashed_id_num": self.hashed(who)}
        if t["op_code"] == "SIGN":
            si = t["sign_info"]
            data = si.get("sign_data", "")
            raw = base64.b64decode(data) if si.get("tbs_encoding", "NONE") == "base64" \
                else data.encode("utf-8")
            card = person["card"]
            st = si.get("sign_type", "PKCS#7")
            alg = si.get("hash_algorithm", "SHA256")
            if st == "PKCS#7":
                sig = card.cms_sign(raw, alg, embed_cert=True)
            elif st == "PKCS#1":
                sig = card.pkcs1_sign(raw, alg)
            else:
                sig = card.raw_sign(raw)
            r["signed_response"] = base64.b64encode(sig).decode()
            r["cert"] = card.certb64
        t["result"] = r
        t["state"] = "approved"
        return {"ok": True, "hashed_id_num": r["hashed_id_num"]}

    def control_deny(self, a):
        t = self._ticket(a)
        self._live(t)
        t["state"], t["fail"] = "failed", "APP_USER_CANCEL"
        return {"ok": True}

    def control_sign_fail(self, a):
        t = self._ticket(a)
        self._live(t)
        t["state"], t["fail"] = "failed", "APP_SIGN_FAILURE"
        return {"ok": True}

    def control_expire(self, a):
        t = self._ticket(a)
        t["expires"] = self.now() - 1
        return {"ok": True}

    def control_pending_style(self, a):
        if a.get("style") not in ("legacy", "v29"):
            raise SimError("style is legacy or v29")
        self.pending_style = a["style"]
        return {"ok": True}

    def control_poll_interval(self, a):
        self.poll_ms = int(a["ms"])
        return {"ok": True}

    def control_checksum(self, a):
        if a.get("mode") not in ("ok", "wrong_key", "wrong_fields", "missing"):
            raise SimError("mode is ok, wrong_key, wrong_fields or missing")
        self.checksum_mode = a["mode"]
        return {"ok": True}

    def control_idp_iv(self, a):
        if a.get("mode") not in ("random", "zero"):
            raise SimError("mode is random or zero")
        self.idp_iv_mode = a["mode"]
        return {"ok": True}

    def control_next_error(self, a):
        if a.get("method") not in IFACE or not re.match(r"^[A-Z0-9_]{2,40}$", a.get("code", "")):
            raise SimError("method and code")
        self.next_errors[a["method"]] = a["code"]
        return {"ok": True}


if __name__ == "__main__":
    simlib.main(TwFido)
