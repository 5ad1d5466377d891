/* modules/webauthn_trust.h — what a registered key counts as: verified
 * hardware (amr "hwk", the hardware property the policy needs for AAL3) or a
 * passkey (amr "swk").
 *
 * Hardware means the key's attestation certificate chain ends at a root the
 * operator trusts — [webauthn] attestation_roots, or the attestation roots
 * that the FIDO Metadata Service (mds_blob) lists for the key's model — and
 * nothing speaks against it: the model is not denied, not reported
 * compromised by the MDS, on hardware_aaguids when that list is set, and the
 * credential is not backup eligible (a synced passkey can leave the device).
 * A key's own claim (a self-made certificate, self attestation, "none") never
 * makes it hardware.
 *
 * The verdict is computed from the record's evidence every time a key is used
 * or shown, never stored, so a change of trust configuration (a root removed,
 * a model revoked in a new BLOB) applies to keys registered before it.
 *
 * Configuration is set by wa_trust_configure() before threads start and is
 * read-only afterwards (as webauthn.c's). */
#ifndef AUTHD_WEBAUTHN_TRUST_H
#define AUTHD_WEBAUTHN_TRUST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct conf;

enum wa_synced {
	WA_SYNCED_AAL2,    /* a synced passkey counts as a passkey (never hardware) */
	WA_SYNCED_AAL1,    /* ... and its user verification is not counted: one factor */
	WA_SYNCED_REFUSE,  /* synced passkeys cannot be registered */
};

enum wa_why {
	WA_WHY_ROOT,       /* hardware: chains to an attestation_roots certificate */
	WA_WHY_MDS,        /* hardware: chains to the MDS roots of its model */
	WA_WHY_NONE,       /* no attestation ("none") */
	WA_WHY_SELF,       /* self attestation: the key vouches for itself */
	WA_WHY_UNVERIFIED, /* a statement authd cannot vouch for (record's att_note) */
	WA_WHY_NOCHAIN,    /* a certificate that does not chain to a trusted root */
	WA_WHY_NOTLISTED,  /* chains, but the model is not on hardware_aaguids */
	WA_WHY_MDS_STATUS, /* the MDS reports the model revoked or compromised */
	WA_WHY_SYNCED,     /* backup eligible: a synced passkey */
	WA_WHY_LEGACY,     /* registered before attestation chains were kept */
	WA_WHY_DENIED,     /* the model is on denied_aaguids: cannot be used at all */
};

struct wa_verdict {
	int hardware;
	int denied;
	enum wa_why why;
	char detail[128];  /* for logs and authctl: the MDS status, the chain error, ... */
};

/* Takes the [webauthn] trust keys: loads attestation_roots and the MDS BLOB
 * (signature, chain to mds_root, nextUpdate at now), parses the AAGUID lists
 * and synced_passkeys. 0, or -1 with a message naming the key in err. Replaces
 * the previous configuration. */
int wa_trust_configure(const struct conf *c, time_t now, char *err, size_t errsz);
void wa_trust_fini(void);

/* The verdict on a credential record (webauthn.h) at the time now. */
void wa_trust_eval(const json_t *rec, time_t now, struct wa_verdict *v);

/* A short name of why ("root", "mds", "none", "self", "unverified", "nochain",
 * "notlisted", "mds_status", "synced", "legacy", "denied"). */
const char *wa_why_name(enum wa_why why);

int wa_trust_denied(const uint8_t aaguid[16]);

/* What the configuration holds, for the start-up log: the number of
 * attestation roots, and of the MDS BLOB its serial ("no"), models and
 * nextUpdate (all 0 without a BLOB). */
struct wa_trust_summary {
	int roots;
	long long mds_serial;
	size_t mds_models;
	time_t mds_next_update;
	size_t hardware_aaguids, denied_aaguids;
};
void wa_trust_summary(struct wa_trust_summary *s);
enum wa_synced wa_trust_synced(void);

/* Parses a comma/space list of AAGUIDs (32 hex digits, dashes allowed) into a
 * new array of *n entries (NULL when empty); -1 on a malformed one. */
int wa_aaguid_list(const char *s, uint8_t (**out)[16], size_t *n);

#endif
