/*
 * web_ca_certs.c — certificates of the CA for the console: the issued list,
 * the expiry timeline (certificates expiring per month over the next three
 * years), revocation, the CRL, the approval policy and the CA's audit log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "bacsc/error.h"
#include "web/web.h"

#define LIST_MAX 1000
#define MONTHS 36

static int fail(web_req *r, int rc)
{
    const char *msg = bacsc_ca_errmsg(r->app->ca);
    if (!msg || !*msg)
        msg = bacsc_strerror(rc);
    unsigned st = rc == BACSC_ERR_NOT_FOUND ? 404
                  : rc == BACSC_ERR_STATE   ? 409
                  : rc == BACSC_ERR_INVALID_ARG || rc == BACSC_ERR_MALFORMED ? 400
                                                                               : 500;
    return web_reply_error(r, st, st == 404 ? "not-found" : st == 409 ? "state" : st == 400
                                                                                  ? "bad-request"
                                                                                  : "internal",
                           "%s", msg);
}

typedef struct cert_list {
    web_req *r;
    json_t *arr;
    const char *state, *q;
    int64_t total, offset, limit;
} cert_list;

static const char *cert_state(const bacsc_cert_row *c, int64_t now)
{
    if (c->revoked)
        return "revoked";
    if (c->not_after < now)
        return "expired";
    return "valid";
}

static int collect_cert(const bacsc_cert_row *c, void *user)
{
    cert_list *l = user;
    const char *st = cert_state(c, l->r->now);
    if (l->state && strcmp(l->state, "all") && strcmp(l->state, st))
        return 0;
    if (l->q && !strstr(c->subject ? c->subject : "", l->q) && !strstr(c->serial, l->q) &&
        !strstr(c->device_uuid ? c->device_uuid : "", l->q))
        return 0;
    if (l->total >= l->offset && l->total < l->offset + l->limit) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:I,s:I}", "serial", c->serial,
                              "subject", c->subject ? c->subject : "", "device_uuid",
                              c->device_uuid ? c->device_uuid : "", "not_before",
                              (json_int_t)c->not_before, "not_after", (json_int_t)c->not_after,
                              "issued", (json_int_t)c->issued, "state", st, "request",
                              (json_int_t)c->request_id, "batch", (json_int_t)c->batch_id);
        if (c->revoked) {
            json_object_set_new(o, "revoked_at", json_integer(c->revoked_at));
            json_object_set_new(o, "revocation_reason",
                                json_string(bacsc_pki_crl_reason_name(c->revocation_reason)));
        }
        json_array_append_new(l->arr, o);
    }
    l->total++;
    return 0;
}

int web_h_ca_certs(web_req *r)
{
    cert_list l = {.r = r, .arr = json_array(), .state = web_query(r, "state"),
                   .q = web_query(r, "q")};
    const char *o = web_query(r, "offset"), *lim = web_query(r, "limit");
    l.offset = o && atoll(o) > 0 ? atoll(o) : 0;
    l.limit = lim && atoll(lim) > 0 && atoll(lim) <= LIST_MAX ? atoll(lim) : 100;
    int rc = bacsc_ca_certs(r->app->ca, NULL, collect_cert, &l);
    if (rc < 0) {
        json_decref(l.arr);
        return fail(r, rc);
    }
    return web_reply_json(r, 200, json_pack("{s:o,s:I,s:I,s:I}", "certificates", l.arr, "total",
                                            (json_int_t)l.total, "offset", (json_int_t)l.offset,
                                            "limit", (json_int_t)l.limit));
}

/* ---- timeline ------------------------------------------------------------------------- */

typedef struct timeline {
    int y0, m0; /* the current month */
    int64_t now;
    json_int_t count[MONTHS];
    json_int_t later, expired, revoked, valid;
} timeline;

static int month_index(const timeline *t, int64_t when)
{
    time_t tt = (time_t)when;
    struct tm tm;
    gmtime_r(&tt, &tm);
    return (tm.tm_year + 1900 - t->y0) * 12 + tm.tm_mon - t->m0;
}

static int count_cert(const bacsc_cert_row *c, void *user)
{
    timeline *t = user;
    if (c->revoked) {
        t->revoked++;
        return 0;
    }
    if (c->not_after < t->now) {
        t->expired++;
        return 0;
    }
    t->valid++;
    int i = month_index(t, c->not_after);
    if (i < 0)
        i = 0;
    if (i >= MONTHS)
        t->later++;
    else
        t->count[i]++;
    return 0;
}

int web_h_ca_timeline(web_req *r)
{
    timeline t = {.now = r->now};
    time_t now = (time_t)r->now;
    struct tm tm;
    gmtime_r(&now, &tm);
    t.y0 = tm.tm_year + 1900;
    t.m0 = tm.tm_mon;
    int rc = bacsc_ca_certs(r->app->ca, NULL, count_cert, &t);
    if (rc < 0)
        return fail(r, rc);
    json_t *months = json_array();
    for (int i = 0; i < MONTHS; i++) {
        char m[16];
        int y = t.y0 + (t.m0 + i) / 12, mo = (t.m0 + i) % 12 + 1;
        snprintf(m, sizeof m, "%04d-%02d", y, mo);
        json_array_append_new(months, json_pack("{s:s,s:I}", "month", m, "count", t.count[i]));
    }
    return web_reply_json(r, 200, json_pack("{s:o,s:I,s:I,s:I,s:I}", "months", months, "later",
                                            t.later, "valid", t.valid, "expired", t.expired,
                                            "revoked", t.revoked));
}

