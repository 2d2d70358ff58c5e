/*
 * site_db.c — the site database: settings, devices, jobs and job items
 * (bacsc/site.h). SQLite in WAL mode; every public write is one
 * transaction (or part of the caller's, see site_internal.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "bacsc/site.h"
#include "site_internal.h"

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS settings (\n"
    "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "  name TEXT NOT NULL, domain TEXT NOT NULL DEFAULT '',\n"
    "  primary_hub TEXT NOT NULL DEFAULT '', failover_hub TEXT NOT NULL DEFAULT '',\n"
    "  ca_der BLOB NOT NULL, updated INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS devices (\n"
    "  instance INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '',\n"
    "  uuid TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '',\n"
    "  vmac TEXT NOT NULL DEFAULT '', ip_port INTEGER, sc_port INTEGER,\n"
    "  csr_file INTEGER, cert_file INTEGER, issuer_file1 INTEGER, issuer_file2 INTEGER,\n"
    "  mode INTEGER NOT NULL DEFAULT 0, primary_hub TEXT NOT NULL DEFAULT '',\n"
    "  failover_hub TEXT NOT NULL DEFAULT '', cert_der BLOB, issuer_fp1 BLOB, issuer_fp2 BLOB,\n"
    "  csr_der BLOB, csr_request_id TEXT NOT NULL DEFAULT '', csr_created INTEGER NOT NULL DEFAULT 0,\n"
    "  last_seen INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE IF NOT EXISTS jobs (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL,\n"
    "  args TEXT NOT NULL DEFAULT '{}', key TEXT NOT NULL DEFAULT '',\n"
    "  started INTEGER NOT NULL, finished INTEGER NOT NULL DEFAULT 0,\n"
    "  state INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE IF NOT EXISTS job_items (\n"
    "  job INTEGER NOT NULL REFERENCES jobs(id), instance INTEGER NOT NULL,\n"
    "  step INTEGER NOT NULL DEFAULT 0, status INTEGER NOT NULL DEFAULT 0,\n"
    "  error TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,\n"
    "  updated INTEGER NOT NULL DEFAULT 0, data BLOB,\n"
    "  PRIMARY KEY (job, instance));\n"
    "CREATE INDEX IF NOT EXISTS jobs_kind ON jobs(kind, key, id);\n"
    "CREATE TABLE IF NOT EXISTS superseded (\n"
    "  serial TEXT PRIMARY KEY, instance INTEGER NOT NULL, issuer TEXT NOT NULL DEFAULT '',\n"
    "  not_after INTEGER NOT NULL DEFAULT 0, der BLOB, recorded INTEGER NOT NULL,\n"
    "  state INTEGER NOT NULL DEFAULT 0, note TEXT NOT NULL DEFAULT '');\n"
    "CREATE TABLE IF NOT EXISTS rollover (\n"
    "  id INTEGER PRIMARY KEY CHECK (id = 1), old_ca BLOB NOT NULL, new_ca BLOB NOT NULL,\n"
    "  hubs_done INTEGER NOT NULL DEFAULT 0, started INTEGER NOT NULL);\n";

int site_fail(bacsc_site *s, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return rc;
}

static int site_dbfail(bacsc_site *s, const char *what)
{
    return site_fail(s, BACSC_ERR_DB, "%s: %s", what, sqlite3_errmsg(s->db));
}

static int site_exec(bacsc_site *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        site_fail(s, BACSC_ERR_DB, "%s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return BACSC_ERR_DB;
    }
    return BACSC_OK;
}

static sqlite3_stmt *site_prep(bacsc_site *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        site_dbfail(s, "prepare");
        return NULL;
    }
    return st;
}

int site_begin(bacsc_site *s)
{
    return site_exec(s, "BEGIN IMMEDIATE");
}

int site_commit(bacsc_site *s)
{
    return site_exec(s, "COMMIT");
}

void site_rollback(bacsc_site *s)
{
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* An older schema: every table is CREATE ... IF NOT EXISTS, so the schema
 * script adds what is missing. */
static int migrate(bacsc_site *s)
{
    int rc = site_begin(s);
    if (rc != BACSC_OK)
        return rc;
    char sql[sizeof SCHEMA + 64];
    snprintf(sql, sizeof sql, "%sPRAGMA user_version = %d;", SCHEMA, BACSC_SITE_SCHEMA_VERSION);
    if ((rc = site_exec(s, sql)) != BACSC_OK) {
        site_rollback(s);
        return rc;
    }
    return site_commit(s);
}

