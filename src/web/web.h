/*
 * web.h — the web console behind `bacsc web` (docs/web-api.md, docs/design.md
 * "Web console").
 *
 * One HTTPS server (libmicrohttpd, one thread per connection, TLS 1.3) that
 * serves a small static front end (src/web/static, embedded) and the JSON
 * API under /api/ the pages use. It works on the console's own SQLite
 * database (users, sessions, API tokens, login failures, console audit:
 * web_db.c), on a `bacsc ca` directory (web_ca.c) and on a `bacsc site`
 * database (web_site.c, web_jobs.c), each optional.
 *
 * Every handler runs with app->mu held (the CA and site handles are not
 * thread-safe); only the Server-Sent Events stream of a running job and
 * the site job worker run outside it.
 */
#ifndef BACSC_WEB_H
#define BACSC_WEB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bacsc/pki.h"
#include "bacsc/site.h"

/* ---- roles ------------------------------------------------------------------ */

enum web_role { WEB_ROLE_NONE = 0, WEB_ROLE_VIEWER = 1, WEB_ROLE_INSTALLER = 2, WEB_ROLE_ADMIN = 3 };
const char *web_role_name(int role);
int web_role_parse(const char *s); /* WEB_ROLE_NONE if unknown */

/* ---- the console database (web_db.c) ------------------------------------------ */

typedef struct web_db web_db;

#define WEB_NAME_MAX 64
#define WEB_PASSWORD_MAX 1024
#define WEB_TOKEN_LEN 43 /* base64url of 32 random octets */

/* Open (create if missing, mode 0600) the console database. Returns 0 or
 * BACSC_ERR_DB / BACSC_ERR_MALFORMED with `err` set. */
int web_db_open(const char *path, web_db **out, char *err, size_t errlen);
void web_db_close(web_db *db);
const char *web_db_errmsg(const web_db *db);

/* Users. Names: 1..64 of [A-Za-z0-9._@-]. Passwords 8..1024 octets,
 * stored as scrypt hashes. */
bool web_name_ok(const char *name);
int web_user_add(web_db *db, const char *name, int role, const char *password);
int web_user_remove(web_db *db, const char *name);
int web_user_passwd(web_db *db, const char *name, const char *password);
int web_user_set_role(web_db *db, const char *name, int role);
/* Role of `name`, or WEB_ROLE_NONE when there is no such user. */
int web_user_role(web_db *db, const char *name);
typedef int (*web_user_cb)(void *user, const char *name, int role, int64_t created);
int web_users(web_db *db, web_user_cb cb, void *user);
/* Check a password (constant time, also for unknown users). Returns 0 when
 * right (role in *role), BACSC_ERR_POLICY when wrong. */
int web_user_check(web_db *db, const char *name, const char *password, int *role);

/* Password hashing (scrypt, N=2^15, r=8, p=1, 16-octet salt):
 * "scrypt$15$8$1$<salt hex>$<hash hex>". */
int web_password_hash(const char *password, char *out, size_t outlen);
bool web_password_verify(const char *password, const char *stored);

/* Login rate limiting: failures in the last `window` seconds for the user
 * and for the address. */
int web_login_failures(web_db *db, const char *name, const char *addr, int64_t now,
                       int64_t window, unsigned *by_user, unsigned *by_addr);
int web_login_failed(web_db *db, const char *name, const char *addr, int64_t now);
int web_login_clear(web_db *db, const char *name);

/* Sessions: a random 256-bit token (given to the browser once, stored as its
 * SHA-256) and a CSRF token. */
typedef struct web_auth {
    char user[WEB_NAME_MAX + 1];
    int role;
    char csrf[WEB_TOKEN_LEN + 1];  /* "" for API tokens */
    bool bearer;
    int64_t expires;
} web_auth;
int web_session_create(web_db *db, const char *user, const char *addr, int64_t now,
                       int64_t ttl, char token[WEB_TOKEN_LEN + 1], char csrf[WEB_TOKEN_LEN + 1]);
/* Look up a session / API token. Returns 0 with *a filled, or
 * BACSC_ERR_NOT_FOUND (unknown, expired, revoked, user removed). */
int web_session_get(web_db *db, const char *token, int64_t now, web_auth *a);
int web_session_revoke(web_db *db, const char *token);
/* API tokens: "bct_" + 43 characters. expires 0 = never. Returns the id. */
int web_token_create(web_db *db, const char *user, int64_t now, int64_t expires,
                     char *token, size_t cap, int64_t *id);
