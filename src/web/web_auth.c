/*
 * web_auth.c — logging in and out, sessions and API tokens on requests,
 * users, tokens and the console audit log (admin pages).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "bacsc/error.h"
#include "web/web.h"

#define COOKIE "bacsc_session"

bool web_authenticate(web_req *r)
{
    web_db *db = r->app->db;
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    int rc = BACSC_ERR_NOT_FOUND;
    if (h && !strncasecmp(h, "Bearer ", 7))
        rc = web_token_get(db, h + 7, r->now, &r->auth);
    else {
        const char *c = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE);
        if (c)
            rc = web_session_get(db, c, r->now, &r->auth);
    }
    r->authed = rc == BACSC_OK;
    return r->authed;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int login_checked(web_req *r, const char *user, const char *pw)
{
    web_app *app = r->app;
    unsigned by_user = 0, by_addr = 0;
    web_login_failures(app->db, user, r->addr, r->now, app->cfg.login_window, &by_user, &by_addr);
    if (by_user >= app->cfg.login_max_user || by_addr >= app->cfg.login_max_addr) {
        web_audit(app->db, r->now, user, r->addr, "login-locked", user,
                  by_user >= app->cfg.login_max_user ? "too many failures for this user"
                                                     : "too many failures from this address");
        web_login_failed(app->db, user, r->addr, r->now);
        return web_reply_error(r, 429, "locked",
                               "too many failed logins; try again in %lld minutes",
                               (long long)(app->cfg.login_window + 59) / 60);
    }
    int role = WEB_ROLE_NONE;
    if (web_user_check(app->db, user, pw, &role) != BACSC_OK) {
        web_login_failed(app->db, user, r->addr, r->now);
        web_audit(app->db, r->now, user, r->addr, "login-failed", user, "wrong user or password");
        return web_reply_error(r, 401, "bad-credentials", "wrong user name or password");
    }
    char token[WEB_TOKEN_LEN + 1], csrf[WEB_TOKEN_LEN + 1];
    if (web_session_create(app->db, user, r->addr, r->now, app->cfg.session_ttl, token, csrf) !=
        BACSC_OK)
        return web_reply_error(r, 500, "internal", "%s", web_db_errmsg(app->db));
    web_login_clear(app->db, user);
    snprintf(r->set_cookie, sizeof r->set_cookie,
             COOKIE "=%s; Path=/; Max-Age=%lld; Secure; HttpOnly; SameSite=Strict", token,
             (long long)app->cfg.session_ttl);
    r->authed = true;
    snprintf(r->auth.user, sizeof r->auth.user, "%s", user);
    web_audit(app->db, r->now, user, r->addr, "login", user, "");
    return web_reply_json(r, 200,
                          json_pack("{s:s,s:s,s:s,s:I}", "user", user, "role",
                                    web_role_name(role), "csrf", csrf, "expires",
                                    (json_int_t)(r->now + app->cfg.session_ttl)));
}

int web_h_login(web_req *r)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0)
        return web_reply_error(r, 415, "content-type", "send the login as application/json");
    json_t *j = web_body_json(r);
    if (!j)
        return MHD_YES;
    const char *user = jstr(j, "user"), *pw = jstr(j, "password");
    int ret;
    if (!user || !pw || !web_name_ok(user) || strlen(pw) > WEB_PASSWORD_MAX)
        ret = web_reply_error(r, 400, "bad-request", "give \"user\" and \"password\" as strings");
    else
        ret = login_checked(r, user, pw);
    json_decref(j);
    return ret;
}

int web_h_logout(web_req *r)
{
    const char *c = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE);
    if (c)
        web_session_revoke(r->app->db, c);
    snprintf(r->set_cookie, sizeof r->set_cookie,
             COOKIE "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
    web_note(r, "logout", r->auth.user, NULL);
    return web_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}

/* Public: tells the page whether it is logged in (200 either way, so that
 * a fresh page shows the login form without an error). */
int web_h_session(web_req *r)
{
    if (!web_authenticate(r))
        return web_reply_json(r, 200, json_pack("{s:b,s:b,s:b}", "authenticated", 0, "ca",
                                                r->app->ca != NULL, "site",
                                                r->app->site != NULL));
    json_t *o = json_pack("{s:b,s:s,s:s,s:I,s:b,s:b}", "authenticated", 1, "user", r->auth.user, "role",
                          web_role_name(r->auth.role), "expires", (json_int_t)r->auth.expires,
                          "ca", r->app->ca != NULL, "site", r->app->site != NULL);
    if (!r->auth.bearer)
        json_object_set_new(o, "csrf", json_string(r->auth.csrf));
    return web_reply_json(r, 200, o);
}

/* ---- users ------------------------------------------------------------------------ */

static int user_row(void *user, const char *name, int role, int64_t created)
{
    json_array_append_new(user, json_pack("{s:s,s:s,s:I}", "name", name, "role",
                                          web_role_name(role), "created", (json_int_t)created));
    return 0;
}