int bacsc_site_open(const char *path, bool create, bacsc_site **out, char *err, size_t errlen)
{
    if (!path || !out)
        return BACSC_ERR_INVALID_ARG;
    *out = NULL;
    bacsc_site *s = calloc(1, sizeof *s);
    if (!s)
        return BACSC_ERR_NOMEM;
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = BACSC_OK;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        rc = create ? BACSC_ERR_DB : BACSC_ERR_NOT_FOUND;
        site_fail(s, rc, "cannot open site database %s: %s%s", path,
                  s->db ? sqlite3_errmsg(s->db) : "out of memory",
                  create ? "" : " (run `bacsc site init` first)");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 15000);
    sqlite3_stmt *st = site_prep(s, "PRAGMA user_version");
    if (!st) {
        rc = BACSC_ERR_MALFORMED;
        site_fail(s, rc, "%s is not a SQLite database", path);
        goto fail;
    }
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (v < 0) {
        rc = BACSC_ERR_MALFORMED;
        site_fail(s, rc, "%s is not a SQLite database", path);
        goto fail;
    }
    if (v == 0) {
        /* New file — or somebody else's database: refuse if it has tables. */
        st = site_prep(s, "SELECT count(*) FROM sqlite_master");
        int n = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
        sqlite3_finalize(st);
        if (n != 0) {
            rc = BACSC_ERR_MALFORMED;
            site_fail(s, rc, "%s is not a bacsc site database", path);
            goto fail;
        }
        if (!create) {
            rc = BACSC_ERR_NOT_FOUND;
            site_fail(s, rc, "%s is empty: run `bacsc site init` first", path);
            goto fail;
        }
        if ((rc = site_exec(s, "PRAGMA journal_mode = WAL")) != BACSC_OK ||
            (rc = site_begin(s)) != BACSC_OK)
            goto fail;
        char sql[sizeof SCHEMA + 64];
        snprintf(sql, sizeof sql, "%sPRAGMA user_version = %d;", SCHEMA,
                 BACSC_SITE_SCHEMA_VERSION);
        if ((rc = site_exec(s, sql)) != BACSC_OK) {
            site_rollback(s);
            goto fail;
        }
        if ((rc = site_commit(s)) != BACSC_OK)
            goto fail;
    } else if (v > BACSC_SITE_SCHEMA_VERSION) {
        rc = BACSC_ERR_MALFORMED;
        site_fail(s, rc, "%s has schema version %d; this bacsc knows up to %d", path, v,
                  BACSC_SITE_SCHEMA_VERSION);
        goto fail;
    } else {
        if ((rc = site_exec(s, "PRAGMA journal_mode = WAL")) != BACSC_OK)
            goto fail;
        if (v < BACSC_SITE_SCHEMA_VERSION && (rc = migrate(s)) != BACSC_OK)
            goto fail;
    }
    site_exec(s, "PRAGMA synchronous = NORMAL");
    *out = s;
    return BACSC_OK;
fail:
    if (err && errlen)
        snprintf(err, errlen, "%s", s->err);
    bacsc_site_close(s);
    return rc;
}

void bacsc_site_close(bacsc_site *s)
{
    if (!s)
        return;
    if (s->db)
        sqlite3_close(s->db);
    free(s);
}

const char *bacsc_site_errmsg(const bacsc_site *s)
{
    return s ? s->err : "no site database";
}

void bacsc_site_set_time(bacsc_site *s, int64_t unix_now)
{
    s->fixed_now = unix_now;
}

int64_t bacsc_site_now(const bacsc_site *s)
{
    return s && s->fixed_now ? s->fixed_now : (int64_t)time(NULL);
}

/* ---- settings --------------------------------------------------------------- */

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static void col_str(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    copy_str(dst, cap, t ? (const char *)t : "");
}

static int col_blob(sqlite3_stmt *st, int col, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    const void *b = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    if (!b || n <= 0)
        return BACSC_OK;
    *out = malloc((size_t)n);
    if (!*out)
        return BACSC_ERR_NOMEM;
    memcpy(*out, b, (size_t)n);
    *len = (size_t)n;
    return BACSC_OK;
}

int site_ca_from_bytes(const unsigned char *data, size_t len, unsigned char **der, size_t *der_len,
                       char *why, size_t whylen)
{
    int rc = bacsc_pki_to_der(BACSC_PKI_CERT, data, len, der, der_len);
    if (rc == BACSC_ERR_NOMEM)
        return rc;
    if (rc != BACSC_OK) {
        snprintf(why, whylen, "not a certificate (PEM or DER)");
        return BACSC_ERR_MALFORMED;
    }
    const unsigned char *p = *der;
    X509 *x = d2i_X509(NULL, &p, (long)*der_len);
    bool ca = x && X509_check_ca(x) >= 1;
    X509_free(x);
    if (!ca) {
        free(*der);
        *der = NULL;
        *der_len = 0;
        snprintf(why, whylen, "not a CA certificate (basicConstraints CA:TRUE missing)");
        return BACSC_ERR_MALFORMED;
    }
    return BACSC_OK;
}

int site_object_to_der(int kind, const unsigned char *data, size_t len, unsigned char **der,
                       size_t *der_len)
{
    *der = NULL;
    *der_len = 0;
    int rc = bacsc_pki_to_der(kind == 0 ? BACSC_PKI_CERT : BACSC_PKI_CSR, data, len, der, der_len);
    return rc == BACSC_OK || rc == BACSC_ERR_NOMEM ? rc : BACSC_ERR_MALFORMED;
}

void site_sha256(const unsigned char *data, size_t len, unsigned char fp[BACSC_SITE_FP_LEN])
{
    unsigned int n = 0;
    EVP_Digest(data, len, fp, &n, EVP_sha256(), NULL);
}

int bacsc_site_hub_uri_check(const char *uri, char *why, size_t whylen)
{
    const char *p = uri;
    if (strncmp(p, "wss://", 6) != 0) {
        snprintf(why, whylen, "'%s' is not a wss://HOST:PORT URI (a hub is reached over TLS "
                              "WebSockets: wss://HOST:PORT[/PATH])", uri);
        return BACSC_ERR_INVALID_ARG;
    }
    p += 6;
    const char *colon;
    if (*p == '[') {                       /* [IPv6]:PORT */
        const char *close = strchr(p, ']');
        colon = close && close > p + 1 && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strchr(p, ':');
        if (colon == p)
            colon = NULL;
    }
    const char *bad = NULL;
    if (!colon)
        bad = "has no HOST:PORT";
    else if (memchr(p, '/', (size_t)(colon - p)))
        bad = "has no HOST:PORT";
    else if (strpbrk(p, "?#@ \t"))
        bad = "contains a character not allowed in a hub URI (? # @ or a space)";
    if (!bad) {
        char *end = NULL;
        long port = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || port < 1 || port > 65535 || (*end && *end != '/'))
            bad = "has no valid PORT (1..65535)";
    }
    if (bad) {
        snprintf(why, whylen, "'%s' %s: expected wss://HOST:PORT[/PATH]", uri, bad);
        return BACSC_ERR_INVALID_ARG;
    }
    return BACSC_OK;
}

