/* examples/authd-cli.c — a command-line face on libauthd-client, for operators
 * checking a deployment and for the integration tests: discovery, a
 * client_credentials token, access-token verification, introspection and the
 * host login (password, then a one-time code), all through the library.
 *
 * Configuration comes from the environment so that no secret is on the command
 * line: AUTHD_ISSUER (required), AUTHD_CA (CA file), AUTHD_CLIENT_ID,
 * AUTHD_SECRET_FILE (mode 0600), AUTHD_TIMEOUT_MS.
 *
 *   authd-cli discover
 *   authd-cli token [SCOPE]              prints an access token (client_credentials)
 *   authd-cli verify TOKEN AUDIENCE      prints the claims as JSON
 *   authd-cli introspect TOKEN           prints the claims, or exits 3 when inactive
 *   authd-cli login USER [SCOPE]         password (and OTP if asked) read from stdin lines
 *   authd-cli device SCOPE [WAIT_MS]     device flow: prints the code and page, then
 *                                        polls once (or until WAIT_MS) and prints the
 *                                        access token's claims
 * Exit status: 0 success, 1 refused or failed (status text on stderr), 2 usage,
 * 3 inactive token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <authd/client.h>

static int
fail(const char *what, int rc)
{
	fprintf(stderr, "authd-cli: %s: %s (%d)\n", what, authd_strerror(rc), rc);
	return 1;
}

/* One line from stdin into buf, newline removed; 0 on success. */
static int
read_line(char *buf, size_t n)
{
	if (fgets(buf, (int)n, stdin) == NULL)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static int
cmd_login(authd_client_t *c, const char *user, const char *scope)
{
	char pw[1024], otp[64];
	authd_login_t *l = NULL;
	authd_claims_t *cl;
	int rc;

	if (read_line(pw, sizeof(pw)) != 0)
		return fail("password", AUTHD_ERR_ARG);
	rc = authd_client_password_login(c, user, pw, scope, &l);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc == AUTHD_ERR_MFA_REQUIRED) {
		fprintf(stderr, "authd-cli: one-time code required\n");
		if (read_line(otp, sizeof(otp)) != 0) {
			authd_login_free(&l);
			return fail("one-time code", AUTHD_ERR_ARG);
		}
		rc = authd_client_otp_login(c, l, otp);
		OPENSSL_cleanse(otp, sizeof(otp));
	}
	if (rc == AUTHD_ERR_THROTTLED)
		fprintf(stderr, "authd-cli: retry after %d s\n", authd_login_retry_after(l));
	if (rc != AUTHD_OK) {
		authd_login_free(&l);
		return fail("login", rc);
	}
	cl = (authd_claims_t *)authd_login_claims(l);
	printf("%s\n", authd_claims_json(cl));
	authd_login_free(&l);
	return 0;
}

static int
cmd_device(authd_client_t *c, const char *scope, int wait_ms)
{
	authd_device_t *d = NULL;
	authd_tokens_t *t = NULL;
	int rc;

	if ((rc = authd_client_device_start(c, scope, &d)) != AUTHD_OK)
		return fail("device authorization", rc);
	printf("user_code %s\nverification_uri %s\ninterval %d\nexpires_in %d\n",
	       authd_device_user_code(d), authd_device_verification_uri(d),
	       authd_device_interval(d), authd_device_expires_in(d));
	fflush(stdout);
	rc = wait_ms > 0 ? authd_client_device_wait(c, d, wait_ms, &t)
	                 : authd_client_device_poll(c, d, &t);
	authd_device_free(&d);
	if (rc != AUTHD_OK)
		return fail("device poll", rc);
	printf("access_token %s\n", authd_tokens_access_token(t));
	authd_tokens_free(&t);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *issuer = getenv("AUTHD_ISSUER"), *ca = getenv("AUTHD_CA");
	const char *cid = getenv("AUTHD_CLIENT_ID"), *sf = getenv("AUTHD_SECRET_FILE");
	const char *to = getenv("AUTHD_TIMEOUT_MS");
	authd_client_t *c;
	authd_claims_t *cl = NULL;
	int rc = 2;

	if (argc < 2 || issuer == NULL) {
		fprintf(stderr, "usage: AUTHD_ISSUER=... authd-cli discover|token|verify|introspect|login|device ...\n");
		return 2;
	}
	if ((c = authd_client_new()) == NULL)
		return fail("init", AUTHD_ERR_NOMEM);
	if ((rc = authd_client_set_issuer(c, issuer)) != AUTHD_OK ||
	    (ca != NULL && (rc = authd_client_set_ca_file(c, ca)) != AUTHD_OK) ||
	    (cid != NULL && (rc = authd_client_set_client_id(c, cid)) != AUTHD_OK) ||
	    (sf != NULL && (rc = authd_client_set_secret_file(c, sf)) != AUTHD_OK) ||
	    (to != NULL && (rc = authd_client_set_timeout_ms(c, atoi(to))) != AUTHD_OK)) {
		rc = fail("configuration", rc);
		goto out;
	}
	if (strcmp(argv[1], "discover") == 0 && argc == 2) {
		if ((rc = authd_client_discover(c)) != AUTHD_OK) {
			rc = fail("discover", rc);
			goto out;
		}
		printf("issuer %s\ntoken_endpoint %s\njwks_uri %s\n", issuer,
		       authd_client_metadata(c, "token_endpoint"), authd_client_metadata(c, "jwks_uri"));
	} else if (strcmp(argv[1], "token") == 0 && argc <= 3) {
		char *at = NULL;
		int exp = 0;

		if ((rc = authd_client_credentials(c, argc == 3 ? argv[2] : NULL, &at, &exp)) != AUTHD_OK) {
			rc = fail("token", rc);
			goto out;
		}
		printf("%s\n", at);
		authd_string_free(at);
	} else if (strcmp(argv[1], "verify") == 0 && argc == 4) {
		if ((rc = authd_client_verify_access_token(c, argv[2], argv[3], &cl)) != AUTHD_OK) {
			rc = fail("verify", rc);
			goto out;
		}
		printf("%s\n", authd_claims_json(cl));
	} else if (strcmp(argv[1], "introspect") == 0 && argc == 3) {
		rc = authd_client_introspect(c, argv[2], &cl);
		if (rc == AUTHD_ERR_INACTIVE) {
			printf("inactive\n");
			rc = 3;
			goto out;
		}
		if (rc != AUTHD_OK) {
			rc = fail("introspect", rc);
			goto out;
		}
		printf("%s\n", authd_claims_json(cl));
	} else if (strcmp(argv[1], "login") == 0 && (argc == 3 || argc == 4)) {
		rc = cmd_login(c, argv[2], argc == 4 ? argv[3] : NULL);
		goto out;
	} else if (strcmp(argv[1], "device") == 0 && (argc == 3 || argc == 4)) {
		rc = cmd_device(c, argv[2], argc == 4 ? atoi(argv[3]) : 0);
		goto out;
	} else {
		fprintf(stderr, "authd-cli: unknown command or wrong arguments\n");
		rc = 2;
		goto out;
	}
	rc = 0;
out:
	authd_claims_free(&cl);
	authd_client_free(&c);
	return rc;
}
