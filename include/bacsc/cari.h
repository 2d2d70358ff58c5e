/*
 * bacsc/cari.h — CARI certificate interchange files (docs/cari.md).
 *
 * A CARI file is a zip archive that carries certificate signing requests
 * from an installer to a CA ("request") or signed certificates and the
 * issuer chain back ("response"). A bacsc-written file has a versioned
 * manifest.json ("bacsc-cari", version 1) that names every entry, its type,
 * the device it belongs to, the SHA-256 fingerprint of its public key
 * (SubjectPublicKeyInfo DER) and a request id that correlates a response
 * certificate with the request entry it answers.
 *
 * Reading is tolerant and hostile-input safe: a plain zip of PEM/DER CSRs
 * or certificates (no manifest) is accepted too; every entry is checked on
 * its own (path traversal, symlinks, duplicates, size and compression-ratio
 * limits, encoding, CSR self-signature) and a bad entry gets a one-line
 * error naming it while the rest of the batch is still processed.
 *
 * All functions return BACSC_OK (0) or a negative BACSC_ERR_* (error.h).
 * Nothing here keeps global state; objects are not shared between threads.
 */
#ifndef BACSC_CARI_H
#define BACSC_CARI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_CARI_FORMAT "bacsc-cari"
#define BACSC_CARI_VERSION 1
#define BACSC_CARI_MANIFEST "manifest.json"
/* Optional: a detached CMS signature (DER) over every other entry, see
 * bacsc_cari_sign_file() and docs/cari.md "Signed requests". */
#define BACSC_CARI_SIGNATURE "signature.p7s"
#define BACSC_CARI_FP_LEN 32 /* SHA-256 */
#define BACSC_CARI_DEVICE_INSTANCE_NONE (-1)
#define BACSC_CARI_DEVICE_INSTANCE_MAX 4194302 /* 4194303 is the wildcard */

/* What a file is. */
typedef enum bacsc_cari_kind {
    BACSC_CARI_KIND_UNKNOWN = 0, /* no manifest and no valid entry told us */
    BACSC_CARI_REQUEST = 1,      /* CSRs, installer → CA */
    BACSC_CARI_RESPONSE = 2      /* certificates + issuer chain, CA → installer */
} bacsc_cari_kind;

/* What an entry is. */
typedef enum bacsc_cari_type {
    BACSC_CARI_ENTRY_INVALID = 0,     /* unreadable, refused, or neither CSR nor certificate */
    BACSC_CARI_ENTRY_CSR = 1,         /* PKCS#10 certificate signing request */
    BACSC_CARI_ENTRY_CERTIFICATE = 2, /* an operational (end-entity) certificate */
    BACSC_CARI_ENTRY_ISSUER = 3,      /* a CA certificate of the issuer chain */
    BACSC_CARI_ENTRY_MANIFEST = 4,    /* manifest.json itself */
    BACSC_CARI_ENTRY_SIGNATURE = 5    /* signature.p7s: the CMS signature (der) */
} bacsc_cari_type;

/* How a response certificate was matched by bacsc_cari_match(). */
typedef enum bacsc_cari_match_how {
    BACSC_CARI_MATCH_NONE = 0,        /* not matched (see the entry's error) */
    BACSC_CARI_MATCH_CORRELATION = 1, /* manifest request id, key confirmed */
    BACSC_CARI_MATCH_KEY = 2          /* public key fingerprint alone */
} bacsc_cari_match_how;

/* Limits applied while reading. Zero in a field means "use the default". */
typedef struct bacsc_cari_limits {
    uint64_t max_file_size;  /* the archive itself; default 512 MiB */
    uint64_t max_entries;    /* entries in the central directory; default 100000 */
    uint64_t max_entry_size; /* uncompressed octets per entry; default 1 MiB */
    uint64_t max_total_size; /* uncompressed octets, all entries; default 256 MiB */
    uint64_t max_ratio;      /* uncompressed/compressed per entry; default 100 */
    uint64_t max_manifest_size; /* manifest.json octets; default 32 MiB */
    unsigned csr_key_types;  /* BACSC_KEY_BIT() set (bacsc/pki.h): a CSR with another key
                              * type is flagged without verifying its signature;
                              * 0 = any (the default) */
} bacsc_cari_limits;

/* Fill `lim` with the defaults above. */
void bacsc_cari_limits_default(bacsc_cari_limits *lim);

