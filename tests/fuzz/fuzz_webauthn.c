/* tests/fuzz/fuzz_webauthn.c — libFuzzer target for the WebAuthn parsers
 * (modules/webauthn.c, modules/webauthn_attest.c): the attestation object
 * (webauthn_att_parse) with every format's attStmt, the authenticator data
 * inside it and on its own (webauthn_authdata_parse), the binary structures
 * inside statements (TPM TPMT_PUBLIC and TPMS_ATTEST, Android's key
 * description, a COSE key), and the whole registration check
 * (webauthn_register_verify: libcbor, the attestation verifiers, the trust
 * verdict) against a fixed clientDataJSON. Whatever is accepted must hold up:
 * pointers stay inside the input, lengths inside their bounds, and an
 * accepted registration yields a complete record with an allowed algorithm,
 * a known attestation type, and never "hardware" (no root is trusted here). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "config.h"
#include "webauthn.h"
#include "webauthn_attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int configured;

static void
check_authdata(const uint8_t *p, size_t n)
{
	struct wa_authdata ad;

	if (webauthn_authdata_parse(p, n, &ad) != WA_OK)
		return;
	if (n < 37 || ad.rp_id_hash != p)
		abort();
	if (ad.has_cred) {
		if (ad.cred_id < p || ad.cred_id + ad.cred_id_len > p + n ||
		    ad.cred_id_len == 0 || ad.cred_id_len > WA_CRED_ID_MAX)
			abort();
		if (ad.cose < p || ad.cose_len == 0 || ad.cose + ad.cose_len > p + n)
			abort();
	}
}

static void
within(const uint8_t *p, size_t len, const uint8_t *base, size_t n)
{
	if (len > 0 && (p < base || p + len > base + n))
		abort();
}

/* The statement parsers read exactly their input; what they point at stays in it. */
static void
check_structures(const uint8_t *p, size_t n)
{
	struct wa_tpm_public tp;
	struct wa_tpm_attest ta;
	struct wa_android_kd kd;
	EVP_PKEY *k;

	if (wa_tpm_public_parse(p, n, &tp) == 0) {
		within(tp.unique1, tp.unique1_len, p, n);
		within(tp.unique2, tp.unique2_len, p, n);
	}
	if (wa_tpm_attest_parse(p, n, &ta) == 0) {
		within(ta.extra_data, ta.extra_data_len, p, n);
		within(ta.name, ta.name_len, p, n);
	}
	if (wa_android_kd_parse(p, n, &kd) == 0)
		within(kd.challenge, kd.challenge_len, p, n);
	if ((k = wa_cose_pkey(p, n)) != NULL)
		EVP_PKEY_free(k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wa_att att;
	json_t *rec = NULL;
	char *ao;
	int rc;

	if (!configured) {
		struct conf c;
		char err[128];

		memset(&c, 0, sizeof(c));
		c.issuer = (char *)"https://sso.city.example";
		c.webauthn_uv = (char *)"preferred";
		c.webauthn_attestation = (char *)"direct";
		if (webauthn_configure(&c, err, sizeof(err)) != 0)
			abort();
		configured = 1;
	}
	if (size > WA_ATT_MAX + 16)
		return 0;
	check_authdata(data, size);
	check_structures(data, size);
	if (webauthn_att_parse(data, size, &att) == WA_OK) {
		int i;

		if (att.fmt[0] == '\0' || strlen(att.fmt) >= sizeof(att.fmt) || att.authdata == NULL ||
		    att.authdata_len == 0 || att.authdata_len > WA_ATT_MAX ||
		    (att.sig != NULL && att.sig_len > WA_SIG_MAX) || att.n_x5c < 0 ||
		    att.n_x5c > WA_X5C_MAX || att.cert_info_len > WA_TPM_MAX ||
		    att.pub_area_len > WA_TPM_MAX || strlen(att.ver) >= sizeof(att.ver))
			abort();
		for (i = 0; i < att.n_x5c; i++)
			if (att.x5c[i] == NULL || att.x5c_len[i] == 0 || att.x5c_len[i] > WA_CERT_MAX)
				abort();
		check_authdata(att.authdata, att.authdata_len);
		if (att.cert_info != NULL)
			check_structures(att.cert_info, att.cert_info_len);
		if (att.pub_area != NULL)
			check_structures(att.pub_area, att.pub_area_len);
		webauthn_att_free(&att);
	}
	/* A clientDataJSON that passes, so every input reaches libcbor and
	 * libfido2; "none" attestation with a well-formed authData is a valid
	 * registration, so acceptance itself is no bug, an incomplete record is. */
	if (size == 0 || (ao = b64url_encode_alloc(data, size)) == NULL)
		return 0;
	rc = webauthn_register_verify("eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiYWJj"
	    "Iiwib3JpZ2luIjoiaHR0cHM6Ly9zc28uY2l0eS5leGFtcGxlIn0", ao, "abc", 0, &rec);
	free(ao);
	if ((rc == WA_OK) != (rec != NULL))
		abort();
	if (rec != NULL) {
		json_int_t alg = json_integer_value(json_object_get(rec, "alg"));

		if ((alg != -7 && alg != -8 && alg != -257) ||
		    !json_is_string(json_object_get(rec, "credential_id")) ||
		    !json_is_string(json_object_get(rec, "pk")) ||
		    !json_is_string(json_object_get(rec, "cose")) ||
		    wa_att_type_from_name(json_string_value(json_object_get(rec, "att"))) < 0 ||
		    webauthn_cred_hardware(rec, NULL))
			abort();
		json_decref(rec);
	}
	return 0;
}
