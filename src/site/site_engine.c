/*
 * site_engine.c — the job engine: drives every device of a job through its
 * workflow's steps (site_workflow.h) with bounded concurrency, commits each
 * step's outcome in its own transaction, resumes pending devices from their
 * recorded step (bacsc/site.h, docs/site.md "Workflows").
 *
 * The engine knows no workflow: what a step sends and how it reads the
 * answer lives in the workflow files (wf_*.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/client.h"
#include "bacsc/datalink.h"
#include "bacsc/error.h"
#include "bacsc/services.h"
#include "bacsc/site.h"
#include "site_workflow.h"

typedef struct run {
    site_run pub;                          /* what the steps see */
    site_item *items;
    size_t n, cap, next;
    site_item **active;
    size_t nactive;
    unsigned steps;
    unsigned done, failed, skipped;
    bool stop;
    int fatal;
} run;

const char *bacsc_site_step_name(int kind, int step)
{
    const site_workflow *wf = site_workflow_of(kind);
    if (!wf || step < 0 || step > wf->nsteps)
        return "?";
    return step == wf->nsteps ? "end" : wf->steps[step].name;
}

/* ---- commits --------------------------------------------------------------------- */

static int commit_item(run *r, site_item *it, bool device_changed)
{
    bacsc_site *s = r->pub.s;
    int rc = site_begin(s);
    if (rc != BACSC_OK)
        return rc;
    rc = site_item_save(s, r->pub.job.id, it->instance, it->step, it->status, it->error,
                        it->attempts);
    if (rc == BACSC_OK && device_changed) {
        it->dev.last_seen = bacsc_site_now(s);
        rc = bacsc_site_device_put(s, &it->dev);
    }
    if (rc == BACSC_OK)
        rc = site_commit(s);
    if (rc != BACSC_OK)
        site_rollback(s);
    r->steps++;
    if (r->pub.o.stop_after_steps && r->steps >= r->pub.o.stop_after_steps)
        r->stop = true;
    return rc;
}

static void item_release(site_item *it)
{
    bacsc_site_device_clear(&it->dev);
    free(it->stage);
    it->stage = NULL;
    it->stage_len = 0;
    free(it->buf);
    it->buf = NULL;
    it->buf_cap = it->buf_len = 0;
}

static void describe_failure(site_item *it)
{
    if (it->error[0])
        return;
    char buf[160];
    bacsc_client_result_format(&it->res, buf, sizeof buf);
    site_fail_msg(it, "%s: %s", bacsc_site_step_name(it->r->job.kind, it->step), buf);
}

/* Advance after a step's verdict; returns a fatal error or BACSC_OK. */
static int advance(run *r, site_item *it, int h)
{
    const site_workflow *wf = r->pub.wf;
    if (h == H_AGAIN)
        return BACSC_OK;
    if (h == H_FAIL) {
        describe_failure(it);
        it->status = BACSC_SITE_ITEM_FAILED;
        r->failed++;
    } else if (h == H_DONE) {
        it->status = strncmp(it->error, "no action", 9) == 0 ? BACSC_SITE_ITEM_SKIPPED
                                                             : BACSC_SITE_ITEM_DONE;
        it->step = wf->nsteps;
        if (it->status == BACSC_SITE_ITEM_SKIPPED)
            r->skipped++;
        else
            r->done++;
    } else {
        it->step++;
        it->error[0] = 0;
        site_reset_transfer(it);
        if (it->step >= wf->nsteps) {
            it->status = BACSC_SITE_ITEM_DONE;
            r->done++;
        }
    }
    bool dev = wf->save == SITE_SAVE_ALWAYS || it->status == BACSC_SITE_ITEM_DONE ||
               (h == H_NEXT && wf->save == SITE_SAVE_ON_STEP);
    return commit_item(r, it, dev);
}

/* ---- the loop ------------------------------------------------------------------ */

static int load_item(void *user, uint32_t instance, int step, unsigned attempts,
                     const unsigned char *data, size_t len)
{
    run *r = user;
    site_item *ni = site_grow(r->items, &r->cap, r->n, sizeof *ni);
    if (!ni)
        return BACSC_ERR_NOMEM;
    r->items = ni;
    site_item *it = &r->items[r->n];
    memset(it, 0, sizeof *it);
    it->instance = instance;
    it->step = step;
    it->status = BACSC_SITE_ITEM_PENDING;
    it->attempts = attempts;
    if (len) {
        if (!(it->data = malloc(len)))
            return BACSC_ERR_NOMEM;
        memcpy(it->data, data, len);
        it->data_len = len;
    }
    r->n++;
    return 0;
}

