/*
 * cari_sign.c — signed CARI requests (bacsc/cari.h "bacsc_cari_sign_file",
 * docs/cari.md "Signed requests"): a detached CMS signature over the list of
 * every other entry's SHA-256 and name, so that changing, adding or removing
 * an entry breaks it. OpenSSL CMS does the signing and verifying; libzip
 * the archive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <zip.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "cari_internal.h"
#include "pki_internal.h"

#define SIG_HEADER "bacsc-cari-signature 1\n"
#define SIG_MAX (64u << 10)

typedef struct line {
    char *name;
    char text[80 + 1];
} line;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const line *)a)->name, ((const line *)b)->name);
}

static int sha_entry(zip_t *za, zip_uint64_t i, uint64_t *budget, unsigned char h[32])
{
    zip_file_t *f = zip_fopen_index(za, i, 0);
    if (!f)
        return BACSC_ERR_MALFORMED;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) ? BACSC_OK : BACSC_ERR_NOMEM;
    unsigned char buf[16384];
    zip_int64_t n;
    while (rc == BACSC_OK && (n = zip_fread(f, buf, sizeof buf)) != 0) {
        if (n < 0 || (uint64_t)n > *budget) {
            rc = n < 0 ? BACSC_ERR_MALFORMED : BACSC_ERR_LIMIT;
            break;
        }
        *budget -= (uint64_t)n;
        EVP_DigestUpdate(md, buf, (size_t)n);
    }
    unsigned int hl = 0;
    if (rc == BACSC_OK && !EVP_DigestFinal_ex(md, h, &hl))
        rc = BACSC_ERR_CRYPTO;
    EVP_MD_CTX_free(md);
    zip_fclose(f);
    return rc;
}

/* The signed text of an archive: a header, then "HEX  name\n" per entry
 * (directories and the signature left out), by name. *sig_index: the
 * signature entry or -1. */
/* sha_entry from octets already inflated (the same octets, the same budget). */
static int sha_pre(const cari_pre *p, uint64_t *budget, unsigned char h[32])
{
    if (p->len > *budget)
        return BACSC_ERR_LIMIT;
    *budget -= p->len;
    if (p->has_sha256) {
        memcpy(h, p->sha256, 32);
        return BACSC_OK;
    }
    unsigned int hl = 0;
    return EVP_Digest(p->data, p->len, h, &hl, EVP_sha256(), NULL) ? BACSC_OK : BACSC_ERR_CRYPTO;
}

int cari_sig_content(zip_t *za, uint64_t max_total, const cari_pre *pre, char **out,
                     size_t *out_len, int64_t *sig_index, char *why, size_t cap)
{
    zip_int64_t total = zip_get_num_entries(za, 0);
    *sig_index = -1;
    line *l = calloc((size_t)(total > 0 ? total : 1), sizeof *l);
    if (total < 0 || !l) {
        free(l);
        snprintf(why, cap, "cannot read the archive");
        return BACSC_ERR_MALFORMED;
    }
    size_t n = 0;
    int rc = BACSC_OK;
    uint64_t budget = max_total;
    for (zip_uint64_t i = 0; i < (zip_uint64_t)total && rc == BACSC_OK; i++) {
        const char *name = zip_get_name(za, i, ZIP_FL_ENC_RAW);
        size_t nl = name ? strlen(name) : 0;
        if (!name || strpbrk(name, "\r\n")) {
            snprintf(why, cap, "an entry name cannot be signed");
            rc = BACSC_ERR_MALFORMED;
        } else if (nl && name[nl - 1] == '/') {
            continue;
        } else if (strcmp(name, BACSC_CARI_SIGNATURE) == 0) {
            if (*sig_index >= 0) {
                snprintf(why, cap, "two %s entries", BACSC_CARI_SIGNATURE);
                rc = BACSC_ERR_MALFORMED;
            }
            *sig_index = (zip_int64_t)i;
        } else {
            unsigned char h[32];
            char hex[65];
            rc = pre && pre[i].data ? sha_pre(&pre[i], &budget, h) : sha_entry(za, i, &budget, h);
            if (rc != BACSC_OK) {
                snprintf(why, cap, "%s cannot be read", name);
                break;
            }
            bacsc_pki_hex(h, 32, hex);
            l[n].name = (char *)name;
            snprintf(l[n].text, sizeof l[n].text, "%s  ", hex);
            n++;
        }
    }
    qsort(l, n, sizeof *l, by_name);
    for (size_t i = 1; rc == BACSC_OK && i < n; i++)
        if (strcmp(l[i - 1].name, l[i].name) == 0) {
            snprintf(why, cap, "entry %s appears twice", l[i].name);
            rc = BACSC_ERR_MALFORMED;
        }
    size_t len = strlen(SIG_HEADER);
    for (size_t i = 0; i < n; i++)
        len += strlen(l[i].text) + strlen(l[i].name) + 1;
    char *t = rc == BACSC_OK ? malloc(len + 1) : NULL;
    if (rc == BACSC_OK && !t)
        rc = BACSC_ERR_NOMEM;
    if (t) {
        size_t o = (size_t)sprintf(t, "%s", SIG_HEADER);
        for (size_t i = 0; i < n; i++)
            o += (size_t)sprintf(t + o, "%s%s\n", l[i].text, l[i].name);
        *out = t;
        *out_len = o;
    }
    free(l);
    return rc;
}

