/*
 * web_db.c — the console's own database: users (scrypt password hashes),
 * sessions and API tokens (stored as SHA-256 of the random token), login
 * failures for rate limiting, the console audit log and who owns which CA
 * batch and site job. SQLite in WAL mode, file mode 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "web/web.h"

struct web_db {
    sqlite3 *db;
    char err[256];
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role INTEGER NOT NULL,\n"
    "  pw TEXT NOT NULL, created INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS sessions (hash BLOB PRIMARY KEY, user TEXT NOT NULL,\n"
    "  csrf TEXT NOT NULL, addr TEXT NOT NULL, created INTEGER NOT NULL,\n"
    "  expires INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS tokens (id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  hash BLOB UNIQUE NOT NULL, user TEXT NOT NULL, created INTEGER NOT NULL,\n"
    "  expires INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE IF NOT EXISTS login_failures (user TEXT NOT NULL, addr TEXT NOT NULL,\n"
    "  time INTEGER NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS login_failures_user ON login_failures(user, time);\n"
    "CREATE INDEX IF NOT EXISTS login_failures_addr ON login_failures(addr, time);\n"
    "CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  time INTEGER NOT NULL, actor TEXT NOT NULL, addr TEXT NOT NULL, action TEXT NOT NULL,\n"
    "  object TEXT NOT NULL, detail TEXT NOT NULL);\n"
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit\n"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit\n"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n"
    "CREATE TABLE IF NOT EXISTS batch_owner (batch INTEGER PRIMARY KEY, user TEXT NOT NULL,\n"
    "  site_claim TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS job_owner (job INTEGER PRIMARY KEY, user TEXT NOT NULL,\n"
    "  created INTEGER NOT NULL);\n"
    "PRAGMA user_version = 1;\n";

const char *web_role_name(int role)
{
    switch (role) {
    case WEB_ROLE_VIEWER: return "viewer";
    case WEB_ROLE_INSTALLER: return "installer";
    case WEB_ROLE_ADMIN: return "admin";
    default: return "none";
    }
}

int web_role_parse(const char *s)
{
    if (!s)
        return WEB_ROLE_NONE;
    if (!strcmp(s, "viewer"))
        return WEB_ROLE_VIEWER;
    if (!strcmp(s, "installer"))
        return WEB_ROLE_INSTALLER;
    if (!strcmp(s, "admin"))
        return WEB_ROLE_ADMIN;
    return WEB_ROLE_NONE;
}

static int dbfail(web_db *db, const char *what)
{
    snprintf(db->err, sizeof db->err, "%s: %s", what, sqlite3_errmsg(db->db));
    return BACSC_ERR_DB;
}

const char *web_db_errmsg(const web_db *db)
{
    return db ? db->err : "";
}

int web_db_open(const char *path, web_db **out, char *err, size_t errlen)
{
    *out = NULL;
    /* Create the file 0600 before SQLite does (it would use the umask). */
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return BACSC_ERR_IO;
    }
    close(fd);
    web_db *db = calloc(1, sizeof *db);
    if (!db)
        return BACSC_ERR_NOMEM;
    if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 db->db ? sqlite3_errmsg(db->db) : "out of memory");
        web_db_close(db);
        return BACSC_ERR_DB;
    }
    sqlite3_busy_timeout(db->db, 15000);
    char *msg = NULL;
    if (sqlite3_exec(db->db, "PRAGMA journal_mode = WAL", NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s is not a bacsc web console database: %s", path,
                 msg ? msg : "?");
        sqlite3_free(msg);
        web_db_close(db);
        return BACSC_ERR_MALFORMED;
    }
    *out = db;
    return BACSC_OK;
}

void web_db_close(web_db *db)
{
    if (!db)
        return;
    sqlite3_close(db->db);
    free(db);
}

/* Prepare `sql` and bind the arguments described by `fmt`: 't' text,
 * 'i' int64, 'b' blob (pointer + size_t). */
static sqlite3_stmt *prep(web_db *db, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) {
        dbfail(db, "prepare");
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    for (int i = 1; fmt && fmt[i - 1]; i++) {
        switch (fmt[i - 1]) {
        case 't': sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT); break;
        case 'i': sqlite3_bind_int64(st, i, va_arg(ap, int64_t)); break;
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            sqlite3_bind_blob(st, i, p, (int)n, SQLITE_TRANSIENT);
            break;
        }
        }
    }
    va_end(ap);
    return st;
}