static int load_items(run *r)
{
    int rc = site_job_pending_items(r->pub.s, r->pub.job.id, load_item, r);
    const site_workflow *wf = r->pub.wf;
    int restart = 0;
    for (int k = 0; wf->restart_before && k < wf->nsteps; k++)
        if (strcmp(wf->steps[k].name, wf->restart_before) == 0)
            restart = k;
    for (size_t i = 0; i < r->n; i++) {
        r->items[i].r = &r->pub;
        if (r->items[i].step < restart)
            r->items[i].step = 0;
    }
    return rc;
}

static void report(run *r, bool final)
{
    const bacsc_site_run_opts *o = &r->pub.o;
    if (!o->progress)
        return;
    const bacsc_site_job *j = &r->pub.job;
    bacsc_site_progress p = {.job = j->id, .kind = j->kind, .total = j->total,
                             .done = j->done + r->done, .failed = j->failed + r->failed,
                             .skipped = j->skipped + r->skipped,
                             .running = (unsigned)r->nactive, .final = final};
    o->progress(o->progress_user, &p);
}

/* Start an item: load its device; returns false if it finished at once. */
static bool activate(run *r, site_item *it)
{
    bacsc_site *s = r->pub.s;
    bool sc = r->pub.io->datalink == BACSC_DATALINK_SC;
    int got = bacsc_site_device_get(s, it->instance, &it->dev);
    if (got != BACSC_OK ||
        bacsc_address_parse(sc ? it->dev.vmac : it->dev.address, &it->addr) != BACSC_OK ||
        it->addr.mac_len == 0) {
        snprintf(it->error, sizeof it->error,
                 "device %u: no %s address in the database (run discover%s)",
                 (unsigned)it->instance, sc ? "BACnet/SC (VMAC)" : "BACnet/IP",
                 sc ? " with --hub" : "");
        it->status = BACSC_SITE_ITEM_FAILED;
        r->failed++;
        r->fatal = commit_item(r, it, false);
        item_release(it);
        return false;
    }
    it->attempts++;
    /* Count the attempt now: a run killed before this device's first step
     * completes still tried it. */
    int rc = site_item_attempt(s, r->pub.job.id, it->instance, it->attempts);
    if (rc != BACSC_OK)
        r->fatal = rc;
    it->slot = -1;
    it->want_set = false;
    free(it->stage);
    it->stage = NULL;
    it->stage_len = 0;
    it->error[0] = 0;
    site_reset_transfer(it);
    return true;
}

static int step_issue(run *r, site_item *it)
{
    const site_workflow *wf = r->pub.wf;
    if (wf->check && wf->check(it) == H_FAIL)
        return H_FAIL;
    return wf->steps[it->step].issue(it);
}

/* Issue requests for an item until one is in flight or it finishes.
 * Returns true while the item stays active. */
static bool drive(run *r, site_item *it)
{
    while (it->status == BACSC_SITE_ITEM_PENDING && !it->busy && !r->stop) {
        it->completed = false;
        int h = step_issue(r, it);
        if (h == H_AGAIN && it->busy)
            return true;
        if (h == H_LOCAL)
            h = r->pub.wf->steps[it->step].result(it);
        int fr = advance(r, it, h);
        if (fr != BACSC_OK) {
            r->fatal = fr;
            return false;
        }
    }
    return it->status == BACSC_SITE_ITEM_PENDING && it->busy;
}

/* ---- re-finding a device whose address changed -------------------------------------- */

#define REFIND_WAIT_US 3000000

/* A request timed out: the device may be there under another address (a new
 * VMAC after a restart, another B/IP port). Ask for it by instance (Who-Is
 * low = high = instance, as a broadcast: through the hub over BACnet/SC)
 * once per run of the device; its I-Am lands in the client's device table. */
static bool start_refind(run *r, site_item *it)
{
    if (it->refound || r->pub.wf->kind == BACSC_SITE_JOB_DISCOVER ||
        it->res.outcome != BACSC_CLIENT_TIMEOUT)
        return false;
    const bacsc_site_io *io = r->pub.io;
    uint64_t now = io->now(io->user);
    bacsc_whois w = {.has_range = true, .low = it->instance, .high = it->instance};
    if (bacsc_client_whois(io->client, NULL, &w, now) != BACSC_OK)
        return false;
    it->refound = true; /* once */
    it->refinding = true;
    it->refind_sent = now;
    it->refind_until = now + REFIND_WAIT_US;
    return true;
}

