/*
 * web_site.c — the site part of the console API: the device table
 * (filtered, sorted and paged on the server, so 10,000 devices stay
 * usable), site jobs started on a selection ("these devices" or "every
 * device matching this filter"), their state and per-device results,
 * reruns of the failed devices, and sending pending CSRs to the CA.
 */
#define _GNU_SOURCE /* strcasestr */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "bacsc/error.h"
#include "bacsc/ca_files.h"
#include "bacsc/commission.h"
#include "web/web.h"

#define PAGE_MAX 1000

/* ---- the device table ----------------------------------------------------------------- */

typedef struct dev_row {
    uint32_t instance;
    char name[65];
    char uuid[37];
    char address[48];
    int mode, status;
    int64_t not_after, last_seen;
    char issuer[256];
} dev_row;

typedef struct dev_filter {
    int status;      /* -1 any */
    int mode;        /* -1 any */
    int64_t expiring_before; /* 0 none: certificate valid and not_after <= this */
    const char *q;   /* substring of name, uuid, address or instance */
} dev_filter;

typedef struct dev_walk {
    web_app *app;
    bacsc_site_settings st;
    bool have_st;
    int64_t now;
    unsigned expiring_days;
    const dev_filter *f;
    dev_row *rows;
    size_t n, cap, total;
    unsigned by_status[6], by_mode[4];
} dev_walk;

static bool dev_match(const dev_filter *f, const dev_row *d)
{
    if (f->status >= 0 && d->status != f->status)
        return false;
    if (f->mode >= 0 && d->mode != f->mode)
        return false;
    if (f->expiring_before && (!d->not_after || d->not_after > f->expiring_before ||
                               d->status == BACSC_SITE_CERT_EXPIRED))
        return false;
    if (f->q) {
        char inst[16];
        snprintf(inst, sizeof inst, "%u", (unsigned)d->instance);
        if (!strcasestr(d->name, f->q) && !strcasestr(d->uuid, f->q) &&
            !strstr(d->address, f->q) && strcmp(inst, f->q) != 0)
            return false;
    }
    return true;
}

static int dev_collect(void *user, const bacsc_site_device *d)
{
    dev_walk *w = user;
    dev_row row;
    memset(&row, 0, sizeof row);
    row.instance = d->instance;
    snprintf(row.name, sizeof row.name, "%s", d->name);
    snprintf(row.uuid, sizeof row.uuid, "%s", d->uuid);
    snprintf(row.address, sizeof row.address, "%s", d->vmac[0] && !d->address[0] ? d->vmac
                                                                                 : d->address);
    row.mode = d->mode;
    row.last_seen = d->last_seen;
    web_cert_facts f;
    if (web_cert_facts_get(w->app, w->have_st ? &w->st : NULL, d, &f) == BACSC_OK) {
        row.not_after = f.not_after;
        memcpy(row.issuer, f.issuer, sizeof row.issuer);
    }
    row.status = web_cert_status(&f, d, w->now, w->expiring_days);
    w->total++;
    if (row.status >= 0 && row.status < 6)
        w->by_status[row.status]++;
    if (row.mode >= 0 && row.mode < 4)
        w->by_mode[row.mode]++;
    if (!dev_match(w->f, &row))
        return 0;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 1024;
        dev_row *p = realloc(w->rows, cap * sizeof *p);
        if (!p)
            return BACSC_ERR_NOMEM;
        w->rows = p;
        w->cap = cap;
    }
    w->rows[w->n++] = row;
    return 0;
}

/* The device table of the whole site, kept between requests: walking
 * 10,000 devices costs tens of milliseconds; filtering and sorting the kept
 * rows costs a few. It is reloaded after any change made through the console
 * (app->devs_dirty), when the job worker has progressed, and at least every
 * DEV_CACHE_SECONDS for changes made by other processes (`bacsc site`). */
#define DEV_CACHE_SECONDS 2

struct web_dev_cache {
    dev_walk all;             /* every device; f = NULL */
    int64_t loaded;
    uint64_t jobs_version;
};

static const dev_filter NO_FILTER = {.status = -1, .mode = -1};

