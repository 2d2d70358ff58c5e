/*
 * site_net.c — the network side of `bacsc site`: BACnet/IP (bip_link.h) or
 * BACnet/SC (a node with the tool's certificate) under the job engine's I/O
 * interface, progress lines while a job runs, and the per-device results
 * (see site_cli.h).
 */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bacsc/error.h"
#include "bacsc/site.h"
#include "bacsc/site_net.h"
#include "cli.h"
#include "cli_opt.h"
#include "sc_cli.h"
#include "site_cli.h"
#include "site_revoke.h"


/* ---- the network ------------------------------------------------------------------ */

/* The tool's BACnet/SC identity (--hub, --cert, --key, --ca): the TLS
 * context and the Device UUID of its certificate. Returns -1 or an exit
 * code (message printed). */
static int net_sc_identity(const opts *o, bacsc_site_net_config *nc)
{
    sc_opts so;
    sc_opts_init(&so);
    so.hub = o->hub;
    so.failover = o->sc_failover;
    so.cert = o->cert;
    so.key = o->key;
    for (int i = 0; i < o->nsc_ca; i++)
        so.ca[i] = o->sc_ca[i];
    so.nca = o->nsc_ca;
    int rc = sc_node_identity(o->prog, &so, &nc->tls, &nc->uuid);
    sc_opts_free(&so);
    return rc == 0 ? -1 : rc == SC_IDENTITY_OPTIONS ? EXIT_USAGE : EXIT_DATAERR;
}

/* `discover`: bind 47808 by default — devices answer Who-Is with a
 * broadcast I-Am to that port. Job commands use an ephemeral port. Over
 * BACnet/SC, wait for the hub connection (timeout: 10 s). */
int site_net_open(const opts *o, bool discover, bacsc_site_net **out)
{
    *out = NULL;
    bacsc_site_net_config nc = {.bip_local = o->bip_local, .bind_bacnet_port = discover,
                                .broadcast = o->broadcast, .broadcast_count = o->broadcast_count,
                                .hub = o->hub, .failover = o->sc_failover,
                                .node_name = "site tool", .timeout_ms = o->timeout_ms,
                                .retries = o->retries, .retries_set = o->retries_set};
    char err[512];
    if (bacsc_site_net_check(&nc, err, sizeof err) != BACSC_OK) {
        cli_error(o->prog, "%s", err);
        return EXIT_USAGE;
    }
    int ex;
    if (o->hub && (ex = net_sc_identity(o, &nc)) >= 0)
        return ex;
    int rc = bacsc_site_net_open(&nc, out, err, sizeof err);
    if (rc == BACSC_ERR_IO) {
        cli_error(o->prog, "%s (choose one with --bip-local ADDR:PORT)", err);
        return EXIT_UNAVAILABLE;
    }
    if (rc != BACSC_OK) {
        cli_error(o->prog, "%s", err);
        return rc == BACSC_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FAIL;
    }
    if (!bacsc_site_net_wait_sc(*out, 10000000)) {
        if (bacsc_site_net_sc_refused(*out, err, sizeof err)) /* final: said at once */
            cli_error(o->prog, "%s", err);
        else
            cli_error(o->prog, "could not join the BACnet/SC network through %s", o->hub);
        bacsc_site_net_close(*out);
        *out = NULL;
        return EXIT_UNAVAILABLE;
    }
    return -1;
}

/* ---- progress ------------------------------------------------------------------------ */

typedef struct progress_ctx {
    bool tty, quiet;
    uint64_t last;
    bool printed;
} progress_ctx;

