/*
 * cari_object.c — one CSR or certificate (PEM or DER) into a bacsc_cari_entry.
 *
 * This is the only place CARI code turns outside octets into OpenSSL
 * objects, so it is small and fuzzed on its own (fuzz/fuzz_pem_der.c).
 * Every object is parsed with OpenSSL; a CSR's self-signature is verified;
 * the public key fingerprint is SHA-256 over the SubjectPublicKeyInfo DER,
 * the same value for a CSR and the certificate issued from it.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bacsc/error.h"
#include "cari_internal.h"
#include "pki_internal.h"

/* ---- small shared helpers ------------------------------------------------ */

char *cari_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

void cari_entry_fail(bacsc_cari_entry *e, int status, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++) /* one printable line, always */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    free(e->error);
    e->error = strdup(buf);
    e->status = status;
}

void cari_set_error(bacsc_cari *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    free(c->error);
    c->error = strdup(buf);
}

char *cari_printable(const char *raw, size_t len)
{
    size_t cap = CARI_NAME_MAX + 8;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)raw[i];
        if (o + 5 >= CARI_NAME_MAX) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (ch < 0x20 || ch == 0x7f || ch == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = '\0';
    return out;
}

char *cari_uuid_normalize(const char *s)
{
    if (!s)
        return NULL;
    if (strncasecmp(s, "urn:uuid:", 9) == 0)
        s += 9;
    if (strlen(s) != 36)
        return NULL;
    char *out = malloc(37);
    if (!out)
        return NULL;
    for (int i = 0; i < 36; i++) {
        bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
        if (hyphen ? s[i] != '-' : !isxdigit((unsigned char)s[i])) {
            free(out);
            return NULL;
        }
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[36] = '\0';
    return out;
}

int cari_fp_parse(const char *hex, unsigned char fp[BACSC_CARI_FP_LEN])
{
    if (!hex || strlen(hex) != 2 * BACSC_CARI_FP_LEN)
        return -1;
    for (int i = 0; i < BACSC_CARI_FP_LEN; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            int ch = tolower((unsigned char)hex[2 * i + k]);
            if (ch >= '0' && ch <= '9')
                v = v * 16 + (ch - '0');
            else if (ch >= 'a' && ch <= 'f')
                v = v * 16 + (ch - 'a' + 10);
            else
                return -1;
        }
        fp[i] = (unsigned char)v;
    }
    return 0;
}

char *bacsc_cari_fp_hex(const unsigned char fp[BACSC_CARI_FP_LEN], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < BACSC_CARI_FP_LEN; i++) {
        hex[2 * i] = digits[fp[i] >> 4];
        hex[2 * i + 1] = digits[fp[i] & 15];
    }
    hex[64] = '\0';
    return hex;
}

int cari_device_copy(bacsc_cari_device *dst, const bacsc_cari_device *src)
{
    dst->instance = src ? src->instance : BACSC_CARI_DEVICE_INSTANCE_NONE;
    dst->name = src ? cari_strdup(src->name) : NULL;
    dst->uuid = src ? cari_strdup(src->uuid) : NULL;
    if (src && ((src->name && !dst->name) || (src->uuid && !dst->uuid))) {
        cari_device_clear(dst);
        return BACSC_ERR_NOMEM;
    }
    return BACSC_OK;
}

void cari_device_clear(bacsc_cari_device *d)
{
    free(d->name);
    free(d->uuid);
    d->name = d->uuid = NULL;
    d->instance = BACSC_CARI_DEVICE_INSTANCE_NONE;
}

void bacsc_cari_entry_clear(bacsc_cari_entry *e)
{
    if (!e)
        return;
    free(e->name);
    free(e->error);
    free(e->der);
    pki_csr_free(e->csr);
    free(e->subject);
    free(e->key_type);
    free(e->san_uuid);
    free(e->issuer);
    free(e->serial);
    free(e->request_id);
    cari_device_clear(&e->device);
    memset(e, 0, sizeof *e);
    e->device.instance = BACSC_CARI_DEVICE_INSTANCE_NONE;
    e->match_index = SIZE_MAX;
}

