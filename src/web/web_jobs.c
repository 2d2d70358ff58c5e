/*
 * web_jobs.c — the site job worker of the console and the live progress
 * stream (Server-Sent Events) the Jobs page listens to.
 *
 * One worker thread runs the queued jobs one after the other with its own
 * site database handle and its own BACnet/IP socket, event loop and client
 * (the same engine as `bacsc site`, bacsc_site_job_run()). Each step is
 * committed by the engine, so the API threads read progress from the
 * database; the worker's progress callback only wakes the streams up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "bacsc/bip_link.h"
#include "bacsc/client.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/loop.h"
#include "bacsc/sc_node.h"
#include "bacsc/tls.h"
#include "cli/sc_cli.h"
#include "web/web.h"

#define QUEUE_MAX 256

struct web_jobs {
    pthread_t thread;
    bool started, stop;
    bool closing; /* the HTTP server is stopping: end the event streams */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t queue[QUEUE_MAX];
    size_t qhead, qlen;
    int64_t current;
    bacsc_site_progress prog;
    uint64_t version; /* bumped on every change */
    /* the worker's network */
    bacsc_loop *loop;
    bacsc_bip_link *link;
    bacsc_tls_ctx *tls;
    bacsc_sc_node *node;
    bacsc_client *cl;
    bacsc_site_io io;
};

/* ---- network ----------------------------------------------------------------------------- */

static void net_recv(void *user, bacsc_bip_link *link, const bacsc_address *src,
                     const uint8_t *npdu, size_t len, bool broadcast, uint64_t now)
{
    (void)link;
    (void)broadcast;
    web_jobs *w = user;
    bacsc_client_handle_npdu(w->cl, src, npdu, len, now);
}

static int net_poll(void *user, uint64_t timeout_us)
{
    web_jobs *w = user;
    pthread_mutex_lock(&w->mu);
    bool stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    /* stopping: the engine returns, the job stays RUNNING (each step is
     * committed) and is resumed when the console starts again */
    if (stop)
        return BACSC_ERR_AGAIN;
    return bacsc_loop_run_once(w->loop, timeout_us);
}

static uint64_t net_now(void *user)
{
    return bacsc_loop_update_time(((web_jobs *)user)->loop);
}

static void net_sc_npdu(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                        uint64_t now)
{
    web_jobs *w = user;
    bacsc_client_handle_npdu(w->cl, src, npdu, len, now);
}

static void net_close(web_jobs *w)
{
    bacsc_client_free(w->cl);
    if (w->node) {
        /* a clean Disconnect-Request, waited for at most a second */
        bacsc_sc_node_stop(w->node);
        uint64_t end = bacsc_loop_update_time(w->loop) + 1000000;
        while (!bacsc_sc_node_idle(w->node) && bacsc_loop_update_time(w->loop) < end)
            bacsc_loop_run_once(w->loop, 50000);
        bacsc_sc_node_free(w->node);
    }
    bacsc_tls_ctx_free(w->tls);
    bacsc_bip_link_free(w->link);
    bacsc_loop_free(w->loop);
    w->cl = NULL;
    w->node = NULL;
    w->tls = NULL;
    w->link = NULL;
    w->loop = NULL;
}

/* Join the BACnet/SC network as a node with the console's own identity
 * (--hub, --sc-cert, --sc-key, --sc-ca). The hub connector keeps trying
 * in the background; each job waits for it (net_wait_sc). */
static int net_open_sc(web_app *app, web_jobs *w, char *err, size_t errlen)
{
    const web_config *c = &app->cfg;
    sc_opts so;
    sc_opts_init(&so);
    so.hub = c->hub;
    so.failover = c->failover;
    so.cert = c->sc_cert;
    so.key = c->sc_key;
    for (int i = 0; i < c->n_sc_ca; i++)
        so.ca[i] = c->sc_ca[i];
    so.nca = c->n_sc_ca;
    int rc = BACSC_ERR_INVALID_ARG;
    if (sc_check_node_opts("web", &so) != 0 || !(w->tls = sc_tls_ctx("web", &so, false))) {
        snprintf(err, errlen, "the BACnet/SC identity for site jobs is incomplete or unreadable "
                              "(--hub, --sc-cert, --sc-key, --sc-ca)");
        goto out;
    }
    bacsc_sc_node_config nc;
    memset(&nc, 0, sizeof nc);
    nc.name = "web console";
    nc.primary_uri = c->hub;
    nc.failover_uri = c->failover;
    nc.tls = w->tls;
    if (sc_cert_uuid(c->sc_cert, &nc.uuid) != 0)
        sc_random_uuid(&nc.uuid);
    bacsc_sc_node_callbacks cb = {.npdu = net_sc_npdu, .user = w};
    if ((rc = bacsc_sc_node_new(w->loop, &nc, &cb, &w->node, err, errlen)) != BACSC_OK)
        goto out;
    bacsc_sc_node_start(w->node);
    rc = BACSC_OK;
out:
    sc_opts_free(&so);
    return rc;
}

