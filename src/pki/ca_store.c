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
#include "ca_internal.h"

#include <errno.h>
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

#define SCHEMA_VERSION 3
#define ISSUE_CHUNK 1000
#define ISSUE_FIRST 250 /* the first chunk: the store starts sooner */
#define ISSUE_DEPTH 3   /* chunks in flight: the one stored and two being signed */
#define MAX_THREADS BACSC_POOL_MAX


static const char *const schema_sql =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
    "CREATE TABLE batches(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  direction TEXT NOT NULL CHECK(direction IN ('in','out')),\n"
    "  file_name TEXT, sha256 TEXT, site TEXT, origin TEXT, ref TEXT,\n"
    "  for_batch INTEGER REFERENCES batches(id),\n"
    "  created INTEGER NOT NULL, submitter TEXT);\n"
    "CREATE TABLE requests(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  batch_id INTEGER REFERENCES batches(id),\n"
    "  entry TEXT, ref TEXT, device_uuid TEXT, device_instance INTEGER, device_name TEXT,\n"
    "  subject TEXT, csr BLOB NOT NULL, key_fp TEXT NOT NULL,\n"
    "  key_alg BLOB, key_bits BLOB, subject_der BLOB, san_der BLOB,\n"
    "  status TEXT NOT NULL " CA_STATUS_CHECK ",\n"
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

int ca_status_parse(const char *s)
{
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, status_names[i]) == 0)
            return i;
    return -1;
}

/* ---- errors, time, paths -------------------------------------------------- */

__attribute__((format(printf, 3, 4))) int ca_fail(bacsc_ca *ca, int code,
                                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ca->err, sizeof ca->err, fmt, ap);
    va_end(ap);
    return code;
}

int ca_db_fail(bacsc_ca *ca, const char *what)
{
    return ca_fail(ca, BACSC_ERR_DB, "%s: %s", what, sqlite3_errmsg(ca->db));
}

int64_t ca_now(const bacsc_ca *ca)
{
    return ca->fixed_now ? ca->fixed_now : (int64_t)time(NULL);
}

void ca_path_in(const char *dir, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", dir, name);
}

bool ca_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}


/* ---- SQL helpers ---------------------------------------------------------- */

int ca_exec(bacsc_ca *ca, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(ca->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ca_fail(ca, BACSC_ERR_DB, "%s", msg ? msg : sqlite3_errmsg(ca->db));
        sqlite3_free(msg);
        return BACSC_ERR_DB;
    }
    return BACSC_OK;
}

int ca_begin(bacsc_ca *ca)
{
    return ca_exec(ca, "BEGIN IMMEDIATE");
}

int ca_commit(bacsc_ca *ca)
{
    return ca_exec(ca, "COMMIT");
}

void ca_rollback(bacsc_ca *ca)
{
    char saved[sizeof ca->err];
    memcpy(saved, ca->err, sizeof saved);
    sqlite3_exec(ca->db, "ROLLBACK", NULL, NULL, NULL);
    memcpy(ca->err, saved, sizeof saved);
}

sqlite3_stmt *ca_prep(bacsc_ca *ca, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(ca->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        ca_db_fail(ca, "prepare");
        return NULL;
    }
    return st;
}

void ca_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

const char *ca_col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}