static int dev_walk_all(web_app *app, int64_t now, dev_walk *w)
{
    memset(w, 0, sizeof *w);
    w->app = app;
    w->now = now;
    w->expiring_days = app->cfg.expiring_days;
    w->f = &NO_FILTER;
    w->have_st = bacsc_site_settings_get(app->site, &w->st) == BACSC_OK;
    int rc = bacsc_site_devices(app->site, dev_collect, w);
    if (w->have_st)
        bacsc_site_settings_clear(&w->st);
    w->f = NULL;
    return rc;
}

void web_dev_cache_free(web_dev_cache *c)
{
    if (c) {
        free(c->all.rows);
        free(c);
    }
}

static web_dev_cache *dev_cache(web_app *app, int64_t now, int *rc)
{
    web_dev_cache *c = app->devs;
    uint64_t v = web_jobs_version(app);
    *rc = BACSC_OK;
    if (c && !app->devs_dirty && now - c->loaded < DEV_CACHE_SECONDS && c->jobs_version == v)
        return c;
    if (!c && !(c = app->devs = calloc(1, sizeof *c))) {
        *rc = BACSC_ERR_NOMEM;
        return NULL;
    }
    free(c->all.rows);
    if ((*rc = dev_walk_all(app, now, &c->all)) != BACSC_OK) {
        free(c->all.rows);
        memset(&c->all, 0, sizeof c->all);
        c->loaded = 0;
        return NULL;
    }
    c->loaded = now;
    c->jobs_version = v;
    app->devs_dirty = false;
    return c;
}

/* The devices matching `f` (w->rows, malloc'd) and the site's counts. */
static int dev_load(web_app *app, int64_t now, const dev_filter *f, dev_walk *w)
{
    memset(w, 0, sizeof *w);
    int rc;
    web_dev_cache *c = dev_cache(app, now, &rc);
    if (!c)
        return rc;
    w->total = c->all.total;
    memcpy(w->by_status, c->all.by_status, sizeof w->by_status);
    memcpy(w->by_mode, c->all.by_mode, sizeof w->by_mode);
    w->rows = malloc((c->all.n ? c->all.n : 1) * sizeof *w->rows);
    if (!w->rows)
        return BACSC_ERR_NOMEM;
    for (size_t i = 0; i < c->all.n; i++)
        if (dev_match(f, &c->all.rows[i]))
            w->rows[w->n++] = c->all.rows[i];
    return BACSC_OK;
}

static const char *sort_key;
static int sort_desc;

static int dev_cmp(const void *a, const void *b)
{
    const dev_row *x = a, *y = b;
    int c = 0;
    if (!strcmp(sort_key, "name"))
        c = strcmp(x->name, y->name);
    else if (!strcmp(sort_key, "status"))
        c = x->status - y->status;
    else if (!strcmp(sort_key, "mode"))
        c = x->mode - y->mode;
    else if (!strcmp(sort_key, "expiry"))
        c = (x->not_after > y->not_after) - (x->not_after < y->not_after);
    else if (!strcmp(sort_key, "last_seen"))
        c = (x->last_seen > y->last_seen) - (x->last_seen < y->last_seen);
    if (!c)
        c = (x->instance > y->instance) - (x->instance < y->instance);
    return sort_desc ? -c : c;
}

/* Filter from query parameters or a JSON object. Returns false after
 * replying 400. */
static bool filter_from(web_req *r, const char *status, const char *mode, const char *expiring,
                        const char *q, dev_filter *f)
{
    memset(f, 0, sizeof *f);
    f->status = f->mode = -1;
    if (status && (f->status = bacsc_site_cert_status_parse(status)) < 0) {
        web_reply_error(r, 400, "bad-request",
                        "status is none, csr-pending, valid, expiring, expired or "
                        "signed-by-another-CA");
        return false;
    }
    if (mode && (f->mode = bacsc_site_mode_parse(mode)) < 0) {
        web_reply_error(r, 400, "bad-request", "mode is unknown, ip, dual or sc");
        return false;
    }
    if (expiring) {
        long days = atol(expiring);
        if (days < 1 || days > 36500) {
            web_reply_error(r, 400, "bad-request", "expiring is a number of days (1..36500)");
            return false;
        }
        f->expiring_before = r->now + (int64_t)days * 86400;
    }
    f->q = q && *q ? q : NULL;
    return true;
}

static json_t *dev_json(const dev_row *d)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:I}", "instance", (json_int_t)d->instance,
                     "name", d->name, "uuid", d->uuid, "address", d->address, "mode",
                     bacsc_site_mode_name(d->mode), "status",
                     bacsc_site_cert_status_name(d->status), "expires", (json_int_t)d->not_after,
                     "issuer", d->issuer, "last_seen", (json_int_t)d->last_seen);
}

