/*
 * cari_internal.h — helpers shared by the CARI sources (src/pki/cari_*.c).
 * Not installed; the public contract is include/bacsc/cari.h.
 */
#ifndef BACSC_CARI_INTERNAL_H
#define BACSC_CARI_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "bacsc/cari.h"

/* Longest entry name kept (after escaping); longer names are cut with "...". */
#define CARI_NAME_MAX 512
/* Longest request id / device name accepted from a manifest or a caller. */
#define CARI_ID_MAX 128
#define CARI_DEVNAME_MAX 256
/* Written into manifest "generator". */
#define BACSC_CARI_GENERATOR_VERSION "0.1.0"
/* Objects (PEM blocks) taken from one zip entry. */
#define CARI_OBJECTS_PER_ENTRY 16

/* strdup that returns NULL for NULL. */
char *cari_strdup(const char *s);

/* Replace entry->error with a formatted one-line message and set status. */
void cari_entry_fail(bacsc_cari_entry *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set cari->error (replacing any). */
void cari_set_error(bacsc_cari *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A printable copy of raw octets: control octets and '\\' escaped as \xNN,
 * cut at CARI_NAME_MAX. */
char *cari_printable(const char *raw, size_t len);

/* Signed archives (cari_sign.c). The text signature.p7s signs (malloc'd);
 * *sig_index: the signature entry, or -1. Reads at most max_total octets.
 * `pre` (NULL, or one per zip index): the whole octets of entries the
 * caller has already inflated (data NULL: not read), hashed instead of
 * inflating them again; with has_sha256, their SHA-256 is already known
 * (the reader's workers hash what they parse). */
struct zip;
typedef struct cari_pre {
    const unsigned char *data;
    size_t len;
    bool has_sha256;
    unsigned char sha256[32];
} cari_pre;
int cari_sig_content(struct zip *za, uint64_t max_total, const cari_pre *pre, char **out,
                     size_t *out_len, int64_t *sig_index, char *why, size_t cap);
/* Check signature.p7s of `za` into c->sig_state and the signer fields. An
 * archive without one is left unsigned, or marked invalid when
 * cari_sig_content fails on it. */
void cari_check_signature(struct zip *za, uint64_t max_total, const cari_pre *pre,
                          bacsc_cari *c);

/* Threads for work on `members` entries of an archive: BACSC_CARI_THREADS
 * (1..BACSC_POOL_MAX) or the process default (--jobs, else the online
 * CPUs); 1 for small archives (cari_read.c). */
int cari_threads(size_t members);

/* A new archive written by libzip into the file open as `fd` (cari_sink.c):
 * buffered, so libzip's seeks back to each entry's header cost no system
 * call. The caller keeps the descriptor. NULL (error set) on failure. */
typedef struct zip_source zip_source_t;
typedef struct zip_error zip_error_t;
zip_source_t *cari_fd_sink(int fd, zip_error_t *error);
extern size_t cari_sink_window; /* octets kept in memory: 1 MiB (tests make it small) */

/* Texts made ahead on a pool (cari_ahead.c): fn(item, &len) makes item k's
 * malloc'd text (NULL: failed) and must be safe to call from any thread on
 * distinct items. NULL (no pool: too few items, one thread, out of memory)
 * is a valid cari_ahead for every call below. */
typedef char *(*cari_pem_fn)(const void *item, size_t *len);
typedef struct cari_ahead cari_ahead;
cari_ahead *cari_ahead_new(const void *items, size_t item_size, size_t n, cari_pem_fn fn);
/* Start the first windows (e.g. before the manifest is made). */
void cari_ahead_begin(cari_ahead *a);
/* Item k's text (taken over by the caller), or NULL: make it yourself.
 * Only from the thread that made `a`. */
char *cari_ahead_take(cari_ahead *a, size_t k, size_t *len);
/* Waits for what is still running, frees the texts not taken. */
void cari_ahead_free(cari_ahead *a);

/* Validate a UUID in 8-4-4-4-12 form, optionally prefixed "urn:uuid:"
 * (any case). Returns a malloc'd lower-case copy without the prefix, or NULL. */
char *cari_uuid_normalize(const char *s);

/* True if the octets contain "-----BEGIN ". */
bool cari_has_pem_marker(const unsigned char *data, size_t len);

/* Parse a CA certificate given as PEM or DER. NULL on failure. */
X509 *cari_x509_from_pem_or_der(const unsigned char *data, size_t len);

/* Copy a device identity (deep). Returns 0 or BACSC_ERR_NOMEM. */
int cari_device_copy(bacsc_cari_device *dst, const bacsc_cari_device *src);
void cari_device_clear(bacsc_cari_device *d);

/* Free c->not_issued and zero the count. */
void cari_not_issued_free(bacsc_cari *c);

/* Grow c->entries by one zeroed entry; returns it or NULL (no memory). */
bacsc_cari_entry *cari_entry_push(bacsc_cari *c, size_t *cap);

/* Parse 64 hex digits into a fingerprint. Returns 0 or -1. */
int cari_fp_parse(const char *hex, unsigned char fp[BACSC_CARI_FP_LEN]);
/* bacsc_cari_parse_object() for a reader with limits: a CSR whose key type is
 * not in `key_types` (BACSC_KEY_BIT set; 0 = any) is flagged before its
 * signature is verified. */
int cari_parse_object_keys(const unsigned char *data, size_t len, bacsc_cari_entry *e,
                           size_t *consumed, unsigned key_types);

#endif
