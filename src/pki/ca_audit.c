/*
 * ca_audit.c — who acts on the CA, and making tampering with the audit log
 * and the policy detectable.
 *
 *  - The actor: the front end says whom it authenticated (bacsc_actor); every
 *    audit row records it (audit_chain.auth) and every batch its submitter.
 *  - The audit hash chain: an AFTER INSERT trigger computes, for every audit
 *    row, SHA-256 over the previous row's hash and the row's fields (the SQL
 *    function bacsc_audit_hash, registered on every connection this code
 *    opens). A row inserted by any other program fails (no such function)
 *    unless the trigger is dropped, which `ca audit --verify` reports.
 *  - The anchor: whenever the CA key is loaded, the chain head is MACed with
 *    a key derived from the CA key (meta audit_anchor), so rewriting the
 *    chain up to that point is detected by whoever holds the key.
 *  - The policy MAC: policy.json is MACed with the same key (meta
 *    policy_mac); signing refuses a policy that does not match it.
 */
#include "ca_internal.h"

#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bacsc/error.h"

static const char *const kind_names[] = {"none", "local", "account", "token", "key"};

const char *const ca_schema_v2_sql =
    "CREATE TABLE audit_chain(\n"
    "  id INTEGER PRIMARY KEY REFERENCES audit(id), auth TEXT, hash TEXT NOT NULL);\n"
    "CREATE TRIGGER audit_chain_add AFTER INSERT ON audit BEGIN\n"
    "  INSERT INTO audit_chain(id, auth, hash) VALUES (NEW.id, bacsc_auth(),\n"
    "    bacsc_audit_hash((SELECT hash FROM audit_chain ORDER BY id DESC LIMIT 1), NEW.id,\n"
    "      NEW.time, NEW.actor, bacsc_auth(), NEW.action, NEW.object, NEW.detail));\n"
    "END;\n"
    "CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain\n"
    "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;\n"
    "CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain\n"
    "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;\n"
    "PRAGMA user_version = 2;\n";

/* The triggers whose absence means someone edited the store by hand. */
static const char *const guard_triggers[] = {"audit_no_update", "audit_no_delete",
                                             "audit_chain_add", "audit_chain_no_update",
                                             "audit_chain_no_delete", NULL};

/* ---- the actor ------------------------------------------------------------ */

static void uid_name(char *out, size_t outlen)
{
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res && res->pw_name[0])
        pki_printable(res->pw_name, strlen(res->pw_name), out, outlen);
    else
        snprintf(out, outlen, "uid%ld", (long)geteuid());
}

void ca_actor_default(bacsc_ca *ca, const char *display)
{
    char user[128];
    uid_name(user, sizeof user);
    snprintf(ca->auth, sizeof ca->auth, "local:%s", user);
    snprintf(ca->auth_id, sizeof ca->auth_id, "local:%s", user);
    ca->auth_kind = BACSC_ACTOR_LOCAL;
    const char *d = display && *display ? display : user;
    pki_printable(d, strlen(d), ca->actor, sizeof ca->actor);
}

int bacsc_ca_set_actor_auth(bacsc_ca *ca, const bacsc_actor *a)
{
    if (!ca || !a || a->kind < BACSC_ACTOR_NONE || a->kind > BACSC_ACTOR_SIGNED)
        return BACSC_ERR_INVALID_ARG;
    if (a->kind != BACSC_ACTOR_NONE && (!a->name || !*a->name))
        return BACSC_ERR_INVALID_ARG;
    char name[128] = "", addr[96] = "";
    if (a->name)
        pki_printable(a->name, strlen(a->name), name, sizeof name);
    if (a->address)
        pki_printable(a->address, strlen(a->address), addr, sizeof addr);
    if (a->kind == BACSC_ACTOR_NONE)
        snprintf(ca->auth, sizeof ca->auth, "none%s%s", addr[0] ? "@" : "", addr);
    else
        snprintf(ca->auth, sizeof ca->auth, "%s:%s%s%s", kind_names[a->kind], name,
                 addr[0] ? "@" : "", addr);
    const char *d = a->display && *a->display ? a->display : a->name ? a->name : "anonymous";
    pki_printable(d, strlen(d), ca->actor, sizeof ca->actor);
    ca->auth_kind = a->kind;
    snprintf(ca->auth_id, sizeof ca->auth_id, "%s:%s", kind_names[a->kind], name);
    return BACSC_OK;
}

const char *bacsc_ca_actor_auth(const bacsc_ca *ca)
{
    return ca->auth;
}

