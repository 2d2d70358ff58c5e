/* sc_cli.c — config/profile files, TLS contexts and status files for the
 * BACnet/SC commands (see sc_cli.h). */
#include "sc_cli.h"

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/pki.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <strings.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/pki.h"
#include "bacsc/bvlc.h"
#include "bacsc/error_code.h"
#include "bacsc/sc_connector.h"
#include "bacsc/sc_hubd.h"
#include "bacsc/sc_node.h"
#include "cert_expiry.h"
#include "cli.h"

void sc_opts_init(sc_opts *o)
{
    memset(o, 0, sizeof *o);
    o->instance = -1;
    o->av = -1;
    o->count = -1;
    o->vendor_id = -1;
    o->max_handshakes = o->max_handshakes_per_address = o->accept_rate_per_address =
        o->accept_burst_per_address = o->control_rate = o->handshake_threads = -1;
}

void sc_opts_free(sc_opts *o)
{
    if (o->root)
        json_decref(o->root);
    o->root = NULL;
}

const char *sc_find_opt(int argc, char **argv, const char *name, const char *env)
{
    size_t nl = strlen(name);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], name) == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], name, nl) == 0 && argv[i][nl] == '=')
            return argv[i] + nl + 1;
    }
    if (env) {
        const char *e = getenv(env);
        if (e && *e)
            return e;
    }
    return NULL;
}

int sc_opts_add_ca(const char *prog, sc_opts *o, const char *path)
{
    if (o->nca >= BACSC_TLS_MAX_ISSUERS) {
        cli_error(prog, "at most %d issuer (--ca) certificates", BACSC_TLS_MAX_ISSUERS);
        return -1;
    }
    o->ca[o->nca++] = path;
    return 0;
}