const char *bacsc_cari_kind_name(bacsc_cari_kind kind)
{
    switch (kind) {
    case BACSC_CARI_REQUEST:
        return "request";
    case BACSC_CARI_RESPONSE:
        return "response";
    default:
        return "unknown";
    }
}

const char *bacsc_cari_type_name(bacsc_cari_type type)
{
    switch (type) {
    case BACSC_CARI_ENTRY_CSR:
        return "csr";
    case BACSC_CARI_ENTRY_CERTIFICATE:
        return "certificate";
    case BACSC_CARI_ENTRY_ISSUER:
        return "issuer";
    case BACSC_CARI_ENTRY_MANIFEST:
        return "manifest";
    case BACSC_CARI_ENTRY_SIGNATURE:
        return "signature";
    default:
        return "invalid";
    }
}

const char *bacsc_cari_match_name(bacsc_cari_match_how h)
{
    switch (h) {
    case BACSC_CARI_MATCH_CORRELATION:
        return "correlation";
    case BACSC_CARI_MATCH_KEY:
        return "key";
    default:
        return "none";
    }
}

/* ---- OpenSSL field extraction -------------------------------------------- */

static char *name_oneline(const X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return NULL;
    char *out = NULL;
    if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        char *p;
        long l = BIO_get_mem_data(b, &p);
        if (l >= 0 && (out = malloc((size_t)l + 1)) != NULL) {
            memcpy(out, p, (size_t)l);
            out[l] = '\0';
            for (char *q = out; *q; q++)
                if ((unsigned char)*q < 0x20 || *q == 0x7f)
                    *q = '?';
        }
    }
    BIO_free(b);
    return out;
}

static char *key_type_of(EVP_PKEY *pk)
{
    char buf[80]; /* "EC " + a group name of up to 63 characters */
    int id = EVP_PKEY_get_base_id(pk);
    if (id == EVP_PKEY_EC) {
        char group[64] = "";
        size_t gl = 0;
        if (!EVP_PKEY_get_group_name(pk, group, sizeof group, &gl))
            snprintf(group, sizeof group, "unknown-curve");
        const char *nist = strcmp(group, "prime256v1") == 0   ? "P-256"
                           : strcmp(group, "secp384r1") == 0 ? "P-384"
                           : strcmp(group, "secp521r1") == 0 ? "P-521"
                                                             : group;
        snprintf(buf, sizeof buf, "EC %s", nist);
    } else if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
        snprintf(buf, sizeof buf, "RSA %d", EVP_PKEY_get_bits(pk));
    } else if (id == EVP_PKEY_ED25519) {
        snprintf(buf, sizeof buf, "ED25519");
    } else if (id == EVP_PKEY_ED448) {
        snprintf(buf, sizeof buf, "ED448");
    } else {
        const char *n = OBJ_nid2sn(id);
        snprintf(buf, sizeof buf, "%s", n ? n : "unknown");
    }
    return strdup(buf);
}

static int spki_fingerprint(X509_PUBKEY *xpk, unsigned char fp[BACSC_CARI_FP_LEN])
{
    unsigned char *der = NULL;
    int l = i2d_X509_PUBKEY(xpk, &der);
    if (l <= 0)
        return -1;
    unsigned int fl = 0;
    int ok = EVP_Digest(der, (size_t)l, fp, &fl, EVP_sha256(), NULL);
    OPENSSL_free(der);
    return ok && fl == BACSC_CARI_FP_LEN ? 0 : -1;
}

/* The first urn:uuid: URI SAN, normalised; NULL if none. *bad is set when a
 * urn:uuid: SAN is present but not a valid UUID. */
static char *san_uuid_of(GENERAL_NAMES *gens, bool *bad)
{
    *bad = false;
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type != GEN_URI)
            continue;
        const ASN1_IA5STRING *s = g->d.uniformResourceIdentifier;
        char buf[64];
        int l = ASN1_STRING_length(s);
        if (l < 9 || l >= (int)sizeof buf)
            continue;
        memcpy(buf, ASN1_STRING_get0_data(s), (size_t)l);
        buf[l] = '\0';
        if (strlen(buf) != (size_t)l || strncasecmp(buf, "urn:uuid:", 9) != 0)
            continue;
        char *u = cari_uuid_normalize(buf);
        if (!u)
            *bad = true;
        return u;
    }
    return NULL;
}