/* Devices of the whole site by certificate status and by mode. */
static json_t *counts_json(const dev_walk *w)
{
    json_t *st = json_object(), *md = json_object();
    for (int i = 0; i < 6; i++)
        json_object_set_new(st, bacsc_site_cert_status_name(i), json_integer(w->by_status[i]));
    for (int i = 0; i < 4; i++)
        json_object_set_new(md, bacsc_site_mode_name(i), json_integer(w->by_mode[i]));
    return json_pack("{s:o,s:o}", "status", st, "mode", md);
}

int web_h_site_devices(web_req *r)
{
    dev_filter f;
    if (!filter_from(r, web_query(r, "status"), web_query(r, "mode"), web_query(r, "expiring"),
                     web_query(r, "q"), &f))
        return MHD_YES;
    const char *sort = web_query(r, "sort"), *order = web_query(r, "order");
    const char *off = web_query(r, "offset"), *lim = web_query(r, "limit");
    long long offset = off ? atoll(off) : 0, limit = lim ? atoll(lim) : 100;
    if (offset < 0)
        offset = 0;
    if (limit < 1 || limit > PAGE_MAX)
        limit = 100;
    dev_walk w;
    int rc = dev_load(r->app, r->now, &f, &w);
    if (rc != BACSC_OK) {
        free(w.rows);
        return web_reply_error(r, 500, "internal", "%s", bacsc_site_errmsg(r->app->site));
    }
    sort_key = sort ? sort : "instance";
    sort_desc = order && !strcmp(order, "desc");
    if (strcmp(sort_key, "instance") || sort_desc) /* the walk is already by instance */
        qsort(w.rows, w.n, sizeof *w.rows, dev_cmp);
    json_t *arr = json_array();
    for (size_t i = (size_t)offset; i < w.n && i < (size_t)(offset + limit); i++)
        json_array_append_new(arr, dev_json(&w.rows[i]));
    free(w.rows);
    return web_reply_json(r, 200, json_pack("{s:o,s:I,s:I,s:I,s:I,s:o}", "devices", arr, "total",
                                            (json_int_t)w.total, "matched", (json_int_t)w.n,
                                            "offset", (json_int_t)offset, "limit",
                                            (json_int_t)limit, "counts", counts_json(&w)));
}

int web_h_site_summary(web_req *r)
{
    dev_filter f = {.status = -1, .mode = -1};
    dev_walk w;
    int rc = dev_load(r->app, r->now, &f, &w);
    free(w.rows);
    if (rc != BACSC_OK)
        return web_reply_error(r, 500, "internal", "%s", bacsc_site_errmsg(r->app->site));
    json_t *c = counts_json(&w);
    bacsc_site_settings s;
    json_t *o = json_pack("{s:I,s:O,s:O,s:I}", "devices", (json_int_t)w.total, "status",
                          json_object_get(c, "status"), "mode", json_object_get(c, "mode"),
                          "expiring_days", (json_int_t)r->app->cfg.expiring_days);
    json_decref(c);
    if (bacsc_site_settings_get(r->app->site, &s) == BACSC_OK) {
        json_object_set_new(o, "site", json_string(s.name));
        json_object_set_new(o, "ca_subject", json_string(s.ca_subject));
        bacsc_site_settings_clear(&s);
    }
    return web_reply_json(r, 200, o);
}

/* ---- selections ------------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The devices a job body selects: "devices": [instances] or "filter":
 * {status, mode, expiring, q} (every device matching). *list is malloc'd.
 * Returns false after replying. */
