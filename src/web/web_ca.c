/*
 * web_ca.c — the CA part of the console API: uploads of CARI request zips
 * (the same hostile-zip reader as `bacsc cari`; any refused entry refuses
 * the whole upload, nothing stored), the request queue with approve/reject,
 * batches and their CARI responses, certificates, the expiry timeline,
 * revocation, the CRL, the approval policy and the CA's audit log.
 *
 * Auto-approval rests on the authenticated submitter: every API call sets
 * the CA's actor to the console account ("account:<user>") or API token
 * ("token:<user>") that made it (web_server.c), which the policy's
 * `auto_approve_submitters` lists; the manifest's site (and the origin
 * "web:<user>") are stored as claims, which can only narrow auto-approval.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#include "bacsc/cari.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/ca_files.h"
#include "web/web.h"

#define LIST_MAX 1000

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int ca_fail(web_req *r, int rc)
{
    const char *msg = bacsc_ca_errmsg(r->app->ca);
    if (!msg || !*msg)
        msg = bacsc_strerror(rc);
    switch (rc) {
    case BACSC_ERR_NOT_FOUND: return web_reply_error(r, 404, "not-found", "%s", msg);
    case BACSC_ERR_STATE: return web_reply_error(r, 409, "state", "%s", msg);
    case BACSC_ERR_LIMIT: return web_reply_error(r, 413, "too-many", "%s", msg);
    case BACSC_ERR_POLICY:
    case BACSC_ERR_MALFORMED:
    case BACSC_ERR_INVALID_ARG: return web_reply_error(r, 422, "refused", "%s", msg);
    default: return web_reply_error(r, 500, "internal", "%s", msg);
    }
}

static bool may_see_batch(web_req *r, int64_t batch)
{
    if (r->auth.role != WEB_ROLE_INSTALLER)
        return true;
    char owner[WEB_NAME_MAX + 1];
    web_batch_owner(r->app->db, batch, owner, sizeof owner);
    return !strcmp(owner, r->auth.user);
}

/* ---- listing requests ---------------------------------------------------------------- */

typedef struct req_list {
    web_req *r;
    json_t *arr;
    int64_t total, offset, limit;
    int64_t seen_batch;
    bool seen_ok;
    bool details;
    bool all; /* every batch, whoever owns it */
} req_list;

static json_t *request_json(web_req *r, const bacsc_request_row *row, bool details)
{
    json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:I}", "id", (json_int_t)row->id,
                          "batch", (json_int_t)row->batch_id, "state",
                          bacsc_req_status_name(row->status), "entry",
                          row->entry ? row->entry : "", "subject", row->subject ? row->subject : "",
                          "device_uuid", row->device_uuid ? row->device_uuid : "", "created",
                          (json_int_t)row->created, "decided", (json_int_t)row->decided);
    if (row->device_name)
        json_object_set_new(o, "device_name_claimed", json_string(row->device_name));
    if (row->device_instance >= 0)
        json_object_set_new(o, "device_instance_claimed", json_integer(row->device_instance));
    if (row->reason && *row->reason)
        json_object_set_new(o, "reason", json_string(row->reason));
    if (row->decided_by && *row->decided_by)
        json_object_set_new(o, "decided_by", json_string(row->decided_by));
    if (row->serial)
        json_object_set_new(o, "serial", json_string(row->serial));
    if (row->key_fp)
        json_object_set_new(o, "key_fingerprint", json_string(row->key_fp));
    if (details && row->csr) {
        bacsc_csr_info info;
        char why[BACSC_PKI_REASON_LEN] = "";
        int rc = bacsc_policy_check_csr(bacsc_ca_policy(r->app->ca), row->csr, row->csr_len,
                                        &info, why, sizeof why);
        json_object_set_new(o, "key_type", json_string(info.key_desc));
        json_object_set_new(o, "verdict", json_string(rc == BACSC_OK ? "acceptable" : why));
        json_object_set_new(o, "sans", json_pack("{s:I,s:I,s:I,s:I}", "uuid",
                                                 (json_int_t)info.n_uuid, "dns",
                                                 (json_int_t)info.n_dns, "ip", (json_int_t)info.n_ip,
                                                 "other",
                                                 (json_int_t)(info.n_uri_other + info.n_other)));
    }
    return o;
}

static int collect_req(const bacsc_request_row *row, void *user)
{
    req_list *l = user;
    if (l->all)
        l->seen_ok = true;
    else if (row->batch_id != l->seen_batch) {
        l->seen_batch = row->batch_id;
        l->seen_ok = may_see_batch(l->r, row->batch_id);
    }
    if (!l->seen_ok)
        return 0;
    if (l->total >= l->offset && l->total < l->offset + l->limit)
        json_array_append_new(l->arr, request_json(l->r, row, l->details));
    l->total++;
    return 0;
}

