/*
 * fuzz_csr.c — CSR and certificate input of the CA: PEM/DER normalisation,
 * CSR inspection and policy checks, certificate parsing, and issuing from an
 * accepted CSR with a fixed test CA.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bacsc_signer *test_signer(void)
{
    static bacsc_signer *s;
    if (!s) {
        EVP_PKEY *k = NULL;
        X509 *ca = NULL;
        if (bacsc_pki_keygen(BACSC_KEY_EC_P256, &k) == 0 &&
            bacsc_pki_make_ca_cert(k, "fuzz CA", NULL, 30, &ca) == 0)
            bacsc_signer_new(ca, k, &s);
        X509_free(ca);
        EVP_PKEY_free(k);
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bacsc_policy p;
    bacsc_policy_default(&p);
    p.key_types = 0xffff;
    char why[BACSC_PKI_REASON_LEN];
    bacsc_csr_info info;
    uint8_t *der = NULL;
    size_t len = 0;
    if (bacsc_pki_to_der(BACSC_PKI_CSR, data, size, &der, &len) == BACSC_OK) {
        if (bacsc_policy_check_csr(&p, der, len, &info, why, sizeof why) == BACSC_OK) {
            const unsigned char *q = der;
            X509_REQ *req = d2i_X509_REQ(NULL, &q, (long)len);
            bacsc_carry carry = {.uuid = true, .dns = true, .ip = true, .uri_other = true};
            X509 *x = NULL;
            bacsc_signer *s = test_signer();
            if (req && s && bacsc_signer_issue_csr(s, req, &carry, 1, 0, NULL, &x) == BACSC_OK) {
                bacsc_cert_info ci;
                bacsc_pki_cert_inspect(x, &ci);
            }
            X509_free(x);
            X509_REQ_free(req);
        }
        free(der);
    }
    bacsc_pki_csr_inspect(data, size, &info, why, sizeof why);
    STACK_OF(X509) *certs = NULL;
    if (bacsc_pki_certs_parse(data, size, &certs) > 0) {
        for (int i = 0; i < sk_X509_num(certs); i++) {
            bacsc_cert_info ci;
            bacsc_pki_cert_inspect(sk_X509_value(certs, i), &ci);
        }
        sk_X509_pop_free(certs, X509_free);
    }
    return 0;
}
