/*
 * site_jobs.c — what turning a `bacsc site` command into a job needs
 * whatever the workflow: device selection, job keys, resuming a killed job,
 * creating a job with one item per device (site_internal.h). Each
 * workflow's own preparation lives in its file (wf_*.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/site.h"
#include "site_internal.h"

void *site_grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *np = realloc(p, ncap * size);
    if (np)
        *cap = ncap;
    return np;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int collect(void *user, const bacsc_site_device *d)
{
    site_devlist *l = user;
    if (l->sel && !bacsc_site_selection_has(l->sel, d->instance))
        return 0;
    if (l->only && !bsearch(&d->instance, l->only, l->n_only, sizeof *l->only, cmp_u32))
        return 0;
    bacsc_site_device *nd = site_grow(l->d, &l->cap, l->n, sizeof *nd);
    if (!nd)
        return BACSC_ERR_NOMEM;
    l->d = nd;
    if (bacsc_site_device_copy(&l->d[l->n], d) != BACSC_OK)
        return BACSC_ERR_NOMEM;
    l->n++;
    return 0;
}

void site_devlist_free(site_devlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        bacsc_site_device_clear(&l->d[i]);
    free(l->d);
    memset(l, 0, sizeof *l);
}

int site_all_devices(bacsc_site *s, site_devlist *l)
{
    memset(l, 0, sizeof *l);
    int rc = bacsc_site_devices(s, collect, l);
    if (rc != BACSC_OK)
        site_devlist_free(l);
    return rc;
}

int site_job_devices(bacsc_site *s, int64_t job, site_devlist *l)
{
    memset(l, 0, sizeof *l);
    uint32_t *only = NULL;
    size_t n = 0;
    int rc = site_job_instances(s, job, &only, &n);
    if (rc == BACSC_OK && n) {
        l->only = only;
        l->n_only = n;
        rc = bacsc_site_devices(s, collect, l);
    }
    free(only);
    l->only = NULL;
    if (rc != BACSC_OK)
        site_devlist_free(l);
    return rc;
}

int site_select_devices(bacsc_site *s, const bacsc_site_selection *sel, site_devlist *l)
{
    memset(l, 0, sizeof *l);
    l->sel = sel;
    int rc = bacsc_site_devices(s, collect, l);
    if (rc != BACSC_OK) {
        site_devlist_free(l);
        return rc;
    }
    if (l->n == 0) {
        site_devlist_free(l);
        return site_fail(s, BACSC_ERR_NOT_FOUND,
                         "no device selected (run `bacsc site discover` first?)");
    }
    return BACSC_OK;
}

void site_selection_text(const bacsc_site_selection *sel, char *buf, size_t cap)
{
    if (sel->all) {
        snprintf(buf, cap, "all");
        return;
    }
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sel->n && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%u-%u", i ? "," : "", (unsigned)sel->r[i].lo,
                              (unsigned)sel->r[i].hi);
    if (sel->list && sel->n_list && o < cap) {
        /* a list: its size and a digest of it (FNV-1a), so that the same
         * list makes the same job key */
        uint64_t h = 1469598103934665603ull;
        for (size_t i = 0; i < sel->n_list; i++)
            h = (h ^ sel->list[i]) * 1099511628211ull;
        snprintf(buf + o, cap - o, "%slist%zu:%016llx", o ? "," : "", sel->n_list,
                 (unsigned long long)h);
    }
}

bool site_resume_same(bacsc_site *s, int kind, const char *key, int64_t *job_id)
{
    s->resumed = bacsc_site_job_resumable(s, kind, key, job_id) == BACSC_OK;
    return s->resumed;
}

bool bacsc_site_prepared_resumed(const bacsc_site *s)
{
    return s && s->resumed;
}

int site_create_job(bacsc_site *s, int kind, const char *args, const site_devlist *l,
                    const unsigned char *data, size_t len, site_item_rule rule, void *user,
                    int64_t *job_id)
{
    if (site_resume_same(s, kind, args, job_id))
        return BACSC_OK;
    int rc = site_begin(s);
    if (rc != BACSC_OK)
        return rc;
    int64_t id = 0;
    if ((rc = bacsc_site_job_create(s, kind, args, args, &id)) != BACSC_OK)
        goto fail;
    for (size_t i = 0; i < l->n && rc == BACSC_OK; i++) {
        char why[256] = "";
        int status = rule(user, &l->d[i], why, sizeof why);
        bool payload = status == BACSC_SITE_ITEM_PENDING;
        rc = bacsc_site_job_add_item(s, id, l->d[i].instance, payload ? data : NULL,
                                     payload ? len : 0, status, why[0] ? why : NULL);
    }
    if (rc != BACSC_OK || (rc = site_commit(s)) != BACSC_OK)
        goto fail;
    *job_id = id;
    return BACSC_OK;
fail:
    site_rollback(s);
    return rc;
}