int bacsc_site_settings_set(bacsc_site *s, const char *name, const unsigned char *ca,
                            size_t ca_len, const char *domain, const char *primary_hub,
                            const char *failover_hub)
{
    if (!name || !*name || strlen(name) >= 128)
        return site_fail(s, BACSC_ERR_INVALID_ARG, "site name must be 1..127 characters");
    if ((domain && strlen(domain) >= 128) || (primary_hub && strlen(primary_hub) >= 256) ||
        (failover_hub && strlen(failover_hub) >= 256))
        return site_fail(s, BACSC_ERR_INVALID_ARG, "domain or hub URI too long");
    const char *hubs[2] = {primary_hub, failover_hub};
    for (int i = 0; i < 2; i++) {
        char why[400];
        if (hubs[i] && *hubs[i] && bacsc_site_hub_uri_check(hubs[i], why, sizeof why) != BACSC_OK)
            return site_fail(s, BACSC_ERR_INVALID_ARG, "%s hub %s", i ? "failover" : "primary",
                             why);
    }
    if (!ca || !ca_len)
        return site_fail(s, BACSC_ERR_INVALID_ARG, "the site CA certificate is required");
    unsigned char *der = NULL;
    size_t der_len = 0;
    char why[128];
    int rc = site_ca_from_bytes(ca, ca_len, &der, &der_len, why, sizeof why);
    if (rc != BACSC_OK)
        return site_fail(s, rc, "site CA: %s", why);
    sqlite3_stmt *st =
        site_prep(s, "INSERT OR REPLACE INTO settings(id,name,domain,primary_hub,failover_hub,"
                     "ca_der,updated) VALUES (1,?,?,?,?,?,?)");
    if (!st) {
        free(der);
        return BACSC_ERR_DB;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, domain ? domain : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, primary_hub ? primary_hub : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, failover_hub ? failover_hub : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 5, der, (int)der_len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, bacsc_site_now(s));
    rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : site_dbfail(s, "settings");
    sqlite3_finalize(st);
    free(der);
    return rc;
}

int bacsc_site_settings_get(bacsc_site *s, bacsc_site_settings *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = site_prep(
        s, "SELECT name,domain,primary_hub,failover_hub,ca_der FROM settings WHERE id=1");
    if (!st)
        return BACSC_ERR_DB;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE
                   ? site_fail(s, BACSC_ERR_STATE, "the site is not initialised: run `bacsc site init`")
                   : site_dbfail(s, "settings");
    }
    col_str(st, 0, out->name, sizeof out->name);
    col_str(st, 1, out->domain, sizeof out->domain);
    col_str(st, 2, out->primary_hub, sizeof out->primary_hub);
    col_str(st, 3, out->failover_hub, sizeof out->failover_hub);
    rc = col_blob(st, 4, &out->ca_der, &out->ca_len);
    sqlite3_finalize(st);
    if (rc != BACSC_OK)
        return rc;
    site_sha256(out->ca_der, out->ca_len, out->ca_fp);
    const unsigned char *p = out->ca_der;
    X509 *x = d2i_X509(NULL, &p, (long)out->ca_len);
    if (x) {
        X509_NAME_oneline(X509_get_subject_name(x), out->ca_subject, sizeof out->ca_subject);
        X509_free(x);
    }
    return BACSC_OK;
}

void bacsc_site_settings_clear(bacsc_site_settings *st)
{
    if (!st)
        return;
    free(st->ca_der);
    memset(st, 0, sizeof *st);
}

/* ---- names -------------------------------------------------------------------- */

static const char *const MODE_NAMES[] = {"unknown", "ip", "dual", "sc"};
static const char *const CERT_NAMES[] = {"none",    "csr-pending", "valid",
                                         "expiring", "expired",    "signed-by-another-CA"};
static const char *const STATE_NAMES[] = {"running", "done", "partial", "failed"};
static const char *const ITEM_NAMES[] = {"pending", "done", "failed", "skipped"};

const char *bacsc_site_mode_name(int m)
{
    return m >= 0 && m <= 3 ? MODE_NAMES[m] : "unknown";
}

int bacsc_site_mode_parse(const char *s)
{
    for (int i = 1; i <= 3; i++)
        if (s && strcasecmp(s, MODE_NAMES[i]) == 0)
            return i;
    return -1;
}

const char *bacsc_site_cert_status_name(int st)
{
    return st >= 0 && st <= 5 ? CERT_NAMES[st] : "?";
}

int bacsc_site_cert_status_parse(const char *s)
{
    for (int i = 0; i <= 5; i++)
        if (s && strcasecmp(s, CERT_NAMES[i]) == 0)
            return i;
    if (s && (strcasecmp(s, "other-ca") == 0 || strcasecmp(s, "another-ca") == 0))
        return BACSC_SITE_CERT_OTHER_CA;
    return -1;
}

const char *bacsc_site_job_state_name(int st)
{
    return st >= 0 && st <= 3 ? STATE_NAMES[st] : "?";
}

const char *bacsc_site_item_status_name(int st)
{
    return st >= 0 && st <= 3 ? ITEM_NAMES[st] : "?";
}

/* ---- devices -------------------------------------------------------------------- */

