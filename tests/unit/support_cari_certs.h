/*
 * support_cari_certs.h — test helpers for the CARI tests: EC P-256 keys,
 * CSRs, a throw-away CA issuing certificates (all with OpenSSL), zip files
 * built with libzip (including hostile ones), and temp directories.
 */
#ifndef SUPPORT_CARI_CERTS_H
#define SUPPORT_CARI_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* A new EC P-256 key (aborts on failure). */
EVP_PKEY *scc_key_p256(void);
/* A signed CSR (DER, malloc'd) for `key` with CN=cn and, if uuid is not
 * NULL, a subjectAltName URI:urn:uuid:<uuid>. */
unsigned char *scc_csr_der(EVP_PKEY *key, const char *cn, const char *uuid, size_t *len);
/* PEM text (malloc'd, NUL-terminated) of DER under `label`. */
char *scc_pem(const char *label, const unsigned char *der, size_t len, size_t *out_len);

typedef struct scc_ca {
    EVP_PKEY *key;
    X509 *cert;
} scc_ca;
/* A self-signed CA:TRUE certificate named CN=cn. */
void scc_ca_init(scc_ca *ca, const char *cn);
void scc_ca_free(scc_ca *ca);
/* The CA certificate, DER (malloc'd). */
unsigned char *scc_ca_der(const scc_ca *ca, size_t *len);
/* Issue an end-entity certificate for a CSR (DER in, DER out, malloc'd),
 * copying its subject, key and SANs. */
unsigned char *scc_issue(const scc_ca *ca, const unsigned char *csr, size_t csr_len, long serial,
                         size_t *len);

/* One member of a zip built by scc_zip_write(). */
typedef struct scc_zip_member {
    const char *name;
    const void *data; /* or NULL with `path` */
    size_t len;
    const char *path;   /* take data from this file (e.g. a sparse file of zeros) */
    bool store;         /* no compression */
    uint32_t unix_mode; /* st_mode bits for external attributes; 0 = leave default */
} scc_zip_member;
/* Write a zip to `path`; duplicates are allowed by adding later members under
 * a placeholder of the same length and renaming bytes in the written file.
 * Returns 0 or -1. */
int scc_zip_write(const char *path, const scc_zip_member *m, size_t n);

/* Whole file into a malloc'd buffer. */
unsigned char *scc_read_all(const char *path, size_t *len);
int scc_write_all(const char *path, const void *data, size_t len);
/* mkdtemp under $TMPDIR; rm -r. */
char *scc_tempdir(void);
void scc_rmrf(const char *dir);

#endif