static bool body_selection(web_req *r, json_t *j, bacsc_site_selection *sel, uint32_t **list)
{
    memset(sel, 0, sizeof *sel);
    *list = NULL;
    json_t *devs = json_object_get(j, "devices"), *flt = json_object_get(j, "filter");
    size_t n = 0;
    if (json_is_array(devs) && json_array_size(devs) > 0 && json_array_size(devs) <= 1000000) {
        *list = malloc(json_array_size(devs) * sizeof **list);
        size_t i;
        json_t *x;
        json_array_foreach(devs, i, x)
        {
            if (!json_is_integer(x) || json_integer_value(x) < 0 ||
                json_integer_value(x) > 4194302) {
                web_reply_error(r, 400, "bad-request", "\"devices\" holds device instances");
                free(*list);
                *list = NULL;
                return false;
            }
            (*list)[n++] = (uint32_t)json_integer_value(x);
        }
    } else if (json_is_object(flt)) {
        dev_filter f;
        char exp[24] = "";
        json_t *e = json_object_get(flt, "expiring");
        if (json_is_integer(e))
            snprintf(exp, sizeof exp, "%lld", (long long)json_integer_value(e));
        if (!filter_from(r, json_string_value(json_object_get(flt, "status")),
                         json_string_value(json_object_get(flt, "mode")), exp[0] ? exp : NULL,
                         json_string_value(json_object_get(flt, "q")), &f))
            return false;
        dev_walk w;
        if (dev_load(r->app, r->now, &f, &w) != BACSC_OK) {
            free(w.rows);
            web_reply_error(r, 500, "internal", "%s", bacsc_site_errmsg(r->app->site));
            return false;
        }
        *list = malloc((w.n ? w.n : 1) * sizeof **list);
        for (size_t i = 0; i < w.n; i++)
            (*list)[n++] = w.rows[i].instance;
        free(w.rows);
    } else {
        web_reply_error(r, 400, "bad-request",
                        "select devices with \"devices\": [instances] or \"filter\": {...}");
        return false;
    }
    if (n == 0) {
        free(*list);
        *list = NULL;
        web_reply_error(r, 404, "no-devices", "no device matches the selection");
        return false;
    }
    qsort(*list, n, sizeof **list, cmp_u32);
    sel->list = *list;
    sel->n_list = n;
    return true;
}

/* ---- jobs --------------------------------------------------------------------------------- */

static json_t *job_json(web_app *app, const bacsc_site_job *j)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "id", (json_int_t)j->id,
                          "kind", bacsc_site_job_kind_name(j->kind), "state",
                          bacsc_site_job_state_name(j->state), "started", (json_int_t)j->started,
                          "finished", (json_int_t)j->finished, "total", (json_int_t)j->total,
                          "done", (json_int_t)j->done, "failed", (json_int_t)j->failed,
                          "skipped", (json_int_t)j->skipped, "pending", (json_int_t)j->pending);
    json_error_t e;
    json_t *args = json_loads(j->args, 0, &e);
    if (args)
        json_object_set_new(o, "args", args);
    bacsc_site_progress p;
    bool queued = false;
    if (web_jobs_progress(app, j->id, &p, &queued) == 1) {
        json_object_set_new(o, "running", json_integer(p.running));
        json_object_set_new(o, "queued", json_boolean(queued));
    }
    return o;
}

static int job_row(void *user, const bacsc_site_job *j)
{
    void **ctx = user;
    json_t *arr = ctx[0];
    web_app *app = ctx[1];
    if (json_array_size(arr) >= 200)
        return 1;
    json_array_append_new(arr, job_json(app, j));
    return 0;
}

int web_h_site_jobs(web_req *r)
{
    json_t *arr = json_array();
    void *ctx[2] = {arr, r->app};
    bacsc_site_jobs(r->app->site, job_row, ctx);
    return web_reply_json(r, 200, json_pack("{s:o}", "jobs", arr));
}

typedef struct item_ctx {
    json_t *arr;
    const char *only;
    size_t n, limit;
} item_ctx;

static int item_row(void *user, const bacsc_site_item *it)
{
    item_ctx *c = user;
    const char *st = bacsc_site_item_status_name(it->status);
    if (c->only && strcmp(c->only, st))
        return 0;
    if (c->n++ >= c->limit)
        return 0;
    json_array_append_new(c->arr, json_pack("{s:I,s:s,s:s,s:s,s:I,s:I}", "device",
                                            (json_int_t)it->instance, "status", st, "step",
                                            it->step_name ? it->step_name : "", "error",
                                            it->error, "attempts", (json_int_t)it->attempts,
                                            "updated", (json_int_t)it->updated));
    return 0;
}