/* Before a job over BACnet/SC: wait (at most 10 s) for the hub connection. */
static void net_wait_sc(web_jobs *w)
{
    if (!w->node)
        return;
    uint64_t end = bacsc_loop_update_time(w->loop) + 10000000;
    while (bacsc_sc_node_state(w->node) == 0 && bacsc_loop_update_time(w->loop) < end)
        bacsc_loop_run_once(w->loop, 50000);
    if (bacsc_sc_node_state(w->node) == 0)
        BACSC_WARN("web: not connected to the BACnet/SC hub %s yet", "(site jobs will time out)");
}

static int net_open(web_app *app, web_jobs *w, char *err, size_t errlen)
{
    const web_config *c = &app->cfg;
    bacsc_bip_link_config lc;
    memset(&lc, 0, sizeof lc);
    lc.broadcast.port = 47808;
    if (c->bip_local && bacsc_bip_addr_parse(c->bip_local, 0, &lc.bind) != BACSC_OK) {
        snprintf(err, errlen, "bad --bip-local '%s' (A.B.C.D:PORT)", c->bip_local);
        return BACSC_ERR_INVALID_ARG;
    }
    if (c->broadcast && bacsc_bip_addr_parse(c->broadcast, 47808, &lc.broadcast) != BACSC_OK) {
        snprintf(err, errlen, "bad --broadcast '%s' (A.B.C.D:PORT)", c->broadcast);
        return BACSC_ERR_INVALID_ARG;
    }
    lc.recv = net_recv;
    lc.user = w;
    if (c->hub && (c->bip_local || c->broadcast)) {
        snprintf(err, errlen, "--hub (BACnet/SC) and --bip-local/--broadcast (BACnet/IP) "
                              "exclude each other");
        return BACSC_ERR_INVALID_ARG;
    }
    if (!(w->loop = bacsc_loop_new())) {
        snprintf(err, errlen, "cannot create the event loop");
        return BACSC_ERR_NOMEM;
    }
    int rc;
    bacsc_client_config cc;
    memset(&cc, 0, sizeof cc);
    if (c->hub) {
        if ((rc = net_open_sc(app, w, err, errlen)) != BACSC_OK) {
            net_close(w);
            return rc;
        }
        cc.link = bacsc_sc_node_datalink(w->node);
    } else {
        if ((rc = bacsc_bip_link_new(w->loop, &lc, &w->link)) != BACSC_OK) {
            snprintf(err, errlen, "cannot open the BACnet/IP socket on %s: %s",
                     c->bip_local ? c->bip_local : "0.0.0.0:0", strerror(errno));
            net_close(w);
            return rc;
        }
        cc.link = bacsc_bip_link_datalink(w->link);
    }
    cc.apdu_timeout_us = (uint64_t)(c->bip_timeout_ms ? c->bip_timeout_ms : 3000) * 1000u;
    cc.retries = c->bip_retries;
    cc.retries_set = c->bip_retries > 0;
    cc.max_pending = BACSC_CLIENT_MAX_PENDING_LIMIT;
    cc.max_devices = 100000;
    if ((rc = bacsc_client_new(&cc, &w->cl)) != BACSC_OK) {
        snprintf(err, errlen, "cannot create the BACnet client: %s", bacsc_strerror(rc));
        net_close(w);
        return rc;
    }
    w->io = (bacsc_site_io){.client = w->cl, .poll = net_poll, .now = net_now, .user = w,
                            .datalink = c->hub ? BACSC_DATALINK_SC : BACSC_DATALINK_BIP};
    return BACSC_OK;
}

/* ---- the worker ------------------------------------------------------------------------------ */

