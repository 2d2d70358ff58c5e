/*
 * bacsc/pki.h — site certificate authority, issuing policy and CA store.
 *
 * Three layers, usable separately:
 *
 *  1. Key and certificate helpers (bacsc_pki_*): key generation and 0600 key
 *     files, public-key fingerprints (SHA-256 over the DER SubjectPublicKeyInfo,
 *     the value CARI uses to match a certificate to its request), CSR and
 *     certificate inspection, the BACnet/SC operational-certificate profile, and
 *     a demo PKI for tests.
 *  2. Issuing policy (bacsc_policy_*): what a CSR must look like to be signed,
 *     kept in DIR/policy.json.
 *  3. The CA (bacsc_ca_*): an open CA directory — key, certificate, policy and
 *     the SQLite store (DIR/ca.db) of batches, requests, certificates and an
 *     append-only audit log. Every state change is one SQLite transaction.
 *
 * Files of a CA directory:
 *     ca.key       CA private key, PKCS#8 PEM, mode 0600 (AES-256 encrypted
 *                  when created with a passphrase)
 *     ca.pem       CA certificate (self-signed, or signed by an enterprise root)
 *     chain.pem    issuer chain above ca.pem (issuing CA only; may be absent)
 *     ca.csr       the CA's own CSR (issuing CA awaiting its certificate)
 *     policy.json  issuing policy
 *     ca.db        SQLite store (WAL mode)
 *
 * BACnet/SC rule: a peer accepts a certificate only when it is signed DIRECTLY
 * by one of its installed issuer certificates. Devices must therefore be given
 * ca.pem (this CA), not an enterprise root above it.
 *
 * Conventions: functions return BACSC_OK (0) or a non-negative count on
 * success and a negative BACSC_ERR_* code (bacsc/error.h) on failure. Functions
 * on an open CA leave a one-line English reason in bacsc_ca_errmsg(). A
 * bacsc_ca handle is not thread-safe: use one per thread (SQLite WAL allows
 * several processes and handles on the same directory).
 */
#ifndef BACSC_PKI_H
#define BACSC_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_PKI_FP_LEN 32        /* SHA-256 public-key fingerprint, octets */
#define BACSC_PKI_FP_HEX_LEN 65    /* lower-case hex + NUL */
#define BACSC_PKI_UUID_STR_LEN 37  /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */
#define BACSC_PKI_SERIAL_LEN 16    /* serial number octets */
#define BACSC_PKI_SERIAL_HEX_LEN 33
#define BACSC_PKI_REASON_LEN 200   /* one-line rejection reasons */
#define BACSC_PKI_MAX_CSR_DER 65536 /* a CSR larger than this is refused */

/* ======================================================================== */
/* 1. Keys, fingerprints, CSRs, certificates                                */
/* ======================================================================== */

/* Key types. Only the first three can be created by `bacsc ca init`; all of
 * them can be named in the policy's allowed key types. */
enum bacsc_key_type {
    BACSC_KEY_UNKNOWN = 0, /* anything else (RSA-1024, Ed25519, other curves…) */
    BACSC_KEY_EC_P256 = 1, /* "ec-p256" — the BACnet/SC baseline */
    BACSC_KEY_EC_P384 = 2, /* "ec-p384" */
    BACSC_KEY_RSA_3072 = 3, /* "rsa-3072" */
    BACSC_KEY_RSA_2048 = 4, /* "rsa-2048" */
    BACSC_KEY_RSA_4096 = 5, /* "rsa-4096" */
    BACSC_KEY_EC_P521 = 6  /* "ec-p521" */
};
#define BACSC_KEY_TYPE_COUNT 7
#define BACSC_KEY_BIT(t) (1u << (t))

/* Parse "ec-p256" etc. Returns the bacsc_key_type, or BACSC_ERR_INVALID_ARG. */
int bacsc_pki_key_type_parse(const char *name);
/* Name of a bacsc_key_type ("ec-p256"…, "unknown"). Never NULL. */
const char *bacsc_pki_key_type_name(int type);
/* Classify a key. Returns a bacsc_key_type (BACSC_KEY_UNKNOWN if none fits). */
int bacsc_pki_key_type_of(const EVP_PKEY *key);
/* Describe any key for messages, e.g. "RSA-1024", "EC secp256k1", "ED25519". */
void bacsc_pki_key_describe(const EVP_PKEY *key, char *out, size_t outlen);

/* Generate a key of `type` (ec-p256, ec-p384, ec-p521, rsa-*). *out is owned
 * by the caller (EVP_PKEY_free). Returns 0, BACSC_ERR_INVALID_ARG, or
 * BACSC_ERR_CRYPTO. */
int bacsc_pki_keygen(int type, EVP_PKEY **out);

/* Write `key` as PKCS#8 PEM to `path`, created with mode 0600 (an existing
 * file is replaced atomically via a temporary file + rename). A non-NULL,
 * non-empty `passphrase` encrypts it with AES-256-CBC (PBES2). Returns 0,
 * BACSC_ERR_IO or BACSC_ERR_CRYPTO. */
int bacsc_pki_key_write(const char *path, EVP_PKEY *key, const char *passphrase);

/* Read a PEM (PKCS#8, traditional) or DER private key. `passphrase` may be
 * NULL. Returns 0, BACSC_ERR_IO (cannot read), BACSC_ERR_STATE (encrypted and
 * no or wrong passphrase) or BACSC_ERR_MALFORMED. */
int bacsc_pki_key_read(const char *path, const char *passphrase, EVP_PKEY **out);

