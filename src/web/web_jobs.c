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

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/loop.h"
#include "bacsc/pki.h"
#include "bacsc/site_net.h"
#include "bacsc/tls.h"
#include "bacsc/uuid.h"
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
    bacsc_site_net *net; /* the worker's network */
};

/* ---- network ----------------------------------------------------------------------------- */

static bool net_stopping(void *user)
{
    web_jobs *w = user;
    pthread_mutex_lock(&w->mu);
    bool stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    return stop;
}

/* The console's own BACnet/SC identity (--hub, --sc-cert, --sc-key,
 * --sc-ca): the files checked as every node's are at start-up, the TLS
 * context, and the Device UUID of the certificate (a random one when it
 * names none). Returns BACSC_OK or BACSC_ERR_INVALID_ARG with one line. */
static int sc_identity(const web_config *c, bacsc_site_net_config *nc, char *err, size_t errlen)
{
    static const char what[] = "the BACnet/SC identity for site jobs";
    const char *uris[2] = {c->hub, c->failover};
    for (int i = 0; i < 2; i++)
        if (uris[i] && strncmp(uris[i], "wss://", 6) != 0) {
            snprintf(err, errlen, "%s: %s is not a wss:// URI", what, uris[i]);
            return BACSC_ERR_INVALID_ARG;
        }
    if (!c->sc_cert || !c->sc_key || c->n_sc_ca < 1) {
        snprintf(err, errlen, "%s is incomplete: give --sc-cert, --sc-key and --sc-ca with --hub",
                 what);
        return BACSC_ERR_INVALID_ARG;
    }
    bacsc_tls_config tc;
    memset(&tc, 0, sizeof tc);
    tc.cert_file = c->sc_cert;
    tc.key_file = c->sc_key;
    for (int i = 0; i < c->n_sc_ca && i < BACSC_TLS_MAX_ISSUERS; i++)
        tc.issuer_files[i] = c->sc_ca[i];
    char why[512];
    if (bacsc_pki_check_node_files(tc.cert_file, tc.key_file, tc.issuer_files,
                                   (size_t)c->n_sc_ca, time(NULL), NULL, why, sizeof why, NULL,
                                   0) != BACSC_OK ||
        !(nc->tls = bacsc_tls_ctx_new(&tc, false, why, sizeof why))) {
        snprintf(err, errlen, "%s: %s", what, why);
        return BACSC_ERR_INVALID_ARG;
    }
    X509 *x = NULL;
    bacsc_cert_info info;
    bool found = bacsc_pki_cert_read(tc.cert_file, &x) == BACSC_OK &&
                 bacsc_pki_cert_inspect(x, &info) == BACSC_OK && info.device_uuid[0] &&
                 bacsc_uuid_parse(info.device_uuid, &nc->uuid) == BACSC_OK;
    X509_free(x);
    if (!found) {
        bacsc_io_random(NULL, nc->uuid.b, sizeof nc->uuid.b);
        nc->uuid.b[6] = (uint8_t)((nc->uuid.b[6] & 0x0F) | 0x40); /* RFC 4122 version 4 */
        nc->uuid.b[8] = (uint8_t)((nc->uuid.b[8] & 0x3F) | 0x80);
    }
    return BACSC_OK;
}

/* The worker's network (bacsc/site_net.h): BACnet/IP, or BACnet/SC as a
 * node with the console's own identity (--hub, --sc-cert, --sc-key,
 * --sc-ca). The hub connector keeps trying in the background; each job
 * waits for it (run_one). A stopping console stops the running job. */
static int net_open(web_app *app, web_jobs *w, char *err, size_t errlen)
{
    const web_config *c = &app->cfg;
    bacsc_site_net_config nc = {.bip_local = c->bip_local, .broadcast = c->broadcast,
                                .hub = c->hub, .failover = c->failover,
                                .node_name = "web console", .timeout_ms = c->bip_timeout_ms,
                                .retries = c->bip_retries, .retries_set = c->bip_retries > 0,
                                .stop = net_stopping, .stop_user = w};
    int rc = bacsc_site_net_check(&nc, err, errlen);
    if (rc != BACSC_OK)
        return rc;
    if (c->hub && (rc = sc_identity(c, &nc, err, errlen)) != BACSC_OK)
        return rc;
    return bacsc_site_net_open(&nc, &w->net, err, errlen);
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
    /* before a job over BACnet/SC: wait (at most 10 s) for the hub */
    if (!bacsc_site_net_wait_sc(w->net, 10000000))
        BACSC_WARN("web: not connected to the BACnet/SC hub %s yet", "(site jobs will time out)");
    int rc = bacsc_site_job_run(site, job, bacsc_site_net_io(w->net), &ro, &sum);
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
    bacsc_site_net_close(w->net);
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
