/*
 * wf_crl.c — the CRL push workflow: put a CA's CRL on devices, in place of
 * the CRL of the same issuer they hold, and activate it (docs/site.md
 * "Workflows", docs/security.md "Revocation"). The standard has no CRL
 * property: a bacsc device names a File object for its CRLs with the
 * proprietary property BACSC_PROP_ID_CRL_FILE of its SC Network Port.
 *
 *   login       DCC enable with the devices' password (the session)
 *   discard     discard-changes: nothing someone else staged is activated
 *   crl-file    RP the SC port's CRL file reference
 *   read-crl    AtomicReadFile the CRLs the device holds; merge this one in
 *   write-crl   truncate + AtomicWriteFile the merged set
 *   verify-crl  read back: exactly what this job wrote, else no activation
 *   activate    ReinitializeDevice activate-changes (the device checks the
 *               set: signed by one of its issuers, never older)
 *   confirm     RP Changes_Pending
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "site_workflow.h"

static int crl_check(site_item *it)
{
    if (it->dev.sc_port == BACSC_SITE_NONE) {
        site_fail_msg(it, "device has no BACnet/SC port (run discover)");
        return H_FAIL;
    }
    return H_AGAIN;
}

static int file_issue(site_item *it)
{
    return site_req_rp(it, BACSC_OBJ_NETWORK_PORT, it->dev.sc_port, BACSC_PROP_ID_CRL_FILE);
}

static int file_result(site_item *it)
{
    const uint8_t *val;
    size_t len;
    bacsc_value v;
    if (it->res.outcome == BACSC_CLIENT_ERROR &&
        it->res.error_code == BACSC_EC_UNKNOWN_PROPERTY) {
        site_fail_msg(it, "device does not take CRLs over BACnet (no CRL file on its SC port)");
        return H_FAIL;
    }
    if (!site_rp_value(it, &val, &len) || !site_first_value(val, len, &v) ||
        v.type != BACSC_TAG_OBJECT_ID || v.v.oid.type != BACSC_OBJ_FILE) {
        site_fail_msg(it, "crl-file: the answer is not a File object reference");
        return H_FAIL;
    }
    it->crl_file = v.v.oid.instance;
    return H_NEXT;
}

static int read_issue(site_item *it)
{
    return site_req_read_file(it, it->crl_file);
}

static int read_result(site_item *it)
{
    int h = site_read_file_result(it);
    if (h != H_NEXT)
        return h;
    bool already = false;
    free(it->stage);
    it->stage = NULL;
    it->stage_len = 0;
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (bacsc_pki_crl_merge(it->buf, it->buf_len, it->data, it->data_len, &out, &out_len,
                            &already) != BACSC_OK) {
        site_fail_msg(it, "read-crl: the device's CRL file does not hold CRLs");
        return H_FAIL;
    }
    if (already) {
        free(out);
        site_fail_msg(it, "no action taken: this CRL is installed");
        return H_DONE;
    }
    it->stage = out;
    it->stage_len = out_len;
    return H_NEXT;
}

/* A run resumed after a kill no longer has the merged set: read again. */
static bool have_stage(site_item *it)
{
    if (it->stage)
        return true;
    site_fail_msg(it, "the job was interrupted after reading the device's CRLs; run it again");
    return false;
}

static int write_issue(site_item *it)
{
    if (!have_stage(it))
        return H_FAIL;
    return site_req_write_file(it, it->crl_file, it->stage, it->stage_len);
}

static int write_result(site_item *it)
{
    if (it->res.outcome == BACSC_CLIENT_ERROR &&
        it->res.error_code == BACSC_EC_WRITE_ACCESS_DENIED) {
        site_fail_msg(it, "write-crl: device refused: write-access-denied (no commissioning "
                          "session: give the devices' password with --password-file, or the "
                          "commissioning lock is on)");
        return H_FAIL;
    }
    return site_write_file_result(it, it->stage_len);
}

static int verify_issue(site_item *it)
{
    if (!have_stage(it))
        return H_FAIL;
    return site_req_read_file(it, it->crl_file);
}

static int verify_result(site_item *it)
{
    int h = site_read_file_result(it);
    if (h != H_NEXT)
        return h;
    if (it->buf_len != it->stage_len || memcmp(it->buf, it->stage, it->stage_len) != 0) {
        site_fail_msg(it, "verify: the CRL file does not hold what this job staged; not "
                          "activating (someone else is changing this device)");
        return H_FAIL;
    }
    return H_NEXT;
}

static const site_step STEPS[] = {
    {"login", site_login_issue, site_login_result},
    {"discard", site_discard_issue, site_discard_result},
    {"crl-file", file_issue, file_result},
    {"read-crl", read_issue, read_result},
    {"write-crl", write_issue, write_result},
    {"verify-crl", verify_issue, verify_result},
    {"activate", site_activate_issue, site_activate_result},
    {"confirm", site_confirm_issue, site_confirm_result},
};

const site_workflow site_wf_crl_push = {
    .kind = BACSC_SITE_JOB_CRL_PUSH,
    .name = "crl-push",
    SITE_STEPS(STEPS),
    .restart_before = "activate",
    .save = SITE_SAVE_ON_STEP,
    .check = crl_check,
};

static int crl_rule(void *user, const bacsc_site_device *d, char *why, size_t cap)
{
    (void)user;
    if (d->sc_port == BACSC_SITE_NONE) {
        snprintf(why, cap, "device has no BACnet/SC port (run discover)");
        return BACSC_SITE_ITEM_FAILED;
    }
    return BACSC_SITE_ITEM_PENDING;
}

int bacsc_site_prepare_crl(bacsc_site *s, const unsigned char *crl, size_t crl_len,
                           const bacsc_site_selection *sel, int64_t *job_id)
{
    bacsc_crl_info ci;
    if (bacsc_pki_crl_info(crl, crl_len, &ci) != BACSC_OK)
        return site_fail(s, BACSC_ERR_MALFORMED, "not one CRL (PEM or DER)");
    int64_t now = s->fixed_now ? s->fixed_now : (int64_t)time(NULL);
    if (ci.next_update && ci.next_update < now)
        return site_fail(s, BACSC_ERR_MALFORMED,
                         "the CRL is past its nextUpdate (make a new one: bacsc ca crl)");
    /* Canonical PEM of the one CRL: the payload every device gets. */
    uint8_t *pem = NULL;
    size_t pem_len = 0;
    bool already;
    if (bacsc_pki_crl_merge(NULL, 0, crl, crl_len, &pem, &pem_len, &already) != BACSC_OK)
        return site_fail(s, BACSC_ERR_MALFORMED, "not one CRL (PEM or DER)");
    site_devlist l;
    int rc = site_select_devices(s, sel, &l);
    if (rc != BACSC_OK) {
        free(pem);
        return rc;
    }
    unsigned char fp[BACSC_SITE_FP_LEN];
    site_sha256(pem, pem_len, fp);
    char fphex[65], seltext[300], args[512];
    bacsc_pki_hex(fp, 32, fphex);
    site_selection_text(sel, seltext, sizeof seltext);
    snprintf(args, sizeof args, "{\"crl_sha256\":\"%s\",\"crl_number\":%ld,\"devices\":\"%s\"}",
             fphex, ci.number, seltext);
    rc = site_create_job(s, BACSC_SITE_JOB_CRL_PUSH, args, &l, pem, pem_len, crl_rule, NULL,
                         job_id);
    site_devlist_free(&l);
    free(pem);
    return rc;
}