void bacsc_site_device_init(bacsc_site_device *d, uint32_t instance)
{
    memset(d, 0, sizeof *d);
    d->instance = instance;
    d->ip_port = d->sc_port = BACSC_SITE_NONE;
    d->csr_file = d->cert_file = BACSC_SITE_NONE;
    d->issuer_file[0] = d->issuer_file[1] = BACSC_SITE_NONE;
}

void bacsc_site_device_clear(bacsc_site_device *d)
{
    if (!d)
        return;
    free(d->cert_der);
    free(d->csr_der);
    d->cert_der = d->csr_der = NULL;
    d->cert_len = d->csr_len = 0;
}

static int dup_blob(unsigned char **dst, size_t *dlen, const unsigned char *src, size_t len)
{
    *dst = NULL;
    *dlen = 0;
    if (!src || !len)
        return BACSC_OK;
    *dst = malloc(len);
    if (!*dst)
        return BACSC_ERR_NOMEM;
    memcpy(*dst, src, len);
    *dlen = len;
    return BACSC_OK;
}

int bacsc_site_device_copy(bacsc_site_device *dst, const bacsc_site_device *src)
{
    *dst = *src;
    dst->cert_der = dst->csr_der = NULL;
    if (dup_blob(&dst->cert_der, &dst->cert_len, src->cert_der, src->cert_len) != BACSC_OK ||
        dup_blob(&dst->csr_der, &dst->csr_len, src->csr_der, src->csr_len) != BACSC_OK) {
        bacsc_site_device_clear(dst);
        return BACSC_ERR_NOMEM;
    }
    return BACSC_OK;
}

static void bind_inst(sqlite3_stmt *st, int col, uint32_t v)
{
    if (v == BACSC_SITE_NONE)
        sqlite3_bind_null(st, col);
    else
        sqlite3_bind_int64(st, col, v);
}

static uint32_t col_inst(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return BACSC_SITE_NONE;
    return (uint32_t)sqlite3_column_int64(st, col);
}