int sc_parse_seconds(const char *prog, const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* decimal only: not " 1", "+1", "0x10" (strtod takes them) */
    if (!(isdigit((unsigned char)*s) || *s == '.') || strpbrk(s, "xX") || errno || end == s ||
        *end || !(v >= 0) || v > 86400) {
        cli_error(prog, "%s: '%s' is not a number of seconds (0..86400)", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int sc_parse_ulong(const char *prog, const char *opt, const char *s, unsigned long min,
                   unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!isdigit((unsigned char)*s) || errno || end == s || *end || v < min || v > max) {
        cli_error(prog, "%s: '%s' is not a number in %lu..%lu", opt, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- JSON config ----------------------------------------------------------------- */

enum kind { K_STR, K_BOOL, K_SECS, K_UINT, K_LONG, K_CA, K_DCURI };

struct key {
    const char *name;
    enum kind kind;
    size_t off;
    unsigned long max;
};

#define OFF(f) offsetof(sc_opts, f)
static const struct key keys[] = {
    {"hub", K_STR, OFF(hub), 0},
    {"failover", K_STR, OFF(failover), 0},
    {"cert", K_STR, OFF(cert), 0},
    {"key", K_STR, OFF(key), 0},
    {"ca", K_CA, 0, 0},
    {"insecure_plaintext", K_BOOL, OFF(insecure_plaintext), 0},
    {"crl", K_STR, OFF(crl), 0},
    {"ticket_key_file", K_STR, OFF(ticket_key_file), 0},
    {"ticket_lifetime", K_SECS, OFF(ticket_lifetime), 0},
    {"connect_wait", K_SECS, OFF(connect_wait), 0},
    {"disconnect_wait", K_SECS, OFF(disconnect_wait), 0},
    {"heartbeat", K_SECS, OFF(heartbeat), 0},
    {"reconnect_min", K_SECS, OFF(reconnect_min), 0},
    {"reconnect_max", K_SECS, OFF(reconnect_max), 0},
    {"max_bvlc", K_UINT, OFF(max_bvlc), 65535},
    {"max_npdu", K_UINT, OFF(max_npdu), 65535},
    {"max_peers", K_UINT, OFF(max_peers), 1000000},
    {"vmac", K_STR, OFF(vmac), 0},
    {"uuid", K_STR, OFF(uuid), 0},
    {"log_level", K_STR, OFF(log_level), 0},
    {"status_file", K_STR, OFF(status_file), 0},
    {"listen", K_STR, OFF(listen), 0},
    {"hub_listen", K_STR, OFF(hub_listen), 0},
    {"name", K_STR, OFF(name), 0},
    {"instance", K_LONG, OFF(instance), 4194302},
    {"av", K_LONG, OFF(av), 10000},
    {"count", K_LONG, OFF(count), 10000},
    {"timeout", K_SECS, OFF(timeout), 0},
    {"dc_listen", K_STR, OFF(dc_listen), 0},
    {"dc_uri", K_DCURI, 0, 0},
    {"dc_initiate", K_STR, OFF(dc_initiate), 0},
    {"dc_max_connections", K_UINT, OFF(dc_max), 4096},
    {"dc_idle", K_SECS, OFF(dc_idle), 0},
    {"dc_auto_count", K_UINT, OFF(dc_auto_count), 1000000},
    {"dc_auto_window", K_SECS, OFF(dc_auto_window), 0},
    {"vendor_id", K_LONG, OFF(vendor_id), 65535},
    {"vendor_name", K_STR, OFF(vendor_name), 0},
    {"model_name", K_STR, OFF(model_name), 0},
    {"firmware_revision", K_STR, OFF(firmware_revision), 0},
    {"application_software_version", K_STR, OFF(app_version), 0},
    {"location", K_STR, OFF(location), 0},
    {"description", K_STR, OFF(description), 0},
    {"max_handshakes", K_LONG, OFF(max_handshakes), 100000},
    {"handshake_threads", K_LONG, OFF(handshake_threads), 64},
    {"max_handshakes_per_address", K_LONG, OFF(max_handshakes_per_address), 100000},
    {"accept_rate_per_address", K_LONG, OFF(accept_rate_per_address), 100000},
    {"accept_burst_per_address", K_LONG, OFF(accept_burst_per_address), 100000},
    {"first_octet_timeout", K_SECS, OFF(first_octet_timeout), 0},
    {"handshake_timeout", K_SECS, OFF(handshake_timeout), 0},
    {"control_rate", K_LONG, OFF(control_rate), 1000000},
    {"uuid_binding", K_STR, OFF(uuid_binding), 0},
    {"metrics_listen", K_STR, OFF(metrics_listen), 0},
};

int sc_opts_load(const char *prog, const char *path, sc_opts *o)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        cli_error(prog, "%s:%d: %s", path, je.line, je.text);
        return -1;
    }
    if (!json_is_object(root)) {
        cli_error(prog, "%s: not a JSON object", path);
        json_decref(root);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        const struct key *ky = NULL;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (strcmp(keys[i].name, k) == 0)
                ky = &keys[i];
        if (!ky) {
            cli_error(prog, "%s: unknown key \"%s\"", path, k);
            goto bad;
        }
        char *base = (char *)o + ky->off;
        switch (ky->kind) {
        case K_STR:
            if (!json_is_string(v))
                goto type;
            if (!*(const char **)base)
                *(const char **)base = json_string_value(v);
            break;
        case K_BOOL:
            if (!json_is_boolean(v))
                goto type;
            if (json_is_true(v))
                *(bool *)base = true;
            break;
        case K_SECS: {
            if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 86400)
                goto type;
            if (*(double *)base == 0)
                *(double *)base = json_number_value(v);
            break;
        }
        case K_UINT:
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > (json_int_t)ky->max)
                goto type;
            if (*(unsigned *)base == 0)
                *(unsigned *)base = (unsigned)json_integer_value(v);
            break;
        case K_LONG:
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > (json_int_t)ky->max)
                goto type;
            if (*(long *)base < 0)
                *(long *)base = (long)json_integer_value(v);
            break;
        case K_DCURI:
            if (o->ndc_uri)
                break; /* --dc-uri on the command line wins */
            if (json_is_string(v)) {
                o->dc_uri[o->ndc_uri++] = json_string_value(v);
            } else if (json_is_array(v) && json_array_size(v) >= 1 &&
                       json_array_size(v) <= sizeof o->dc_uri / sizeof o->dc_uri[0]) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) {
                    if (!json_is_string(e))
                        goto type;
                    o->dc_uri[o->ndc_uri++] = json_string_value(e);
                }
            } else {
                goto type;
            }
            break;
        case K_CA:
            if (o->nca)
                break; /* --ca on the command line wins */
            if (json_is_string(v)) {
                o->ca[o->nca++] = json_string_value(v);
            } else if (json_is_array(v) && json_array_size(v) >= 1 &&
                       json_array_size(v) <= BACSC_TLS_MAX_ISSUERS) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) {
                    if (!json_is_string(e))
                        goto type;
                    o->ca[o->nca++] = json_string_value(e);
                }
            } else {
                goto type;
            }
            break;
        }
        continue;
    type:
        cli_error(prog, "%s: key \"%s\" has the wrong type or is out of range", path, k);
        goto bad;
    }
    if (o->root) {
        /* keep both alive: chain through a holder array */
        json_t *holder = json_array();
        json_array_append_new(holder, o->root);
        json_array_append_new(holder, root);
        o->root = holder;
    } else {
        o->root = root;
    }
    return 0;