static int fill_names(bacsc_cari_entry *e, EVP_PKEY *pk, const X509_NAME *subj)
{
    e->subject = name_oneline(subj);
    e->key_type = key_type_of(pk);
    return e->subject && e->key_type ? BACSC_OK : BACSC_ERR_NOMEM;
}

static int fill_common(bacsc_cari_entry *e, X509_PUBKEY *xpk, EVP_PKEY *pk, const X509_NAME *subj)
{
    if (spki_fingerprint(xpk, e->fingerprint) != 0)
        return BACSC_ERR_CRYPTO;
    e->has_fingerprint = true;
    return fill_names(e, pk, subj);
}

/* Key types worth verifying a CSR for (0 = any), set per thread for the
 * duration of cari_parse_object_keys(). */
static _Thread_local unsigned csr_key_types;

int cari_parse_object_keys(const unsigned char *data, size_t len, bacsc_cari_entry *e,
                           size_t *consumed, unsigned key_types)
{
    csr_key_types = key_types;
    int rc = bacsc_cari_parse_object(data, len, e, consumed);
    csr_key_types = 0;
    return rc;
}

static int fill_csr(bacsc_cari_entry *e, bacsc_csr *c)
{
    X509_REQ *req = pki_csr_req(c);
    EVP_PKEY *pk = pki_csr_key(c);
    if (!pk) {
        const char *why = pki_csr_key_problem(c);
        cari_entry_fail(e, why ? BACSC_ERR_LIMIT : BACSC_ERR_MALFORMED, "%s",
                        why ? why : "CSR public key cannot be decoded");
        return e->status;
    }
    int kt = bacsc_pki_key_type_of(pk);
    if (csr_key_types && (kt == BACSC_KEY_UNKNOWN || !(csr_key_types & BACSC_KEY_BIT(kt)))) {
        char desc[32];
        bacsc_pki_key_describe(pk, desc, sizeof desc);
        cari_entry_fail(e, BACSC_ERR_POLICY, "key type %s not allowed (signature not checked)",
                        desc);
        e->type = BACSC_CARI_ENTRY_CSR;
        return BACSC_OK; /* flagged, but kept: the CA records it as rejected */
    }
    if (!pki_csr_verify(c)) {
        cari_entry_fail(e, BACSC_ERR_CRYPTO, "CSR self-signature does not verify");
        return e->status;
    }
    /* the fingerprint and extensions pki_csr_verify has read */
    int rc = pki_csr_spki_fp(c, e->fingerprint) ? BACSC_OK : BACSC_ERR_CRYPTO;
    e->has_fingerprint = rc == BACSC_OK;
    if (rc == BACSC_OK)
        rc = fill_names(e, pk, X509_REQ_get_subject_name(req));
    if (rc != BACSC_OK) {
        cari_entry_fail(e, rc, "cannot read the CSR's key or subject");
        return rc;
    }
    pki_csr_exts x;
    pki_csr_exts_get(c, &x);
    bool bad = false;
    if (x.sans)
        e->san_uuid = san_uuid_of(x.sans, &bad);
    pki_csr_exts_done(&x);
    if (bad) {
        cari_entry_fail(e, BACSC_ERR_MALFORMED, "urn:uuid: subjectAltName is not a valid UUID");
        return e->status;
    }
    e->type = BACSC_CARI_ENTRY_CSR;
    return BACSC_OK;
}