static int parse_state(const char *s)
{
    if (!s || !strcmp(s, "all"))
        return -1;
    for (int i = 0; i <= BACSC_REQ_ISSUED; i++)
        if (!strcmp(s, bacsc_req_status_name(i)))
            return i;
    return -2;
}

static void page_params(web_req *r, int64_t *offset, int64_t *limit, int64_t def)
{
    const char *o = web_query(r, "offset"), *l = web_query(r, "limit");
    *offset = o ? atoll(o) : 0;
    *limit = l ? atoll(l) : def;
    if (*offset < 0)
        *offset = 0;
    if (*limit < 1 || *limit > LIST_MAX)
        *limit = def;
}

int web_h_ca_requests(web_req *r)
{
    int state = parse_state(web_query(r, "state"));
    if (state == -2)
        return web_reply_error(r, 400, "bad-request",
                               "state is pending, approved, rejected, issued or all");
    const char *b = web_query(r, "batch");
    req_list l = {.r = r, .arr = json_array(), .seen_batch = -1, .details = true};
    page_params(r, &l.offset, &l.limit, 100);
    int rc = bacsc_ca_requests(r->app->ca, state, b ? atoll(b) : 0, collect_req, &l);
    if (rc < 0) {
        json_decref(l.arr);
        return ca_fail(r, rc);
    }
    return web_reply_json(r, 200,
                          json_pack("{s:o,s:I,s:I,s:I}", "requests", l.arr, "total",
                                    (json_int_t)l.total, "offset", (json_int_t)l.offset, "limit",
                                    (json_int_t)l.limit));
}

/* ---- upload ------------------------------------------------------------------------------ */

/* Refuse the whole upload when any entry was refused by the reader. */
static int refuse_entries(web_req *r, bacsc_cari *c)
{
    json_t *bad = json_array();
    const char *first = NULL, *first_err = NULL;
    for (size_t i = 0; i < c->n_entries; i++) {
        bacsc_cari_entry *e = &c->entries[i];
        if (!e->error)
            continue;
        if (!first) {
            first = e->name ? e->name : "?";
            first_err = e->error;
        }
        if (json_array_size(bad) < 100)
            json_array_append_new(bad, json_pack("{s:s,s:s}", "name", e->name ? e->name : "?",
                                                 "error", e->error));
    }
    if (!first) {
        json_decref(bad);
        return 0;
    }
    web_note(r, "upload-refused", "", "%s: %s", first, first_err);
    json_t *o = json_pack("{s:s,s:s,s:o}", "error", "", "code", "bad-entry", "entries", bad);
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s (nothing was stored)", first, first_err);
    json_object_set_new(o, "error", json_string(msg));
    web_reply_json(r, 422, o);
    return 1;
}

static json_t *batch_summary(web_req *r, int64_t batch)
{
    req_list l = {.r = r, .arr = json_array(), .seen_batch = -1, .limit = INT64_MAX, .all = true};
    bacsc_ca_requests(r->app->ca, -1, batch, collect_req, &l);
    json_int_t n[4] = {0, 0, 0, 0};
    size_t i;
    json_t *v;
    json_array_foreach(l.arr, i, v)
    {
        int st = parse_state(json_string_value(json_object_get(v, "state")));
        if (st >= 0 && st < 4)
            n[st]++;
    }
    return json_pack("{s:I,s:o,s:I,s:I,s:I,s:b}", "batch", (json_int_t)batch, "requests", l.arr,
                     "pending", n[BACSC_REQ_PENDING] + n[BACSC_REQ_APPROVED], "issued",
                     n[BACSC_REQ_ISSUED], "rejected", n[BACSC_REQ_REJECTED], "response_ready",
                     n[BACSC_REQ_PENDING] + n[BACSC_REQ_APPROVED] == 0);
}

