/*
 * bacsc/ca_files.h — the files a site CA reads requests from and writes
 * responses to: a CARI zip (docs/cari.md) or a plain directory of CSR /
 * certificate files. Used by `bacsc ca` and by any other front end of a CA.
 *
 * Blocking file I/O on the caller's thread; no global state.
 */
#ifndef BACSC_CA_FILES_H
#define BACSC_CA_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "bacsc/pki.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An entry that could not even be read (it is reported, not stored). */
typedef struct bacsc_ca_source_bad {
    char name[256];
    char reason[256];
} bacsc_ca_source_bad;

/* CSRs read from a directory or a CARI request zip, ready for
 * bacsc_ca_submit(). */
typedef struct bacsc_ca_source {
    bacsc_batch_in batch;     /* points into this struct's storage */
    bacsc_request_in *reqs;   /* CSRs to submit (DER, or raw bytes when unparseable) */
    size_t n;
    bacsc_ca_source_bad *bad;
    size_t n_bad;
    /* storage */
    uint8_t sha256[32];
    char **strings;
    size_t n_strings, cap_strings;
    uint8_t **blobs;
    size_t n_blobs;
    void *cari; /* the parsed zip, when the source is one */
} bacsc_ca_source;

/*
 * Who submitted a signed source (docs/ca.md "Signed batches"), set as the
 * handle's authenticated actor (`display`: the name shown, NULL = the
 * signer's name):
 *   unsigned (a directory, or a zip without signature.p7s): nothing changes,
 *     returns 0;
 *   signed by a certificate the policy's submitter_keys names, valid at `now`:
 *     actor key:NAME, returns 1, `what` says "signed by key:NAME (subject)";
 *   a signature that does not verify (an entry changed, added or removed),
 *     an unknown or expired signer: actor none — never auto-approved —,
 *     returns BACSC_ERR_POLICY with the reason in `what`.
 */
int bacsc_ca_source_actor(bacsc_ca *ca, const bacsc_ca_source *src, const char *display,
                          int64_t now, char *what, size_t cap);

/* Load `path` (a directory or a CARI zip). More than `max` CSRs is an error
 * (nothing is loaded). Returns 0, BACSC_ERR_IO, BACSC_ERR_LIMIT,
 * BACSC_ERR_MALFORMED or BACSC_ERR_UNSUPPORTED with `err` set. */
int bacsc_ca_source_load(const char *path, unsigned max, bacsc_ca_source *src, char *err,
                         size_t errlen);
/* The same with the limits of a CA's policy: at most max_batch CSRs, and a
 * zip's CSRs whose key type the policy does not allow are flagged before
 * their signatures are verified (the CA then rejects them). */
int bacsc_ca_source_load_policy(const char *path, const bacsc_policy *policy,
                                bacsc_ca_source *src, char *err, size_t errlen);
void bacsc_ca_source_free(bacsc_ca_source *src);

/* Write the response for batch `batch_id` to `out`: a directory (when `out`
 * ends in '/' or is one) holding <serial>.pem per certificate, ca.pem,
 * chain.pem and index.txt; else a CARI response zip. *n_certs gets the number
 * of certificates, sha256 a digest of what was written. Returns 0,
 * BACSC_ERR_NOT_FOUND (no such batch), BACSC_ERR_STATE (no CA certificate),
 * BACSC_ERR_IO or another library status, with `err` set. */
int bacsc_ca_response_write(bacsc_ca *ca, int64_t batch_id, const char *out, size_t *n_certs,
                            uint8_t sha256[32], char *err, size_t errlen);
/* The response zip of a batch made while the batch is issued: call begin
 * after the batch is submitted and before bacsc_ca_approve or
 * bacsc_ca_issue_approved, then end instead of bacsc_ca_response_write
 * (same arguments, same result: the same file, octet for octet). Meanwhile
 * a thread with a connection of its own reads each chunk of certificates
 * from the store once it is committed, so that end has only the zip to
 * write. NULL from begin (no such batch, one thread asked for with
 * bacsc_ca_set_threads, no thread, out of memory) or an
 * ahead that could not read makes end write the usual way; cancel drops
 * an ahead that will not be ended (e.g. issuing failed). */
typedef struct bacsc_ca_response_ahead bacsc_ca_response_ahead;
bacsc_ca_response_ahead *bacsc_ca_response_begin(bacsc_ca *ca, int64_t batch_id);
int bacsc_ca_response_end(bacsc_ca *ca, bacsc_ca_response_ahead *a, int64_t batch_id,
                          const char *out, size_t *n_certs, uint8_t sha256[32], char *err,
                          size_t errlen);
void bacsc_ca_response_cancel(bacsc_ca_response_ahead *a);

/* The CARI response zip of batch `batch_id` in memory (*data malloc'd, freed
 * by the caller), for front ends that send it rather than keep it (the web
 * console): no temporary file and no fsync. Returns as
 * bacsc_ca_response_write. */
int bacsc_ca_response_buffer(bacsc_ca *ca, int64_t batch_id, uint8_t **data, size_t *len,
                             size_t *n_certs, char *err, size_t errlen);
/* The CARI response zip for batch `batch_id` in memory (*data malloc'd, the
 * caller frees it), for front ends that send it rather than store it (the
 * web console): no temporary file, no fsync. Same returns as
 * bacsc_ca_response_write. */
int bacsc_ca_response_buffer(bacsc_ca *ca, int64_t batch_id, uint8_t **data, size_t *len,
                             size_t *n_certs, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
