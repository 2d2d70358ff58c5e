/*
 * wf_mode.c — the mode workflow: switch a device between BACnet/IP, dual
 * and BACnet/SC (docs/site.md "Workflows").
 *
 *   write-hub-uris  WP the site's hub URIs where the device lacks them
 *   write-ports     WP Out_Of_Service of the Network Ports (ip: SC port out
 *                   of service; sc: IP port out of service; dual: both in)
 *   activate        ReinitializeDevice activate-changes
 *   confirm         RP Changes_Pending where the device stays reachable
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "site_workflow.h"

static void begin(site_run *r)
{
    const char *p = strstr(r->job.args, "\"mode\":");
    r->target = p ? atoi(p + 7) : BACSC_SITE_MODE_UNKNOWN;
}

static int hubs_issue(site_item *it)
{
    const site_run *r = it->r;
    bacsc_site_device *d = &it->dev;
    if (r->target == BACSC_SITE_MODE_IP || d->sc_port == BACSC_SITE_NONE)
        return H_NEXT;
    const char *want = it->sub == 0 ? r->st.primary_hub : r->st.failover_hub;
    const char *have = it->sub == 0 ? d->primary_hub : d->failover_hub;
    if (!*want || strcmp(want, have) == 0) {
        if (it->sub == 0) {
            it->sub = 1;
            return hubs_issue(it);
        }
        return H_NEXT;
    }
    return site_req_wp_string(it, BACSC_OBJ_NETWORK_PORT, d->sc_port,
                              it->sub == 0 ? BACSC_PROP_SC_PRIMARY_HUB_URI
                                           : BACSC_PROP_SC_FAILOVER_HUB_URI,
                              want);
}

static int hubs_result(site_item *it)
{
    if (it->res.outcome != BACSC_CLIENT_SIMPLE_ACK)
        return H_FAIL;
    const bacsc_site_settings *st = &it->r->st;
    bacsc_site_device *d = &it->dev;
    if (it->sub == 0) {
        snprintf(d->primary_hub, sizeof d->primary_hub, "%s", st->primary_hub);
        it->sub = 1;
        return H_AGAIN;
    }
    snprintf(d->failover_hub, sizeof d->failover_hub, "%s", st->failover_hub);
    return H_NEXT;
}

/* sub 0: the port that must be in service; sub 1: the other. */
static int ports_issue(site_item *it)
{
    int m = it->r->target;
    uint32_t ip = it->dev.ip_port, sc = it->dev.sc_port;
    if (m != BACSC_SITE_MODE_IP && sc == BACSC_SITE_NONE) {
        site_fail_msg(it, "device has no BACnet/SC Network Port");
        return H_FAIL;
    }
    if (m != BACSC_SITE_MODE_SC && ip == BACSC_SITE_NONE) {
        site_fail_msg(it, "device has no BACnet/IP Network Port");
        return H_FAIL;
    }
    uint32_t port;
    bool oos;
    if (it->sub == 0) {
        port = m == BACSC_SITE_MODE_IP ? ip : sc;
        oos = false;
    } else {
        port = m == BACSC_SITE_MODE_IP ? sc : ip;
        oos = m != BACSC_SITE_MODE_DUAL;
        if (port == BACSC_SITE_NONE)
            return H_NEXT;
    }
    uint8_t b[2];
    int n = bacsc_app_encode_boolean(b, sizeof b, oos);
    return site_req_wp(it, BACSC_OBJ_NETWORK_PORT, port, BACSC_PROP_OUT_OF_SERVICE, b, (size_t)n);
}

static int ports_result(site_item *it)
{
    if (it->res.outcome != BACSC_CLIENT_SIMPLE_ACK)
        return H_FAIL;
    if (it->sub == 0) {
        it->sub = 1;
        return H_AGAIN;
    }
    return H_NEXT;
}

static int activate_result(site_item *it)
{
    int h = site_activate_result(it);
    if (h == H_NEXT)
        it->dev.mode = it->r->target; /* confirmed next where reachable */
    return h;
}

static int confirm_issue(site_item *it)
{
    /* A device that left the datalink we talk on (sc over BACnet/IP, ip
     * over BACnet/SC) cannot answer: the activation ACK is the confirmation. */
    int m = it->r->target;
    bool sc_link = it->r->io->datalink == BACSC_DATALINK_SC;
    if ((m == BACSC_SITE_MODE_SC && !sc_link) || (m == BACSC_SITE_MODE_IP && sc_link))
        return H_NEXT;
    return site_req_rp(it, BACSC_OBJ_NETWORK_PORT,
                       m == BACSC_SITE_MODE_IP ? it->dev.ip_port : it->dev.sc_port,
                       BACSC_PROP_CHANGES_PENDING);
}

static int confirm_result(site_item *it)
{
    if (!site_rp_is_boolean(it, false)) {
        if (!it->error[0] && it->res.outcome == BACSC_CLIENT_COMPLEX_ACK)
            site_fail_msg(it, "confirm: changes still pending after activate-changes");
        return H_FAIL;
    }
    it->dev.mode = it->r->target;
    return H_NEXT;
}

/* verify-hub-uris: the pending hub URIs must be the site's (sub 0: primary,
 * 1: failover) — nobody else's staged between our writes and activation. */
static int hubs_verify_issue(site_item *it)
{
    const site_run *r = it->r;
    if (r->target == BACSC_SITE_MODE_IP || it->dev.sc_port == BACSC_SITE_NONE)
        return H_NEXT;
    return site_req_rp(it, BACSC_OBJ_NETWORK_PORT, it->dev.sc_port,
                       it->sub == 0 ? BACSC_PROP_SC_PRIMARY_HUB_URI
                                    : BACSC_PROP_SC_FAILOVER_HUB_URI);
}

