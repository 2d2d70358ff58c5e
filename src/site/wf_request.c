/*
 * wf_request.c — the request workflow: make a device generate a key pair
 * and CSR and collect the CSR (docs/site.md "Workflows"); writing the CARI
 * request of the pending CSRs.
 *
 *   write-domain   WP the site domain (proprietary property) on the SC port
 *   generate-csr   WP Command = generate-csr-file on the SC port
 *   read-csr       AtomicReadFile the Certificate_Signing_Request_File
 *
 * The smallest workflow: a model for new ones (docs/design.md, "How to add
 * a workflow").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/cari.h"
#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "site_workflow.h"

int site_csr_check(site_item *it)
{
    if (it->dev.sc_port == BACSC_SITE_NONE || it->dev.csr_file == BACSC_SITE_NONE) {
        site_fail_msg(it, "device has no BACnet/SC Network Port with a CSR file (run discover)");
        return H_FAIL;
    }
    return H_AGAIN;
}

int site_csr_domain_issue(site_item *it)
{
    const char *domain = it->r->st.domain;
    if (!domain[0])
        return H_NEXT;
    return site_req_wp_string(it, BACSC_OBJ_NETWORK_PORT, it->dev.sc_port,
                              BACSC_PROP_ID_SITE_DOMAIN, domain);
}

int site_csr_domain_result(site_item *it)
{
    /* A device without the proprietary site-domain property still makes a
     * CSR (CN = its name): only a timeout stops here. */
    return it->res.outcome == BACSC_CLIENT_TIMEOUT ? H_FAIL : H_NEXT;
}

int site_csr_generate_issue(site_item *it)
{
    return site_req_port_command(it, BACSC_NPC_GENERATE_CSR_FILE);
}

int site_csr_generate_result(site_item *it)
{
    return it->res.outcome == BACSC_CLIENT_SIMPLE_ACK ? H_NEXT : H_FAIL;
}

int site_csr_read_issue(site_item *it)
{
    return site_req_read_file(it, it->dev.csr_file);
}

int site_csr_read_result(site_item *it)
{
    int h = site_read_file_result(it);
    if (h != H_NEXT)
        return h;
    unsigned char *der = NULL;
    size_t dl = 0;
    if (!it->buf_len || site_object_to_der(1, it->buf, it->buf_len, &der, &dl) != BACSC_OK) {
        site_fail_msg(it, "read-csr: the CSR file does not hold a CSR (%zu octets)", it->buf_len);
        return H_FAIL;
    }
    bacsc_site_device *d = &it->dev;
    free(d->csr_der);
    d->csr_der = der;
    d->csr_len = dl;
    if (bacsc_pki_uuid_random(d->csr_request_id) != BACSC_OK)
        d->csr_request_id[0] = 0;
    d->csr_created = bacsc_site_now(it->r->s);
    return H_NEXT;
}

static const site_step STEPS[] = {
    {"login", site_login_issue, site_login_result},
    {"write-domain", site_csr_domain_issue, site_csr_domain_result},
    {"generate-csr", site_csr_generate_issue, site_csr_generate_result},
    {"read-csr", site_csr_read_issue, site_csr_read_result},
};

const site_workflow site_wf_request = {
    .kind = BACSC_SITE_JOB_REQUEST,
    .name = "request",
    SITE_STEPS(STEPS),
    .save = SITE_SAVE_ON_DONE,
    .check = site_csr_check,
};

/* ---- preparation --------------------------------------------------------------------- */

static int request_rule(void *user, const bacsc_site_device *d, char *why, size_t cap)
{
    int rule = *(const int *)user;
    if (d->csr_der && rule == BACSC_SITE_CSR_KEEP) {
        snprintf(why, cap, "no action taken: CSR already pending (kept)");
        return BACSC_SITE_ITEM_SKIPPED;
    }
    if (d->sc_port == BACSC_SITE_NONE || d->csr_file == BACSC_SITE_NONE) {
        snprintf(why, cap, "device has no BACnet/SC Network Port with a CSR file");
        return BACSC_SITE_ITEM_FAILED;
    }
    return BACSC_SITE_ITEM_PENDING;
}

int bacsc_site_prepare_request(bacsc_site *s, const bacsc_site_selection *sel, int rule,
                               int64_t *job_id)
{
    site_devlist l;
    int rc = site_select_devices(s, sel, &l);
    if (rc != BACSC_OK)
        return rc;
    char seltext[400], args[512];
    site_selection_text(sel, seltext, sizeof seltext);
    snprintf(args, sizeof args, "{\"devices\":\"%s\",\"rule\":\"%s\"}", seltext,
             rule == BACSC_SITE_CSR_OVERWRITE ? "overwrite" : "keep-existing");
    rc = site_create_job(s, BACSC_SITE_JOB_REQUEST, args, &l, NULL, 0, request_rule, &rule,
                         job_id);
    site_devlist_free(&l);
    return rc;
}

/* The CARI request of the pending CSRs in `l`. */
static int write_request_of(bacsc_site *s, const site_devlist *l, const char *path, size_t *count)
{
    bacsc_site_settings st;
    int rc = bacsc_site_settings_get(s, &st);
    if (rc != BACSC_OK)
        return rc;
    bacsc_cari_writer *w = NULL;
    *count = 0;
    if ((rc = bacsc_cari_writer_new(BACSC_CARI_REQUEST, st.name, NULL, &w)) != BACSC_OK)
        goto out;
    for (size_t i = 0; i < l->n; i++) {
        bacsc_site_device *d = &l->d[i];
        if (!d->csr_der)
            continue;
        bacsc_cari_device dev = {.instance = d->instance, .name = d->name[0] ? d->name : NULL,
                                 .uuid = d->uuid[0] ? d->uuid : NULL};
        char why[200];
        int k = bacsc_cari_writer_add_csr(w, d->csr_der, d->csr_len, d->name[0] ? d->name : NULL,
                                          &dev, d->csr_request_id[0] ? d->csr_request_id : NULL,
                                          why, sizeof why);
        if (k < 0) {
            rc = site_fail(s, k, "device %u: pending CSR refused: %s", (unsigned)d->instance, why);
            goto out;
        }
        (*count)++;
    }
    if (*count == 0) {
        rc = site_fail(s, BACSC_ERR_NOT_FOUND, "no selected device has a pending CSR");
        goto out;
    }
    if ((rc = bacsc_cari_writer_write_file(w, path, NULL)) != BACSC_OK)
        rc = site_fail(s, rc, "cannot write %s", path);
out:
    bacsc_cari_writer_free(w);
    bacsc_site_settings_clear(&st);
    return rc;
}

int bacsc_site_write_request(bacsc_site *s, const bacsc_site_selection *sel, const char *path,
                             size_t *count)
{
    site_devlist l;
    *count = 0;
    bacsc_site_settings st;
    int rc = bacsc_site_settings_get(s, &st);
    if (rc != BACSC_OK)
        return rc;
    bacsc_site_settings_clear(&st);
    if ((rc = site_select_devices(s, sel, &l)) != BACSC_OK)
        return rc;
    rc = write_request_of(s, &l, path, count);
    site_devlist_free(&l);
    return rc;
}

int bacsc_site_write_request_job(bacsc_site *s, int64_t job_id, const char *path, size_t *count)
{
    site_devlist l;
    *count = 0;
    int rc = site_job_devices(s, job_id, &l);
    if (rc != BACSC_OK)
        return rc;
    rc = write_request_of(s, &l, path, count);
    site_devlist_free(&l);
    return rc;
}
