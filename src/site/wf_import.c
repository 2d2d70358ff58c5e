/*
 * wf_import.c — the import workflow: install a signed certificate (and the
 * site CA where missing) on a device, validated before it is activated
 * (docs/site.md "Workflows"); checking a CARI response before any device is
 * touched. Its issuer, activate and confirm steps are shared with the trust
 * workflows (wf_trust.c).
 *
 *   read-running            AtomicReadFile the operational certificate (after
 *                           discard: the one the device runs on, which the
 *                           new one supersedes)
 *   read-issuers            AtomicReadFile both issuer slots
 *   write-issuer            the site CA into a free slot where it is missing
 *   write-certificate       truncate + AtomicWriteFile the operational certificate
 *   validate                WP Command = validate-changes
 *   read-validation-result  RP Command_Validation_Result; on failure
 *                           WP Command = discard-changes and stop
 *   activate                ReinitializeDevice activate-changes
 *   confirm                 RP Changes_Pending
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/cari.h"
#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "site_workflow.h"

int site_cert_files_check(site_item *it)
{
    const bacsc_site_device *d = &it->dev;
    if (d->sc_port == BACSC_SITE_NONE || d->cert_file == BACSC_SITE_NONE ||
        d->issuer_file[0] == BACSC_SITE_NONE) {
        site_fail_msg(it, "device has no BACnet/SC certificate files (run discover)");
        return H_FAIL;
    }
    return H_AGAIN;
}

/* ---- issuer slots (import: the site CA; trust: the job's CA) -------------------- */

typedef struct issuer_target {
    const unsigned char *ca;
    size_t len;                            /* what to write: 0 = clear the slot */
    unsigned char fp[BACSC_SITE_FP_LEN];
    bool remove, import;
} issuer_target;

static void target_of(const site_item *it, issuer_target *t)
{
    const site_run *r = it->r;
    t->import = r->job.kind == BACSC_SITE_JOB_IMPORT;
    t->remove = r->job.kind == BACSC_SITE_JOB_TRUST_REMOVE;
    if (t->import) {
        t->ca = r->st.ca_der;
        t->len = r->st.ca_len;
        memcpy(t->fp, r->st.ca_fp, sizeof t->fp);
    } else {
        t->ca = it->data;
        t->len = t->remove ? 0 : it->data_len;
        site_sha256(it->data, it->data_len, t->fp);
    }
}

int site_issuers_read_issue(site_item *it)
{
    uint32_t f = it->dev.issuer_file[it->sub];
    if (f == BACSC_SITE_NONE) {
        it->slot_has[it->sub] = false;
        return H_LOCAL; /* nothing to read: the result decides */
    }
    return site_req_read_file(it, f);
}

/* Pick the issuer slot for `fp`: -1 when the device already has it; -2 when
 * both slots hold other CAs. */
static int pick_slot(const site_item *it, const unsigned char *fp)
{
    for (int i = 0; i < 2; i++)
        if (it->slot_has[i] && memcmp(it->slot_fp[i], fp, BACSC_SITE_FP_LEN) == 0)
            return -1;
    for (int i = 0; i < 2; i++)
        if (!it->slot_has[i] && it->dev.issuer_file[i] != BACSC_SITE_NONE)
            return i;
    return -2;
}

static int decide_remove(site_item *it, const issuer_target *t)
{
    it->slot = -1;
    for (int i = 0; i < 2; i++)
        if (it->slot_has[i] && memcmp(it->slot_fp[i], t->fp, sizeof t->fp) == 0)
            it->slot = i;
    if (it->slot < 0) {
        site_fail_msg(it, "no action taken: issuer not installed");
        return H_DONE;
    }
    if (memcmp(t->fp, it->r->st.ca_fp, sizeof t->fp) == 0 &&
        it->dev.mode == BACSC_SITE_MODE_SC) {
        site_fail_msg(it, "refused: the site CA is this SC-only device's trust anchor");
        return H_FAIL;
    }
    return H_NEXT;
}