/* SHA-256 over the DER SubjectPublicKeyInfo of `key`. Returns 0 or
 * BACSC_ERR_CRYPTO. */
int bacsc_pki_key_fingerprint(const EVP_PKEY *key, uint8_t fp[BACSC_PKI_FP_LEN]);
/* Same fingerprint, of the public key inside a DER CSR / DER certificate.
 * Returns 0 or BACSC_ERR_MALFORMED. */
int bacsc_pki_csr_key_fingerprint(const uint8_t *der, size_t len, uint8_t fp[BACSC_PKI_FP_LEN]);
int bacsc_pki_cert_key_fingerprint(const uint8_t *der, size_t len, uint8_t fp[BACSC_PKI_FP_LEN]);

/* Lower-case hex of `n` octets into `out` (2n+1 octets). */
void bacsc_pki_hex(const uint8_t *data, size_t n, char *out);

/* Random version-4 UUID as lower-case text (RAND_bytes). Returns 0 or
 * BACSC_ERR_CRYPTO. */
int bacsc_pki_uuid_random(char out[BACSC_PKI_UUID_STR_LEN]);

/* Kinds of object for bacsc_pki_to_der(). */
enum bacsc_pki_kind { BACSC_PKI_CSR = 1, BACSC_PKI_CERT = 2 };

/* Normalise one CSR or certificate given as PEM or DER to DER. The first PEM
 * block of the right kind is taken ("CERTIFICATE REQUEST" or "NEW CERTIFICATE
 * REQUEST" for CSRs). *der is malloc'd (free()). Returns 0,
 * BACSC_ERR_MALFORMED or BACSC_ERR_LIMIT (input above BACSC_PKI_MAX_CSR_DER
 * for a CSR). */
int bacsc_pki_to_der(int kind, const uint8_t *data, size_t len, uint8_t **der, size_t *der_len);

/* Every certificate in a buffer: one DER certificate, or any number of PEM
 * CERTIFICATE blocks. *out is a new stack owned by the caller
 * (sk_X509_pop_free(*out, X509_free)). Returns the count (>= 1) or
 * BACSC_ERR_MALFORMED when the buffer holds no certificate. */
int bacsc_pki_certs_parse(const uint8_t *data, size_t len, STACK_OF(X509) **out);

/* A CSR parsed once, with its self-signature verified at most once
 * (opaque). The CARI reader keeps one on each CSR entry
 * (bacsc_cari_entry.csr) and bacsc_ca_submit reuses it through
 * bacsc_request_in.parsed, so the pipeline decodes and verifies each CSR
 * once; see docs/ca.md "Performance". */
typedef struct bacsc_csr bacsc_csr;

/* What a CSR asks for, as read from its DER (no policy applied). */
typedef struct bacsc_csr_info {
    int key_type;                          /* bacsc_key_type */
    char key_desc[32];                     /* e.g. "EC P-256", "RSA-2048" */
    char subject[256];                     /* one-line RFC 2253 subject */
    char cn[128];                          /* first commonName, "" if none */
    char device_uuid[BACSC_PKI_UUID_STR_LEN]; /* from a urn:uuid: SAN, "" if none */
    uint8_t key_fp[BACSC_PKI_FP_LEN];
    bool signature_ok;                     /* self-signature verifies */
    bool requests_ca;                      /* basicConstraints CA:TRUE requested */
    unsigned n_uuid;                       /* number of urn:uuid: SANs */
    unsigned n_dns, n_ip, n_uri_other, n_other; /* other SAN counts */
} bacsc_csr_info;

/* Inspect a DER CSR. Returns 0, or BACSC_ERR_MALFORMED (not a CSR / bad SAN
 * extension) with `why` (may be NULL) holding a one-line reason. */
int bacsc_pki_csr_inspect(const uint8_t *der, size_t len, bacsc_csr_info *info, char *why,
                          size_t whylen);

/* What a certificate says. */
typedef struct bacsc_cert_info {
    char serial[2 * 20 + 1];               /* lower-case hex */
    char subject[256];
    char issuer[256];
    char cn[128];
    char device_uuid[BACSC_PKI_UUID_STR_LEN];
    int64_t not_before, not_after;         /* Unix seconds */
    uint8_t key_fp[BACSC_PKI_FP_LEN];
    bool is_ca;
} bacsc_cert_info;

/* Inspect a certificate. Returns 0 or BACSC_ERR_MALFORMED. */
int bacsc_pki_cert_inspect(X509 *cert, bacsc_cert_info *info);
int bacsc_pki_cert_inspect_der(const uint8_t *der, size_t len, bacsc_cert_info *info);

/* Is `cert` signed directly by `issuer` (issuer name matches and the
 * signature verifies with the issuer's key)? Returns 1 yes, 0 no. */
int bacsc_pki_cert_issued_by(X509 *cert, X509 *issuer);

/* Write a file safely: refused (BACSC_ERR_IO, errno EPERM) when its
 * directory is writable by others; else written to a new mkstemp() file in
 * that directory with exactly `mode`, fsync'd and renamed over `path` (a
 * symlink at `path` is replaced, never followed). Returns 0, BACSC_ERR_IO
 * (errno kept) or BACSC_ERR_NOMEM. */
int bacsc_pki_write_file(const char *path, const void *data, size_t len, int mode);
/* 0 when the directory holding `path` exists and no other user can write
 * into it: not writable by others, owned by the caller or root, and not
 * writable by a group another user belongs to (a user-private group is
 * fine); else BACSC_ERR_IO with errno (EPERM: another user could plant a
 * link or swap the file between its writing and the rename). */