static int hubs_verify_result(site_item *it)
{
    const bacsc_site_settings *st = &it->r->st;
    const char *want = it->sub == 0 ? st->primary_hub : st->failover_hub;
    if (!*want) /* the site sets none: the device keeps what it had when last read */
        want = it->sub == 0 ? it->dev.primary_hub : it->dev.failover_hub;
    const uint8_t *val;
    size_t vl;
    bacsc_value v;
    if (!site_rp_value(it, &val, &vl) || !site_first_value(val, vl, &v) ||
        v.type != BACSC_TAG_CHARACTER_STRING)
        return H_FAIL;
    if (v.v.chars.len != strlen(want) || memcmp(v.v.chars.data, want, v.v.chars.len) != 0) {
        site_fail_msg(it, "verify: the pending %s hub URI is not the site's; not activating "
                          "(someone else is changing this device)",
                      it->sub == 0 ? "primary" : "failover");
        return H_FAIL;
    }
    if (it->sub == 0) {
        it->sub = 1;
        return H_AGAIN;
    }
    return H_NEXT;
}

static const site_step STEPS[] = {
    {"login", site_login_issue, site_login_result},
    {"discard", site_discard_issue, site_discard_result},
    {"write-hub-uris", hubs_issue, hubs_result},
    {"write-ports", ports_issue, ports_result},
    {"verify-hub-uris", hubs_verify_issue, hubs_verify_result},
    {"activate", site_activate_issue, activate_result},
    {"confirm", confirm_issue, confirm_result},
};

const site_workflow site_wf_mode = {
    .kind = BACSC_SITE_JOB_MODE,
    .name = "mode",
    SITE_STEPS(STEPS),
    .save = SITE_SAVE_ON_STEP,
    .begin = begin,
};

/* ---- preparation --------------------------------------------------------------------- */

typedef struct mode_ctx {
    int mode;
    const bacsc_site_settings *st;
    int64_t now;
} mode_ctx;

/* Why a device cannot switch to BACnet/SC (or dual), "" when it can. */
static void sc_refusal(const mode_ctx *x, const bacsc_site_device *d, char *why, size_t cap)
{
    const bacsc_site_settings *st = x->st;
    bacsc_site_cert_info ci;
    bacsc_site_cert_status(st, d, x->now, 0, &ci);
    bool has_issuer = (d->has_issuer[0] && memcmp(d->issuer_fp[0], st->ca_fp, 32) == 0) ||
                      (d->has_issuer[1] && memcmp(d->issuer_fp[1], st->ca_fp, 32) == 0);
    bool hub = st->primary_hub[0] || d->primary_hub[0];
    bool sc_only = x->mode == BACSC_SITE_MODE_SC;
    if (d->sc_port == BACSC_SITE_NONE)
        snprintf(why, cap, "refused: device has no BACnet/SC Network Port");
    else if (sc_only && !(d->cert_der && ci.site_ca && x->now >= ci.not_before &&
                          x->now <= ci.not_after))
        snprintf(why, cap, "refused: no valid operational certificate from the site CA (status %s)",
                 bacsc_site_cert_status_name(ci.status));
    else if (sc_only && !has_issuer)
        snprintf(why, cap, "refused: the site CA is not installed as an issuer");
    else if (!hub)
        snprintf(why, cap, "refused: no hub URI (set --primary-hub in site init)");
}

static int mode_rule(void *user, const bacsc_site_device *d, char *why, size_t cap)
{
    const mode_ctx *x = user;
    if (d->mode == x->mode) {
        /* a rerun after a partial job: the switched devices need nothing
         * (and after `sc` may not even be reachable over BACnet/IP) */
        snprintf(why, cap, "no action taken: already in mode %s", bacsc_site_mode_name(x->mode));
        return BACSC_SITE_ITEM_SKIPPED;
    }
    if (x->mode != BACSC_SITE_MODE_IP)
        sc_refusal(x, d, why, cap);
    return why[0] ? BACSC_SITE_ITEM_FAILED : BACSC_SITE_ITEM_PENDING;
}

int bacsc_site_prepare_mode(bacsc_site *s, int mode, const bacsc_site_selection *sel,
                            int64_t *job_id)
{
    if (mode < BACSC_SITE_MODE_IP || mode > BACSC_SITE_MODE_SC)
        return site_fail(s, BACSC_ERR_INVALID_ARG, "mode must be ip, dual or sc");
    bacsc_site_settings st;
    int rc = bacsc_site_settings_get(s, &st);
    if (rc != BACSC_OK)
        return rc;
    site_devlist l;
    if ((rc = site_select_devices(s, sel, &l)) != BACSC_OK) {
        bacsc_site_settings_clear(&st);
        return rc;
    }
    char seltext[300], args[512];
    site_selection_text(sel, seltext, sizeof seltext);
    snprintf(args, sizeof args, "{\"mode\":%d,\"name\":\"%s\",\"devices\":\"%s\"}", mode,
             bacsc_site_mode_name(mode), seltext);
    mode_ctx x = {.mode = mode, .st = &st, .now = bacsc_site_now(s)};
    rc = site_create_job(s, BACSC_SITE_JOB_MODE, args, &l, NULL, 0, mode_rule, &x, job_id);
    site_devlist_free(&l);
    bacsc_site_settings_clear(&st);
    return rc;
}