/* The two issuer slot files, read one per round (sub 0, then 1) and their
 * fingerprints taken: H_AGAIN until both are read, then H_NEXT; a failed
 * read's result as it is. */
static int read_issuer_slots(site_item *it)
{
    if (it->completed) {
        int h = site_read_file_result(it);
        if (h != H_NEXT)
            return h;
        site_fp_of_buf(it, it->sub);
    }
    if (it->sub == 0) {
        site_reset_transfer(it);
        it->sub = 1;
        return H_AGAIN;
    }
    return H_NEXT;
}

int site_issuers_read_result(site_item *it)
{
    int h = read_issuer_slots(it);
    if (h != H_NEXT)
        return h;
    issuer_target t;
    target_of(it, &t);
    if (t.remove)
        return decide_remove(it, &t);
    it->slot = pick_slot(it, t.fp);
    if (it->slot == -2) {
        site_fail_msg(it, "both issuer slots hold other CAs; remove one first "
                          "(bacsc site trust remove)");
        return H_FAIL;
    }
    if (it->slot == -1 && !t.import) {
        site_fail_msg(it, "no action taken: issuer already installed");
        return H_DONE;
    }
    return H_NEXT;
}

/* ---- read back before activating ------------------------------------------------------ */

int site_issuers_verify_issue(site_item *it)
{
    if (!it->want_set) {
        issuer_target t;
        target_of(it, &t);
        for (int i = 0; i < 2; i++) {
            it->want_has[i] = it->slot_has[i];
            memcpy(it->want_fp[i], it->slot_fp[i], BACSC_SITE_FP_LEN);
        }
        if (it->slot >= 0) {
            it->want_has[it->slot] = !t.remove;
            memcpy(it->want_fp[it->slot], t.fp, BACSC_SITE_FP_LEN);
        }
        it->want_set = true;
    }
    return site_issuers_read_issue(it);
}

int site_issuers_verify_result(site_item *it)
{
    int h = read_issuer_slots(it);
    if (h != H_NEXT)
        return h;
    it->want_set = false;
    for (int i = 0; i < 2; i++) {
        bool same = it->slot_has[i] == it->want_has[i] &&
                    (!it->want_has[i] ||
                     memcmp(it->slot_fp[i], it->want_fp[i], BACSC_SITE_FP_LEN) == 0);
        if (!same) {
            site_fail_msg(it, "verify: issuer slot %d does not hold what this job staged; "
                              "not activating (someone else is changing this device)",
                          i + 1);
            return H_FAIL;
        }
    }
    return H_NEXT;
}

static int cert_verify_issue(site_item *it)
{
    return site_req_read_file(it, it->dev.cert_file);
}

static int cert_verify_result(site_item *it)
{
    int h = site_read_file_result(it);
    if (h != H_NEXT)
        return h;
    unsigned char *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    bool same = site_object_to_der(0, it->buf, it->buf_len, &a, &al) == BACSC_OK &&
                site_object_to_der(0, it->data, it->data_len, &b, &bl) == BACSC_OK &&
                al == bl && memcmp(a, b, al) == 0;
    free(a);
    free(b);
    if (!same) {
        site_fail_msg(it, "verify: the certificate file does not hold what this job staged; "
                          "not activating");
        return H_FAIL;
    }
    return H_NEXT;
}

int site_issuer_write_issue(site_item *it)
{
    if (it->slot < 0)
        return H_NEXT;
    issuer_target t;
    target_of(it, &t);
    return site_req_write_file(it, it->dev.issuer_file[it->slot], t.ca, t.len);
}

int site_issuer_write_result(site_item *it)
{
    issuer_target t;
    target_of(it, &t);
    int h = site_write_file_result(it, t.len);
    if (h == H_NEXT && it->slot >= 0) {
        it->slot_has[it->slot] = !t.remove;
        if (!t.remove)
            memcpy(it->slot_fp[it->slot], t.fp, BACSC_SITE_FP_LEN);
        it->dev.has_issuer[it->slot] = it->slot_has[it->slot];
        memcpy(it->dev.issuer_fp[it->slot], it->slot_fp[it->slot], BACSC_SITE_FP_LEN);
    }
    return h;
}

