/*
 * bench_web_data — the data of bench/web.sh: in DIR, a CA (DIR/ca), a site
 * database (DIR/site.db) with N devices holding certificates from that CA
 * with expiries spread over three years (some expired, some expiring, some
 * without certificate), and a CARI request (DIR/request.zip) of N fresh EC
 * P-256 CSRs.
 *
 * usage: bench_web_data DIR [N]        (N default 10000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bacsc/cari.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "bacsc/site.h"

static int die(const char *what, const char *err)
{
    fprintf(stderr, "bench_web_data: %s: %s\n", what, err ? err : "");
    return 1;
}

/* N devices, each with its own key and a certificate from the CA. */
static int make_site(const char *dir, unsigned n, X509 *ca_cert, EVP_PKEY *ca_key)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/site.db", dir);
    bacsc_site *s = NULL;
    if (bacsc_site_open(path, true, &s, err, sizeof err) != BACSC_OK)
        return die("site", err);
    unsigned char *ca_der = NULL;
    int ca_len = i2d_X509(ca_cert, &ca_der);
    if (bacsc_site_settings_set(s, "bench-site", ca_der, (size_t)ca_len, "bench.example", "",
                                "") != BACSC_OK)
        return die("site settings", bacsc_site_errmsg(s));
    OPENSSL_free(ca_der);
    bacsc_signer *sg = NULL;
    if (bacsc_signer_new(ca_cert, ca_key, &sg) != BACSC_OK)
        return die("signer", "");
    EVP_PKEY *key = NULL; /* one key for all: the bench measures listing, not keys */
    bacsc_pki_keygen(BACSC_KEY_EC_P256, &key);
    int64_t now = (int64_t)time(NULL);
    srand(7);
    for (unsigned i = 0; i < n; i++) {
        bacsc_site_device d;
        bacsc_site_device_init(&d, 100000 + i);
        snprintf(d.name, sizeof d.name, "ahu-%05u", i);
        bacsc_pki_uuid_random(d.uuid);
        snprintf(d.address, sizeof d.address, "10.%u.%u.%u:47808", (i >> 16) & 255,
                 (i >> 8) & 255, i & 255);
        d.mode = 1 + (int)(i % 3);
        d.sc_port = 2;
        d.ip_port = 1;
        d.last_seen = now - (int64_t)(rand() % 86400);
        if (i % 10 != 0) { /* 10 % without a certificate */
            bacsc_cert_spec spec = {.cn = d.name, .device_uuid = d.uuid,
                                    .validity_days = 1 + rand() % 1100};
            X509 *c = NULL;
            /* issued up to a year ago: some have expired */
            if (bacsc_signer_issue(sg, key, &spec, now - (int64_t)(rand() % 365) * 86400, &c) ==
                BACSC_OK) {
                unsigned char *der = NULL;
                int len = i2d_X509(c, &der);
                d.cert_der = malloc((size_t)len);
                memcpy(d.cert_der, der, (size_t)len);
                d.cert_len = (size_t)len;
                OPENSSL_free(der);
                X509_free(c);
            }
        }
        if (bacsc_site_device_put(s, &d) != BACSC_OK)
            return die("device", bacsc_site_errmsg(s));
        bacsc_site_device_clear(&d);
    }
    EVP_PKEY_free(key);
    bacsc_signer_free(sg);
    bacsc_site_close(s);
    return 0;
}

static int make_request(const char *dir, unsigned n)
{
    bacsc_cari_writer *w = NULL;
    if (bacsc_cari_writer_new(BACSC_CARI_REQUEST, "bench-site", NULL, &w) != BACSC_OK)
        return die("writer", "");
    char err[256];
    for (unsigned i = 0; i < n; i++) {
        EVP_PKEY *key = NULL;
        bacsc_pki_keygen(BACSC_KEY_EC_P256, &key);
        char cn[32], uuid[BACSC_PKI_UUID_STR_LEN];
        snprintf(cn, sizeof cn, "vav-%05u", i);
        bacsc_pki_uuid_random(uuid);
        bacsc_cert_spec spec = {.cn = cn, .device_uuid = uuid};
        uint8_t *der = NULL;
        size_t len = 0;
        if (bacsc_pki_make_csr(key, &spec, false, &der, &len) != BACSC_OK ||
            bacsc_cari_writer_add_csr(w, der, len, cn, NULL, NULL, err, sizeof err) < 0)
            return die("csr", err);
        free(der);
        EVP_PKEY_free(key);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/request.zip", dir);
    if (bacsc_cari_writer_write_file(w, path, NULL) != BACSC_OK)
        return die("write", path);
    bacsc_cari_writer_free(w);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_web_data DIR [N]\n");
        return 2;
    }
    const char *dir = argv[1];
    unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 10000;
    char cadir[512], err[256];
    snprintf(cadir, sizeof cadir, "%s/ca", dir);
    bacsc_ca_init_params p = {.dir = cadir, .name = "Bench Web CA", .actor = "bench"};
    if (bacsc_ca_init(&p, err, sizeof err) != BACSC_OK)
        return die("ca init", err);
    bacsc_ca *ca = NULL;
    if (bacsc_ca_open(cadir, NULL, &ca, err, sizeof err) != BACSC_OK)
        return die("ca open", err);
    char keypath[600];
    snprintf(keypath, sizeof keypath, "%s/ca.key", cadir);
    EVP_PKEY *ca_key = NULL;
    if (bacsc_pki_key_read(keypath, NULL, &ca_key) != BACSC_OK)
        return die("ca key", keypath);
    int rc = make_site(dir, n, bacsc_ca_cert(ca), ca_key);
    if (rc == 0)
        rc = make_request(dir, n);
    EVP_PKEY_free(ca_key);
    bacsc_ca_close(ca);
    if (rc == 0)
        printf("bench_web_data: %u devices in %s/site.db, %u CSRs in %s/request.zip\n", n, dir, n,
               dir);
    return rc;
}