/* Step a statement that returns no row; finalises it. */
static int run(web_db *db, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return BACSC_ERR_DB;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        if (rc == SQLITE_CONSTRAINT) {
            snprintf(db->err, sizeof db->err, "%s: already exists", what);
            return BACSC_ERR_EXISTS;
        }
        return dbfail(db, what);
    }
    return BACSC_OK;
}

/* ---- passwords ------------------------------------------------------------------ */

#define SCRYPT_LOG_N 15
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_LEN 16
#define HASH_LEN 32

static int scrypt(const char *pw, const unsigned char *salt, size_t saltlen, unsigned log_n,
                  unsigned r, unsigned p, unsigned char *out)
{
    if (log_n < 10 || log_n > 20 || r < 1 || r > 32 || p < 1 || p > 4)
        return BACSC_ERR_INVALID_ARG;
    uint64_t n = (uint64_t)1 << log_n;
    uint64_t maxmem = 128u * r * n + 128u * r * p + (1u << 20) + 256u * r;
    if (EVP_PBE_scrypt(pw, strlen(pw), salt, saltlen, n, r, p, maxmem, out, HASH_LEN) != 1)
        return BACSC_ERR_CRYPTO;
    return BACSC_OK;
}

int web_password_hash(const char *password, char *out, size_t outlen)
{
    unsigned char salt[SALT_LEN], h[HASH_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return BACSC_ERR_CRYPTO;
    int rc = scrypt(password, salt, sizeof salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, h);
    if (rc != BACSC_OK)
        return rc;
    char sh[2 * SALT_LEN + 1], hh[2 * HASH_LEN + 1];
    bacsc_pki_hex(salt, sizeof salt, sh);
    bacsc_pki_hex(h, sizeof h, hh);
    snprintf(out, outlen, "scrypt$%u$%u$%u$%s$%s", SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, sh, hh);
    OPENSSL_cleanse(h, sizeof h);
    return BACSC_OK;
}

static bool unhex(const char *s, size_t n, unsigned char *out)
{
    if (strlen(s) < 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (unsigned char)v;
    }
    return true;
}

bool web_password_verify(const char *password, const char *stored)
{
    unsigned log_n, r, p;
    char salt_hex[2 * SALT_LEN + 1], hash_hex[2 * HASH_LEN + 1];
    if (sscanf(stored, "scrypt$%u$%u$%u$%32[0-9a-f]$%64[0-9a-f]", &log_n, &r, &p, salt_hex,
               hash_hex) != 5)
        return false;
    unsigned char salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
    if (!unhex(salt_hex, SALT_LEN, salt) || !unhex(hash_hex, HASH_LEN, want))
        return false;
    if (scrypt(password, salt, sizeof salt, log_n, r, p, got) != BACSC_OK)
        return false;
    bool ok = CRYPTO_memcmp(got, want, HASH_LEN) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return ok;
}

/* ---- users ----------------------------------------------------------------------- */

bool web_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > WEB_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '-'))
            return false;
    }
    return true;
}

static int check_password_rules(web_db *db, const char *password)
{
    size_t n = strlen(password);
    if (n < 8 || n > WEB_PASSWORD_MAX) {
        snprintf(db->err, sizeof db->err, "a password must have 8 to %d characters",
                 WEB_PASSWORD_MAX);
        return BACSC_ERR_INVALID_ARG;
    }
    return BACSC_OK;
}

int web_user_add(web_db *db, const char *name, int role, const char *password)
{
    if (!web_name_ok(name)) {
        snprintf(db->err, sizeof db->err,
                 "a user name has 1 to 64 characters of A-Z a-z 0-9 . _ @ -");
        return BACSC_ERR_INVALID_ARG;
    }
    if (role < WEB_ROLE_VIEWER || role > WEB_ROLE_ADMIN) {
        snprintf(db->err, sizeof db->err, "the role is admin, installer or viewer");
        return BACSC_ERR_INVALID_ARG;
    }
    int rc = check_password_rules(db, password);
    if (rc != BACSC_OK)
        return rc;
    char h[200];
    if ((rc = web_password_hash(password, h, sizeof h)) != BACSC_OK)
        return rc;
    rc = run(db, prep(db, "INSERT INTO users(name, role, pw, created) VALUES (?,?,?,strftime('%s'))",
                      "tit", name, (int64_t)role, h),
             "add user");
    if (rc == BACSC_ERR_EXISTS)
        snprintf(db->err, sizeof db->err, "user '%s' already exists", name);
    return rc;
}