static void on_progress(void *user, const bacsc_site_progress *p)
{
    web_jobs *w = user;
    pthread_mutex_lock(&w->mu);
    w->prog = *p;
    w->version++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void run_one(web_app *app, web_jobs *w, bacsc_site *site, int64_t job)
{
    bacsc_site_run_opts ro = {.concurrency = app->cfg.concurrency,
                              .password = app->cfg.device_password,
                              .progress = on_progress,
                              .progress_user = w,
                              .progress_interval_us = 250000};
    bacsc_site_summary sum;
    memset(&sum, 0, sizeof sum);
    net_wait_sc(w);
    int rc = bacsc_site_job_run(site, job, &w->io, &ro, &sum);
    if (rc != BACSC_OK)
        BACSC_WARN("web: site job %lld stopped: %s", (long long)job,
                   rc == BACSC_ERR_DB ? bacsc_site_errmsg(site) : bacsc_strerror(rc));
    else
        BACSC_INFO("web: site job %lld %s: %u devices, %u done, %u failed", (long long)job,
                   bacsc_site_job_state_name(sum.state), sum.total, sum.done, sum.failed);
}

/* Before the first job: check every device certificate against the site
 * CA once (web_certcache.c), so that the first Devices page of a large site
 * is as fast as the next ones. One device at a time under app->mu. */
typedef struct warm {
    web_app *app;
    bacsc_site_settings st;
    bool have_st;
} warm;

static int warm_one(void *user, const bacsc_site_device *d)
{
    warm *c = user;
    web_cert_facts f;
    web_jobs *w = c->app->jobs;
    pthread_mutex_lock(&c->app->mu);
    web_cert_facts_get(c->app, c->have_st ? &c->st : NULL, d, &f);
    pthread_mutex_lock(&w->mu);
    bool stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_unlock(&c->app->mu);
    return stop;
}

static void warm_cert_cache(web_app *app, bacsc_site *site)
{
    warm c = {.app = app};
    c.have_st = bacsc_site_settings_get(site, &c.st) == BACSC_OK;
    bacsc_site_devices(site, warm_one, &c);
    if (c.have_st)
        bacsc_site_settings_clear(&c.st);
}

static void *worker(void *arg)
{
    web_app *app = arg;
    web_jobs *w = app->jobs;
    bacsc_site *site = NULL;
    char err[256];
    if (bacsc_site_open(app->cfg.site_db, false, &site, err, sizeof err) != BACSC_OK) {
        BACSC_ERROR("web: the job worker cannot open the site database: %s", err);
        return NULL;
    }
    warm_cert_cache(app, site);
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        if (w->qlen == 0) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        int64_t job = w->queue[w->qhead];
        w->qhead = (w->qhead + 1) % QUEUE_MAX;
        w->qlen--;
        w->current = job;
        memset(&w->prog, 0, sizeof w->prog);
        w->prog.job = job;
        w->version++;
        pthread_mutex_unlock(&w->mu);
        run_one(app, w, site, job);
        pthread_mutex_lock(&w->mu);
        w->current = 0;
        w->version++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    bacsc_site_close(site);
    return NULL;
}

static int collect_running(void *user, const bacsc_site_job *j)
{
    web_jobs *w = user;
    if (j->state == BACSC_SITE_JOB_RUNNING && w->qlen < QUEUE_MAX) {
        BACSC_INFO("web: resuming site job %lld left running", (long long)j->id);
        w->queue[w->qlen++] = j->id;
    }
    return 0;
}

int web_jobs_start(web_app *app, char *err, size_t errlen)
{
    web_jobs *w = calloc(1, sizeof *w);
    if (!w)
        return BACSC_ERR_NOMEM;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    app->jobs = w;
    int rc = net_open(app, w, err, errlen);
    if (rc != BACSC_OK)
        return rc;
    /* jobs a killed console left running are resumed first, oldest first */
    bacsc_site_jobs(app->site, collect_running, w);
    for (size_t i = 0; i < w->qlen / 2; i++) {
        int64_t t = w->queue[i];
        w->queue[i] = w->queue[w->qlen - 1 - i];
        w->queue[w->qlen - 1 - i] = t;
    }
    if (pthread_create(&w->thread, NULL, worker, app) != 0) {
        snprintf(err, errlen, "cannot start the job worker: %s", strerror(errno));
        return BACSC_ERR_IO;
    }
    w->started = true;
    return BACSC_OK;
}

void web_jobs_stop(web_app *app)
{
    web_jobs *w = app->jobs;
    if (!w)
        return;
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    net_close(w);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    app->jobs = NULL;
}

int web_jobs_enqueue(web_app *app, int64_t job)
{
    web_jobs *w = app->jobs;
    if (!w)
        return BACSC_ERR_STATE;
    pthread_mutex_lock(&w->mu);
    int rc = BACSC_ERR_LIMIT;
    if (w->qlen < QUEUE_MAX) {
        w->queue[(w->qhead + w->qlen) % QUEUE_MAX] = job;
        w->qlen++;
        w->version++;
        pthread_cond_broadcast(&w->cv);
        rc = BACSC_OK;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void web_jobs_set_closing(web_app *app, bool closing)
{
    web_jobs *w = app->jobs;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->closing = closing;
    w->version++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

uint64_t web_jobs_version(web_app *app)
{
    web_jobs *w = app->jobs;
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    uint64_t v = w->version;
    pthread_mutex_unlock(&w->mu);
    return v;
}

int web_jobs_progress(web_app *app, int64_t job, bacsc_site_progress *p, bool *queued)
{
    web_jobs *w = app->jobs;
    memset(p, 0, sizeof *p);
    *queued = false;
    if (!w)
        return 0;
    int found = 0;
    pthread_mutex_lock(&w->mu);
    if (w->current == job) {
        *p = w->prog;
        found = 1;
    }
    for (size_t i = 0; !found && i < w->qlen; i++)
        if (w->queue[(w->qhead + i) % QUEUE_MAX] == job)
            found = 1, *queued = true;
    pthread_mutex_unlock(&w->mu);
    return found;
}

/* ---- Server-Sent Events ------------------------------------------------------------------------ */

typedef struct sse {
    web_app *app;
    int64_t job;
    uint64_t seen_version;
    char last[512];
    bool finished;
    time_t last_sent;
} sse;

/* The job as one JSON line; *finished when it is over and not queued. */
static int sse_event(sse *s, char *buf, size_t cap, bool *finished)
{
    web_app *app = s->app;
    pthread_mutex_lock(&app->mu);
    bacsc_site_job j;
    int rc = bacsc_site_job_get(app->site, s->job, &j);
    bacsc_site_progress p;
    bool queued = false;
    int live = web_jobs_progress(app, s->job, &p, &queued);
    pthread_mutex_unlock(&app->mu);
    if (rc != BACSC_OK) {
        *finished = true;
        return snprintf(buf, cap, "event: gone\ndata: {}\n\n");
    }
    *finished = !live && j.state != BACSC_SITE_JOB_RUNNING;
    return snprintf(buf, cap,
                    "%sdata: {\"id\":%lld,\"kind\":\"%s\",\"state\":\"%s\",\"total\":%u,"
                    "\"done\":%u,\"failed\":%u,\"skipped\":%u,\"pending\":%u,\"running\":%u,"
                    "\"queued\":%s}\n\n",
                    *finished ? "event: done\n" : "", (long long)j.id,
                    bacsc_site_job_kind_name(j.kind), bacsc_site_job_state_name(j.state),
                    j.total, j.done, j.failed, j.skipped, j.pending, live ? p.running : 0,
                    queued ? "true" : "false");
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse *s = cls;
    if (s->finished)
        return MHD_CONTENT_READER_END_OF_STREAM;
    web_jobs *w = s->app->jobs;
    for (;;) {
        /* wait for a change (or a second, for changes the worker does not
         * report, e.g. a `bacsc site` process working on the same database) */
        pthread_mutex_lock(&w->mu);
        if (w->version == s->seen_version && !w->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        }
        s->seen_version = w->version;
        bool stopping = w->stop || w->closing;
        pthread_mutex_unlock(&w->mu);
        char ev[512];
        bool fin = false;
        int n = sse_event(s, ev, sizeof ev, &fin);
        if (n < 0 || (size_t)n >= sizeof ev || (size_t)n > max)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        time_t now = time(NULL);
        if (fin || stopping || strcmp(ev, s->last) != 0) {
            s->finished = fin || stopping;
            memcpy(s->last, ev, (size_t)n + 1);
            memcpy(buf, ev, (size_t)n);
            s->last_sent = now;
            return n;
        }
        if (now - s->last_sent >= 15) {
            s->last_sent = now;
            memcpy(buf, ": keep-alive\n\n", 14);
            return 14;
        }
    }
}

int web_h_site_job_events(web_req *r)
{
    bacsc_site_job j;
    if (bacsc_site_job_get(r->app->site, r->ids[0], &j) != BACSC_OK)
        return web_reply_error(r, 404, "not-found", "no job %lld", (long long)r->ids[0]);
    if (!r->app->jobs)
        return web_reply_error(r, 409, "state", "no job worker");
    sse *s = calloc(1, sizeof *s);
    if (!s)
        return web_reply_error(r, 500, "internal", "out of memory");
    s->app = r->app;
    s->job = j.id;
    s->seen_version = (uint64_t)-1;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, sse_read, s, free);
    if (!resp) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'");
    r->status = 200;
    int ret = MHD_queue_response(r->conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}
