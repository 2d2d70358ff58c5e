/*
 * site_jobs.c — turning `bacsc site` commands into jobs: device selection,
 * the CSR rule, CARI request writing, import checks (site CA, validity,
 * pending request), trust and mode preconditions (bacsc/site.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "bacsc/cari.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "bacsc/site.h"
#include "site_internal.h"

/* ---- collecting selected devices --------------------------------------------------- */

typedef struct devlist {
    bacsc_site_device *d;
    size_t n, cap;
    const bacsc_site_selection *sel;
    int err;
} devlist;

static int collect(void *user, const bacsc_site_device *d)
{
    devlist *l = user;
    if (l->sel && !bacsc_site_selection_has(l->sel, d->instance))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        bacsc_site_device *nd = realloc(l->d, cap * sizeof *nd);
        if (!nd)
            return BACSC_ERR_NOMEM;
        l->d = nd;
        l->cap = cap;
    }
    if (bacsc_site_device_copy(&l->d[l->n], d) != BACSC_OK)
        return BACSC_ERR_NOMEM;
    l->n++;
    return 0;
}

static void devlist_free(devlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        bacsc_site_device_clear(&l->d[i]);
    free(l->d);
}

static int select_devices(bacsc_site *s, const bacsc_site_selection *sel, devlist *l)
{
    memset(l, 0, sizeof *l);
    l->sel = sel;
    int rc = bacsc_site_devices(s, collect, l);
    if (rc != BACSC_OK) {
        devlist_free(l);
        return rc;
    }
    if (l->n == 0) {
        devlist_free(l);
        return site_fail(s, BACSC_ERR_NOT_FOUND,
                         "no device selected (run `bacsc site discover` first?)");
    }
    return BACSC_OK;
}

/* A stable text for the selection, part of a job key. */
static void selection_text(const bacsc_site_selection *sel, char *buf, size_t cap)
{
    if (sel->all) {
        snprintf(buf, cap, "all");
        return;
    }
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sel->n && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%u-%u", i ? "," : "", (unsigned)sel->r[i].lo,
                              (unsigned)sel->r[i].hi);
    if (sel->list && sel->n_list && o < cap) {
        /* a list: its size and a digest of it (FNV-1a), so that the same
         * list makes the same job key */
        uint64_t h = 1469598103934665603ull;
        for (size_t i = 0; i < sel->n_list; i++)
            h = (h ^ sel->list[i]) * 1099511628211ull;
        snprintf(buf + o, cap - o, "%slist%zu:%016llx", o ? "," : "", sel->n_list,
                 (unsigned long long)h);
    }
}

/* A killed (still running) job of the same kind and arguments: resume it. */
static bool resume_same(bacsc_site *s, int kind, const char *key, int64_t *job_id)
{
    s->resumed = bacsc_site_job_resumable(s, kind, key, job_id) == BACSC_OK;
    return s->resumed;
}

bool bacsc_site_prepared_resumed(const bacsc_site *s)
{
    return s && s->resumed;
}

/* ---- discover ------------------------------------------------------------------------ */

int bacsc_site_prepare_discover(bacsc_site *s, const bacsc_site_found *found, size_t n,
                                int64_t *job_id)
{
    s->resumed = false;
    int rc = site_begin(s);
    if (rc != BACSC_OK)
        return rc;
    int64_t id = 0;
    if ((rc = bacsc_site_job_create(s, BACSC_SITE_JOB_DISCOVER, "{}", "discover", &id)) != BACSC_OK)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        bacsc_site_device d;
        if (bacsc_site_device_get(s, found[i].instance, &d) != BACSC_OK)
            bacsc_site_device_init(&d, found[i].instance);
        if (found[i].kind == BACSC_DATALINK_SC)
            bacsc_address_format(&found[i].address, BACSC_DATALINK_SC, d.vmac, sizeof d.vmac);
        else
            bacsc_address_format(&found[i].address, found[i].kind, d.address, sizeof d.address);
        d.last_seen = bacsc_site_now(s);
        rc = bacsc_site_device_put(s, &d);
        bacsc_site_device_clear(&d);
        if (rc != BACSC_OK)
            goto fail;
        rc = bacsc_site_job_add_item(s, id, found[i].instance, NULL, 0, BACSC_SITE_ITEM_PENDING,
                                     NULL);
        if (rc == BACSC_ERR_EXISTS)
            continue; /* the same device answered twice */
        if (rc != BACSC_OK)
            goto fail;
    }
    if ((rc = site_commit(s)) != BACSC_OK)
        goto fail;
    *job_id = id;
    return BACSC_OK;
