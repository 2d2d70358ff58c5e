/*
 * pki_util.c — keys, fingerprints, CSR/certificate parsing and inspection,
 * file helpers. Everything cryptographic or ASN.1 goes through OpenSSL; this
 * file only arranges the calls and turns failures into bacsc status codes.
 */
#include "pki_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>

#include "bacsc/error.h"

/* ---- small helpers ------------------------------------------------------- */

int pki_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Can a user other than `owner` write into a directory of group `gid`
 * (a member of it, or someone whose primary group it is)? A user-private
 * group (umask 002 systems) holds only its owner. */
static bool group_shared(gid_t gid, uid_t owner)
{
    struct group *g = getgrgid(gid);
    struct passwd *o = getpwuid(owner);
    if (!g)
        return true;
    for (char **m = g->gr_mem; *m; m++)
        if (!o || strcmp(*m, o->pw_name) != 0)
            return true;
    bool shared = false;
    setpwent();
    struct passwd *p;
    while (!shared && (p = getpwent()) != NULL)
        shared = p->pw_gid == gid && p->pw_uid != owner;
    endpwent();
    return shared;
}

int bacsc_pki_check_out_dir(const char *path)
{
    size_t n = strlen(path);
    char *dir = malloc(n + 2);
    if (!dir)
        return BACSC_ERR_NOMEM;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, n + 2, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    struct stat st;
    int rc = BACSC_OK;
    if (stat(dir, &st) != 0)
        rc = BACSC_ERR_IO;
    else if (!S_ISDIR(st.st_mode))
        errno = ENOTDIR, rc = BACSC_ERR_IO;
    else if (st.st_mode & S_IWOTH)
        errno = EPERM, rc = BACSC_ERR_IO; /* others could plant links or swap files */
    else if (st.st_uid != geteuid() && st.st_uid != 0)
        errno = EPERM, rc = BACSC_ERR_IO; /* its owner could swap the file before rename */
    else if ((st.st_mode & S_IWGRP) && group_shared(st.st_gid, st.st_uid))
        errno = EPERM, rc = BACSC_ERR_IO; /* so could another member of its group */
    int saved = errno;
    free(dir);
    errno = saved;
    return rc;
}

const char *bacsc_pki_write_errtext(int e)
{
    return e == EPERM ? "another user can write into its directory (refused)" : strerror(e);
}

int bacsc_pki_write_file(const char *path, const void *data, size_t len, int mode)
{
    int rc = bacsc_pki_check_out_dir(path);
    if (rc != BACSC_OK)
        return rc;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return BACSC_ERR_NOMEM;
    /* A fresh random name created with O_EXCL (mkstemp): nobody can have
     * planted it; rename() then replaces `path` itself, never a link's target. */
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return BACSC_ERR_IO;
    }
    if (fchmod(fd, (mode_t)mode) != 0)
        rc = BACSC_ERR_IO;
    const uint8_t *p = data;
    while (rc == BACSC_OK && len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = BACSC_ERR_IO;
            break;
        }
        p += w;
        len -= (size_t)w;
    }
    if (rc == BACSC_OK && fsync(fd) != 0)
        rc = BACSC_ERR_IO;
    int saved = errno;
    close(fd);
    if (rc == BACSC_OK && rename(tmp, path) != 0) {
        saved = errno;
        rc = BACSC_ERR_IO;
    }
    if (rc != BACSC_OK)
        unlink(tmp);
    free(tmp);
    errno = saved;
    return rc;
}

int pki_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    return bacsc_pki_write_file(path, data, len, (int)mode);
}