/* ---- activation ----------------------------------------------------------------------- */

int site_activate_issue(site_item *it)
{
    if (it->sub == 1 && it->dev.sc_port != BACSC_SITE_NONE)
        return site_req_rp(it, BACSC_OBJ_NETWORK_PORT, it->dev.sc_port,
                           BACSC_PROP_COMMAND_VALIDATION_RESULT);
    return site_req_activate(it);
}

int site_activate_result(site_item *it)
{
    if (it->sub == 1) {
        site_validation_reason(it, "activate-changes");
        return H_FAIL;
    }
    if (site_password_refused(it, "activate-changes"))
        return H_FAIL;
    if (it->res.outcome == BACSC_CLIENT_ERROR && it->dev.sc_port != BACSC_SITE_NONE) {
        it->sub = 1; /* read why */
        return H_AGAIN;
    }
    return it->res.outcome == BACSC_CLIENT_SIMPLE_ACK ? H_NEXT : H_FAIL;
}

uint64_t site_confirm_wait_us(const site_run *r)
{
    uint64_t s = 30 + (uint64_t)r->o.concurrency;
    return (s > 300 ? 300 : s) * 1000000u;
}

int site_confirm_issue(site_item *it)
{
    if (it->sub == 0) {
        it->wait_since = it->r->io->now(it->r->io->user);
        it->sub = 1;
    }
    return site_req_rp(it, BACSC_OBJ_NETWORK_PORT, it->dev.sc_port, BACSC_PROP_CHANGES_PENDING);
}

int site_confirm_result(site_item *it)
{
    if (site_rp_is_boolean(it, false))
        return H_NEXT;
    if (site_rp_is_boolean(it, true)) {
        site_fail_msg(it, "confirm: changes still pending after activate-changes");
        return H_FAIL;
    }
    /* No answer: a device that activated new certificates over BACnet/SC
     * is back once it has reconnected to its hub; under load that can take
     * longer than one request's retries. */
    uint64_t now = it->r->io->now(it->r->io->user);
    if (it->res.outcome == BACSC_CLIENT_TIMEOUT &&
        now - it->wait_since < site_confirm_wait_us(it->r))
        return H_AGAIN;
    if (it->res.outcome == BACSC_CLIENT_TIMEOUT)
        site_fail_msg(it, "confirm: no answer for %llu s after activate-changes (the device did "
                          "not come back; rerun the job to retry it)",
                      (unsigned long long)((now - it->wait_since) / 1000000u));
    return H_FAIL;
}

/* ---- the certificate ---------------------------------------------------------------- */

static int cert_write_issue(site_item *it)
{
    return site_req_write_file(it, it->dev.cert_file, it->data, it->data_len);
}

static int cert_write_result(site_item *it)
{
    return site_write_file_result(it, it->data_len);
}

static int validate_issue(site_item *it)
{
    return site_req_port_command(it, BACSC_NPC_VALIDATE_CHANGES);
}

static int validate_result(site_item *it)
{
    /* A failing set answers Error; Command_Validation_Result says why. */
    int o = it->res.outcome;
    return o == BACSC_CLIENT_SIMPLE_ACK || o == BACSC_CLIENT_ERROR ? H_NEXT : H_FAIL;
}

static int validation_issue(site_item *it)
{
    if (it->sub == 0)
        return site_req_rp(it, BACSC_OBJ_NETWORK_PORT, it->dev.sc_port,
                           BACSC_PROP_COMMAND_VALIDATION_RESULT);
    return site_req_port_command(it, BACSC_NPC_DISCARD_CHANGES);
}