/* The answer to start_refind, if any: the new address is stored and the step
 * is sent again; no answer or the same address: the step fails as it was. */
static int check_refind(run *r, site_item *it, bool *again)
{
    const bacsc_site_io *io = r->pub.io;
    uint64_t now = io->now(io->user);
    const bacsc_client_device *d = bacsc_client_find_device(io->client, it->instance);
    bool answered = d && d->last_seen >= it->refind_sent;
    *again = false;
    if (!answered && now < it->refind_until)
        return BACSC_OK; /* still waiting */
    it->refinding = false;
    bool same = answered && d->address.mac_len == it->addr.mac_len &&
                memcmp(d->address.mac, it->addr.mac, it->addr.mac_len) == 0;
    if (!answered || same) {
        describe_failure(it);
        size_t l = strlen(it->error);
        snprintf(it->error + l, sizeof it->error - l, "%s",
                 same ? " (it answers Who-Is from the same address)"
                      : "; no answer to a Who-Is for it either (is it on?)");
        return advance(r, it, H_FAIL);
    }
    bool sc = io->datalink == BACSC_DATALINK_SC;
    it->addr = d->address;
    if (sc)
        bacsc_address_format(&d->address, BACSC_DATALINK_SC, it->dev.vmac, sizeof it->dev.vmac);
    else
        bacsc_address_format(&d->address, io->datalink, it->dev.address,
                             sizeof it->dev.address);
    /* the record keeps the address the device answered from, also if the job
     * fails later */
    it->error[0] = 0;
    int rc = commit_item(r, it, true);
    *again = true;
    return rc;
}

/* Items waiting for a re-find answer: go on or give up. */
static int poll_refinds(run *r)
{
    for (size_t i = 0; i < r->nactive;) {
        site_item *it = r->active[i];
        bool again = false;
        int rc = it->refinding ? check_refind(r, it, &again) : BACSC_OK;
        if (rc != BACSC_OK)
            return rc;
        if (it->refinding || (again && drive(r, it)) ||
            (!again && it->status == BACSC_SITE_ITEM_PENDING)) {
            i++;
            continue;
        }
        item_release(it);
        r->active[i] = r->active[--r->nactive];
    }
    return r->fatal;
}

/* Process the items whose request completed. */
static int collect_results(run *r)
{
    for (size_t i = 0; i < r->nactive;) {
        site_item *it = r->active[i];
        if (it->completed) {
            it->busy = false;
            int h = r->pub.wf->steps[it->step].result(it);
            it->completed = false;
            if (h == H_FAIL && start_refind(r, it)) {
                i++;
                continue;
            }
            int rc = advance(r, it, h);
            if (rc != BACSC_OK)
                return rc;
            if (!drive(r, it)) {
                item_release(it);
                r->active[i] = r->active[--r->nactive];
                continue;
            }
        }
        i++;
    }
    return r->fatal;
}

/* Runs until every item is finished, the test hook stops it, or an error. */
static int run_loop(run *r)
{
    const bacsc_site_io *io = r->pub.io;
    uint64_t last_report = 0;
    report(r, false);
    for (;;) {
        /* fill the window */
        while (!r->stop && !r->fatal && r->nactive < r->pub.o.concurrency && r->next < r->n) {
            site_item *it = &r->items[r->next++];
            if (!activate(r, it))
                continue;
            if (drive(r, it))
                r->active[r->nactive++] = it;
            else
                item_release(it);
        }
        if (r->fatal)
            return r->fatal;
        if (r->nactive == 0 && (r->next >= r->n || r->stop))
            return BACSC_OK;
        uint64_t now = io->now(io->user);
        if (now - last_report >= r->pub.o.progress_interval_us) {
            report(r, false);
            last_report = now;
        }
        uint64_t exp = bacsc_client_expiry(io->client);
        uint64_t wait = exp == UINT64_MAX ? 100000 : exp > now ? exp - now : 0;
        if (wait > 100000)
            wait = 100000;
        int rc = io->poll(io->user, wait);
        if (rc != BACSC_OK)
            return rc;
        bacsc_client_handle_expiry(io->client, io->now(io->user));
        if ((rc = collect_results(r)) != BACSC_OK || (rc = poll_refinds(r)) != BACSC_OK)
            return rc;
        if (r->stop && r->nactive)
            return BACSC_OK; /* stop_after_steps: abandon in-flight requests like a kill */
    }
}