/* ---- revoke, CRL --------------------------------------------------------------------- */

int web_h_ca_revoke(web_req *r)
{
    json_t *j = web_body_json(r);
    if (!j)
        return MHD_YES;
    const char *why = json_string_value(json_object_get(j, "reason"));
    int reason = why ? bacsc_pki_crl_reason_parse(why) : 0;
    int ret;
    if (reason < 0)
        ret = web_reply_error(r, 400, "bad-request",
                              "unknown revocation reason '%s' (e.g. keyCompromise, superseded)",
                              why);
    else {
        int rc = bacsc_ca_revoke(r->app->ca, r->name, reason);
        if (rc != BACSC_OK)
            ret = fail(r, rc);
        else {
            web_note(r, "revoke", r->name, "reason %s", bacsc_pki_crl_reason_name(reason));
            ret = web_reply_json(r, 200, json_pack("{s:s,s:s}", "serial", r->name, "reason",
                                                   bacsc_pki_crl_reason_name(reason)));
        }
    }
    json_decref(j);
    return ret;
}

int web_h_ca_crl(web_req *r)
{
    uint8_t *der = NULL;
    size_t len = 0;
    int rc = bacsc_ca_crl(r->app->ca, &der, &len);
    if (rc != BACSC_OK)
        return fail(r, rc);
    int ret = web_reply_bytes(r, 200, "application/pkix-crl", der, len,
                              "attachment; filename=\"ca.crl\"");
    free(der);
    return ret;
}

/* ---- policy ------------------------------------------------------------------------------ */

int web_h_ca_policy(web_req *r)
{
    const bacsc_policy *p = bacsc_ca_policy(r->app->ca);
    json_t *o = bacsc_policy_to_json(p);
    json_object_set_new(o, "approval",
                        json_string(p->auto_approve == BACSC_AUTO_OFF ? "manual" : "automatic"));
    return web_reply_json(r, 200, o);
}

/* PUT {"key": value, ...}: each key as `bacsc ca policy set KEY VALUE`. */
int web_h_ca_policy_set(web_req *r)
{
    json_t *j = web_body_json(r);
    if (!j)
        return MHD_YES;
    const char *key;
    json_t *v;
    int ret = 0;
    json_object_foreach(j, key, v)
    {
        char text[2048];
        if (json_is_string(v))
            snprintf(text, sizeof text, "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
        else if (json_is_boolean(v))
            snprintf(text, sizeof text, "%s", json_is_true(v) ? "true" : "false");
        else if (json_is_array(v)) {
            size_t i, o = 0;
            json_t *x;
            text[0] = 0;
            json_array_foreach(v, i, x) if (json_is_string(x) && o < sizeof text) o +=
                (size_t)snprintf(text + o, sizeof text - o, "%s%s", i ? "," : "",
                                 json_string_value(x));
        } else {
            ret = web_reply_error(r, 400, "bad-request", "policy key %s: give a string, number, "
                                                         "boolean or list", key);
            break;
        }
        int rc = bacsc_ca_policy_set(r->app->ca, key, text);
        if (rc != BACSC_OK) {
            ret = web_reply_error(r, 400, "bad-request", "%s", bacsc_ca_errmsg(r->app->ca));
            break;
        }
        web_note(r, "policy-set", key, "%s", text);
    }
    json_decref(j);
    return ret ? ret : web_h_ca_policy(r);
}

/* ---- the CA's audit log -------------------------------------------------------------------- */

typedef struct audit_ring {
    json_t *arr; /* newest last, at most limit */
    const char *q;
    size_t limit;
    int64_t before;
} audit_ring;

static bool has(const char *s, const char *q)
{
    return s && strstr(s, q);
}

static int collect_audit(const bacsc_audit_row *a, void *user)
{
    audit_ring *ring = user;
    if (ring->before > 0 && a->id >= ring->before)
        return 1;
    if (ring->q && !has(a->actor, ring->q) && !has(a->action, ring->q) &&
        !has(a->object, ring->q) && !has(a->detail, ring->q))
        return 0;
    json_array_append_new(ring->arr,
                          json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)a->id, "time",
                                    (json_int_t)a->time, "actor", a->actor ? a->actor : "",
                                    "action", a->action ? a->action : "", "object",
                                    a->object ? a->object : "", "detail",
                                    a->detail ? a->detail : ""));
    if (json_array_size(ring->arr) > ring->limit)
        json_array_remove(ring->arr, 0);
    return 0;
}

int web_h_ca_audit(web_req *r)
{
    const char *lim = web_query(r, "limit"), *before = web_query(r, "before");
    audit_ring ring = {.arr = json_array(), .q = web_query(r, "q"), .limit = 200,
                       .before = before ? atoll(before) : 0};
    if (lim && atoll(lim) > 0 && atoll(lim) <= LIST_MAX)
        ring.limit = (size_t)atoll(lim);
    int rc = bacsc_ca_audit(r->app->ca, 0, collect_audit, &ring);
    if (rc < 0) {
        json_decref(ring.arr);
        return fail(r, rc);
    }
    json_t *rev = json_array();
    for (size_t i = json_array_size(ring.arr); i-- > 0;)
        json_array_append(rev, json_array_get(ring.arr, i));
    json_decref(ring.arr);
    return web_reply_json(r, 200, json_pack("{s:o}", "entries", rev));
}
