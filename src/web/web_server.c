/*
 * web_server.c — the HTTPS server of the console: libmicrohttpd set-up (TLS
 * 1.3 through GnuTLS, connection/size/time limits), request bodies with a
 * bound, routing with authentication, CSRF and role checks, security
 * headers, and the embedded static files.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "web/web.h"
#include "web/web_static.h"

void web_config_default(web_config *c)
{
    memset(c, 0, sizeof *c);
    c->max_connections = 64;
    c->per_ip = 32;
    c->timeout_s = 30;
    c->max_upload = 32u << 20;
    c->max_json = 1u << 20;
    c->session_ttl = 8 * 3600;
    c->login_max_user = 5;
    c->login_max_addr = 20;
    c->login_window = 900;
    c->bip_timeout_ms = 3000;
    c->concurrency = 32;
    c->expiring_days = 30;
}

/* ---- responses ------------------------------------------------------------------ */

static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self'; connect-src 'self'; form-action 'self'; "
                          "frame-ancestors 'none'; base-uri 'none'";

static void secure_headers(struct MHD_Response *resp, bool cacheable)
{
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    MHD_add_response_header(resp, "Cache-Control", cacheable ? "no-cache" : "no-store");
}

static int queue(web_req *r, unsigned status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    r->status = (int)status;
    int ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

int web_reply_bytes(web_req *r, unsigned status, const char *type, const void *data, size_t len,
                    const char *disposition)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    if (disposition)
        MHD_add_response_header(resp, "Content-Disposition", disposition);
    if (r->set_cookie[0])
        MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
    secure_headers(resp, false);
    return queue(r, status, resp);
}

int web_reply_json(web_req *r, unsigned status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return web_reply_bytes(r, 500, "application/json",
                               "{\"error\":\"out of memory\",\"code\":\"internal\"}", 44, NULL);
    int ret = web_reply_bytes(r, status, "application/json", text, strlen(text), NULL);
    free(text);
    return ret;
}

int web_reply_error(web_req *r, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return web_reply_json(r, status, json_pack("{s:s,s:s}", "error", msg, "code", code));
}

