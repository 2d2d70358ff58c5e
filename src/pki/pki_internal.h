/*
 * pki_internal.h — helpers shared by the src/pki files (not public API).
 */
#ifndef BACSC_PKI_INTERNAL_H
#define BACSC_PKI_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>

#include <openssl/x509v3.h>

#include "bacsc/pki.h"

/* snprintf into err (NULL allowed); always returns `code`. */
int pki_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Write `len` octets to `path` atomically (temp file, fsync, rename) with
 * exactly `mode` (umask ignored). Returns 0 or BACSC_ERR_IO (errno kept). */
int pki_write_file(const char *path, const void *data, size_t len, mode_t mode);
/* Read a whole file of at most `max` octets. *data malloc'd (+1 NUL). Returns
 * 0, BACSC_ERR_IO, BACSC_ERR_NOT_FOUND, BACSC_ERR_LIMIT. */
int pki_read_file(const char *path, size_t max, uint8_t **data, size_t *len);

/* SAN GENERAL_NAMES from a spec (NULL when the spec has none; *bad set on a
 * malformed IP address). */
GENERAL_NAMES *pki_spec_sans(const bacsc_cert_spec *spec, int *bad);
/* Subject name from a spec (CN, O). */
X509_NAME *pki_spec_name(const bacsc_cert_spec *spec);

/* If `uri` is "urn:uuid:<36 chars>" (prefix case-insensitive, hex digits in
 * 8-4-4-4-12 form), write the lower-case UUID to out and return 1; else 0. */
int pki_parse_urn_uuid(const char *uri, size_t len, char out[BACSC_PKI_UUID_STR_LEN]);

/* Printable one-line copy (control characters → '?'), truncated to outlen. */
void pki_printable(const char *in, size_t inlen, char *out, size_t outlen);

/* RFC 2253 one-line subject. */
void pki_name_oneline(const X509_NAME *name, char *out, size_t outlen);

/* UTF-8 first commonName of a name ("" if none). */
void pki_name_cn(const X509_NAME *name, char *out, size_t outlen);

/* Draw a 16-octet positive serial whose first octet is in 0x40..0x7f (so the
 * DER INTEGER is exactly 16 octets). Returns 0 or BACSC_ERR_CRYPTO. */
int pki_random_serial(uint8_t serial[BACSC_PKI_SERIAL_LEN]);

/* Unix time of an ASN1_TIME. */
int64_t pki_asn1_time(const ASN1_TIME *t);

/* A CSR parsed once (pki_csr.c): the structure is decoded without the
 * public key (OpenSSL 3.0's key decoder costs ~80 us), the key is built on
 * first use and the self-signature verified at most once. The type is
 * declared in bacsc/pki.h (opaque). Not safe for concurrent use of one
 * object; distinct objects may be used from distinct threads. */
/* Parse DER (the whole buffer; callers apply BACSC_PKI_MAX_CSR_DER). Returns 0,
 * BACSC_ERR_MALFORMED or BACSC_ERR_NOMEM. */
int pki_csr_parse(const uint8_t *der, size_t len, bacsc_csr **out);
void pki_csr_free(bacsc_csr *c);
/* The parsed request. Its X509_PUBKEY has no decoded key: X509_REQ_get0_pubkey
 * returns NULL; use pki_csr_key. */
X509_REQ *pki_csr_req(const bacsc_csr *c);
/* True if `c` was parsed from exactly these octets. */
bool pki_csr_is(const bacsc_csr *c, const uint8_t *der, size_t len);
/* True once the key was built (or found unusable) and the signature checked:
 * from then on every pki_csr_* call only reads `c`, so several threads may
 * share it. */
bool pki_csr_settled(const bacsc_csr *c);
/* The public key (owned by c), or NULL when unsupported or malformed. */
EVP_PKEY *pki_csr_key(bacsc_csr *c);
/* Why pki_csr_key() gave no key, when the key was refused on sight (explicit
 * EC parameters, an unsupported curve, RSA above 4096 bits or with a large
 * exponent); NULL otherwise. */
const char *pki_csr_key_problem(const bacsc_csr *c);
/* The same limits on a bare SubjectPublicKeyInfo (no key built). */
const char *pki_spki_precheck(X509_PUBKEY *xpk);
/* True if the self-signature verifies (checked once, then remembered; the
 * SPKI fingerprint and the extensions below are read at the same time). */
bool pki_csr_verify(bacsc_csr *c);
/* SHA-256 of the SubjectPublicKeyInfo as received; false if it cannot be
 * encoded. Only reads `c`. */
bool pki_csr_spki_fp(const bacsc_csr *c, uint8_t fp[32]);
/* The request's extensions as X509_REQ_get_extensions and X509V3_get_d2i
 * read them. Only reads `c`; pki_csr_exts_done releases what it gave. */
typedef struct pki_csr_exts {
    bool has;           /* an extension request is present (and decodes) */
    bool requests_ca;   /* basicConstraints CA:TRUE, or two basicConstraints */
    GENERAL_NAMES *sans; /* subjectAltName; NULL when absent or bad: */
    int san_crit;       /* ... X509V3_get_d2i's crit (-1 absent, -2 twice) */
    bool owned;         /* sans belongs to this struct */
} pki_csr_exts;
void pki_csr_exts_get(const bacsc_csr *c, pki_csr_exts *e);
void pki_csr_exts_done(pki_csr_exts *e);
/* A public key from an X509_PUBKEY whose key may not be decoded (fast for
 * named-curve EC keys; other types through d2i_PUBKEY). Caller frees. */
EVP_PKEY *pki_spki_key(X509_PUBKEY *xpk);

/* Inspect / policy-check a parsed CSR (see the DER versions). The
 * self-signature is verified unless `c` already was. */
int pki_csr_inspect_parsed(bacsc_csr *c, bacsc_csr_info *info, char *why, size_t whylen);
/* The same without verifying the signature (info->signature_ok false): the
 * policy checks key type and size first. */
int pki_csr_inspect_unverified(bacsc_csr *c, bacsc_csr_info *info, char *why, size_t whylen);
int pki_policy_check_parsed(const bacsc_policy *p, bacsc_csr *c, bacsc_csr_info *info, char *why,
                            size_t whylen);

/* What signing needs from a CSR, as DER pieces that can be turned into a
 * certificate without decoding the public key again (decoding a key costs
 * ~100 us in OpenSSL 3.0; these pieces cost ~2 us): the SPKI algorithm
 * identifier, the public-key bits, the subject name and the SAN list. */
typedef struct pki_parts {
    uint8_t *alg, *bits, *subject, *sans; /* malloc'd; sans NULL when none */
    int alg_len, bits_len, subject_len, sans_len;
} pki_parts;
int pki_parts_from_req(X509_REQ *req, pki_parts *out);
/* The same from a parsed CSR (its extensions read once). */
int pki_parts_from_csr(const bacsc_csr *c, pki_parts *out);
void pki_parts_free(pki_parts *parts);

/* Issue an operational certificate from parts (same profile as
 * bacsc_signer_issue_csr). *der is OPENSSL_malloc'd; subject_out gets the
 * one-line subject. Returns 0, BACSC_ERR_MALFORMED or BACSC_ERR_CRYPTO. */
int pki_signer_issue_parts(bacsc_signer *s, const pki_parts *parts, const bacsc_carry *carry,
                           int validity_days, int64_t now, const uint8_t *serial,
                           unsigned char **der, int *der_len, char *subject_out,
                           size_t subject_len);

#endif