/* ---- SQL functions -------------------------------------------------------- */

static void sql_auth(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    bacsc_ca *ca = sqlite3_user_data(ctx);
    sqlite3_result_text(ctx, ca->auth, -1, SQLITE_TRANSIENT);
}

/* SHA-256 fetched once for the audit chain (one hash per audit row; the
 * implicit fetch of EVP_sha256() in every EVP_DigestInit_ex is a lookup). */
static EVP_MD *audit_md;
static pthread_once_t audit_md_once = PTHREAD_ONCE_INIT;

static void audit_md_init(void)
{
    audit_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    ERR_clear_error();
}

/* What is hashed, gathered in a buffer so that a row is hashed with one or
 * two EVP_DigestUpdate calls rather than two per field. */
typedef struct hash_in {
    EVP_MD_CTX *md;
    bool ok;
    size_t n;
    unsigned char buf[1024];
} hash_in;

static void hash_add(hash_in *h, const void *p, size_t n)
{
    if (h->n + n > sizeof h->buf) {
        h->ok = h->ok && EVP_DigestUpdate(h->md, h->buf, h->n);
        h->n = 0;
        if (n > sizeof h->buf) {
            h->ok = h->ok && EVP_DigestUpdate(h->md, p, n);
            return;
        }
    }
    memcpy(h->buf + h->n, p, n);
    h->n += n;
}

/* "<n>:" in decimal, n >= -1: the length prefix of a field. */
static void hash_add_len(hash_in *h, int n)
{
    char t[16], *e = t + sizeof t, *p = e;
    *--p = ':';
    unsigned v = n < 0 ? 1u : (unsigned)n;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    if (n < 0)
        *--p = '-';
    hash_add(h, p, (size_t)(e - p));
}

/* Hex SHA-256 over the length-prefixed text of every argument: for each,
 * its length in octets in decimal ("-1" for NULL), ':' and the text. */
static void sql_audit_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    pthread_once(&audit_md_once, audit_md_init);
    hash_in h = {.md = EVP_MD_CTX_new()};
    unsigned char d[32];
    unsigned int dl = 0;
    h.ok = h.md && audit_md && EVP_DigestInit_ex(h.md, audit_md, NULL);
    for (int i = 0; h.ok && i < argc; i++) {
        const unsigned char *t = sqlite3_value_text(argv[i]);
        int n = t ? sqlite3_value_bytes(argv[i]) : -1;
        hash_add_len(&h, n);
        if (n > 0)
            hash_add(&h, t, (size_t)n);
    }
    bool ok = h.ok && EVP_DigestUpdate(h.md, h.buf, h.n) && EVP_DigestFinal_ex(h.md, d, &dl);
    EVP_MD_CTX_free(h.md);
    if (!ok) {
        sqlite3_result_error(ctx, "audit hash failed", -1);
        return;
    }
    char hex[65];
    bacsc_pki_hex(d, 32, hex);
    sqlite3_result_text(ctx, hex, 64, SQLITE_TRANSIENT);
}