/* Device identity carried in the manifest (and, for the UUID, the SAN). */
typedef struct bacsc_cari_device {
    int64_t instance; /* 0..4194302, or BACSC_CARI_DEVICE_INSTANCE_NONE */
    char *name;       /* NULL if unknown */
    char *uuid;       /* lower-case 8-4-4-4-12, no "urn:uuid:" prefix; NULL if unknown */
} bacsc_cari_device;

/* One entry of a CARI file. Strings are NUL-terminated, owned by the file. */
typedef struct bacsc_cari_entry {
    char *name;           /* zip entry name, printable (control octets escaped) */
    bacsc_cari_type type; /* what the content is; INVALID when unreadable */
    char *error;          /* NULL when valid; else the one-line reason it was refused
                           * (print as "<name>: <error>"). Use only entries
                           * whose error is NULL. */
    int status;           /* BACSC_OK or the BACSC_ERR_* behind `error` */

    unsigned char *der; /* the CSR or certificate, DER; NULL if none */
    size_t der_len;
    struct bacsc_csr *csr; /* a CSR: the parsed form (self-signature checked), for
                            * bacsc_request_in.parsed; owned by the entry; NULL if none */

    /* From the content (CSR or certificate). */
    bool has_fingerprint;
    unsigned char fingerprint[BACSC_CARI_FP_LEN]; /* SHA-256 of SubjectPublicKeyInfo DER */
    char *subject;                                 /* RFC 2253 one-line form */
    char *key_type;                                /* "EC P-256", "RSA 3072", "ED25519" */
    char *san_uuid;                                /* Device UUID from a urn:uuid: SAN, or NULL */
    /* Certificates only. */
    char *issuer;         /* RFC 2253 */
    char *serial;         /* upper-case hex */
    int64_t not_before;   /* Unix time */
    int64_t not_after;    /* Unix time */
    bool is_ca;           /* basicConstraints CA:TRUE */

    /* From manifest.json (NULL / INSTANCE_NONE when the file has no manifest). */
    bool in_manifest;
    char *request_id;          /* correlation id; NULL if none */
    bacsc_cari_device device;  /* uuid falls back to san_uuid when the manifest has none */

    /* Set by bacsc_cari_match() / bacsc_cari_verify_issuer(). */
    bacsc_cari_match_how match;
    size_t match_index; /* index into the refs given to bacsc_cari_match(); SIZE_MAX if none */
    bool issuer_verified; /* signed by one of the expected CA certificates */
} bacsc_cari_entry;

/* Response only: a request of the answered batch that got no certificate
 * (manifest member "not_issued"), so the installer learns why. */
typedef struct bacsc_cari_not_issued {
    char *request_id;         /* the request entry's correlation id, or NULL */
    bacsc_cari_device device; /* as in the request */
    bool has_fingerprint;
    unsigned char fingerprint[BACSC_CARI_FP_LEN]; /* the request's public key */
    char *status;             /* "rejected", "pending" or "approved" (not yet signed) */
    char *reason;             /* why (rejected), or NULL */
} bacsc_cari_not_issued;

/* A CARI file read into memory. */
typedef struct bacsc_cari {
    bacsc_cari_kind kind;
    bool has_manifest; /* a valid manifest.json was found and used */
    int version;       /* manifest version, 0 without a manifest */
    char *site;        /* NULL when unknown */
    char *batch_id;
    char *request_batch_id; /* response: batch id of the request it answers */
    char *created;          /* RFC 3339 UTC as written by the generator */
    char *generator;
    char *error; /* archive-level problem (not a zip, truncated, limits); NULL if none */
    unsigned char file_sha256[BACSC_CARI_FP_LEN]; /* SHA-256 of the archive octets read */
    size_t n_entries;
    bacsc_cari_entry *entries;
    /* signature.p7s, checked while reading (the signer's certificate itself is
     * not judged here: bacsc_policy_submitter() says whom the CA trusts) */
    int sig_state;                 /* enum bacsc_cari_sig */
    char *sig_error;               /* why it is invalid (BACSC_CARI_SIG_INVALID) */
    unsigned char signer_sha256[BACSC_CARI_FP_LEN]; /* SHA-256 of the signer certificate DER */
    char *signer_subject;          /* RFC 2253 */
    int64_t signer_not_before, signer_not_after;

    /* Response: requests that got no certificate (empty without a manifest). */
    size_t n_not_issued;
    bacsc_cari_not_issued *not_issued;
} bacsc_cari;