fail:
    site_rollback(s);
    return rc;
}

/* ---- request --------------------------------------------------------------------------- */

int bacsc_site_prepare_request(bacsc_site *s, const bacsc_site_selection *sel, int rule,
                               int64_t *job_id)
{
    devlist l;
    int rc = select_devices(s, sel, &l);
    if (rc != BACSC_OK)
        return rc;
    char seltext[400], args[512];
    selection_text(sel, seltext, sizeof seltext);
    snprintf(args, sizeof args, "{\"devices\":\"%s\",\"rule\":\"%s\"}", seltext,
             rule == BACSC_SITE_CSR_OVERWRITE ? "overwrite" : "keep-existing");
    if (resume_same(s, BACSC_SITE_JOB_REQUEST, args, job_id))
        goto out;
    if ((rc = site_begin(s)) != BACSC_OK)
        goto out;
    int64_t id = 0;
    if ((rc = bacsc_site_job_create(s, BACSC_SITE_JOB_REQUEST, args, args, &id)) != BACSC_OK)
        goto fail;
    for (size_t i = 0; i < l.n && rc == BACSC_OK; i++) {
        const bacsc_site_device *d = &l.d[i];
        if (d->csr_der && rule == BACSC_SITE_CSR_KEEP)
            rc = bacsc_site_job_add_item(s, id, d->instance, NULL, 0, BACSC_SITE_ITEM_SKIPPED,
                                         "no action taken: CSR already pending (kept)");
        else if (d->sc_port == BACSC_SITE_NONE || d->csr_file == BACSC_SITE_NONE)
            rc = bacsc_site_job_add_item(s, id, d->instance, NULL, 0, BACSC_SITE_ITEM_FAILED,
                                         "device has no BACnet/SC Network Port with a CSR file");
        else
            rc = bacsc_site_job_add_item(s, id, d->instance, NULL, 0, BACSC_SITE_ITEM_PENDING,
                                         NULL);
    }
    if (rc != BACSC_OK || (rc = site_commit(s)) != BACSC_OK)
        goto fail;
    *job_id = id;
    goto out;
fail:
    site_rollback(s);
out:
    devlist_free(&l);
    return rc;
}