static void invalid(bacsc_cari *c, const char *fmt, const char *a)
{
    char buf[300];
    snprintf(buf, sizeof buf, fmt, a);
    free(c->sig_error);
    c->sig_error = strdup(buf);
    c->sig_state = BACSC_CARI_SIG_INVALID;
}

/* Verify the CMS `der` over `content`; fill the signer fields of c. */
static void verify_cms(bacsc_cari *c, const unsigned char *der, size_t der_len,
                       const char *content, size_t clen)
{
    const unsigned char *p = der;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)der_len);
    /* The content goes through a pass-through filter on top of the memory BIO:
     * CMS_verify copies a bare memory BIO into a temporary one of its own, and
     * OpenSSL 3.0 leaks that copy when the signature's digest setup fails (e.g.
     * an unknown digestAlgorithm); with a filter on top it reads ours directly. */
    BIO *mem = BIO_new_mem_buf(content, (int)clen);
    BIO *in = mem ? BIO_new(BIO_f_null()) : NULL;
    if (in)
        BIO_push(in, mem);
    else
        BIO_free(mem);
    X509_STORE *st = X509_STORE_new();
    if (!cms || p != der + der_len || !in || !st) {
        invalid(c, "%s is not a CMS signature", BACSC_CARI_SIGNATURE);
    } else if (CMS_verify(cms, NULL, st, in, NULL,
                          CMS_DETACHED | CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
        invalid(c, "the signature does not verify%s",
                " (an entry was changed, added or removed after signing)");
    } else {
        STACK_OF(X509) *signers = CMS_get0_signers(cms);
        if (sk_X509_num(signers) != 1) {
            invalid(c, "%s", "the signature must have exactly one signer");
        } else {
            X509 *x = sk_X509_value(signers, 0);
            unsigned int n = 0;
            X509_digest(x, EVP_sha256(), c->signer_sha256, &n);
            BIO *b = BIO_new(BIO_s_mem());
            char *txt = NULL;
            if (b && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
                long l = BIO_get_mem_data(b, &txt);
                c->signer_subject = cari_printable(txt, (size_t)l);
            }
            BIO_free(b);
            c->signer_not_before = pki_asn1_time(X509_get0_notBefore(x));
            c->signer_not_after = pki_asn1_time(X509_get0_notAfter(x));
            c->sig_state = BACSC_CARI_SIG_VALID;
        }
        sk_X509_free(signers);
    }
    ERR_clear_error();
    X509_STORE_free(st);
    BIO_free_all(in);
    CMS_ContentInfo_free(cms);
}

void cari_check_signature(zip_t *za, uint64_t max_total, const cari_pre *pre, bacsc_cari *c)
{
    char *content = NULL, why[200] = "";
    size_t clen = 0;
    int64_t si = -1;
    int rc = cari_sig_content(za, max_total, pre, &content, &clen, &si, why, sizeof why);
    if (si < 0 && rc == BACSC_OK) {
        free(content);
        return; /* unsigned */
    }
    if (rc != BACSC_OK) {
        invalid(c, "%s", why[0] ? why : "the archive cannot be hashed");
        free(content);
        return;
    }
    zip_stat_t st;
    zip_stat_init(&st);
    unsigned char *der = NULL;
    zip_file_t *f = NULL;
    if (zip_stat_index(za, (zip_uint64_t)si, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE) &&
        st.size > 0 && st.size <= SIG_MAX && (der = malloc(st.size)) != NULL &&
        (f = zip_fopen_index(za, (zip_uint64_t)si, 0)) != NULL &&
        zip_fread(f, der, st.size) == (zip_int64_t)st.size)
        verify_cms(c, der, st.size, content, clen);
    else
        invalid(c, "%s cannot be read (at most 64 KiB)", BACSC_CARI_SIGNATURE);
    if (f)
        zip_fclose(f);
    free(der);
    free(content);
}

/* ---- signing ------------------------------------------------------------------------- */

static int sign_fail(char *err, size_t errlen, int rc, const char *fmt, const char *a)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a);
    ERR_clear_error();
    return rc;
}

static int load_signer(const char *cert_file, const char *key_file, X509 **x, EVP_PKEY **k,
                       char *err, size_t errlen)
{
    FILE *f = fopen(cert_file, "r");
    *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!*x)
        return sign_fail(err, errlen, BACSC_ERR_MALFORMED, "%s: not a PEM certificate",
                         cert_file);
    f = fopen(key_file, "r");
    *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!*k)
        return sign_fail(err, errlen, BACSC_ERR_MALFORMED, "%s: not a PEM private key",
                         key_file);
    if (X509_check_private_key(*x, *k) != 1)
        return sign_fail(err, errlen, BACSC_ERR_MALFORMED,
                         "%s: the key does not match the certificate", key_file);
    return BACSC_OK;
}