int web_h_users(web_req *r)
{
    json_t *a = json_array();
    web_users(r->app->db, user_row, a);
    return web_reply_json(r, 200, json_pack("{s:o}", "users", a));
}

int web_h_user_add(web_req *r)
{
    json_t *j = web_body_json(r);
    if (!j)
        return MHD_YES;
    const char *name = jstr(j, "name"), *role = jstr(j, "role"), *pw = jstr(j, "password");
    int ret;
    int rl = web_role_parse(role);
    if (!name || !pw || rl == WEB_ROLE_NONE)
        ret = web_reply_error(r, 400, "bad-request",
                              "give \"name\", \"password\" and \"role\" (admin|installer|viewer)");
    else if (web_user_add(r->app->db, name, rl, pw) != BACSC_OK)
        ret = web_reply_error(r, 400, "bad-request", "%s", web_db_errmsg(r->app->db));
    else {
        web_note(r, "user-add", name, "role %s", role);
        ret = web_reply_json(r, 201, json_pack("{s:s,s:s}", "name", name, "role", role));
    }
    json_decref(j);
    return ret;
}

int web_h_user_remove(web_req *r)
{
    if (!strcmp(r->name, r->auth.user))
        return web_reply_error(r, 409, "self", "you cannot remove yourself");
    int rc = web_user_remove(r->app->db, r->name);
    if (rc == BACSC_ERR_NOT_FOUND)
        return web_reply_error(r, 404, "not-found", "%s", web_db_errmsg(r->app->db));
    if (rc != BACSC_OK)
        return web_reply_error(r, 500, "internal", "%s", web_db_errmsg(r->app->db));
    web_note(r, "user-remove", r->name, NULL);
    return web_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}

/* ---- tokens ------------------------------------------------------------------------ */

static int token_row(void *user, int64_t id, const char *owner, int64_t created, int64_t expires,
                     bool revoked)
{
    json_array_append_new(user, json_pack("{s:I,s:s,s:I,s:I,s:b}", "id", (json_int_t)id, "user",
                                          owner, "created", (json_int_t)created, "expires",
                                          (json_int_t)expires, "revoked", revoked));
    return 0;
}

int web_h_tokens(web_req *r)
{
    json_t *a = json_array();
    web_tokens(r->app->db, token_row, a);
    return web_reply_json(r, 200, json_pack("{s:o}", "tokens", a));
}

int web_h_token_create(web_req *r)
{
    json_t *j = web_body_json(r);
    if (!j)
        return MHD_YES;
    const char *user = jstr(j, "user");
    json_t *days = json_object_get(j, "expires_days");
    int ret;
    if (!user || (days && (!json_is_integer(days) || json_integer_value(days) < 0 ||
                           json_integer_value(days) > 3650))) {
        ret = web_reply_error(r, 400, "bad-request",
                              "give \"user\" and optionally \"expires_days\" (0..3650)");
        json_decref(j);
        return ret;
    }
    int64_t exp = days && json_integer_value(days) > 0 ? r->now + 86400 * json_integer_value(days)
                                                       : 0;
    char tok[128];
    int64_t id = 0;
    if (web_token_create(r->app->db, user, r->now, exp, tok, sizeof tok, &id) != BACSC_OK)
        ret = web_reply_error(r, 400, "bad-request", "%s", web_db_errmsg(r->app->db));
    else {
        web_note(r, "token-create", user, "token %lld", (long long)id);
        ret = web_reply_json(r, 201, json_pack("{s:I,s:s,s:s,s:I}", "id", (json_int_t)id, "user",
                                               user, "token", tok, "expires", (json_int_t)exp));
    }
    json_decref(j);
    return ret;
}

int web_h_token_revoke(web_req *r)
{
    int rc = web_token_revoke(r->app->db, r->ids[0]);
    if (rc != BACSC_OK)
        return web_reply_error(r, rc == BACSC_ERR_NOT_FOUND ? 404 : 500, "not-found", "%s",
                               web_db_errmsg(r->app->db));
    web_note(r, "token-revoke", "", "token %lld", (long long)r->ids[0]);
    return web_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}

/* ---- console audit ----------------------------------------------------------------- */

static int audit_row(void *user, int64_t id, int64_t time, const char *actor, const char *addr,
                     const char *action, const char *object, const char *detail)
{
    json_array_append_new(user, json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)id,
                                          "time", (json_int_t)time, "actor", actor, "address",
                                          addr, "action", action, "object", object, "detail",
                                          detail));
    return 0;
}

int web_h_audit(web_req *r)
{
    const char *q = web_query(r, "q"), *before = web_query(r, "before"),
               *lim = web_query(r, "limit");
    long long b = before ? atoll(before) : 0;
    long l = lim ? atol(lim) : 200;
    if (l < 1 || l > 1000)
        l = 200;
    json_t *a = json_array();
    web_audit_list(r->app->db, b, (unsigned)l, q, audit_row, a);
    return web_reply_json(r, 200, json_pack("{s:o}", "entries", a));
}