int pki_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? BACSC_ERR_NOT_FOUND : BACSC_ERR_IO;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    int rc = BACSC_OK;
    while (buf) {
        if (n == cap) {
            if (cap > max) {
                rc = BACSC_ERR_LIMIT;
                break;
            }
            uint8_t *nb = realloc(buf, cap * 2 + 1);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    if (!buf)
        rc = BACSC_ERR_NOMEM;
    else if (rc == BACSC_OK && ferror(f))
        rc = BACSC_ERR_IO;
    else if (rc == BACSC_OK && n > max)
        rc = BACSC_ERR_LIMIT;
    fclose(f);
    if (rc != BACSC_OK) {
        free(buf);
        return rc;
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return BACSC_OK;
}

void bacsc_pki_hex(const uint8_t *data, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * n] = 0;
}

void pki_printable(const char *in, size_t inlen, char *out, size_t outlen)
{
    if (!outlen)
        return;
    size_t j = 0;
    for (size_t i = 0; i < inlen && in[i] && j + 1 < outlen; i++) {
        unsigned char c = (unsigned char)in[i];
        out[j++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[j] = 0;
}

void pki_name_oneline(const X509_NAME *name, char *out, size_t outlen)
{
    out[0] = 0;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return;
    unsigned long flags = (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
    if (X509_NAME_print_ex(b, name, 0, flags) >= 0) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        if (n > 0)
            pki_printable(p, (size_t)n, out, outlen);
    }
    BIO_free(b);
}

void pki_name_cn(const X509_NAME *name, char *out, size_t outlen)
{
    out[0] = 0;
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0)
        return;
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char *u = NULL;
    int n = ASN1_STRING_to_UTF8(&u, s);
    if (n >= 0)
        pki_printable((const char *)u, (size_t)n, out, outlen);
    OPENSSL_free(u);
}

int pki_parse_urn_uuid(const char *uri, size_t len, char out[BACSC_PKI_UUID_STR_LEN])
{
    if (len != 9 + 36 || strncasecmp(uri, "urn:uuid:", 9) != 0)
        return 0;
    const char *u = uri + 9;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? u[i] != '-' : !isxdigit((unsigned char)u[i]))
            return 0;
        out[i] = (char)tolower((unsigned char)u[i]);
    }
    out[36] = 0;
    return 1;
}

int pki_random_serial(uint8_t serial[BACSC_PKI_SERIAL_LEN])
{
    if (RAND_bytes(serial, BACSC_PKI_SERIAL_LEN) != 1)
        return BACSC_ERR_CRYPTO;
    serial[0] = (uint8_t)((serial[0] & 0x3f) | 0x40);
    return BACSC_OK;
}

int64_t pki_asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

int bacsc_pki_uuid_random(char out[BACSC_PKI_UUID_STR_LEN])
{
    uint8_t u[16];
    if (RAND_bytes(u, sizeof u) != 1)
        return BACSC_ERR_CRYPTO;
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    char hex[33];
    bacsc_pki_hex(u, 16, hex);
    snprintf(out, BACSC_PKI_UUID_STR_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
             hex + 16, hex + 20);
    return BACSC_OK;
}

/* ---- key types ------------------------------------------------------------ */

static const char *const key_names[BACSC_KEY_TYPE_COUNT] = {
    "unknown", "ec-p256", "ec-p384", "rsa-3072", "rsa-2048", "rsa-4096", "ec-p521"};

int bacsc_pki_key_type_parse(const char *name)
{
    if (!name)
        return BACSC_ERR_INVALID_ARG;
    for (int i = 1; i < BACSC_KEY_TYPE_COUNT; i++)
        if (strcasecmp(name, key_names[i]) == 0)
            return i;
    if (strcasecmp(name, "p256") == 0 || strcasecmp(name, "P-256") == 0)
        return BACSC_KEY_EC_P256;
    if (strcasecmp(name, "p384") == 0 || strcasecmp(name, "P-384") == 0)
        return BACSC_KEY_EC_P384;
    return BACSC_ERR_INVALID_ARG;
}

const char *bacsc_pki_key_type_name(int type)
{
    if (type < 0 || type >= BACSC_KEY_TYPE_COUNT)
        return "unknown";
    return key_names[type];
}

static void ec_group(const EVP_PKEY *key, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, out, outlen, &n) != 1)
        out[0] = 0;
}

int bacsc_pki_key_type_of(const EVP_PKEY *key)
{
    if (!key)
        return BACSC_KEY_UNKNOWN;
    if (EVP_PKEY_is_a(key, "EC")) {
        char g[64];
        ec_group(key, g, sizeof g);
        if (strcmp(g, "prime256v1") == 0 || strcmp(g, "P-256") == 0)
            return BACSC_KEY_EC_P256;
        if (strcmp(g, "secp384r1") == 0 || strcmp(g, "P-384") == 0)
            return BACSC_KEY_EC_P384;
        if (strcmp(g, "secp521r1") == 0 || strcmp(g, "P-521") == 0)
            return BACSC_KEY_EC_P521;
        return BACSC_KEY_UNKNOWN;
    }
    if (EVP_PKEY_is_a(key, "RSA")) {
        switch (EVP_PKEY_get_bits(key)) {
        case 2048: return BACSC_KEY_RSA_2048;
        case 3072: return BACSC_KEY_RSA_3072;
        case 4096: return BACSC_KEY_RSA_4096;
        }
    }
    return BACSC_KEY_UNKNOWN;
}

