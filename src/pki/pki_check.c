/*
 * Start-up checks of certificate, key and issuer files: one line naming the
 * file and what is wrong with it, before any TLS context is built.
 */
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "pki_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define CHECK_MAX_FILE (1u << 20)

/* Read a whole (small) file; a one-line reason on failure. */
static int read_small(const char *path, unsigned char **data, size_t *len, char *err,
                      size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return BACSC_ERR_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, not a file", path);
        return BACSC_ERR_MALFORMED;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (size_t)st.st_size > CHECK_MAX_FILE) {
        snprintf(err, errlen, "%s: %s", path,
                 !S_ISREG(st.st_mode) ? "is not a regular file"
                 : st.st_size <= 0    ? "is empty"
                                      : "is too large for a certificate or key (over 1 MiB)");
        return BACSC_ERR_MALFORMED;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return BACSC_ERR_IO;
    }
    unsigned char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf || n == 0) {
        free(buf);
        snprintf(err, errlen, "%s: cannot be read", path);
        return BACSC_ERR_IO;
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return BACSC_OK;
}

/* What a file that is not a certificate is, for the message. */
static const char *misplaced_kind(const unsigned char *d, size_t len)
{
    const char *s = (const char *)d;
    if (strstr(s, "CERTIFICATE REQUEST-----"))
        return "is a CSR (certificate signing request), not a certificate";
    if (strstr(s, "PRIVATE KEY-----"))
        return "is a private key, not a certificate";
    if (strstr(s, "X509 CRL-----"))
        return "is a CRL, not a certificate";
    const unsigned char *p = d;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
    if (req) {
        X509_REQ_free(req);
        return "is a CSR (certificate signing request, DER), not a certificate";
    }
    return "is not a PEM or DER certificate";
}

static X509 *parse_cert(const unsigned char *d, size_t len)
{
    BIO *b = BIO_new_mem_buf(d, (int)len);
    X509 *c = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!c) {
        const unsigned char *p = d;
        c = d2i_X509(NULL, &p, (long)len);
    }
    ERR_clear_error();
    return c;
}

static void fmt_time(const ASN1_TIME *t, char *out, size_t outlen)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1 || !strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, outlen, "(unreadable date)");
}

/* Validity of a parsed certificate at `now`; 0 or a reason in err. */
static int check_validity(const char *path, X509 *c, time_t now, char *err, size_t errlen)
{
    char date[64];
    if (X509_cmp_time(X509_get0_notAfter(c), &now) < 0) {
        fmt_time(X509_get0_notAfter(c), date, sizeof date);
        snprintf(err, errlen, "%s: certificate expired on %s", path, date);
        return BACSC_ERR_MALFORMED;
    }
    if (X509_cmp_time(X509_get0_notBefore(c), &now) > 0) {
        fmt_time(X509_get0_notBefore(c), date, sizeof date);
        snprintf(err, errlen, "%s: certificate not yet valid (valid from %s)", path, date);
        return BACSC_ERR_MALFORMED;
    }
    return BACSC_OK;
}

int bacsc_pki_check_cert_file(const char *path, bool issuer, time_t now, X509 **out, char *err,
                              size_t errlen)
{
    unsigned char *d = NULL;
    size_t len = 0;
    int rc = read_small(path, &d, &len, err, errlen);
    if (rc != BACSC_OK)
        return rc;
    X509 *c = parse_cert(d, len);
    if (!c) {
        snprintf(err, errlen, "%s: %s", path, misplaced_kind(d, len));
        free(d);
        return BACSC_ERR_MALFORMED;
    }
    free(d);
    if (issuer && X509_check_ca(c) == 0) {
        snprintf(err, errlen, "%s: is not a CA certificate (no basicConstraints CA:TRUE); "
                              "an issuer file must hold the CA's certificate", path);
        rc = BACSC_ERR_MALFORMED;
    } else {
        rc = check_validity(path, c, now, err, errlen);
    }
    if (rc == BACSC_OK && out)
        *out = c;
    else
        X509_free(c);
    return rc;
}

int bacsc_pki_check_key_file(const char *path, X509 *cert, const char *cert_path, char *err,
                             size_t errlen)
{
    unsigned char *d = NULL;
    size_t len = 0;
    int rc = read_small(path, &d, &len, err, errlen);
    if (rc != BACSC_OK)
        return rc;
    BIO *b = BIO_new_mem_buf(d, (int)len);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"") : NULL;
    BIO_free(b);
    if (!k) {
        const unsigned char *p = d;
        k = d2i_AutoPrivateKey(NULL, &p, (long)len);
    }
    ERR_clear_error();
    if (!k) {
        const char *s = (const char *)d;
        snprintf(err, errlen, "%s: %s", path,
                 strstr(s, "ENCRYPTED PRIVATE KEY-----") ? "is an encrypted private key; give the key unencrypted"
                 : strstr(s, "CERTIFICATE REQUEST-----") ? "is a CSR, not a private key"
                 : strstr(s, "CERTIFICATE-----")         ? "is a certificate, not a private key"
                                                         : "is not a PEM or DER private key");
        free(d);
        return BACSC_ERR_MALFORMED;
    }
    free(d);
    if (cert && X509_check_private_key(cert, k) != 1) {
        snprintf(err, errlen, "%s: key does not match the certificate %s", path,
                 cert_path ? cert_path : "");
        rc = BACSC_ERR_MALFORMED;
    }
    ERR_clear_error();
    EVP_PKEY_free(k);
    return rc;
}

/* notAfter as Unix seconds; 0 when unreadable. */
static int64_t not_after(const X509 *c)
{
    return c ? pki_asn1_time(X509_get0_notAfter(c)) : 0;
}

int bacsc_pki_check_node_files(const char *cert_file, const char *key_file,
                               const char *const *issuer_files, size_t n_issuers, time_t now,
                               bacsc_pki_node_dates *dates, char *err, size_t errlen, char *warn,
                               size_t warnlen)
{
    if (warn && warnlen)
        warn[0] = 0;
    if (dates)
        memset(dates, 0, sizeof *dates);
    X509 *cert = NULL;
    int rc = BACSC_OK;
    if (cert_file) {
        rc = bacsc_pki_check_cert_file(cert_file, false, now, &cert, err, errlen);
        if (rc != BACSC_OK)
            return rc;
    }
    if (key_file && (rc = bacsc_pki_check_key_file(key_file, cert, cert_file, err, errlen)))
        goto out;
    for (size_t i = 0; i < n_issuers; i++) {
        X509 *ic = NULL;
        if (issuer_files[i] &&
            (rc = bacsc_pki_check_cert_file(issuer_files[i], true, now, &ic, err, errlen)))
            goto out;
        if (dates && i < BACSC_PKI_CHECK_MAX_ISSUERS)
            dates->issuer_not_after[i] = not_after(ic);
        X509_free(ic);
    }
    if (dates)
        dates->cert_not_after = not_after(cert);
    time_t soon = now + (time_t)BACSC_PKI_EXPIRY_WARN_DAYS * 86400;
    if (cert && warn && X509_cmp_time(X509_get0_notAfter(cert), &soon) < 0) {
        char date[64];
        fmt_time(X509_get0_notAfter(cert), date, sizeof date);
        snprintf(warn, warnlen, "%s: certificate expires on %s (within %d days): renew it",
                 cert_file, date, BACSC_PKI_EXPIRY_WARN_DAYS);
    }
out:
    X509_free(cert);
    return rc;
}