int bacsc_pki_check_out_dir(const char *path);
/* strerror(e), except EPERM from the checks above: "another user can write
 * into its directory (refused)". */
const char *bacsc_pki_write_errtext(int e);

/* Write certificates (PEM) / a CSR (PEM) to a file, mode 0644, atomically. */
int bacsc_pki_cert_write(const char *path, X509 *const *certs, size_t n);
int bacsc_pki_csr_write(const char *path, const uint8_t *der, size_t len);

/* Read a PEM or DER certificate file (the first certificate). */
int bacsc_pki_cert_read(const char *path, X509 **out);

/* Start-up checks of the files a node, hub or tool is given, before any TLS
 * context is made. Each returns BACSC_OK or a negative code (BACSC_ERR_IO: the
 * file cannot be read; BACSC_ERR_MALFORMED: its content is wrong) with ONE line
 * in err naming the file and what is wrong: is a directory, is a CSR, is not
 * a PEM or DER certificate / private key, certificate expired on DATE, not yet
 * valid, is not a CA certificate (issuer files), key does not match the
 * certificate. `now` is the time to check validity against. */
#define BACSC_PKI_EXPIRY_WARN_DAYS 30
/* A certificate file (issuer: must also be a CA). *out (may be NULL) gets the
 * certificate on success; free with X509_free(). */
int bacsc_pki_check_cert_file(const char *path, bool issuer, time_t now, X509 **out, char *err,
                              size_t errlen);
/* A private key file; when cert is given, the key must match it. */
int bacsc_pki_check_key_file(const char *path, X509 *cert, const char *cert_path, char *err,
                             size_t errlen);
/* The notAfter dates (Unix seconds; 0: no such file) the check read, so that
 * nothing reads the files again to warn about expiry. */
#define BACSC_PKI_CHECK_MAX_ISSUERS 4
typedef struct bacsc_pki_node_dates {
    int64_t cert_not_after;
    int64_t issuer_not_after[BACSC_PKI_CHECK_MAX_ISSUERS]; /* the first issuer files */
} bacsc_pki_node_dates;
/* All of them (any may be NULL / n_issuers 0), each file read once. On
 * success, warn (may be NULL) holds a one-line warning when the own
 * certificate expires within BACSC_PKI_EXPIRY_WARN_DAYS days, else "", and
 * dates (may be NULL) the notAfter dates. */
int bacsc_pki_check_node_files(const char *cert_file, const char *key_file,
                               const char *const *issuer_files, size_t n_issuers, time_t now,
                               bacsc_pki_node_dates *dates, char *err, size_t errlen, char *warn,
                               size_t warnlen);

/* Fields of a certificate to issue, or of a CSR to make. Strings may be NULL. */
typedef struct bacsc_cert_spec {
    const char *cn;               /* subject commonName */
    const char *org;              /* subject organizationName (optional) */
    const char *device_uuid;      /* becomes SAN URI urn:uuid:<uuid> */
    const char *const *dns;       /* SAN dNSName entries */
    size_t n_dns;
    const char *const *ip;        /* SAN iPAddress entries (IPv4/IPv6 text) */
    size_t n_ip;
    int validity_days;            /* issue only; <= 0 means 365 */
} bacsc_cert_spec;

/* Make a DER CSR for `key` (signed with SHA-256) carrying `spec`'s subject and
 * SANs. `ca` true asks for basicConstraints CA:TRUE (used for the issuing
 * CA's own CSR). *der is malloc'd. Returns 0, BACSC_ERR_INVALID_ARG (bad IP
 * text / empty spec) or BACSC_ERR_CRYPTO. */
int bacsc_pki_make_csr(EVP_PKEY *key, const bacsc_cert_spec *spec, bool ca, uint8_t **der,
                       size_t *len);

/* Self-signed CA certificate: basicConstraints critical CA:TRUE pathlen:0,
 * keyUsage critical keyCertSign+cRLSign, SKI, AKI; subject CN=name (and
 * O=org if given). Returns 0 or BACSC_ERR_CRYPTO. */
int bacsc_pki_make_ca_cert(EVP_PKEY *key, const char *name, const char *org, int validity_days,
                           X509 **out);

/* The operational-certificate signer: a CA certificate + key prepared once
 * (issuer name, AKI and constant extensions built once), then used for any
 * number of certificates. Thread-safe for concurrent bacsc_signer_issue*()
 * calls once created. */
typedef struct bacsc_signer bacsc_signer;

/* Create a signer; takes its own references to `ca_cert` and `ca_key`.
 * Returns 0, BACSC_ERR_INVALID_ARG (key does not match the certificate) or
 * BACSC_ERR_CRYPTO. */
int bacsc_signer_new(X509 *ca_cert, EVP_PKEY *ca_key, bacsc_signer **out);
void bacsc_signer_free(bacsc_signer *s);

/* Issue an operational certificate for `pubkey` with `spec`'s subject and
 * SANs. Profile: v3, random positive 16-octet serial, SHA-256, notBefore =
 * now - 1 h (clock skew), notAfter = notBefore + validity; basicConstraints
 * critical CA:FALSE; keyUsage critical digitalSignature; EKU serverAuth +
 * clientAuth; SKI; AKI (keyid of the CA); SAN when spec has any. Returns 0,
 * BACSC_ERR_INVALID_ARG or BACSC_ERR_CRYPTO. */