void bacsc_pki_key_describe(const EVP_PKEY *key, char *out, size_t outlen)
{
    if (!key) {
        snprintf(out, outlen, "no key");
        return;
    }
    switch (bacsc_pki_key_type_of(key)) {
    case BACSC_KEY_EC_P256: snprintf(out, outlen, "EC P-256"); return;
    case BACSC_KEY_EC_P384: snprintf(out, outlen, "EC P-384"); return;
    case BACSC_KEY_EC_P521: snprintf(out, outlen, "EC P-521"); return;
    default: break;
    }
    if (EVP_PKEY_is_a(key, "RSA")) {
        snprintf(out, outlen, "RSA-%d", EVP_PKEY_get_bits(key));
    } else if (EVP_PKEY_is_a(key, "EC")) {
        char g[64];
        ec_group(key, g, sizeof g);
        snprintf(out, outlen, "EC %s", g[0] ? g : "(explicit curve)");
    } else {
        const char *n = EVP_PKEY_get0_type_name(key);
        snprintf(out, outlen, "%s", n ? n : "unknown key type");
    }
}

int bacsc_pki_keygen(int type, EVP_PKEY **out)
{
    EVP_PKEY *k = NULL;
    switch (type) {
    case BACSC_KEY_EC_P256: k = EVP_EC_gen("P-256"); break;
    case BACSC_KEY_EC_P384: k = EVP_EC_gen("P-384"); break;
    case BACSC_KEY_EC_P521: k = EVP_EC_gen("P-521"); break;
    case BACSC_KEY_RSA_2048: k = EVP_RSA_gen(2048); break;
    case BACSC_KEY_RSA_3072: k = EVP_RSA_gen(3072); break;
    case BACSC_KEY_RSA_4096: k = EVP_RSA_gen(4096); break;
    default: return BACSC_ERR_INVALID_ARG;
    }
    if (!k)
        return BACSC_ERR_CRYPTO;
    *out = k;
    return BACSC_OK;
}

/* ---- key files ------------------------------------------------------------ */

int bacsc_pki_key_write(const char *path, EVP_PKEY *key, const char *passphrase)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return BACSC_ERR_NOMEM;
    int ok;
    if (passphrase && *passphrase) {
        /* PBES2 with scrypt (N = 2^14, r = 8, p = 1: 16 MiB and ~50 ms per
         * guess, within OpenSSL's default 32 MiB scrypt memory limit for
         * reading it back) and AES-256-CBC. */
        X509_ALGOR *pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0, NULL, 1 << 14, 8, 1);
        PKCS8_PRIV_KEY_INFO *p8inf = pbe ? EVP_PKEY2PKCS8(key) : NULL;
        X509_SIG *p8 = p8inf ? PKCS8_set0_pbe(passphrase, (int)strlen(passphrase), p8inf, pbe)
                             : NULL;
        ok = p8 && PEM_write_bio_PKCS8(b, p8);
        if (!p8)
            X509_ALGOR_free(pbe);
        X509_SIG_free(p8);
        PKCS8_PRIV_KEY_INFO_free(p8inf);
    } else {
        ok = PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    }
    int rc = BACSC_ERR_CRYPTO;
    if (ok) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        rc = pki_write_file(path, p, (size_t)n, 0600);
    }
    BIO_free(b);
    return rc;
}

/* Password callback that never prompts: the passphrase or nothing. */
static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *p = u;
    if (!p)
        return -1;
    size_t n = strlen(p);
    if (n > (size_t)size)
        return -1;
    memcpy(buf, p, n);
    return (int)n;
}

int bacsc_pki_key_read(const char *path, const char *passphrase, EVP_PKEY **out)
{
    uint8_t *data;
    size_t len;
    int rc = pki_read_file(path, 1 << 20, &data, &len);
    if (rc != BACSC_OK)
        return rc == BACSC_ERR_NOT_FOUND ? BACSC_ERR_IO : rc;
    bool encrypted = strstr((char *)data, "ENCRYPTED") != NULL;
    EVP_PKEY *k = NULL;
    BIO *b = BIO_new_mem_buf(data, (int)len);
    if (b) {
        if (strstr((char *)data, "-----BEGIN"))
            k = PEM_read_bio_PrivateKey(b, NULL, pass_cb, (void *)passphrase);
        else
            k = d2i_PrivateKey_bio(b, NULL);
        BIO_free(b);
    }
    OPENSSL_cleanse(data, len);
    free(data);
    ERR_clear_error();
    if (!k)
        return encrypted ? BACSC_ERR_STATE : BACSC_ERR_MALFORMED;
    *out = k;
    return BACSC_OK;
}