int bacsc_site_device_put(bacsc_site *s, const bacsc_site_device *d)
{
    sqlite3_stmt *st = site_prep(
        s, "INSERT OR REPLACE INTO devices(instance,name,uuid,address,vmac,ip_port,sc_port,"
           "csr_file,cert_file,issuer_file1,issuer_file2,mode,primary_hub,failover_hub,cert_der,"
           "issuer_fp1,issuer_fp2,csr_der,csr_request_id,csr_created,last_seen) VALUES "
           "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(st, 1, d->instance);
    sqlite3_bind_text(st, 2, d->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, d->address, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, d->vmac, -1, SQLITE_STATIC);
    bind_inst(st, 6, d->ip_port);
    bind_inst(st, 7, d->sc_port);
    bind_inst(st, 8, d->csr_file);
    bind_inst(st, 9, d->cert_file);
    bind_inst(st, 10, d->issuer_file[0]);
    bind_inst(st, 11, d->issuer_file[1]);
    sqlite3_bind_int(st, 12, d->mode);
    sqlite3_bind_text(st, 13, d->primary_hub, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, d->failover_hub, -1, SQLITE_STATIC);
    if (d->cert_der && d->cert_len)
        sqlite3_bind_blob(st, 15, d->cert_der, (int)d->cert_len, SQLITE_STATIC);
    for (int i = 0; i < 2; i++)
        if (d->has_issuer[i])
            sqlite3_bind_blob(st, 16 + i, d->issuer_fp[i], BACSC_SITE_FP_LEN, SQLITE_STATIC);
    if (d->csr_der && d->csr_len)
        sqlite3_bind_blob(st, 18, d->csr_der, (int)d->csr_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 19, d->csr_request_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 20, d->csr_created);
    sqlite3_bind_int64(st, 21, d->last_seen);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : site_dbfail(s, "device");
    sqlite3_finalize(st);
    return rc;
}

#define DEVICE_COLS                                                                           \
    "instance,name,uuid,address,vmac,ip_port,sc_port,csr_file,cert_file,issuer_file1,"        \
    "issuer_file2,mode,primary_hub,failover_hub,cert_der,issuer_fp1,issuer_fp2,csr_der,"      \
    "csr_request_id,csr_created,last_seen"

static int device_from_row(sqlite3_stmt *st, bacsc_site_device *d)
{
    bacsc_site_device_init(d, (uint32_t)sqlite3_column_int64(st, 0));
    col_str(st, 1, d->name, sizeof d->name);
    col_str(st, 2, d->uuid, sizeof d->uuid);
    col_str(st, 3, d->address, sizeof d->address);
    col_str(st, 4, d->vmac, sizeof d->vmac);
    d->ip_port = col_inst(st, 5);
    d->sc_port = col_inst(st, 6);
    d->csr_file = col_inst(st, 7);
    d->cert_file = col_inst(st, 8);
    d->issuer_file[0] = col_inst(st, 9);
    d->issuer_file[1] = col_inst(st, 10);
    d->mode = sqlite3_column_int(st, 11);
    col_str(st, 12, d->primary_hub, sizeof d->primary_hub);
    col_str(st, 13, d->failover_hub, sizeof d->failover_hub);
    if (col_blob(st, 14, &d->cert_der, &d->cert_len) != BACSC_OK)
        return BACSC_ERR_NOMEM;
    for (int i = 0; i < 2; i++) {
        const void *b = sqlite3_column_blob(st, 15 + i);
        if (b && sqlite3_column_bytes(st, 15 + i) == BACSC_SITE_FP_LEN) {
            d->has_issuer[i] = true;
            memcpy(d->issuer_fp[i], b, BACSC_SITE_FP_LEN);
        }
    }
    if (col_blob(st, 17, &d->csr_der, &d->csr_len) != BACSC_OK) {
        bacsc_site_device_clear(d);
        return BACSC_ERR_NOMEM;
    }
    col_str(st, 18, d->csr_request_id, sizeof d->csr_request_id);
    d->csr_created = sqlite3_column_int64(st, 19);
    d->last_seen = sqlite3_column_int64(st, 20);
    return BACSC_OK;
}

int bacsc_site_device_get(bacsc_site *s, uint32_t instance, bacsc_site_device *out)
{
    bacsc_site_device_init(out, instance);
    sqlite3_stmt *st = site_prep(s, "SELECT " DEVICE_COLS " FROM devices WHERE instance=?");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(st, 1, instance);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = device_from_row(st, out);
    else if (rc == SQLITE_DONE)
        rc = site_fail(s, BACSC_ERR_NOT_FOUND, "device %u is not in the site database",
                       (unsigned)instance);
    else
        rc = site_dbfail(s, "device");
    sqlite3_finalize(st);
    return rc;
}

int bacsc_site_device_delete(bacsc_site *s, uint32_t instance)
{
    sqlite3_stmt *st = site_prep(s, "DELETE FROM devices WHERE instance=?");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(st, 1, instance);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : site_dbfail(s, "delete");
    sqlite3_finalize(st);
    return rc;
}

int bacsc_site_devices(bacsc_site *s, bacsc_site_device_fn cb, void *user)
{
    sqlite3_stmt *st = site_prep(s, "SELECT " DEVICE_COLS " FROM devices ORDER BY instance");
    if (!st)
        return BACSC_ERR_DB;
    int rc = BACSC_OK, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        bacsc_site_device d;
        if ((rc = device_from_row(st, &d)) != BACSC_OK)
            break;
        rc = cb(user, &d);
        bacsc_site_device_clear(&d);
        if (rc != 0)
            break;
    }
    if (rc == BACSC_OK && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = site_dbfail(s, "devices");
    sqlite3_finalize(st);
    return rc;
}

int bacsc_site_device_count(bacsc_site *s)
{
    sqlite3_stmt *st = site_prep(s, "SELECT count(*) FROM devices");
    if (!st)
        return BACSC_ERR_DB;
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : BACSC_ERR_DB;
    sqlite3_finalize(st);
    return n;
}

/* ---- certificate status ------------------------------------------------------------- */

int bacsc_site_cert_status(const bacsc_site_settings *settings, const bacsc_site_device *d,
                           int64_t now, unsigned expiring_days, bacsc_site_cert_info *info)
{
    memset(info, 0, sizeof *info);
    int rc = BACSC_OK;
    X509 *ca = NULL, *x = NULL;
    if (d->cert_der && d->cert_len) {
        const unsigned char *p = d->cert_der;
        x = d2i_X509(NULL, &p, (long)d->cert_len);
        if (!x) {
            snprintf(info->issuer, sizeof info->issuer, "unreadable certificate");
            rc = BACSC_ERR_MALFORMED;
        }
    }
    if (x) {
        X509_NAME_oneline(X509_get_issuer_name(x), info->issuer, sizeof info->issuer);
        X509_NAME_oneline(X509_get_subject_name(x), info->subject, sizeof info->subject);
        bacsc_cert_info ci;
        if (bacsc_pki_cert_inspect(x, &ci) == BACSC_OK)
            snprintf(info->serial, sizeof info->serial, "%s", ci.serial);
        struct tm tm;
        if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
            info->not_after = (int64_t)timegm(&tm);
        if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
            info->not_before = (int64_t)timegm(&tm);
        if (settings && settings->ca_der) {
            const unsigned char *p = settings->ca_der;
            ca = d2i_X509(NULL, &p, (long)settings->ca_len);
            if (ca) {
                EVP_PKEY *pk = X509_get0_pubkey(ca);
                info->site_ca = pk && X509_check_issued(ca, x) == X509_V_OK &&
                                X509_verify(x, pk) == 1;
            }
        }
        if (d->csr_der && d->csr_len) {
            const unsigned char *p = d->csr_der;
            X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)d->csr_len);
            if (req) {
                EVP_PKEY *rk = X509_REQ_get0_pubkey(req);
                info->key_matches_csr = rk && EVP_PKEY_eq(rk, X509_get0_pubkey(x)) == 1;
                X509_REQ_free(req);
            }
        }
    }
    if (d->csr_der && d->csr_len)
        info->status = BACSC_SITE_CERT_CSR_PENDING;
    else if (!x)
        info->status = BACSC_SITE_CERT_NONE;
    else if (!info->site_ca)
        info->status = BACSC_SITE_CERT_OTHER_CA;
    else if (now > info->not_after || now < info->not_before)
        info->status = BACSC_SITE_CERT_EXPIRED;
    else if (now + (int64_t)expiring_days * 86400 > info->not_after)
        info->status = BACSC_SITE_CERT_EXPIRING;
    else
        info->status = BACSC_SITE_CERT_VALID;
    X509_free(x);
    X509_free(ca);
    return rc;
}

/* ---- selections ----------------------------------------------------------------- */