int bacsc_signer_issue(bacsc_signer *s, EVP_PKEY *pubkey, const bacsc_cert_spec *spec,
                       int64_t now, X509 **out);

/* What to carry over from a CSR to the certificate. */
typedef struct bacsc_carry {
    bool subject_full;  /* whole CSR subject (else only its CN) */
    bool uuid;          /* urn:uuid: SAN */
    bool dns;           /* dNSName SANs */
    bool ip;            /* iPAddress SANs */
    bool uri_other;     /* other URI SANs */
} bacsc_carry;

/* Issue an operational certificate from a CSR (already validated by the
 * caller): subject and SANs carried over as `carry` says, same profile as
 * bacsc_signer_issue(). `serial` (16 octets) is used when non-NULL, else a
 * random one is drawn. Returns 0, BACSC_ERR_MALFORMED or BACSC_ERR_CRYPTO. */
int bacsc_signer_issue_csr(bacsc_signer *s, X509_REQ *req, const bacsc_carry *carry,
                           int validity_days, int64_t now, const uint8_t *serial, X509 **out);

/* Write a demo PKI into `dir` (created if missing): ca.pem/ca.key, hub.pem/
 * hub.key (CN=hub) and node1.pem/node1.key … nodeN (CN=nodeI); every
 * operational certificate carries SANs urn:uuid:<random v4>, DNS localhost
 * and IP 127.0.0.1; EC P-256 keys, mode 0600; also uuids.txt ("name uuid"
 * per line). Returns 0 or a BACSC_ERR_* with `err` (may be NULL) set. */
int bacsc_pki_demo(const char *dir, unsigned nodes, char *err, size_t errlen);

/* CRL reason codes (RFC 5280): parse "keyCompromise" etc. (case-insensitive,
 * also "key-compromise"), return the code 0..10 or BACSC_ERR_INVALID_ARG. */
int bacsc_pki_crl_reason_parse(const char *name);
const char *bacsc_pki_crl_reason_name(int code);

/* ---- CRLs a device is given (docs/security.md "Revocation") -------------- */

/* Every CRL in a buffer: one DER CRL, or any number of PEM "X509 CRL" blocks
 * (nothing else but whitespace around them). *out is a new stack owned by
 * the caller (sk_X509_CRL_pop_free(*out, X509_CRL_free)). Returns the count
 * (0 for an empty buffer) or BACSC_ERR_MALFORMED. */
int bacsc_pki_crls_parse(const uint8_t *data, size_t len, STACK_OF(X509_CRL) **out);

#define BACSC_CRL_SET_MAX 4 /* CRLs a device keeps (one per issuer) */

/* The set `set` (PEM or DER, may be empty) with `crl` (one CRL) in place of
 * the CRL of the same issuer (by name), or added: *out malloc'd PEM.
 * *already: `set` holds this very CRL (nothing to do). Returns 0,
 * BACSC_ERR_MALFORMED (either does not parse, `crl` is not exactly one
 * CRL) or BACSC_ERR_NOMEM. */
int bacsc_pki_crl_merge(const uint8_t *set, size_t set_len, const uint8_t *crl, size_t crl_len,
                        uint8_t **out, size_t *out_len, bool *already);
/* One CRL's issuer (one line), crlNumber (-1 when absent), thisUpdate and
 * nextUpdate (Unix seconds, 0 when absent). Returns 0 or
 * BACSC_ERR_MALFORMED (not exactly one CRL). */
typedef struct bacsc_crl_info {
    char issuer[256];
    long number;
    int64_t this_update, next_update;
    int revoked; /* entries */
} bacsc_crl_info;
int bacsc_pki_crl_info(const uint8_t *crl, size_t len, bacsc_crl_info *info);

/* What a device says about a CRL set it is asked to activate. */
enum bacsc_crl_check {
    BACSC_CRL_OK = 0,
    BACSC_CRL_MALFORMED = 1,      /* not CRLs, two of one issuer, more than BACSC_CRL_SET_MAX */
    BACSC_CRL_UNKNOWN_ISSUER = 2, /* a CRL not signed by one of the device's issuers */
    BACSC_CRL_ROLLBACK = 3,       /* older than (or drops) the installed CRL of an issuer */
    BACSC_CRL_EXPIRED = 4         /* past its nextUpdate (it would refuse every peer) */
};

/*
 * Check the CRL set `next` (PEM or DER, may be empty) a device is asked to
 * activate, against its issuers and the set it has installed:
 *  - every CRL must be signed by one of `issuers` (name and signature; an
 *    issuer whose keyUsage lacks cRLSign does not count), at most one per
 *    issuer, not past its nextUpdate at `now` (Unix seconds);
 *  - for every installed CRL whose issuer is still in `issuers`, `next` must
 *    hold one of the same issuer that is not older: a higher or equal
 *    crlNumber (equal only for the very same CRL), or without numbers a
 *    thisUpdate not earlier;
 *  - a CRL of an issuer no longer trusted that is also installed is dropped
 *    silently (the issuer was removed).
 * *out (malloc'd PEM, *out_len 0 and *out NULL for none) is the set to
 * keep. Returns an enum bacsc_crl_check code with `why` set, or a negative
 * BACSC_ERR_* (no memory).
 */
int bacsc_pki_crl_set_check(const uint8_t *next, size_t next_len, STACK_OF(X509) *issuers,
                            const uint8_t *installed, size_t installed_len, int64_t now,
                            uint8_t **out, size_t *out_len, char *why, size_t cap);

