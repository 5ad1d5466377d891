"""tests/sim/simpki.py — the test PKI's cards as the simulators use them.

Cards come from certs/make-test-pki.sh (GRCA-like root, MOICA-like G2/G3
issuing CAs; good-g2 王小明 A123456789, good-g3 陳美麗 B287654321, revoked,
expired, and "other" from a CA that copies the MOICA DN). Signing is done by
the openssl command line, as a card would sign: CMS (PKCS#7) with
`openssl cms -sign`, PKCS#1 v1.5 with `openssl dgst -sign`, and raw PKCS#1
padding of a ready DigestInfo with `openssl pkeyutl -sign`.
"""
import base64
import os
import subprocess
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import serialization

HASHES = {"SHA1": "sha1", "SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512"}

# The national IDs make-test-pki.sh writes into subjectDirectoryAttributes.
CARD_IDS = {"good-g2": "A123456789", "good-g3": "B287654321", "revoked": "C112223333",
            "revoked2": "D198765432", "expired": "E123450000", "other": "A123456789"}


class Card:
    def __init__(self, pki, name):
        self.pki = pki
        self.name = name
        self.crt = os.path.join(pki, name + ".crt")
        self.key = os.path.join(pki, name + ".key")
        if not (os.path.exists(self.crt) and os.path.exists(self.key)):
            raise FileNotFoundError("no card %s in %s (run certs/make-test-pki.sh)" % (name, pki))
        with open(self.crt, "rb") as f:
            self.cert = x509.load_pem_x509_certificate(f.read())
        self.der = self.cert.public_bytes(serialization.Encoding.DER)
        self.certb64 = base64.b64encode(self.der).decode()
        self.id_num = CARD_IDS.get(name, "")

    def subject(self):
        return self.cert.subject.rfc4514_string()

    def issuer(self):
        return self.cert.issuer.rfc4514_string()

    def serial_hex(self):
        return "%X" % self.cert.serial_number

    def cms_sign(self, data, hash_alg="SHA256", embed_cert=True, detached=False):
        """DER CMS SignedData over data, like the card's PKCS#7."""
        md = HASHES[hash_alg]
        with tempfile.TemporaryDirectory(prefix="authd-sim-") as d:
            tbs = os.path.join(d, "tbs")
            out = os.path.join(d, "sig")
            with open(tbs, "wb") as f:
                f.write(data)
            cmd = ["openssl", "cms", "-sign", "-binary", "-md", md, "-signer", self.crt,
                   "-inkey", self.key, "-in", tbs, "-outform", "DER", "-out", out]
            if not detached:
                cmd.append("-nodetach")
            if not embed_cert:
                cmd.append("-nocerts")
            subprocess.run(cmd, check=True, capture_output=True)
            with open(out, "rb") as f:
                return f.read()

    def pkcs1_sign(self, data, hash_alg="SHA256"):
        with tempfile.TemporaryDirectory(prefix="authd-sim-") as d:
            tbs = os.path.join(d, "tbs")
            with open(tbs, "wb") as f:
                f.write(data)
            r = subprocess.run(["openssl", "dgst", "-" + HASHES[hash_alg], "-sign", self.key, tbs],
                               check=True, capture_output=True)
            return r.stdout

    def raw_sign(self, digest_info):
        """PKCS#1 v1.5 padding over bytes the caller already hashed (DigestInfo)."""
        with tempfile.TemporaryDirectory(prefix="authd-sim-") as d:
            tbs = os.path.join(d, "tbs")
            with open(tbs, "wb") as f:
                f.write(digest_info)
            r = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", self.key, "-in", tbs],
                               check=True, capture_output=True)
            return r.stdout


def default_pki():
    """The PKI directory the e2e tests cache (same arguments, same cache)."""
    return os.environ.get("X509_E2E_PKI_CACHE") or os.path.join(
        os.environ.get("TMPDIR", "/tmp"), "authd-x509-e2e-pki3-%d" % os.getuid())


def ensure_pki(pki=None):
    """Makes (or reuses) the test PKI; returns its directory."""
    pki = pki or default_pki()
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    subprocess.run(["sh", os.path.join(root, "certs", "make-test-pki.sh"), pki, "1", "2", "3"],
                   check=True, capture_output=True)
    return pki
