/*
 * ca_store.c — the CA directory and its SQLite store (DIR/ca.db).
 *
 * Invariants the store keeps (each state change is one transaction):
 *  - A request is stored before anything is decided about it; it moves
 *    pending → approved → issued, or pending/approved → rejected; issued and
 *    rejected are final (trigger requests_final).
 *  - A certificate row is inserted in the same transaction that marks its
 *    request issued (trigger certificates_need_issued_request refuses a
 *    certificate whose request is not issued); serials are a PRIMARY KEY, so
 *    one can never be recorded twice. Certificate rows are never deleted.
 *  - The audit table is append-only (triggers refuse UPDATE and DELETE).
 *  - Files (responses, CRLs) are written only after the commit and can be
 *    regenerated from the store.
 * Signing happens outside transactions (in chunks, on threads); a kill -9
 * before the chunk's commit leaves its requests approved, and the next
 * bacsc_ca_issue_approved() signs them again with fresh serials.
 */
#include "pki_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <sqlite3.h>

#include "bacsc/error.h"
#include "bacsc/renewal.h"

#define SCHEMA_VERSION 1
#define ISSUE_CHUNK 1000
#define MAX_THREADS 16
#define DEFAULT_THREADS_MAX 8

struct bacsc_ca {
    char *dir;
    char *passphrase;
    sqlite3 *db;
    X509 *cert;
    STACK_OF(X509) *chain;
    EVP_PKEY *key;
    bacsc_signer *signer;
    bacsc_policy policy;
    char actor[128];
    int64_t fixed_now;
    int threads;
    char err[512];
};

static const char *const schema_sql =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
    "CREATE TABLE batches(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  direction TEXT NOT NULL CHECK(direction IN ('in','out')),\n"
    "  file_name TEXT, sha256 TEXT, site TEXT, origin TEXT, ref TEXT,\n"
    "  for_batch INTEGER REFERENCES batches(id),\n"
    "  created INTEGER NOT NULL);\n"
    "CREATE TABLE requests(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  batch_id INTEGER REFERENCES batches(id),\n"
    "  entry TEXT, ref TEXT, device_uuid TEXT, device_instance INTEGER, device_name TEXT,\n"
    "  subject TEXT, csr BLOB NOT NULL, key_fp TEXT NOT NULL,\n"
    "  key_alg BLOB, key_bits BLOB, subject_der BLOB, san_der BLOB,\n"
    "  status TEXT NOT NULL CHECK(status IN ('pending','approved','rejected','issued')),\n"
    "  decided_by TEXT, reason TEXT, created INTEGER NOT NULL, decided INTEGER);\n"
    "CREATE INDEX requests_status ON requests(status, batch_id);\n"
    "CREATE INDEX requests_batch ON requests(batch_id);\n"
    "CREATE INDEX requests_uuid ON requests(device_uuid) WHERE device_uuid IS NOT NULL;\n"
    "CREATE TABLE certificates(\n"
    "  serial TEXT PRIMARY KEY,\n"
    "  request_id INTEGER UNIQUE REFERENCES requests(id),\n"
    "  subject TEXT, device_uuid TEXT, key_fp TEXT NOT NULL,\n"
    "  not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,\n"
    "  der BLOB NOT NULL,\n"
    "  status TEXT NOT NULL DEFAULT 'valid' CHECK(status IN ('valid','revoked')),\n"
    "  revocation_reason INTEGER, revoked_at INTEGER,\n"
    "  issued INTEGER NOT NULL);\n"
    "CREATE INDEX certificates_uuid ON certificates(device_uuid) WHERE device_uuid IS NOT NULL;\n"
    "CREATE INDEX certificates_expiry ON certificates(not_after);\n"
    "CREATE TABLE audit(\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  time INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,\n"
    "  object TEXT, detail TEXT);\n"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit\n"
    "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;\n"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit\n"
    "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;\n"
    "CREATE TRIGGER requests_final BEFORE UPDATE OF status ON requests\n"
    "  WHEN OLD.status IN ('issued','rejected') AND NEW.status IS NOT OLD.status\n"
    "  BEGIN SELECT RAISE(ABORT, 'request already decided'); END;\n"
    "CREATE TRIGGER certificates_need_issued_request BEFORE INSERT ON certificates\n"
    "  WHEN NEW.request_id IS NOT NULL AND\n"
    "       (SELECT status FROM requests WHERE id = NEW.request_id) IS NOT 'issued'\n"
    "  BEGIN SELECT RAISE(ABORT, 'certificate without an issued request'); END;\n"
    "CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates\n"
    "  BEGIN SELECT RAISE(ABORT, 'certificates are never deleted'); END;\n"
    "PRAGMA user_version = 1;\n";

static const char *const status_names[] = {"pending", "approved", "rejected", "issued"};

const char *bacsc_req_status_name(int status)
{
    return status >= 0 && status <= 3 ? status_names[status] : "unknown";
}

static int status_parse(const char *s)
{
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, status_names[i]) == 0)
            return i;
    return -1;
}

/* ---- errors, time, paths -------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int ca_fail(bacsc_ca *ca, int code,
                                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ca->err, sizeof ca->err, fmt, ap);
    va_end(ap);
    return code;
}

static int db_fail(bacsc_ca *ca, const char *what)
{
    return ca_fail(ca, BACSC_ERR_DB, "%s: %s", what, sqlite3_errmsg(ca->db));
}

static int64_t ca_now(const bacsc_ca *ca)
{
    return ca->fixed_now ? ca->fixed_now : (int64_t)time(NULL);
}

static void path_in(const char *dir, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", dir, name);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void default_actor(char *out, size_t outlen, const char *given)
{
    const char *a = given && *given ? given : getenv("USER");
    pki_printable(a && *a ? a : "unknown", strlen(a && *a ? a : "unknown"), out, outlen);
}

/* ---- SQL helpers ---------------------------------------------------------- */

static int exec(bacsc_ca *ca, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(ca->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ca_fail(ca, BACSC_ERR_DB, "%s", msg ? msg : sqlite3_errmsg(ca->db));
        sqlite3_free(msg);
        return BACSC_ERR_DB;
    }
    return BACSC_OK;
}

static int begin(bacsc_ca *ca)
{
    return exec(ca, "BEGIN IMMEDIATE");
}

static int commit(bacsc_ca *ca)
{
    return exec(ca, "COMMIT");
}

static void rollback(bacsc_ca *ca)
{
    char saved[sizeof ca->err];
    memcpy(saved, ca->err, sizeof saved);
    sqlite3_exec(ca->db, "ROLLBACK", NULL, NULL, NULL);
    memcpy(ca->err, saved, sizeof saved);
}

