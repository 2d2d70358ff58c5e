/*
 * ca_submit.c — taking requests into the CA store: each CSR is checked
 * against the policy (on the CA's worker pool, block by block), and the
 * batch and its requests are stored by the calling thread in one
 * transaction, each block as soon as it is checked, with the decision the
 * policy allows without an administrator (auto-approval rests on the
 * authenticated submitter; a Device UUID held or requested by another key
 * waits for an administrator unless a renewal proof ties the new key to the
 * UUID's current certificate).
 */
#include "ca_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <sqlite3.h>

#include "bacsc/error.h"
#include "bacsc/renewal.h"

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

/* Requests checked per pool job: storing block k overlaps checking k + 1. */
#define CHECK_BLOCK 256

typedef struct check_blocks {
    check_ctx *ctx;        /* one per block: reqs and items offset */
    bacsc_pool_job **jobs; /* NULL once collected */
    size_t nb;
} check_blocks;

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
        if (it->rc == BACSC_OK && pki_parts_from_csr(csr, &it->parts) != BACSC_OK)
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

/* Auto-approval rests on the authenticated submitter alone; the batch's own
 * site/origin (claims) can only narrow it further. */
static bool auto_approves(const bacsc_ca *ca, const bacsc_batch_in *batch)
{
    const bacsc_policy *p = &ca->policy;
    if (p->auto_approve == BACSC_AUTO_OFF || ca->auth_kind == BACSC_ACTOR_NONE)
        return false;
    if (p->auto_approve == BACSC_AUTO_ALL)
        return true;
    if (!listed(ca->auth_id, p->submitters, p->n_submitters))
        return false;
    if (p->n_sites && !listed(batch->site, p->sites, p->n_sites))
        return false;
    return !p->n_origins || listed(batch->origin, p->origins, p->n_origins);
}

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

/* Device UUID rules against the store (inside the submit transaction).
 * Device UUIDs are public (Device object property 507), so whoever asks
 * first must not win: a request for a UUID that another key holds or asks
 * for is kept pending for an administrator (*manual, with `note`), never
 * refused and never auto-approved; an auto-approved but unsigned request of
 * the other key goes back to pending too. The exception is a renewal proven
 * by the holder of a valid certificate of the UUID (bacsc/renewal.h): that
 * holder may move the UUID to a new key. Returns 0 or BACSC_ERR_POLICY with
 * the reason (the same key asking twice; renewal off). */
static int check_uuid(bacsc_ca *ca, sqlite3_stmt *q_cert, sqlite3_stmt *q_req, const char *uuid,
                      const char *fp_hex, int64_t now, const bacsc_request_in *r, bool *manual,
                      char *why, size_t whylen, char *note, size_t notelen)
{
    *manual = false;
    sqlite3_reset(q_req);
    sqlite3_bind_text(q_req, 1, uuid, -1, SQLITE_STATIC);
    int rc = BACSC_OK;
    while (rc == BACSC_OK && sqlite3_step(q_req) == SQLITE_ROW) {
        int64_t other = sqlite3_column_int64(q_req, 0);
        const char *kfp = ca_col_text(q_req, 2);
        if (kfp && strcmp(kfp, fp_hex) == 0) {
            rc = pki_fail(why, whylen, BACSC_ERR_POLICY,
                          "duplicate Device UUID %s: request %lld is already %s", uuid,
                          (long long)other, ca_col_text(q_req, 1));
        } else if (!*manual) {
            *manual = true;
            snprintf(note, notelen,
                     "Device UUID %s is also requested by request %lld with another key: "
                     "needs an administrator",
                     uuid, (long long)other);
        }
    }
    sqlite3_reset(q_req);
    if (rc != BACSC_OK)
        return rc;
    sqlite3_reset(q_cert);
    sqlite3_bind_text(q_cert, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q_cert, 2, now);
    bool renewal = false;
    while (rc == BACSC_OK && sqlite3_step(q_cert) == SQLITE_ROW) {
        const char *serial = ca_col_text(q_cert, 0), *kfp = ca_col_text(q_cert, 1);
        bool same_key = kfp && strcmp(kfp, fp_hex) == 0;
        bool valid = sqlite3_column_int(q_cert, 2) != 0;
        /* valid rows come first: a new key signed for by the holder of a
         * valid certificate is a renewal, and the UUID's older certificates
         * are that device's history */
        if (!same_key && valid && !renewal)
            renewal = renewal_proven(ca, serial, r);
        if ((same_key || renewal) && valid && ca->policy.renewal == BACSC_RENEW_OFF)
            rc = pki_fail(why, whylen, BACSC_ERR_POLICY,
                          "duplicate Device UUID %s: held by valid certificate %s (renewal off)",
                          uuid, serial);
        else if (!same_key && !renewal && !*manual) {
            *manual = true;
            snprintf(note, notelen,
                     "Device UUID %s %s certificate %s with another key: needs an administrator"
                     "%s",
                     uuid, valid ? "is held by valid" : "was held by", serial,
                     valid ? " (revoke it if it is not this device's)" : "");
        }
    }
    sqlite3_reset(q_cert);
    return rc;
}