/* What a CARI file's signature.p7s says. */
enum bacsc_cari_sig {
    BACSC_CARI_UNSIGNED = 0,     /* no signature.p7s */
    BACSC_CARI_SIG_VALID = 1,    /* one signer; its signature covers every other entry */
    BACSC_CARI_SIG_INVALID = 2   /* unreadable, several signers, or an entry changed, added
                                  * or removed after signing (sig_error says which) */
};

/*
 * Sign the CARI file at `path` in place: a detached CMS signature (SHA-256,
 * the signer certificate included) over the list "SHA-256  name" of every
 * other entry, added as signature.p7s (any earlier one is replaced). The
 * file is rewritten as bacsc_pki_write_file() does. Returns 0,
 * BACSC_ERR_IO, BACSC_ERR_MALFORMED (not a zip; key and certificate do not
 * match), BACSC_ERR_CRYPTO, with `err` set.
 */
int bacsc_cari_sign_file(const char *path, const char *cert_file, const char *key_file,
                         char *err, size_t errlen);

/*
 * Read a CARI file (request or response) from memory.
 *   data, len  the archive octets (only read; not kept)
 *   lim        limits, or NULL for the defaults
 *   out        receives a new bacsc_cari (free with bacsc_cari_free) — set
 *              whenever the return is not BACSC_ERR_NOMEM/INVALID_ARG, so
 *              the caller can print out->error even on failure.
 * Returns BACSC_OK when the archive could be opened (individual entries may
 * still carry errors: see bacsc_cari_invalid_count), BACSC_ERR_MALFORMED
 * when the data is not a zip archive or is truncated/corrupt,
 * BACSC_ERR_LIMIT when the archive breaks a file-level limit (size, entry
 * count), BACSC_ERR_NOMEM, BACSC_ERR_INVALID_ARG.
 */
int bacsc_cari_read_buffer(const void *data, size_t len, const bacsc_cari_limits *lim,
                           bacsc_cari **out);

/* As bacsc_cari_read_buffer, from a file path. Also BACSC_ERR_IO (out->error
 * names the path and errno text) and BACSC_ERR_LIMIT for a file larger than
 * lim->max_file_size. */
int bacsc_cari_read_file(const char *path, const bacsc_cari_limits *lim, bacsc_cari **out);

/* Free a file read by bacsc_cari_read_*; NULL is fine. */
void bacsc_cari_free(bacsc_cari *cari);
/* Free what `cari` holds and zero it, without freeing `cari` itself (for a
 * bacsc_cari filled by bacsc_cari_manifest_parse on the stack). */
void bacsc_cari_clear(bacsc_cari *cari);

/* Number of entries with an error (manifest entry included). */
size_t bacsc_cari_invalid_count(const bacsc_cari *cari);

/* A request as seen by bacsc_cari_match(): its correlation id (may be NULL)
 * and the SHA-256 fingerprint of its public key. */
typedef struct bacsc_cari_ref {
    const char *request_id;
    unsigned char fingerprint[BACSC_CARI_FP_LEN];
} bacsc_cari_ref;

/*
 * Match every valid certificate entry of `response` to `refs`: first by
 * manifest request id (the key fingerprint must then agree, else the entry
 * gets an error "key does not match request ..."), else by public key
 * fingerprint. Sets entry->match and entry->match_index; a certificate that
 * matches nothing gets the error "certificate matches no request" and status
 * BACSC_ERR_NOT_FOUND. Issuer entries are not matched.
 * Returns the number of certificates matched (>= 0), BACSC_ERR_INVALID_ARG
 * or BACSC_ERR_NOMEM.
 */
int bacsc_cari_match(bacsc_cari *response, const bacsc_cari_ref *refs, size_t n_refs);

/* Convenience: match `response` against the valid CSR entries of `request`
 * (match_index is then an index into request->entries). Same returns. */
int bacsc_cari_match_request(bacsc_cari *response, const bacsc_cari *request);