static sqlite3_stmt *prep(bacsc_ca *ca, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(ca->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        db_fail(ca, "prepare");
        return NULL;
    }
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Append one audit row (inside the caller's transaction). */
static int audit(bacsc_ca *ca, const char *action, const char *object, const char *detail)
{
    sqlite3_stmt *st = prep(ca, "INSERT INTO audit(time, actor, action, object, detail) "
                                "VALUES (?, ?, ?, ?, ?)");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(st, 1, ca_now(ca));
    sqlite3_bind_text(st, 2, ca->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
    bind_text(st, 4, object);
    bind_text(st, 5, detail);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : db_fail(ca, "audit");
    sqlite3_finalize(st);
    return rc;
}

static int meta_set(bacsc_ca *ca, const char *key, const char *value)
{
    sqlite3_stmt *st = prep(ca, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : db_fail(ca, "meta");
    sqlite3_finalize(st);
    return rc;
}

static void meta_get(bacsc_ca *ca, const char *key, char *out, size_t outlen)
{
    out[0] = 0;
    sqlite3_stmt *st = prep(ca, "SELECT value FROM meta WHERE key = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && col_text(st, 0))
        snprintf(out, outlen, "%s", col_text(st, 0));
    sqlite3_finalize(st);
}

static int db_open(bacsc_ca *ca, const char *path, bool create)
{
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &ca->db, flags, NULL) != SQLITE_OK)
        return db_fail(ca, path);
    sqlite3_busy_timeout(ca->db, 15000);
    sqlite3_extended_result_codes(ca->db, 1);
    int rc = exec(ca, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;");
    if (rc == BACSC_OK && create)
        rc = exec(ca, "PRAGMA journal_mode = WAL");
    return rc;
}

static int db_check_schema(bacsc_ca *ca)
{
    sqlite3_stmt *st = prep(ca, "PRAGMA user_version");
    if (!st)
        return BACSC_ERR_DB;
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (v == SCHEMA_VERSION)
        return BACSC_OK;
    if (v > SCHEMA_VERSION)
        return ca_fail(ca, BACSC_ERR_UNSUPPORTED,
                       "ca.db has schema version %d; this bacsc knows only %d (upgrade bacsc)", v,
                       SCHEMA_VERSION);
    return ca_fail(ca, BACSC_ERR_MALFORMED, "ca.db is not a bacsc CA store (user_version %d)", v);
}

/* ---- init / open / close -------------------------------------------------- */

static int init_fail(bacsc_ca *tmp, char *err, size_t errlen, int code)
{
    pki_fail(err, errlen, code, "%s", tmp->err);
    return code;
}

int bacsc_ca_init(const bacsc_ca_init_params *p, char *err, size_t errlen)
{
    if (!p || !p->dir || !p->name || !*p->name)
        return pki_fail(err, errlen, BACSC_ERR_INVALID_ARG, "a directory and a CA name are required");
    int kt = p->key_type ? p->key_type : BACSC_KEY_EC_P256;
    if (kt != BACSC_KEY_EC_P256 && kt != BACSC_KEY_EC_P384 && kt != BACSC_KEY_RSA_3072)
        return pki_fail(err, errlen, BACSC_ERR_INVALID_ARG,
                        "CA key type must be ec-p256, ec-p384 or rsa-3072");
    int years = p->validity_years > 0 ? p->validity_years : 10;
    if (years > 50)
        return pki_fail(err, errlen, BACSC_ERR_INVALID_ARG, "CA validity above 50 years");
    char path[4096];
    if (mkdir(p->dir, 0700) != 0 && errno != EEXIST)
        return pki_fail(err, errlen, BACSC_ERR_IO, "cannot create %s: %s", p->dir, strerror(errno));
    static const char *const mine[] = {"ca.key", "ca.db", "ca.pem", "ca.csr", NULL};
    for (int i = 0; mine[i]; i++) {
        path_in(p->dir, mine[i], path, sizeof path);
        if (file_exists(path))
            return pki_fail(err, errlen, BACSC_ERR_EXISTS, "%s already exists: %s holds a CA",
                            path, p->dir);
    }
    bacsc_ca tmp;
    memset(&tmp, 0, sizeof tmp);
    default_actor(tmp.actor, sizeof tmp.actor, p->actor);
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    uint8_t *csr = NULL;
    size_t csr_len = 0;
    int rc = bacsc_pki_keygen(kt, &key);
    if (rc != BACSC_OK) {
        rc = ca_fail(&tmp, rc, "cannot generate the CA key");
        goto out;
    }
    /* The key first: a certificate or CSR must never exist without it. */
    path_in(p->dir, "ca.key", path, sizeof path);
    rc = bacsc_pki_key_write(path, key, p->passphrase);
    if (rc != BACSC_OK) {
        rc = ca_fail(&tmp, rc, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    if (p->issuing) {
        bacsc_cert_spec spec = {.cn = p->name, .org = p->org};
        rc = bacsc_pki_make_csr(key, &spec, true, &csr, &csr_len);
        if (rc == BACSC_OK) {
            path_in(p->dir, "ca.csr", path, sizeof path);
            rc = bacsc_pki_csr_write(path, csr, csr_len);
        }
    } else {
        rc = bacsc_pki_make_ca_cert(key, p->name, p->org, years * 365 + years / 4, &cert);
        if (rc == BACSC_OK) {
            path_in(p->dir, "ca.pem", path, sizeof path);
            rc = bacsc_pki_cert_write(path, &cert, 1);
        }
    }
    if (rc != BACSC_OK) {
        rc = ca_fail(&tmp, rc, "cannot create the CA %s", p->issuing ? "CSR" : "certificate");
        goto out;
    }
    bacsc_policy pol;
    bacsc_policy_default(&pol);
    path_in(p->dir, "policy.json", path, sizeof path);
    if (!file_exists(path)) {
        rc = bacsc_policy_save(path, &pol, tmp.err, sizeof tmp.err);
        if (rc != BACSC_OK)
            goto out;
    }
    path_in(p->dir, "ca.db", path, sizeof path);
    rc = db_open(&tmp, path, true);
    if (rc == BACSC_OK && chmod(path, 0600) != 0)
        rc = ca_fail(&tmp, BACSC_ERR_IO, "cannot chmod %s: %s", path, strerror(errno));
    if (rc == BACSC_OK)
        rc = begin(&tmp);
    if (rc == BACSC_OK)
        rc = exec(&tmp, schema_sql);
    if (rc == BACSC_OK)
        rc = meta_set(&tmp, "name", p->name);
    if (rc == BACSC_OK && p->org)
        rc = meta_set(&tmp, "org", p->org);
    if (rc == BACSC_OK)
        rc = meta_set(&tmp, "crl_number", "0");
    if (rc == BACSC_OK) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s CA '%s', key %s%s", p->issuing ? "issuing" : "root",
                 p->name, bacsc_pki_key_type_name(kt),
                 p->passphrase && *p->passphrase ? " (encrypted)" : "");
        rc = audit(&tmp, "init", p->dir, detail);
    }
    if (rc == BACSC_OK)
        rc = commit(&tmp);
    else if (tmp.db)
        rollback(&tmp);
out:
    if (tmp.db)
        sqlite3_close(tmp.db);
    EVP_PKEY_free(key);
    X509_free(cert);
    free(csr);
    if (rc != BACSC_OK)
        return init_fail(&tmp, err, errlen, rc);
    return BACSC_OK;
}

static int load_cert_files(bacsc_ca *ca)
{
    char path[4096];
    path_in(ca->dir, "ca.pem", path, sizeof path);
    if (file_exists(path)) {
        int rc = bacsc_pki_cert_read(path, &ca->cert);
        if (rc != BACSC_OK)
            return ca_fail(ca, BACSC_ERR_MALFORMED, "cannot read the CA certificate %s", path);
    }
    ca->chain = sk_X509_new_null();
    if (!ca->chain)
        return ca_fail(ca, BACSC_ERR_NOMEM, "out of memory");
    path_in(ca->dir, "chain.pem", path, sizeof path);
    uint8_t *data;
    size_t len;
    if (pki_read_file(path, 1 << 20, &data, &len) == BACSC_OK) {
        STACK_OF(X509) *sk = NULL;
        int n = bacsc_pki_certs_parse(data, len, &sk);
        free(data);
        if (n < 0)
            return ca_fail(ca, BACSC_ERR_MALFORMED, "cannot parse %s", path);
        sk_X509_pop_free(ca->chain, X509_free);
        ca->chain = sk;
    }
    return BACSC_OK;
}

/* One checking/signing thread per online CPU, at most DEFAULT_THREADS_MAX:
 * with CSRs parsed without OpenSSL's key decoder and signing from a
 * pre-initialised context, OpenSSL 3.0's locks no longer serialise them. */
static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > DEFAULT_THREADS_MAX ? DEFAULT_THREADS_MAX : (int)n;
}

int bacsc_ca_open(const char *dir, const char *passphrase, bacsc_ca **out, char *err,
                  size_t errlen)
{
    if (!dir || !out)
        return pki_fail(err, errlen, BACSC_ERR_INVALID_ARG, "no CA directory given");
    char path[4096];
    path_in(dir, "ca.db", path, sizeof path);
    if (!file_exists(path))
        return pki_fail(err, errlen, BACSC_ERR_NOT_FOUND,
                        "no CA in %s (run 'bacsc ca init --dir %s --name NAME')", dir, dir);
    bacsc_ca *ca = calloc(1, sizeof *ca);
    if (!ca)
        return pki_fail(err, errlen, BACSC_ERR_NOMEM, "out of memory");
    ca->dir = strdup(dir);
    ca->passphrase = passphrase ? strdup(passphrase) : NULL;
    ca->threads = default_threads();
    default_actor(ca->actor, sizeof ca->actor, NULL);
    int rc = ca->dir ? BACSC_OK : BACSC_ERR_NOMEM;
    if (rc == BACSC_OK)
        rc = db_open(ca, path, false);
    if (rc == BACSC_OK)
        rc = db_check_schema(ca);
    if (rc == BACSC_OK) {
        path_in(dir, "policy.json", path, sizeof path);
        rc = bacsc_policy_load(path, &ca->policy, ca->err, sizeof ca->err);
    }
    if (rc == BACSC_OK)
        rc = load_cert_files(ca);
    if (rc != BACSC_OK) {
        pki_fail(err, errlen, rc, "%s", ca->err[0] ? ca->err : bacsc_strerror(rc));
        bacsc_ca_close(ca);
        return rc;
    }
    *out = ca;
    return BACSC_OK;
}

void bacsc_ca_close(bacsc_ca *ca)
{
    if (!ca)
        return;
    if (ca->db)
        sqlite3_close(ca->db);
    X509_free(ca->cert);
    sk_X509_pop_free(ca->chain, X509_free);
    EVP_PKEY_free(ca->key);
    bacsc_signer_free(ca->signer);
    if (ca->passphrase) {
        OPENSSL_cleanse(ca->passphrase, strlen(ca->passphrase));
        free(ca->passphrase);
    }
    free(ca->dir);
    free(ca);
}

const char *bacsc_ca_errmsg(const bacsc_ca *ca)
{
    return ca ? ca->err : "no CA";
}

void bacsc_ca_set_actor(bacsc_ca *ca, const char *actor)
{
    default_actor(ca->actor, sizeof ca->actor, actor);
}

void bacsc_ca_set_time(bacsc_ca *ca, int64_t now)
{
    ca->fixed_now = now;
}

void bacsc_ca_set_threads(bacsc_ca *ca, int n)
{
    ca->threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
}

const char *bacsc_ca_dir(const bacsc_ca *ca)
{
    return ca->dir;
}

X509 *bacsc_ca_cert(const bacsc_ca *ca)
{
    return ca->cert;
}

STACK_OF(X509) *bacsc_ca_chain(const bacsc_ca *ca)
{
    return ca->chain;
}

const bacsc_policy *bacsc_ca_policy(const bacsc_ca *ca)
{
    return &ca->policy;
}

static int load_key(bacsc_ca *ca)
{
    if (ca->key)
        return BACSC_OK;
    char path[4096];
    path_in(ca->dir, "ca.key", path, sizeof path);
    int rc = bacsc_pki_key_read(path, ca->passphrase, &ca->key);
    if (rc == BACSC_ERR_STATE)
        return ca_fail(ca, rc, "the CA key is encrypted: %s (use --passphrase-file)",
                       ca->passphrase ? "wrong passphrase" : "no passphrase given");
    if (rc != BACSC_OK)
        return ca_fail(ca, rc, "cannot read the CA key %s", path);
    return BACSC_OK;
}

static int need_signer(bacsc_ca *ca)
{
    if (ca->signer)
        return BACSC_OK;
    if (!ca->cert)
        return ca_fail(ca, BACSC_ERR_STATE,
                       "no CA certificate installed yet (issuing CA: run 'bacsc ca install-cert')");
    int rc = load_key(ca);
    if (rc != BACSC_OK)
        return rc;
    rc = bacsc_signer_new(ca->cert, ca->key, &ca->signer);
    if (rc != BACSC_OK)
        return ca_fail(ca, rc, "the CA key does not match ca.pem");
    return BACSC_OK;
}

int bacsc_ca_check_signing(bacsc_ca *ca)
{
    ca->err[0] = 0;
    return need_signer(ca);
}

/* ---- policy, CSR, install-cert ------------------------------------------- */

int bacsc_ca_policy_set(bacsc_ca *ca, const char *key, const char *value)
{
    bacsc_policy np = ca->policy;
    int rc = bacsc_policy_set(&np, key, value, ca->err, sizeof ca->err);
    if (rc != BACSC_OK)
        return rc;
    char path[4096];
    path_in(ca->dir, "policy.json", path, sizeof path);
    rc = begin(ca);
    if (rc != BACSC_OK)
        return rc;
    char detail[512];
    snprintf(detail, sizeof detail, "%s = %s", key, value);
    rc = audit(ca, "policy-set", "policy.json", detail);
    /* The file is written inside the transaction: if it fails, no audit row. */
    if (rc == BACSC_OK)
        rc = bacsc_policy_save(path, &np, ca->err, sizeof ca->err);
    if (rc == BACSC_OK)
        rc = commit(ca);
    if (rc != BACSC_OK) {
        rollback(ca);
        return rc;
    }
    ca->policy = np;
    return BACSC_OK;
}

int bacsc_ca_make_csr(bacsc_ca *ca, uint8_t **der, size_t *len)
{
    int rc = load_key(ca);
    if (rc != BACSC_OK)
        return rc;
    char name[256], org[256];
    meta_get(ca, "name", name, sizeof name);
    meta_get(ca, "org", org, sizeof org);
    if (ca->cert) {
        char cn[128];
        pki_name_cn(X509_get_subject_name(ca->cert), cn, sizeof cn);
        if (cn[0])
            snprintf(name, sizeof name, "%s", cn);
    }
    bacsc_cert_spec spec = {.cn = name[0] ? name : "bacsc site CA", .org = org[0] ? org : NULL};
    rc = bacsc_pki_make_csr(ca->key, &spec, true, der, len);
    if (rc != BACSC_OK)
        return ca_fail(ca, rc, "cannot make the CA's CSR");
    char path[4096];
    path_in(ca->dir, "ca.csr", path, sizeof path);
    rc = bacsc_pki_csr_write(path, *der, *len);
    if (rc == BACSC_OK && begin(ca) == BACSC_OK) {
        if (audit(ca, "csr", "ca.csr", spec.cn) == BACSC_OK)
            commit(ca);
        else
            rollback(ca);
    }
    if (rc != BACSC_OK) {
        free(*der);
        *der = NULL;
        return ca_fail(ca, rc, "cannot write %s: %s", path, strerror(errno));
    }
    return BACSC_OK;
}

int bacsc_ca_install_cert(bacsc_ca *ca, const uint8_t *data, size_t len)
{
    STACK_OF(X509) *sk = NULL;
    if (bacsc_pki_certs_parse(data, len, &sk) < 0)
        return ca_fail(ca, BACSC_ERR_MALFORMED, "no certificate found (PEM or DER expected)");
    int rc = load_key(ca);
    X509 *x = sk_X509_shift(sk);
    int64_t now = ca_now(ca);
    bacsc_cert_info info;
    if (rc != BACSC_OK)
        goto out;
    if (X509_check_private_key(x, ca->key) != 1) {
        rc = ca_fail(ca, BACSC_ERR_POLICY, "the certificate does not match the CA key (ca.key)");
        goto out;
    }
    uint32_t ku = X509_get_key_usage(x);
    if (!(X509_get_extension_flags(x) & EXFLAG_CA) || X509_check_ca(x) != 1) {
        rc = ca_fail(ca, BACSC_ERR_POLICY, "the certificate is not a CA certificate "
                                           "(basicConstraints CA:TRUE missing)");
        goto out;
    }
    if (!(ku & KU_KEY_CERT_SIGN)) {
        rc = ca_fail(ca, BACSC_ERR_POLICY, "the certificate's keyUsage lacks keyCertSign");
        goto out;
    }
    bacsc_pki_cert_inspect(x, &info);
    if (info.not_before > now + 300 || info.not_after <= now) {
        rc = ca_fail(ca, BACSC_ERR_POLICY, "the certificate is not valid now");
        goto out;
    }
    if (sk_X509_num(sk) > 0 && !bacsc_pki_cert_issued_by(x, sk_X509_value(sk, 0))) {
        rc = ca_fail(ca, BACSC_ERR_POLICY,
                     "the first chain certificate did not issue the CA certificate");
        goto out;
    }
    char path[4096];
    path_in(ca->dir, "ca.pem", path, sizeof path);
    rc = begin(ca);
    if (rc != BACSC_OK)
        goto out;
    char detail[700];
    snprintf(detail, sizeof detail, "serial %s, issuer %s, chain %d", info.serial, info.issuer,
             sk_X509_num(sk));
    rc = audit(ca, "install-cert", info.subject, detail);
    if (rc == BACSC_OK) {
        rc = bacsc_pki_cert_write(path, &x, 1);
        if (rc == BACSC_OK) {
            path_in(ca->dir, "chain.pem", path, sizeof path);
            if (sk_X509_num(sk) > 0) {
                X509 **arr = malloc(sizeof(X509 *) * (size_t)sk_X509_num(sk));
                for (int i = 0; arr && i < sk_X509_num(sk); i++)
                    arr[i] = sk_X509_value(sk, i);
                rc = arr ? bacsc_pki_cert_write(path, arr, (size_t)sk_X509_num(sk))
                         : BACSC_ERR_NOMEM;
                free(arr);
            } else {
                unlink(path);
            }
        }
        if (rc != BACSC_OK)
            ca_fail(ca, rc, "cannot write %s: %s", path, strerror(errno));
    }
    if (rc == BACSC_OK)
        rc = commit(ca);
    if (rc != BACSC_OK) {
        rollback(ca);
        goto out;
    }
    X509_free(ca->cert);
    ca->cert = x;
    x = NULL;
    sk_X509_pop_free(ca->chain, X509_free);
    ca->chain = sk;
    sk = NULL;
    bacsc_signer_free(ca->signer);
    ca->signer = NULL;
out:
    X509_free(x);
    sk_X509_pop_free(sk, X509_free);
    return rc;
}

/* ---- threads -------------------------------------------------------------- */

typedef void (*work_fn)(void *ctx, size_t i);
typedef struct work_range {
    work_fn fn;
    void *ctx;
    size_t begin, end;
} work_range;

static void *work_thread(void *arg)
{
    work_range *r = arg;
    for (size_t i = r->begin; i < r->end; i++)
        r->fn(r->ctx, i);
    return NULL;
}

/* Run fn(ctx, i) for i in [0, n) on up to `threads` threads (the caller's
 * included). Falls back to fewer threads if pthread_create fails. */
static void parallel_for(size_t n, int threads, work_fn fn, void *ctx)
{
    if (threads < 1)
        threads = 1;
    if ((size_t)threads > n)
        threads = n ? (int)n : 1;
    pthread_t tid[MAX_THREADS];
    work_range rg[MAX_THREADS];
    bool started[MAX_THREADS] = {false};
    size_t per = threads ? (n + (size_t)threads - 1) / (size_t)threads : n;
    for (int t = 0; t < threads; t++) {
        rg[t].fn = fn;
        rg[t].ctx = ctx;
        rg[t].begin = (size_t)t * per < n ? (size_t)t * per : n;
        rg[t].end = rg[t].begin + per < n ? rg[t].begin + per : n;
    }
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, work_thread, &rg[t]) == 0;
    work_thread(&rg[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            work_thread(&rg[t]);
    }
}

/* ---- submit --------------------------------------------------------------- */

typedef struct check_item {
    int rc;
    bacsc_csr_info info;
    pki_parts parts; /* what signing needs, when the CSR is acceptable */
    char why[BACSC_PKI_REASON_LEN];
} check_item;

typedef struct check_ctx {
    const bacsc_policy *policy;
    const bacsc_request_in *reqs;
    check_item *items;
} check_ctx;

static void check_one(void *vctx, size_t i)
{
    check_ctx *c = vctx;
    check_item *it = &c->items[i];
    const bacsc_request_in *r = &c->reqs[i];
    if (!r->csr || r->csr_len == 0) {
        it->rc = pki_fail(it->why, sizeof it->why, BACSC_ERR_MALFORMED, "empty CSR");
        return;
    }
    /* Reuse the CARI reader's parse and signature check of these octets.
     * Only a settled one: it is then read-only, and may be shared by several
     * requests checked on different threads. */
    bacsc_csr *own = NULL, *csr = r->parsed;
    int prc = BACSC_OK;
    if (r->csr_len > BACSC_PKI_MAX_CSR_DER)
        prc = BACSC_ERR_MALFORMED;
    else if (!pki_csr_is(csr, r->csr, r->csr_len) || !pki_csr_settled(csr))
        prc = pki_csr_parse(r->csr, r->csr_len, &own), csr = own;
    if (prc != BACSC_OK) {
        it->rc = pki_fail(it->why, sizeof it->why, prc,
                          prc == BACSC_ERR_NOMEM                ? "out of memory"
                          : r->csr_len > BACSC_PKI_MAX_CSR_DER ? "CSR larger than 64 KiB"
                                                                : "not a DER PKCS#10 certificate request");
    } else {
        it->rc = pki_policy_check_parsed(c->policy, csr, &it->info, it->why, sizeof it->why);
        if (it->rc == BACSC_OK && pki_parts_from_req(pki_csr_req(csr), &it->parts) != BACSC_OK)
            it->rc = pki_fail(it->why, sizeof it->why, BACSC_ERR_MALFORMED,
                              "cannot extract the CSR's key and names");
    }
    pki_csr_free(own);
    ERR_clear_error();
}

static bool listed(const char *v, const char (*items)[BACSC_POLICY_MAX_STR], size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        if (strcmp(v, items[i]) == 0)
            return true;
    return false;
}

/* Device UUID rules against the store (inside the submit transaction).
 * Returns 0 (ok; *manual set when only an administrator may approve) or
 * BACSC_ERR_POLICY with the reason. */
/* Renewal proofs (bacsc/renewal.h): does the request carry one made with
 * the key of valid certificate `serial`? */
typedef struct proof_ctx {
    const bacsc_request_in *r;
    bool proven;
} proof_ctx;

static int proven_cb(const bacsc_cert_row *row, void *user)
{
    proof_ctx *x = user;
    x->proven = bacsc_renewal_verify(x->r->csr, x->r->csr_len, row->der, row->der_len) == BACSC_OK;
    return 0;
}

static bool renewal_proven(bacsc_ca *ca, const char *serial, const bacsc_request_in *r)
{
    bacsc_cert_filter f = {.serial = serial, .valid_only = true};
    proof_ctx x = {.r = r};
    bacsc_ca_certs(ca, &f, proven_cb, &x);
    return x.proven;
}

static int check_uuid(bacsc_ca *ca, sqlite3_stmt *q_cert, sqlite3_stmt *q_req, const char *uuid,
                      const char *fp_hex, int64_t now, const bacsc_request_in *r, bool *manual,
                      char *why, size_t whylen)
{
    *manual = false;
    sqlite3_reset(q_req);
    sqlite3_bind_text(q_req, 1, uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(q_req) == SQLITE_ROW) {
        int rc = pki_fail(why, whylen, BACSC_ERR_POLICY,
                          "duplicate Device UUID %s: request %lld is already %s", uuid,
                          (long long)sqlite3_column_int64(q_req, 0), col_text(q_req, 1));
        sqlite3_reset(q_req);
        return rc;
    }
    sqlite3_reset(q_req);
    sqlite3_reset(q_cert);
    sqlite3_bind_text(q_cert, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q_cert, 2, now);
    int rc = BACSC_OK;
    while (rc == BACSC_OK && sqlite3_step(q_cert) == SQLITE_ROW) {
        const char *serial = col_text(q_cert, 0), *kfp = col_text(q_cert, 1);
        bool same_key = kfp && strcmp(kfp, fp_hex) == 0;
        /* a new key signed for by the holder of the old one: a renewal */
        bool proven = !same_key && renewal_proven(ca, serial, r);
        if (ca->policy.renewal == BACSC_RENEW_OFF)
            rc = pki_fail(why, whylen, BACSC_ERR_POLICY,
                          "duplicate Device UUID %s: held by valid certificate %s (renewal off)",
                          uuid, serial);
        else if (proven)
            continue;
        else if (!same_key && ca->policy.renewal == BACSC_RENEW_SAME_KEY)
            rc = pki_fail(why, whylen, BACSC_ERR_POLICY,
                          "duplicate Device UUID %s: held by valid certificate %s with another "
                          "key (a renewal must use the same key)",
                          uuid, serial);
        else if (!same_key)
            *manual = true;
    }
    sqlite3_reset(q_cert);
    return rc;
}

int bacsc_ca_submit(bacsc_ca *ca, const bacsc_batch_in *batch, const bacsc_request_in *reqs,
                    size_t n, int64_t *batch_id, bacsc_request_result *results)
{
    ca->err[0] = 0;
    if (n > ca->policy.max_batch)
        return ca_fail(ca, BACSC_ERR_LIMIT, "batch of %zu CSRs exceeds policy max_batch %u", n,
                       ca->policy.max_batch);
    if (n && !reqs)
        return ca_fail(ca, BACSC_ERR_INVALID_ARG, "no requests");
    check_item *items = calloc(n ? n : 1, sizeof *items);
    if (!items)
        return ca_fail(ca, BACSC_ERR_NOMEM, "out of memory");
    check_ctx cc = {.policy = &ca->policy, .reqs = reqs, .items = items};
    parallel_for(n, ca->threads, check_one, &cc);

    bacsc_batch_in none = {0};
    if (!batch)
        batch = &none;
    int64_t now = ca_now(ca);
    bool auto_ok = ca->policy.auto_approve == BACSC_AUTO_ALL ||
                   (ca->policy.auto_approve == BACSC_AUTO_MATCH &&
                    (listed(batch->site, ca->policy.sites, ca->policy.n_sites) ||
                     listed(batch->origin, ca->policy.origins, ca->policy.n_origins)));
    sqlite3_stmt *ins_batch = NULL, *ins_req = NULL, *q_cert = NULL, *q_req = NULL,
                 *ins_audit = NULL;
    int accepted = 0;
    int rc = begin(ca);
    if (rc != BACSC_OK)
        goto out;
    ins_batch = prep(ca, "INSERT INTO batches(direction, file_name, sha256, site, origin, created, "
                         "ref) VALUES ('in', ?, ?, ?, ?, ?, ?)");
    ins_req = prep(ca, "INSERT INTO requests(batch_id, entry, device_uuid, device_instance, "
                       "device_name, subject, csr, key_fp, status, decided_by, reason, created, "
                       "decided, ref, key_alg, key_bits, subject_der, san_der) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    q_cert = prep(ca, "SELECT serial, key_fp FROM certificates WHERE device_uuid = ? AND "
                      "status = 'valid' AND not_after > ?");
    q_req = prep(ca, "SELECT id, status FROM requests WHERE device_uuid = ? AND "
                     "status IN ('pending','approved') LIMIT 1");
    ins_audit = prep(ca, "INSERT INTO audit(time, actor, action, object, detail) "
                         "VALUES (?, ?, ?, ?, ?)");
    if (!ins_batch || !ins_req || !q_cert || !q_req || !ins_audit) {
        rc = BACSC_ERR_DB;
        goto fail;
    }
    char sha_hex[65] = "";
    if (batch->sha256)
        bacsc_pki_hex(batch->sha256, 32, sha_hex);
    bind_text(ins_batch, 1, batch->file_name);
    bind_text(ins_batch, 2, sha_hex);
    bind_text(ins_batch, 3, batch->site);
    bind_text(ins_batch, 4, batch->origin);
    sqlite3_bind_int64(ins_batch, 5, now);
    bind_text(ins_batch, 6, batch->ref);
    if (sqlite3_step(ins_batch) != SQLITE_DONE) {
        rc = db_fail(ca, "store batch");
        goto fail;
    }
    int64_t bid = sqlite3_last_insert_rowid(ca->db);
    char obj[64], detail[BACSC_PKI_REASON_LEN + 256];
    snprintf(obj, sizeof obj, "batch %lld", (long long)bid);
    snprintf(detail, sizeof detail, "%zu CSRs from %s (site %s, origin %s)", n,
             batch->file_name ? batch->file_name : "(api)", batch->site ? batch->site : "-",
             batch->origin ? batch->origin : "-");
    rc = audit(ca, "submit", obj, detail);
    if (rc != BACSC_OK)
        goto fail;

    for (size_t i = 0; i < n; i++) {
        check_item *it = &items[i];
        const bacsc_request_in *r = &reqs[i];
        char fp_hex[BACSC_PKI_FP_HEX_LEN] = "";
        if (it->rc == BACSC_OK || it->info.key_desc[0])
            bacsc_pki_hex(it->info.key_fp, BACSC_PKI_FP_LEN, fp_hex);
        int status = BACSC_REQ_PENDING;
        bool manual = false;
        if (it->rc != BACSC_OK)
            status = BACSC_REQ_REJECTED;
        else if (it->info.device_uuid[0] &&
                 check_uuid(ca, q_cert, q_req, it->info.device_uuid, fp_hex, now, r, &manual,
                            it->why, sizeof it->why) != BACSC_OK)
            status = BACSC_REQ_REJECTED;
        else if (auto_ok && !manual)
            status = BACSC_REQ_APPROVED;
        sqlite3_stmt *st = ins_req;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, bid);
        bind_text(st, 2, r->entry);
        bind_text(st, 3, it->info.device_uuid);
        if (r->device_instance >= 0)
            sqlite3_bind_int64(st, 4, r->device_instance);
        bind_text(st, 5, r->device_name);
        bind_text(st, 6, it->info.subject);
        sqlite3_bind_blob(st, 7, r->csr ? (const void *)r->csr : (const void *)"", (int)r->csr_len,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 8, fp_hex, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, status_names[status], -1, SQLITE_STATIC);
        if (status != BACSC_REQ_PENDING) {
            sqlite3_bind_text(st, 10, status == BACSC_REQ_APPROVED ? "policy" : "policy", -1,
                              SQLITE_STATIC);
            sqlite3_bind_int64(st, 13, now);
        }
        if (status == BACSC_REQ_REJECTED)
            sqlite3_bind_text(st, 11, it->why, -1, SQLITE_STATIC);
        else if (manual)
            sqlite3_bind_text(st, 11, "renewal with a new key: needs an administrator", -1,
                              SQLITE_STATIC);
        sqlite3_bind_int64(st, 12, now);
        bind_text(st, 14, r->ref);
        if (it->parts.alg) {
            sqlite3_bind_blob(st, 15, it->parts.alg, it->parts.alg_len, SQLITE_STATIC);
            sqlite3_bind_blob(st, 16, it->parts.bits, it->parts.bits_len, SQLITE_STATIC);
            sqlite3_bind_blob(st, 17, it->parts.subject, it->parts.subject_len, SQLITE_STATIC);
            if (it->parts.sans)
                sqlite3_bind_blob(st, 18, it->parts.sans, it->parts.sans_len, SQLITE_STATIC);
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = db_fail(ca, "store request");
            goto fail;
        }
        int64_t rid = sqlite3_last_insert_rowid(ca->db);
        if (status == BACSC_REQ_REJECTED) {
            char robj[64];
            snprintf(robj, sizeof robj, "request %lld", (long long)rid);
            snprintf(detail, sizeof detail, "%s: %s", r->entry ? r->entry : "-", it->why);
            sqlite3_reset(ins_audit);
            sqlite3_bind_int64(ins_audit, 1, now);
            sqlite3_bind_text(ins_audit, 2, ca->actor, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_audit, 3, "reject", -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_audit, 4, robj, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins_audit, 5, detail, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(ins_audit) != SQLITE_DONE) {
                rc = db_fail(ca, "audit");
                goto fail;
            }
        } else {
            accepted++;
        }
        if (results) {
            memset(&results[i], 0, sizeof results[i]);
            results[i].id = rid;
            results[i].status = status;
            if (status == BACSC_REQ_REJECTED)
                snprintf(results[i].reason, sizeof results[i].reason, "%s", it->why);
            else if (manual)
                snprintf(results[i].reason, sizeof results[i].reason,
                         "renewal with a new key: needs an administrator");
        }
    }
    rc = commit(ca);
    if (rc != BACSC_OK)
        goto fail;
    if (batch_id)
        *batch_id = bid;
    goto out;
fail:
    rollback(ca);
out:
    sqlite3_finalize(ins_batch);
    sqlite3_finalize(ins_req);
    sqlite3_finalize(q_cert);
    sqlite3_finalize(q_req);
    sqlite3_finalize(ins_audit);
    for (size_t i = 0; i < n; i++)
        pki_parts_free(&items[i].parts);
    free(items);
    return rc == BACSC_OK ? accepted : rc;
}

/* ---- approve / reject ----------------------------------------------------- */

static void report(bacsc_result_cb cb, void *user, int64_t id, int status, const char *serial,
                   const char *reason)
{
    if (!cb)
        return;
    bacsc_request_result r;
    memset(&r, 0, sizeof r);
    r.id = id;
    r.status = status;
    if (serial)
        snprintf(r.serial, sizeof r.serial, "%s", serial);
    if (reason)
        snprintf(r.reason, sizeof r.reason, "%s", reason);
    cb(&r, user);
}

/* Move the selected requests from one of `from` states to `to`, with audit
 * rows, in the caller's transaction. Returns the number moved. */
static int decide(bacsc_ca *ca, const bacsc_selector *sel, const char *from_sql, int to,
                  const char *reason, bacsc_result_cb cb, void *user)
{
    int64_t now = ca_now(ca);
    const char *action = to == BACSC_REQ_APPROVED ? "approve" : "reject";
    char sql_upd[512], sql_aud[512];
    int moved = 0;
    if (sel->ids && sel->n_ids) {
        snprintf(sql_upd, sizeof sql_upd,
                 "UPDATE requests SET status = ?1, decided_by = ?2, decided = ?3, reason = ?4 "
                 "WHERE id = ?5 AND status IN (%s)",
                 from_sql);
        sqlite3_stmt *upd = prep(ca, sql_upd);
        sqlite3_stmt *q = prep(ca, "SELECT status FROM requests WHERE id = ?");
        if (!upd || !q) {
            sqlite3_finalize(upd);
            sqlite3_finalize(q);
            return BACSC_ERR_DB;
        }
        int rc = BACSC_OK;
        for (size_t i = 0; rc == BACSC_OK && i < sel->n_ids; i++) {
            sqlite3_reset(upd);
            sqlite3_bind_text(upd, 1, status_names[to], -1, SQLITE_STATIC);
            sqlite3_bind_text(upd, 2, ca->actor, -1, SQLITE_STATIC);
            sqlite3_bind_int64(upd, 3, now);
            bind_text(upd, 4, reason);
            sqlite3_bind_int64(upd, 5, sel->ids[i]);
            if (sqlite3_step(upd) != SQLITE_DONE) {
                rc = db_fail(ca, action);
                break;
            }
            if (sqlite3_changes(ca->db) == 1) {
                char obj[64];
                snprintf(obj, sizeof obj, "request %lld", (long long)sel->ids[i]);
                rc = audit(ca, action, obj, reason);
                moved++;
                if (to == BACSC_REQ_REJECTED)
                    report(cb, user, sel->ids[i], to, NULL, reason);
                continue;
            }
            sqlite3_reset(q);
            sqlite3_bind_int64(q, 1, sel->ids[i]);
            char why[128];
            if (sqlite3_step(q) == SQLITE_ROW) {
                snprintf(why, sizeof why, "request %lld is %s, not pending",
                         (long long)sel->ids[i], col_text(q, 0));
                report(cb, user, sel->ids[i], -1, NULL, why);
            } else {
                snprintf(why, sizeof why, "no request %lld", (long long)sel->ids[i]);
                report(cb, user, sel->ids[i], -1, NULL, why);
            }
        }
        sqlite3_finalize(upd);
        sqlite3_finalize(q);
        return rc == BACSC_OK ? moved : rc;
    }
    if (!sel->all && sel->batch_id <= 0)
        return ca_fail(ca, BACSC_ERR_INVALID_ARG, "nothing selected (ids, a batch or all)");
    const char *where = sel->batch_id > 0 ? "AND batch_id = ?5" : "AND ?5 IS NULL";
    snprintf(sql_aud, sizeof sql_aud,
             "INSERT INTO audit(time, actor, action, object, detail) "
             "SELECT ?3, ?2, ?1, 'request ' || id, ?4 FROM requests WHERE status IN (%s) %s",
             from_sql, where);
    snprintf(sql_upd, sizeof sql_upd,
             "UPDATE requests SET status = ?6, decided_by = ?2, decided = ?3, reason = ?4 "
             "WHERE status IN (%s) %s",
             from_sql, where);
    sqlite3_stmt *a = prep(ca, sql_aud), *u = prep(ca, sql_upd), *sel_ids = NULL;
    int rc = a && u ? BACSC_OK : BACSC_ERR_DB;
    if (rc == BACSC_OK && cb && to == BACSC_REQ_REJECTED) {
        char sql_sel[256];
        snprintf(sql_sel, sizeof sql_sel, "SELECT id FROM requests WHERE status IN (%s) %s",
                 from_sql, sel->batch_id > 0 ? "AND batch_id = ?5" : "AND ?5 IS NULL");
        sel_ids = prep(ca, sql_sel);
        if (!sel_ids)
            rc = BACSC_ERR_DB;
        else {
            if (sel->batch_id > 0)
                sqlite3_bind_int64(sel_ids, 5, sel->batch_id);
            while (sqlite3_step(sel_ids) == SQLITE_ROW)
                report(cb, user, sqlite3_column_int64(sel_ids, 0), to, NULL, reason);
        }
    }
    for (int k = 0; rc == BACSC_OK && k < 2; k++) {
        sqlite3_stmt *st = k == 0 ? a : u;
        sqlite3_bind_text(st, 1, action, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ca->actor, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        bind_text(st, 4, reason);
        if (sel->batch_id > 0)
            sqlite3_bind_int64(st, 5, sel->batch_id);
        if (k == 1)
            sqlite3_bind_text(st, 6, status_names[to], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_fail(ca, action);
        else if (k == 1)
            moved = sqlite3_changes(ca->db);
    }
    sqlite3_finalize(a);
    sqlite3_finalize(u);
    sqlite3_finalize(sel_ids);
    return rc == BACSC_OK ? moved : rc;
}

int bacsc_ca_approve(bacsc_ca *ca, const bacsc_selector *sel, bacsc_result_cb cb, void *user)
{
    ca->err[0] = 0;
    if (!sel)
        return ca_fail(ca, BACSC_ERR_INVALID_ARG, "nothing selected");
    int rc = need_signer(ca); /* fail before deciding anything if we cannot sign */
    if (rc != BACSC_OK)
        return rc;
    rc = begin(ca);
    if (rc != BACSC_OK)
        return rc;
    rc = decide(ca, sel, "'pending'", BACSC_REQ_APPROVED, NULL, cb, user);
    if (rc < 0 || commit(ca) != BACSC_OK) {
        rollback(ca);
        return rc < 0 ? rc : BACSC_ERR_DB;
    }
    return bacsc_ca_issue_approved(ca, sel->ids ? 0 : sel->batch_id, cb, user);
}

int bacsc_ca_reject(bacsc_ca *ca, const bacsc_selector *sel, const char *reason,
                    bacsc_result_cb cb, void *user)
{
    ca->err[0] = 0;
    if (!sel)
        return ca_fail(ca, BACSC_ERR_INVALID_ARG, "nothing selected");
    if (!reason || !*reason)
        return ca_fail(ca, BACSC_ERR_INVALID_ARG, "a reason is required");
    char r[BACSC_PKI_REASON_LEN];
    pki_printable(reason, strlen(reason), r, sizeof r);
    int rc = begin(ca);
    if (rc != BACSC_OK)
        return rc;
    rc = decide(ca, sel, "'pending','approved'", BACSC_REQ_REJECTED, r, cb, user);
    if (rc < 0 || commit(ca) != BACSC_OK) {
        rollback(ca);
        return rc < 0 ? rc : BACSC_ERR_DB;
    }
    return rc;
}

/* ---- issuing -------------------------------------------------------------- */

typedef struct sign_item {
    int64_t id;
    pki_parts parts;
    char uuid[BACSC_PKI_UUID_STR_LEN];
    char key_fp[BACSC_PKI_FP_HEX_LEN];
    /* outputs */
    int rc;
    uint8_t serial[BACSC_PKI_SERIAL_LEN];
    char serial_hex[BACSC_PKI_SERIAL_HEX_LEN];
    char subject[256];
    unsigned char *der;
    int der_len;
} sign_item;

typedef struct sign_ctx {
    bacsc_signer *signer;
    const bacsc_policy *policy;
    int64_t now;
    sign_item *items;
} sign_ctx;

static void sign_one(void *vctx, size_t i)
{
    sign_ctx *c = vctx;
    sign_item *it = &c->items[i];
    it->rc = it->parts.alg ? pki_random_serial(it->serial) : BACSC_ERR_MALFORMED;
    if (it->rc == BACSC_OK)
        it->rc = pki_signer_issue_parts(c->signer, &it->parts, &c->policy->carry,
                                        c->policy->validity_days, c->now, it->serial, &it->der,
                                        &it->der_len, it->subject, sizeof it->subject);
    if (it->rc == BACSC_OK)
        bacsc_pki_hex(it->serial, sizeof it->serial, it->serial_hex);
    ERR_clear_error();
}

static void free_items(sign_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pki_parts_free(&items[i].parts);
        OPENSSL_free(items[i].der);
    }
    free(items);
}

static uint8_t *blob_copy(sqlite3_stmt *q, int col, int *len)
{
    *len = sqlite3_column_bytes(q, col);
    uint8_t *d = malloc((size_t)*len + 1);
    if (d && *len)
        memcpy(d, sqlite3_column_blob(q, col), (size_t)*len);
    return d;
}

/* Load up to ISSUE_CHUNK approved requests. Returns the count or < 0. */
static int load_chunk(bacsc_ca *ca, sqlite3_stmt *q, int64_t batch_id, int64_t after,
                      sign_item **out)
{
    sign_item *items = calloc(ISSUE_CHUNK, sizeof *items);
    if (!items)
        return ca_fail(ca, BACSC_ERR_NOMEM, "out of memory");
    sqlite3_reset(q);
    sqlite3_bind_int64(q, 1, after);
    if (batch_id > 0)
        sqlite3_bind_int64(q, 2, batch_id);
    else
        sqlite3_bind_null(q, 2);
    sqlite3_bind_int(q, 3, ISSUE_CHUNK);
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        sign_item *it = &items[n];
        it->id = sqlite3_column_int64(q, 0);
        if (sqlite3_column_type(q, 4) == SQLITE_BLOB && sqlite3_column_type(q, 5) == SQLITE_BLOB &&
            sqlite3_column_type(q, 6) == SQLITE_BLOB) {
            pki_parts *pp = &it->parts;
            pp->alg = blob_copy(q, 4, &pp->alg_len);
            pp->bits = blob_copy(q, 5, &pp->bits_len);
            pp->subject = blob_copy(q, 6, &pp->subject_len);
            if (sqlite3_column_type(q, 7) == SQLITE_BLOB)
                pp->sans = blob_copy(q, 7, &pp->sans_len);
            if (!pp->alg || !pp->bits || !pp->subject) {
                n++;
                free_items(items, (size_t)n);
                sqlite3_reset(q);
                return ca_fail(ca, BACSC_ERR_NOMEM, "out of memory");
            }
        }
        if (col_text(q, 2) && ca->policy.carry.uuid)
            snprintf(it->uuid, sizeof it->uuid, "%s", col_text(q, 2));
        snprintf(it->key_fp, sizeof it->key_fp, "%s", col_text(q, 3) ? col_text(q, 3) : "");
        n++;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        free_items(items, (size_t)n);
        return db_fail(ca, "load approved requests");
    }
    *out = items;
    return n;
}

typedef struct issue_stmts {
    sqlite3_stmt *upd, *ins, *aud, *rej;
} issue_stmts;

/* Write one signed chunk in one transaction. Returns issued count or < 0. */
static int store_chunk(bacsc_ca *ca, issue_stmts *s, sign_item *items, int n, int64_t now,
                       int validity_days, bacsc_result_cb cb, void *user, bool *dup_serial)
{
    *dup_serial = false;
    int rc = begin(ca);
    if (rc != BACSC_OK)
        return rc;
    int issued = 0;
    for (int i = 0; i < n; i++) {
        sign_item *it = &items[i];
        char obj[64];
        if (it->rc != BACSC_OK) {
            sqlite3_reset(s->rej);
            sqlite3_bind_text(s->rej, 1, "cannot sign: malformed stored CSR", -1, SQLITE_STATIC);
            sqlite3_bind_int64(s->rej, 2, now);
            sqlite3_bind_int64(s->rej, 3, it->id);
            if (sqlite3_step(s->rej) != SQLITE_DONE) {
                rc = db_fail(ca, "reject");
                break;
            }
            continue;
        }
        sqlite3_reset(s->upd);
        sqlite3_bind_int64(s->upd, 1, now);
        sqlite3_bind_int64(s->upd, 2, it->id);
        if (sqlite3_step(s->upd) != SQLITE_DONE) {
            rc = db_fail(ca, "mark issued");
            break;
        }
        if (sqlite3_changes(ca->db) != 1) {
            it->rc = BACSC_ERR_STATE; /* another process got there first */
            continue;
        }
        sqlite3_stmt *ins = s->ins;
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, it->serial_hex, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, it->id);
        sqlite3_bind_text(ins, 3, it->subject, -1, SQLITE_STATIC);
        bind_text(ins, 4, it->uuid);
        sqlite3_bind_text(ins, 5, it->key_fp, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 6, now - 3600);
        sqlite3_bind_int64(ins, 7, now - 3600 + (int64_t)validity_days * 86400);
        sqlite3_bind_blob(ins, 8, it->der, it->der_len, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 9, now);
        int src = sqlite3_step(ins);
        if (src != SQLITE_DONE) {
            if (sqlite3_extended_errcode(ca->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
                *dup_serial = true;
            rc = db_fail(ca, "store certificate");
            break;
        }
        snprintf(obj, sizeof obj, "certificate %s", it->serial_hex);
        sqlite3_reset(s->aud);
        sqlite3_bind_int64(s->aud, 1, now);
        sqlite3_bind_text(s->aud, 2, ca->actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->aud, 3, obj, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s->aud, 4, it->id);
        sqlite3_bind_text(s->aud, 5, it->subject, -1, SQLITE_STATIC);
        if (sqlite3_step(s->aud) != SQLITE_DONE) {
            rc = db_fail(ca, "audit");
            break;
        }
        issued++;
    }
    if (rc == BACSC_OK)
        rc = commit(ca);
    if (rc != BACSC_OK) {
        rollback(ca);
        return rc;
    }
    for (int i = 0; i < n; i++) {
        if (items[i].rc == BACSC_OK)
            report(cb, user, items[i].id, BACSC_REQ_ISSUED, items[i].serial_hex, NULL);
        else if (items[i].rc != BACSC_ERR_STATE)
            report(cb, user, items[i].id, BACSC_REQ_REJECTED, NULL,
                   "cannot sign: malformed stored CSR");
    }
    return issued;
}

int bacsc_ca_issue_approved(bacsc_ca *ca, int64_t batch_id, bacsc_result_cb cb, void *user)
{
    ca->err[0] = 0;
    int rc = need_signer(ca);
    if (rc != BACSC_OK)
        return rc;
    issue_stmts s = {0};
    sqlite3_stmt *q = prep(ca, "SELECT id, NULL, device_uuid, key_fp, key_alg, key_bits, subject_der, "
                               "san_der FROM requests "
                               "WHERE status = 'approved' AND id > ?1 AND (?2 IS NULL OR "
                               "batch_id = ?2) ORDER BY id LIMIT ?3");
    s.upd = prep(ca, "UPDATE requests SET status = 'issued', decided = COALESCE(decided, ?1) "
                     "WHERE id = ?2 AND status = 'approved'");
    s.ins = prep(ca, "INSERT INTO certificates(serial, request_id, subject, device_uuid, key_fp, "
                     "not_before, not_after, der, status, issued) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'valid', ?9)");
    s.aud = prep(ca, "INSERT INTO audit(time, actor, action, object, detail) "
                     "VALUES (?1, ?2, 'issue', ?3, 'request ' || ?4 || ': ' || ?5)");
    s.rej = prep(ca, "UPDATE requests SET status = 'rejected', reason = ?1, decided = ?2, "
                     "decided_by = 'ca' WHERE id = ?3 AND status = 'approved'");
    int total = 0;
    if (!q || !s.upd || !s.ins || !s.aud || !s.rej) {
        rc = BACSC_ERR_DB;
        goto out;
    }
    int64_t after = 0;
    int retries = 0;
    for (;;) {
        sign_item *items = NULL;
        int n = load_chunk(ca, q, batch_id, after, &items);
        if (n < 0) {
            rc = n;
            break;
        }
        if (n == 0) {
            free(items);
            break;
        }
        int64_t now = ca_now(ca);
        sign_ctx sc = {.signer = ca->signer, .policy = &ca->policy, .now = now, .items = items};
        parallel_for((size_t)n, ca->threads, sign_one, &sc);
        bool dup = false;
        int got = store_chunk(ca, &s, items, n, now, ca->policy.validity_days, cb, user, &dup);
        int64_t last = items[n - 1].id;
        free_items(items, (size_t)n);
        if (got < 0) {
            if (dup && ++retries < 3)
                continue; /* a random serial collided: sign the chunk again */
            rc = got;
            break;
        }
        total += got;
        after = last;
    }
out:
    sqlite3_finalize(q);
    sqlite3_finalize(s.upd);
    sqlite3_finalize(s.ins);
    sqlite3_finalize(s.aud);
    sqlite3_finalize(s.rej);
    return rc == BACSC_OK ? total : rc;
}

/* ---- listings ------------------------------------------------------------- */

int bacsc_ca_requests(bacsc_ca *ca, int status, int64_t batch_id, bacsc_request_cb cb,
                      void *user)
{
    sqlite3_stmt *q = prep(ca,
                           "SELECT r.id, r.batch_id, r.status, r.entry, r.device_uuid, "
                           "r.device_name, r.subject, r.key_fp, r.reason, r.decided_by, "
                           "r.device_instance, r.created, r.decided, c.serial, r.csr, r.ref "
                           "FROM requests r LEFT JOIN certificates c ON c.request_id = r.id "
                           "WHERE (?1 IS NULL OR r.status = ?1) AND (?2 IS NULL OR "
                           "r.batch_id = ?2) ORDER BY r.id");
    if (!q)
        return BACSC_ERR_DB;
    if (status >= 0 && status <= 3)
        sqlite3_bind_text(q, 1, status_names[status], -1, SQLITE_STATIC);
    if (batch_id > 0)
        sqlite3_bind_int64(q, 2, batch_id);
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bacsc_request_row r = {
            .id = sqlite3_column_int64(q, 0),
            .batch_id = sqlite3_column_int64(q, 1),
            .status = status_parse(col_text(q, 2)),
            .entry = col_text(q, 3),
            .device_uuid = col_text(q, 4),
            .device_name = col_text(q, 5),
            .subject = col_text(q, 6),
            .key_fp = col_text(q, 7),
            .reason = col_text(q, 8),
            .decided_by = col_text(q, 9),
            .device_instance = sqlite3_column_type(q, 10) == SQLITE_NULL
                                   ? -1
                                   : sqlite3_column_int64(q, 10),
            .created = sqlite3_column_int64(q, 11),
            .decided = sqlite3_column_int64(q, 12),
            .serial = col_text(q, 13),
            .csr = sqlite3_column_blob(q, 14),
            .csr_len = (size_t)sqlite3_column_bytes(q, 14),
            .ref = col_text(q, 15),
        };
        n++;
        if (cb && cb(&r, user) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? n : db_fail(ca, "list requests");
}

/* Normalise a serial given by a user: drop ':' and leading zeros, lower-case. */
static void norm_serial(const char *in, char *out, size_t outlen)
{
    size_t j = 0;
    bool lead = true;
    for (const char *c = in; *c && j + 1 < outlen; c++) {
        if (*c == ':' || *c == ' ')
            continue;
        if (lead && *c == '0')
            continue;
        lead = false;
        out[j++] = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
    }
    out[j] = 0;
}

int bacsc_ca_certs(bacsc_ca *ca, const bacsc_cert_filter *f, bacsc_cert_cb cb, void *user)
{
    bacsc_cert_filter none = {0};
    if (!f)
        f = &none;
    /* Only the conditions in use go into the WHERE clause, so SQLite can use
     * the serial primary key and the batch/expiry indexes. */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT c.serial, c.subject, c.device_uuid, c.key_fp, c.not_before, c.not_after, "
             "c.issued, c.status, c.revocation_reason, c.revoked_at, c.request_id, r.batch_id, "
             "c.der FROM certificates c LEFT JOIN requests r ON r.id = c.request_id "
             "WHERE ?4 IS NOT NULL%s%s%s%s ORDER BY c.rowid",
             f->batch_id > 0 ? " AND r.batch_id = ?1" : "",
             f->expiring_within > 0
                 ? " AND c.status = 'valid' AND c.not_after > ?4 AND c.not_after <= ?2"
                 : "",
             f->valid_only ? " AND c.status = 'valid' AND c.not_after > ?4" : "",
             f->serial ? " AND c.serial = ?5" : "");
    sqlite3_stmt *q = prep(ca, sql);
    if (!q)
        return BACSC_ERR_DB;
    int64_t now = ca_now(ca);
    if (f->batch_id > 0)
        sqlite3_bind_int64(q, 1, f->batch_id);
    if (f->expiring_within > 0)
        sqlite3_bind_int64(q, 2, now + f->expiring_within);
    sqlite3_bind_int64(q, 4, now);
    char serial[80];
    if (f->serial) {
        norm_serial(f->serial, serial, sizeof serial);
        sqlite3_bind_text(q, 5, serial, -1, SQLITE_STATIC);
    }
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *st = col_text(q, 7);
        bacsc_cert_row r = {
            .serial = col_text(q, 0),
            .subject = col_text(q, 1),
            .device_uuid = col_text(q, 2),
            .key_fp = col_text(q, 3),
            .not_before = sqlite3_column_int64(q, 4),
            .not_after = sqlite3_column_int64(q, 5),
            .issued = sqlite3_column_int64(q, 6),
            .revoked = st && strcmp(st, "revoked") == 0,
            .revocation_reason = sqlite3_column_int(q, 8),
            .revoked_at = sqlite3_column_int64(q, 9),
            .request_id = sqlite3_column_int64(q, 10),
            .batch_id = sqlite3_column_int64(q, 11),
            .der = sqlite3_column_blob(q, 12),
            .der_len = (size_t)sqlite3_column_bytes(q, 12),
        };
        n++;
        if (cb && cb(&r, user) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? n : db_fail(ca, "list certificates");
}

/* ---- revocation and CRL --------------------------------------------------- */

int bacsc_ca_revoke(bacsc_ca *ca, const char *serial_in, int reason)
{
    ca->err[0] = 0;
    if (!serial_in || reason < 0 || reason > 10 || reason == 7 || reason == 8)
        return ca_fail(ca, BACSC_ERR_INVALID_ARG, "bad serial or revocation reason");
    char serial[80];
    norm_serial(serial_in, serial, sizeof serial);
    int rc = begin(ca);
    if (rc != BACSC_OK)
        return rc;
    sqlite3_stmt *q = prep(ca, "SELECT status FROM certificates WHERE serial = ?");
    sqlite3_stmt *u = prep(ca, "UPDATE certificates SET status = 'revoked', "
                               "revocation_reason = ?1, revoked_at = ?2 "
                               "WHERE serial = ?3 AND status = 'valid'");
    if (!q || !u) {
        rc = BACSC_ERR_DB;
        goto out;
    }
    sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW) {
        rc = ca_fail(ca, BACSC_ERR_NOT_FOUND, "no certificate with serial %s", serial_in);
        goto out;
    }
    if (strcmp(col_text(q, 0), "valid") != 0) {
        rc = ca_fail(ca, BACSC_ERR_STATE, "certificate %s is already revoked", serial);
        goto out;
    }
    sqlite3_bind_int(u, 1, reason);
    sqlite3_bind_int64(u, 2, ca_now(ca));
    sqlite3_bind_text(u, 3, serial, -1, SQLITE_STATIC);
    if (sqlite3_step(u) != SQLITE_DONE) {
        rc = db_fail(ca, "revoke");
        goto out;
    }
    char obj[128];
    snprintf(obj, sizeof obj, "certificate %s", serial);
    rc = audit(ca, "revoke", obj, bacsc_pki_crl_reason_name(reason));
out:
    sqlite3_finalize(q);
    sqlite3_finalize(u);
    if (rc == BACSC_OK)
        rc = commit(ca);
    if (rc != BACSC_OK)
        rollback(ca);
    return rc;
}

static int crl_add_revoked(X509_CRL *crl, const char *serial_hex, int64_t when, int reason)
{
    BIGNUM *bn = NULL;
    X509_REVOKED *rv = X509_REVOKED_new();
    ASN1_INTEGER *sn = NULL;
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)when);
    int ok = rv && t && BN_hex2bn(&bn, serial_hex) && (sn = BN_to_ASN1_INTEGER(bn, NULL)) &&
             X509_REVOKED_set_serialNumber(rv, sn) && X509_REVOKED_set_revocationDate(rv, t);
    if (ok && reason > 0) { /* RFC 5280: omit reasonCode "unspecified" */
        ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
        ok = e && ASN1_ENUMERATED_set(e, reason) &&
             X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, e, 0, 0) == 1;
        ASN1_ENUMERATED_free(e);
    }
    if (ok)
        ok = X509_CRL_add0_revoked(crl, rv);
    if (!ok)
        X509_REVOKED_free(rv);
    BN_free(bn);
    ASN1_INTEGER_free(sn);
    ASN1_TIME_free(t);
    return ok;
}