int web_h_site_job(web_req *r)
{
    bacsc_site_job j;
    if (bacsc_site_job_get(r->app->site, r->ids[0], &j) != BACSC_OK)
        return web_reply_error(r, 404, "not-found", "no job %lld", (long long)r->ids[0]);
    const char *lim = web_query(r, "limit");
    item_ctx c = {.arr = json_array(), .only = web_query(r, "items"),
                  .limit = lim && atoll(lim) > 0 ? (size_t)atoll(lim) : 10000};
    bacsc_site_job_items(r->app->site, j.id, item_row, &c);
    json_t *o = job_json(r->app, &j);
    json_object_set_new(o, "items", c.arr);
    json_object_set_new(o, "items_matched", json_integer((json_int_t)c.n));
    return web_reply_json(r, 200, o);
}

static int job_started(web_req *r, int64_t job, const char *what, json_t *extra)
{
    web_job_owner_set(r->app->db, job, r->auth.user, r->now);
    web_jobs_enqueue(r->app, job);
    bacsc_site_job j;
    bacsc_site_job_get(r->app->site, job, &j);
    web_note(r, "site-job", what, "job %lld on %u devices", (long long)job, j.total);
    json_t *o = job_json(r->app, &j);
    if (extra)
        json_object_update_new(o, extra);
    return web_reply_json(r, 202, o);
}

static int site_fail(web_req *r, int rc)
{
    const char *msg = bacsc_site_errmsg(r->app->site);
    if (rc == BACSC_ERR_NOT_FOUND)
        return web_reply_error(r, 404, "no-devices", "%s", msg);
    if (rc == BACSC_ERR_STATE)
        return web_reply_error(r, 409, "state", "%s", msg);
    if (rc == BACSC_ERR_MALFORMED || rc == BACSC_ERR_POLICY)
        return web_reply_error(r, 422, "refused", "%s", msg);
    return web_reply_error(r, 500, "internal", "%s", msg[0] ? msg : bacsc_strerror(rc));
}

/* The CARI response of a CA batch, in memory. */
static int ca_response_bytes(web_req *r, int64_t batch, unsigned char **data, size_t *len)
{
    char dir[] = "/tmp/bacsc-web-XXXXXX";
    *data = NULL;
    *len = 0;
    if (!mkdtemp(dir)) {
        web_reply_error(r, 500, "internal", "temporary directory: %s", strerror(errno));
        return -1;
    }
    char path[64], err[256] = "";
    snprintf(path, sizeof path, "%s/response.zip", dir);
    size_t n = 0;
    uint8_t sha[32];
    int rc = bacsc_ca_response_write(r->app->ca, batch, path, &n, sha, err, sizeof err);
    FILE *f = rc == BACSC_OK ? fopen(path, "rb") : NULL;
    *data = NULL;
    *len = 0;
    if (f) {
        struct stat st;
        if (fstat(fileno(f), &st) == 0 && (*data = malloc((size_t)st.st_size + 1)))
            *len = fread(*data, 1, (size_t)st.st_size, f);
        fclose(f);
    }
    unlink(path);
    rmdir(dir);
    if (!*data) {
        web_reply_error(r, rc == BACSC_ERR_NOT_FOUND ? 404 : 500, "internal",
                        "cannot make the response of batch %lld: %s", (long long)batch, err);
        return -1;
    }
    return 0;
}

static int job_import(web_req *r, json_t *j)
{
    json_t *b = json_object_get(j, "batch");
    if (!r->app->ca || !json_is_integer(b))
        return web_reply_error(r, 400, "bad-request",
                               "an import takes \"batch\": the CA batch whose response to import");
    unsigned char *data = NULL;
    size_t len = 0;
    if (ca_response_bytes(r, json_integer_value(b), &data, &len) != 0)
        return MHD_YES;
    bacsc_site_import_entry *ents = NULL;
    size_t n = 0;
    int64_t job = 0;
    bool resumed = false;
    char err[256] = "";
    int rc = bacsc_site_prepare_import(r->app->site, data, len, true, &ents, &n, &job, &resumed,
                                       err, sizeof err);
    free(data);
    json_t *refused = json_array(), *not_issued = json_array();
    for (size_t i = 0; i < n; i++)
        if (ents[i].refused || ents[i].not_issued)
            json_array_append_new(ents[i].refused ? refused : not_issued,
                                  json_pack("{s:s,s:s}", "entry", ents[i].name, "why",
                                            ents[i].why));
    free(ents);
    if (rc != BACSC_OK && rc != BACSC_ERR_EXISTS) {
        json_decref(refused);
        json_decref(not_issued);
        return web_reply_error(r, rc == BACSC_ERR_NOT_FOUND ? 404 : 422, "refused", "%s",
                               err[0] ? err : bacsc_site_errmsg(r->app->site));
    }
    if (rc == BACSC_ERR_EXISTS) {
        json_decref(refused);
        json_decref(not_issued);
        return web_reply_error(r, 409, "already-imported",
                               "this response was already imported completely (job %lld)",
                               (long long)job);
    }
    return job_started(r, job, "import",
                       json_pack("{s:o,s:o}", "refused", refused, "not_issued", not_issued));
}