/*
 * Check that every valid certificate entry of `cari` was signed directly by
 * one of the expected CA certificates `cas[i]` (PEM or DER, lengths
 * `ca_lens[i]`). Sets entry->issuer_verified; an entry signed by another CA
 * gets the error "signed by a different CA (issuer ...)" and status
 * BACSC_ERR_POLICY. Issuer entries are checked to be one of, or signed by,
 * the expected CAs the same way.
 * Returns the number of entries flagged (>= 0), BACSC_ERR_MALFORMED if a CA
 * certificate cannot be parsed, BACSC_ERR_INVALID_ARG, BACSC_ERR_NOMEM.
 */
int bacsc_cari_verify_issuer(bacsc_cari *cari, const unsigned char *const *cas,
                             const size_t *ca_lens, size_t n_cas);

/* ---- parsing single objects (also used by the reader) -------------------- */

/*
 * Parse one CSR or certificate given as PEM or DER into `entry` (type, der,
 * fingerprint, subject, key type, UUID SAN, and for certificates issuer,
 * serial, validity, is_ca). A certificate with CA:TRUE gets type ISSUER.
 * A CSR's self-signature is verified. On failure entry->error says why
 * (one line) and entry->type stays INVALID.
 * `entry` must be zeroed by the caller (its `name`, if set, is kept) and is
 * released with bacsc_cari_entry_clear(). When `data` holds several PEM
 * objects only the first is parsed and *consumed is set to the offset just
 * past it (else to len); `consumed` may be NULL.
 * Returns BACSC_OK, BACSC_ERR_MALFORMED (not a CSR/certificate, bad
 * encoding), BACSC_ERR_CRYPTO (CSR signature does not verify),
 * BACSC_ERR_POLICY (a private key was given), BACSC_ERR_NOMEM.
 */
int bacsc_cari_parse_object(const unsigned char *data, size_t len, bacsc_cari_entry *entry,
                            size_t *consumed);

/* Free what an entry owns and zero it. */
void bacsc_cari_entry_clear(bacsc_cari_entry *entry);

/*
 * Parse manifest.json alone into `out` (header fields and entries; kind,
 * version, site, batch ids; per entry: name, type, request_id, device and
 * fingerprint, has_fingerprint; the response's not_issued). `out` is zeroed
 * first and must be released with bacsc_cari_clear() (or bacsc_cari_free()
 * when heap-allocated) even on failure. `err` (may be NULL) receives a
 * one-line reason.
 * Returns BACSC_OK, BACSC_ERR_MALFORMED (not JSON, wrong format name or
 * field types), BACSC_ERR_UNSUPPORTED (a version other than 1),
 * BACSC_ERR_LIMIT (more than max_entries entries), BACSC_ERR_NOMEM.
 */
int bacsc_cari_manifest_parse(const char *json, size_t len, uint64_t max_entries, bacsc_cari *out,
                              char *err, size_t errlen);

/* ---- writing ------------------------------------------------------------ */

typedef struct bacsc_cari_writer bacsc_cari_writer;

/*
 * Start a request or response.
 *   kind      BACSC_CARI_REQUEST or BACSC_CARI_RESPONSE
 *   site      site name (may be NULL)
 *   batch_id  batch id (may be NULL: a random UUID is made)
 * Returns BACSC_OK, BACSC_ERR_INVALID_ARG, BACSC_ERR_NOMEM, BACSC_ERR_CRYPTO.
 */
int bacsc_cari_writer_new(bacsc_cari_kind kind, const char *site, const char *batch_id,
                          bacsc_cari_writer **out);

/* Response: the batch id of the request being answered (may be NULL). */
int bacsc_cari_writer_set_request_batch(bacsc_cari_writer *w, const char *request_batch_id);

/* The "created" time (Unix seconds) and entries' mtime; default: now. */
void bacsc_cari_writer_set_created(bacsc_cari_writer *w, int64_t unix_time);

/*
 * Add one CSR (request) or certificate (response) given as PEM or DER.
 *   name_hint   file stem to use (sanitised to [A-Za-z0-9._-], at most 64;
 *               made unique); NULL: derived from device name, UUID or key
 *   device      identity for the manifest (may be NULL); a missing UUID is
 *               taken from the object's urn:uuid: SAN
 *   request_id  correlation id (NULL: for a request a random UUID is made;
 *               for a response the certificate is matched by key only)
 *   err/errlen  one-line reason on failure (may be NULL)
 * A CSR's self-signature is verified; a CSR added to a response or a
 * certificate added to a request is refused.
 * Returns the new entry's index (>= 0), BACSC_ERR_MALFORMED,
 * BACSC_ERR_CRYPTO, BACSC_ERR_INVALID_ARG, BACSC_ERR_LIMIT (100000
 * entries), BACSC_ERR_NOMEM.
 */