/* ======================================================================== */
/* 2. Issuing policy (DIR/policy.json)                                      */
/* ======================================================================== */

enum bacsc_uuid_rule {
    BACSC_UUID_OPTIONAL = 0, /* "optional": carried over when present */
    BACSC_UUID_REQUIRED = 1, /* "required": a CSR without one is refused */
    BACSC_UUID_FORBIDDEN = 2 /* "forbidden": a CSR with one is refused */
};
/* Auto-approval rests on the authenticated submitter (bacsc_actor), never on
 * what a request file says about itself. */
enum bacsc_auto_approve {
    BACSC_AUTO_OFF = 0,  /* "off": every request waits for an administrator */
    BACSC_AUTO_ALL = 1,  /* "all": every request that passes policy, from any authenticated
                          * submitter (bacsc_actor kind other than NONE) */
    BACSC_AUTO_MATCH = 2 /* "match": only batches submitted by an actor listed in
                          * auto_approve_submitters ("kind:name", e.g. "account:alice",
                          * "token:installer", "local:root"); auto_approve_sites/origins,
                          * when set, further restrict (claims, never sufficient) */
};
enum bacsc_renewal_rule {
    BACSC_RENEW_SAME_KEY = 0, /* "same-key": same UUID + same public key as a valid cert */
    BACSC_RENEW_MANUAL = 1,   /* "manual": also a new key, but never auto-approved */
    BACSC_RENEW_OFF = 2       /* "off": a UUID held by a valid cert is always refused */
};

#define BACSC_POLICY_MAX_LIST 16
#define BACSC_POLICY_MAX_STR 128

typedef struct bacsc_policy {
    unsigned key_types;      /* BACSC_KEY_BIT() set; default ec-p256 only */
    int validity_days;       /* operational certificates; default 730 */
    int uuid_rule;           /* bacsc_uuid_rule; default optional */
    int renewal;             /* bacsc_renewal_rule; default same-key */
    bool require_cn;         /* default true */
    bacsc_carry carry;       /* default: CN only, uuid yes; dns, ip, other URIs no */
    int auto_approve;        /* bacsc_auto_approve; default off */
    size_t n_sites;          /* auto_approve_sites */
    char sites[BACSC_POLICY_MAX_LIST][BACSC_POLICY_MAX_STR];
    size_t n_origins;        /* auto_approve_origins */
    char origins[BACSC_POLICY_MAX_LIST][BACSC_POLICY_MAX_STR];
    size_t n_submitters;     /* auto_approve_submitters: "kind:name" of authenticated actors */
    char submitters[BACSC_POLICY_MAX_LIST][BACSC_POLICY_MAX_STR];
    size_t n_san_domains;    /* san_domains: dNSName SANs are carried (carry_dns) only when
                              * equal to or under one of these; wildcards are refused */
    char san_domains[BACSC_POLICY_MAX_LIST][BACSC_POLICY_MAX_STR];
    size_t n_submitter_keys; /* submitter_keys: "NAME=SHA256" of the certificates whose
                              * signed request batches (signature.p7s) authenticate their
                              * submitter as key:NAME (docs/ca.md "Signed batches") */
    char submitter_keys[BACSC_POLICY_MAX_LIST][BACSC_POLICY_MAX_STR];
    unsigned max_batch;      /* max CSRs per submitted batch; default 20000 */
    int crl_days;            /* CRL nextUpdate - thisUpdate; default 7 */
} bacsc_policy;

/* Defaults as documented above. */
void bacsc_policy_default(bacsc_policy *p);

/* Load / save DIR/policy.json. Unknown keys are an error on load (typos must
 * not silently weaken policy). Save is atomic (temp file + rename). Return 0,
 * BACSC_ERR_IO or BACSC_ERR_MALFORMED with `err` (may be NULL) set. */
int bacsc_policy_load(const char *path, bacsc_policy *p, char *err, size_t errlen);
int bacsc_policy_save(const char *path, const bacsc_policy *p, char *err, size_t errlen);

/* Policy as JSON (the same object as policy.json). New reference. */
json_t *bacsc_policy_to_json(const bacsc_policy *p);
/* Parse a JSON object into `p` (starting from defaults). Returns 0 or
 * BACSC_ERR_MALFORMED with `err` set. */
int bacsc_policy_from_json(const json_t *obj, bacsc_policy *p, char *err, size_t errlen);

/* Set one key from text, e.g. ("key_types", "ec-p256,ec-p384"),
 * ("validity_days", "365"), ("auto_approve", "match"),
 * ("auto_approve_sites", "plant-a,plant-b"), ("carry_dns", "false").
 * Keys are listed in docs/ca.md. Returns 0 or BACSC_ERR_INVALID_ARG with
 * `err` set. */
int bacsc_policy_set(bacsc_policy *p, const char *key, const char *value, char *err,
                     size_t errlen);

/* Check a CSR against the policy's static rules (signature, key type, CA
 * request, subject and SAN rules). Does not look at the store (Device UUID
 * uniqueness is bacsc_ca_submit()'s job). Returns 0 acceptable,
 * BACSC_ERR_POLICY (or BACSC_ERR_MALFORMED) with a one-line reason in `why`. */
int bacsc_policy_check_csr(const bacsc_policy *p, const uint8_t *der, size_t len,
                           bacsc_csr_info *info, char *why, size_t whylen);

/* ======================================================================== */
/* 3. The CA and its store                                                  */
/* ======================================================================== */

typedef struct bacsc_ca bacsc_ca;