/* ---- fingerprints --------------------------------------------------------- */

int bacsc_pki_key_fingerprint(const EVP_PKEY *key, uint8_t fp[BACSC_PKI_FP_LEN])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    if (n <= 0)
        return BACSC_ERR_CRYPTO;
    unsigned int mdlen = 0;
    int ok = EVP_Digest(der, (size_t)n, fp, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    return ok ? BACSC_OK : BACSC_ERR_CRYPTO;
}

int bacsc_pki_csr_key_fingerprint(const uint8_t *der, size_t len, uint8_t fp[BACSC_PKI_FP_LEN])
{
    const unsigned char *p = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
    if (!req) {
        ERR_clear_error();
        return BACSC_ERR_MALFORMED;
    }
    EVP_PKEY *k = X509_REQ_get0_pubkey(req);
    int rc = k ? bacsc_pki_key_fingerprint(k, fp) : BACSC_ERR_MALFORMED;
    X509_REQ_free(req);
    ERR_clear_error();
    return rc;
}

int bacsc_pki_cert_key_fingerprint(const uint8_t *der, size_t len, uint8_t fp[BACSC_PKI_FP_LEN])
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x) {
        ERR_clear_error();
        return BACSC_ERR_MALFORMED;
    }
    EVP_PKEY *k = X509_get0_pubkey(x);
    int rc = k ? bacsc_pki_key_fingerprint(k, fp) : BACSC_ERR_MALFORMED;
    X509_free(x);
    ERR_clear_error();
    return rc;
}

/* ---- PEM/DER -------------------------------------------------------------- */

static bool looks_pem(const uint8_t *data, size_t len)
{
    size_t n = len < 4096 ? len : 4096;
    for (size_t i = 0; i + 10 <= n; i++)
        if (memcmp(data + i, "-----BEGIN", 10) == 0)
            return true;
    return false;
}

int bacsc_pki_to_der(int kind, const uint8_t *data, size_t len, uint8_t **der, size_t *der_len)
{
    if (!data || !der || !der_len || (kind != BACSC_PKI_CSR && kind != BACSC_PKI_CERT))
        return BACSC_ERR_INVALID_ARG;
    if (len > INT32_MAX)
        return BACSC_ERR_LIMIT;
    unsigned char *raw = NULL;
    long rawlen = 0;
    bool owned_by_ossl = false;
    if (looks_pem(data, len)) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        char *name = NULL, *header = NULL;
        if (!b)
            return BACSC_ERR_NOMEM;
        /* PEM_bytes_read_bio skips blocks of other types; for requests it
         * also accepts "NEW CERTIFICATE REQUEST". */
        int ok = PEM_bytes_read_bio(&raw, &rawlen, &name,
                                    kind == BACSC_PKI_CSR ? PEM_STRING_X509_REQ : PEM_STRING_X509,
                                    b, NULL, NULL);
        OPENSSL_free(name);
        OPENSSL_free(header);
        BIO_free(b);
        if (!ok) {
            ERR_clear_error();
            return BACSC_ERR_MALFORMED;
        }
        owned_by_ossl = true;
    } else {
        raw = (unsigned char *)data;
        rawlen = (long)len;
    }
    int rc = BACSC_OK;
    if (kind == BACSC_PKI_CSR && (size_t)rawlen > BACSC_PKI_MAX_CSR_DER)
        rc = BACSC_ERR_LIMIT;
    /* Validate: it must parse, and use exactly the octets given. */
    const unsigned char *p = raw;
    if (rc == BACSC_OK) {
        if (kind == BACSC_PKI_CSR) {
            /* structure only (no key decode; whole buffer), see pki_csr.c */
            bacsc_csr *c = NULL;
            rc = pki_csr_parse(raw, (size_t)rawlen, &c);
            pki_csr_free(c);
            p = raw + rawlen;
        } else {
            X509 *x = d2i_X509(NULL, &p, rawlen);
            if (!x)
                rc = BACSC_ERR_MALFORMED;
            X509_free(x);
        }
        if (rc == BACSC_OK && p != raw + rawlen)
            rc = BACSC_ERR_MALFORMED; /* trailing garbage */
    }
    ERR_clear_error();
    if (rc == BACSC_OK) {
        *der = malloc((size_t)rawlen ? (size_t)rawlen : 1);
        if (!*der)
            rc = BACSC_ERR_NOMEM;
        else {
            memcpy(*der, raw, (size_t)rawlen);
            *der_len = (size_t)rawlen;
        }
    }
    if (owned_by_ossl)
        OPENSSL_free(raw);
    return rc;
}

