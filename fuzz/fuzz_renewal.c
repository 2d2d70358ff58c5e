/*
 * fuzz_renewal.c — a CSR as the CA's renewal check reads it: the renewal
 * proof attribute, verified against a fixed certificate.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "bacsc/pki.h"
#include "bacsc/renewal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *cert;
    static int certlen;
    if (!cert) {
        EVP_PKEY *k = NULL;
        X509 *ca = NULL;
        if (bacsc_pki_keygen(BACSC_KEY_EC_P256, &k) == 0 &&
            bacsc_pki_make_ca_cert(k, "fuzz renewal", NULL, 30, &ca) == 0)
            certlen = i2d_X509(ca, &cert);
        X509_free(ca);
        EVP_PKEY_free(k);
        if (certlen <= 0)
            return 0;
    }
    bacsc_renewal_verify(data, size, cert, (size_t)certlen);
    return 0;
}