static int job_trust(web_req *r, json_t *j, const bacsc_site_selection *sel)
{
    if (r->auth.role < WEB_ROLE_ADMIN)
        return web_reply_error(r, 403, "forbidden", "trust jobs need the admin role");
    const char *action = json_string_value(json_object_get(j, "action"));
    const char *pem = json_string_value(json_object_get(j, "ca"));
    if (!action || (strcmp(action, "add") && strcmp(action, "remove")))
        return web_reply_error(r, 400, "bad-request", "\"action\" is add or remove");
    bacsc_site_settings st;
    bool have = false;
    const unsigned char *ca = (const unsigned char *)pem;
    size_t ca_len = pem ? strlen(pem) : 0;
    if (!pem) {
        if (bacsc_site_settings_get(r->app->site, &st) != BACSC_OK)
            return web_reply_error(r, 409, "state", "the site is not initialised");
        have = true;
        ca = st.ca_der;
        ca_len = st.ca_len;
    }
    int64_t job = 0;
    int rc = bacsc_site_prepare_trust(r->app->site, !strcmp(action, "add"), ca, ca_len, sel, &job);
    if (have)
        bacsc_site_settings_clear(&st);
    return rc == BACSC_OK ? job_started(r, job, "trust", NULL) : site_fail(r, rc);
}

/* A CRL push (admin): the CRL uploaded in "crl" (PEM, at most a device's
 * CRL file), else a fresh CRL of the console's CA. */
static int job_crl(web_req *r, json_t *j, const bacsc_site_selection *sel)
{
    if (r->auth.role < WEB_ROLE_ADMIN)
        return web_reply_error(r, 403, "forbidden", "CRL pushes need the admin role");
    json_t *c = json_object_get(j, "crl");
    if (c && !json_is_string(c))
        return web_reply_error(r, 400, "bad-request", "\"crl\" is the CRL in PEM (or absent: "
                                                      "the CA's current CRL)");
    const unsigned char *crl = NULL;
    uint8_t *der = NULL;
    size_t len = 0;
    if (c) {
        crl = (const unsigned char *)json_string_value(c);
        len = json_string_length(c);
        if (len > BACSC_CRL_FILE_MAX)
            return web_reply_error(r, 413, "too-large", "the CRL is larger than %u octets (a "
                                                        "device's CRL file)", BACSC_CRL_FILE_MAX);
    } else if (!r->app->ca) {
        return web_reply_error(r, 400, "bad-request", "this console serves no CA: upload the CRL "
                                                      "in \"crl\"");
    } else {
        int rc = bacsc_ca_crl(r->app->ca, &der, &len);
        if (rc != BACSC_OK)
            return web_reply_error(r, 500, "internal", "cannot make the CA's CRL: %s",
                                   bacsc_strerror(rc));
        crl = der;
    }
    int64_t job = 0;
    int rc = bacsc_site_prepare_crl(r->app->site, crl, len, sel, &job);
    free(der);
    return rc == BACSC_OK ? job_started(r, job, "crl-push", NULL) : site_fail(r, rc);
}