int bacsc_pki_certs_parse(const uint8_t *data, size_t len, STACK_OF(X509) **out)
{
    if (!data || !out || len > INT32_MAX)
        return BACSC_ERR_INVALID_ARG;
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (!sk)
        return BACSC_ERR_NOMEM;
    if (looks_pem(data, len)) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        X509 *x;
        while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
            if (!sk_X509_push(sk, x))
                X509_free(x);
        BIO_free(b);
    } else {
        const unsigned char *p = data;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        if (x && p == data + len)
            sk_X509_push(sk, x);
        else
            X509_free(x);
    }
    ERR_clear_error();
    int n = sk_X509_num(sk);
    if (n <= 0) {
        sk_X509_free(sk);
        return BACSC_ERR_MALFORMED;
    }
    *out = sk;
    return n;
}

/* ---- inspection ----------------------------------------------------------- */

/* Count SANs and find the Device UUID. Returns 0 or -1 (more than one UUID is
 * reported through n_uuid; an unparseable SAN is -1). */
static void scan_sans(const GENERAL_NAMES *gens, bacsc_csr_info *ci, bacsc_cert_info *xi)
{
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        switch (g->type) {
        case GEN_URI: {
            char u[BACSC_PKI_UUID_STR_LEN];
            const ASN1_IA5STRING *s = g->d.uniformResourceIdentifier;
            if (pki_parse_urn_uuid((const char *)ASN1_STRING_get0_data(s),
                                   (size_t)ASN1_STRING_length(s), u)) {
                if (ci) {
                    if (ci->n_uuid++ == 0)
                        memcpy(ci->device_uuid, u, sizeof u);
                } else if (xi && !xi->device_uuid[0]) {
                    memcpy(xi->device_uuid, u, sizeof u);
                }
            } else if (ci) {
                ci->n_uri_other++;
            }
            break;
        }
        case GEN_DNS:
            if (ci)
                ci->n_dns++;
            break;
        case GEN_IPADD:
            if (ci)
                ci->n_ip++;
            break;
        default:
            if (ci)
                ci->n_other++;
        }
    }
}

int pki_csr_inspect_parsed(bacsc_csr *c, bacsc_csr_info *info, char *why, size_t whylen)
{
    int rc = pki_csr_inspect_unverified(c, info, why, whylen);
    if (rc == BACSC_OK || info->key_desc[0])
        info->signature_ok = pki_csr_verify(c);
    return rc;
}

int pki_csr_inspect_unverified(bacsc_csr *c, bacsc_csr_info *info, char *why, size_t whylen)
{
    memset(info, 0, sizeof *info);
    X509_REQ *req = pki_csr_req(c);
    EVP_PKEY *k = pki_csr_key(c);
    if (!k) {
        ERR_clear_error();
        const char *p = pki_csr_key_problem(c);
        return pki_fail(why, whylen, p ? BACSC_ERR_POLICY : BACSC_ERR_MALFORMED, "%s",
                        p ? p : "unsupported or malformed public key");
    }
    info->key_type = bacsc_pki_key_type_of(k);
    bacsc_pki_key_describe(k, info->key_desc, sizeof info->key_desc);
    /* Fingerprint of the SPKI as received (no re-encoding of the key). */
    if (!pki_csr_spki_fp(c, info->key_fp))
        return pki_fail(why, whylen, BACSC_ERR_MALFORMED, "cannot encode the public key");
    pki_name_oneline(X509_REQ_get_subject_name(req), info->subject, sizeof info->subject);
    pki_name_cn(X509_REQ_get_subject_name(req), info->cn, sizeof info->cn);

    int rc = BACSC_OK;
    pki_csr_exts e;
    pki_csr_exts_get(c, &e);
    if (e.has) {
        info->requests_ca = e.requests_ca;
        if (!e.sans && e.san_crit != -1)
            rc = pki_fail(why, whylen, BACSC_ERR_MALFORMED,
                          e.san_crit == -2 ? "more than one subjectAltName extension"
                                           : "malformed subjectAltName extension");
        else if (e.sans)
            scan_sans(e.sans, info, NULL);
    }
    pki_csr_exts_done(&e);
    ERR_clear_error();
    return rc;
}