static int fill_cert(bacsc_cari_entry *e, X509 *x)
{
    uint32_t flags = X509_get_extension_flags(x); /* also caches/validates extensions */
    if (flags & EXFLAG_INVALID) {
        cari_entry_fail(e, BACSC_ERR_MALFORMED, "certificate has invalid or duplicate extensions");
        return e->status;
    }
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (!pk) {
        cari_entry_fail(e, BACSC_ERR_MALFORMED, "certificate public key cannot be decoded");
        return e->status;
    }
    int rc = fill_common(e, X509_get_X509_PUBKEY(x), pk, X509_get_subject_name(x));
    if (rc != BACSC_OK) {
        cari_entry_fail(e, rc, "cannot read the certificate's key or subject");
        return rc;
    }
    e->issuer = name_oneline(X509_get_issuer_name(x));
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    if (bn) {
        char *h = BN_bn2hex(bn);
        e->serial = cari_strdup(h);
        OPENSSL_free(h);
        BN_free(bn);
    }
    if (!e->issuer || !e->serial) {
        cari_entry_fail(e, BACSC_ERR_NOMEM, "out of memory");
        return e->status;
    }
    e->not_before = pki_asn1_time(X509_get0_notBefore(x));
    e->not_after = pki_asn1_time(X509_get0_notAfter(x));
    e->is_ca = (flags & EXFLAG_CA) != 0;
    int crit = 0;
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    if (gens) {
        bool bad = false;
        e->san_uuid = san_uuid_of(gens, &bad);
        GENERAL_NAMES_free(gens);
        if (bad) {
            cari_entry_fail(e, BACSC_ERR_MALFORMED, "urn:uuid: subjectAltName is not a valid UUID");
            return e->status;
        }
    }
    e->type = e->is_ca ? BACSC_CARI_ENTRY_ISSUER : BACSC_CARI_ENTRY_CERTIFICATE;
    return BACSC_OK;
}

/* Parse DER as a certificate or a CSR; the whole buffer must be consumed. */
static int parse_der(bacsc_cari_entry *e, const unsigned char *der, size_t len, int want)
{
    if (len > LONG_MAX) {
        cari_entry_fail(e, BACSC_ERR_LIMIT, "object too large");
        return e->status;
    }
    if (want != BACSC_CARI_ENTRY_CSR) {
        const unsigned char *p = der;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        if (x && p == der + len) {
            int rc = fill_cert(e, x);
            X509_free(x);
            return rc;
        }
        X509_free(x);
    }
    if (want != BACSC_CARI_ENTRY_CERTIFICATE) {
        bacsc_csr *c = NULL;
        if (pki_csr_parse(der, len, &c) == BACSC_OK) {
            /* keep the parsed form for bacsc_ca_submit (bacsc_request_in.parsed) */
            int rc = fill_csr(e, c);
            if (rc == BACSC_OK) {
                pki_csr_free(e->csr);
                e->csr = c;
            } else {
                pki_csr_free(c);
            }
            return rc;
        }
    }
    if (want == BACSC_CARI_ENTRY_INVALID) {
        const unsigned char *p = der;
        EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long)len);
        if (k) {
            EVP_PKEY_free(k);
            cari_entry_fail(e, BACSC_ERR_POLICY, "contains a private key (refused; never send keys)");
            return e->status;
        }
    }
    cari_entry_fail(e, BACSC_ERR_MALFORMED,
                    want == BACSC_CARI_ENTRY_CSR           ? "PEM CSR block is not valid DER"
                    : want == BACSC_CARI_ENTRY_CERTIFICATE ? "PEM certificate block is not valid DER"
                                                           : "neither a CSR nor a certificate "
                                                             "(not PEM, not DER)");
    return e->status;
}

bool cari_has_pem_marker(const unsigned char *data, size_t len)
{
    static const char marker[] = "-----BEGIN ";
    const size_t ml = sizeof marker - 1;
    for (size_t i = 0; i + ml <= len; i++) {
        const unsigned char *p = memchr(data + i, '-', len - i);
        if (!p || (size_t)(p - data) + ml > len)
            return false;
        i = (size_t)(p - data);
        if (memcmp(p, marker, ml) == 0)
            return true;
    }
    return false;
}

static int parse_object(const unsigned char *data, size_t len, bacsc_cari_entry *e,
                        size_t *consumed);