int bacsc_site_write_request(bacsc_site *s, const bacsc_site_selection *sel, const char *path,
                             size_t *count)
{
    bacsc_site_settings st;
    int rc = bacsc_site_settings_get(s, &st);
    if (rc != BACSC_OK)
        return rc;
    devlist l;
    if ((rc = select_devices(s, sel, &l)) != BACSC_OK) {
        bacsc_site_settings_clear(&st);
        return rc;
    }
    bacsc_cari_writer *w = NULL;
    *count = 0;
    if ((rc = bacsc_cari_writer_new(BACSC_CARI_REQUEST, st.name, NULL, &w)) != BACSC_OK)
        goto out;
    for (size_t i = 0; i < l.n; i++) {
        bacsc_site_device *d = &l.d[i];
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
    devlist_free(&l);
    bacsc_site_settings_clear(&st);
    return rc;
}

/* ---- import ------------------------------------------------------------------------------ */

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
    bacsc_cari *c = NULL;
    devlist l;
    memset(&l, 0, sizeof l);
    bacsc_cari_ref *refs = NULL;
    size_t *ref_dev = NULL;
    unsigned char fp[BACSC_SITE_FP_LEN];
    site_sha256(data, len, fp);
    char key[80] = "import:";
    bacsc_pki_hex(fp, 32, key + 7);

    /* A killed run of the same file resumes as is. */
    if (bacsc_site_job_resumable(s, BACSC_SITE_JOB_IMPORT, key, job_id) == BACSC_OK) {
        *resumed = true;
        bacsc_site_settings_clear(&st);
        return BACSC_OK;
    }

    /* A rerun of a file whose import ended partial: retry only the failed
     * devices (their certificates were checked when the file was first
     * imported and are stored with the job items). */
    if (bacsc_site_job_create_retry(s, BACSC_SITE_JOB_IMPORT, key, job_id) == BACSC_OK) {
        *resumed = false;
        bacsc_site_settings_clear(&st);
        return BACSC_OK;
    }

    /* The same file imported completely before: nothing to do. */
    {
        sqlite3_stmt *q = site_prep(s, "SELECT id FROM jobs WHERE kind=? AND key=? AND state=1 "
                                       "ORDER BY id DESC LIMIT 1");
        if (q) {
            sqlite3_bind_int(q, 1, BACSC_SITE_JOB_IMPORT);
            sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(q) == SQLITE_ROW) {
                *job_id = sqlite3_column_int64(q, 0);
                snprintf(err, errlen, "this file was imported completely by job %lld",
                         (long long)*job_id);
                sqlite3_finalize(q);
                bacsc_site_settings_clear(&st);
                return BACSC_ERR_EXISTS;
            }
            sqlite3_finalize(q);
        }
    }

    rc = bacsc_cari_read_buffer(data, len, NULL, &c);
    if (rc != BACSC_OK) {
        snprintf(err, errlen, "%s", c && c->error ? c->error : bacsc_strerror(rc));
        rc = rc == BACSC_ERR_NOMEM ? rc : BACSC_ERR_MALFORMED;
        goto out;
    }
    l.sel = NULL;
    if ((rc = bacsc_site_devices(s, collect, &l)) != BACSC_OK)
        goto out;
    refs = calloc(l.n + 1, sizeof *refs);
    ref_dev = calloc(l.n + 1, sizeof *ref_dev);
    if (!refs || !ref_dev) {
        rc = BACSC_ERR_NOMEM;
        goto out;
    }
    size_t nrefs = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (!l.d[i].csr_der)
            continue;
        if (bacsc_pki_csr_key_fingerprint(l.d[i].csr_der, l.d[i].csr_len,
                                          refs[nrefs].fingerprint) != BACSC_OK)
            continue;
        refs[nrefs].request_id = l.d[i].csr_request_id[0] ? l.d[i].csr_request_id : NULL;
        ref_dev[nrefs] = i;
        nrefs++;
    }
    const unsigned char *cas[1] = {st.ca_der};
    size_t ca_lens[1] = {st.ca_len};
    if ((rc = bacsc_cari_verify_issuer(c, cas, ca_lens, 1)) < 0)
        goto out;
    if ((rc = bacsc_cari_match(c, refs, nrefs)) < 0)
        goto out;
    rc = BACSC_OK;
    size_t ncert = 0, nrefused = 0;
    for (size_t k = 0; k < c->n_entries; k++)
        if (c->entries[k].type == BACSC_CARI_ENTRY_CERTIFICATE ||
            (c->entries[k].type == BACSC_CARI_ENTRY_INVALID && c->entries[k].der))
            ncert++;
    *entries = calloc(ncert + 1, sizeof **entries);
    if (!*entries) {
        rc = BACSC_ERR_NOMEM;
        goto out;
    }
    int64_t now = bacsc_site_now(s);
    for (size_t k = 0; k < c->n_entries; k++) {
        bacsc_cari_entry *e = &c->entries[k];
        if (e->type != BACSC_CARI_ENTRY_CERTIFICATE &&
            !(e->type == BACSC_CARI_ENTRY_INVALID && e->der))
            continue;
        bacsc_site_import_entry *ie = &(*entries)[(*n_entries)++];
        snprintf(ie->name, sizeof ie->name, "%s", e->name ? e->name : "?");
        ie->instance = BACSC_SITE_NONE;
        if (e->error) {
            ie->refused = true;
            if (e->status == BACSC_ERR_POLICY && strstr(e->error, "different CA"))
                snprintf(ie->why, sizeof ie->why,
                         "%.120s — not the site CA (%.80s); devices holding it could not talk "
                         "to the rest of the site",
                         e->error, st.ca_subject);
            else
                snprintf(ie->why, sizeof ie->why, "%s", e->error);
            for (size_t i = 0; e->status == BACSC_ERR_NOT_FOUND && e->der && i < l.n; i++)
                if (l.d[i].cert_der && l.d[i].cert_len == e->der_len &&
                    memcmp(l.d[i].cert_der, e->der, e->der_len) == 0) {
                    snprintf(ie->why, sizeof ie->why,
                             "certificate already installed on device %u (no pending request)",
                             (unsigned)l.d[i].instance);
                    break;
                }
        } else if (now > e->not_after) {
            ie->refused = true;
            snprintf(ie->why, sizeof ie->why, "certificate expired");
        } else if (now < e->not_before) {
            ie->refused = true;
            snprintf(ie->why, sizeof ie->why, "certificate not valid yet");
        } else if (e->match_index == SIZE_MAX || e->match_index >= nrefs) {
            ie->refused = true;
            snprintf(ie->why, sizeof ie->why, "certificate matches no pending request");
            for (size_t i = 0; i < l.n; i++)
                if (l.d[i].cert_der && l.d[i].cert_len == e->der_len &&
                    memcmp(l.d[i].cert_der, e->der, e->der_len) == 0) {
                    snprintf(ie->why, sizeof ie->why,
                             "certificate already installed on device %u (no pending request)",
                             (unsigned)l.d[i].instance);
                    break;
                }
        } else {
            ie->instance = l.d[ref_dev[e->match_index]].instance;
        }
        if (ie->refused)
            nrefused++;
    }
    if (*n_entries == 0) {
        snprintf(err, errlen, "the file holds no certificates");
        rc = BACSC_ERR_NOT_FOUND;
        goto out;
    }
    if (nrefused && !accept_partial) {
        snprintf(err, errlen, "%zu of %zu certificates refused; nothing was written to any device",
                 nrefused, *n_entries);
        rc = BACSC_ERR_POLICY;
        goto out;
    }
    if (nrefused == *n_entries) {
        snprintf(err, errlen, "every certificate was refused; nothing was written to any device");
        rc = BACSC_ERR_POLICY;
        goto out;
    }
    if ((rc = site_begin(s)) != BACSC_OK)
        goto out;
    char args[256];
    snprintf(args, sizeof args, "{\"file_sha256\":\"%s\",\"certificates\":%zu,\"refused\":%zu}",
             key + 7, *n_entries, nrefused);
    if ((rc = bacsc_site_job_create(s, BACSC_SITE_JOB_IMPORT, args, key, job_id)) != BACSC_OK) {
        site_rollback(s);
        goto out;
    }
    for (size_t k = 0, j = 0; k < c->n_entries; k++) {
        bacsc_cari_entry *e = &c->entries[k];
        if (e->type != BACSC_CARI_ENTRY_CERTIFICATE &&
            !(e->type == BACSC_CARI_ENTRY_INVALID && e->der))
            continue;
        bacsc_site_import_entry *ie = &(*entries)[j++];
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
        if (rc != BACSC_OK) {
            site_rollback(s);
            goto out;
        }
    }
    rc = site_commit(s);
    if (rc != BACSC_OK)
        site_rollback(s);