int bacsc_pki_csr_inspect(const uint8_t *der, size_t len, bacsc_csr_info *info, char *why,
                          size_t whylen)
{
    memset(info, 0, sizeof *info);
    bacsc_csr *c = NULL;
    int rc = len > BACSC_PKI_MAX_CSR_DER ? BACSC_ERR_MALFORMED : pki_csr_parse(der, len, &c);
    if (rc != BACSC_OK)
        return pki_fail(why, whylen, rc,
                        rc == BACSC_ERR_NOMEM            ? "out of memory"
                        : len > BACSC_PKI_MAX_CSR_DER ? "CSR larger than 64 KiB"
                                                      : "not a DER PKCS#10 certificate request");
    rc = pki_csr_inspect_parsed(c, info, why, whylen);
    pki_csr_free(c);
    return rc;
}

static uint8_t *memdup_len(const void *p, int n)
{
    uint8_t *d = malloc(n > 0 ? (size_t)n : 1);
    if (d && n > 0)
        memcpy(d, p, (size_t)n);
    return d;
}

static int parts_build(X509_REQ *req, const GENERAL_NAMES *gens, pki_parts *out)
{
    memset(out, 0, sizeof *out);
    ASN1_OBJECT *aobj = NULL;
    const unsigned char *pk = NULL;
    int pklen = 0;
    X509_ALGOR *alg = NULL;
    if (!X509_PUBKEY_get0_param(&aobj, &pk, &pklen, &alg, X509_REQ_get_X509_PUBKEY(req)) || !alg)
        return BACSC_ERR_MALFORMED;
    unsigned char *buf = NULL;
    int n = i2d_X509_ALGOR(alg, &buf);
    if (n > 0) {
        out->alg = memdup_len(buf, n);
        out->alg_len = n;
    }
    OPENSSL_free(buf);
    out->bits = memdup_len(pk, pklen);
    out->bits_len = pklen;
    buf = NULL;
    n = i2d_X509_NAME(X509_REQ_get_subject_name(req), &buf);
    if (n > 0) {
        out->subject = memdup_len(buf, n);
        out->subject_len = n;
    }
    OPENSSL_free(buf);
    if (gens) {
        buf = NULL;
        n = i2d_GENERAL_NAMES(gens, &buf);
        if (n > 0) {
            out->sans = memdup_len(buf, n);
            out->sans_len = n;
        }
        OPENSSL_free(buf);
    }
    ERR_clear_error();
    if (!out->alg || !out->bits || !out->subject || (gens && !out->sans)) {
        pki_parts_free(out);
        return BACSC_ERR_MALFORMED;
    }
    return BACSC_OK;
}

int pki_parts_from_req(X509_REQ *req, pki_parts *out)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    int crit = 0;
    GENERAL_NAMES *gens = exts ? X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL) : NULL;
    int rc = parts_build(req, gens, out);
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ERR_clear_error();
    return rc;
}

int pki_parts_from_csr(const bacsc_csr *c, pki_parts *out)
{
    pki_csr_exts e;
    pki_csr_exts_get(c, &e);
    int rc = parts_build(pki_csr_req(c), e.sans, out);
    pki_csr_exts_done(&e);
    return rc;
}

void pki_parts_free(pki_parts *parts)
{
    free(parts->alg);
    free(parts->bits);
    free(parts->subject);
    free(parts->sans);
    memset(parts, 0, sizeof *parts);
}

int bacsc_pki_cert_inspect(X509 *cert, bacsc_cert_info *info)
{
    memset(info, 0, sizeof *info);
    if (!cert)
        return BACSC_ERR_INVALID_ARG;
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex) {
        size_t j = 0;
        for (const char *c = hex; *c && j + 1 < sizeof info->serial; c++)
            info->serial[j++] = (char)tolower((unsigned char)*c);
        info->serial[j] = 0;
    }
    OPENSSL_free(hex);
    BN_free(bn);
    pki_name_oneline(X509_get_subject_name(cert), info->subject, sizeof info->subject);
    pki_name_oneline(X509_get_issuer_name(cert), info->issuer, sizeof info->issuer);
    pki_name_cn(X509_get_subject_name(cert), info->cn, sizeof info->cn);
    info->not_before = pki_asn1_time(X509_get0_notBefore(cert));
    info->not_after = pki_asn1_time(X509_get0_notAfter(cert));
    EVP_PKEY *k = X509_get0_pubkey(cert);
    if (!k || bacsc_pki_key_fingerprint(k, info->key_fp) != BACSC_OK) {
        ERR_clear_error();
        return BACSC_ERR_MALFORMED;
    }
    info->is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
    int crit = 0;
    GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (gens)
        scan_sans(gens, NULL, info);
    GENERAL_NAMES_free(gens);
    ERR_clear_error();
    return BACSC_OK;
}