/* A request for a UUID another key asks for: that key's approved (not yet
 * signed) requests go back to pending for the same administrator decision. */
static int demote_rivals(bacsc_ca *ca, const char *uuid, const char *fp_hex)
{
    sqlite3_stmt *st = ca_prep(ca, "UPDATE requests SET status = 'pending', decided_by = NULL, "
                                   "decided = NULL, reason = 'Device UUID ' || ?1 || ' is also "
                                   "requested with another key: needs an administrator' "
                                   "WHERE device_uuid = ?1 AND key_fp != ?2 AND status = 'approved'");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, fp_hex, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : ca_db_fail(ca, "demote");
    sqlite3_finalize(st);
    return rc;
}

/* The statements one submit uses; prepared together, finalized together. */
typedef struct submit_stmts {
    sqlite3_stmt *ins_batch, *ins_req, *q_cert, *q_req, *ins_audit;
} submit_stmts;

static int submit_prepare(bacsc_ca *ca, submit_stmts *s)
{
    s->ins_batch = ca_prep(ca, "INSERT INTO batches(direction, file_name, sha256, site, origin, "
                               "created, ref, submitter) VALUES ('in', ?, ?, ?, ?, ?, ?, ?)");
    s->ins_req = ca_prep(ca, "INSERT INTO requests(batch_id, entry, device_uuid, device_instance, "
                             "device_name, subject, csr, key_fp, status, decided_by, reason, created, "
                             "decided, ref, key_alg, key_bits, subject_der, san_der) "
                             "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    s->q_cert = ca_prep(ca, "SELECT serial, key_fp, status = 'valid' AND not_after > ?2 "
                            "FROM certificates WHERE device_uuid = ?1 ORDER BY 3 DESC");
    s->q_req = ca_prep(ca, "SELECT id, status, key_fp FROM requests WHERE device_uuid = ? AND "
                           "status IN ('pending','approved') ORDER BY id");
    s->ins_audit = ca_prep(ca, "INSERT INTO audit(time, actor, action, object, detail) "
                               "VALUES (?, ?, ?, ?, ?)");
    return s->ins_batch && s->ins_req && s->q_cert && s->q_req && s->ins_audit ? BACSC_OK
                                                                               : BACSC_ERR_DB;
}

static void submit_finalize(submit_stmts *s)
{
    sqlite3_finalize(s->ins_batch);
    sqlite3_finalize(s->ins_req);
    sqlite3_finalize(s->q_cert);
    sqlite3_finalize(s->q_req);
    sqlite3_finalize(s->ins_audit);
}

/* The batch row and its "submit" audit row; the new batch id in *bid. */
static int store_batch(bacsc_ca *ca, sqlite3_stmt *ins_batch, const bacsc_batch_in *batch,
                       size_t n, bool auto_ok, int64_t now, int64_t *bid)
{
    char sha_hex[65] = "";
    if (batch->sha256)
        bacsc_pki_hex(batch->sha256, 32, sha_hex);
    ca_bind_text(ins_batch, 1, batch->file_name);
    ca_bind_text(ins_batch, 2, sha_hex);
    ca_bind_text(ins_batch, 3, batch->site);
    ca_bind_text(ins_batch, 4, batch->origin);
    sqlite3_bind_int64(ins_batch, 5, now);
    ca_bind_text(ins_batch, 6, batch->ref);
    ca_bind_text(ins_batch, 7, ca->auth);
    if (sqlite3_step(ins_batch) != SQLITE_DONE)
        return ca_db_fail(ca, "store batch");
    *bid = sqlite3_last_insert_rowid(ca->db);
    char obj[64], detail[BACSC_PKI_REASON_LEN + 256];
    snprintf(obj, sizeof obj, "batch %lld", (long long)*bid);
    snprintf(detail, sizeof detail,
             "%zu CSRs from %s submitted by %s (claimed site %s, origin %s)%s", n,
             batch->file_name ? batch->file_name : "(api)", ca->auth,
             batch->site ? batch->site : "-", batch->origin ? batch->origin : "-",
             auto_ok ? "; auto-approved by policy" : "");
    return ca_audit(ca, "submit", obj, detail);
}