/* Record the job's final state. */
static int finish(run *r, bacsc_site_summary *sum)
{
    bacsc_site *s = r->pub.s;
    bacsc_site_job j;
    int rc = bacsc_site_job_get(s, r->pub.job.id, &j);
    if (rc != BACSC_OK)
        return rc;
    int state = j.failed == 0                   ? BACSC_SITE_JOB_DONE
                : j.done == 0 && j.skipped == 0 ? BACSC_SITE_JOB_FAILED
                                                : BACSC_SITE_JOB_PARTIAL;
    rc = site_job_finish(s, j.id, state);
    if (sum) {
        sum->total = j.total;
        sum->done = j.done;
        sum->failed = j.failed;
        sum->skipped = j.skipped;
        sum->state = state;
    }
    return rc;
}

/* Requests still in flight point at our items: let them complete (their
 * results are not committed — as if the tool had been killed) before the
 * items go away. Should the network fail meanwhile, false: the items are
 * leaked rather than left to a later completion callback. */
static bool drain(run *r)
{
    const bacsc_site_io *io = r->pub.io;
    for (;;) {
        bool busy = false;
        for (size_t i = 0; i < r->nactive; i++)
            if (r->active[i]->busy && !r->active[i]->completed)
                busy = true;
        if (!busy)
            return true;
        if (io->poll(io->user, 100000) != BACSC_OK)
            return false;
        bacsc_client_handle_expiry(io->client, io->now(io->user));
    }
}

static void run_opts(run *r, const bacsc_site_run_opts *opts)
{
    bacsc_site_run_opts *o = &r->pub.o;
    if (opts)
        *o = *opts;
    if (!o->concurrency)
        o->concurrency = BACSC_SITE_CONCURRENCY_DEFAULT;
    if (o->concurrency > BACSC_SITE_CONCURRENCY_MAX)
        o->concurrency = BACSC_SITE_CONCURRENCY_MAX;
    if (!o->chunk || o->chunk > 1200)
        o->chunk = 1024;
    if (!o->progress_interval_us)
        o->progress_interval_us = 200000;
}

int bacsc_site_job_run(bacsc_site *s, int64_t job_id, const bacsc_site_io *io,
                       const bacsc_site_run_opts *opts, bacsc_site_summary *sum)
{
    if (!s || !io || !io->client || !io->poll || !io->now)
        return BACSC_ERR_INVALID_ARG;
    run r;
    memset(&r, 0, sizeof r);
    r.pub.s = s;
    r.pub.io = io;
    run_opts(&r, opts);
    int rc = bacsc_site_job_get(s, job_id, &r.pub.job);
    if (rc != BACSC_OK)
        return rc;
    if (!(r.pub.wf = site_workflow_of(r.pub.job.kind)))
        return site_fail(s, BACSC_ERR_STATE, "job %lld: unknown kind %d", (long long)job_id,
                         r.pub.job.kind);
    rc = bacsc_site_settings_get(s, &r.pub.st);
    if (rc != BACSC_OK && !r.pub.wf->without_settings)
        return rc;
    if (r.pub.wf->begin)
        r.pub.wf->begin(&r.pub);
    if ((rc = load_items(&r)) != BACSC_OK)
        goto out;
    if (!(r.active = calloc(r.pub.o.concurrency, sizeof *r.active))) {
        rc = BACSC_ERR_NOMEM;
        goto out;
    }
    rc = run_loop(&r);
    if (rc == BACSC_OK && r.stop)
        rc = BACSC_ERR_AGAIN;
    else if (rc == BACSC_OK)
        rc = finish(&r, sum);
    report(&r, true);
out:
    if (!drain(&r)) {
        bacsc_site_settings_clear(&r.pub.st);
        return rc != BACSC_OK ? rc : BACSC_ERR_IO;
    }
    for (size_t i = 0; i < r.nactive; i++)
        item_release(r.active[i]);
    for (size_t i = 0; i < r.n; i++)
        free(r.items[i].data);
    free(r.items);
    free(r.active);
    bacsc_site_settings_clear(&r.pub.st);
    return rc;
}
