/*
 * site_revoke.c — revoking superseded certificates after `site import`
 * (site_revoke.h, docs/lifecycle.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "cli.h"
#include "site_revoke.h"

#define REASON_SUPERSEDED 4 /* RFC 5280 CRLReason */

typedef struct list {
    bacsc_site_superseded *r;
    size_t n, cap;
} list;

static int collect(void *user, const bacsc_site_superseded *r)
{
    list *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        bacsc_site_superseded *nr = realloc(l->r, cap * sizeof *nr);
        if (!nr)
            return BACSC_ERR_NOMEM;
        l->r = nr;
        l->cap = cap;
    }
    l->r[l->n++] = *r;
    return 0;
}

/* One certificate: returns the state it ends in and a note. */
static int handle(bacsc_ca *ca, bool keep_old, const char *ca_dir,
                  const bacsc_site_superseded *r, char *note, size_t cap)
{
    if (keep_old) {
        snprintf(note, cap, "kept (--keep-old)");
        return BACSC_SITE_SUPERSEDED_KEPT;
    }
    if (!ca) {
        snprintf(note, cap, "not revoked: give --ca-dir DIR, or run `bacsc ca revoke %s "
                            "--reason superseded` where the CA is", r->serial);
        return BACSC_SITE_SUPERSEDED_PENDING;
    }
    int rc = bacsc_ca_revoke(ca, r->serial, REASON_SUPERSEDED);
    if (rc == BACSC_OK || rc == BACSC_ERR_STATE) {
        snprintf(note, cap, rc == BACSC_OK ? "revoked (superseded)" : "already revoked");
        return BACSC_SITE_SUPERSEDED_REVOKED;
    }
    if (rc == BACSC_ERR_NOT_FOUND) {
        snprintf(note, cap, "kept: not issued by the CA in %s", ca_dir);
        return BACSC_SITE_SUPERSEDED_KEPT;
    }
    snprintf(note, cap, "not revoked: %s", bacsc_ca_errmsg(ca));
    return BACSC_SITE_SUPERSEDED_PENDING;
}

int site_revoke_superseded(bacsc_site *s, const char *prog, const char *ca_dir, bool keep_old,
                           bool quiet, json_t **jout)
{
    list l = {0};
    if (jout)
        *jout = json_array();
    if (bacsc_site_superseded_list(s, BACSC_SITE_SUPERSEDED_PENDING, collect, &l) != BACSC_OK) {
        cli_error(prog, "superseded certificates: %s", bacsc_site_errmsg(s));
        free(l.r);
        return 1;
    }
    bacsc_ca *ca = NULL;
    char err[512];
    if (l.n && ca_dir && !keep_old && bacsc_ca_open(ca_dir, NULL, &ca, err, sizeof err) != 0) {
        cli_error(prog, "%s", err);
        ca = NULL;
    }
    int left = 0;
    for (size_t i = 0; i < l.n; i++) {
        const bacsc_site_superseded *r = &l.r[i];
        char note[160];
        int state = handle(ca, keep_old, ca_dir, r, note, sizeof note);
        if (state != BACSC_SITE_SUPERSEDED_PENDING)
            bacsc_site_superseded_mark(s, r->serial, state, note);
        else
            left++;
        if (jout)
            json_array_append_new(*jout, json_pack("{s:s,s:I,s:s}", "serial", r->serial,
                                                   "device", (json_int_t)r->instance, "outcome",
                                                   note));
        else if (!quiet)
            fprintf(stderr, "bacsc %s: device %u: previous certificate %s %s\n", prog,
                    (unsigned)r->instance, r->serial, note);
    }
    bacsc_ca_close(ca);
    free(l.r);
    return left;
}