typedef struct bacsc_ca_init_params {
    const char *dir;          /* created if missing; must not hold a CA yet */
    const char *name;         /* CA subject CN */
    const char *org;          /* optional subject O */
    int key_type;             /* BACSC_KEY_EC_P256 (default when 0), _EC_P384, _RSA_3072 */
    int validity_years;       /* self-signed certificate; <= 0 means 10 */
    const char *passphrase;   /* encrypt ca.key when non-NULL and non-empty */
    bool issuing;             /* write ca.csr instead of a self-signed ca.pem */
    const char *actor;        /* for the audit log; NULL = $USER */
} bacsc_ca_init_params;

/* Create a CA directory: key (0600), certificate or CSR, policy.json
 * (defaults), ca.db (schema, WAL). Returns 0 or BACSC_ERR_EXISTS (a CA is
 * already there), BACSC_ERR_IO, BACSC_ERR_CRYPTO, BACSC_ERR_DB with `err` set. */
int bacsc_ca_init(const bacsc_ca_init_params *p, char *err, size_t errlen);

/* Open a CA directory. The key is read when first needed (signing) using
 * `passphrase` (may be NULL; copied). Returns 0 or BACSC_ERR_NOT_FOUND (no CA
 * there), BACSC_ERR_DB, BACSC_ERR_MALFORMED with `err` set. */
int bacsc_ca_open(const char *dir, const char *passphrase, bacsc_ca **out, char *err,
                  size_t errlen);
void bacsc_ca_close(bacsc_ca *ca);

/* The last failure's one-line reason ("" if none). */
const char *bacsc_ca_errmsg(const bacsc_ca *ca);
/* Who is acting (audit log, decided_by): a display name only, e.g. the
 * CLI's --actor. Default: the name of the process's user id. It is not an
 * authenticated identity and never enables auto-approval; see bacsc_actor. */
void bacsc_ca_set_actor(bacsc_ca *ca, const char *actor);

/* How the front end authenticated whoever is acting on the CA. */
enum bacsc_actor_kind {
    BACSC_ACTOR_NONE = 0,    /* nobody authenticated (e.g. an anonymous upload): never
                              * auto-approved */
    BACSC_ACTOR_LOCAL = 1,   /* a local process; name = the user of its uid (the operating
                              * system authenticated it; it can read the CA directory) */
    BACSC_ACTOR_ACCOUNT = 2, /* a web-console account, logged in */
    BACSC_ACTOR_TOKEN = 3,   /* an API token; name = the token's name, never its secret */
    BACSC_ACTOR_SIGNED = 4   /* a batch signed by a registered submitter key; name = its name */
};

/* The authenticated actor. Front ends (CLI, web console) fill it from what
 * they verified themselves; the CA never takes it from a request file. */
typedef struct bacsc_actor {
    int kind;                /* bacsc_actor_kind */
    const char *name;        /* authenticated name (account, token or key name, user) */
    const char *address;     /* remote address ("192.0.2.7:51234") or NULL when local */
    const char *display;     /* name shown in decided_by and the audit's actor column; NULL =
                              * `name` (the CLI passes --actor here) */
} bacsc_actor;

/* Set the authenticated actor for everything this handle does from now on
 * (strings copied). The audit log records it in every row (its `auth`
 * column: "<kind>:<name>[@<address>]", e.g. "account:alice@192.0.2.7:51234",
 * "local:root") and submit stores it with each batch (`submitter`).
 * Auto-approval rests on it alone (policy auto_approve, auto_approve_submitters),
 * never on a batch's site, origin or device fields, which are unverified claims.
 * bacsc_ca_open() starts with {LOCAL, <uid's user name>}. Returns 0 or
 * BACSC_ERR_INVALID_ARG (unknown kind, or no name for an authenticated kind). */
int bacsc_ca_set_actor_auth(bacsc_ca *ca, const bacsc_actor *actor);
/* The submitter_keys name of the certificate with SHA-256 `fp` (of its DER)
 * into name (cap octets): true when the policy lists it. */
bool bacsc_policy_submitter(const bacsc_policy *p, const unsigned char fp[32], char *name,
                            size_t cap);
/* The authenticated actor as recorded: "<kind>:<name>[@<address>]" or "none". */
const char *bacsc_ca_actor_auth(const bacsc_ca *ca);
/* Override the clock (Unix seconds) for tests; 0 restores the real clock. */
void bacsc_ca_set_time(bacsc_ca *ca, int64_t now);
/* Check and sign on a pool of `n` worker threads (bacsc/pool.h; 1..64,
 * where 1 means on the calling thread alone; default: the process default
 * of bacsc_pool_default_size(), one per online CPU; see docs/ca.md
 * "Performance"). The store is written by the calling thread only. */
void bacsc_ca_set_threads(bacsc_ca *ca, int n);

const char *bacsc_ca_dir(const bacsc_ca *ca);
/* Make sure this handle can sign: CA certificate installed, key readable
 * (passphrase right) and matching. Call before accepting work that must be
 * signed at once. Returns 0 or BACSC_ERR_STATE / _IO / _INVALID_ARG with the
 * reason in bacsc_ca_errmsg(). */
int bacsc_ca_check_signing(bacsc_ca *ca);

/* The CA certificate (borrowed), NULL while an issuing CA awaits install-cert. */
X509 *bacsc_ca_cert(const bacsc_ca *ca);
/* Issuer chain above the CA certificate (borrowed; may be empty, never NULL). */
STACK_OF(X509) *bacsc_ca_chain(const bacsc_ca *ca);
/* The loaded policy (borrowed). */
const bacsc_policy *bacsc_ca_policy(const bacsc_ca *ca);
/* Set one policy key (see bacsc_policy_set), save policy.json, audit it. */
int bacsc_ca_policy_set(bacsc_ca *ca, const char *key, const char *value);