int ca_meta_set(bacsc_ca *ca, const char *key, const char *value)
{
    sqlite3_stmt *st = ca_prep(ca, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : ca_db_fail(ca, "meta");
    sqlite3_finalize(st);
    return rc;
}

void ca_meta_get(bacsc_ca *ca, const char *key, char *out, size_t outlen)
{
    out[0] = 0;
    sqlite3_stmt *st = ca_prep(ca, "SELECT value FROM meta WHERE key = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && ca_col_text(st, 0))
        snprintf(out, outlen, "%s", ca_col_text(st, 0));
    sqlite3_finalize(st);
}

static int db_open(bacsc_ca *ca, const char *path, bool create)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &ca->db, flags, NULL) != SQLITE_OK)
        return ca_db_fail(ca, path);
    sqlite3_busy_timeout(ca->db, 15000);
    sqlite3_extended_result_codes(ca->db, 1);
    int rc = ca_register_functions(ca);
    /* cache_size (at most 32 MiB): the pages of a large batch are found
     * again in the cache, not read back with a system call each; it does
     * not change the file. */
    if (rc == BACSC_OK)
        rc = ca_exec(ca, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; "
                         "PRAGMA cache_size = -32768;");
    if (rc == BACSC_OK && create)
        rc = ca_exec(ca, "PRAGMA journal_mode = WAL");
    return rc;
}

static int db_check_schema(bacsc_ca *ca)
{
    sqlite3_stmt *st = ca_prep(ca, "PRAGMA user_version");
    if (!st)
        return BACSC_ERR_DB;
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (v == SCHEMA_VERSION)
        return BACSC_OK;
    if (v == 1 || v == 2)
        return ca_migrate(ca, v);
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
        ca_path_in(p->dir, mine[i], path, sizeof path);
        if (ca_file_exists(path))
            return pki_fail(err, errlen, BACSC_ERR_EXISTS, "%s already exists: %s holds a CA",
                            path, p->dir);
    }
    bacsc_ca tmp;
    memset(&tmp, 0, sizeof tmp);
    ca_actor_default(&tmp, p->actor);
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
    ca_path_in(p->dir, "ca.key", path, sizeof path);
    rc = bacsc_pki_key_write(path, key, p->passphrase);
    if (rc != BACSC_OK) {
        rc = ca_fail(&tmp, rc, "cannot write %s: %s", path, bacsc_pki_write_errtext(errno));
        goto out;
    }
    if (p->issuing) {
        bacsc_cert_spec spec = {.cn = p->name, .org = p->org};
        rc = bacsc_pki_make_csr(key, &spec, true, &csr, &csr_len);
        if (rc == BACSC_OK) {
            ca_path_in(p->dir, "ca.csr", path, sizeof path);
            rc = bacsc_pki_csr_write(path, csr, csr_len);
        }
    } else {
        rc = bacsc_pki_make_ca_cert(key, p->name, p->org, years * 365 + years / 4, &cert);
        if (rc == BACSC_OK) {
            ca_path_in(p->dir, "ca.pem", path, sizeof path);
            rc = bacsc_pki_cert_write(path, &cert, 1);
        }
    }
    if (rc != BACSC_OK) {
        rc = ca_fail(&tmp, rc, "cannot create the CA %s", p->issuing ? "CSR" : "certificate");
        goto out;
    }
    bacsc_policy pol;
    bacsc_policy_default(&pol);
    ca_path_in(p->dir, "policy.json", path, sizeof path);
    if (!ca_file_exists(path)) {
        rc = bacsc_policy_save(path, &pol, tmp.err, sizeof tmp.err);
        if (rc != BACSC_OK)
            goto out;
    }
    ca_path_in(p->dir, "ca.db", path, sizeof path);
    rc = db_open(&tmp, path, true);
    if (rc == BACSC_OK && chmod(path, 0600) != 0)
        rc = ca_fail(&tmp, BACSC_ERR_IO, "cannot chmod %s: %s", path, strerror(errno));
    if (rc == BACSC_OK)
        rc = ca_begin(&tmp);
    if (rc == BACSC_OK)
        rc = ca_exec(&tmp, schema_sql);
    if (rc == BACSC_OK)
        rc = ca_exec(&tmp, ca_schema_v2_sql);
    if (rc == BACSC_OK)
        rc = ca_exec(&tmp, "PRAGMA user_version = 3");
    if (rc == BACSC_OK)
        rc = ca_meta_set(&tmp, "audit_chain_from", "1");
    if (rc == BACSC_OK) {
        tmp.dir = (char *)p->dir;
        tmp.key = key;
        rc = ca_policy_mac_store(&tmp);
    }
    if (rc == BACSC_OK)
        rc = ca_meta_set(&tmp, "name", p->name);
    if (rc == BACSC_OK && p->org)
        rc = ca_meta_set(&tmp, "org", p->org);
    if (rc == BACSC_OK)
        rc = ca_meta_set(&tmp, "crl_number", "0");
    if (rc == BACSC_OK) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s CA '%s', key %s%s", p->issuing ? "issuing" : "root",
                 p->name, bacsc_pki_key_type_name(kt),
                 p->passphrase && *p->passphrase ? " (encrypted)" : "");
        rc = ca_audit(&tmp, "init", p->dir, detail);
    }
    if (rc == BACSC_OK)
        rc = ca_commit(&tmp);
    else if (tmp.db)
        ca_rollback(&tmp);
    if (rc == BACSC_OK)
        ca_anchor_refresh(&tmp);
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
    ca_path_in(ca->dir, "ca.pem", path, sizeof path);
    if (ca_file_exists(path)) {
        int rc = bacsc_pki_cert_read(path, &ca->cert);
        if (rc != BACSC_OK)
            return ca_fail(ca, BACSC_ERR_MALFORMED, "cannot read the CA certificate %s", path);
    }
    ca->chain = sk_X509_new_null();
    if (!ca->chain)
        return ca_fail(ca, BACSC_ERR_NOMEM, "out of memory");
    ca_path_in(ca->dir, "chain.pem", path, sizeof path);
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