bad:
    /* Strings already taken from `root` would dangle: reset and fail. */
    json_decref(root);
    return -1;
}

void sc_tls_config(const sc_opts *o, bool server, bacsc_tls_config *tc)
{
    memset(tc, 0, sizeof *tc);
    tc->cert_file = o->cert;
    tc->key_file = o->key;
    tc->crl_file = o->crl;
    for (int i = 0; i < o->nca; i++)
        tc->issuer_files[i] = o->ca[i];
    if (server) {
        tc->ticket_key_file = o->ticket_key_file;
        tc->ticket_lifetime_s = (uint32_t)(o->ticket_lifetime + 0.5);
    }
}

bacsc_tls_ctx *sc_tls_ctx(const char *prog, const sc_opts *o, bool server)
{
    bacsc_tls_config tc;
    sc_tls_config(o, server, &tc);
    char err[512], warn[256];
    bacsc_pki_node_dates dates;
    if (bacsc_pki_check_node_files(tc.cert_file, tc.key_file, tc.issuer_files, (size_t)o->nca,
                                   time(NULL), &dates, err, sizeof err, warn,
                                   sizeof warn) != BACSC_OK) {
        cli_error(prog, "%s", err);
        return NULL;
    }
    /* one read of the files: their dates feed the expiry warnings */
    cert_expiry_startup(prog, tc.cert_file, dates.cert_not_after, warn);
    for (int i = 0; i < o->nca && i < BACSC_PKI_CHECK_MAX_ISSUERS; i++)
        cert_expiry_startup(prog, tc.issuer_files[i], dates.issuer_not_after[i], NULL);
    bacsc_tls_ctx *ctx = bacsc_tls_ctx_new(&tc, server, err, sizeof err);
    if (!ctx)
        cli_error(prog, "%s", err);
    return ctx;
}