int ca_register_functions(bacsc_ca *ca)
{
    int flags = SQLITE_UTF8;
    if (sqlite3_create_function(ca->db, "bacsc_auth", 0, flags, ca, sql_auth, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_create_function(ca->db, "bacsc_audit_hash", 8, flags | SQLITE_DETERMINISTIC, ca,
                                sql_audit_hash, NULL, NULL) != SQLITE_OK)
        return ca_db_fail(ca, "register functions");
    return BACSC_OK;
}

/* Schema 1 (no chain) → 2: rows before the migration stay unchained and are
 * reported as such by the verifier. In the caller's transaction. */
static int migrate_1_2(bacsc_ca *ca)
{
    int rc = ca_exec(ca, "ALTER TABLE batches ADD COLUMN submitter TEXT");
    if (rc == BACSC_OK)
        rc = ca_exec(ca, ca_schema_v2_sql);
    if (rc == BACSC_OK) {
        sqlite3_stmt *st = ca_prep(ca, "SELECT coalesce(max(id), 0) + 1 FROM audit");
        char v[32] = "1";
        if (st && sqlite3_step(st) == SQLITE_ROW)
            snprintf(v, sizeof v, "%lld", (long long)sqlite3_column_int64(st, 0));
        sqlite3_finalize(st);
        rc = ca_meta_set(ca, "audit_chain_from", v);
    }
    if (rc == BACSC_OK)
        rc = ca_meta_set(ca, "policy_mac", "upgrade");
    if (rc == BACSC_OK)
        rc = ca_audit(ca, "upgrade", "ca.db", "schema 1 -> 2: audit hash chain, submitters");
    return rc;
}

/* Schema 2 → 3: the requests.status CHECK written as comparisons (see
 * CA_STATUS_CHECK in ca_internal.h). Only the text of the constraint
 * changes, to an equivalent one every stored row already meets, so it is
 * changed in place as SQLite documents for removing or changing CHECK
 * constraints (writable_schema, then schema_version + 1 so that every
 * connection reloads the schema), in the caller's transaction: no row is
 * copied. A store whose constraint reads otherwise is left as it is. */
static int migrate_2_3(bacsc_ca *ca)
{
    sqlite3_stmt *st = ca_prep(ca, "PRAGMA schema_version");
    long long sv = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (sv < 0)
        return ca_db_fail(ca, "schema version");
    int rc = ca_exec(ca, "PRAGMA writable_schema = ON");
    st = rc == BACSC_OK ? ca_prep(ca, "UPDATE sqlite_master SET sql = replace(sql, ?1, ?2) "
                                      "WHERE type = 'table' AND name = 'requests'")
                        : NULL;
    if (st) {
        sqlite3_bind_text(st, 1, CA_STATUS_CHECK_V1, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, CA_STATUS_CHECK, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = ca_db_fail(ca, "schema 3");
        sqlite3_finalize(st);
    } else if (rc == BACSC_OK) {
        rc = BACSC_ERR_DB;
    }
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA schema_version = %lld", sv + 1);
    if (rc == BACSC_OK)
        rc = ca_exec(ca, sql);
    int off = ca_exec(ca, "PRAGMA writable_schema = OFF");
    if (rc == BACSC_OK)
        rc = off;
    if (rc == BACSC_OK)
        rc = ca_exec(ca, "PRAGMA user_version = 3");
    if (rc == BACSC_OK)
        rc = ca_audit(ca, "upgrade", "ca.db",
                      "schema 2 -> 3: request status check without a temporary table");
    return rc;
}

/* Bring a store of an older schema to the current one, in one transaction. */
int ca_migrate(bacsc_ca *ca, int from)
{
    if (from < 1 || from > 2)
        return BACSC_OK;
    int rc = ca_begin(ca);
    if (rc == BACSC_OK && from == 1)
        rc = migrate_1_2(ca);
    if (rc == BACSC_OK)
        rc = migrate_2_3(ca);
    if (rc == BACSC_OK)
        rc = ca_commit(ca);
    if (rc != BACSC_OK)
        ca_rollback(ca);
    return rc;
}

int ca_audit(bacsc_ca *ca, const char *action, const char *object, const char *detail)
{
    sqlite3_stmt *st = ca_prep(ca, "INSERT INTO audit(time, actor, action, object, detail) "
                                   "VALUES (?, ?, ?, ?, ?)");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(st, 1, ca_now(ca));
    sqlite3_bind_text(st, 2, ca->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
    ca_bind_text(st, 4, object);
    ca_bind_text(st, 5, detail);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : ca_db_fail(ca, "audit");
    sqlite3_finalize(st);
    return rc;
}

/* ---- the MAC key ---------------------------------------------------------- */

/* HMAC-SHA256 keyed from the CA private key over `label` and `data`. */
static int ca_mac(bacsc_ca *ca, const char *label, const void *data, size_t len, char hex[65])
{
    if (!ca->key)
        return BACSC_ERR_STATE;
    unsigned char *der = NULL, k[32], mac[32];
    int n = i2d_PrivateKey(ca->key, &der);
    unsigned int kl = 0, ml = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = n > 0 && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
              EVP_DigestUpdate(md, "bacsc-ca-mac-v1", 15) && EVP_DigestUpdate(md, der, (size_t)n) &&
              EVP_DigestFinal_ex(md, k, &kl);
    EVP_MD_CTX_free(md);
    if (der)
        OPENSSL_clear_free(der, (size_t)n);
    size_t ll = strlen(label);
    unsigned char *buf = ok ? malloc(ll + 1 + len + 1) : NULL;
    if (buf) {
        memcpy(buf, label, ll);
        buf[ll] = '\n';
        if (len)
            memcpy(buf + ll + 1, data, len);
        ok = HMAC(EVP_sha256(), k, 32, buf, ll + 1 + len, mac, &ml) != NULL;
        free(buf);
    } else {
        ok = false;
    }
    OPENSSL_cleanse(k, sizeof k);
    ERR_clear_error();
    if (!ok)
        return BACSC_ERR_CRYPTO;
    bacsc_pki_hex(mac, 32, hex);
    return BACSC_OK;
}

static int policy_file_mac(bacsc_ca *ca, char hex[65])
{
    char path[4096];
    ca_path_in(ca->dir, "policy.json", path, sizeof path);
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = pki_read_file(path, 1 << 20, &data, &len);
    if (rc != BACSC_OK)
        return ca_fail(ca, rc, "cannot read %s", path);
    rc = ca_mac(ca, "policy", data, len, hex);
    free(data);
    return rc;
}

/* After policy.json was written by us: store its MAC (caller's transaction). */
int ca_policy_mac_store(bacsc_ca *ca)
{
    char hex[65];
    int rc = ca_load_key(ca);
    if (rc == BACSC_OK)
        rc = policy_file_mac(ca, hex);
    if (rc == BACSC_OK)
        rc = ca_meta_set(ca, "policy_mac", hex);
    return rc;
}

/* Before acting on the policy with the key loaded: the file must be the one
 * `policy set` wrote. A store upgraded from schema 1 gets its MAC now. */
int ca_policy_mac_check(bacsc_ca *ca)
{
    char stored[80], hex[65];
    ca_meta_get(ca, "policy_mac", stored, sizeof stored);
    int rc = policy_file_mac(ca, hex);
    if (rc != BACSC_OK)
        return rc;
    if (strcmp(stored, "upgrade") == 0) {
        rc = ca_begin(ca);
        if (rc == BACSC_OK)
            rc = ca_meta_set(ca, "policy_mac", hex);
        if (rc == BACSC_OK)
            rc = ca_audit(ca, "policy-mac", "policy.json", "MAC established after upgrade");
        if (rc == BACSC_OK)
            return ca_commit(ca);
        ca_rollback(ca);
        return rc;
    }
    if (CRYPTO_memcmp(stored, hex, 64) != 0 || strlen(stored) != 64)
        return ca_fail(ca, BACSC_ERR_POLICY,
                       "policy.json does not match its MAC: it was changed outside 'bacsc ca "
                       "policy set' (check it, then set any key with 'policy set' to accept it)");
    return BACSC_OK;
}

/* ---- the anchor and the verifier ------------------------------------------ */

static int anchor_text(bacsc_ca *ca, int64_t id, const char *hash, char *out, size_t outlen)
{
    char from[32];
    ca_meta_get(ca, "audit_chain_from", from, sizeof from);
    return snprintf(out, outlen, "%lld %s from %s", (long long)id, hash, from);
}

void ca_anchor_refresh(bacsc_ca *ca)
{
    if (!ca->key || !ca->db)
        return;
    sqlite3_stmt *st = ca_prep(ca, "SELECT id, hash FROM audit_chain ORDER BY id DESC LIMIT 1");
    if (st && sqlite3_step(st) == SQLITE_ROW && ca_col_text(st, 1)) {
        char text[160], mac[65], val[256];
        int64_t id = sqlite3_column_int64(st, 0);
        anchor_text(ca, id, ca_col_text(st, 1), text, sizeof text);
        if (ca_mac(ca, "audit-anchor", text, strlen(text), mac) == BACSC_OK) {
            snprintf(val, sizeof val, "%lld %s %s", (long long)id, ca_col_text(st, 1), mac);
            ca_meta_set(ca, "audit_anchor", val);
        }
    }
    sqlite3_finalize(st);
}

static int check_triggers(bacsc_ca *ca, bacsc_audit_check *chk)
{
    sqlite3_stmt *st = ca_prep(ca, "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND "
                                   "name = ?");
    if (!st)
        return BACSC_ERR_DB;
    int rc = BACSC_OK;
    for (int i = 0; rc == BACSC_OK && guard_triggers[i]; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, guard_triggers[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW)
            rc = pki_fail(chk->problem, sizeof chk->problem, BACSC_ERR_POLICY,
                          "trigger %s is missing: the store was edited by hand",
                          guard_triggers[i]);
    }
    sqlite3_finalize(st);
    return rc;
}

static int check_anchor(bacsc_ca *ca, bacsc_audit_check *chk, sqlite3_stmt *hq)
{
    char val[256];
    ca_meta_get(ca, "audit_anchor", val, sizeof val);
    long long id = 0;
    char hash[80] = "", mac[80] = "";
    if (!val[0] || sscanf(val, "%lld %79s %79s", &id, hash, mac) != 3)
        return BACSC_OK; /* never anchored yet */
    chk->anchored = id;
    sqlite3_reset(hq);
    sqlite3_bind_int64(hq, 1, id);
    if (sqlite3_step(hq) != SQLITE_ROW || !ca_col_text(hq, 0) ||
        strcmp(ca_col_text(hq, 0), hash) != 0)
        return pki_fail(chk->problem, sizeof chk->problem, BACSC_ERR_POLICY,
                        "the chain no longer matches its anchor at entry %lld", id);
    if (ca_load_key(ca) != BACSC_OK) {
        ca->err[0] = 0;
        return BACSC_OK;
    }
    char text[160], want[65];
    anchor_text(ca, id, hash, text, sizeof text);
    chk->anchor_checked = ca_mac(ca, "audit-anchor", text, strlen(text), want) == BACSC_OK;
    if (chk->anchor_checked && (strlen(mac) != 64 || CRYPTO_memcmp(want, mac, 64) != 0))
        return pki_fail(chk->problem, sizeof chk->problem, BACSC_ERR_POLICY,
                        "the audit anchor's MAC does not verify: the chain was rewritten");
    return BACSC_OK;
}

/* Walk every row: ids without gaps, each chained row's hash recomputed. */
static int walk_chain(bacsc_ca *ca, bacsc_audit_check *chk, int64_t from)
{
    sqlite3_stmt *q = ca_prep(
        ca, "SELECT a.id, c.hash, bacsc_audit_hash(?1, a.id, a.time, a.actor, c.auth, a.action, "
            "a.object, a.detail), c.id FROM audit a LEFT JOIN audit_chain c ON c.id = a.id "
            "WHERE a.id = ?2");
    sqlite3_stmt *ids = ca_prep(ca, "SELECT id FROM audit ORDER BY id");
    int rc = q && ids ? BACSC_OK : BACSC_ERR_DB;
    char prev[65] = "";
    bool have_prev = false;
    int64_t expect = 0;
    while (rc == BACSC_OK && sqlite3_step(ids) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(ids, 0);
        chk->entries++;
        if (expect && id != expect) {
            chk->first_bad = expect;
            rc = pki_fail(chk->problem, sizeof chk->problem, BACSC_ERR_POLICY,
                          "audit entries %lld..%lld are missing", (long long)expect,
                          (long long)id - 1);
            break;
        }
        expect = id + 1;
        sqlite3_reset(q);
        if (have_prev)
            sqlite3_bind_text(q, 1, prev, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(q, 1);
        sqlite3_bind_int64(q, 2, id);
        if (sqlite3_step(q) != SQLITE_ROW) {
            rc = ca_db_fail(ca, "audit verify");
            break;
        }
        bool chained = sqlite3_column_type(q, 3) != SQLITE_NULL;
        if (!chained && id < from)
            continue; /* written before the chain existed (schema 1) */
        const char *h = ca_col_text(q, 1), *want = ca_col_text(q, 2);
        if (!chained || !h || !want || strcmp(h, want) != 0) {
            chk->first_bad = id;
            rc = pki_fail(chk->problem, sizeof chk->problem, BACSC_ERR_POLICY,
                          chained ? "audit entry %lld was changed (hash chain broken)"
                                  : "audit entry %lld is not in the hash chain (inserted by hand)",
                          (long long)id);
            break;
        }
        chk->chained++;
        snprintf(prev, sizeof prev, "%s", h);
        have_prev = true;
    }
    sqlite3_finalize(q);
    sqlite3_finalize(ids);
    return rc;
}

int bacsc_ca_audit_verify(bacsc_ca *ca, bacsc_audit_check *chk)
{
    memset(chk, 0, sizeof *chk);
    ca->err[0] = 0;
    int rc = check_triggers(ca, chk);
    char from_s[32];
    ca_meta_get(ca, "audit_chain_from", from_s, sizeof from_s);
    int64_t from = from_s[0] ? strtoll(from_s, NULL, 10) : 1;
    if (rc == BACSC_OK)
        rc = walk_chain(ca, chk, from);
    if (rc == BACSC_OK) {
        sqlite3_stmt *hq = ca_prep(ca, "SELECT hash FROM audit_chain WHERE id = ?");
        rc = hq ? check_anchor(ca, chk, hq) : BACSC_ERR_DB;
        sqlite3_finalize(hq);
    }
    if (rc == BACSC_ERR_POLICY)
        ca_fail(ca, rc, "%s", chk->problem);
    return rc;
}