static int submit_entries(web_req *r, bacsc_cari *c, const char *file_name)
{
    bacsc_ca *ca = r->app->ca;
    bacsc_request_in *reqs = calloc(c->n_entries ? c->n_entries : 1, sizeof *reqs);
    if (!reqs)
        return web_reply_error(r, 500, "internal", "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < c->n_entries; i++) {
        bacsc_cari_entry *e = &c->entries[i];
        if (e->type != BACSC_CARI_ENTRY_CSR || !e->der)
            continue;
        bacsc_request_in *q = &reqs[n++];
        q->csr = e->der;
        q->csr_len = e->der_len;
        q->parsed = e->csr;
        q->entry = e->name;
        q->ref = e->request_id;
        q->device_name = e->device.name;
        q->device_instance = e->device.instance;
    }
    if (n == 0) {
        free(reqs);
        return web_reply_error(r, 422, "empty", "the upload holds no certificate request");
    }
    char origin[WEB_NAME_MAX + 8];
    snprintf(origin, sizeof origin, "web:%s", r->auth.user);
    /* site and origin are claims: they can only narrow auto-approval */
    bacsc_batch_in b = {.file_name = file_name, .sha256 = c->file_sha256, .site = c->site,
                        .origin = origin, .ref = c->batch_id};
    int64_t batch = 0;
    double t0 = mono_ms();
    int rc = bacsc_ca_submit(ca, &b, reqs, n, &batch, NULL);
    free(reqs);
    if (rc < 0)
        return ca_fail(r, rc);
    web_batch_owner_set(r->app->db, batch, r->auth.user, c->site, r->now);
    double t1 = mono_ms();
    rc = bacsc_ca_issue_approved(ca, batch, NULL, NULL);
    if (rc < 0)
        return ca_fail(r, rc);
    BACSC_DEBUG("web: batch %lld: %zu CSRs submitted in %.0f ms, %d issued in %.0f ms",
                (long long)batch, n, t1 - t0, rc, mono_ms() - t1);
    web_note(r, "upload", file_name, "batch %lld: %zu CSRs (manifest site claim: %s)",
             (long long)batch, n, c->site ? c->site : "-");
    return web_reply_json(r, 201, batch_summary(r, batch));
}

int web_ca_submit_zip(web_req *r, const unsigned char *zip, size_t len, const char *file_name)
{
    bacsc_cari_limits lim;
    bacsc_cari_limits_default(&lim);
    lim.max_file_size = r->app->cfg.max_upload;
    bacsc_cari *c = NULL;
    double t0 = mono_ms();
    int rc = bacsc_cari_read_buffer(zip, len, &lim, &c);
    BACSC_DEBUG("web: %s: %zu octets read in %.0f ms", file_name, len, mono_ms() - t0);
    int ret;
    if (rc != BACSC_OK) {
        web_note(r, "upload-refused", file_name, "%s", c && c->error ? c->error : "unreadable");
        ret = web_reply_error(r, rc == BACSC_ERR_LIMIT ? 413 : 422,
                              rc == BACSC_ERR_LIMIT ? "too-large" : "bad-zip",
                              "%s (nothing was stored)",
                              c && c->error ? c->error : bacsc_strerror(rc));
    } else if (c->kind == BACSC_CARI_RESPONSE)
        ret = web_reply_error(r, 422, "not-a-request",
                              "this is a CARI response, not a request (nothing was stored)");
    else if (refuse_entries(r, c))
        ret = MHD_YES;
    else {
        double t = mono_ms();
        ret = submit_entries(r, c, file_name);
        BACSC_DEBUG("web: %s: submitted and answered in %.0f ms", file_name, mono_ms() - t);
    }
    bacsc_cari_free(c);
    return ret;
}

/* A file name from the X-File-Name header, reduced to [A-Za-z0-9._-]. */
static void upload_name(web_req *r, char *out, size_t cap)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-File-Name");
    size_t o = 0;
    for (const char *p = h ? h : ""; *p && o + 1 < cap && o < 100; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        out[o++] = ok ? c : '_';
    }
    out[o] = 0;
    if (!o)
        snprintf(out, cap, "upload.zip");
}

/* A folder of CSR files sent as JSON {"files": [{"name", "data": base64}]}:
 * made into a CARI request (each CSR checked by the writer), then submitted
 * like an uploaded zip. */