/* What the store decides for one checked request before it is stored. */
typedef struct decision {
    int status;
    bool manual; /* waits for an administrator: `note` says why */
    char fp_hex[BACSC_PKI_FP_HEX_LEN];
    char note[BACSC_PKI_REASON_LEN];
} decision;

static int decide(bacsc_ca *ca, submit_stmts *s, check_item *it, const bacsc_request_in *r,
                  bool auto_ok, int64_t now, decision *d)
{
    memset(d, 0, sizeof *d);
    if (it->rc == BACSC_OK || it->info.key_desc[0])
        bacsc_pki_hex(it->info.key_fp, BACSC_PKI_FP_LEN, d->fp_hex);
    d->status = BACSC_REQ_PENDING;
    if (it->rc != BACSC_OK)
        d->status = BACSC_REQ_REJECTED;
    else if (it->info.device_uuid[0] &&
             check_uuid(ca, s->q_cert, s->q_req, it->info.device_uuid, d->fp_hex, now, r,
                        &d->manual, it->why, sizeof it->why, d->note, sizeof d->note) != BACSC_OK)
        d->status = BACSC_REQ_REJECTED;
    else if (auto_ok && !d->manual)
        d->status = BACSC_REQ_APPROVED;
    if (d->manual && ca->policy.renewal == BACSC_RENEW_MANUAL && !strstr(d->note, "requested"))
        snprintf(d->note, sizeof d->note, "renewal with a new key: needs an administrator");
    if (d->manual)
        return demote_rivals(ca, it->info.device_uuid, d->fp_hex);
    return BACSC_OK;
}

/* The request row; its id in *rid. */
static int store_request(bacsc_ca *ca, sqlite3_stmt *st, int64_t bid, const check_item *it,
                         const bacsc_request_in *r, const decision *d, int64_t now, int64_t *rid)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_int64(st, 1, bid);
    ca_bind_text(st, 2, r->entry);
    ca_bind_text(st, 3, it->info.device_uuid);
    if (r->device_instance >= 0)
        sqlite3_bind_int64(st, 4, r->device_instance);
    ca_bind_text(st, 5, r->device_name);
    ca_bind_text(st, 6, it->info.subject);
    sqlite3_bind_blob(st, 7, r->csr ? (const void *)r->csr : (const void *)"", (int)r->csr_len,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 8, d->fp_hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, bacsc_req_status_name(d->status), -1, SQLITE_STATIC);
    if (d->status != BACSC_REQ_PENDING) {
        sqlite3_bind_text(st, 10, "policy", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 13, now);
    }
    if (d->status == BACSC_REQ_REJECTED)
        sqlite3_bind_text(st, 11, it->why, -1, SQLITE_STATIC);
    else if (d->manual)
        sqlite3_bind_text(st, 11, d->note, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 12, now);
    ca_bind_text(st, 14, r->ref);
    if (it->parts.alg) {
        sqlite3_bind_blob(st, 15, it->parts.alg, it->parts.alg_len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 16, it->parts.bits, it->parts.bits_len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 17, it->parts.subject, it->parts.subject_len, SQLITE_STATIC);
        if (it->parts.sans)
            sqlite3_bind_blob(st, 18, it->parts.sans, it->parts.sans_len, SQLITE_STATIC);
    }
    if (sqlite3_step(st) != SQLITE_DONE)
        return ca_db_fail(ca, "store request");
    *rid = sqlite3_last_insert_rowid(ca->db);
    return BACSC_OK;
}

/* The audit row of a request refused by policy at submission. */
static int audit_rejection(bacsc_ca *ca, sqlite3_stmt *ins_audit, int64_t rid,
                           const bacsc_request_in *r, const char *why, int64_t now)
{
    char robj[64], detail[BACSC_PKI_REASON_LEN + 256];
    snprintf(robj, sizeof robj, "request %lld", (long long)rid);
    snprintf(detail, sizeof detail, "%s: %s", r->entry ? r->entry : "-", why);
    sqlite3_reset(ins_audit);
    sqlite3_bind_int64(ins_audit, 1, now);
    sqlite3_bind_text(ins_audit, 2, ca->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_audit, 3, "reject", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_audit, 4, robj, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins_audit, 5, detail, -1, SQLITE_TRANSIENT);
    return sqlite3_step(ins_audit) == SQLITE_DONE ? BACSC_OK : ca_db_fail(ca, "audit");
}

static void fill_result(bacsc_request_result *res, int64_t rid, const decision *d,
                        const char *why)
{
    memset(res, 0, sizeof *res);
    res->id = rid;
    res->status = d->status;
    if (d->status == BACSC_REQ_REJECTED)
        snprintf(res->reason, sizeof res->reason, "%s", why);
    else if (d->manual)
        snprintf(res->reason, sizeof res->reason, "%s", d->note);
}

