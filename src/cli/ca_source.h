/*
 * ca_source.h — where `bacsc ca submit|sign` get CSRs from and where
 * `bacsc ca sign|respond` put certificates: a CARI zip (docs/cari.md) or a
 * plain directory of CSR / certificate files.
 */
#ifndef BACSC_CLI_CA_SOURCE_H
#define BACSC_CLI_CA_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "bacsc/pki.h"

/* An entry that could not even be read (it is reported, not stored). */
typedef struct ca_source_bad {
    char name[256];
    char reason[256];
} ca_source_bad;

typedef struct ca_source {
    bacsc_batch_in batch;     /* points into this struct's storage */
    bacsc_request_in *reqs;   /* CSRs to submit (DER, or raw bytes when unparseable) */
    size_t n;
    ca_source_bad *bad;
    size_t n_bad;
    /* storage */
    uint8_t sha256[32];
    char **strings;
    size_t n_strings, cap_strings;
    uint8_t **blobs;
    size_t n_blobs;
    void *cari; /* the parsed zip, when SOURCE is one */
} ca_source;

/* Load `path` (a directory or a CARI zip). More than `max` CSRs is an error
 * (nothing is loaded). Returns 0, BACSC_ERR_IO, BACSC_ERR_LIMIT,
 * BACSC_ERR_MALFORMED or BACSC_ERR_UNSUPPORTED with `err` set. */
int ca_source_load(const char *path, unsigned max, ca_source *src, char *err, size_t errlen);
void ca_source_free(ca_source *src);

/* Write the response for batch `batch_id` to `out`: a directory (when `out`
 * ends in '/' or is one) holding <serial>.pem per certificate, ca.pem,
 * chain.pem and index.txt; else a CARI response zip. *n_certs gets the number
 * of certificates, sha256 a digest of what was written. */
int ca_response_write(bacsc_ca *ca, int64_t batch_id, const char *out, size_t *n_certs,
                      uint8_t sha256[32], char *err, size_t errlen);

#endif