static int upload_files(web_req *r)
{
    json_t *j = web_body_json(r);
    if (!j)
        return MHD_YES;
    json_t *files = json_object_get(j, "files"), *f;
    size_t i, max = bacsc_ca_policy(r->app->ca)->max_batch;
    bacsc_cari_writer *w = NULL;
    int ret = 0;
    if (!json_is_array(files) || json_array_size(files) == 0 || json_array_size(files) > max) {
        ret = web_reply_error(r, 400, "bad-request",
                              "give \"files\": [{\"name\", \"data\": base64}] (1..%zu)", max);
        goto out;
    }
    if (bacsc_cari_writer_new(BACSC_CARI_REQUEST, NULL, NULL, &w) != BACSC_OK) {
        ret = web_reply_error(r, 500, "internal", "out of memory");
        goto out;
    }
    json_array_foreach(files, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *b64 = json_string_value(json_object_get(f, "data"));
        size_t n = b64 ? strlen(b64) : 0;
        unsigned char *der = n && n <= 4 * BACSC_PKI_MAX_CSR_DER / 3 + 4 ? malloc(n) : NULL;
        int len = der ? EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n) : -1;
        while (len > 0 && n > 0 && b64[--n] == '=')
            len--;
        char err[256] = "not base64 data";
        if (len <= 0 || bacsc_cari_writer_add_csr(w, der, (size_t)len, NULL, NULL, NULL, err,
                                                  sizeof err) < 0) {
            web_note(r, "upload-refused", "", "%s: %s", name ? name : "?", err);
            ret = web_reply_error(r, 422, "bad-entry", "%s: %s (nothing was stored)",
                                  name ? name : "?", err);
        }
        free(der);
        if (ret)
            goto out;
    }
    unsigned char *zip = NULL;
    size_t zlen = 0;
    if (bacsc_cari_writer_to_buffer(w, &zip, &zlen) != BACSC_OK)
        ret = web_reply_error(r, 500, "internal", "cannot build the request");
    else
        ret = web_ca_submit_zip(r, zip, zlen, "folder.zip");
    free(zip);
out:
    bacsc_cari_writer_free(w);
    json_decref(j);
    return ret;
}

int web_h_ca_upload(web_req *r)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    if (ct && !strncasecmp(ct, "application/json", 16))
        return upload_files(r);
    if (!ct || (strncasecmp(ct, "application/zip", 15) && strncasecmp(ct, "application/octet-stream", 24)))
        return web_reply_error(r, 415, "content-type",
                               "send the CARI request zip with Content-Type: application/zip");
    char name[128];
    upload_name(r, name, sizeof name);
    return web_ca_submit_zip(r, r->body, r->len, name);
}

/* ---- decisions ------------------------------------------------------------------------------ */

typedef struct decided {
    json_t *arr;
    unsigned ok, refused;
} decided;

static void on_result(const bacsc_request_result *res, void *user)
{
    decided *d = user;
    json_t *o = json_pack("{s:I,s:s}", "id", (json_int_t)res->id, "state",
                          res->status < 0 ? "unchanged" : bacsc_req_status_name(res->status));
    if (res->serial[0])
        json_object_set_new(o, "serial", json_string(res->serial));
    if (res->reason[0])
        json_object_set_new(o, "reason", json_string(res->reason));
    if (res->status < 0)
        d->refused++;
    else
        d->ok++;
    if (json_array_size(d->arr) < LIST_MAX)
        json_array_append_new(d->arr, o);
    else
        json_decref(o);
}

static int decide(web_req *r, bool approve, const bacsc_selector *sel, const char *reason,
                  bool single)
{
    decided d = {.arr = json_array()};
    char why[BACSC_PKI_REASON_LEN];
    if (!approve && (!reason || !*reason)) {
        snprintf(why, sizeof why, "rejected by %s", r->auth.user);
        reason = why;
    }
    int rc = approve ? bacsc_ca_approve(r->app->ca, sel, on_result, &d)
                     : bacsc_ca_reject(r->app->ca, sel, reason, on_result, &d);
    if (rc < 0) {
        json_decref(d.arr);
        return ca_fail(r, rc);
    }
    if (single && d.refused) {
        json_t *first = json_array_get(d.arr, 0);
        const char *why2 = json_string_value(json_object_get(first, "reason"));
        int ret = web_reply_error(r, 409, "not-pending", "%s", why2 ? why2 : "not pending");
        json_decref(d.arr);
        return ret;
    }
    return web_reply_json(r, 200, json_pack("{s:o,s:I,s:I}", "results", d.arr, "decided",
                                            (json_int_t)d.ok, "unchanged",
                                            (json_int_t)d.refused));
}

int web_h_ca_approve(web_req *r)
{
    bacsc_selector sel = {.ids = &r->ids[0], .n_ids = 1};
    return decide(r, true, &sel, NULL, true);
}

int web_h_ca_reject(web_req *r)
{
    json_t *j = web_body_json(r);
    if (!j)
        return MHD_YES;
    json_t *why = json_object_get(j, "reason");
    bacsc_selector sel = {.ids = &r->ids[0], .n_ids = 1};
    int ret = decide(r, false, &sel, json_is_string(why) ? json_string_value(why) : NULL, true);
    json_decref(j);
    return ret;
}

