/*
 * cert_expiry.c — daily warnings before the own certificate or its issuer
 * expires (cert_expiry.h).
 */
#include "cert_expiry.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bacsc/log.h"
#include "hub_metrics.h"

/* ---- what the start-up check found, per file (this process) -------------------- */

#define STARTUP_FILES 8

static struct startup_file {
    char *file;
    int64_t not_after;
    bool warned;
} startup[STARTUP_FILES];
static size_t nstartup;
static bool watching;

void cert_expiry_watch(void)
{
    watching = true;
}

static struct startup_file *startup_find(const char *file, bool add)
{
    for (size_t i = 0; file && i < nstartup; i++)
        if (strcmp(startup[i].file, file) == 0)
            return &startup[i];
    if (!file || !add || nstartup == STARTUP_FILES || !(startup[nstartup].file = strdup(file)))
        return NULL;
    return &startup[nstartup++];
}

void cert_expiry_startup(const char *prog, const char *file, int64_t not_after, const char *warn)
{
    struct startup_file *f = startup_find(file, true);
    if (f)
        f->not_after = not_after;
    if (!warn || !warn[0] || watching || (f && f->warned))
        return;
    BACSC_WARN("%s: %s", prog, warn);
    if (f)
        f->warned = true;
}

/* notAfter of `file`: the start-up check's on the first load, else read. */
static int64_t not_after(const char *file, bool first)
{
    struct startup_file *f = first ? startup_find(file, false) : NULL;
    return f ? f->not_after : hub_metrics_cert_not_after(file);
}

void cert_expiry_load(cert_expiry *e, const char *who, const char *cert_file,
                      const char *issuer_file)
{
    e->who = who;
    e->cert_file = cert_file;
    e->issuer_file = issuer_file;
    int64_t c = not_after(cert_file, !e->loaded);
    int64_t i = not_after(issuer_file, !e->loaded);
    e->loaded = true;
    if (c != e->cert_not_after || i != e->issuer_not_after)
        e->logged = 0; /* other files: say it again at once */
    e->cert_not_after = c;
    e->issuer_not_after = i;
}

/* The earlier known notAfter and which file it belongs to. */
static int64_t first_end(const cert_expiry *e, const char **what, const char **file)
{
    bool issuer = e->issuer_not_after &&
                  (!e->cert_not_after || e->issuer_not_after < e->cert_not_after);
    *what = issuer ? "issuer certificate" : "certificate";
    *file = issuer ? e->issuer_file : e->cert_file;
    return issuer ? e->issuer_not_after : e->cert_not_after;
}

bool cert_expiry_check(cert_expiry *e, int64_t now)
{
    const char *what, *file;
    int64_t end = first_end(e, &what, &file);
    if (!end || end - now > (int64_t)CERT_EXPIRY_WARN_DAYS * 86400)
        return false;
    if (e->logged && now - e->logged < 86400)
        return true;
    char when[32];
    struct tm tm;
    time_t tt = (time_t)end;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
    if (now >= end)
        BACSC_ERROR("%s: the %s %s expired %s: peers refuse it; renew it and reload (SIGHUP)",
                    e->who, what, file, when);
    else
        BACSC_WARN("%s: the %s %s expires %s (in %lld days): renew it before then", e->who,
                   what, file, when, (long long)((end - now) / 86400));
    e->logged = now;
    return true;
}

json_t *cert_expiry_json(const cert_expiry *e, int64_t now)
{
    const char *what, *file;
    int64_t end = first_end(e, &what, &file);
    if (!end)
        return NULL;
    json_t *o = json_object();
    if (e->cert_not_after)
        json_object_set_new(o, "not_after", json_integer(e->cert_not_after));
    if (e->issuer_not_after)
        json_object_set_new(o, "issuer_not_after", json_integer(e->issuer_not_after));
    int64_t left = end - now;
    json_object_set_new(o, "days_left", json_integer(left < 0 ? 0 : left / 86400));
    json_object_set_new(o, "expiring",
                        json_boolean(left <= (int64_t)CERT_EXPIRY_WARN_DAYS * 86400));
    json_object_set_new(o, "expired", json_boolean(left <= 0));
    return o;
}
