#!/usr/bin/python3
"""tests/unit/vectors/tw_vectors.py — the test vectors of test_twfido_proto.c
and test_mobileid_proto.c, computed independently of authd's C code with
Python's hashlib and Debian's python3-cryptography (AESGCM). Running it
prints the values the C tests hard-code; a change of algorithm on either side
shows as a mismatch.

TW FidO: checksum = hex(IV || AES-256-GCM_key(hex(SHA-256(fields joined))) || tag)
Mobile ID: IdentifyNo = hex(SHA-256(UTF-16LE(fields joined + HashKey)))
"""
import base64
import hashlib
import json

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY = bytes(range(32))
IV_ZERO = bytes(12)
IV_A = bytes(range(0xa0, 0xac))


def checksum(key, iv, fields):
    pt = hashlib.sha256("".join(fields).encode()).hexdigest().encode()
    return (iv + AESGCM(key).encrypt(iv, pt, None)).hex()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


TX = "046b6c7f-0b8a-43b9-b35d-6489e6daee91"
SID = "7b2c7f94-9f7b-481a-89a8-56b883dea695"
TID = "c5d9f3e0-5c1e-4a7e-9d2f-2b9f3b8e6a41"
HASHED = "3f2a9c0e8b7d6f5a4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5"

print("-- TW FidO")
f1 = [TX, SID, "A123456789", "SIGN", "I-SCAN", "待簽署資料", "RE9DX0RJR0VTVF8xMjM0NTY3ODkw"]
print("V1 getSpTicket, zero IV:", checksum(KEY, IV_ZERO, f1))
f2 = [TX, SID, "A123456789", "", "ATH", "臺北市政府登入", ""]
print("V2 push ATH, IV a0..ab:", checksum(KEY, IV_A, f2))
f3 = [TX, SID, TID]
print("V3 result request, zero IV:", checksum(KEY, IV_ZERO, f3))

payload = {"transaction_id": TX, "op_code": "SIGN", "op_mode": "PUSH", "sp_service_id": SID,
           "sp_ticket_id": TID, "sp_name": "臺北市政府", "hint": "臺北市政府登入",
           "expiration_time": "2026-05-01 12:30:00", "hashed_id_num": HASHED, "version": "1.0"}
seg = b64url(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
ticket = seg + "." + b64url(hashlib.sha256(seg.encode()).digest())
print("V4 sp_ticket:", ticket)
print("V4 ticket answer idp_checksum (IV a0..ab):", checksum(KEY, IV_A, [TX, "0", ticket]))
SIGNED = "MIIBsignedresponse+/="
print("V5 result idp_checksum (zero IV):", checksum(KEY, IV_ZERO, [TX, "0", HASHED, SIGNED]))

print("-- Mobile ID")


def idn(fields, key):
    return hashlib.sha256(("".join(fields) + key).encode("utf-16-le")).hexdigest()


inp = json.dumps({"MemberNo": "A123456789", "Action": "Login"}, separators=(",", ":"))
m1 = ["42712608", "1.0", "1", "20260501a1b2c3d4e5f60718293a4b5c6d7e8f90", "sess=臺北-α😀", inp]
print("M1 login (CJK, Greek, an astral emoji):", idn(m1, "Zx9#hash-key"))
m2 = ["11111111", "1.0", "10", "20240308013436767044", "A123456789", "srv8b13776bf752463eab91863cc0b1ff9999008"]
print("M2 ServerSideVerifyResult (go-twca's mock values):", idn(m2, "1234567890"))
print("M3 empty fields and key 'k':", idn(["", ""], "k"))

VN = "20260501a1b2c3d4e5f60718293a4b5c6d7e8f90"
OUT4 = json.dumps({"MemberNo": "A123456789", "Token": "srv0a7b2f24edc34aa1b890a1d25368f86f42547",
                   "TimeStamp": "2026-05-01T00:00:00.0000000Z"}, separators=(",", ":"))
print("M4 Login answer OutputParams:", OUT4)
print("M4 Login answer IdentifyNo:", idn(["42712608", "1.0", "1", VN, "S", "0", OUT4], "Zx9#hash-key"))
MIDRESP = json.dumps({"code": "0000", "fullcode": "0", "message": "success", "msisdn": "0912345678",
                      "reqSeq": "01170985781802851328466605", "rspSeq": "3257407",
                      "rspTime": "2026-05-01T00:00:10Z", "srvCode": "364", "result": {}}, separators=(",", ":"))
OUT5 = json.dumps({"MemberNo": "A123456789", "Token": "srv0a7b2f24edc34aa1b890a1d25368f86f42547",
                   "TimeStamp": "2026-05-01T00:00:10.0000000Z",
                   "MIDOutputParams": {"MIDResp": MIDRESP, "VerifyCode": "0000", "VerifyMsg": "success"}},
                  ensure_ascii=False, separators=(",", ":"))
print("M5 return OutputParams:", OUT5)
print("M5 return IdentifyNo:", idn(["42712608", "1.0", "1", VN, "S", "0", "sess=臺北-α😀", OUT5], "Zx9#hash-key"))