int web_h_ca_decide_bulk(web_req *r)
{
    json_t *j = web_body_json(r);
    if (!j)
        return MHD_YES;
    const char *action = json_string_value(json_object_get(j, "action"));
    json_t *ids = json_object_get(j, "ids"), *batch = json_object_get(j, "batch");
    json_t *why = json_object_get(j, "reason");
    int64_t *v = NULL;
    bacsc_selector sel = {0};
    int ret;
    if (!action || (strcmp(action, "approve") && strcmp(action, "reject"))) {
        ret = web_reply_error(r, 400, "bad-request", "\"action\" is approve or reject");
        goto out;
    }
    if (json_is_array(ids) && json_array_size(ids) > 0 && json_array_size(ids) <= 100000) {
        v = calloc(json_array_size(ids), sizeof *v);
        size_t i;
        json_t *x;
        json_array_foreach(ids, i, x) v[i] = json_is_integer(x) ? json_integer_value(x) : 0;
        sel.ids = v;
        sel.n_ids = json_array_size(ids);
    } else if (json_is_integer(batch) && json_integer_value(batch) > 0)
        sel.batch_id = json_integer_value(batch);
    else {
        ret = web_reply_error(r, 400, "bad-request",
                              "give \"ids\" (1..100000 request ids) or \"batch\"");
        goto out;
    }
    ret = decide(r, !strcmp(action, "approve"), &sel,
                 json_is_string(why) ? json_string_value(why) : NULL, false);
out:
    free(v);
    json_decref(j);
    return ret;
}

/* ---- batches and responses -------------------------------------------------------------- */

typedef struct batch_list {
    web_req *r;
    json_t *arr;
} batch_list;

static int collect_batch(const bacsc_batch_row *b, void *user)
{
    batch_list *l = user;
    if (strcmp(b->direction, "in") != 0 || !may_see_batch(l->r, b->id))
        return 0;
    char owner[WEB_NAME_MAX + 1];
    web_batch_owner(l->r->app->db, b->id, owner, sizeof owner);
    json_array_append_new(
        l->arr,
        json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:b}", "id", (json_int_t)b->id, "file",
                  b->file_name ? b->file_name : "", "origin", b->origin ? b->origin : "",
                  "owner", owner, "created", (json_int_t)b->created, "requests",
                  (json_int_t)b->n_requests, "pending", (json_int_t)b->n_pending, "issued",
                  (json_int_t)b->n_issued, "rejected", (json_int_t)b->n_rejected,
                  "response_ready", b->n_pending == 0 && b->n_requests > 0));
    return 0;
}

int web_h_ca_batches(web_req *r)
{
    batch_list l = {.r = r, .arr = json_array()};
    int rc = bacsc_ca_batches(r->app->ca, 0, collect_batch, &l);
    if (rc < 0) {
        json_decref(l.arr);
        return ca_fail(r, rc);
    }
    /* newest first */
    json_t *rev = json_array();
    for (size_t i = json_array_size(l.arr); i-- > 0;)
        json_array_append(rev, json_array_get(l.arr, i));
    json_decref(l.arr);
    return web_reply_json(r, 200, json_pack("{s:o}", "batches", rev));
}

int web_h_ca_batch(web_req *r)
{
    if (bacsc_ca_batches(r->app->ca, r->ids[0], NULL, NULL) <= 0 || !may_see_batch(r, r->ids[0]))
        return web_reply_error(r, 404, "not-found", "no batch %lld", (long long)r->ids[0]);
    return web_reply_json(r, 200, batch_summary(r, r->ids[0]));
}

int web_h_ca_response(web_req *r)
{
    int64_t id = r->ids[0];
    if (bacsc_ca_batches(r->app->ca, id, NULL, NULL) <= 0 || !may_see_batch(r, id))
        return web_reply_error(r, 404, "not-found", "no batch %lld", (long long)id);
    int pending = bacsc_ca_requests(r->app->ca, BACSC_REQ_PENDING, id, NULL, NULL) +
                  bacsc_ca_requests(r->app->ca, BACSC_REQ_APPROVED, id, NULL, NULL);
    if (pending > 0)
        return web_reply_error(r, 409, "pending",
                               "batch %lld still has %d undecided requests", (long long)id,
                               pending);
    char err[256] = "";
    size_t n = 0, len = 0;
    unsigned char *data = NULL;
    int rc = bacsc_ca_response_buffer(r->app->ca, id, &data, &len, &n, err, sizeof err);
    if (rc != BACSC_OK)
        return web_reply_error(r, 500, "internal", "cannot write the response: %s", err);
    char disp[128];
    snprintf(disp, sizeof disp, "attachment; filename=\"batch-%lld-response.zip\"", (long long)id);
    web_note(r, "download", "", "response of batch %lld (%zu certificates)", (long long)id, n);
    int ret = web_reply_bytes(r, 200, "application/zip", data, len, disp);
    free(data);
    return ret;
}
