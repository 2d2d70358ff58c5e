/*
 * wf_renew.c — the renew workflow: a device that holds a certificate makes
 * a new key pair and CSR while it keeps running on the current ones
 * (docs/lifecycle.md). The device signs the new CSR with its current key
 * (bacsc/renewal.h), which is how the CA tells the renewal from a
 * stranger's request for the same Device UUID. `site import` then installs
 * the new certificate as for any request; the one it replaces is recorded
 * as superseded.
 *
 *   read-certificate  AtomicReadFile the operational certificate in use
 *   write-domain      as request
 *   generate-csr      as request (a fresh key: the device keeps the current
 *                     key and certificate until activate-changes)
 *   read-csr          as request
 *
 * With --same-key (rule BACSC_SITE_CSR_SAME_KEY), for devices that cannot
 * rotate their key: write-domain and generate-csr are skipped, and the CSR
 * read must be for the public key of the certificate read first. The CA
 * accepts it as a same-key renewal (docs/ca.md): the CSR's signature proves
 * possession of the key the UUID's valid certificate names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "site_workflow.h"

/* The certificate just read must be there: it is what is renewed. */
static int cert_result(site_item *it)
{
    int h = site_cert_read_result(it);
    if (h == H_NEXT && !it->dev.cert_der) {
        site_fail_msg(it, "no operational certificate on the device to renew "
                          "(use `bacsc site request`)");
        return H_FAIL;
    }
    return h;
}

static int check(site_item *it)
{
    if (it->dev.cert_file == BACSC_SITE_NONE) {
        site_fail_msg(it, "device has no BACnet/SC certificate files (run discover)");
        return H_FAIL;
    }
    return site_csr_check(it);
}

static void begin(site_run *r)
{
    r->target = strstr(r->job.args, "\"rule\":\"same-key\"") != NULL;
}

static int domain_issue(site_item *it)
{
    return it->r->target ? H_NEXT : site_csr_domain_issue(it);
}

static int generate_issue(site_item *it)
{
    return it->r->target ? H_NEXT : site_csr_generate_issue(it);
}

/* --same-key: the CSR must be for the key the device runs on. */
static int csr_result(site_item *it)
{
    int h = site_csr_read_result(it);
    if (h != H_NEXT || !it->r->target)
        return h;
    const bacsc_site_device *d = &it->dev;
    uint8_t a[BACSC_PKI_FP_LEN], b[BACSC_PKI_FP_LEN];
    if (!d->cert_der || bacsc_pki_cert_key_fingerprint(d->cert_der, d->cert_len, a) != BACSC_OK ||
        bacsc_pki_csr_key_fingerprint(d->csr_der, d->csr_len, b) != BACSC_OK ||
        memcmp(a, b, sizeof a) != 0) {
        site_fail_msg(it, "--same-key: the device's CSR file holds no request for the key it "
                          "runs on (it made a new key since); renew it without --same-key");
        return H_FAIL;
    }
    return H_NEXT;
}

static const site_step STEPS[] = {
    {"read-certificate", site_cert_read_issue, cert_result},
    {"login", site_login_issue, site_login_result},
    {"write-domain", domain_issue, site_csr_domain_result},
    {"generate-csr", generate_issue, site_csr_generate_result},
    {"read-csr", site_csr_read_issue, csr_result},
};

const site_workflow site_wf_renew = {
    .kind = BACSC_SITE_JOB_RENEW,
    .name = "renew",
    SITE_STEPS(STEPS),
    .save = SITE_SAVE_ON_DONE,
    .begin = begin,
    .check = check,
};

/* ---- preparation --------------------------------------------------------------------- */

typedef struct renew_ctx {
    int rule;
    unsigned expiring_days;
    int64_t now;
} renew_ctx;

/* `bacsc ca list --expiring DAYS`: not expired, notAfter within DAYS days. */
static bool expiring(const renew_ctx *x, const bacsc_site_device *d)
{
    bacsc_cert_info ci;
    if (!d->cert_der || bacsc_pki_cert_inspect_der(d->cert_der, d->cert_len, &ci) != BACSC_OK)
        return false;
    return ci.not_after > x->now && ci.not_after <= x->now + (int64_t)x->expiring_days * 86400;
}

static int renew_rule(void *user, const bacsc_site_device *d, char *why, size_t cap)
{
    const renew_ctx *x = user;
    if (!d->cert_der) {
        snprintf(why, cap, "no action taken: no certificate to renew (use `bacsc site request`)");
        return BACSC_SITE_ITEM_SKIPPED;
    }
    if (d->csr_der && x->rule == BACSC_SITE_CSR_KEEP) {
        snprintf(why, cap, "no action taken: CSR already pending (kept)");
        return BACSC_SITE_ITEM_SKIPPED;
    }
    if (d->sc_port == BACSC_SITE_NONE || d->csr_file == BACSC_SITE_NONE) {
        snprintf(why, cap, "device has no BACnet/SC Network Port with a CSR file");
        return BACSC_SITE_ITEM_FAILED;
    }
    return BACSC_SITE_ITEM_PENDING;
}

int bacsc_site_prepare_renew(bacsc_site *s, const bacsc_site_selection *sel,
                             unsigned expiring_days, int rule, int64_t *job_id)
{
    site_devlist l;
    int rc = site_select_devices(s, sel, &l);
    if (rc != BACSC_OK)
        return rc;
    renew_ctx x = {.rule = rule, .expiring_days = expiring_days, .now = bacsc_site_now(s)};
    if (expiring_days) {
        size_t k = 0;
        for (size_t i = 0; i < l.n; i++) {
            if (expiring(&x, &l.d[i]))
                l.d[k++] = l.d[i];
            else
                bacsc_site_device_clear(&l.d[i]);
        }
        l.n = k;
        if (!k) {
            site_devlist_free(&l);
            return site_fail(s, BACSC_ERR_NOT_FOUND,
                             "no selected device holds a certificate expiring within %u days",
                             expiring_days);
        }
    }
    char seltext[300], args[512];
    site_selection_text(sel, seltext, sizeof seltext);
    snprintf(args, sizeof args, "{\"devices\":\"%s\",\"expiring_days\":%u,\"rule\":\"%s\"}",
             seltext, expiring_days,
             rule == BACSC_SITE_CSR_OVERWRITE  ? "overwrite"
             : rule == BACSC_SITE_CSR_SAME_KEY ? "same-key"
                                               : "keep-existing");
    rc = site_create_job(s, BACSC_SITE_JOB_RENEW, args, &l, NULL, 0, renew_rule, &x, job_id);
    site_devlist_free(&l);
    return rc;
}
