/*
 * site_internal.h — shared between the site database (site_db.c, the only
 * file that speaks SQL), the job engine and the workflows (src/site). Not
 * installed.
 */
#ifndef BACSC_SITE_INTERNAL_H
#define BACSC_SITE_INTERNAL_H

#include "bacsc/site.h"

struct sqlite3;

struct bacsc_site {
    struct sqlite3 *db;
    int64_t fixed_now;
    bool resumed;                          /* the last prepare_* resumed a job */
    char err[512];
};

int site_fail(bacsc_site *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Transactions: every public write is one, or part of the caller's. */
int site_begin(bacsc_site *s);
int site_commit(bacsc_site *s);
void site_rollback(bacsc_site *s);
void site_sha256(const unsigned char *data, size_t len, unsigned char fp[BACSC_SITE_FP_LEN]);
/* A CA certificate (PEM or DER) to DER; checks CA:TRUE. */
int site_ca_from_bytes(const unsigned char *data, size_t len, unsigned char **der,
                       size_t *der_len, char *why, size_t whylen);
/* A certificate or CSR file's content (PEM or DER) to DER; kind 0 cert, 1 CSR.
 * Returns BACSC_OK or BACSC_ERR_MALFORMED. */
int site_object_to_der(int kind, const unsigned char *data, size_t len, unsigned char **der,
                       size_t *der_len);

/* Room for element n of an array `p` of *cap elements of `size` (doubling):
 * the array to use from now on, or NULL (out of memory; `p` unchanged). */
void *site_grow(void *p, size_t *cap, size_t n, size_t size);

/* ---- what the engine records (site_db.c) ---- */

/* Record an item's step, status, error and attempts (inside the caller's
 * transaction). */
int site_item_save(bacsc_site *s, int64_t job, uint32_t instance, int step, int status,
                   const char *error, unsigned attempts);
/* Record one more attempt of an item (its own statement). */
int site_item_attempt(bacsc_site *s, int64_t job, uint32_t instance, unsigned attempts);
/* Call cb for every pending item of `job` in instance order; a non-zero
 * return stops the walk and is returned. */
typedef int (*site_pending_fn)(void *user, uint32_t instance, int step, unsigned attempts,
                               const unsigned char *data, size_t len);
int site_job_pending_items(bacsc_site *s, int64_t job, site_pending_fn cb, void *user);
/* Mark a job finished in `state` (enum bacsc_site_job_state). */
int site_job_finish(bacsc_site *s, int64_t job, int state);
/* The newest job of `kind`/`key` that finished DONE: BACSC_OK with *job, or
 * BACSC_ERR_NOT_FOUND. */
int site_job_completed(bacsc_site *s, int kind, const char *key, int64_t *job);

/* Record the certificate a device held before an import replaced it. */
int site_superseded_add(bacsc_site *s, uint32_t instance, const unsigned char *der, size_t len);
/* The devices of a job, in instance order (*out malloc'd). */
int site_job_instances(bacsc_site *s, int64_t job, uint32_t **out, size_t *n);

/* Record a rollover (no other in progress). */
int site_rollover_put(bacsc_site *s, const unsigned char *old_ca, size_t old_len,
                      const unsigned char *new_ca, size_t new_len);

/* ---- job preparation shared by the workflows (site_jobs.c) ---- */

/* The selected devices (copies). */
typedef struct site_devlist {
    bacsc_site_device *d;
    size_t n, cap;
    const bacsc_site_selection *sel;       /* NULL = all */
    const uint32_t *only;                  /* if not NULL: only these (sorted) */
    size_t n_only;
} site_devlist;
/* Fill `l` with the devices of `sel`; BACSC_ERR_NOT_FOUND (with a message)
 * when none. */
int site_select_devices(bacsc_site *s, const bacsc_site_selection *sel, site_devlist *l);
/* Every device (none is fine). */
int site_all_devices(bacsc_site *s, site_devlist *l);
/* The devices of job `job` (none is fine). */
int site_job_devices(bacsc_site *s, int64_t job, site_devlist *l);
void site_devlist_free(site_devlist *l);
/* A stable text for the selection, part of a job key. */
void site_selection_text(const bacsc_site_selection *sel, char *buf, size_t cap);
/* A killed (still running) job of the same kind and key: resume it (sets
 * s->resumed). */
bool site_resume_same(bacsc_site *s, int kind, const char *key, int64_t *job_id);
/*
 * Create a job of `kind` with args = key = `args`, one item per device of
 * `l`: cb decides each item's status and message (PENDING with the payload
 * `data`/`len` when it returns PENDING). Resumes a killed job with the same
 * args instead. One transaction.
 */
typedef int (*site_item_rule)(void *user, const bacsc_site_device *d, char *why, size_t cap);
int site_create_job(bacsc_site *s, int kind, const char *args, const site_devlist *l,
                    const unsigned char *data, size_t len, site_item_rule rule, void *user,
                    int64_t *job_id);

#endif
