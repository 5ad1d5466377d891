#!/usr/bin/python3
"""tests/sim/mobileid.py — a simulator of TWCA's Mobile ID (行動身分識別,
電信認證) "TWID Portal" API, as docs/taiwan-methods.md describes it.

Every message carries IdentifyNo = lower-case hex SHA-256 over the UTF-16LE
bytes of the listed fields concatenated, followed by the HashKey that
HashKeyNo names (ReturnURL and IdentifyNo itself are never included).

Service (application/x-www-form-urlencoded in, JSON out unless noted):
  POST /IDPortal/Login
       BusinessNo ApiVersion HashKeyNo VerifyNo ReturnURL ReturnParams InputParams IdentifyNo
       IdentifyNo over BusinessNo+ApiVersion+HashKeyNo+VerifyNo+ReturnParams+InputParams
       InputParams = JSON {"MemberNo": national ID, "Action": "Login"}
       -> {BusinessNo, ApiVersion, HashKeyNo, VerifyNo, ResultCode "S"|"F", ReturnCode,
           ReturnCodeDesc, OutputParams (a JSON string {MemberNo, Token, TimeStamp}), IdentifyNo}
  POST /IDPortal/Do   (the browser is form-POSTed here; an HTML page)
       BusinessNo ApiVersion HashKeyNo VerifyNo Token IdentifyNo
       IdentifyNo over BusinessNo+ApiVersion+HashKeyNo+VerifyNo+Token
       While the person has not finished, the page re-posts itself every 300 ms;
       once decided it form-POSTs the result to ReturnURL:
       BusinessNo ApiVersion HashKeyNo VerifyNo ResultCode ReturnCode ReturnCodeDesc
       ReturnParams OutputParams IdentifyNo
       IdentifyNo over BusinessNo+ApiVersion+HashKeyNo+VerifyNo+ResultCode+ReturnCode+ReturnParams+OutputParams
  POST /IDPortal/ServerSideVerifyResult   (the server-to-server confirmation)
       BusinessNo ApiVersion HashKeyNo VerifyNo MemberNo Token IdentifyNo
       IdentifyNo over BusinessNo+ApiVersion+HashKeyNo+VerifyNo+MemberNo+Token
  POST /IDPortal/ServerSideTransaction    (no browser: the carrier checks a given number)
       BusinessNo ApiVersion HashKeyNo VerifyNo InputParams IdentifyNo
       InputParams = {"MemberNo", "Action": "ValidateMSISDNAdvance",
                      "MIDInputParams": {"Msisdn", "Birthday", "ClauseVer", "ClauseTime"}}
JSON answers carry IdentifyNo over BusinessNo+ApiVersion+HashKeyNo+VerifyNo+ResultCode+ReturnCode+OutputParams.

Control ops (besides simlib's):
  business {no, hash_keys: {HashKeyNo: HashKey}}   add a business number and its keys
  subscriber {member_no, msisdn, birthday?}         who owns which number (default: A123456789 → 0912345678)
  transactions                                      list, newest last
  approve {transaction}      the person passes the carrier check on TWCA's page
  deny {transaction, reason} reason: rocid | msisdn | birthday | status | notaccept | cancel
  expire {transaction}       the token expires now
  identify {mode}            our IdentifyNo: ok | wrong_key | missing
  forge {transaction, kind}  fields of a forged return POST: bad_identify (a success with an
                             IdentifyNo under another key) | altered_member (a success whose
                             OutputParams names someone else) | replay (the genuine fields of a
                             decided transaction, posted again)
{transaction} is a VerifyNo or "latest".
"""
import hashlib
import html
import json
import os
import re
import secrets
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlib  # noqa: E402
from simlib import Reply, SimError, json_reply  # noqa: E402

