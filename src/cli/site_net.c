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

#include "bacsc/bip_link.h"
#include "bacsc/client.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/loop.h"
#include "bacsc/pki.h"
#include "bacsc/sc_node.h"
#include "bacsc/site.h"
#include "bacsc/tls.h"
#include "cli.h"
#include "cli_opt.h"
#include "sc_cli.h"
#include "site_cli.h"
#include "site_revoke.h"


/* ---- the network ------------------------------------------------------------------ */


static void net_sc_npdu(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                        uint64_t now)
{
    net *n = user;
    bacsc_client_handle_npdu(n->cl, src, npdu, len, now);
}

static void net_recv(void *user, bacsc_bip_link *link, const bacsc_address *src,
                     const uint8_t *npdu, size_t len, bool broadcast, uint64_t now)
{
    (void)link;
    (void)broadcast;
    net *n = user;
    bacsc_client_handle_npdu(n->cl, src, npdu, len, now);
}

static int net_poll(void *user, uint64_t timeout_us)
{
    net *n = user;
    return bacsc_loop_run_once(n->loop, timeout_us);
}

static uint64_t net_now(void *user)
{
    return bacsc_loop_update_time(((net *)user)->loop);
}

void site_net_close(net *n)
{
    bacsc_client_free(n->cl);
    if (n->node) {
        /* a clean Disconnect-Request, waited for at most a second */
        bacsc_sc_node_stop(n->node);
        uint64_t end = bacsc_loop_update_time(n->loop) + 1000000;
        while (!bacsc_sc_node_idle(n->node) && bacsc_loop_update_time(n->loop) < end)
            bacsc_loop_run_once(n->loop, 50000);
        bacsc_sc_node_free(n->node);
    }
    bacsc_tls_ctx_free(n->tls);
    bacsc_bip_link_free(n->link);
    bacsc_loop_free(n->loop);
    memset(n, 0, sizeof *n);
}

/* Join the BACnet/SC network as a node with the tool's certificate; wait
 * for the hub connection (timeout: 10 s). Returns -1 or an exit code. */
static int net_open_sc(const opts *o, net *n)
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
    int ex = -1;
    if (sc_check_node_opts(o->prog, &so) != 0) {
        ex = EXIT_USAGE;
        goto out;
    }
    if (!(n->tls = sc_tls_ctx(o->prog, &so, false))) {
        ex = EXIT_DATAERR;
        goto out;
    }
    bacsc_sc_node_config nc;
    memset(&nc, 0, sizeof nc);
    nc.name = "site tool";
    nc.primary_uri = o->hub;
    nc.failover_uri = o->sc_failover;
    nc.tls = n->tls;
    if (sc_cert_uuid(o->cert, &nc.uuid) != 0)
        sc_random_uuid(&nc.uuid);
    bacsc_sc_node_callbacks cb = {.npdu = net_sc_npdu, .user = n};
    char err[256];
    if (bacsc_sc_node_new(n->loop, &nc, &cb, &n->node, err, sizeof err) != BACSC_OK) {
        cli_error(o->prog, "%s", err);
        ex = EXIT_USAGE;
        goto out;
    }
    bacsc_sc_node_start(n->node);
    uint64_t end = bacsc_loop_update_time(n->loop) + 10000000;
    char why[512];
    bool refused = false;
    while (bacsc_sc_node_state(n->node) == 0 && bacsc_loop_update_time(n->loop) < end &&
           !(refused = sc_hub_refused_for_good(n->node, o->hub, o->sc_failover, o->cert, why,
                                               sizeof why)))
        bacsc_loop_run_once(n->loop, 50000);
    if (refused) {
        cli_error(o->prog, "%s", why);
        ex = EXIT_UNAVAILABLE;
    } else if (bacsc_sc_node_state(n->node) == 0) {
        cli_error(o->prog, "could not join the BACnet/SC network through %s", o->hub);
        ex = EXIT_UNAVAILABLE;
    }
out:
    sc_opts_free(&so);
    return ex;
}