const char *web_query(web_req *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

json_t *web_body_json(web_req *r)
{
    json_error_t e;
    json_t *j = r->len ? json_loadb((const char *)r->body, r->len, JSON_REJECT_DUPLICATES, &e)
                       : json_object();
    if (!j) {
        web_reply_error(r, 400, "bad-json", "the body is not JSON: %s (line %d)", e.text, e.line);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        web_reply_error(r, 400, "bad-json", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

void web_note(web_req *r, const char *action, const char *object, const char *fmt, ...)
{
    char detail[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    web_audit(r->app->db, r->now, r->authed ? r->auth.user : "", r->addr, action, object, detail);
}

/* ---- static files --------------------------------------------------------------- */

static const char *mime_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return "application/octet-stream";
    if (!strcmp(dot, ".js"))
        return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".css"))
        return "text/css; charset=utf-8";
    if (!strcmp(dot, ".html"))
        return "text/html; charset=utf-8";
    if (!strcmp(dot, ".svg"))
        return "image/svg+xml";
    return "application/octet-stream";
}

static const bacsc_web_static_file *static_find(const char *name)
{
    for (const bacsc_web_static_file *f = bacsc_web_static; f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

static int serve_static(web_req *r, const char *name)
{
    const bacsc_web_static_file *f = static_find(name);
    if (!f)
        return web_reply_error(r, 404, "not-found", "no such file");
    struct MHD_Response *resp = MHD_create_response_from_buffer(f->len, (void *)f->data,
                                                                MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", mime_of(name));
    secure_headers(resp, true);
    return queue(r, 200, resp);
}

/* The pages: one HTML shell; the script renders the page named by the path. */
static const char *const PAGES[] = {"/",      "/login",        "/devices", "/jobs",
                                    "/certificates", "/requests", "/audit", "/users", NULL};

/* ---- routing ----------------------------------------------------------------------- */

enum { R_PUBLIC = 1, R_CA = 2, R_SITE = 4, R_UPLOAD = 8 };

typedef struct route {
    const char *method;
    const char *path; /* '#' segment: a number (r->ids), '*' segment: a name (r->name) */
    int role;
    unsigned flags;
    web_handler h;
} route;

static const route ROUTES[] = {
    {"POST", "/api/login", 0, R_PUBLIC, web_h_login},
    {"POST", "/api/logout", WEB_ROLE_VIEWER, 0, web_h_logout},
    {"GET", "/api/session", 0, R_PUBLIC, web_h_session},
    {"GET", "/api/users", WEB_ROLE_ADMIN, 0, web_h_users},
    {"POST", "/api/users", WEB_ROLE_ADMIN, 0, web_h_user_add},
    {"DELETE", "/api/users/*", WEB_ROLE_ADMIN, 0, web_h_user_remove},
    {"GET", "/api/tokens", WEB_ROLE_ADMIN, 0, web_h_tokens},
    {"POST", "/api/tokens", WEB_ROLE_ADMIN, 0, web_h_token_create},
    {"DELETE", "/api/tokens/#", WEB_ROLE_ADMIN, 0, web_h_token_revoke},
    {"GET", "/api/audit", WEB_ROLE_ADMIN, 0, web_h_audit},
    {"POST", "/api/ca/requests", WEB_ROLE_INSTALLER, R_CA | R_UPLOAD, web_h_ca_upload},
    {"GET", "/api/ca/requests", WEB_ROLE_VIEWER, R_CA, web_h_ca_requests},
    {"POST", "/api/ca/requests/decide", WEB_ROLE_ADMIN, R_CA, web_h_ca_decide_bulk},
    {"POST", "/api/ca/requests/#/approve", WEB_ROLE_ADMIN, R_CA, web_h_ca_approve},
    {"POST", "/api/ca/requests/#/reject", WEB_ROLE_ADMIN, R_CA, web_h_ca_reject},
    {"GET", "/api/ca/batches", WEB_ROLE_VIEWER, R_CA, web_h_ca_batches},
    {"GET", "/api/ca/batches/#", WEB_ROLE_VIEWER, R_CA, web_h_ca_batch},
    {"GET", "/api/ca/batches/#/response", WEB_ROLE_VIEWER, R_CA, web_h_ca_response},
    {"GET", "/api/ca/certificates", WEB_ROLE_VIEWER, R_CA, web_h_ca_certs},
    {"GET", "/api/ca/certificates/timeline", WEB_ROLE_VIEWER, R_CA, web_h_ca_timeline},
    {"POST", "/api/ca/certificates/*/revoke", WEB_ROLE_ADMIN, R_CA, web_h_ca_revoke},
    {"GET", "/api/ca/crl", WEB_ROLE_ADMIN, R_CA, web_h_ca_crl},
    {"GET", "/api/ca/policy", WEB_ROLE_VIEWER, R_CA, web_h_ca_policy},
    {"PUT", "/api/ca/policy", WEB_ROLE_ADMIN, R_CA, web_h_ca_policy_set},
    {"GET", "/api/ca/audit", WEB_ROLE_ADMIN, R_CA, web_h_ca_audit},
    {"GET", "/api/site/devices", WEB_ROLE_VIEWER, R_SITE, web_h_site_devices},
    {"GET", "/api/site/summary", WEB_ROLE_VIEWER, R_SITE, web_h_site_summary},
    {"GET", "/api/site/jobs", WEB_ROLE_VIEWER, R_SITE, web_h_site_jobs},
    {"POST", "/api/site/jobs", WEB_ROLE_INSTALLER, R_SITE, web_h_site_job_create},
    {"GET", "/api/site/jobs/#", WEB_ROLE_VIEWER, R_SITE, web_h_site_job},
    {"GET", "/api/site/jobs/#/events", WEB_ROLE_VIEWER, R_SITE, web_h_site_job_events},
    {"POST", "/api/site/jobs/#/rerun", WEB_ROLE_INSTALLER, R_SITE, web_h_site_job_rerun},
    {"POST", "/api/site/csrs", WEB_ROLE_INSTALLER, R_SITE | R_CA, web_h_site_submit_csrs},
    {NULL, NULL, 0, 0, NULL}};

/* Does `path` match `pat`? Fills r->ids / r->name. */
static bool path_match(web_req *r, const char *pat, const char *path)
{
    r->n_ids = 0;
    r->name[0] = 0;
    while (*pat && *path) {
        if (*pat == '#' || *pat == '*') {
            const char *end = strchr(path, '/');
            size_t n = end ? (size_t)(end - path) : strlen(path);
            if (n == 0 || n >= sizeof r->name)
                return false;
            if (*pat == '#') {
                int64_t v = 0;
                for (size_t i = 0; i < n; i++) {
                    if (path[i] < '0' || path[i] > '9' || v > (INT64_MAX - 9) / 10)
                        return false;
                    v = v * 10 + (path[i] - '0');
                }
                if (r->n_ids < WEB_MAX_IDS)
                    r->ids[r->n_ids++] = v;
            } else {
                memcpy(r->name, path, n);
                r->name[n] = 0;
            }
            pat++;
            path += n;
            continue;
        }
        if (*pat != *path)
            return false;
        pat++;
        path++;
    }
    return !*pat && !*path;
}

/* Find the route; *path_known tells whether the path exists with another
 * method. */
static const route *route_find(web_req *r, bool *path_known)
{
    *path_known = false;
    for (const route *rt = ROUTES; rt->path; rt++) {
        if (!path_match(r, rt->path, r->url))
            continue;
        if (!strcmp(rt->method, r->method))
            return rt;
        *path_known = true;
    }
    return NULL;
}

static bool csrf_ok(web_req *r)
{
    const char *t = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
    size_t n = strlen(r->auth.csrf);
    return t && n > 0 && strlen(t) == n && CRYPTO_memcmp(t, r->auth.csrf, n) == 0;
}

static int dispatch_api(web_req *r)
{
    bool known;
    const route *rt = route_find(r, &known);
    if (!rt) {
        if (known)
            return web_reply_error(r, 405, "method-not-allowed", "%s is not allowed on %s",
                                   r->method, r->url);
        return web_reply_error(r, 404, "not-found", "no such API path: %s", r->url);
    }
    if (!(rt->flags & R_PUBLIC)) {
        if (!web_authenticate(r))
            return web_reply_error(r, 401, "unauthenticated",
                                   "log in first (session missing or expired)");
        bool changes = strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
        if (changes && !r->auth.bearer && !csrf_ok(r)) {
            web_note(r, "denied", r->url, "missing or wrong CSRF token");
            return web_reply_error(r, 403, "csrf", "missing or wrong X-CSRF-Token header");
        }
        if (r->auth.role < rt->role) {
            web_note(r, "denied", r->url, "%s %s needs the %s role", r->method, r->url,
                     web_role_name(rt->role));
            return web_reply_error(r, 403, "forbidden", "this needs the %s role (you are %s)",
                                   web_role_name(rt->role), web_role_name(r->auth.role));
        }
    }
    if ((rt->flags & R_CA) && !r->app->ca)
        return web_reply_error(r, 404, "no-ca", "this console serves no CA (start it with --ca-dir)");
    if ((rt->flags & R_SITE) && !r->app->site)
        return web_reply_error(r, 404, "no-site",
                               "this console serves no site (start it with --site-db)");
    if (r->too_large)
        return web_reply_error(r, 413, "too-large", "the request body is larger than %zu octets",
                               r->limit);
    snprintf(r->actor, sizeof r->actor, "%s from %s (web)", r->authed ? r->auth.user : "-",
             r->addr);
    if (r->app->ca) {
        /* the CA's authenticated actor: the console account or API token
         * (auto-approval rests on it, never on what an upload claims) */
        bacsc_actor a = {.kind = !r->authed       ? BACSC_ACTOR_NONE
                                 : r->auth.bearer ? BACSC_ACTOR_TOKEN
                                                  : BACSC_ACTOR_ACCOUNT,
                         .name = r->authed ? r->auth.user : NULL,
                         .address = r->addr,
                         .display = r->actor};
        bacsc_ca_set_actor_auth(r->app->ca, &a);
    }
    int ret = rt->h(r);
    if (strcmp(r->method, "GET") != 0)
        r->app->devs_dirty = true; /* it may have changed devices */
    return ret;
}

static int dispatch(web_req *r)
{
    if (!strncmp(r->url, "/api/", 5)) {
        pthread_mutex_lock(&r->app->mu);
        int ret = dispatch_api(r);
        pthread_mutex_unlock(&r->app->mu);
        return ret;
    }
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
        return web_reply_error(r, 405, "method-not-allowed", "only GET here");
    if (!strncmp(r->url, "/static/", 8) && !strchr(r->url + 8, '/'))
        return serve_static(r, r->url + 8);
    for (size_t i = 0; PAGES[i]; i++)
        if (!strcmp(r->url, PAGES[i]))
            return serve_static(r, "index.html");
    return web_reply_error(r, 404, "not-found", "no such page: %s", r->url);
}

/* ---- libmicrohttpd callbacks --------------------------------------------------------- */

static void client_addr(struct MHD_Connection *c, char *out, size_t cap)
{
    snprintf(out, cap, "?");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)cap);
}

#define DRAIN_MAX (256ull << 20)

static bool is_upload_path(const char *method, const char *url)
{
    return !strcmp(method, "POST") && !strcmp(url, "/api/ca/requests");
}

static web_req *req_new(web_app *app, struct MHD_Connection *c, const char *url,
                        const char *method)
{
    web_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->app = app;
    r->conn = c;
    r->url = url;
    r->method = method;
    r->now = (int64_t)time(NULL);
    r->limit = is_upload_path(method, url) ? app->cfg.max_upload : app->cfg.max_json;
    client_addr(c, r->addr, sizeof r->addr);
    return r;
}

/* Append upload data; beyond the limit the rest is read and dropped. */
static void body_add(web_req *r, const char *data, size_t n)
{
    if (r->too_large || n > r->limit - r->len) {
        r->too_large = true;
        return;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n)
            cap *= 2;
        unsigned char *b = realloc(r->body, cap);
        if (!b) {
            r->too_large = true;
            return;
        }
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **ctx)
{
    (void)version;
    web_app *app = cls;
    web_req *r = *ctx;
    if (!r) {
        if (!(r = req_new(app, c, url, method)))
            return MHD_NO;
        *ctx = r;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        const char *ex = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect");
        unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
        if (declared > r->limit) {
            r->too_large = true;
            /* A client that waits for "100 Continue", or announces more than
             * DRAIN_MAX, is answered at once (and the connection closed).
             * Others get the answer after the body, read and dropped, so
             * that they can read it (a close while they still send would
             * reset the connection and lose the answer). */
            if ((ex && !strcasecmp(ex, "100-continue")) || declared > DRAIN_MAX)
                return (enum MHD_Result)web_reply_error(
                    r, 413, "too-large", "the request body is larger than %zu octets", r->limit);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        body_add(r, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->status)
        return MHD_YES;
    return (enum MHD_Result)dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    web_req *r = *ctx;
    if (!r)
        return;
    BACSC_INFO("web: %s %s %s %s -> %d%s", r->addr, r->authed ? r->auth.user : "-", r->method,
               r->url, r->status, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
    free(r->body);
    free(r);
    *ctx = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    BACSC_DEBUG("web: http: %s", line);
}

/* ---- start / stop --------------------------------------------------------------------- */

static int parse_listen(const char *text, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    memset(ss, 0, sizeof *ss);
    char host[128];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host || colon == text)
        goto bad;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || !colon[1])
        goto bad;
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            goto bad;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        goto bad;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    return 0;
bad:
    snprintf(err, errlen, "bad --listen '%s' (ADDR:PORT, e.g. 127.0.0.1:8443 or [::1]:8443)",
             text);
    return BACSC_ERR_INVALID_ARG;
}

static char *read_text(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (!buf || n == 0 || n >= (1 << 20) - 1) {
        snprintf(err, errlen, "%s: empty or too large", path);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

static int start_daemon(web_app *app, const struct sockaddr_storage *ss, const char *cert,
                        const char *key, char *err, size_t errlen)
{
    const web_config *c = &app->cfg;
    const char *prio = c->allow_tls12 ? "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
                                      : "NORMAL:-VERS-ALL:+VERS-TLS1.3";
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_TLS | MHD_USE_ERROR_LOG |
                     (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    app->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, app, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, app,
        MHD_OPTION_SOCK_ADDR, ss,
        MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
        MHD_OPTION_HTTPS_PRIORITIES, prio, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)c->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, app, MHD_OPTION_END);
    if (!app->daemon) {
        snprintf(err, errlen, "cannot serve HTTPS on %s (address in use, or a bad certificate "
                              "or key)", c->listen);
        return BACSC_ERR_IO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(app->daemon, MHD_DAEMON_INFO_BIND_PORT);
    app->port = di ? di->port : 0;
    return BACSC_OK;
}

int web_start(web_app *app, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int rc = parse_listen(app->cfg.listen, &ss, err, errlen);
    if (rc != BACSC_OK)
        return rc;
    char *cert = read_text(app->cfg.cert, err, errlen);
    char *key = cert ? read_text(app->cfg.key, err, errlen) : NULL;
    if (!cert || !key) {
        free(cert);
        return BACSC_ERR_IO;
    }
    app->tls_cert = cert;
    app->tls_key = key;
    rc = start_daemon(app, &ss, cert, key, err, errlen);
    if (rc != BACSC_OK)
        web_stop(app);
    return rc;
}

void web_stop(web_app *app)
{
    if (app->daemon)
        MHD_stop_daemon(app->daemon);
    app->daemon = NULL;
    if (app->tls_key)
        OPENSSL_cleanse(app->tls_key, strlen(app->tls_key));
    free(app->tls_key);
    free(app->tls_cert);
    app->tls_key = app->tls_cert = NULL;
}