int web_h_site_job_create(web_req *r)
{
    json_t *j = web_body_json(r);
    if (!j)
        return MHD_YES;
    const char *kind = json_string_value(json_object_get(j, "kind"));
    bacsc_site_selection sel;
    uint32_t *list = NULL;
    int ret, rc = BACSC_OK;
    int64_t job = 0;
    if (!kind) {
        ret = web_reply_error(r, 400, "bad-request", "\"kind\" is request, renew, import, mode, "
                                                     "trust or crl");
    } else if (!strcmp(kind, "import")) {
        ret = job_import(r, j);
    } else if (!body_selection(r, j, &sel, &list)) {
        ret = MHD_YES;
    } else if (!strcmp(kind, "request") || !strcmp(kind, "renew")) {
        bool over = !strcmp(kind, "renew") || json_is_true(json_object_get(j, "overwrite"));
        rc = bacsc_site_prepare_request(r->app->site, &sel,
                                        over ? BACSC_SITE_CSR_OVERWRITE : BACSC_SITE_CSR_KEEP,
                                        &job);
        ret = rc == BACSC_OK ? job_started(r, job, kind, NULL) : site_fail(r, rc);
    } else if (!strcmp(kind, "mode")) {
        int mode = bacsc_site_mode_parse(json_string_value(json_object_get(j, "mode")));
        if (mode <= BACSC_SITE_MODE_UNKNOWN)
            ret = web_reply_error(r, 400, "bad-request", "\"mode\" is ip, dual or sc");
        else {
            rc = bacsc_site_prepare_mode(r->app->site, mode, &sel, &job);
            ret = rc == BACSC_OK ? job_started(r, job, "mode", NULL) : site_fail(r, rc);
        }
    } else if (!strcmp(kind, "trust")) {
        ret = job_trust(r, j, &sel);
    } else if (!strcmp(kind, "crl") || !strcmp(kind, "crl-push")) {
        ret = job_crl(r, j, &sel);
    } else {
        ret = web_reply_error(r, 400, "bad-request", "unknown job kind '%s' (request, renew, "
                                                     "import, mode, trust, crl)", kind);
    }
    free(list);
    json_decref(j);
    return ret;
}

int web_h_site_job_rerun(web_req *r)
{
    bacsc_site_job j;
    if (bacsc_site_job_get(r->app->site, r->ids[0], &j) != BACSC_OK)
        return web_reply_error(r, 404, "not-found", "no job %lld", (long long)r->ids[0]);
    if ((j.kind == BACSC_SITE_JOB_TRUST_ADD || j.kind == BACSC_SITE_JOB_TRUST_REMOVE ||
         j.kind == BACSC_SITE_JOB_CRL_PUSH) &&
        r->auth.role < WEB_ROLE_ADMIN)
        return web_reply_error(r, 403, "forbidden", "trust and CRL jobs need the admin role");
    if (j.state == BACSC_SITE_JOB_RUNNING)
        return web_reply_error(r, 409, "running", "job %lld is still running", (long long)j.id);
    int64_t job = 0;
    int rc = bacsc_site_job_create_retry(r->app->site, j.kind, j.key, &job);
    if (rc == BACSC_ERR_NOT_FOUND)
        return web_reply_error(r, 409, "nothing-failed", "job %lld has no failed device to rerun",
                               (long long)j.id);
    if (rc != BACSC_OK)
        return site_fail(r, rc);
    return job_started(r, job, "rerun", json_pack("{s:I}", "rerun_of", (json_int_t)j.id));
}

/* Send the pending CSRs of the selected devices to the CA as one batch,
 * submitted by the requester. */
int web_h_site_submit_csrs(web_req *r)
{
    json_t *j = web_body_json(r);
    if (!j)
        return MHD_YES;
    bacsc_site_selection sel;
    uint32_t *list = NULL;
    int ret = MHD_YES;
    if (!body_selection(r, j, &sel, &list)) {
        json_decref(j);
        return MHD_YES;
    }
    json_decref(j);
    char dir[] = "/tmp/bacsc-web-XXXXXX", path[64];
    if (!mkdtemp(dir)) {
        free(list);
        return web_reply_error(r, 500, "internal", "temporary directory: %s", strerror(errno));
    }
    snprintf(path, sizeof path, "%s/request.zip", dir);
    size_t count = 0;
    int rc = bacsc_site_write_request(r->app->site, &sel, path, &count);
    free(list);
    unsigned char *data = NULL;
    size_t len = 0;
    FILE *f = rc == BACSC_OK ? fopen(path, "rb") : NULL;
    if (f) {
        struct stat st;
        if (fstat(fileno(f), &st) == 0 && (data = malloc((size_t)st.st_size + 1)))
            len = fread(data, 1, (size_t)st.st_size, f);
        fclose(f);
    }
    unlink(path);
    rmdir(dir);
    if (rc != BACSC_OK)
        ret = site_fail(r, rc);
    else if (!data)
        ret = web_reply_error(r, 500, "internal", "cannot read the request file");
    else
        ret = web_ca_submit_zip(r, data, len, "site-csrs.zip");
    free(data);
    return ret;
}