out:
    if (rc != BACSC_OK && !err[0])
        snprintf(err, errlen, "%s", bacsc_site_errmsg(s));
    free(refs);
    free(ref_dev);
    devlist_free(&l);
    bacsc_cari_free(c);
    bacsc_site_settings_clear(&st);
    return rc;
}

/* ---- trust ---------------------------------------------------------------------------- */

int bacsc_site_prepare_trust(bacsc_site *s, bool add, const unsigned char *ca, size_t ca_len,
                             const bacsc_site_selection *sel, int64_t *job_id)
{
    unsigned char *der = NULL;
    size_t der_len = 0;
    char why[128];
    int rc = site_ca_from_bytes(ca, ca_len, &der, &der_len, why, sizeof why);
    if (rc != BACSC_OK)
        return site_fail(s, rc, "CA certificate: %s", why);
    devlist l;
    if ((rc = select_devices(s, sel, &l)) != BACSC_OK) {
        free(der);
        return rc;
    }
    unsigned char fp[BACSC_SITE_FP_LEN];
    site_sha256(der, der_len, fp);
    char fphex[65], seltext[300], args[512];
    bacsc_pki_hex(fp, 32, fphex);
    selection_text(sel, seltext, sizeof seltext);
    snprintf(args, sizeof args, "{\"ca_sha256\":\"%s\",\"devices\":\"%s\"}", fphex, seltext);
    int kind = add ? BACSC_SITE_JOB_TRUST_ADD : BACSC_SITE_JOB_TRUST_REMOVE;
    if (resume_same(s, kind, args, job_id))
        goto out;
    if ((rc = site_begin(s)) != BACSC_OK)
        goto out;
    if ((rc = bacsc_site_job_create(s, kind, args, args, job_id)) != BACSC_OK)
        goto fail;
    for (size_t i = 0; i < l.n && rc == BACSC_OK; i++) {
        const bacsc_site_device *d = &l.d[i];
        if (d->issuer_file[0] == BACSC_SITE_NONE)
            rc = bacsc_site_job_add_item(s, *job_id, d->instance, NULL, 0, BACSC_SITE_ITEM_FAILED,
                                         "device has no issuer certificate files");
        else
            rc = bacsc_site_job_add_item(s, *job_id, d->instance, der, der_len,
                                         BACSC_SITE_ITEM_PENDING, NULL);
    }
    if (rc != BACSC_OK || (rc = site_commit(s)) != BACSC_OK)
        goto fail;
    goto out;
fail:
    site_rollback(s);
out:
    devlist_free(&l);
    free(der);
    return rc;
}

