/*
 * wf_trust.c — the trust workflows: add a CA certificate to a free issuer
 * slot, or clear the slot holding it, then activate (docs/site.md
 * "Workflows"). Every step is the import workflow's (wf_import.c) with the
 * job's CA in place of the site CA.
 *
 *   read-issuers             AtomicReadFile both issuer slots
 *   write-issuer/clear-issuer  write the CA into a free slot / truncate its slot
 *   activate                 ReinitializeDevice activate-changes
 *   confirm                  RP Changes_Pending
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "site_workflow.h"

static const site_step ADD_STEPS[] = {
    {"login", site_login_issue, site_login_result},
    {"discard", site_discard_issue, site_discard_result},
    {"read-issuers", site_issuers_read_issue, site_issuers_read_result},
    {"write-issuer", site_issuer_write_issue, site_issuer_write_result},
    {"verify-issuers", site_issuers_verify_issue, site_issuers_verify_result},
    {"activate", site_activate_issue, site_activate_result},
    {"confirm", site_confirm_issue, site_confirm_result},
};

static const site_step REMOVE_STEPS[] = {
    {"login", site_login_issue, site_login_result},
    {"discard", site_discard_issue, site_discard_result},
    {"read-issuers", site_issuers_read_issue, site_issuers_read_result},
    {"clear-issuer", site_issuer_write_issue, site_issuer_write_result},
    {"verify-issuers", site_issuers_verify_issue, site_issuers_verify_result},
    {"activate", site_activate_issue, site_activate_result},
    {"confirm", site_confirm_issue, site_confirm_result},
};

const site_workflow site_wf_trust_add = {
    .kind = BACSC_SITE_JOB_TRUST_ADD,
    .name = "trust-add",
    SITE_STEPS(ADD_STEPS),
    .restart_before = "activate",
    .save = SITE_SAVE_ON_STEP,
    .check = site_cert_files_check,
};

const site_workflow site_wf_trust_remove = {
    .kind = BACSC_SITE_JOB_TRUST_REMOVE,
    .name = "trust-remove",
    SITE_STEPS(REMOVE_STEPS),
    .restart_before = "activate",
    .save = SITE_SAVE_ON_STEP,
    .check = site_cert_files_check,
};

static int trust_rule(void *user, const bacsc_site_device *d, char *why, size_t cap)
{
    (void)user;
    if (d->issuer_file[0] == BACSC_SITE_NONE) {
        snprintf(why, cap, "device has no issuer certificate files");
        return BACSC_SITE_ITEM_FAILED;
    }
    return BACSC_SITE_ITEM_PENDING;
}

int bacsc_site_prepare_trust(bacsc_site *s, bool add, const unsigned char *ca, size_t ca_len,
                             const bacsc_site_selection *sel, int64_t *job_id)
{
    unsigned char *der = NULL;
    size_t der_len = 0;
    char why[128];
    int rc = site_ca_from_bytes(ca, ca_len, &der, &der_len, why, sizeof why);
    if (rc != BACSC_OK)
        return site_fail(s, rc, "CA certificate: %s", why);
    site_devlist l;
    if ((rc = site_select_devices(s, sel, &l)) != BACSC_OK) {
        free(der);
        return rc;
    }
    unsigned char fp[BACSC_SITE_FP_LEN];
    site_sha256(der, der_len, fp);
    char fphex[65], seltext[300], args[512];
    bacsc_pki_hex(fp, 32, fphex);
    site_selection_text(sel, seltext, sizeof seltext);
    snprintf(args, sizeof args, "{\"ca_sha256\":\"%s\",\"devices\":\"%s\"}", fphex, seltext);
    rc = site_create_job(s, add ? BACSC_SITE_JOB_TRUST_ADD : BACSC_SITE_JOB_TRUST_REMOVE, args,
                         &l, der, der_len, trust_rule, NULL, job_id);
    site_devlist_free(&l);
    free(der);
    return rc;
}