int64_t sc_crl_next_update(const char *file)
{
    FILE *f = file ? fopen(file, "r") : NULL;
    if (!f)
        return 0;
    int64_t best = 0;
    X509_CRL *c;
    while ((c = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
        const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(c);
        struct tm tm;
        if (nu && ASN1_TIME_to_tm(nu, &tm) == 1) {
            int64_t t = (int64_t)timegm(&tm);
            if (!best || t < best)
                best = t;
        }
        X509_CRL_free(c);
    }
    ERR_clear_error();
    fclose(f);
    return best;
}

int sc_tls_reload(const char *prog, const sc_opts *o, bacsc_tls_ctx *ctx, bool server)
{
    bacsc_tls_config tc = {.cert_file = o->cert, .key_file = o->key, .crl_file = o->crl};
    for (int i = 0; i < o->nca; i++)
        tc.issuer_files[i] = o->ca[i];
    if (server) {
        tc.ticket_key_file = o->ticket_key_file;
        tc.ticket_lifetime_s = (uint32_t)(o->ticket_lifetime + 0.5);
    }
    char err[256];
    if (bacsc_tls_ctx_reload(ctx, &tc, err, sizeof err) != 0) {
        BACSC_ERROR("%s: reload failed, configuration unchanged: %s", prog, err);
        return -1;
    }
    return 0;
}

int sc_check_node_opts(const char *prog, const sc_opts *o)
{
    if (!o->hub) {
        cli_error(prog, "no hub: give --hub URI (or a profile with \"hub\")");
        return -1;
    }
    const char *uris[2] = {o->hub, o->failover};
    for (int i = 0; i < 2; i++) {
        const char *u = uris[i];
        if (!u)
            continue;
        if (strncmp(u, "ws://", 5) == 0 && !o->insecure_plaintext) {
            cli_error(prog, "%s: ws:// is plaintext; it needs --insecure-plaintext", u);
            return -1;
        }
        if (strncmp(u, "wss://", 6) == 0 && o->insecure_plaintext) {
            cli_error(prog, "%s: --insecure-plaintext is only for ws:// URIs", u);
            return -1;
        }
        if (strncmp(u, "ws://", 5) != 0 && strncmp(u, "wss://", 6) != 0) {
            cli_error(prog, "%s: not a wss:// URI", u);
            return -1;
        }
    }
    if (!o->insecure_plaintext && (!o->cert || !o->key || !o->nca)) {
        cli_error(prog, "--cert, --key and --ca are required (or a profile/config with them)");
        return -1;
    }
    return 0;
}

int sc_write_json_file(const char *path, json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(doc);
    int rc = text ? bacsc_pki_write_file(path, text, strlen(text), 0644) : -1;
    free(text);
    if (rc != 0) {
        BACSC_ERROR("cannot write status file %s: %m", path);
        return -1;
    }
    return 0;
}

uint64_t sc_us(double seconds)
{
    return seconds > 0 ? (uint64_t)llround(seconds * 1e6) : 0;
}

/* Wall-clock time of a loop timestamp. The offset between the monotonic and
 * the real-time clock is taken once per process, so one timestamp always
 * reads the same (a "since" shown twice must compare equal); a later clock
 * step does not move timestamps already taken. */
char *sc_loop_time_iso(const bacsc_loop *loop, uint64_t t, char *buf, size_t cap)
{
    static int64_t offset_us;
    static bool have_offset;
    if (!have_offset) {
        struct timespec rt, mt;
        clock_gettime(CLOCK_REALTIME, &rt);
        clock_gettime(CLOCK_MONOTONIC, &mt);
        offset_us = ((int64_t)rt.tv_sec - (int64_t)mt.tv_sec) * 1000000 +
                    (rt.tv_nsec - mt.tv_nsec) / 1000;
        have_offset = true;
    }
    (void)loop; /* loop timestamps are CLOCK_MONOTONIC microseconds (loop.c) */
    int64_t real_us = (int64_t)t + offset_us;
    time_t secs = (time_t)(real_us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((real_us % 1000000) / 1000));
    return buf;
}

void sc_random_uuid(bacsc_uuid *u)
{
    bacsc_io_random(NULL, u->b, sizeof u->b);
    u->b[6] = (uint8_t)((u->b[6] & 0x0F) | 0x40);
    u->b[8] = (uint8_t)((u->b[8] & 0x3F) | 0x80);
}

int sc_cert_uuid(const char *cert_file, bacsc_uuid *u)
{
    FILE *f = fopen(cert_file, "r");
    if (!f)
        return -1;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        return -1;
    int rc = -1;
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && rc != 0; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != GEN_URI)
            continue;
        const char *s = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
        int len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
        char buf[80];
        if (len <= 0 || len >= (int)sizeof buf)
            continue;
        memcpy(buf, s, (size_t)len);
        buf[len] = 0;
        if (strncasecmp(buf, "urn:uuid:", 9) == 0 && bacsc_uuid_parse(buf, u) == BACSC_OK)
            rc = 0;
    }
    GENERAL_NAMES_free(names);
    X509_free(x);
    return rc;
}

int sc_node_identity(const char *prog, const sc_opts *o, bacsc_tls_ctx **tls, bacsc_uuid *uuid)
{
    *tls = NULL;
    if (sc_check_node_opts(prog, o) != 0)
        return SC_IDENTITY_OPTIONS;
    if (!(*tls = sc_tls_ctx(prog, o, false)))
        return SC_IDENTITY_FILES;
    if (!o->cert || sc_cert_uuid(o->cert, uuid) != 0)
        sc_random_uuid(uuid);
    return 0;
}