# ReturnCode -> (ResultCode, description). The 364xxxx carrier codes and
# 2031000 are the ones public client code shows; those marked (sim) are this
# simulator's choice where no public source names the real code.
CODES = {
    "0": ("S", "成功"),
    "2031000": ("F", "參數錯誤, BusinessNo, VerifyNo 與 Token 紀錄不一致"),
    "2031001": ("F", "參數錯誤 (sim)"),
    "2031002": ("F", "IdentifyNo 驗證失敗 (sim)"),
    "2031003": ("F", "BusinessNo 或 HashKeyNo 不存在 (sim)"),
    "2031004": ("F", "交易逾時 (sim)"),
    "2031005": ("F", "使用者取消 (sim)"),
    "2031006": ("F", "VerifyNo 重複 (sim)"),
    "2031007": ("F", "驗證尚未完成 (sim)"),
    "3645002": ("F", "mno response: invalid msisdn"),
    "3645011": ("F", "mno response: invalid rocid"),
    "3645016": ("F", "mno response: Valid ID but invalid birthday"),
    "3645021": ("F", "mno response: status bad"),
    "3645024": ("F", "mno response: msisdn not accept"),
}
DENY = {"rocid": "3645011", "msisdn": "3645002", "birthday": "3645016", "status": "3645021",
        "notaccept": "3645024", "cancel": "2031005"}


def identify_no(fields, hash_key):
    """Lower-case hex SHA-256 of UTF-16LE(concatenated fields + HashKey)."""
    return hashlib.sha256(("".join(fields) + hash_key).encode("utf-16-le")).hexdigest()