/* ---- mode ------------------------------------------------------------------------------ */

int bacsc_site_prepare_mode(bacsc_site *s, int mode, const bacsc_site_selection *sel,
                            int64_t *job_id)
{
    if (mode < BACSC_SITE_MODE_IP || mode > BACSC_SITE_MODE_SC)
        return site_fail(s, BACSC_ERR_INVALID_ARG, "mode must be ip, dual or sc");
    bacsc_site_settings st;
    int rc = bacsc_site_settings_get(s, &st);
    if (rc != BACSC_OK)
        return rc;
    devlist l;
    if ((rc = select_devices(s, sel, &l)) != BACSC_OK) {
        bacsc_site_settings_clear(&st);
        return rc;
    }
    char seltext[300], args[512];
    selection_text(sel, seltext, sizeof seltext);
    snprintf(args, sizeof args, "{\"mode\":%d,\"name\":\"%s\",\"devices\":\"%s\"}", mode,
             bacsc_site_mode_name(mode), seltext);
    if (resume_same(s, BACSC_SITE_JOB_MODE, args, job_id))
        goto out;
    if ((rc = site_begin(s)) != BACSC_OK)
        goto out;
    if ((rc = bacsc_site_job_create(s, BACSC_SITE_JOB_MODE, args, args, job_id)) != BACSC_OK)
        goto fail;
    int64_t now = bacsc_site_now(s);
    for (size_t i = 0; i < l.n && rc == BACSC_OK; i++) {
        const bacsc_site_device *d = &l.d[i];
        char why[256] = "";
        if (mode != BACSC_SITE_MODE_IP) {
            bacsc_site_cert_info ci;
            bacsc_site_cert_status(&st, d, now, 0, &ci);
            bool has_issuer = (d->has_issuer[0] && memcmp(d->issuer_fp[0], st.ca_fp, 32) == 0) ||
                              (d->has_issuer[1] && memcmp(d->issuer_fp[1], st.ca_fp, 32) == 0);
            bool hub = st.primary_hub[0] || d->primary_hub[0];
            if (d->sc_port == BACSC_SITE_NONE)
                snprintf(why, sizeof why, "refused: device has no BACnet/SC Network Port");
            else if (mode == BACSC_SITE_MODE_SC && !(d->cert_der && ci.site_ca &&
                                                     now >= ci.not_before && now <= ci.not_after))
                snprintf(why, sizeof why,
                         "refused: no valid operational certificate from the site CA "
                         "(status %s)",
                         bacsc_site_cert_status_name(ci.status));
            else if (mode == BACSC_SITE_MODE_SC && !has_issuer)
                snprintf(why, sizeof why, "refused: the site CA is not installed as an issuer");
            else if (!hub)
                snprintf(why, sizeof why, "refused: no hub URI (set --primary-hub in site init)");
        }
        int status = why[0] ? BACSC_SITE_ITEM_FAILED : BACSC_SITE_ITEM_PENDING;
        if (d->mode == mode) {
            /* a rerun after a partial job: the switched devices need nothing
             * (and after `sc` may not even be reachable over BACnet/IP) */
            snprintf(why, sizeof why, "no action taken: already in mode %s",
                     bacsc_site_mode_name(mode));
            status = BACSC_SITE_ITEM_SKIPPED;
        }
        rc = bacsc_site_job_add_item(s, *job_id, d->instance, NULL, 0, status, why);
    }
    if (rc != BACSC_OK || (rc = site_commit(s)) != BACSC_OK)
        goto fail;
    goto out;
fail:
    site_rollback(s);
out:
    devlist_free(&l);
    bacsc_site_settings_clear(&st);
    return rc;
}