int bacsc_site_selection_parse(const char *text, bacsc_site_selection *sel)
{
    memset(sel, 0, sizeof *sel);
    if (!text || !*text || strcmp(text, "all") == 0) {
        sel->all = true;
        return BACSC_OK;
    }
    const char *p = text;
    while (*p) {
        char *end;
        if (*p < '0' || *p > '9')
            return BACSC_ERR_MALFORMED;
        unsigned long lo = strtoul(p, &end, 10), hi = lo;
        p = end;
        if (*p == '-') {
            p++;
            if (*p < '0' || *p > '9')
                return BACSC_ERR_MALFORMED;
            hi = strtoul(p, &end, 10);
            p = end;
        }
        if (lo > 4194302 || hi > 4194302 || hi < lo || sel->n >= 64)
            return BACSC_ERR_MALFORMED;
        sel->r[sel->n].lo = (uint32_t)lo;
        sel->r[sel->n].hi = (uint32_t)hi;
        sel->n++;
        if (*p == ',')
            p++;
        else if (*p)
            return BACSC_ERR_MALFORMED;
    }
    return sel->n ? BACSC_OK : BACSC_ERR_MALFORMED;
}

bool bacsc_site_selection_has(const bacsc_site_selection *sel, uint32_t instance)
{
    if (sel->all)
        return true;
    for (size_t i = 0; i < sel->n; i++)
        if (instance >= sel->r[i].lo && instance <= sel->r[i].hi)
            return true;
    size_t lo = 0, hi = sel->list ? sel->n_list : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sel->list[mid] == instance)
            return true;
        if (sel->list[mid] < instance)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* ---- jobs ---------------------------------------------------------------------------- */

int bacsc_site_job_create(bacsc_site *s, int kind, const char *args, const char *key,
                          int64_t *job_id)
{
    sqlite3_stmt *st =
        site_prep(s, "INSERT INTO jobs(kind,args,key,started,state) VALUES (?,?,?,?,0)");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_text(st, 2, args ? args : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, key ? key : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, bacsc_site_now(s));
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : site_dbfail(s, "job");
    sqlite3_finalize(st);
    if (rc == BACSC_OK)
        *job_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int bacsc_site_job_add_item(bacsc_site *s, int64_t job_id, uint32_t instance,
                            const unsigned char *data, size_t len, int status, const char *why)
{
    sqlite3_stmt *st = site_prep(s, "INSERT INTO job_items(job,instance,status,error,updated,"
                                    "data) VALUES (?,?,?,?,?,?)");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, instance);
    sqlite3_bind_int(st, 3, status);
    sqlite3_bind_text(st, 4, why ? why : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, bacsc_site_now(s));
    if (data && len)
        sqlite3_bind_blob(st, 6, data, (int)len, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_DONE ? BACSC_OK
             : step == SQLITE_CONSTRAINT
                 ? site_fail(s, BACSC_ERR_EXISTS, "device %u twice in job %lld",
                             (unsigned)instance, (long long)job_id)
                 : site_dbfail(s, "job item");
    sqlite3_finalize(st);
    return rc;
}

int bacsc_site_job_resumable(bacsc_site *s, int kind, const char *key, int64_t *job_id)
{
    sqlite3_stmt *st = site_prep(
        s, key ? "SELECT id FROM jobs WHERE kind=? AND state=0 AND key=? ORDER BY id DESC LIMIT 1"
               : "SELECT id FROM jobs WHERE kind=? AND state=0 ORDER BY id DESC LIMIT 1");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int(st, 1, kind);
    if (key)
        sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *job_id = sqlite3_column_int64(st, 0);
        rc = BACSC_OK;
    } else {
        rc = rc == SQLITE_DONE ? BACSC_ERR_NOT_FOUND : site_dbfail(s, "jobs");
    }
    sqlite3_finalize(st);
    return rc;
}

int bacsc_site_job_create_retry(bacsc_site *s, int kind, const char *key, int64_t *job_id)
{
    sqlite3_stmt *st = site_prep(s, "SELECT id,args,state FROM jobs WHERE kind=? AND key=? AND "
                                    "state<>0 ORDER BY id DESC LIMIT 1");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_text(st, 2, key ? key : "", -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return BACSC_ERR_NOT_FOUND;
    }
    int64_t prev = sqlite3_column_int64(st, 0);
    int state = sqlite3_column_int(st, 2);
    char args[512];
    col_str(st, 1, args, sizeof args);
    sqlite3_finalize(st);
    if (state != BACSC_SITE_JOB_PARTIAL && state != BACSC_SITE_JOB_FAILED)
        return BACSC_ERR_NOT_FOUND;
    int rc = site_begin(s);
    if (rc != BACSC_OK)
        return rc;
    int64_t id = 0;
    if ((rc = bacsc_site_job_create(s, kind, args, key, &id)) != BACSC_OK)
        goto fail;
    st = site_prep(s, "INSERT INTO job_items(job,instance,attempts,updated,data) "
                      "SELECT ?,instance,attempts,?,data FROM job_items WHERE job=? AND status=2");
    if (!st) {
        rc = BACSC_ERR_DB;
        goto fail;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, bacsc_site_now(s));
    sqlite3_bind_int64(st, 3, prev);
    rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : site_dbfail(s, "retry");
    sqlite3_finalize(st);
    if (rc != BACSC_OK)
        goto fail;
    if (sqlite3_changes(s->db) == 0) {
        rc = BACSC_ERR_NOT_FOUND;
        goto fail;
    }
    if ((rc = site_commit(s)) != BACSC_OK)
        goto fail;
    *job_id = id;
    return BACSC_OK;
fail:
    site_rollback(s);
    return rc;
}