/* `discover`: bind 47808 by default — devices answer Who-Is with a
 * broadcast I-Am to that port. Job commands use an ephemeral port. */
int site_net_open(const opts *o, net *n, bool discover)
{
    memset(n, 0, sizeof *n);
    bacsc_bip_link_config lc;
    memset(&lc, 0, sizeof lc);
    if (!o->bip_local && discover)
        lc.bind.port = 47808;
    lc.broadcast.port = 47808;
    if (o->bip_local && bacsc_bip_addr_parse(o->bip_local, 0, &lc.bind) != BACSC_OK) {
        cli_error(o->prog, "bad --bip-local '%s' (A.B.C.D:PORT)", o->bip_local);
        return EXIT_USAGE;
    }
    if (o->broadcast && bacsc_bip_addr_parse(o->broadcast, 47808, &lc.broadcast) != BACSC_OK) {
        cli_error(o->prog, "bad --broadcast '%s' (A.B.C.D:PORT)", o->broadcast);
        return EXIT_USAGE;
    }
    lc.broadcast_port_count = o->broadcast_count;
    lc.recv = net_recv;
    lc.user = n;
    if (o->hub && (o->bip_local || o->broadcast)) {
        cli_error(o->prog, "--hub (BACnet/SC) and --bip-local/--broadcast (BACnet/IP) exclude "
                           "each other");
        return EXIT_USAGE;
    }
    n->loop = bacsc_loop_new();
    if (!n->loop) {
        cli_error(o->prog, "cannot create the event loop: %s", strerror(errno));
        return EXIT_FAIL;
    }
    int rc;
    bacsc_client_config cc;
    memset(&cc, 0, sizeof cc);
    if (o->hub) {
        int ex = net_open_sc(o, n);
        if (ex >= 0) {
            site_net_close(n);
            return ex;
        }
        cc.link = bacsc_sc_node_datalink(n->node);
        n->io.datalink = BACSC_DATALINK_SC;
    } else {
        rc = bacsc_bip_link_new(n->loop, &lc, &n->link);
        if (rc != BACSC_OK) {
            cli_error(o->prog, "cannot open the BACnet/IP socket on %s: %s (choose one with "
                               "--bip-local ADDR:PORT)",
                      o->bip_local ? o->bip_local : discover ? "0.0.0.0:47808" : "0.0.0.0:0",
                      strerror(errno));
            site_net_close(n);
            return EXIT_UNAVAILABLE;
        }
        cc.link = bacsc_bip_link_datalink(n->link);
        n->io.datalink = BACSC_DATALINK_BIP;
    }
    cc.apdu_timeout_us = (uint64_t)(o->timeout_ms ? o->timeout_ms : 3000) * 1000u;
    cc.retries = o->retries;
    cc.retries_set = o->retries_set;
    cc.max_pending = BACSC_CLIENT_MAX_PENDING_LIMIT;
    cc.max_devices = 100000;
    if ((rc = bacsc_client_new(&cc, &n->cl)) != BACSC_OK) {
        cli_error(o->prog, "cannot create the BACnet client: %s", bacsc_strerror(rc));
        site_net_close(n);
        return EXIT_FAIL;
    }
    n->io.client = n->cl;
    n->io.poll = net_poll;
    n->io.now = net_now;
    n->io.user = n;
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

/* Run a job and print its per-device result. Returns the exit code. */

/* Run a job and print its per-device result (with --json and `jout`, the
 * JSON object is handed back instead of printed). Returns the exit code. */
int site_run_and_report(bacsc_site *s, const opts *o, net *n, int64_t job, json_t **jout)
{
    progress_ctx pc = {.tty = isatty(2) == 1, .quiet = o->quiet || o->json};
    bacsc_site_run_opts ro = {.concurrency = o->concurrency, .password = o->password,
                              .progress = show_progress, .progress_user = &pc,
                              .progress_interval_us = pc.tty ? 200000 : 1000000};
    bacsc_site_summary sum;
    memset(&sum, 0, sizeof sum);
    int rc = bacsc_site_job_run(s, job, &n->io, &ro, &sum);
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

