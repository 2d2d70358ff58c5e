/* support_cari_certs.c — see support_cari_certs.h. */
#include "support_cari_certs.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <zip.h>

static void die(const char *what)
{
    fprintf(stderr, "support_cari_certs: %s failed\n", what);
    abort();
}

EVP_PKEY *scc_key_p256(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k)
        die("EVP_EC_gen");
    return k;
}

static unsigned char *x509_req_der(X509_REQ *r, size_t *len)
{
    unsigned char *der = NULL;
    int l = i2d_X509_REQ(r, &der);
    if (l <= 0)
        die("i2d_X509_REQ");
    unsigned char *out = malloc((size_t)l);
    memcpy(out, der, (size_t)l);
    OPENSSL_free(der);
    *len = (size_t)l;
    return out;
}

static unsigned char *x509_der(X509 *x, size_t *len)
{
    unsigned char *der = NULL;
    int l = i2d_X509(x, &der);
    if (l <= 0)
        die("i2d_X509");
    unsigned char *out = malloc((size_t)l);
    memcpy(out, der, (size_t)l);
    OPENSSL_free(der);
    *len = (size_t)l;
    return out;
}

unsigned char *scc_csr_der(EVP_PKEY *key, const char *cn, const char *uuid, size_t *len)
{
    X509_REQ *r = X509_REQ_new();
    X509_REQ_set_version(r, 0);
    X509_NAME *n = X509_REQ_get_subject_name(r);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_REQ_set_pubkey(r, key);
    if (uuid) {
        char san[128];
        snprintf(san, sizeof san, "URI:urn:uuid:%s", uuid);
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
        if (!ext)
            die("SAN");
        sk_X509_EXTENSION_push(exts, ext);
        X509_REQ_add_extensions(r, exts);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    }
    if (X509_REQ_sign(r, key, EVP_sha256()) <= 0)
        die("X509_REQ_sign");
    unsigned char *out = x509_req_der(r, len);
    X509_REQ_free(r);
    return out;
}

char *scc_pem(const char *label, const unsigned char *der, size_t len, size_t *out_len)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio(b, label, "", der, (long)len);
    char *p;
    long l = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)l + 1);
    memcpy(out, p, (size_t)l);
    out[l] = '\0';
    BIO_free(b);
    if (out_len)
        *out_len = (size_t)l;
    return out;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!e)
        die(value);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

void scc_ca_init(scc_ca *ca, const char *cn)
{
    ca->key = scc_key_p256();
    X509 *x = ca->cert = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400);
    X509_set_pubkey(x, ca->key);
    add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(x, x, NID_subject_key_identifier, "hash");
    if (X509_sign(x, ca->key, EVP_sha256()) <= 0)
        die("X509_sign CA");
}

void scc_ca_free(scc_ca *ca)
{
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    ca->key = NULL;
    ca->cert = NULL;
}

unsigned char *scc_ca_der(const scc_ca *ca, size_t *len)
{
    return x509_der(ca->cert, len);
}

unsigned char *scc_issue(const scc_ca *ca, const unsigned char *csr, size_t csr_len, long serial,
                         size_t *len)
{
    const unsigned char *p = csr;
    X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)csr_len);
    if (!r)
        die("d2i_X509_REQ");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_set_subject_name(x, X509_REQ_get_subject_name(r));
    X509_set_issuer_name(x, X509_get_subject_name(ca->cert));
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
    X509_set_pubkey(x, X509_REQ_get0_pubkey(r));
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(r);
    for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts); i++)
        X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature");
    add_ext(x, ca->cert, NID_ext_key_usage, "serverAuth,clientAuth");
    add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always");
    if (X509_sign(x, ca->key, EVP_sha256()) <= 0)
        die("X509_sign");
    unsigned char *out = x509_der(x, len);
    X509_free(x);
    X509_REQ_free(r);
    return out;
}

unsigned char *scc_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)l + 1);
    if (buf && fread(buf, 1, (size_t)l, f) != (size_t)l) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        *len = (size_t)l;
    return buf;
}

int scc_write_all(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

int scc_zip_write(const char *path, const scc_zip_member *m, size_t n)
{
    int err = 0;
    unlink(path);
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!za)
        return -1;
    char **placeholder = calloc(n, sizeof *placeholder);
    for (size_t i = 0; i < n; i++) {
        const char *name = m[i].name;
        for (size_t k = 0; k < i; k++)
            if (strcmp(m[k].name, m[i].name) == 0) {
                /* same length, unique: "~<i>~~~..." */
                size_t l = strlen(m[i].name);
                placeholder[i] = malloc(l + 1);
                memset(placeholder[i], '~', l);
                placeholder[i][l] = '\0';
                char idx[16];
                int il = snprintf(idx, sizeof idx, "%zu", i);
                if ((size_t)il + 1 > l)
                    die("duplicate name too short");
                memcpy(placeholder[i] + 1, idx, (size_t)il);
                name = placeholder[i];
                break;
            }
        zip_source_t *s = m[i].path ? zip_source_file(za, m[i].path, 0, -1)
                                    : zip_source_buffer(za, m[i].data, m[i].len, 0);
        if (!s)
            die("zip_source");
        zip_int64_t idx = zip_file_add(za, name, s, 0);
        if (idx < 0)
            die(zip_strerror(za));
        if (m[i].store)
            zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
        if (m[i].unix_mode)
            zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
                                             m[i].unix_mode << 16);
    }
    if (zip_close(za) != 0)
        die("zip_close");
    int rc = 0;
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any |= placeholder[i] != NULL;
    if (any) {
        size_t len = 0;
        unsigned char *buf = scc_read_all(path, &len);
        for (size_t i = 0; i < n; i++) {
            if (!placeholder[i])
                continue;
            size_t l = strlen(placeholder[i]);
            for (size_t off = 0; off + l <= len; off++)
                if (memcmp(buf + off, placeholder[i], l) == 0)
                    memcpy(buf + off, m[i].name, l);
        }
        rc = scc_write_all(path, buf, len);
        free(buf);
    }
    for (size_t i = 0; i < n; i++)
        free(placeholder[i]);
    free(placeholder);
    return rc;
}

char *scc_tempdir(void)
{
    const char *t = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/bacsc-cari-XXXXXX", t && *t ? t : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void scc_rmrf(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            scc_rmrf(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}