int bacsc_pki_cert_inspect_der(const uint8_t *der, size_t len, bacsc_cert_info *info)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x) {
        memset(info, 0, sizeof *info);
        ERR_clear_error();
        return BACSC_ERR_MALFORMED;
    }
    int rc = bacsc_pki_cert_inspect(x, info);
    X509_free(x);
    return rc;
}

int bacsc_pki_cert_issued_by(X509 *cert, X509 *issuer)
{
    int ok = cert && issuer && X509_check_issued(issuer, cert) == X509_V_OK &&
             X509_verify(cert, X509_get0_pubkey(issuer)) == 1;
    ERR_clear_error();
    return ok ? 1 : 0;
}

/* ---- files ---------------------------------------------------------------- */

int bacsc_pki_cert_write(const char *path, X509 *const *certs, size_t n)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return BACSC_ERR_NOMEM;
    int rc = BACSC_OK;
    for (size_t i = 0; i < n && rc == BACSC_OK; i++)
        if (!PEM_write_bio_X509(b, certs[i]))
            rc = BACSC_ERR_CRYPTO;
    if (rc == BACSC_OK) {
        char *p;
        long len = BIO_get_mem_data(b, &p);
        rc = pki_write_file(path, p, (size_t)len, 0644);
    }
    BIO_free(b);
    return rc;
}

int bacsc_pki_csr_write(const char *path, const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)len);
    if (!r)
        return BACSC_ERR_MALFORMED;
    BIO *b = BIO_new(BIO_s_mem());
    int rc = BACSC_ERR_CRYPTO;
    if (b && PEM_write_bio_X509_REQ(b, r)) {
        char *d;
        long n = BIO_get_mem_data(b, &d);
        rc = pki_write_file(path, d, (size_t)n, 0644);
    }
    BIO_free(b);
    X509_REQ_free(r);
    return rc;
}

int bacsc_pki_cert_read(const char *path, X509 **out)
{
    uint8_t *data;
    size_t len;
    int rc = pki_read_file(path, 1 << 20, &data, &len);
    if (rc != BACSC_OK)
        return rc;
    STACK_OF(X509) *sk = NULL;
    rc = bacsc_pki_certs_parse(data, len, &sk);
    free(data);
    if (rc < 0)
        return rc;
    *out = sk_X509_shift(sk);
    sk_X509_pop_free(sk, X509_free);
    return BACSC_OK;
}

/* ---- SANs and names from a spec ------------------------------------------- */

static int push_name(GENERAL_NAMES *gens, int type, const char *text)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    if (!g)
        return -1;
    if (type == GEN_IPADD) {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(text);
        if (!ip) {
            GENERAL_NAME_free(g);
            return -2;
        }
        GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
    } else {
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        if (!s || !ASN1_STRING_set(s, text, (int)strlen(text))) {
            ASN1_IA5STRING_free(s);
            GENERAL_NAME_free(g);
            return -1;
        }
        GENERAL_NAME_set0_value(g, type, s);
    }
    if (!sk_GENERAL_NAME_push(gens, g)) {
        GENERAL_NAME_free(g);
        return -1;
    }
    return 0;
}

GENERAL_NAMES *pki_spec_sans(const bacsc_cert_spec *spec, int *bad)
{
    *bad = 0;
    if (!spec || (!spec->device_uuid && !spec->n_dns && !spec->n_ip))
        return NULL;
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    if (!gens) {
        *bad = -1;
        return NULL;
    }
    int rc = 0;
    if (spec->device_uuid) {
        char uri[64];
        snprintf(uri, sizeof uri, "urn:uuid:%s", spec->device_uuid);
        char chk[BACSC_PKI_UUID_STR_LEN];
        rc = pki_parse_urn_uuid(uri, strlen(uri), chk) ? push_name(gens, GEN_URI, uri) : -2;
    }
    for (size_t i = 0; rc == 0 && i < spec->n_dns; i++)
        rc = push_name(gens, GEN_DNS, spec->dns[i]);
    for (size_t i = 0; rc == 0 && i < spec->n_ip; i++)
        rc = push_name(gens, GEN_IPADD, spec->ip[i]);
    if (rc != 0) {
        GENERAL_NAMES_free(gens);
        *bad = rc;
        return NULL;
    }
    return gens;
}

