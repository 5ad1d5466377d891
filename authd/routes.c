/* authd/routes.c — the routing table: one line per endpoint (exact path, or
 * a folder ending in '/' for everything below it; allowed methods, handler,
 * metrics name, form-body rule). http.c serves it. */
#include "account.h"
#include "http.h"
#include "../modules/webauthn.h"
#include "oidc/oidc.h"
#include "ops.h"
#include "ui.h"
#include "web/pages.h"
#include "../modules/x509.h"

const struct http_route http_routes[] = {
	{ "/.well-known/openid-configuration", HTTP_GET, oidc_discovery, "discovery", 0 },
	{ "/jwks", HTTP_GET, oidc_jwks, "jwks", 0 },
	{ "/authorize", HTTP_GET | HTTP_POST, oidc_authorize, "authorize", 1 },
	{ "/login", HTTP_GET | HTTP_POST, oidc_login, "login", 1 },
	{ "/login/begin", HTTP_POST, oidc_login_begin, "login_begin", 1 },
	{ "/token", HTTP_POST, oidc_token, "token", 1 },
	{ "/userinfo", HTTP_GET | HTTP_POST, oidc_userinfo, "userinfo", 0 },
	{ "/introspect", HTTP_POST, oidc_introspect, "introspect", 1 },
	{ "/revoke", HTTP_POST, oidc_revoke, "revoke", 1 },
	{ "/logout", HTTP_GET | HTTP_POST, oidc_logout, "logout", 1 },
	{ "/account", HTTP_GET | HTTP_POST, account_page, "account", 1 },
	{ "/account/webauthn", HTTP_POST, webauthn_account, "account_webauthn", 1 },
	{ "/device_authorization", HTTP_POST, oidc_device_authorization, "device_authorization",
	    1 },
	{ "/device", HTTP_GET | HTTP_POST, oidc_device, "device", 1 },
	{ "/account/x509", HTTP_POST, x509_account_post, "account", 1 },
	{ "/static/", HTTP_GET, pages_static, "static", 0 },
	{ "/healthz", HTTP_GET, ops_healthz, "healthz", 0 },
	{ "/metrics", HTTP_GET, ops_metrics, "metrics", 0 },
	{ NULL, 0, ui_not_found, "unmatched", 0 },
};
