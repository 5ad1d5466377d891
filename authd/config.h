/* authd/config.h — the INI configuration (inih). Every key has a safe default
 * except [server] issuer. Relative paths are resolved against the folder of the
 * config file. docs/operations.md is the reference; keep both in step. */
#ifndef AUTHD_CONFIG_H
#define AUTHD_CONFIG_H

#include <stddef.h>

#define CONF_MAX_LISTEN 8
#define CONF_MAX_PROXIES 16
#define CONF_MAX_METRICS_ALLOW 32

struct conf {
	char *path;                 /* the config file itself */
	char *dir;                  /* its folder, for relative paths */

	/* [server] */
	char *issuer;               /* https://localhost:8443 (no trailing slash) */
	char *listen[CONF_MAX_LISTEN]; /* "host:port", "[::1]:port"; default 127.0.0.1:8443 */
	int n_listen;
	char *tls_cert, *tls_key;   /* PEM paths; both unset = plain HTTP (tests behind a proxy only) */
	int tls;                    /* 1 when tls_cert and tls_key are set */
	int threads;                /* event-loop threads; 0 = number of cores */
	int workers;                /* worker threads for Argon2id/RSA; 0 = number of cores */
	int worker_queue_per_source; /* 16: jobs one address prefix may have queued or running */
	int worker_queue_per_account; /* 4: jobs one account may have queued or running */
	int worker_queue_max;       /* 256: jobs queued or running in all */
	size_t max_header_bytes;    /* 8192 */
	size_t max_body_bytes;      /* 65536 */
	int read_timeout_s;         /* 10: whole request must arrive within this */
	int max_connections;        /* 4096 per process */
	char *user;                 /* drop privileges to this user after binding when root; "" = stay */
	char *trusted_proxies[CONF_MAX_PROXIES]; /* addresses whose X-Forwarded-For is believed */
	int n_trusted_proxies;
	char *metrics_allow[CONF_MAX_METRICS_ALLOW]; /* address ranges that may read /metrics;
	                               none given: loopback only (127.0.0.0/8, ::1) */
	int n_metrics_allow;

	/* [store] */
	char *store_path;           /* folder holding the LMDB environment; "data" */
	size_t store_map_mb;        /* 1024 */
	int store_nosync;           /* 0; 1 only for throwaway test instances */
	char *store_backend;        /* "lmdb" (default) or "postgresql" */
	char *store_conninfo;  /* postgresql: libpq connection string (may name several hosts) */
	int store_pool;        /* postgresql: connections per node; 8 */
	int store_deadline_ms; /* postgresql: longest wait for a connection and an answer; 5000 */

	/* [tokens] (seconds) */
	int access_ttl;             /* 300 */
	int id_ttl;                 /* 300 */
	int refresh_ttl;            /* 2592000 (30 days, absolute for a family) */
	int code_ttl;               /* 60 */
	int login_ttl;              /* 600: a login transaction (page shown -> form posted) */
	int session_ttl;            /* 43200: SSO session absolute lifetime */
	int session_idle;           /* 1800 */
	int leeway;                 /* 30: clock skew allowed when checking JWTs */
	char *signing_alg;          /* "ES256" default for ID and access tokens */
	int client_rate;            /* 50: requests per second per client at /token,
	                             * /introspect, /revoke, /device_authorization; 0: no limit */
	int client_burst;           /* 100: requests a client may make at once */

	/* [password] */
	unsigned long argon2_memory_kib; /* 19456 (19 MiB) */
	unsigned long argon2_ops;   /* 2 */
	int min_length;             /* 8 */
	int max_length;             /* 128 (NIST: at least 64) */
	char *breached_list;        /* path of the common-password list; NULL = the shipped one (datafile.h) */

	/* [throttle] — policy and numbers: docs/security.md "Throttling" */
	int account_max_failures;   /* 5 wrong passwords for one account from one address prefix ... */
	int account_base_delay_s;   /* ... then it waits 60 s, doubled per further failure ... */
	int account_lockout_s;      /* ... up to 900 s (15 min) */
	int account_window_s;       /* 86400: an account's counts are forgotten a day after the last failure */
	int account_soft_failures;  /* 100 failures of one account from all addresses ... */
	int account_soft_interval_s; /* ... then one password check per 60 s for it (slower, never locked) */
	int known_address_days;     /* 30: a prefix where the account completed a sign-in skips that slow-down */
	int code_max_failures;      /* 5 wrong one-time / recovery codes for one account ... */
	int code_base_delay_s;      /* ... then 30 s, doubled ... */
	int code_max_delay_s;       /* ... up to 900 s */
	int login_max_attempts;     /* 5 failed steps after the first factor end a login transaction */
	int address_free_failures;  /* 10 failures from one address prefix (all accounts) ... */
	int address_base_delay_ms;  /* ... then 1000 ms, doubled ... */
	int address_max_delay_s;    /* ... up to 900 s */
	int address_window_s;       /* 3600: address counters forgotten an hour after the last failure */
	int ipv4_prefix;            /* 32: IPv4 addresses grouped by this many bits */
	int ipv6_prefix;            /* 64: IPv6 addresses grouped by this many bits (one /64 = one client) */
	int lease_s;                /* 30: an in-flight verification's mark outlives a dead process this long */
	int device_code_max_failures; /* 10 wrong device user codes per address prefix ... */
	int device_code_window_s;   /* ... within 600 s */

	/* [log] */
	int log_level;              /* 0 error, 1 warn, 2 info (default), 3 debug */