static void job_from_row(sqlite3_stmt *st, bacsc_site_job *j)
{
    memset(j, 0, sizeof *j);
    j->id = sqlite3_column_int64(st, 0);
    j->kind = sqlite3_column_int(st, 1);
    col_str(st, 2, j->args, sizeof j->args);
    col_str(st, 3, j->key, sizeof j->key);
    j->started = sqlite3_column_int64(st, 4);
    j->finished = sqlite3_column_int64(st, 5);
    j->state = sqlite3_column_int(st, 6);
    j->total = (unsigned)sqlite3_column_int(st, 7);
    j->done = (unsigned)sqlite3_column_int(st, 8);
    j->failed = (unsigned)sqlite3_column_int(st, 9);
    j->skipped = (unsigned)sqlite3_column_int(st, 10);
    j->pending = (unsigned)sqlite3_column_int(st, 11);
}

#define JOB_SELECT                                                                            \
    "SELECT j.id,j.kind,j.args,j.key,j.started,j.finished,j.state,"                           \
    "(SELECT count(*) FROM job_items i WHERE i.job=j.id),"                                    \
    "(SELECT count(*) FROM job_items i WHERE i.job=j.id AND i.status=1),"                     \
    "(SELECT count(*) FROM job_items i WHERE i.job=j.id AND i.status=2),"                     \
    "(SELECT count(*) FROM job_items i WHERE i.job=j.id AND i.status=3),"                     \
    "(SELECT count(*) FROM job_items i WHERE i.job=j.id AND i.status=0) FROM jobs j "

int bacsc_site_job_get(bacsc_site *s, int64_t job_id, bacsc_site_job *out)
{
    sqlite3_stmt *st = site_prep(s, JOB_SELECT "WHERE j.id=?");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(st, 1, job_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        job_from_row(st, out);
        rc = BACSC_OK;
    } else {
        rc = rc == SQLITE_DONE ? site_fail(s, BACSC_ERR_NOT_FOUND, "no job %lld",
                                           (long long)job_id)
                               : site_dbfail(s, "job");
    }
    sqlite3_finalize(st);
    return rc;
}

int bacsc_site_jobs(bacsc_site *s, bacsc_site_job_fn cb, void *user)
{
    sqlite3_stmt *st = site_prep(s, JOB_SELECT "ORDER BY j.id DESC");
    if (!st)
        return BACSC_ERR_DB;
    int rc = BACSC_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        bacsc_site_job j;
        job_from_row(st, &j);
        if ((rc = cb(user, &j)) != 0)
            break;
    }
    sqlite3_finalize(st);
    return rc;
}

int bacsc_site_job_items(bacsc_site *s, int64_t job_id, bacsc_site_item_fn cb, void *user)
{
    bacsc_site_job j;
    int rc = bacsc_site_job_get(s, job_id, &j);
    if (rc != BACSC_OK)
        return rc;
    sqlite3_stmt *st = site_prep(s, "SELECT instance,step,status,error,attempts,updated FROM "
                                    "job_items WHERE job=? ORDER BY instance");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(st, 1, job_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        bacsc_site_item it;
        memset(&it, 0, sizeof it);
        it.job = job_id;
        it.instance = (uint32_t)sqlite3_column_int64(st, 0);
        it.step = sqlite3_column_int(st, 1);
        it.step_name = bacsc_site_step_name(j.kind, it.step);
        it.status = sqlite3_column_int(st, 2);
        col_str(st, 3, it.error, sizeof it.error);
        it.attempts = (unsigned)sqlite3_column_int(st, 4);
        it.updated = sqlite3_column_int64(st, 5);
        if ((rc = cb(user, &it)) != 0)
            break;
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- what the engine records while it runs ------------------------------------------ */

int site_item_save(bacsc_site *s, int64_t job, uint32_t instance, int step, int status,
                   const char *error, unsigned attempts)
{
    sqlite3_stmt *st = site_prep(s, "UPDATE job_items SET step=?,status=?,error=?,attempts=?,"
                                    "updated=? WHERE job=? AND instance=?");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int(st, 1, step);
    sqlite3_bind_int(st, 2, status);
    sqlite3_bind_text(st, 3, error ? error : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, (int)attempts);
    sqlite3_bind_int64(st, 5, bacsc_site_now(s));
    sqlite3_bind_int64(st, 6, job);
    sqlite3_bind_int64(st, 7, instance);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : site_dbfail(s, "item");
    sqlite3_finalize(st);
    return rc;
}

int site_item_attempt(bacsc_site *s, int64_t job, uint32_t instance, unsigned attempts)
{
    sqlite3_stmt *st = site_prep(s, "UPDATE job_items SET attempts=?,updated=? WHERE job=? "
                                    "AND instance=?");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int(st, 1, (int)attempts);
    sqlite3_bind_int64(st, 2, bacsc_site_now(s));
    sqlite3_bind_int64(st, 3, job);
    sqlite3_bind_int64(st, 4, instance);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : site_dbfail(s, "attempt");
    sqlite3_finalize(st);
    return rc;
}

int site_job_pending_items(bacsc_site *s, int64_t job, site_pending_fn cb, void *user)
{
    sqlite3_stmt *st = site_prep(s, "SELECT instance,step,attempts,data FROM job_items "
                                    "WHERE job=? AND status=0 ORDER BY instance");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(st, 1, job);
    int rc = BACSC_OK;
    while (rc == BACSC_OK && sqlite3_step(st) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 3);
        rc = cb(user, (uint32_t)sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1),
                (unsigned)sqlite3_column_int(st, 2), sqlite3_column_blob(st, 3),
                n > 0 ? (size_t)n : 0);
    }
    sqlite3_finalize(st);
    return rc;
}

int site_job_finish(bacsc_site *s, int64_t job, int state)
{
    sqlite3_stmt *st = site_prep(s, "UPDATE jobs SET state=?,finished=? WHERE id=?");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int(st, 1, state);
    sqlite3_bind_int64(st, 2, bacsc_site_now(s));
    sqlite3_bind_int64(st, 3, job);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : site_dbfail(s, "job finish");
    sqlite3_finalize(st);
    return rc;
}