/* Start checking every block on the pool (in order). */
static int checks_start(bacsc_ca *ca, const bacsc_request_in *reqs, size_t n, check_item *items,
                        check_blocks *cb)
{
    cb->nb = (n + CHECK_BLOCK - 1) / CHECK_BLOCK;
    cb->ctx = calloc(cb->nb ? cb->nb : 1, sizeof *cb->ctx);
    cb->jobs = calloc(cb->nb ? cb->nb : 1, sizeof *cb->jobs);
    if (!cb->ctx || !cb->jobs)
        return ca_fail(ca, BACSC_ERR_NOMEM, "out of memory");
    bacsc_pool *pool = n > 1 ? ca_pool(ca) : NULL; /* no threads for a single request */
    for (size_t b = 0; b < cb->nb; b++) {
        size_t off = b * CHECK_BLOCK, len = n - off < CHECK_BLOCK ? n - off : CHECK_BLOCK;
        cb->ctx[b] = (check_ctx){.policy = &ca->policy, .reqs = reqs + off, .items = items + off};
        cb->jobs[b] = bacsc_pool_start(pool, len, check_one, &cb->ctx[b]);
    }
    return BACSC_OK;
}

/* Wait for the block of request i (once), or for every block (i == SIZE_MAX). */
static void checks_wait(check_blocks *cb, size_t i)
{
    for (size_t b = i == SIZE_MAX ? 0 : i / CHECK_BLOCK; b < cb->nb; b++) {
        bacsc_pool_wait(cb->jobs[b]);
        cb->jobs[b] = NULL;
        if (i != SIZE_MAX)
            break;
    }
}

/* Stores the batch and every request in one transaction, each request as
 * soon as its block is checked. Returns the number of requests accepted
 * (not rejected), or < 0. */
static int submit_store(bacsc_ca *ca, const bacsc_batch_in *batch, const bacsc_request_in *reqs,
                        size_t n, check_item *items, check_blocks *cb, bool auto_ok,
                        int64_t *batch_id, bacsc_request_result *results)
{
    submit_stmts s = {0};
    int64_t now = ca_now(ca), bid = 0;
    int accepted = 0;
    int rc = ca_begin(ca);
    if (rc != BACSC_OK)
        return rc;
    rc = submit_prepare(ca, &s);
    if (rc == BACSC_OK)
        rc = store_batch(ca, s.ins_batch, batch, n, auto_ok, now, &bid);
    for (size_t i = 0; rc == BACSC_OK && i < n; i++) {
        decision d;
        int64_t rid = 0;
        if (i % CHECK_BLOCK == 0)
            checks_wait(cb, i);
        rc = decide(ca, &s, &items[i], &reqs[i], auto_ok, now, &d);
        if (rc == BACSC_OK)
            rc = store_request(ca, s.ins_req, bid, &items[i], &reqs[i], &d, now, &rid);
        if (rc == BACSC_OK && d.status == BACSC_REQ_REJECTED)
            rc = audit_rejection(ca, s.ins_audit, rid, &reqs[i], items[i].why, now);
        else if (rc == BACSC_OK)
            accepted++;
        if (rc == BACSC_OK && results)
            fill_result(&results[i], rid, &d, items[i].why);
    }
    if (rc == BACSC_OK)
        rc = ca_commit(ca);
    if (rc != BACSC_OK)
        ca_rollback(ca);
    else if (batch_id)
        *batch_id = bid;
    submit_finalize(&s);
    return rc == BACSC_OK ? accepted : rc;
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
    bacsc_batch_in none = {0};
    if (!batch)
        batch = &none;
    bool auto_ok = auto_approves(ca, batch);
    int rc = auto_ok ? ca_need_signer(ca) : BACSC_OK; /* acting on the policy: check its MAC */
    if (rc != BACSC_OK)
        return rc;
    check_item *items = calloc(n ? n : 1, sizeof *items);
    if (!items)
        return ca_fail(ca, BACSC_ERR_NOMEM, "out of memory");
    check_blocks cb = {0};
    rc = checks_start(ca, reqs, n, items, &cb);
    if (rc == BACSC_OK)
        rc = submit_store(ca, batch, reqs, n, items, &cb, auto_ok, batch_id, results);
    checks_wait(&cb, SIZE_MAX); /* what a failed store left running */
    for (size_t i = 0; i < n; i++)
        pki_parts_free(&items[i].parts);
    free(items);
    free(cb.ctx);
    free(cb.jobs);
    return rc;
}