/* A CSR for this CA's key (CA:TRUE requested, subject of the current
 * certificate or the init name) for an enterprise root to sign. Also written
 * to DIR/ca.csr. *der is malloc'd. */
int bacsc_ca_make_csr(bacsc_ca *ca, uint8_t **der, size_t *len);

/* Install the CA certificate signed by an enterprise CA: `data` is PEM
 * (certificate first, then optionally its issuer chain) or one DER
 * certificate. Checks: public key matches ca.key, basicConstraints CA:TRUE,
 * keyCertSign, currently valid. Writes ca.pem (+ chain.pem), audits. Returns
 * 0, BACSC_ERR_MALFORMED or BACSC_ERR_POLICY with the reason set. */
int bacsc_ca_install_cert(bacsc_ca *ca, const uint8_t *data, size_t len);

/* ---- batches and requests ------------------------------------------------ */

enum bacsc_req_status {
    BACSC_REQ_PENDING = 0,
    BACSC_REQ_APPROVED = 1, /* decided, certificate not yet written */
    BACSC_REQ_REJECTED = 2,
    BACSC_REQ_ISSUED = 3
};
const char *bacsc_req_status_name(int status);

/* Where a submitted set of CSRs came from (a CARI file, a directory, an API
 * caller). All fields optional. */
typedef struct bacsc_batch_in {
    const char *file_name;            /* e.g. "plant-a-2026-11.zip" */
    const uint8_t *sha256;            /* 32 octets of the file, or NULL */
    const char *site;                 /* site name from the manifest */
    const char *origin;               /* producing tool / installer */
    const char *ref;                  /* the file's own batch id (CARI batch_id) */
    /* Every field above is an unverified claim of whoever built the file;
     * who submitted it is the handle's bacsc_actor. */
} bacsc_batch_in;

/* One CSR to submit. */
typedef struct bacsc_request_in {
    const uint8_t *csr;               /* DER (use bacsc_pki_to_der for PEM) */
    size_t csr_len;
    const char *entry;                /* name inside the batch, for messages */
    const char *device_name;          /* optional metadata */
    int64_t device_instance;          /* optional; < 0 = none */
    const char *ref;                  /* correlation id from the batch (CARI request_id) */
    bacsc_csr *parsed;                /* optional: the same CSR as parsed and verified by
                                       * the CARI reader (bacsc_cari_entry.csr); used only
                                       * when parsed from exactly csr/csr_len, else the
                                       * CSR is parsed and verified here */
} bacsc_request_in;

/* The outcome for one request. */
typedef struct bacsc_request_result {
    int64_t id;                       /* request id (0 when not stored) */
    int status;                       /* bacsc_req_status; -1: left unchanged (see reason) */
    char serial[BACSC_PKI_SERIAL_HEX_LEN]; /* when issued */
    char reason[BACSC_PKI_REASON_LEN];     /* when rejected */
} bacsc_request_result;

/* Store a batch of CSRs in one transaction. Each is checked against the
 * policy and, if it carries a Device UUID, for uniqueness among valid
 * certificates and other live requests (renewal rule applies); failures are
 * stored as REJECTED with the reason, the rest as PENDING, or APPROVED when
 * the auto-approve rule matches. Nothing is signed here: call
 * bacsc_ca_issue_approved() next. `results` (n entries, may be NULL) gets
 * each outcome. Returns the number of requests not rejected, or
 * BACSC_ERR_LIMIT (n > max_batch; nothing stored) / BACSC_ERR_DB. */
int bacsc_ca_submit(bacsc_ca *ca, const bacsc_batch_in *batch, const bacsc_request_in *reqs,
                    size_t n, int64_t *batch_id, bacsc_request_result *results);

/* Called once per request decided or issued by the calls below. */
typedef void (*bacsc_result_cb)(const bacsc_request_result *r, void *user);

/* Which requests an approve/reject applies to: the ids given, else every
 * pending request of `batch_id` (> 0), else (all) every pending request. */
typedef struct bacsc_selector {
    const int64_t *ids;
    size_t n_ids;
    int64_t batch_id;
    bool all;
} bacsc_selector;

/* Approve the selected pending requests and issue their certificates
 * (bacsc_ca_issue_approved). Requests that now fail policy (e.g. their Device
 * UUID was issued meanwhile) are rejected with the reason. An id that is not
 * pending (or does not exist) is reported through `cb` with status -1 and the
 * reason set; it is left as it was.
 * Returns the number of certificates issued, or BACSC_ERR_*. */
int bacsc_ca_approve(bacsc_ca *ca, const bacsc_selector *sel, bacsc_result_cb cb, void *user);

/* Reject the selected pending/approved requests with `reason`. Returns the
 * number rejected. */
int bacsc_ca_reject(bacsc_ca *ca, const bacsc_selector *sel, const char *reason,
                    bacsc_result_cb cb, void *user);

/* Sign every APPROVED request (of `batch_id` when > 0), in chunks: each chunk
 * is signed (on the configured threads) and then written in one transaction
 * that inserts the certificate rows and marks the requests ISSUED. Safe to
 * re-run after a crash. Returns the number issued or BACSC_ERR_*. */
int bacsc_ca_issue_approved(bacsc_ca *ca, int64_t batch_id, bacsc_result_cb cb, void *user);