static void show_progress(void *user, const bacsc_site_progress *p)
{
    progress_ctx *c = user;
    if (c->quiet)
        return;
    const char *kind = bacsc_site_job_kind_name(p->kind);
    unsigned finished = p->done + p->failed + p->skipped;
    if (c->tty) {
        fprintf(stderr, "\r%s job %lld: %u/%u finished (%u done, %u failed, %u no action), "
                        "%u running   ",
                kind, (long long)p->job, finished, p->total, p->done, p->failed, p->skipped,
                p->running);
        if (p->final)
            fputc('\n', stderr);
        fflush(stderr);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    if (!p->final && c->printed && now - c->last < 2000000)
        return;
    c->last = now;
    c->printed = true;
    fprintf(stderr, "bacsc site: %s job %lld: %u/%u finished (%u done, %u failed, %u no action)%s\n",
            kind, (long long)p->job, finished, p->total, p->done, p->failed, p->skipped,
            p->final ? "" : ", running");
}

/* Run a job and print its per-device result (with --json and `jout`, the
 * JSON object is handed back instead of printed). Returns the exit code. */
int site_run_and_report(bacsc_site *s, const opts *o, bacsc_site_net *n, int64_t job,
                        json_t **jout)
{
    progress_ctx pc = {.tty = isatty(2) == 1, .quiet = o->quiet || o->json};
    bacsc_site_run_opts ro = {.concurrency = o->concurrency, .password = o->password,
                              .progress = show_progress, .progress_user = &pc,
                              .progress_interval_us = pc.tty ? 200000 : 1000000};
    bacsc_site_summary sum;
    memset(&sum, 0, sizeof sum);
    int rc = bacsc_site_job_run(s, job, bacsc_site_net_io(n), &ro, &sum);
    if (rc != BACSC_OK) {
        cli_error(o->prog, "job %lld stopped: %s", (long long)job,
                  rc == BACSC_ERR_DB ? bacsc_site_errmsg(s) : bacsc_strerror(rc));
        return EXIT_FAIL;
    }
    site_print_items(s, o, job, !o->json, jout);
    if (!o->json)
        printf("job %lld %s: %u devices, %u done, %u failed, %u no action taken\n",
               (long long)job, bacsc_site_job_state_name(sum.state), sum.total, sum.done,
               sum.failed, sum.skipped);
    switch (sum.state) {
    case BACSC_SITE_JOB_DONE: return EXIT_OK;
    case BACSC_SITE_JOB_PARTIAL: return EXIT_PARTIAL;
    default: return EXIT_FAIL;
    }
}

void site_note_resumed(bacsc_site *s, const opts *o, int64_t job)
{
    if (bacsc_site_prepared_resumed(s) && !o->quiet && !o->json)
        fprintf(stderr, "bacsc site: resuming %s job %lld left unfinished\n",
                o->prog + 5, (long long)job);
}

/* ---- items / jobs printing ------------------------------------------------------------- */

typedef struct item_print {
    bool json, only_problems;
    json_t *arr;
} item_print;

static int print_item(void *user, const bacsc_site_item *it)
{
    item_print *p = user;
    if (p->json) {
        json_array_append_new(
            p->arr, json_pack("{s:I,s:s,s:s,s:s,s:I,s:I}", "device", (json_int_t)it->instance,
                              "status", bacsc_site_item_status_name(it->status), "step",
                              it->step_name, "error", it->error, "attempts",
                              (json_int_t)it->attempts, "updated", (json_int_t)it->updated));
        return 0;
    }
    if (p->only_problems && it->status == BACSC_SITE_ITEM_DONE)
        return 0;
    printf("  device %-8u %-8s step %-22s attempts %u%s%s\n", (unsigned)it->instance,
           bacsc_site_item_status_name(it->status), it->step_name, it->attempts,
           it->error[0] ? "  " : "", it->error);
    return 0;
}

int site_print_items(bacsc_site *s, const opts *o, int64_t job, bool only_problems,
                          json_t **jout)
{
    item_print p = {.json = o->json, .only_problems = only_problems,
                    .arr = o->json ? json_array() : NULL};
    int rc = bacsc_site_job_items(s, job, print_item, &p);
    if (o->json) {
        bacsc_site_job j;
        if (bacsc_site_job_get(s, job, &j) == BACSC_OK) {
            json_t *obj = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:o}", "job", (json_int_t)j.id,
                                    "kind", bacsc_site_job_kind_name(j.kind), "state",
                                    bacsc_site_job_state_name(j.state), "total",
                                    (json_int_t)j.total, "done", (json_int_t)j.done, "failed",
                                    (json_int_t)j.failed, "no_action", (json_int_t)j.skipped,
                                    "devices", p.arr);
            if (jout)
                *jout = obj;
            else
                cli_print_json(obj);
        } else {
            json_decref(p.arr);
        }
    }
    return rc;
}