int bacsc_ca_crl(bacsc_ca *ca, uint8_t **der, size_t *len)
{
    ca->err[0] = 0;
    int rc = need_signer(ca);
    if (rc != BACSC_OK)
        return rc;
    rc = begin(ca);
    if (rc != BACSC_OK)
        return rc;
    char num[32];
    meta_get(ca, "crl_number", num, sizeof num);
    long long crl_number = atoll(num) + 1;
    snprintf(num, sizeof num, "%lld", crl_number);
    rc = meta_set(ca, "crl_number", num);
    int64_t now = ca_now(ca);
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)now);
    ASN1_TIME *t2 = ASN1_TIME_set(NULL, (time_t)(now + (int64_t)ca->policy.crl_days * 86400));
    ASN1_INTEGER *cn = ASN1_INTEGER_new();
    sqlite3_stmt *q = prep(ca, "SELECT serial, revoked_at, revocation_reason FROM certificates "
                               "WHERE status = 'revoked' ORDER BY serial");
    int count = 0;
    if (rc == BACSC_OK &&
        (!crl || !t1 || !t2 || !cn || !q || !X509_CRL_set_version(crl, 1) ||
         !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) ||
         !X509_CRL_set1_lastUpdate(crl, t1) || !X509_CRL_set1_nextUpdate(crl, t2) ||
         !ASN1_INTEGER_set_int64(cn, crl_number) ||
         X509_CRL_add1_ext_i2d(crl, NID_crl_number, cn, 0, 0) != 1))
        rc = ca_fail(ca, BACSC_ERR_CRYPTO, "cannot build the CRL");
    if (rc == BACSC_OK) {
        int crit = 0;
        ASN1_OCTET_STRING *ski =
            X509_get_ext_d2i(ca->cert, NID_subject_key_identifier, &crit, NULL);
        if (ski) {
            AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
            if (aki) {
                aki->keyid = ski;
                ski = NULL;
                X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0, 0);
                AUTHORITY_KEYID_free(aki);
            }
            ASN1_OCTET_STRING_free(ski);
        }
    }
    while (rc == BACSC_OK && sqlite3_step(q) == SQLITE_ROW) {
        if (!crl_add_revoked(crl, col_text(q, 0), sqlite3_column_int64(q, 1),
                             sqlite3_column_int(q, 2)))
            rc = ca_fail(ca, BACSC_ERR_CRYPTO, "cannot add %s to the CRL", col_text(q, 0));
        count++;
    }
    if (rc == BACSC_OK) {
        X509_CRL_sort(crl);
        if (X509_CRL_sign(crl, ca->key, EVP_sha256()) <= 0)
            rc = ca_fail(ca, BACSC_ERR_CRYPTO, "cannot sign the CRL");
    }
    if (rc == BACSC_OK) {
        unsigned char *buf = NULL;
        int n = i2d_X509_CRL(crl, &buf);
        *der = n > 0 ? malloc((size_t)n) : NULL;
        if (*der) {
            memcpy(*der, buf, (size_t)n);
            *len = (size_t)n;
        } else {
            rc = ca_fail(ca, BACSC_ERR_NOMEM, "out of memory");
        }
        OPENSSL_free(buf);
    }
    sqlite3_finalize(q);
    if (rc == BACSC_OK) {
        char detail[128];
        snprintf(detail, sizeof detail, "CRL number %lld, %d revoked", crl_number, count);
        rc = audit(ca, "crl", "crl", detail);
    }
    bool have_der = rc == BACSC_OK;
    if (rc == BACSC_OK)
        rc = commit(ca);
    if (rc != BACSC_OK) {
        rollback(ca);
        if (have_der) {
            free(*der);
            *der = NULL;
        }
    }
    X509_CRL_free(crl);
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    ASN1_INTEGER_free(cn);
    ERR_clear_error();
    return rc;
}