static int validation_result(site_item *it)
{
    if (it->sub == 1)
        return H_FAIL; /* discard-changes sent (best effort): report the validation failure */
    const uint8_t *val;
    size_t vl;
    if (!site_rp_value(it, &val, &vl))
        return H_FAIL;
    char why[200] = "";
    if (site_validation_ok(val, vl, why, sizeof why))
        return H_NEXT;
    site_fail_msg(it, "validation failed on the device: %s (changes discarded; the device "
                      "keeps its previous configuration)", why);
    it->sub = 1;
    return H_AGAIN;
}

/*
 * The certificate the device runs on (after discard-changes its file holds
 * the active one): what the new certificate supersedes. The record may say
 * otherwise: a discover run while this job's certificate was staged on a
 * device that had died reads the staged one. A device that already runs the
 * new certificate (it activated it in an earlier attempt and died before
 * the confirmation) keeps what the record says it replaced.
 */
static int running_result(site_item *it)
{
    int h = site_read_file_result(it);
    if (h != H_NEXT)
        return h;
    unsigned char *der = NULL;
    size_t dl = 0;
    if (it->buf_len && site_object_to_der(0, it->buf, it->buf_len, &der, &dl) == BACSC_OK &&
        !(dl == it->data_len && memcmp(der, it->data, dl) == 0)) {
        free(it->dev.cert_der);
        it->dev.cert_der = der;
        it->dev.cert_len = dl;
    } else {
        free(der);
    }
    return H_NEXT;
}

static int import_confirm_result(site_item *it)
{
    int h = site_confirm_result(it);
    if (h != H_NEXT)
        return h;
    bacsc_site_device *d = &it->dev;
    /* The certificate replaced is superseded (to be revoked by `site
     * import`). Idempotent: a resumed run records it again harmlessly. */
    if (d->cert_der && (d->cert_len != it->data_len ||
                        memcmp(d->cert_der, it->data, it->data_len) != 0) &&
        site_superseded_add(it->r->s, d->instance, d->cert_der, d->cert_len) != BACSC_OK) {
        site_fail_msg(it, "confirm: cannot record the superseded certificate: %s",
                      bacsc_site_errmsg(it->r->s));
        return H_FAIL;
    }
    free(d->cert_der);
    d->cert_der = malloc(it->data_len);
    d->cert_len = 0;
    if (d->cert_der) {
        memcpy(d->cert_der, it->data, it->data_len);
        d->cert_len = it->data_len;
    }
    free(d->csr_der);
    d->csr_der = NULL;
    d->csr_len = 0;
    d->csr_request_id[0] = 0;
    return H_NEXT;
}

static const site_step STEPS[] = {
    {"login", site_login_issue, site_login_result},
    {"discard", site_discard_issue, site_discard_result},
    {"read-running", cert_verify_issue, running_result},
    {"read-issuers", site_issuers_read_issue, site_issuers_read_result},
    {"write-issuer", site_issuer_write_issue, site_issuer_write_result},
    {"write-certificate", cert_write_issue, cert_write_result},
    {"verify-issuers", site_issuers_verify_issue, site_issuers_verify_result},
    {"verify-certificate", cert_verify_issue, cert_verify_result},
    {"validate", validate_issue, validate_result},
    {"read-validation-result", validation_issue, validation_result},
    {"activate", site_activate_issue, site_activate_result},
    {"confirm", site_confirm_issue, import_confirm_result},
};

const site_workflow site_wf_import = {
    .kind = BACSC_SITE_JOB_IMPORT,
    .name = "import",
    SITE_STEPS(STEPS),
    .restart_before = "activate",
    .save = SITE_SAVE_ON_STEP,
    .check = site_cert_files_check,
};

/* ---- preparation: checking a response ------------------------------------------------ */

/* A rerun of the same file: resume a killed run, retry the failed devices of a
 * partial one, or say it was imported completely. BACSC_ERR_NOT_FOUND: none. */