unsigned long sc_raise_nofile(const char *prog, unsigned long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        BACSC_WARN("%s: cannot read RLIMIT_NOFILE: %s", prog, strerror(errno));
        return 0;
    }
    unsigned long before = (unsigned long)rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            BACSC_WARN("%s: cannot raise RLIMIT_NOFILE to %llu: %s", prog,
                       (unsigned long long)rl.rlim_max, strerror(errno));
            rl.rlim_cur = before;
        }
    }
    unsigned long now = rl.rlim_cur == RLIM_INFINITY ? ~0UL : (unsigned long)rl.rlim_cur;
    BACSC_INFO("%s: open file limit %lu (was %lu, hard limit %llu)", prog, now, before,
               (unsigned long long)rl.rlim_max);
    if (want && now < want)
        BACSC_WARN("%s: open file limit %lu is below the %lu connections allowed: raise the "
                   "hard limit (ulimit -Hn, LimitNOFILE=) or lower max_peers",
                   prog, now, want);
    return now;
}

json_t *sc_status_tls(const bacsc_tls_ctx *tls)
{
    bacsc_tls_stats st;
    bacsc_tls_ctx_stats(tls, &st);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "handshakes",
                     (json_int_t)st.handshakes,
                     "resumed", (json_int_t)st.resumed, "tickets_refused",
                     (json_int_t)st.tickets_refused, "ticket_key_rotations",
                     (json_int_t)st.key_rotations, "tickets_issuer_known",
                     (json_int_t)st.tickets_issuer_known, "tickets_full_verify",
                     (json_int_t)st.tickets_full_verify, "tickets_refreshed",
                     (json_int_t)st.tickets_refreshed, "rechecks_issuer_known",
                     (json_int_t)st.rechecks_issuer_known, "rechecks_full_verify",
                     (json_int_t)st.rechecks_full_verify, "crl_checks_full",
                     (json_int_t)st.crl_checks_full, "crl_checks_reused",
                     (json_int_t)st.crl_checks_reused);
}

int sc_uuid_binding(const char *prog, const sc_opts *o)
{
    int ub = bacsc_sc_uuid_binding_parse(o->uuid_binding);
    if (ub < 0)
        cli_error(prog, "uuid-binding: '%s' is not strict, when-present or off", o->uuid_binding);
    return ub;
}

/* -1: default (0 in the options); 0: off; else the value. */
static unsigned limit_opt(long v)
{
    return v < 0 ? 0 : v == 0 ? BACSC_WS_OFF : (unsigned)v;
}

int sc_hubd_hardening(const char *prog, const sc_opts *o, bacsc_hubd_config *hc)
{
    if (o->max_handshakes > 0)
        hc->ws.max_handshakes = (unsigned)o->max_handshakes;
    /* TLS handshakes on worker threads: one per CPU unless configured (0: on the loop) */
    hc->ws.handshake_threads = o->handshake_threads < 0 ? BACSC_WS_AUTO
                                                        : (unsigned)o->handshake_threads;
    hc->ws.max_handshakes_per_addr = limit_opt(o->max_handshakes_per_address);
    hc->ws.accept_rate_per_addr = limit_opt(o->accept_rate_per_address);
    hc->ws.accept_burst_per_addr = limit_opt(o->accept_burst_per_address);
    hc->hub.control_rate = o->control_rate < 0 ? 0 : o->control_rate == 0
                                                         ? BACSC_SC_CONTROL_UNLIMITED
                                                         : (uint32_t)o->control_rate;
    hc->ws.first_octet_timeout_ms = (uint32_t)(o->first_octet_timeout * 1000 + 0.5);
    hc->ws.handshake_timeout_ms = (uint32_t)(o->handshake_timeout * 1000 + 0.5);
    int ub = sc_uuid_binding(prog, o);
    if (ub < 0)
        return -1;
    hc->uuid_binding = ub;
    return 0;
}

bool sc_hub_refused_for_good(const struct bacsc_sc_node *node, const char *cert, char *msg,
                             size_t len)
{
    char why[512];
    if (!bacsc_sc_node_cert_refused(node, why, sizeof why))
        return false;
    /* name our certificate file in "refused our certificate: …" */
    const char *at = cert ? strstr(why, "refused our certificate:") : NULL;
    if (at)
        snprintf(msg, len, "%.*srefused our certificate (%s):%s", (int)(at - why), why, cert,
                 at + strlen("refused our certificate:"));
    else
        snprintf(msg, len, "%s", why);
    return true;
}