int web_token_get(web_db *db, const char *token, int64_t now, web_auth *a);
int web_token_revoke(web_db *db, int64_t id);
typedef int (*web_token_cb)(void *user, int64_t id, const char *owner, int64_t created,
                            int64_t expires, bool revoked);
int web_tokens(web_db *db, web_token_cb cb, void *user);

/* Console audit (logins, users, tokens, site jobs, uploads refused). */
int web_audit(web_db *db, int64_t now, const char *actor, const char *addr, const char *action,
              const char *object, const char *detail);
typedef int (*web_audit_cb)(void *user, int64_t id, int64_t time, const char *actor,
                            const char *addr, const char *action, const char *object,
                            const char *detail);
int web_audit_list(web_db *db, int64_t before_id, unsigned limit, const char *q,
                   web_audit_cb cb, void *user);

/* Who uploaded which CA batch (installers see only their own). */
int web_batch_owner_set(web_db *db, int64_t batch, const char *user, const char *site_claim,
                        int64_t now);
/* Owner of `batch` into `owner` ("" when unknown). */
int web_batch_owner(web_db *db, int64_t batch, char *owner, size_t cap);
/* Who started which site job. */
int web_job_owner_set(web_db *db, int64_t job, const char *user, int64_t now);

/* ---- the server (web_server.c) ----------------------------------------------- */

typedef struct web_config {
    const char *listen;       /* ADDR:PORT */
    const char *cert, *key;   /* PEM files */
    const char *web_db, *ca_dir, *site_db;
    const char *ca_passphrase;
    bool allow_tls12;
    unsigned max_connections; /* default 64 */
    unsigned per_ip;          /* default 32 */
    unsigned timeout_s;       /* idle connection timeout, default 30 */
    size_t max_upload;        /* request zip, default 32 MiB */
    size_t max_json;          /* JSON bodies, default 1 MiB */
    int64_t session_ttl;      /* seconds, default 8 h */
    unsigned login_max_user;  /* failures per user in the window, default 5 */
    unsigned login_max_addr;  /* failures per address in the window, default 20 */
    int64_t login_window;     /* seconds, default 900 */
    /* site jobs: how to reach devices — BACnet/IP, or BACnet/SC through a hub
     * with the tool's own identity (hub set) */
    const char *hub, *failover, *sc_cert, *sc_key;
    const char *sc_ca[2];
    int n_sc_ca;
    const char *bip_local, *broadcast;
    unsigned bip_timeout_ms, bip_retries, concurrency;
    char *device_password;    /* ReinitializeDevice password, or NULL */
    unsigned expiring_days;   /* "expiring" status threshold, default 30 */
} web_config;

void web_config_default(web_config *c);

typedef struct web_jobs web_jobs;
typedef struct web_cert_cache web_cert_cache;
typedef struct web_dev_cache web_dev_cache;

typedef struct web_app {
    web_config cfg;
    pthread_mutex_t mu;
    web_db *db;
    bacsc_ca *ca;             /* NULL without --ca-dir */
    bacsc_site *site;         /* NULL without --site-db */
    web_jobs *jobs;           /* NULL without --site-db */
    web_cert_cache *certs;    /* facts of device certificates (web_certcache.c) */
    web_dev_cache *devs;      /* the device table (web_site.c) */
    bool devs_dirty;          /* a request changed something: reload the table */
    struct MHD_Daemon *daemon;
    uint16_t port;            /* bound port */
    char *tls_cert, *tls_key; /* PEM, kept while the daemon runs */
} web_app;

/* Start the server (returns once it listens). Returns 0 or an exit-code
 * worthy BACSC_ERR_* with `err` set. */
int web_start(web_app *app, char *err, size_t errlen);
void web_stop(web_app *app);

/* ---- one request ------------------------------------------------------------- */

#define WEB_MAX_IDS 4

typedef struct web_req {
    web_app *app;
    struct MHD_Connection *conn;
    const char *method, *url;
    char addr[64];
    unsigned char *body;
    size_t len, cap, limit;
    bool too_large, started;
    int64_t now;
    web_auth auth;
    bool authed;
    int64_t ids[WEB_MAX_IDS];
    size_t n_ids;
    char name[128];           /* a '*' path segment */
    char set_cookie[200];     /* added to the response when set */
    char actor[160];          /* "alice from 127.0.0.1 (web)" for the CA audit */
    int status;               /* response queued (for the access log) */
} web_req;