/* One checking/signing thread per online CPU (or as set by --jobs), at most
 * MAX_THREADS: with CSRs parsed without OpenSSL's key decoder and signing
 * from a pre-initialised context, OpenSSL 3.0's locks no longer serialise
 * them. */
static int default_threads(void)
{
    int n = bacsc_pool_default_size();
    return n > MAX_THREADS ? MAX_THREADS : n;
}

int bacsc_ca_open(const char *dir, const char *passphrase, bacsc_ca **out, char *err,
                  size_t errlen)
{
    if (!dir || !out)
        return pki_fail(err, errlen, BACSC_ERR_INVALID_ARG, "no CA directory given");
    char path[4096];
    ca_path_in(dir, "ca.db", path, sizeof path);
    if (!ca_file_exists(path))
        return pki_fail(err, errlen, BACSC_ERR_NOT_FOUND,
                        "no CA in %s (run 'bacsc ca init --dir %s --name NAME')", dir, dir);
    bacsc_ca *ca = calloc(1, sizeof *ca);
    if (!ca)
        return pki_fail(err, errlen, BACSC_ERR_NOMEM, "out of memory");
    ca->dir = strdup(dir);
    ca->passphrase = passphrase ? strdup(passphrase) : NULL;
    ca->threads = default_threads();
    ca_actor_default(ca, NULL);
    int rc = ca->dir ? BACSC_OK : BACSC_ERR_NOMEM;
    if (rc == BACSC_OK)
        rc = db_open(ca, path, false);
    if (rc == BACSC_OK)
        rc = db_check_schema(ca);
    if (rc == BACSC_OK)
        ca_wal_start(ca, path); /* without it SQLite checkpoints in the commits */
    if (rc == BACSC_OK) {
        ca_path_in(dir, "policy.json", path, sizeof path);
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
    ca_anchor_refresh(ca);
    ca_wal_stop(ca);
    if (ca->db)
        sqlite3_close(ca->db);
    X509_free(ca->cert);
    sk_X509_pop_free(ca->chain, X509_free);
    EVP_PKEY_free(ca->key);
    bacsc_signer_free(ca->signer);
    bacsc_pool_free(ca->pool);
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
    const char *d = actor && *actor ? actor : "unknown";
    pki_printable(d, strlen(d), ca->actor, sizeof ca->actor);
}

void bacsc_ca_set_time(bacsc_ca *ca, int64_t now)
{
    ca->fixed_now = now;
}

void bacsc_ca_set_threads(bacsc_ca *ca, int n)
{
    n = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
    if (n != ca->threads) {
        bacsc_pool_free(ca->pool); /* the next job makes one of the new size */
        ca->pool = NULL;
    }
    ca->threads = n;
}

bacsc_pool *ca_pool(bacsc_ca *ca)
{
    if (!ca->pool && ca->threads > 1)
        ca->pool = bacsc_pool_new(ca->threads);
    return ca->pool;
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

int ca_load_key(bacsc_ca *ca)
{
    if (ca->key)
        return BACSC_OK;
    char path[4096];
    ca_path_in(ca->dir, "ca.key", path, sizeof path);
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return ca_fail(ca, BACSC_ERR_IO, "%s is not a regular file (a symlink?): refused", path);
    int rc = bacsc_pki_key_read(path, ca->passphrase, &ca->key);
    if (rc == BACSC_ERR_STATE)
        return ca_fail(ca, rc, "the CA key is encrypted: %s (use --passphrase-file)",
                       ca->passphrase ? "wrong passphrase" : "no passphrase given");
    if (rc != BACSC_OK)
        return ca_fail(ca, rc, "cannot read the CA key %s", path);
    return BACSC_OK;
}

int ca_need_signer(bacsc_ca *ca)
{
    if (ca->signer)
        return BACSC_OK;
    if (!ca->cert)
        return ca_fail(ca, BACSC_ERR_STATE,
                       "no CA certificate installed yet (issuing CA: run 'bacsc ca install-cert')");
    int rc = ca_load_key(ca);
    if (rc != BACSC_OK)
        return rc;
    rc = bacsc_signer_new(ca->cert, ca->key, &ca->signer);
    if (rc != BACSC_OK)
        return ca_fail(ca, rc, "the CA key does not match ca.pem");
    rc = ca_policy_mac_check(ca);
    if (rc != BACSC_OK) {
        bacsc_signer_free(ca->signer);
        ca->signer = NULL;
    }
    return rc;
}

int bacsc_ca_check_signing(bacsc_ca *ca)
{
    ca->err[0] = 0;
    return ca_need_signer(ca);
}

/* ---- policy, CSR, install-cert ------------------------------------------- */

int bacsc_ca_policy_set(bacsc_ca *ca, const char *key, const char *value)
{
    bacsc_policy np = ca->policy;
    int rc = bacsc_policy_set(&np, key, value, ca->err, sizeof ca->err);
    if (rc != BACSC_OK)
        return rc;
    char path[4096];
    ca_path_in(ca->dir, "policy.json", path, sizeof path);
    rc = ca_load_key(ca); /* the policy is MACed with a key derived from the CA key */
    if (rc != BACSC_OK)
        return rc;
    rc = ca_begin(ca);
    if (rc != BACSC_OK)
        return rc;
    char detail[512];
    snprintf(detail, sizeof detail, "%s = %s", key, value);
    rc = ca_audit(ca, "policy-set", "policy.json", detail);
    /* The file is written inside the transaction: if it fails, no audit row. */
    if (rc == BACSC_OK)
        rc = bacsc_policy_save(path, &np, ca->err, sizeof ca->err);
    if (rc == BACSC_OK)
        rc = ca_policy_mac_store(ca);
    if (rc == BACSC_OK)
        rc = ca_commit(ca);
    if (rc != BACSC_OK) {
        ca_rollback(ca);
        return rc;
    }
    ca->policy = np;
    return BACSC_OK;
}

int bacsc_ca_make_csr(bacsc_ca *ca, uint8_t **der, size_t *len)
{
    int rc = ca_load_key(ca);
    if (rc != BACSC_OK)
        return rc;
    char name[256], org[256];
    ca_meta_get(ca, "name", name, sizeof name);
    ca_meta_get(ca, "org", org, sizeof org);
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
    ca_path_in(ca->dir, "ca.csr", path, sizeof path);
    rc = bacsc_pki_csr_write(path, *der, *len);
    if (rc == BACSC_OK && ca_begin(ca) == BACSC_OK) {
        if (ca_audit(ca, "csr", "ca.csr", spec.cn) == BACSC_OK)
            ca_commit(ca);
        else
            ca_rollback(ca);
    }
    if (rc != BACSC_OK) {
        free(*der);
        *der = NULL;
        return ca_fail(ca, rc, "cannot write %s: %s", path, bacsc_pki_write_errtext(errno));
    }
    return BACSC_OK;
}

int bacsc_ca_install_cert(bacsc_ca *ca, const uint8_t *data, size_t len)
{
    STACK_OF(X509) *sk = NULL;
    if (bacsc_pki_certs_parse(data, len, &sk) < 0)
        return ca_fail(ca, BACSC_ERR_MALFORMED, "no certificate found (PEM or DER expected)");
    int rc = ca_load_key(ca);
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
    ca_path_in(ca->dir, "ca.pem", path, sizeof path);
    rc = ca_begin(ca);
    if (rc != BACSC_OK)
        goto out;
    char detail[700];
    snprintf(detail, sizeof detail, "serial %s, issuer %s, chain %d", info.serial, info.issuer,
             sk_X509_num(sk));
    rc = ca_audit(ca, "install-cert", info.subject, detail);
    if (rc == BACSC_OK) {
        rc = bacsc_pki_cert_write(path, &x, 1);
        if (rc == BACSC_OK) {
            ca_path_in(ca->dir, "chain.pem", path, sizeof path);
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
            ca_fail(ca, rc, "cannot write %s: %s", path, bacsc_pki_write_errtext(errno));
    }
    if (rc == BACSC_OK)
        rc = ca_commit(ca);
    if (rc != BACSC_OK) {
        ca_rollback(ca);
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
        sqlite3_stmt *upd = ca_prep(ca, sql_upd);
        sqlite3_stmt *q = ca_prep(ca, "SELECT status FROM requests WHERE id = ?");
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
            ca_bind_text(upd, 4, reason);
            sqlite3_bind_int64(upd, 5, sel->ids[i]);
            if (sqlite3_step(upd) != SQLITE_DONE) {
                rc = ca_db_fail(ca, action);
                break;
            }
            if (sqlite3_changes(ca->db) == 1) {
                char obj[64];
                snprintf(obj, sizeof obj, "request %lld", (long long)sel->ids[i]);
                rc = ca_audit(ca, action, obj, reason);
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
                         (long long)sel->ids[i], ca_col_text(q, 0));
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
    sqlite3_stmt *a = ca_prep(ca, sql_aud), *u = ca_prep(ca, sql_upd), *sel_ids = NULL;
    int rc = a && u ? BACSC_OK : BACSC_ERR_DB;
    if (rc == BACSC_OK && cb && to == BACSC_REQ_REJECTED) {
        char sql_sel[256];
        snprintf(sql_sel, sizeof sql_sel, "SELECT id FROM requests WHERE status IN (%s) %s",
                 from_sql, sel->batch_id > 0 ? "AND batch_id = ?5" : "AND ?5 IS NULL");
        sel_ids = ca_prep(ca, sql_sel);
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
        ca_bind_text(st, 4, reason);
        if (sel->batch_id > 0)
            sqlite3_bind_int64(st, 5, sel->batch_id);
        if (k == 1)
            sqlite3_bind_text(st, 6, status_names[to], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = ca_db_fail(ca, action);
        else if (k == 1)
            moved = sqlite3_changes(ca->db);
    }
    sqlite3_finalize(a);
    sqlite3_finalize(u);
    sqlite3_finalize(sel_ids);
    return rc == BACSC_OK ? moved : rc;
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
    int rc = ca_begin(ca);
    if (rc != BACSC_OK)
        return rc;
    rc = decide(ca, sel, "'pending','approved'", BACSC_REQ_REJECTED, r, cb, user);
    if (rc < 0 || ca_commit(ca) != BACSC_OK) {
        ca_rollback(ca);
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

/* Load up to `max` (<= ISSUE_CHUNK) approved requests. Returns the count or < 0. */
static int load_chunk(bacsc_ca *ca, sqlite3_stmt *q, int64_t batch_id, int64_t after, int max,
                      sign_item **out)
{
    sign_item *items = calloc((size_t)max, sizeof *items);
    if (!items)
        return ca_fail(ca, BACSC_ERR_NOMEM, "out of memory");
    sqlite3_reset(q);
    sqlite3_bind_int64(q, 1, after);
    if (batch_id > 0)
        sqlite3_bind_int64(q, 2, batch_id);
    else
        sqlite3_bind_null(q, 2);
    sqlite3_bind_int(q, 3, max);
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
        if (ca_col_text(q, 2) && ca->policy.carry.uuid)
            snprintf(it->uuid, sizeof it->uuid, "%s", ca_col_text(q, 2));
        snprintf(it->key_fp, sizeof it->key_fp, "%s", ca_col_text(q, 3) ? ca_col_text(q, 3) : "");
        n++;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        free_items(items, (size_t)n);
        return ca_db_fail(ca, "load approved requests");
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
    int rc = ca_begin(ca);
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
                rc = ca_db_fail(ca, "reject");
                break;
            }
            continue;
        }
        sqlite3_reset(s->upd);
        sqlite3_bind_int64(s->upd, 1, now);
        sqlite3_bind_int64(s->upd, 2, it->id);
        if (sqlite3_step(s->upd) != SQLITE_DONE) {
            rc = ca_db_fail(ca, "mark issued");
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
        ca_bind_text(ins, 4, it->uuid);
        sqlite3_bind_text(ins, 5, it->key_fp, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 6, now - 3600);
        sqlite3_bind_int64(ins, 7, now - 3600 + (int64_t)validity_days * 86400);
        sqlite3_bind_blob(ins, 8, it->der, it->der_len, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 9, now);
        int src = sqlite3_step(ins);
        if (src != SQLITE_DONE) {
            if (sqlite3_extended_errcode(ca->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
                *dup_serial = true;
            rc = ca_db_fail(ca, "store certificate");
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
            rc = ca_db_fail(ca, "audit");
            break;
        }
        issued++;
    }
    if (rc == BACSC_OK)
        rc = ca_commit(ca);
    if (rc != BACSC_OK) {
        ca_rollback(ca);
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

/* One chunk of approved requests on its way: loaded, being signed on the
 * pool, then stored. */
typedef struct issue_chunk {
    sign_item *items;
    int n;
    sign_ctx sc;
    bacsc_pool_job *job;
} issue_chunk;

/* Load the next chunk after request `after` and start signing it on the
 * pool. Returns its size (0: none left) or < 0. */
static int chunk_start(bacsc_ca *ca, sqlite3_stmt *q, int64_t batch_id, int64_t after, int max,
                       issue_chunk *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->n = load_chunk(ca, q, batch_id, after, max, &ch->items);
    if (ch->n <= 0) {
        if (ch->n == 0)
            free(ch->items);
        ch->items = NULL;
        return ch->n;
    }
    ch->sc = (sign_ctx){.signer = ca->signer, .policy = &ca->policy, .now = ca_now(ca),
                        .items = ch->items};
    ch->job = bacsc_pool_start(ch->n > 1 ? ca_pool(ca) : NULL, (size_t)ch->n, sign_one, &ch->sc);
    return ch->n;
}

static void chunk_drop(issue_chunk *ch)
{
    bacsc_pool_wait(ch->job);
    ch->job = NULL;
    if (ch->items)
        free_items(ch->items, (size_t)ch->n);
    ch->items = NULL;
    ch->n = 0;
}

/* What issuing uses: its statements and the two chunks in flight (the
 * pool holds a pointer to a chunk's sign_ctx: chunks never move). The
 * first chunk may be started early (bacsc_ca_approve: while the approval
 * commits). */
typedef struct issue_run {
    issue_stmts s;
    sqlite3_stmt *q;
    issue_chunk chunks[ISSUE_DEPTH];
    bool started; /* chunks[0] started; `first`: chunk_start's result */
    int first;
} issue_run;

static int issue_open(bacsc_ca *ca, issue_run *r)
{
    memset(r, 0, sizeof *r);
    r->q = ca_prep(ca, "SELECT id, NULL, device_uuid, key_fp, key_alg, key_bits, subject_der, "
                       "san_der FROM requests "
                       "WHERE status = 'approved' AND id > ?1 AND (?2 IS NULL OR "
                       "batch_id = ?2) ORDER BY id LIMIT ?3");
    r->s.upd = ca_prep(ca, "UPDATE requests SET status = 'issued', decided = COALESCE(decided, ?1) "
                           "WHERE id = ?2 AND status = 'approved'");
    r->s.ins = ca_prep(ca, "INSERT INTO certificates(serial, request_id, subject, device_uuid, "
                           "key_fp, not_before, not_after, der, status, issued) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'valid', ?9)");
    r->s.aud = ca_prep(ca, "INSERT INTO audit(time, actor, action, object, detail) "
                           "VALUES (?1, ?2, 'issue', ?3, 'request ' || ?4 || ': ' || ?5)");
    r->s.rej = ca_prep(ca, "UPDATE requests SET status = 'rejected', reason = ?1, decided = ?2, "
                           "decided_by = 'ca' WHERE id = ?3 AND status = 'approved'");
    return r->q && r->s.upd && r->s.ins && r->s.aud && r->s.rej ? BACSC_OK : BACSC_ERR_DB;
}

static void issue_close(issue_run *r)
{
    for (int i = 0; i < ISSUE_DEPTH; i++)
        chunk_drop(&r->chunks[i]);
    sqlite3_finalize(r->q);
    sqlite3_finalize(r->s.upd);
    sqlite3_finalize(r->s.ins);
    sqlite3_finalize(r->s.aud);
    sqlite3_finalize(r->s.rej);
}

/* Sign and store every approved request of the batch in chunks, in id
 * order: while this thread stores chunk k (one transaction), the pool
 * signs chunks k + 1 and k + 2, loaded by this thread before it stores k,
 * so the workers do not wait for the store. Serial numbers are random and
 * made by the signing threads; the rows, audit entries and their chain are
 * written by this thread alone, in request order, so the store holds the
 * same as with one thread. */
static int issue_pipeline(bacsc_ca *ca, issue_run *r, int64_t batch_id, bacsc_result_cb cb,
                          void *user, int *total)
{
    int retries = 0, head = 0, inflight = 0;
    int64_t after = 0, loaded = 0; /* last id stored; last id loaded */
    bool more = true;              /* approved requests left to load */
    int n = r->started ? r->first : chunk_start(ca, r->q, batch_id, 0, ISSUE_FIRST, &r->chunks[0]);
    for (;;) {
        if (n < 0)
            return n;
        if (n == 0 && inflight == 0)
            return BACSC_OK;
        if (n > 0) {
            issue_chunk *nw = &r->chunks[(head + inflight) % ISSUE_DEPTH];
            loaded = nw->items[nw->n - 1].id;
            inflight++;
        } else {
            more = false;
        }
        n = 0;
        if (more && inflight < ISSUE_DEPTH) { /* keep the pool ahead of the store */
            n = chunk_start(ca, r->q, batch_id, loaded, ISSUE_CHUNK,
                            &r->chunks[(head + inflight) % ISSUE_DEPTH]);
            continue;
        }
        issue_chunk *cur = &r->chunks[head];
        bacsc_pool_wait(cur->job);
        cur->job = NULL;
        bool dup = false;
        int64_t last = cur->items[cur->n - 1].id;
        int got = store_chunk(ca, &r->s, cur->items, cur->n, cur->sc.now,
                              ca->policy.validity_days, cb, user, &dup);
        chunk_drop(cur);
        head = (head + 1) % ISSUE_DEPTH;
        inflight--;
        if (got < 0) {
            for (int i = 0; i < ISSUE_DEPTH; i++)
                chunk_drop(&r->chunks[i]);
            if (!dup || ++retries >= 3)
                return got;
            /* a random serial collided: sign from that chunk on again */
            head = inflight = 0;
            more = true;
            n = chunk_start(ca, r->q, batch_id, after, ISSUE_CHUNK, &r->chunks[0]);
            continue;
        }
        *total += got;
        after = last;
        if (more && inflight < ISSUE_DEPTH)
            n = chunk_start(ca, r->q, batch_id, loaded, ISSUE_CHUNK,
                            &r->chunks[(head + inflight) % ISSUE_DEPTH]);
    }
}

static int issue_all(bacsc_ca *ca, issue_run *r, int64_t batch_id, bacsc_result_cb cb,
                     void *user)
{
    int total = 0;
    int rc = issue_pipeline(ca, r, batch_id, cb, user, &total);
    return rc == BACSC_OK ? total : rc;
}

int bacsc_ca_issue_approved(bacsc_ca *ca, int64_t batch_id, bacsc_result_cb cb, void *user)
{
    ca->err[0] = 0;
    int rc = ca_need_signer(ca);
    if (rc != BACSC_OK)
        return rc;
    issue_run r;
    rc = issue_open(ca, &r);
    if (rc == BACSC_OK)
        rc = issue_all(ca, &r, batch_id, cb, user);
    issue_close(&r);
    return rc;
}

int bacsc_ca_approve(bacsc_ca *ca, const bacsc_selector *sel, bacsc_result_cb cb, void *user)
{
    ca->err[0] = 0;
    if (!sel)
        return ca_fail(ca, BACSC_ERR_INVALID_ARG, "nothing selected");
    int rc = ca_need_signer(ca); /* fail before deciding anything if we cannot sign */
    if (rc != BACSC_OK)
        return rc;
    int64_t batch_id = sel->ids ? 0 : sel->batch_id;
    issue_run r;
    rc = issue_open(ca, &r);
    /* The approval of a batch is one UPDATE of all its rows: its statement
     * journal (a copy of each page it changes) stays in memory instead of
     * spilling to a temporary file in one write per page. Only for this
     * transaction (SQLite takes the setting when it begins one): the small
     * statements of the chunks are cheaper with the default. */
    if (rc == BACSC_OK)
        rc = ca_exec(ca, "PRAGMA temp_store = MEMORY");
    if (rc == BACSC_OK)
        rc = ca_begin(ca);
    if (rc != BACSC_OK) {
        ca_exec(ca, "PRAGMA temp_store = DEFAULT");
        issue_close(&r);
        return rc;
    }
    rc = decide(ca, sel, "'pending'", BACSC_REQ_APPROVED, NULL, cb, user);
    if (rc >= 0) { /* the pool signs the first chunk while the approval commits */
        r.first = chunk_start(ca, r.q, batch_id, 0, ISSUE_FIRST, &r.chunks[0]);
        r.started = true;
    }
    if (rc < 0 || ca_commit(ca) != BACSC_OK) {
        ca_rollback(ca);
        ca_exec(ca, "PRAGMA temp_store = DEFAULT");
        issue_close(&r);
        return rc < 0 ? rc : BACSC_ERR_DB;
    }
    ca_exec(ca, "PRAGMA temp_store = DEFAULT");
    rc = issue_all(ca, &r, batch_id, cb, user);
    issue_close(&r);
    return rc;
}