static int import_rerun(bacsc_site *s, const char *key, int64_t *job_id, bool *resumed,
                        char *err, size_t errlen)
{
    /* A killed run of the same file resumes as is. */
    if (bacsc_site_job_resumable(s, BACSC_SITE_JOB_IMPORT, key, job_id) == BACSC_OK) {
        *resumed = true;
        return BACSC_OK;
    }
    /* After a partial import retry only the failed devices (their
     * certificates were checked when the file was first imported and are
     * stored with the job items). */
    if (bacsc_site_job_create_retry(s, BACSC_SITE_JOB_IMPORT, key, job_id) == BACSC_OK)
        return BACSC_OK;
    if (site_job_completed(s, BACSC_SITE_JOB_IMPORT, key, job_id) == BACSC_OK) {
        snprintf(err, errlen, "this file was imported completely by job %lld", (long long)*job_id);
        return BACSC_ERR_EXISTS;
    }
    return BACSC_ERR_NOT_FOUND;
}

/* What a response is checked against. */
typedef struct import_ctx {
    const bacsc_site_settings *st;
    site_devlist l;                        /* every device */
    bacsc_cari_ref *refs;                  /* their pending CSRs */
    size_t *ref_dev, nrefs;
    int64_t now;
} import_ctx;

static int pending_refs(import_ctx *x)
{
    x->refs = calloc(x->l.n + 1, sizeof *x->refs);
    x->ref_dev = calloc(x->l.n + 1, sizeof *x->ref_dev);
    if (!x->refs || !x->ref_dev)
        return BACSC_ERR_NOMEM;
    for (size_t i = 0; i < x->l.n; i++) {
        const bacsc_site_device *d = &x->l.d[i];
        if (!d->csr_der ||
            bacsc_pki_csr_key_fingerprint(d->csr_der, d->csr_len,
                                          x->refs[x->nrefs].fingerprint) != BACSC_OK)
            continue;
        x->refs[x->nrefs].request_id = d->csr_request_id[0] ? d->csr_request_id : NULL;
        x->ref_dev[x->nrefs++] = i;
    }
    return BACSC_OK;
}

static bool is_cert_entry(const bacsc_cari_entry *e)
{
    return e->type == BACSC_CARI_ENTRY_CERTIFICATE ||
           (e->type == BACSC_CARI_ENTRY_INVALID && e->der);
}

/* A certificate some device holds already: say so. */
static void installed_on(const import_ctx *x, const bacsc_cari_entry *e,
                         bacsc_site_import_entry *ie)
{
    for (size_t i = 0; i < x->l.n; i++) {
        const bacsc_site_device *d = &x->l.d[i];
        if (d->cert_der && d->cert_len == e->der_len &&
            memcmp(d->cert_der, e->der, e->der_len) == 0) {
            snprintf(ie->why, sizeof ie->why,
                     "certificate already installed on device %u (no pending request)",
                     (unsigned)d->instance);
            return;
        }
    }
}

static void check_entry(const import_ctx *x, const bacsc_cari_entry *e,
                        bacsc_site_import_entry *ie)
{
    snprintf(ie->name, sizeof ie->name, "%s", e->name ? e->name : "?");
    ie->instance = BACSC_SITE_NONE;
    ie->refused = true;
    if (e->error) {
        if (e->status == BACSC_ERR_POLICY && strstr(e->error, "different CA"))
            snprintf(ie->why, sizeof ie->why,
                     "%.120s — not the site CA (%.80s); devices holding it could not talk "
                     "to the rest of the site",
                     e->error, x->st->ca_subject);
        else
            snprintf(ie->why, sizeof ie->why, "%s", e->error);
        if (e->status == BACSC_ERR_NOT_FOUND && e->der)
            installed_on(x, e, ie);
    } else if (x->now > e->not_after) {
        snprintf(ie->why, sizeof ie->why, "certificate expired");
    } else if (x->now < e->not_before) {
        snprintf(ie->why, sizeof ie->why, "certificate not valid yet");
    } else if (e->match_index == SIZE_MAX || e->match_index >= x->nrefs) {
        snprintf(ie->why, sizeof ie->why, "certificate matches no pending request");
        installed_on(x, e, ie);
    } else {
        ie->refused = false;
        ie->instance = x->l.d[x->ref_dev[e->match_index]].instance;
    }
}