/* Responses (each queues a response on the connection; returns MHD_YES/NO
 * as an int). Every response carries the security headers. */
int web_reply_json(web_req *r, unsigned status, json_t *body); /* steals body */
int web_reply_error(web_req *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int web_reply_bytes(web_req *r, unsigned status, const char *type, const void *data, size_t len,
                    const char *disposition);
/* A query parameter ("" → NULL). */
const char *web_query(web_req *r, const char *name);
/* Parse the body as a JSON object (NULL after replying 400 itself). */
json_t *web_body_json(web_req *r);
/* Records `action` on `object` by the requester in the console audit. */
void web_note(web_req *r, const char *action, const char *object, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- handlers ------------------------------------------------------------------ */

typedef int (*web_handler)(web_req *r);

/* Auth and users (web_auth.c). */
int web_h_login(web_req *r);
int web_h_logout(web_req *r);
int web_h_session(web_req *r);
int web_h_users(web_req *r);
int web_h_user_add(web_req *r);
int web_h_user_remove(web_req *r);
int web_h_tokens(web_req *r);
int web_h_token_create(web_req *r);
int web_h_token_revoke(web_req *r);
int web_h_audit(web_req *r);
/* Authenticate a request from its cookie or Bearer header (sets r->auth). */
bool web_authenticate(web_req *r);

/* CA (web_ca.c). */
int web_h_ca_upload(web_req *r);
int web_h_ca_requests(web_req *r);
int web_h_ca_approve(web_req *r);
int web_h_ca_reject(web_req *r);
int web_h_ca_decide_bulk(web_req *r);
int web_h_ca_batches(web_req *r);
int web_h_ca_batch(web_req *r);
int web_h_ca_response(web_req *r);
int web_h_ca_certs(web_req *r);
int web_h_ca_timeline(web_req *r);
int web_h_ca_revoke(web_req *r);
int web_h_ca_crl(web_req *r);
int web_h_ca_policy(web_req *r);
int web_h_ca_policy_set(web_req *r);
int web_h_ca_audit(web_req *r);
/* Submit CSRs from a CARI zip (bytes) as the requester; JSON result or error. */
int web_ca_submit_zip(web_req *r, const unsigned char *zip, size_t len, const char *file_name);

/* Site (web_site.c) and jobs (web_jobs.c). */
int web_h_site_devices(web_req *r);
int web_h_site_summary(web_req *r);
int web_h_site_jobs(web_req *r);
int web_h_site_job_create(web_req *r);
int web_h_site_job(web_req *r);
int web_h_site_job_events(web_req *r);
int web_h_site_job_rerun(web_req *r);
int web_h_site_submit_csrs(web_req *r);

/* Device certificates (web_certcache.c): the facts of d's certificate,
 * computed once per certificate (BACSC_ERR_NOT_FOUND without one), and the
 * status they give (as bacsc_site_cert_status). */
typedef struct web_cert_facts {
    bool readable, site_ca;
    int64_t not_before, not_after;
    char issuer[256];
} web_cert_facts;
int web_cert_facts_get(web_app *app, const bacsc_site_settings *st, const bacsc_site_device *d,
                       web_cert_facts *out);
int web_cert_status(const web_cert_facts *f, const bacsc_site_device *d, int64_t now,
                    unsigned expiring_days);
void web_cert_cache_free(web_cert_cache *c);
void web_dev_cache_free(web_dev_cache *c);
/* While the HTTP server stops (shutdown, SIGHUP), open event streams end. */
void web_jobs_set_closing(web_app *app, bool closing);
/* Bumped by the job worker on every change (0 without a worker). */
uint64_t web_jobs_version(web_app *app);

int web_jobs_start(web_app *app, char *err, size_t errlen);
void web_jobs_stop(web_app *app);
/* Queue a prepared job for the worker. */
int web_jobs_enqueue(web_app *app, int64_t job);
/* Live progress of a job: 1 when the worker knows it (running or queued). */
int web_jobs_progress(web_app *app, int64_t job, bacsc_site_progress *p, bool *queued);

#endif