int site_job_completed(bacsc_site *s, int kind, const char *key, int64_t *job)
{
    sqlite3_stmt *q = site_prep(s, "SELECT id FROM jobs WHERE kind=? AND key=? AND state=1 "
                                   "ORDER BY id DESC LIMIT 1");
    if (!q)
        return BACSC_ERR_DB;
    sqlite3_bind_int(q, 1, kind);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
    int rc = BACSC_ERR_NOT_FOUND;
    if (sqlite3_step(q) == SQLITE_ROW) {
        *job = sqlite3_column_int64(q, 0);
        rc = BACSC_OK;
    }
    sqlite3_finalize(q);
    return rc;
}

/* ---- superseded certificates ------------------------------------------------------------ */

int site_superseded_add(bacsc_site *s, uint32_t instance, const unsigned char *der, size_t len)
{
    bacsc_cert_info ci;
    if (bacsc_pki_cert_inspect_der(der, len, &ci) != BACSC_OK)
        return BACSC_OK; /* nothing to revoke by serial */
    sqlite3_stmt *st = site_prep(s, "INSERT OR IGNORE INTO superseded(serial,instance,issuer,"
                                    "not_after,der,recorded) VALUES (?,?,?,?,?,?)");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_text(st, 1, ci.serial, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, instance);
    sqlite3_bind_text(st, 3, ci.issuer, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, ci.not_after);
    sqlite3_bind_blob(st, 5, der, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, bacsc_site_now(s));
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : site_dbfail(s, "superseded");
    sqlite3_finalize(st);
    return rc;
}

int bacsc_site_superseded_list(bacsc_site *s, int state, bacsc_site_superseded_fn cb,
                               void *user)
{
    sqlite3_stmt *st = site_prep(s, "SELECT serial,instance,issuer,not_after,recorded,state,note "
                                    "FROM superseded WHERE ?1 < 0 OR state = ?1 "
                                    "ORDER BY recorded, serial");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int(st, 1, state);
    int rc = BACSC_OK;
    while (rc == BACSC_OK && sqlite3_step(st) == SQLITE_ROW) {
        bacsc_site_superseded r;
        memset(&r, 0, sizeof r);
        col_str(st, 0, r.serial, sizeof r.serial);
        r.instance = (uint32_t)sqlite3_column_int64(st, 1);
        col_str(st, 2, r.issuer, sizeof r.issuer);
        r.not_after = sqlite3_column_int64(st, 3);
        r.recorded = sqlite3_column_int64(st, 4);
        r.state = sqlite3_column_int(st, 5);
        col_str(st, 6, r.note, sizeof r.note);
        rc = cb(user, &r);
    }
    sqlite3_finalize(st);
    return rc;
}

int bacsc_site_superseded_mark(bacsc_site *s, const char *serial, int state, const char *note)
{
    sqlite3_stmt *st = site_prep(s, "UPDATE superseded SET state=?,note=? WHERE serial=?");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int(st, 1, state);
    sqlite3_bind_text(st, 2, note ? note : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, serial, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : site_dbfail(s, "superseded");
    sqlite3_finalize(st);
    if (rc == BACSC_OK && sqlite3_changes(s->db) == 0)
        rc = site_fail(s, BACSC_ERR_NOT_FOUND, "no superseded certificate %s", serial);
    return rc;
}

int site_job_instances(bacsc_site *s, int64_t job, uint32_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = site_prep(s, "SELECT instance FROM job_items WHERE job=? ORDER BY instance");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(st, 1, job);
    size_t cap = 0;
    int rc = BACSC_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint32_t *na = site_grow(*out, &cap, *n, sizeof *na);
        if (!na) {
            rc = BACSC_ERR_NOMEM;
            break;
        }
        *out = na;
        (*out)[(*n)++] = (uint32_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- CA rollover ------------------------------------------------------------------------ */

int bacsc_site_rollover_get(bacsc_site *s, bacsc_site_rollover *r)
{
    memset(r, 0, sizeof *r);
    sqlite3_stmt *st = site_prep(s, "SELECT old_ca,new_ca,hubs_done,started FROM rollover");
    if (!st)
        return BACSC_ERR_DB;
    int rc = BACSC_ERR_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        rc = col_blob(st, 0, &r->old_ca, &r->old_len);
        if (rc == BACSC_OK)
            rc = col_blob(st, 1, &r->new_ca, &r->new_len);
        r->hubs_done = sqlite3_column_int(st, 2) != 0;
        r->started = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    if (rc == BACSC_OK) {
        site_sha256(r->old_ca, r->old_len, r->old_fp);
        site_sha256(r->new_ca, r->new_len, r->new_fp);
    } else {
        bacsc_site_rollover_clear(r);
    }
    return rc;
}

int site_rollover_put(bacsc_site *s, const unsigned char *old_ca, size_t old_len,
                      const unsigned char *new_ca, size_t new_len)
{
    sqlite3_stmt *st = site_prep(s, "INSERT INTO rollover(id,old_ca,new_ca,started) "
                                    "VALUES (1,?,?,?)");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_blob(st, 1, old_ca, (int)old_len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, new_ca, (int)new_len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, bacsc_site_now(s));
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : site_dbfail(s, "rollover");
    sqlite3_finalize(st);
    return rc;
}

int bacsc_site_rollover_hubs_done(bacsc_site *s)
{
    return site_exec(s, "UPDATE rollover SET hubs_done = 1");
}

int bacsc_site_rollover_finish(bacsc_site *s)
{
    return site_exec(s, "DELETE FROM rollover");
}