int bacsc_cari_writer_add_csr(bacsc_cari_writer *w, const unsigned char *data, size_t len,
                              const char *name_hint, const bacsc_cari_device *device,
                              const char *request_id, char *err, size_t errlen);
int bacsc_cari_writer_add_certificate(bacsc_cari_writer *w, const unsigned char *data, size_t len,
                                      const char *name_hint, const bacsc_cari_device *device,
                                      const char *request_id, char *err, size_t errlen);
/*
 * Fast path for a CA writing certificates it has just issued: as
 * bacsc_cari_writer_add_certificate, but `der` (DER, not PEM) is NOT parsed
 * again. `fingerprint` is the SHA-256 of the certificate's
 * SubjectPublicKeyInfo (the CSR's, bacsc_cari_entry.fingerprint) and
 * `device` (UUID included) goes to the manifest as given. Parsing a
 * certificate costs ~150 us with OpenSSL 3.0; this skips it. The caller
 * guarantees `der` is the certificate with that key.
 * Returns the entry index (>= 0) or the errors of add_certificate.
 */
int bacsc_cari_writer_add_issued(bacsc_cari_writer *w, const unsigned char *der, size_t len,
                                 const unsigned char fingerprint[BACSC_CARI_FP_LEN],
                                 const char *name_hint, const bacsc_cari_device *device,
                                 const char *request_id, char *err, size_t errlen);
/*
 * Response: record a request of the answered batch that got no certificate.
 *   device      its identity (may be NULL)
 *   request_id  the request entry's correlation id (may be NULL)
 *   fingerprint the request's public key SHA-256 (may be NULL)
 *   status      "rejected", "pending" or "approved"
 *   reason      one line (may be NULL); control characters are replaced
 * Returns BACSC_OK, BACSC_ERR_INVALID_ARG (not a response, bad status),
 * BACSC_ERR_LIMIT, BACSC_ERR_NOMEM.
 */
int bacsc_cari_writer_add_not_issued(bacsc_cari_writer *w, const bacsc_cari_device *device,
                                     const char *request_id,
                                     const unsigned char *fingerprint, const char *status,
                                     const char *reason);
/* Response: add an issuer (CA) certificate of the chain, nearest CA first. */
int bacsc_cari_writer_add_issuer(bacsc_cari_writer *w, const unsigned char *data, size_t len,
                                 const char *name_hint, char *err, size_t errlen);

/* The zip file name of entry `index` ("csr/x.csr", ...) or NULL. */
const char *bacsc_cari_writer_entry_name(const bacsc_cari_writer *w, size_t index);
/* The writer's batch id. */
const char *bacsc_cari_writer_batch_id(const bacsc_cari_writer *w);

/*
 * Produce the archive in memory (*out malloc'd, caller frees).
 * Returns BACSC_OK, BACSC_ERR_NOMEM, BACSC_ERR_IO (libzip failure).
 */
int bacsc_cari_writer_to_buffer(bacsc_cari_writer *w, unsigned char **out, size_t *out_len);

/*
 * Write the archive to `path` atomically (temporary file in the same
 * directory, fsync, rename; mode 0644). If `sha256` is not NULL it receives
 * the SHA-256 of the file's octets (for the CA's batch record).
 * Returns BACSC_OK, BACSC_ERR_IO, BACSC_ERR_NOMEM.
 */
int bacsc_cari_writer_write_file(bacsc_cari_writer *w, const char *path,
                                 unsigned char sha256[BACSC_CARI_FP_LEN]);

void bacsc_cari_writer_free(bacsc_cari_writer *w);

/* ---- names -------------------------------------------------------------- */

const char *bacsc_cari_kind_name(bacsc_cari_kind kind);    /* "request", "response", "unknown" */
const char *bacsc_cari_type_name(bacsc_cari_type type);    /* "csr", "certificate", ... */
const char *bacsc_cari_match_name(bacsc_cari_match_how h); /* "none", "correlation", "key" */
/* Lower-case hex of a fingerprint into `hex` (65 octets). Returns hex. */
char *bacsc_cari_fp_hex(const unsigned char fp[BACSC_CARI_FP_LEN], char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
