/*
 * ca_internal.h — the CA handle and the store helpers shared by the
 * src/pki/ca_*.c files (not public API).
 */
#ifndef BACSC_CA_INTERNAL_H
#define BACSC_CA_INTERNAL_H

#include <sqlite3.h>

#include "bacsc/pool.h"
#include "pki_internal.h"

typedef struct ca_wal ca_wal;

struct bacsc_ca {
    char *dir;
    char *passphrase;
    sqlite3 *db;
    X509 *cert;
    STACK_OF(X509) *chain;
    EVP_PKEY *key;
    bacsc_signer *signer;
    bacsc_policy policy;
    char actor[128];        /* display name (decided_by, audit actor column) */
    char auth[256];         /* authenticated actor as recorded: "kind:name[@address]" */
    char auth_id[200];      /* "kind:name", matched against auto_approve_submitters */
    int auth_kind;          /* bacsc_actor_kind */
    int64_t fixed_now;
    int threads;
    bacsc_pool *pool; /* made on first use with `threads` threads */
    ca_wal *wal;      /* WAL checkpoints on a thread of their own (ca_wal.c), or NULL */
    char err[512];
};

/* ca_wal.c: checkpoint the WAL of ca->db (file `path`) on a thread of its
 * own instead of in the committing call; stopped before ca->db closes. */
int ca_wal_start(bacsc_ca *ca, const char *path);
void ca_wal_stop(bacsc_ca *ca);

/* One-line reason into ca->err; returns `code`. */
int ca_fail(bacsc_ca *ca, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int ca_db_fail(bacsc_ca *ca, const char *what);
int64_t ca_now(const bacsc_ca *ca);
void ca_path_in(const char *dir, const char *name, char *out, size_t outlen);
bool ca_file_exists(const char *path);
int ca_exec(bacsc_ca *ca, const char *sql);
int ca_begin(bacsc_ca *ca);
int ca_commit(bacsc_ca *ca);
void ca_rollback(bacsc_ca *ca);
sqlite3_stmt *ca_prep(bacsc_ca *ca, const char *sql);
void ca_bind_text(sqlite3_stmt *st, int i, const char *s);
const char *ca_col_text(sqlite3_stmt *st, int i);
/* Append one audit row (inside the caller's transaction). */
int ca_audit(bacsc_ca *ca, const char *action, const char *object, const char *detail);
int ca_meta_set(bacsc_ca *ca, const char *key, const char *value);
void ca_meta_get(bacsc_ca *ca, const char *key, char *out, size_t outlen);
int ca_status_parse(const char *s);
/* bacsc_ca_requests of a batch's requests that have no certificate
 * (pending, approved, rejected), in id order, found through the status
 * index without reading the issued ones (the response's not_issued list). */
int ca_requests_not_issued(bacsc_ca *ca, int64_t batch_id, bacsc_request_cb cb, void *user);
/* Load ca.key (passphrase) / prepare the signer. */
int ca_load_key(bacsc_ca *ca);
int ca_need_signer(bacsc_ca *ca);
/* The CA's worker pool (ca->threads workers), made on first use; NULL (run
 * on the caller) with one thread or when it cannot be made. Used by
 * submit's CSR checks and by signing. */
bacsc_pool *ca_pool(bacsc_ca *ca);

/* requests.status CHECK: as comparisons since schema 3 (an IN list of more
 * than two values makes SQLite build a temporary table on every INSERT and
 * UPDATE of a request); CA_STATUS_CHECK_V1 is the text of schemas 1 and 2. */
#define CA_STATUS_CHECK_V1 "CHECK(status IN ('pending','approved','rejected','issued'))"
#define CA_STATUS_CHECK                                                                  \
    "CHECK(status = 'pending' OR status = 'approved' OR status = 'rejected' OR status = " \
    "'issued')"

/* ca_audit.c: actor, audit chain, anchor, policy MAC. */
extern const char *const ca_schema_v2_sql;
void ca_actor_default(bacsc_ca *ca, const char *display);
int ca_register_functions(bacsc_ca *ca);
int ca_migrate(bacsc_ca *ca, int from_version);
int ca_policy_mac_store(bacsc_ca *ca);
int ca_policy_mac_check(bacsc_ca *ca);
void ca_anchor_refresh(bacsc_ca *ca);

#endif