int bacsc_cari_parse_object(const unsigned char *data, size_t len, bacsc_cari_entry *e,
                            size_t *consumed)
{
    /* leave the caller's OpenSSL error queue as it was: our errors are in e->error */
    ERR_set_mark();
    int rc = parse_object(data, len, e, consumed);
    ERR_pop_to_mark();
    return rc;
}

static int parse_object(const unsigned char *data, size_t len, bacsc_cari_entry *e,
                        size_t *consumed)
{
    if (!e || (!data && len))
        return BACSC_ERR_INVALID_ARG;
    if (consumed)
        *consumed = len;
    e->type = BACSC_CARI_ENTRY_INVALID;
    e->match_index = SIZE_MAX;
    if (e->device.instance == 0 && !e->device.name && !e->device.uuid)
        e->device.instance = BACSC_CARI_DEVICE_INSTANCE_NONE;
    if (len == 0) {
        cari_entry_fail(e, BACSC_ERR_MALFORMED, "empty");
        return e->status;
    }
    if (!cari_has_pem_marker(data, len)) {
        int rc = parse_der(e, data, len, BACSC_CARI_ENTRY_INVALID);
        if (rc == BACSC_OK && !(e->der = malloc(len))) {
            cari_entry_fail(e, BACSC_ERR_NOMEM, "out of memory");
            return e->status;
        }
        if (rc == BACSC_OK) {
            memcpy(e->der, data, len);
            e->der_len = len;
        }
        return rc;
    }
    if (len > INT_MAX) {
        cari_entry_fail(e, BACSC_ERR_LIMIT, "object too large");
        return e->status;
    }
    BIO *b = BIO_new_mem_buf(data, (int)len);
    if (!b) {
        cari_entry_fail(e, BACSC_ERR_NOMEM, "out of memory");
        return e->status;
    }
    char *label = NULL, *header = NULL;
    unsigned char *der = NULL;
    long dlen = 0;
    int rc;
    if (!PEM_read_bio(b, &label, &header, &der, &dlen)) {
        cari_entry_fail(e, BACSC_ERR_MALFORMED, "broken PEM (bad base64 or missing END line)");
        rc = e->status;
    } else {
        if (consumed)
            *consumed = len - (size_t)BIO_pending(b);
        int want = -1;
        if (strcmp(label, "CERTIFICATE REQUEST") == 0 || strcmp(label, "NEW CERTIFICATE REQUEST") == 0)
            want = BACSC_CARI_ENTRY_CSR;
        else if (strcmp(label, "CERTIFICATE") == 0 || strcmp(label, "X509 CERTIFICATE") == 0)
            want = BACSC_CARI_ENTRY_CERTIFICATE;
        if (strstr(label, "PRIVATE KEY")) {
            cari_entry_fail(e, BACSC_ERR_POLICY, "contains a private key (refused; never send keys)");
            rc = e->status;
        } else if (want < 0) {
            char *pl = cari_printable(label, strlen(label) > 40 ? 40 : strlen(label));
            cari_entry_fail(e, BACSC_ERR_MALFORMED, "PEM block \"%s\" is neither a CSR nor a certificate",
                            pl ? pl : "?");
            free(pl);
            rc = e->status;
        } else if (dlen <= 0) {
            cari_entry_fail(e, BACSC_ERR_MALFORMED, "empty PEM block");
            rc = e->status;
        } else {
            rc = parse_der(e, der, (size_t)dlen, want);
            if (rc == BACSC_OK) {
                if ((e->der = malloc((size_t)dlen)) == NULL) {
                    cari_entry_fail(e, BACSC_ERR_NOMEM, "out of memory");
                    rc = e->status;
                } else {
                    memcpy(e->der, der, (size_t)dlen);
                    e->der_len = (size_t)dlen;
                }
            }
        }
    }
    OPENSSL_free(label);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(b);
    return rc;
}

X509 *cari_x509_from_pem_or_der(const unsigned char *data, size_t len)
{
    if (!data || len == 0 || len > INT_MAX)
        return NULL;
    if (cari_has_pem_marker(data, len)) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        return x;
    }
    const unsigned char *p = data;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x && p != data + len) {
        X509_free(x);
        x = NULL;
    }
    return x;
}