static int changes_or_missing(web_db *db, int rc, const char *name)
{
    if (rc == BACSC_OK && sqlite3_changes(db->db) == 0) {
        snprintf(db->err, sizeof db->err, "no user '%s'", name);
        return BACSC_ERR_NOT_FOUND;
    }
    return rc;
}

int web_user_remove(web_db *db, const char *name)
{
    int rc = run(db, prep(db, "DELETE FROM users WHERE name = ?", "t", name), "remove user");
    rc = changes_or_missing(db, rc, name);
    if (rc == BACSC_OK) {
        run(db, prep(db, "DELETE FROM sessions WHERE user = ?", "t", name), "sessions");
        run(db, prep(db, "UPDATE tokens SET revoked = 1 WHERE user = ?", "t", name), "tokens");
    }
    return rc;
}

int web_user_passwd(web_db *db, const char *name, const char *password)
{
    int rc = check_password_rules(db, password);
    if (rc != BACSC_OK)
        return rc;
    char h[200];
    if ((rc = web_password_hash(password, h, sizeof h)) != BACSC_OK)
        return rc;
    rc = run(db, prep(db, "UPDATE users SET pw = ? WHERE name = ?", "tt", h, name), "passwd");
    rc = changes_or_missing(db, rc, name);
    if (rc == BACSC_OK) /* a new password ends every session of the user */
        run(db, prep(db, "DELETE FROM sessions WHERE user = ?", "t", name), "sessions");
    return rc;
}

int web_user_set_role(web_db *db, const char *name, int role)
{
    int rc = run(db, prep(db, "UPDATE users SET role = ? WHERE name = ?", "it", (int64_t)role,
                          name),
                 "set role");
    return changes_or_missing(db, rc, name);
}

int web_user_role(web_db *db, const char *name)
{
    sqlite3_stmt *st = prep(db, "SELECT role FROM users WHERE name = ?", "t", name);
    int role = WEB_ROLE_NONE;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        role = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return role;
}

int web_users(web_db *db, web_user_cb cb, void *user)
{
    sqlite3_stmt *st = prep(db, "SELECT name, role, created FROM users ORDER BY name", NULL);
    if (!st)
        return BACSC_ERR_DB;
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        n++;
        if (cb(user, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
               sqlite3_column_int64(st, 2)))
            break;
    }
    sqlite3_finalize(st);
    return n;
}

/* A hash to verify against for unknown users, so that the time taken does
 * not tell which names exist. */
static char dummy[200];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static void dummy_make(void)
{
    unsigned char pw[16];
    char hex[33];
    RAND_bytes(pw, sizeof pw);
    bacsc_pki_hex(pw, sizeof pw, hex);
    web_password_hash(hex, dummy, sizeof dummy);
}

