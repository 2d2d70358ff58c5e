/*
 * support_pki.c — a throw-away test PKI made with OpenSSL (EC P-256):
 * two CAs and leaf certificates for the TLS tests, including an expired one
 * and a revoked one with a CRL. See support_pki.h.
 */
#include "support_pki.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static long serial_counter = 1000;

static EVP_PKEY *new_key(void)
{
    return EVP_EC_gen("P-256");
}

static int write_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s.pem", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || !PEM_write_X509(f, x))
        return -1;
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    f = fopen(path, "w");
    if (!f || !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL))
        return -1;
    fclose(f);
    chmod(path, 0600);
    return 0;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (e) {
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
}

/* Issue a certificate; issuer NULL → self-signed CA; validity in seconds
 * from now; skid NULL → the key's hash, else that hex string. */
static X509 *issue_s(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                     long not_before_s, long not_after_s, const char *san, const char *skid)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial_counter++);
    X509_gmtime_adj(X509_getm_notBefore(x), not_before_s);
    X509_gmtime_adj(X509_getm_notAfter(x), not_after_s);
    X509_set_pubkey(x, key);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
    X509 *iss = issuer ? issuer : x;
    if (ca) {
        add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, iss, NID_key_usage, "critical,digitalSignature");
        add_ext(x, iss, NID_ext_key_usage, "serverAuth,clientAuth");
        add_ext(x, iss, NID_subject_alt_name,
                san ? san : "DNS:localhost,IP:127.0.0.1,URI:urn:uuid:00000000-0000-4000-8000-000000000001");
    }
    add_ext(x, iss, NID_subject_key_identifier, skid ? skid : "hash");
    if (issuer)
        add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
    return x;
}

/* The same, validity in days. */
static X509 *issue(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                   long not_before_days, long not_after_days, const char *san)
{
    return issue_s(cn, key, issuer, issuer_key, ca, not_before_days * 86400,
                   not_after_days * 86400, san, NULL);
}

/* The same subject and key identifier as `ca` (so a certificate of `ca`
 * names it as its issuer), but another key. */
static X509 *ca_twin(X509 *ca, EVP_PKEY *key)
{
    const ASN1_OCTET_STRING *id = X509_get0_subject_key_id(ca);
    char *hex = id ? OPENSSL_buf2hexstr(ASN1_STRING_get0_data(id), ASN1_STRING_length(id)) : NULL;
    X509 *x = hex ? issue_s("Test CA 1", key, NULL, NULL, true, -86400, 3650L * 86400, NULL, hex)
                  : NULL;
    OPENSSL_free(hex);
    return x;
}

#define N_CERTS 13

int support_pki_make(const char *dir)
{
    int rc = -1;
    EVP_PKEY *k[N_CERTS] = {0};
    X509 *c[N_CERTS] = {0};
    X509_CRL *crl = NULL;
    for (int i = 0; i < N_CERTS; i++)
        if (!(k[i] = new_key()))
            goto out;
    c[0] = issue("Test CA 1", k[0], NULL, NULL, true, -1, 3650, NULL);
    c[1] = issue("Test CA 2", k[1], NULL, NULL, true, -1, 3650, NULL);
    c[2] = issue("hub", k[2], c[0], k[0], false, -1, 365, NULL);
    c[3] = issue("node", k[3], c[0], k[0], false, -1, 365, NULL);
    c[4] = issue("stranger", k[4], c[1], k[1], false, -1, 365, NULL);
    c[5] = issue("expired", k[5], c[0], k[0], false, -30, -1, NULL);
    c[6] = issue("revoked", k[6], c[0], k[0], false, -1, 365, NULL);
    c[7] = issue("hub2", k[7], c[1], k[1], false, -1, 365, NULL); /* a server from the other CA */
    c[8] = issue("nosan", k[8], c[0], k[0], false, -1, 365,
                 "URI:urn:uuid:00000000-0000-4000-8000-000000000002"); /* no host name */
    c[9] = ca_twin(c[0], k[9]);
    /* CA 1 again: same name and key, another serial and validity */
    EVP_PKEY_free(k[10]);
    k[10] = EVP_PKEY_dup(k[0]);
    c[10] = issue_s("Test CA 1", k[10], NULL, NULL, true, -2 * 86400, 3000L * 86400, NULL, NULL);
    c[11] = issue_s("lapsed", k[11], c[0], k[0], false, -7200, -3600, NULL, NULL);
    c[12] = issue_s("early", k[12], c[0], k[0], false, 86400, 2 * 86400, NULL, NULL);
    const char *names[N_CERTS] = {"ca1",   "ca2",     "server",   "client",   "other",
                                  "expired", "revoked", "server2", "nosan",  "ca1twin",
                                  "ca1again", "lapsed", "early"};
    for (int i = 0; i < N_CERTS; i++)
        if (!c[i] || write_pem(dir, names[i], c[i], k[i]) != 0)
            goto out;

    /* CRL of CA 1 revoking "revoked". */
    crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(c[0]));
    ASN1_TIME *t = ASN1_TIME_new();
    X509_gmtime_adj(t, -3600);
    X509_CRL_set1_lastUpdate(crl, t);
    X509_gmtime_adj(t, 30 * 86400);
    X509_CRL_set1_nextUpdate(crl, t);
    X509_REVOKED *r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(c[6]));
    X509_gmtime_adj(t, -600);
    X509_REVOKED_set_revocationDate(r, t);
    X509_CRL_add0_revoked(crl, r);
    ASN1_TIME_free(t);
    X509_CRL_sort(crl);
    X509_CRL_sign(crl, k[0], EVP_sha256());
    char path[600];
    snprintf(path, sizeof path, "%s/ca1.crl", dir);
    FILE *f = fopen(path, "w");
    if (!f || !PEM_write_X509_CRL(f, crl)) {
        if (f)
            fclose(f);
        goto out;
    }
    fclose(f);
    rc = 0;
out:
    X509_CRL_free(crl);
    for (int i = 0; i < N_CERTS; i++) {
        X509_free(c[i]);
        EVP_PKEY_free(k[i]);
    }
    return rc;
}

void support_pki_path(char *out, size_t cap, const char *dir, const char *name, const char *ext)
{
    snprintf(out, cap, "%s/%s.%s", dir, name, ext);
}