class MobileId(simlib.Simulator):
    """TWCA Mobile ID (TWID Portal) simulator."""
    NAME = "mobileid"

    @staticmethod
    def add_arguments(p):
        p.add_argument("--business", action="append", default=[],
                       help="NO:HASHKEYNO=KEYFILE — a business number, a key number and a file with its HashKey")
        p.add_argument("--token-ttl", type=int, default=300)

    def __init__(self, args):
        super().__init__(args)
        self.biz = {}
        for spec in args.business:
            no, _, rest = spec.partition(":")
            kno, _, path = rest.partition("=")
            with open(path) as f:
                self.biz.setdefault(no, {})[kno] = f.read().strip()
        self.subs = {"A123456789": {"msisdn": "0912345678", "birthday": "19800101"}}
        self.tx = {}
        self.order = []
        self.ttl = args.token_ttl
        self.identify_mode = "ok"

    # ---- helpers
    def key_of(self, f):
        return self.biz.get(f.get("BusinessNo", ""), {}).get(f.get("HashKeyNo", ""))

    def out_identify(self, key, fields):
        if self.identify_mode == "missing":
            return None
        if self.identify_mode == "wrong_key":
            key = key + "x"
        return identify_no(fields, key)

    def answer(self, f, key, code, output=""):
        rc, desc = CODES[code]
        out = {"BusinessNo": f.get("BusinessNo", ""), "ApiVersion": f.get("ApiVersion", ""),
               "HashKeyNo": f.get("HashKeyNo", ""), "VerifyNo": f.get("VerifyNo", ""),
               "ResultCode": rc, "ReturnCode": code, "ReturnCodeDesc": desc, "OutputParams": output}
        if key is not None:
            idn = self.out_identify(key, [out["BusinessNo"], out["ApiVersion"], out["HashKeyNo"],
                                          out["VerifyNo"], rc, code, output])
            if idn is not None:
                out["IdentifyNo"] = idn
        return json_reply(out)

    def check(self, f, names):
        """Common checks: fields present, business and key known, IdentifyNo right.
        Returns (key, error_code or None)."""
        for n in names + ["IdentifyNo"]:
            if n not in f:
                return None, "2031001"
        if f.get("ApiVersion") != "1.0":
            return None, "2031001"
        key = self.key_of(f)
        if key is None:
            return None, "2031003"
        want = identify_no([f[n] for n in names], key)
        if not secrets.compare_digest(want.encode(), f["IdentifyNo"].encode()):
            return key, "2031002"
        return key, None

    def _tx(self, a):
        ref = a.get("transaction", "latest")
        if ref == "latest":
            if not self.order:
                raise SimError("no transaction yet")
            ref = self.order[-1]
        t = self.tx.get(ref)
        if t is None:
            raise SimError("no such transaction")
        return t

    def _decided(self, t):
        if t["state"] == "pending" and self.now() > t["expires"]:
            t["state"], t["code"] = "decided", "2031004"
        return t["state"] == "decided"

    def _output(self, t):
        if t["code"] in ("2031004", "2031005"):
            return ""
        code = t["code"] if t["code"] != "0" else "0000"
        mid = {"code": code[-4:], "fullcode": t["code"], "message": "success" if t["code"] == "0"
               else CODES[t["code"]][1], "msisdn": t.get("msisdn", ""), "reqSeq": t["verify_no"][-26:],
               "rspSeq": str(3257400 + len(self.order)),
               "rspTime": datetime.fromtimestamp(t["decided_at"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "srvCode": "364", "result": {}}
        return json.dumps({"MemberNo": t["member_no"], "Token": t["token"],
                           "TimeStamp": datetime.fromtimestamp(t["decided_at"], timezone.utc)
                           .strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
                           "MIDOutputParams": {"MIDResp": json.dumps(mid, separators=(",", ":")),
                                               "VerifyCode": mid["code"], "VerifyMsg": mid["message"]}},
                          ensure_ascii=False, separators=(",", ":"))

    def return_fields(self, t, key):
        rc = CODES[t["code"]][0]
        out = self._output(t)
        f = {"BusinessNo": t["business_no"], "ApiVersion": "1.0", "HashKeyNo": t["hash_key_no"],
             "VerifyNo": t["verify_no"], "ResultCode": rc, "ReturnCode": t["code"],
             "ReturnCodeDesc": CODES[t["code"]][1], "ReturnParams": t["return_params"], "OutputParams": out}
        idn = self.out_identify(key, [f["BusinessNo"], f["ApiVersion"], f["HashKeyNo"], f["VerifyNo"],
                                      rc, t["code"], f["ReturnParams"], out])
        if idn is not None:
            f["IdentifyNo"] = idn
        return f

    # ---- service
    def handle(self, req):
        routes = {"/IDPortal/Login": self.login, "/IDPortal/Do": self.do,
                  "/IDPortal/ServerSideVerifyResult": self.verify_result,
                  "/IDPortal/ServerSideTransaction": self.server_side}
        fn = routes.get(req.path)
        if fn is None:
            return Reply(404, "<html><body>404</body></html>", "text/html")
        if req.method != "POST":
            return Reply(405, "<html><body>405</body></html>", "text/html")
        try:
            f = req.form()
        except (ValueError, UnicodeDecodeError):
            f = {}
        with self.lock:
            return fn(f)

    def login(self, f):
        names = ["BusinessNo", "ApiVersion", "HashKeyNo", "VerifyNo", "ReturnParams", "InputParams"]
        if "ReturnURL" not in f:
            return self.answer(f, self.key_of(f), "2031001")
        key, err = self.check(f, names)
        if err:
            return self.answer(f, key, err)
        try:
            inp = json.loads(f["InputParams"])
            member = inp["MemberNo"]
        except (ValueError, KeyError, TypeError):
            return self.answer(f, key, "2031001")
        if not re.match(r"^[A-Z][0-9A-Z][0-9]{8}$", member or "") or \
                not re.match(r"^https?://[^\s]+$", f["ReturnURL"]) or \
                not re.match(r"^[0-9A-Za-z]{1,50}$", f["VerifyNo"]):
            return self.answer(f, key, "2031001")
        if f["VerifyNo"] in self.tx:
            return self.answer(f, key, "2031006")
        token = "srv" + secrets.token_hex(19)
        t = {"verify_no": f["VerifyNo"], "business_no": f["BusinessNo"], "hash_key_no": f["HashKeyNo"],
             "member_no": member, "token": token, "return_url": f["ReturnURL"],
             "return_params": f["ReturnParams"], "state": "pending", "code": None,
             "created": self.now(), "expires": self.now() + self.ttl, "decided_at": None, "kind": "web"}
        self.tx[f["VerifyNo"]] = t
        self.order.append(f["VerifyNo"])
        out = json.dumps({"MemberNo": member, "Token": token,
                          "TimeStamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")},
                         separators=(",", ":"))
        return self.answer(f, key, "0", out)

    def page(self, title, body, status=200):
        return Reply(status, "<!doctype html><html lang=\"zh-Hant\"><head><meta charset=\"utf-8\">"
                     "<title>%s</title></head><body><h1>%s</h1>%s</body></html>"
                     % (html.escape(title), html.escape(title), body), "text/html;charset=UTF-8")

    def do(self, f):
        names = ["BusinessNo", "ApiVersion", "HashKeyNo", "VerifyNo", "Token"]
        key, err = self.check(f, names)
        if err:
            return self.page("行動身分識別 — 參數錯誤", "<p id=\"error\">%s %s</p>"
                             % (err, html.escape(CODES[err][1])), 400)
        t = self.tx.get(f["VerifyNo"])
        if t is None or t["token"] != f["Token"] or t["business_no"] != f["BusinessNo"]:
            return self.page("行動身分識別 — 參數錯誤", "<p id=\"error\">2031000 %s</p>"
                             % html.escape(CODES["2031000"][1]), 400)
        if not self._decided(t):
            hidden = "".join("<input type=\"hidden\" name=\"%s\" value=\"%s\">"
                             % (html.escape(n), html.escape(f[n])) for n in names + ["IdentifyNo"])
            return self.page("行動身分識別", (
                "<p id=\"state\">pending</p><p>請依電信業者指示完成門號驗證（%s）。</p>"
                "<form id=\"again\" method=\"post\" action=\"/IDPortal/Do\">%s</form>"
                "<script>setTimeout(function(){document.getElementById('again').submit();},300);</script>")
                % (html.escape(t["member_no"][:1] + "*****" + t["member_no"][-4:]), hidden))
        fields = self.return_fields(t, key)
        hidden = "".join("<input type=\"hidden\" name=\"%s\" value=\"%s\">" % (html.escape(k), html.escape(v))
                         for k, v in fields.items())
        return self.page("行動身分識別", (
            "<p id=\"state\">decided</p><form id=\"ret\" method=\"post\" action=\"%s\">%s</form>"
            "<script>document.getElementById('ret').submit();</script>")
            % (html.escape(t["return_url"]), hidden))

    def verify_result(self, f):
        names = ["BusinessNo", "ApiVersion", "HashKeyNo", "VerifyNo", "MemberNo", "Token"]
        key, err = self.check(f, names)
        if err:
            return self.answer(f, key, err)
        t = self.tx.get(f["VerifyNo"])
        if t is None or t["token"] != f["Token"] or t["business_no"] != f["BusinessNo"] or \
                t["member_no"] != f["MemberNo"]:
            return self.answer(f, key, "2031000")
        if not self._decided(t):
            return self.answer(f, key, "2031007")
        return self.answer(f, key, t["code"], self._output(t))

    def server_side(self, f):
        names = ["BusinessNo", "ApiVersion", "HashKeyNo", "VerifyNo", "InputParams"]
        key, err = self.check(f, names)
        if err:
            return self.answer(f, key, err)
        try:
            inp = json.loads(f["InputParams"])
            member = inp["MemberNo"]
            mid = inp["MIDInputParams"]
            msisdn = mid["Msisdn"]
            if inp.get("Action") != "ValidateMSISDNAdvance" or not mid.get("ClauseVer") or not mid.get("ClauseTime"):
                raise KeyError("Action")
        except (ValueError, KeyError, TypeError):
            return self.answer(f, key, "2031001")
        if f["VerifyNo"] in self.tx:
            return self.answer(f, key, "2031006")
        sub = self.subs.get(member)
        if not re.match(r"^09[0-9]{8}$", msisdn or ""):
            code = "3645002"
        elif sub is None or sub["msisdn"] != msisdn:
            code = "3645011"
        elif mid.get("Birthday") and mid["Birthday"] != sub.get("birthday"):
            code = "3645016"
        else:
            code = "0"
        t = {"verify_no": f["VerifyNo"], "business_no": f["BusinessNo"], "hash_key_no": f["HashKeyNo"],
             "member_no": member, "token": "srv" + secrets.token_hex(19), "return_url": "",
             "return_params": "", "state": "decided", "code": code, "msisdn": msisdn,
             "created": self.now(), "expires": self.now() + self.ttl, "decided_at": self.now(),
             "kind": "server"}
        self.tx[f["VerifyNo"]] = t
        self.order.append(f["VerifyNo"])
        return self.answer(f, key, code, self._output(t))

    def garbage(self, req):
        return Reply(200, "<html><body>系統維護中</body></html>", "text/html;charset=UTF-8")

    # ---- control
    def control_business(self, a):
        keys = a.get("hash_keys")
        if not isinstance(keys, dict) or not keys:
            raise SimError("hash_keys")
        self.biz.setdefault(str(a["no"]), {}).update({str(k): str(v) for k, v in keys.items()})
        return {"ok": True}

    def control_subscriber(self, a):
        self.subs[a["member_no"]] = {"msisdn": a["msisdn"], "birthday": a.get("birthday", "")}
        return {"ok": True}

    def control_transactions(self, a):
        return {"transactions": [{k: self.tx[v][k] for k in ("verify_no", "member_no", "state", "code", "kind")}
                                 for v in self.order]}

    def _pending(self, a):
        t = self._tx(a)
        if self._decided(t):
            raise SimError("transaction already decided (%s)" % t["code"])
        return t

    def control_approve(self, a):
        t = self._pending(a)
        sub = self.subs.get(t["member_no"])
        t["msisdn"] = a.get("msisdn") or (sub or {}).get("msisdn", "0900000000")
        t["state"], t["code"], t["decided_at"] = "decided", "0" if sub else "3645011", self.now()
        return {"ok": True, "code": t["code"]}

    def control_deny(self, a):
        t = self._pending(a)
        reason = a.get("reason", "rocid")
        if reason not in DENY:
            raise SimError("reason is one of %s" % ", ".join(DENY))
        t["msisdn"] = (self.subs.get(t["member_no"]) or {}).get("msisdn", "")
        t["state"], t["code"], t["decided_at"] = "decided", DENY[reason], self.now()
        return {"ok": True, "code": t["code"]}

    def control_expire(self, a):
        t = self._tx(a)
        t["expires"] = self.now() - 1
        if t["state"] == "pending":
            t["decided_at"] = self.now()
        self._decided(t)
        return {"ok": True}

    def control_identify(self, a):
        if a.get("mode") not in ("ok", "wrong_key", "missing"):
            raise SimError("mode is ok, wrong_key or missing")
        self.identify_mode = a["mode"]
        return {"ok": True}

    def control_forge(self, a):
        t = self._tx(a)
        key = self.biz[t["business_no"]][t["hash_key_no"]]
        kind = a.get("kind", "bad_identify")
        if kind not in ("bad_identify", "altered_member", "replay"):
            raise SimError("kind is bad_identify, altered_member or replay")
        if kind == "replay":
            # the genuine return of a decided transaction, as an attacker
            # who saw it (browser history, a proxy log) would post it again
            if t["state"] != "decided":
                raise SimError("replay needs a decided transaction")
            return {"return_url": t["return_url"], "fields": self.return_fields(t, key)}
        saved = (t["state"], t["code"], t["decided_at"], t.get("msisdn"))
        # what an attacker would claim: a success for this transaction
        t["state"], t["code"], t["decided_at"], t["msisdn"] = "decided", "0", self.now(), "0900000000"
        f = self.return_fields(t, key)
        t["state"], t["code"], t["decided_at"], t["msisdn"] = saved
        if kind == "bad_identify":
            f["IdentifyNo"] = identify_no([f["BusinessNo"], f["ApiVersion"], f["HashKeyNo"], f["VerifyNo"],
                                           f["ResultCode"], f["ReturnCode"], f["ReturnParams"],
                                           f["OutputParams"]], "not-the-key")
        else:
            f["OutputParams"] = f["OutputParams"].replace(t["member_no"], "B287654326")
        return {"return_url": t["return_url"], "fields": f}


if __name__ == "__main__":
    simlib.main(MobileId)