/* ---- batches and audit ---------------------------------------------------- */

int bacsc_ca_record_output(bacsc_ca *ca, int64_t for_batch, const char *file_name,
                           const uint8_t sha256[32], int64_t *out_id)
{
    ca->err[0] = 0;
    int rc = begin(ca);
    if (rc != BACSC_OK)
        return rc;
    sqlite3_stmt *st = prep(ca, "INSERT INTO batches(direction, file_name, sha256, site, origin, "
                                "for_batch, created) SELECT 'out', ?1, ?2, site, NULL, ?3, ?4 "
                                "FROM batches WHERE id = ?3");
    char hex[65] = "";
    if (sha256)
        bacsc_pki_hex(sha256, 32, hex);
    if (!st) {
        rc = BACSC_ERR_DB;
    } else {
        bind_text(st, 1, file_name);
        bind_text(st, 2, hex);
        sqlite3_bind_int64(st, 3, for_batch);
        sqlite3_bind_int64(st, 4, ca_now(ca));
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_fail(ca, "record output");
        else if (sqlite3_changes(ca->db) != 1)
            rc = ca_fail(ca, BACSC_ERR_NOT_FOUND, "no batch %lld", (long long)for_batch);
    }
    sqlite3_finalize(st);
    int64_t id = sqlite3_last_insert_rowid(ca->db);
    if (rc == BACSC_OK) {
        char obj[64], detail[600];
        snprintf(obj, sizeof obj, "batch %lld", (long long)id);
        snprintf(detail, sizeof detail, "response to batch %lld: %s sha256 %s",
                 (long long)for_batch, file_name ? file_name : "-", hex);
        rc = audit(ca, "respond", obj, detail);
    }
    if (rc == BACSC_OK)
        rc = commit(ca);
    if (rc != BACSC_OK) {
        rollback(ca);
        return rc;
    }
    if (out_id)
        *out_id = id;
    return BACSC_OK;
}