/* Add signature.p7s (CMS over `content`) to `za`, replacing an old one. */
static int add_signature(zip_t *za, zip_int64_t old, X509 *x, EVP_PKEY *k, const char *content,
                         size_t clen)
{
    BIO *in = BIO_new_mem_buf(content, (int)clen);
    CMS_ContentInfo *cms =
        in ? CMS_sign(x, k, NULL, in, CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP) : NULL;
    BIO_free(in);
    unsigned char *der = NULL;
    int dl = cms ? i2d_CMS_ContentInfo(cms, &der) : -1;
    CMS_ContentInfo_free(cms);
    if (dl <= 0)
        return BACSC_ERR_CRYPTO;
    unsigned char *copy = malloc((size_t)dl);
    if (!copy) {
        OPENSSL_free(der);
        return BACSC_ERR_NOMEM;
    }
    memcpy(copy, der, (size_t)dl);
    OPENSSL_free(der);
    if (old >= 0)
        zip_delete(za, (zip_uint64_t)old);
    zip_source_t *s = zip_source_buffer(za, copy, (size_t)dl, 1);
    if (!s) {
        free(copy);
        return BACSC_ERR_NOMEM;
    }
    zip_int64_t idx = zip_file_add(za, BACSC_CARI_SIGNATURE, s, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(s);
        return BACSC_ERR_NOMEM;
    }
    zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
    zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
                                     (zip_uint32_t)(S_IFREG | 0644) << 16);
    return BACSC_OK;
}

/* The archive in `src` after zip_close, as a malloc'd buffer. */
static int source_bytes(zip_source_t *src, unsigned char **out, size_t *len)
{
    int rc = BACSC_ERR_IO;
    zip_int64_t size;
    if (zip_source_open(src) == 0) {
        if (zip_source_seek(src, 0, SEEK_END) == 0 && (size = zip_source_tell(src)) > 0 &&
            zip_source_seek(src, 0, SEEK_SET) == 0 && (*out = malloc((size_t)size)) != NULL) {
            if (zip_source_read(src, *out, (zip_uint64_t)size) == size) {
                *len = (size_t)size;
                rc = BACSC_OK;
            } else {
                free(*out);
                *out = NULL;
            }
        }
        zip_source_close(src);
    }
    return rc;
}

int bacsc_cari_sign_file(const char *path, const char *cert_file, const char *key_file,
                         char *err, size_t errlen)
{
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = load_signer(cert_file, key_file, &x, &k, err, errlen);
    if (rc == BACSC_OK && pki_read_file(path, 512u << 20, &data, &len) != BACSC_OK)
        rc = sign_fail(err, errlen, BACSC_ERR_IO, "cannot read %s", path);
    zip_error_t ze;
    zip_error_init(&ze);
    /* libzip takes the octets over (it frees them when the archive is rewritten) */
    zip_source_t *src = rc == BACSC_OK ? zip_source_buffer_create(data, len, 1, &ze) : NULL;
    if (src)
        data = NULL;
    zip_t *za = src ? zip_open_from_source(src, 0, &ze) : NULL;
    zip_error_fini(&ze);
    if (rc == BACSC_OK && !za) {
        if (src)
            zip_source_free(src);
        src = NULL;
        rc = sign_fail(err, errlen, BACSC_ERR_MALFORMED, "%s is not a zip archive", path);
    }
    char *content = NULL, why[200] = "";
    size_t clen = 0;
    int64_t old = -1;
    if (rc == BACSC_OK) {
        zip_source_keep(src);
        rc = cari_sig_content(za, 512u << 20, NULL, &content, &clen, &old, why, sizeof why);
        if (rc != BACSC_OK)
            sign_fail(err, errlen, rc, "cannot sign: %s", why);
    }
    if (rc == BACSC_OK && (rc = add_signature(za, old, x, k, content, clen)) != BACSC_OK)
        sign_fail(err, errlen, rc, "%s: CMS signing failed", path);
    unsigned char *outb = NULL;
    size_t outl = 0;
    if (za && rc == BACSC_OK && zip_close(za) == 0)
        za = NULL, rc = source_bytes(src, &outb, &outl);
    else if (rc == BACSC_OK)
        rc = BACSC_ERR_IO;
    if (za)
        zip_discard(za);
    if (src)
        zip_source_free(src);
    if (rc == BACSC_OK && bacsc_pki_write_file(path, outb, outl, 0644) != BACSC_OK)
        rc = sign_fail(err, errlen, BACSC_ERR_IO, "cannot write %s", path);
    else if (rc == BACSC_ERR_IO && err && !err[0])
        sign_fail(err, errlen, rc, "cannot rewrite %s", path);
    free(outb);
    free(content);
    free(data);
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}