int web_user_check(web_db *db, const char *name, const char *password, int *role)
{
    sqlite3_stmt *st = prep(db, "SELECT role, pw FROM users WHERE name = ?", "t", name);
    if (!st)
        return BACSC_ERR_DB;
    char stored[200] = "";
    int r = WEB_ROLE_NONE;
    if (sqlite3_step(st) == SQLITE_ROW) {
        r = sqlite3_column_int(st, 0);
        snprintf(stored, sizeof stored, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    if (!stored[0]) {
        pthread_once(&dummy_once, dummy_make);
        web_password_verify(password, dummy);
        return BACSC_ERR_POLICY;
    }
    if (!web_password_verify(password, stored))
        return BACSC_ERR_POLICY;
    *role = r;
    return BACSC_OK;
}

/* ---- login failures -------------------------------------------------------------- */

int web_login_failures(web_db *db, const char *name, const char *addr, int64_t now,
                       int64_t window, unsigned *by_user, unsigned *by_addr)
{
    *by_user = *by_addr = 0;
    sqlite3_stmt *st = prep(db,
                            "SELECT (SELECT count(*) FROM login_failures WHERE user = ?1 AND "
                            "time > ?3), (SELECT count(*) FROM login_failures WHERE addr = ?2 "
                            "AND time > ?3)",
                            "tti", name, addr, now - window);
    if (!st)
        return BACSC_ERR_DB;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *by_user = (unsigned)sqlite3_column_int(st, 0);
        *by_addr = (unsigned)sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    return BACSC_OK;
}

int web_login_failed(web_db *db, const char *name, const char *addr, int64_t now)
{
    /* keep the table small: forget failures older than a day */
    run(db, prep(db, "DELETE FROM login_failures WHERE time < ?", "i", now - 86400), "prune");
    return run(db, prep(db, "INSERT INTO login_failures(user, addr, time) VALUES (?,?,?)", "tti",
                        name, addr, now),
               "login failure");
}

int web_login_clear(web_db *db, const char *name)
{
    return run(db, prep(db, "DELETE FROM login_failures WHERE user = ?", "t", name), "clear");
}

/* ---- sessions and tokens ---------------------------------------------------------- */

static int random_token(char out[WEB_TOKEN_LEN + 1])
{
    unsigned char raw[32], b64[48];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return BACSC_ERR_CRYPTO;
    EVP_EncodeBlock(b64, raw, sizeof raw); /* 44 characters, the last one '=' */
    OPENSSL_cleanse(raw, sizeof raw);
    for (size_t i = 0; i < WEB_TOKEN_LEN; i++)
        out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
    out[WEB_TOKEN_LEN] = 0;
    OPENSSL_cleanse(b64, sizeof b64);
    return BACSC_OK;
}

static void token_hash(const char *token, unsigned char h[32])
{
    unsigned int n = 32;
    EVP_Digest(token, strlen(token), h, &n, EVP_sha256(), NULL);
}

int web_session_create(web_db *db, const char *user, const char *addr, int64_t now,
                       int64_t ttl, char token[WEB_TOKEN_LEN + 1], char csrf[WEB_TOKEN_LEN + 1])
{
    int rc;
    if ((rc = random_token(token)) != BACSC_OK || (rc = random_token(csrf)) != BACSC_OK)
        return rc;
    unsigned char h[32];
    token_hash(token, h);
    run(db, prep(db, "DELETE FROM sessions WHERE expires < ?", "i", now), "prune sessions");
    return run(db,
               prep(db, "INSERT INTO sessions(hash, user, csrf, addr, created, expires) "
                        "VALUES (?,?,?,?,?,?)",
                    "btttii", h, sizeof h, user, csrf, addr, now, now + ttl),
               "session");
}

int web_session_get(web_db *db, const char *token, int64_t now, web_auth *a)
{
    memset(a, 0, sizeof *a);
    if (strlen(token) != WEB_TOKEN_LEN)
        return BACSC_ERR_NOT_FOUND;
    unsigned char h[32];
    token_hash(token, h);
    sqlite3_stmt *st = prep(db,
                            "SELECT s.user, u.role, s.csrf, s.expires FROM sessions s JOIN users u "
                            "ON u.name = s.user WHERE s.hash = ? AND s.expires > ?",
                            "bi", h, sizeof h, now);
    if (!st)
        return BACSC_ERR_DB;
    int rc = BACSC_ERR_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(a->user, sizeof a->user, "%s", (const char *)sqlite3_column_text(st, 0));
        a->role = sqlite3_column_int(st, 1);
        snprintf(a->csrf, sizeof a->csrf, "%s", (const char *)sqlite3_column_text(st, 2));
        a->expires = sqlite3_column_int64(st, 3);
        rc = BACSC_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

int web_session_revoke(web_db *db, const char *token)
{
    unsigned char h[32];
    token_hash(token, h);
    return run(db, prep(db, "DELETE FROM sessions WHERE hash = ?", "b", h, sizeof h), "logout");
}

#define TOKEN_PREFIX "bct_"

int web_token_create(web_db *db, const char *user, int64_t now, int64_t expires, char *token,
                     size_t cap, int64_t *id)
{
    if (web_user_role(db, user) == WEB_ROLE_NONE) {
        snprintf(db->err, sizeof db->err, "no user '%s'", user);
        return BACSC_ERR_NOT_FOUND;
    }
    char t[WEB_TOKEN_LEN + 1];
    int rc = random_token(t);
    if (rc != BACSC_OK || cap < sizeof TOKEN_PREFIX + WEB_TOKEN_LEN)
        return rc != BACSC_OK ? rc : BACSC_ERR_BUFFER_TOO_SMALL;
    snprintf(token, cap, TOKEN_PREFIX "%s", t);
    unsigned char h[32];
    token_hash(token, h);
    rc = run(db,
             prep(db, "INSERT INTO tokens(hash, user, created, expires) VALUES (?,?,?,?)", "btii",
                  h, sizeof h, user, now, expires),
             "token");
    if (rc == BACSC_OK && id)
        *id = sqlite3_last_insert_rowid(db->db);
    return rc;
}

int web_token_get(web_db *db, const char *token, int64_t now, web_auth *a)
{
    memset(a, 0, sizeof *a);
    if (strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0 ||
        strlen(token) != strlen(TOKEN_PREFIX) + WEB_TOKEN_LEN)
        return BACSC_ERR_NOT_FOUND;
    unsigned char h[32];
    token_hash(token, h);
    sqlite3_stmt *st = prep(db,
                            "SELECT t.user, u.role, t.expires FROM tokens t JOIN users u ON "
                            "u.name = t.user WHERE t.hash = ? AND t.revoked = 0 AND "
                            "(t.expires = 0 OR t.expires > ?)",
                            "bi", h, sizeof h, now);
    if (!st)
        return BACSC_ERR_DB;
    int rc = BACSC_ERR_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(a->user, sizeof a->user, "%s", (const char *)sqlite3_column_text(st, 0));
        a->role = sqlite3_column_int(st, 1);
        a->expires = sqlite3_column_int64(st, 2);
        a->bearer = true;
        rc = BACSC_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

int web_token_revoke(web_db *db, int64_t id)
{
    int rc = run(db, prep(db, "UPDATE tokens SET revoked = 1 WHERE id = ?", "i", id), "revoke");
    if (rc == BACSC_OK && sqlite3_changes(db->db) == 0) {
        snprintf(db->err, sizeof db->err, "no token %lld", (long long)id);
        return BACSC_ERR_NOT_FOUND;
    }
    return rc;
}

int web_tokens(web_db *db, web_token_cb cb, void *user)
{
    sqlite3_stmt *st =
        prep(db, "SELECT id, user, created, expires, revoked FROM tokens ORDER BY id", NULL);
    if (!st)
        return BACSC_ERR_DB;
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        n++;
        if (cb(user, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
               sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
               sqlite3_column_int(st, 4) != 0))
            break;
    }
    sqlite3_finalize(st);
    return n;
}

/* ---- audit and ownership ------------------------------------------------------------ */

int web_audit(web_db *db, int64_t now, const char *actor, const char *addr, const char *action,
              const char *object, const char *detail)
{
    return run(db,
               prep(db, "INSERT INTO audit(time, actor, addr, action, object, detail) "
                        "VALUES (?,?,?,?,?,?)",
                    "ittttt", now, actor ? actor : "", addr ? addr : "", action,
                    object ? object : "", detail ? detail : ""),
               "audit");
}

int web_audit_list(web_db *db, int64_t before_id, unsigned limit, const char *q,
                   web_audit_cb cb, void *user)
{
    char like[300];
    snprintf(like, sizeof like, "%%%s%%", q ? q : "");
    sqlite3_stmt *st = prep(db,
                            "SELECT id, time, actor, addr, action, object, detail FROM audit "
                            "WHERE (?1 <= 0 OR id < ?1) AND (actor LIKE ?2 OR action LIKE ?2 OR "
                            "object LIKE ?2 OR detail LIKE ?2 OR addr LIKE ?2) "
                            "ORDER BY id DESC LIMIT ?3",
                            "iti", before_id, like, (int64_t)limit);
    if (!st)
        return BACSC_ERR_DB;
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        n++;
        const char *c[5];
        for (int i = 0; i < 5; i++)
            c[i] = (const char *)sqlite3_column_text(st, 2 + i);
        if (cb(user, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), c[0], c[1], c[2],
               c[3], c[4]))
            break;
    }
    sqlite3_finalize(st);
    return n;
}

int web_batch_owner_set(web_db *db, int64_t batch, const char *user, const char *site_claim,
                        int64_t now)
{
    return run(db,
               prep(db, "INSERT OR REPLACE INTO batch_owner(batch, user, site_claim, created) "
                        "VALUES (?,?,?,?)",
                    "itti", batch, user, site_claim ? site_claim : "", now),
               "batch owner");
}

int web_batch_owner(web_db *db, int64_t batch, char *owner, size_t cap)
{
    owner[0] = 0;
    sqlite3_stmt *st = prep(db, "SELECT user FROM batch_owner WHERE batch = ?", "i", batch);
    if (!st)
        return BACSC_ERR_DB;
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(owner, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return BACSC_OK;
}

int web_job_owner_set(web_db *db, int64_t job, const char *user, int64_t now)
{
    return run(db,
               prep(db, "INSERT OR REPLACE INTO job_owner(job, user, created) VALUES (?,?,?)",
                    "iti", job, user, now),
               "job owner");
}