int bacsc_ca_batches(bacsc_ca *ca, int64_t id, bacsc_batch_cb cb, void *user)
{
    sqlite3_stmt *q = prep(
        ca, "SELECT b.id, b.direction, b.file_name, b.sha256, b.site, b.origin, b.created, "
            "b.for_batch, b.ref, "
            "(SELECT count(*) FROM requests r WHERE r.batch_id = b.id), "
            "(SELECT count(*) FROM requests r WHERE r.batch_id = b.id AND r.status IN "
            "('pending','approved')), "
            "(SELECT count(*) FROM requests r WHERE r.batch_id = b.id AND r.status = 'issued'), "
            "(SELECT count(*) FROM requests r WHERE r.batch_id = b.id AND r.status = 'rejected') "
            "FROM batches b WHERE (?1 IS NULL OR b.id = ?1) ORDER BY b.id");
    if (!q)
        return BACSC_ERR_DB;
    if (id > 0)
        sqlite3_bind_int64(q, 1, id);
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bacsc_batch_row r = {
            .id = sqlite3_column_int64(q, 0),
            .direction = col_text(q, 1),
            .file_name = col_text(q, 2),
            .sha256 = col_text(q, 3),
            .site = col_text(q, 4),
            .origin = col_text(q, 5),
            .created = sqlite3_column_int64(q, 6),
            .for_batch = sqlite3_column_int64(q, 7),
            .ref = col_text(q, 8),
            .n_requests = sqlite3_column_int64(q, 9),
            .n_pending = sqlite3_column_int64(q, 10),
            .n_issued = sqlite3_column_int64(q, 11),
            .n_rejected = sqlite3_column_int64(q, 12),
        };
        n++;
        if (cb && cb(&r, user) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? n : db_fail(ca, "list batches");
}

int bacsc_ca_audit(bacsc_ca *ca, int64_t since_id, bacsc_audit_cb cb, void *user)
{
    sqlite3_stmt *q = prep(ca, "SELECT id, time, actor, action, object, detail FROM audit "
                               "WHERE id > ? ORDER BY id");
    if (!q)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(q, 1, since_id);
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bacsc_audit_row r = {
            .id = sqlite3_column_int64(q, 0),
            .time = sqlite3_column_int64(q, 1),
            .actor = col_text(q, 2),
            .action = col_text(q, 3),
            .object = col_text(q, 4),
            .detail = col_text(q, 5),
        };
        n++;
        if (cb && cb(&r, user) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? n : db_fail(ca, "list audit");
}