/* A request the CA did not issue: which site device, and why. */
static void not_issued_entry(const import_ctx *x, const bacsc_cari_not_issued *r,
                             bacsc_site_import_entry *ie)
{
    ie->not_issued = true;
    ie->instance = r->device.instance >= 0 ? (uint32_t)r->device.instance : BACSC_SITE_NONE;
    for (size_t i = 0; i < x->nrefs; i++) {
        bool by_id = r->request_id && x->refs[i].request_id &&
                     strcmp(r->request_id, x->refs[i].request_id) == 0;
        bool by_key = r->has_fingerprint &&
                      memcmp(r->fingerprint, x->refs[i].fingerprint, BACSC_CARI_FP_LEN) == 0;
        if (by_id || by_key) {
            ie->instance = x->l.d[x->ref_dev[i]].instance;
            break;
        }
    }
    if (ie->instance != BACSC_SITE_NONE)
        snprintf(ie->name, sizeof ie->name, "device %u", (unsigned)ie->instance);
    else
        snprintf(ie->name, sizeof ie->name, "request %.100s",
                 r->request_id ? r->request_id : r->device.name ? r->device.name : "?");
    if (strcmp(r->status, "rejected") == 0)
        snprintf(ie->why, sizeof ie->why, "rejected by the CA: %s",
                 r->reason ? r->reason : "no reason given");
    else
        snprintf(ie->why, sizeof ie->why, "%s at the CA (not yet issued; sign it and answer "
                                          "again)", r->status);
}

/* Check every certificate entry; returns the number refused (or < 0). The
 * requests the CA did not issue follow the certificates. */
static int check_entries(import_ctx *x, const bacsc_cari *c, bacsc_site_import_entry **entries,
                         size_t *n_entries)
{
    size_t ncert = 0, nrefused = 0;
    for (size_t k = 0; k < c->n_entries; k++)
        ncert += is_cert_entry(&c->entries[k]);
    if (!(*entries = calloc(ncert + c->n_not_issued + 1, sizeof **entries)))
        return BACSC_ERR_NOMEM;
    for (size_t k = 0; k < c->n_entries; k++) {
        if (!is_cert_entry(&c->entries[k]))
            continue;
        bacsc_site_import_entry *ie = &(*entries)[(*n_entries)++];
        check_entry(x, &c->entries[k], ie);
        nrefused += ie->refused;
    }
    for (size_t k = 0; k < c->n_not_issued; k++)
        not_issued_entry(x, &c->not_issued[k], &(*entries)[(*n_entries)++]);
    return (int)nrefused;
}

/* Create the import job with one item per accepted certificate. */
static int schedule(bacsc_site *s, const bacsc_cari *c, const char *key, size_t nrefused,
                    bacsc_site_import_entry *entries, size_t n_entries, int64_t *job_id)
{
    int rc = site_begin(s);
    if (rc != BACSC_OK)
        return rc;
    char args[256];
    snprintf(args, sizeof args, "{\"file_sha256\":\"%s\",\"certificates\":%zu,\"refused\":%zu}",
             key + 7, n_entries, nrefused);
    if ((rc = bacsc_site_job_create(s, BACSC_SITE_JOB_IMPORT, args, key, job_id)) != BACSC_OK)
        goto fail;
    for (size_t k = 0, j = 0; k < c->n_entries; k++) {
        const bacsc_cari_entry *e = &c->entries[k];
        if (!is_cert_entry(e))
            continue;
        bacsc_site_import_entry *ie = &entries[j++];
        if (ie->refused)
            continue;
        rc = bacsc_site_job_add_item(s, *job_id, ie->instance, e->der, e->der_len,
                                     BACSC_SITE_ITEM_PENDING, NULL);
        if (rc == BACSC_ERR_EXISTS) {
            ie->refused = true;
            snprintf(ie->why, sizeof ie->why, "a second certificate for device %u ignored",
                     (unsigned)ie->instance);
            rc = BACSC_OK;
        }
        if (rc != BACSC_OK)
            goto fail;
    }
    if ((rc = site_commit(s)) == BACSC_OK)
        return BACSC_OK;
fail:
    site_rollback(s);
    return rc;
}