X509_NAME *pki_spec_name(const bacsc_cert_spec *spec)
{
    X509_NAME *n = X509_NAME_new();
    if (!n)
        return NULL;
    if (spec->org && *spec->org &&
        !X509_NAME_add_entry_by_NID(n, NID_organizationName, MBSTRING_UTF8,
                                    (const unsigned char *)spec->org, -1, -1, 0))
        goto bad;
    if (spec->cn && *spec->cn &&
        !X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
                                    (const unsigned char *)spec->cn, -1, -1, 0))
        goto bad;
    return n;
bad:
    X509_NAME_free(n);
    return NULL;
}

int bacsc_pki_make_csr(EVP_PKEY *key, const bacsc_cert_spec *spec, bool ca, uint8_t **der,
                       size_t *len)
{
    if (!key || !spec || !der || !len)
        return BACSC_ERR_INVALID_ARG;
    int bad = 0;
    GENERAL_NAMES *sans = pki_spec_sans(spec, &bad);
    if (bad)
        return bad == -2 ? BACSC_ERR_INVALID_ARG : BACSC_ERR_NOMEM;
    X509_NAME *name = pki_spec_name(spec);
    X509_REQ *req = X509_REQ_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    int rc = BACSC_ERR_CRYPTO;
    if (!name || !req || !exts)
        goto out;
    if (!X509_REQ_set_version(req, 0) || !X509_REQ_set_subject_name(req, name) ||
        !X509_REQ_set_pubkey(req, key))
        goto out;
    if (sans && !X509V3_add1_i2d(&exts, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT))
        goto out;
    if (ca) {
        BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
        ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
        int ok = bc && ku && ASN1_BIT_STRING_set_bit(ku, 5, 1) && ASN1_BIT_STRING_set_bit(ku, 6, 1);
        if (ok) {
            bc->ca = 0xff;
            ok = X509V3_add1_i2d(&exts, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) &&
                 X509V3_add1_i2d(&exts, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT);
        }
        BASIC_CONSTRAINTS_free(bc);
        ASN1_BIT_STRING_free(ku);
        if (!ok)
            goto out;
    }
    if (sk_X509_EXTENSION_num(exts) > 0 && !X509_REQ_add_extensions(req, exts))
        goto out;
    if (X509_REQ_sign(req, key, EVP_sha256()) <= 0)
        goto out;
    unsigned char *buf = NULL;
    int n = i2d_X509_REQ(req, &buf);
    if (n <= 0)
        goto out;
    *der = malloc((size_t)n);
    if (*der) {
        memcpy(*der, buf, (size_t)n);
        *len = (size_t)n;
        rc = BACSC_OK;
    } else {
        rc = BACSC_ERR_NOMEM;
    }
    OPENSSL_free(buf);
out:
    GENERAL_NAMES_free(sans);
    X509_NAME_free(name);
    X509_REQ_free(req);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ERR_clear_error();
    return rc;
}

/* ---- CRL reasons ---------------------------------------------------------- */

static const char *const crl_reasons[11] = {
    "unspecified",         "keyCompromise",   "cACompromise",      "affiliationChanged",
    "superseded",          "cessationOfOperation", "certificateHold", NULL,
    "removeFromCRL",       "privilegeWithdrawn",   "aACompromise"};

int bacsc_pki_crl_reason_parse(const char *name)
{
    if (!name)
        return BACSC_ERR_INVALID_ARG;
    char norm[64];
    size_t j = 0;
    for (const char *c = name; *c && j + 1 < sizeof norm; c++)
        if (*c != '-' && *c != '_' && *c != ' ')
            norm[j++] = *c;
    norm[j] = 0;
    for (int i = 0; i < 11; i++)
        if (crl_reasons[i] && strcasecmp(norm, crl_reasons[i]) == 0)
            return i == 8 ? BACSC_ERR_INVALID_ARG : i; /* removeFromCRL is delta-CRL only */
    return BACSC_ERR_INVALID_ARG;
}

const char *bacsc_pki_crl_reason_name(int code)
{
    if (code < 0 || code > 10 || !crl_reasons[code])
        return "unspecified";
    return crl_reasons[code];
}