	/* [ui] */
	char *default_lang;         /* "zh-TW": a catalogue LANG.json of the i18n folder */
	/* Folders of the page layer (docs/operations.md "Pages"); NULL = found by
	 * the data-path rule (authd/datafile.h): share/templates, share/i18n, share/static. */
	char *ui_templates, *ui_i18n, *ui_static;

	/* [policy] — assurance levels (docs/assurance-levels.md) */
	char *acr_aal1, *acr_aal2, *acr_aal3; /* acr names; "aal1", "aal2", "aal3" */
	int aal2_max_s;             /* 43200: an AAL2 sign-in is good for 12 h ... */
	int aal2_idle_s;            /* 1800: ... and 30 min without use */
	int aal3_max_s;             /* 43200 */
	int aal3_idle_s;            /* 900 */

	/* [totp] */
	char *totp_key_file;        /* 32-byte sealing key for TOTP secrets, 64 hex; "totp.key"
	                               (created 0600 by authd/authctl when absent) */
	char *totp_issuer;          /* issuer label shown by authenticator apps; "City SSO" */
	int totp_window;            /* 1: accept codes one step either side */

	/* [webauthn] — security keys and passkeys (docs/webauthn.md) */
	char *webauthn_rp_id;       /* relying-party id; default: the issuer's host */
	char *webauthn_rp_name;     /* shown by the browser; "City SSO" */
	char *webauthn_origins;     /* comma list of accepted origins; default: the issuer's origin */
	char *webauthn_uv;          /* user verification: "preferred" (default), "required", "discouraged" */
	char *webauthn_attestation; /* "direct" (default: ask for and verify attestation) or "none" */
	int webauthn_timeout_ms;    /* 120000 */
	/* What counts as hardware (docs/webauthn.md, modules/webauthn_trust.c) */
	char *webauthn_attestation_roots; /* PEM bundle of trusted attestation roots; unset = none */
	char *webauthn_mds_blob;    /* FIDO MDS3 BLOB file (the JWT); unset = not used */
	char *webauthn_mds_root;    /* root the BLOB must chain to; "/etc/authd/fido-mds-root.pem" */
	char *webauthn_mds_crls;    /* PEM CRLs for the BLOB's chain; unset = not checked */
	char *webauthn_hardware_aaguids; /* comma list: only these models count as hardware; "" = any */
	char *webauthn_denied_aaguids;   /* comma list: models refused outright; "" */
	char *webauthn_synced_passkeys;  /* "aal2" (default), "aal1" or "refuse" */

	/* [branding] — the city's name, logo, colours and footer links on every page
	 * (docs/operations.md); NULL: not shown */
	char *brand_name;       /* "臺北市政府": shown above every page's title */
	char *brand_name_en;    /* the same for the other languages; default brand_name */
	char *brand_logo;       /* a file of the [ui] static folder, e.g. "city-logo.svg" */
	char *brand_stylesheet; /* a file of the [ui] static folder loaded after authd.css
	                               (colours: override --accent, --on-accent, ...) */
	char *brand_privacy_url, *brand_security_url, *brand_accessibility_url;
	char *brand_contact;     /* "1999": how to reach the city; shown in the footer */
	char *brand_contact_url; /* "tel:1999" or a https:// page */

	/* [x509] — the citizen certificate (docs/citizen-certificate.md) */
	int x509_enabled;           /* 0 */
	char *x509_trust_anchors;   /* PEM bundle of roots (GRCA) */
	char *x509_intermediates;   /* PEM bundle of issuing CAs (MOICA G2, G3) */
	char *x509_policy_oids;     /* comma list of accepted certificate policies; empty = any */
	int x509_ocsp;              /* 1: check OCSP (responder from AIA) */
	int x509_crl;               /* 1: fall back to the CRL (from the CDP) */
	char *x509_crl_cache;       /* folder for downloaded CRLs; "crl-cache" */
	int x509_fail_open;         /* 0: when neither OCSP nor CRL answers, refuse (fail closed) */
	char *x509_unbound;         /* "refuse" (default) or "create": a card not bound to an account */
	char *x509_tls_listen;      /* host:port of the client-certificate listener; "" = off */
	char *x509_proxy_header;    /* header carrying the client certificate from trusted proxies; "" = off */
	char *x509_tls_max_version; /* "1.3" (default) or "1.2": highest TLS of the card listener */
	char *
	    x509_local_sign_origin; /* the HiPKI local sign server whose /popupForm the page opens; "http://localhost:61161" */
	int x509_ocsp_timeout_ms;   /* 3000 */
	size_t x509_crl_max_bytes;  /* 33554432 (32 MiB) */
	int x509_crl_timeout_ms;    /* 30000: all CRL downloads of one revocation check together */
	int x509_crl_cache_entries; /* 1024: CRLs (partitions) kept parsed in memory and on disk */
	size_t x509_crl_cache_bytes; /* 268435456 (256 MiB): DER bytes of the CRLs kept in memory */

	/* [audit] */
	int audit_retention_days;   /* 200 (>= 183 enforced: 資通安全管理法 asks for 6 months) */
};

/* Loads and validates. On error returns -1 and writes a human message into err. */
int conf_load(struct conf *c, const char *path, char *err, size_t errsz);
void conf_free(struct conf *c);
/* Resolves p against c->dir into a malloc'd absolute path (p returned copied if absolute). */
char *conf_path(const struct conf *c, const char *p);

#endif