/* Check the response against the site: refused entries, or the job. */
static int check_and_schedule(bacsc_site *s, bacsc_cari *c, const bacsc_site_settings *st,
                              const char *key, bool accept_partial,
                              bacsc_site_import_entry **entries, size_t *n_entries,
                              int64_t *job_id, char *err, size_t errlen)
{
    import_ctx x = {.st = st, .now = bacsc_site_now(s)};
    int rc = site_all_devices(s, &x.l);
    if (rc == BACSC_OK)
        rc = pending_refs(&x);
    const unsigned char *cas[1] = {st->ca_der};
    size_t ca_lens[1] = {st->ca_len};
    if (rc == BACSC_OK && (rc = bacsc_cari_verify_issuer(c, cas, ca_lens, 1)) >= 0)
        rc = bacsc_cari_match(c, x.refs, x.nrefs);
    int nrefused = rc < 0 ? rc : check_entries(&x, c, entries, n_entries);
    rc = nrefused < 0 ? nrefused : BACSC_OK;
    size_t ncert = *n_entries - (rc < 0 ? 0 : c->n_not_issued);
    if (rc < 0) {
        /* the reason is in the site's error message */
    } else if (ncert == 0) {
        if (c->n_not_issued)
            snprintf(err, errlen, "the file holds no certificates: the CA issued none of the "
                                  "%zu requests", c->n_not_issued);
        else
            snprintf(err, errlen, "the file holds no certificates");
        rc = BACSC_ERR_NOT_FOUND;
    } else if (nrefused && !accept_partial) {
        snprintf(err, errlen, "%d of %zu certificates refused; nothing was written to any device",
                 nrefused, ncert);
        rc = BACSC_ERR_POLICY;
    } else if ((size_t)nrefused == ncert) {
        snprintf(err, errlen, "every certificate was refused; nothing was written to any device");
        rc = BACSC_ERR_POLICY;
    } else {
        rc = schedule(s, c, key, (size_t)nrefused, *entries, ncert, job_id);
    }
    free(x.refs);
    free(x.ref_dev);
    site_devlist_free(&x.l);
    return rc;
}

int bacsc_site_prepare_import(bacsc_site *s, const void *data, size_t len, bool accept_partial,
                              bacsc_site_import_entry **entries, size_t *n_entries,
                              int64_t *job_id, bool *resumed, char *err, size_t errlen)
{
    *entries = NULL;
    *n_entries = 0;
    *resumed = false;
    err[0] = 0;
    bacsc_site_settings st;
    int rc = bacsc_site_settings_get(s, &st);
    if (rc != BACSC_OK) {
        snprintf(err, errlen, "%s", bacsc_site_errmsg(s));
        return rc;
    }
    unsigned char fp[BACSC_SITE_FP_LEN];
    site_sha256(data, len, fp);
    char key[80] = "import:";
    bacsc_pki_hex(fp, 32, key + 7);
    rc = import_rerun(s, key, job_id, resumed, err, errlen);
    if (rc != BACSC_ERR_NOT_FOUND) {
        bacsc_site_settings_clear(&st);
        return rc;
    }
    bacsc_cari *c = NULL;
    rc = bacsc_cari_read_buffer(data, len, NULL, &c);
    if (rc != BACSC_OK) {
        snprintf(err, errlen, "%s", c && c->error ? c->error : bacsc_strerror(rc));
        rc = rc == BACSC_ERR_NOMEM ? rc : BACSC_ERR_MALFORMED;
    } else {
        rc = check_and_schedule(s, c, &st, key, accept_partial, entries, n_entries, job_id, err,
                                errlen);
    }
    if (rc != BACSC_OK && !err[0])
        snprintf(err, errlen, "%s", bacsc_site_errmsg(s));
    bacsc_cari_free(c);
    bacsc_site_settings_clear(&st);
    return rc;
}