/* A request as stored (strings valid only during the callback). */
typedef struct bacsc_request_row {
    int64_t id, batch_id;
    int status;
    const char *entry, *device_uuid, *device_name, *subject, *key_fp, *reason, *decided_by;
    const char *ref;                  /* correlation id given at submit, or NULL */
    int64_t device_instance;          /* -1 if none */
    int64_t created, decided;         /* Unix seconds; decided 0 if undecided */
    const char *serial;               /* issued certificate, or NULL */
    const uint8_t *csr;
    size_t csr_len;
} bacsc_request_row;
typedef int (*bacsc_request_cb)(const bacsc_request_row *row, void *user);

/* Requests with `status` (< 0 any) of `batch_id` (<= 0 any), by id. The
 * callback returns 0 to go on, non-zero to stop. Returns the number visited. */
int bacsc_ca_requests(bacsc_ca *ca, int status, int64_t batch_id, bacsc_request_cb cb,
                      void *user);

/* ---- certificates -------------------------------------------------------- */

typedef struct bacsc_cert_row {
    const char *serial, *subject, *device_uuid, *key_fp;
    int64_t not_before, not_after, issued;
    bool revoked;
    int revocation_reason;            /* when revoked */
    int64_t revoked_at;
    int64_t request_id, batch_id;
    const uint8_t *der;
    size_t der_len;
} bacsc_cert_row;
typedef int (*bacsc_cert_cb)(const bacsc_cert_row *row, void *user);

typedef struct bacsc_cert_filter {
    int64_t batch_id;                 /* > 0: certificates for requests of this batch */
    int64_t expiring_within;          /* > 0: valid ones with not_after <= now + this (s) */
    bool valid_only;                  /* not revoked, not expired */
    const char *serial;               /* one certificate */
} bacsc_cert_filter;

/* Certificates matching `f` (NULL = all), by issue order. Returns the number
 * visited or BACSC_ERR_*. */
int bacsc_ca_certs(bacsc_ca *ca, const bacsc_cert_filter *f, bacsc_cert_cb cb, void *user);

/* Revoke by serial (hex, case-insensitive, leading zeros optional) with an
 * RFC 5280 reason code. Returns 0, BACSC_ERR_NOT_FOUND, BACSC_ERR_STATE
 * (already revoked). */
int bacsc_ca_revoke(bacsc_ca *ca, const char *serial, int reason);

/* A CRL signed by the CA: every revoked certificate with its reason and date,
 * crlNumber (monotonic), AKI, nextUpdate = now + policy crl_days. *der is
 * malloc'd. Audited. */
int bacsc_ca_crl(bacsc_ca *ca, uint8_t **der, size_t *len);

/* ---- batches and audit --------------------------------------------------- */

/* Record a file produced for a batch (direction "out", e.g. a CARI response),
 * with its SHA-256. Returns 0 and the new batch id in *out_id (may be NULL). */
int bacsc_ca_record_output(bacsc_ca *ca, int64_t for_batch, const char *file_name,
                           const uint8_t sha256[32], int64_t *out_id);

typedef struct bacsc_batch_row {
    int64_t id;
    const char *direction;            /* "in" or "out" */
    const char *file_name, *sha256, *site, *origin, *ref;
    const char *submitter;            /* authenticated actor that submitted it ("in"), or NULL */
    int64_t created, for_batch;       /* for_batch: the "in" batch an "out" answers */
    int64_t n_requests, n_pending, n_issued, n_rejected;
} bacsc_batch_row;
typedef int (*bacsc_batch_cb)(const bacsc_batch_row *row, void *user);
/* Batches (id <= 0: all). Returns the number visited. */
int bacsc_ca_batches(bacsc_ca *ca, int64_t id, bacsc_batch_cb cb, void *user);

typedef struct bacsc_audit_row {
    int64_t id, time;
    const char *actor, *action, *object, *detail;
    const char *auth;                 /* authenticated actor ("local:root"…), NULL if unknown */
} bacsc_audit_row;
typedef int (*bacsc_audit_cb)(const bacsc_audit_row *row, void *user);
/* Audit entries with id > since_id, oldest first. Returns the number visited. */
int bacsc_ca_audit(bacsc_ca *ca, int64_t since_id, bacsc_audit_cb cb, void *user);

/* Result of bacsc_ca_audit_verify(). */
typedef struct bacsc_audit_check {
    int64_t entries;                  /* audit rows */
    int64_t chained;                  /* rows covered by the hash chain */
    int64_t first_bad;                /* first row that breaks the chain (0 = none) */
    int64_t anchored;                 /* last row covered by the keyed anchor (0 = none) */
    bool anchor_checked;              /* the anchor's MAC was checked (CA key available) */
    char problem[BACSC_PKI_REASON_LEN]; /* "" when intact */
} bacsc_audit_check;

/* Check the audit log: every row carries a SHA-256 hash chained to the
 * previous row's (computed by the store itself, covering time, actor,
 * authenticated actor, action, object and detail); the append-only triggers
 * are present; ids have no gap; and the anchor — the chain head, MACed with
 * a key derived from the CA key whenever the key is loaded — still matches
 * (checked when the key is readable). Returns 0 intact, BACSC_ERR_POLICY
 * tampering found (chk->problem says what and where), or BACSC_ERR_DB. */
int bacsc_ca_audit_verify(bacsc_ca *ca, bacsc_audit_check *chk);

#ifdef __cplusplus
}
#endif
#endif
