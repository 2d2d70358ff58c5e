/* test_commission.c — certificate management through standard objects:
 * generate-csr-file → AtomicReadFile → OpenSSL-parsed CSR with the right
 * CN/SAN; AtomicWriteFile certificates; validate-changes outcomes (valid,
 * wrong key, expired, not yet valid, unknown issuer, not a certificate);
 * activate-changes success, mode switching and failure keeping the old set;
 * ReinitializeDevice password; the private key never readable. Real state
 * directory, simulated wall clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "support_cari_certs.h"
#include "support_commission.h"

#define NP BACSC_OBJ_NETWORK_PORT
#define SCP BACSC_COMMISSION_SC_PORT
#define IPP BACSC_COMMISSION_IP_PORT
#define PW "s3cret"

static char *tmp;
static scc_ca ca1, ca2;

static int setup(void **state)
{
    (void)state;
    tmp = scc_tempdir();
    scc_ca_init(&ca1, "Site CA");
    scc_ca_init(&ca2, "Other CA");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    scc_ca_free(&ca1);
    scc_ca_free(&ca2);
    scc_rmrf(tmp);
    free(tmp);
    return 0;
}

static void bench(sch *s, const char *name)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    sch_open(s, dir, 1001, PW);
    assert_int_equal(sch_login(s, PW).outcome, BACSC_CLIENT_SIMPLE_ACK);
}

/* Without the password nobody stages a change: not the issuers, not the hub,
 * not a new key (generate-csr), whatever the later activation. */
static void test_changes_need_session(void **state)
{
    (void)state;
    sch s;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", tmp, "session");
    sch_open(&s, dir, 1001, PW);
    sch_res r = sch_write_string(&s, NP, SCP, BACSC_PROP_SC_PRIMARY_HUB_URI, "wss://evil:4443");
    assert_int_equal(r.outcome, BACSC_CLIENT_ERROR);
    assert_int_equal(r.error_class, BACSC_ERROR_CLASS_PROPERTY);
    assert_int_equal(r.error_code, BACSC_EC_WRITE_ACCESS_DENIED);
    r = sch_write_enum(&s, NP, SCP, BACSC_PROP_COMMAND, BACSC_NPC_GENERATE_CSR_FILE);
    assert_int_equal(r.error_code, BACSC_EC_WRITE_ACCESS_DENIED);
    const char *pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    r = sch_write_file(&s, BACSC_COMMISSION_FILE_ISSUER2, 0, pem, strlen(pem));
    assert_int_equal(r.error_class, BACSC_ERROR_CLASS_SERVICES);
    assert_int_equal(r.error_code, BACSC_EC_FILE_ACCESS_DENIED);
    r = sch_login(&s, "wrong");
    assert_int_equal(r.error_class, BACSC_ERROR_CLASS_SECURITY);
    assert_int_equal(r.error_code, BACSC_EC_PASSWORD_FAILURE);
    r = sch_write_string(&s, NP, SCP, BACSC_PROP_SC_PRIMARY_HUB_URI, "wss://evil:4443");
    assert_int_equal(r.error_code, BACSC_EC_WRITE_ACCESS_DENIED);
    assert_int_equal(sch_login(&s, PW).outcome, BACSC_CLIENT_SIMPLE_ACK);
    r = sch_write_string(&s, NP, SCP, BACSC_PROP_SC_PRIMARY_HUB_URI, "wss://hub:4443");
    assert_int_equal(r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    sch_close(&s);
}

/* CSR via the device; returns the CSR DER (malloc'd). */
static uint8_t *get_csr(sch *s, size_t *der_len)
{
    sch_res r = sch_write_enum(s, NP, SCP, BACSC_PROP_COMMAND, BACSC_NPC_GENERATE_CSR_FILE);
    assert_int_equal(r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    size_t len;
    uint8_t *pem = sch_read_file(s, BACSC_COMMISSION_FILE_CSR, 200, &len, NULL);
    assert_non_null(pem);
    uint8_t *der = NULL;
    assert_int_equal(bacsc_pki_to_der(BACSC_PKI_CSR, pem, len, &der, der_len), BACSC_OK);
    free(pem);
    return der;
}

static char *issue_pem(const scc_ca *ca, const uint8_t *csr, size_t csr_len, size_t *len)
{
    static long serial = 100;
    size_t dlen;
    unsigned char *der = scc_issue(ca, csr, csr_len, serial++, &dlen);
    assert_non_null(der);
    char *pem = scc_pem("CERTIFICATE", der, dlen, len);
    free(der);
    return pem;
}

static char *ca_pem(const scc_ca *ca, size_t *len)
{
    size_t dlen;
    unsigned char *der = scc_ca_der(ca, &dlen);
    char *pem = scc_pem("CERTIFICATE", der, dlen, len);
    free(der);
    return pem;
}

static void put_issuer(sch *s, uint32_t file, const scc_ca *ca)
{
    size_t n;
    char *pem = ca_pem(ca, &n);
    assert_int_equal(sch_write_file(s, file, 0, pem, n).outcome, BACSC_CLIENT_COMPLEX_ACK);
    free(pem);
}

static void validation_is(sch *s, const char *prefix)
{
    char text[200];
    sch_read_string(s, NP, SCP, BACSC_PROP_ID_COMMAND_VALIDATION_RESULT, text, sizeof text);
    if (strncmp(text, prefix, strlen(prefix)) != 0)
        fail_msg("Command_Validation_Result \"%s\", want \"%s...\"", text, prefix);
}

static sch_res validate(sch *s)
{
    return sch_write_enum(s, NP, SCP, BACSC_PROP_COMMAND, BACSC_NPC_VALIDATE_CHANGES);
}

static void test_csr(void **state)
{
    (void)state;
    sch s;
    bench(&s, "csr");
    char text[200];
    sch_read_string(&s, NP, SCP, BACSC_PROP_ID_COMMAND_VALIDATION_RESULT, text, sizeof text);
    assert_string_equal(text, "");
    /* The domain is pending like the rest, and goes into the CN. */
    assert_int_equal(sch_write_string(&s, NP, SCP, BACSC_PROP_ID_SITE_DOMAIN, "site.example").outcome,
                     BACSC_CLIENT_SIMPLE_ACK);
    size_t dlen;
    uint8_t *der = get_csr(&s, &dlen);
    bacsc_csr_info info;
    char why[200];
    assert_int_equal(bacsc_pki_csr_inspect(der, dlen, &info, why, sizeof why), BACSC_OK);
    assert_string_equal(info.cn, "dev1001.site.example");
    assert_true(info.signature_ok);
    assert_int_equal(info.key_type, BACSC_KEY_EC_P256);
    assert_int_equal(info.n_uuid, 1);
    /* The SAN is the Device_UUID. */
    sch_res r = sch_read(&s, BACSC_OBJ_DEVICE, 1001, 507);
    assert_int_equal(r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    bacsc_value v;
    assert_true(bacsc_value_decode(r.data, r.len, &v) > 0);
    assert_int_equal(v.v.octets.len, 16);
    char ut[40];
    const uint8_t *u = v.v.octets.data;
    snprintf(ut, sizeof ut, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
             u[13], u[14], u[15]);
    assert_string_equal(info.device_uuid, ut);
    /* Independent parse with OpenSSL's PEM reader too. */
    size_t plen;
    uint8_t *pem = sch_read_file(&s, BACSC_COMMISSION_FILE_CSR, 1400, &plen, NULL);
    BIO *b = BIO_new_mem_buf(pem, (int)plen);
    X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
    assert_non_null(req);
    assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
    X509_REQ_free(req);
    BIO_free(b);
    /* Command is idle again; a second CSR makes a different key. */
    r = sch_read(&s, NP, SCP, BACSC_PROP_COMMAND);
    assert_int_equal(r.data[1], 0);
    size_t dlen2;
    uint8_t *der2 = get_csr(&s, &dlen2);
    bacsc_csr_info info2;
    assert_int_equal(bacsc_pki_csr_inspect(der2, dlen2, &info2, why, sizeof why), BACSC_OK);
    assert_memory_not_equal(info.key_fp, info2.key_fp, BACSC_PKI_FP_LEN);
    /* The CSR file is read-only. */
    r = sch_write_file(&s, BACSC_COMMISSION_FILE_CSR, 0, "x", 1);
    assert_int_equal(r.outcome, BACSC_CLIENT_ERROR);
    assert_int_equal(r.error_code, BACSC_EC_FILE_ACCESS_DENIED);
    /* Key files: 0600, exactly one (the replaced new key is gone); no File
     * object holds key material. */
    char kd[700];
    snprintf(kd, sizeof kd, "%s/keys", s.dir);
    DIR *d = opendir(kd);
    assert_non_null(d);
    int nkeys = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[1000];
        snprintf(p, sizeof p, "%s/%s", kd, e->d_name);
        struct stat sb;
        assert_int_equal(stat(p, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        nkeys++;
    }
    closedir(d);
    assert_int_equal(nkeys, 1);
    for (uint32_t f = 1; f <= 4; f++) {
        size_t n;
        uint8_t *data = sch_read_file(&s, f, 1400, &n, NULL);
        assert_true(data == NULL || strstr((char *)data, "PRIVATE KEY") == NULL);
        free(data);
    }
    sch_res last;
    size_t n;
    assert_null(sch_read_file(&s, 6, 100, &n, &last));
    assert_int_equal(last.error_code, BACSC_EC_UNKNOWN_OBJECT);
    free(pem);
    free(der);
    free(der2);
    sch_close(&s);
}

static void test_write_and_validate(void **state)
{
    (void)state;
    sch s;
    bench(&s, "validate");
    sch_res r0 = sch_read(&s, NP, SCP, BACSC_PROP_CHANGES_PENDING);
    assert_int_equal(r0.data[0], 0x10);
    /* not a certificate */
    sch_res r = sch_write_file(&s, BACSC_COMMISSION_FILE_OPCERT, 0, "hello world", 11);
    assert_int_equal(r.outcome, BACSC_CLIENT_ERROR);
    assert_int_equal(r.error_class, BACSC_ERROR_CLASS_PROPERTY);
    assert_int_equal(r.error_code, BACSC_EC_INVALID_DATA_TYPE);
    const char *bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    r = sch_write_file(&s, BACSC_COMMISSION_FILE_ISSUER1, 0, bad, strlen(bad));
    assert_int_equal(r.error_code, BACSC_EC_INVALID_DATA_TYPE);
    /* nothing written: validate says no certificate */
    r = validate(&s);
    assert_int_equal(r.outcome, BACSC_CLIENT_ERROR);
    assert_int_equal(r.error_code, BACSC_EC_VALUE_OUT_OF_RANGE);
    validation_is(&s, "no-certificate");

    size_t dlen;
    uint8_t *csr = get_csr(&s, &dlen);
    /* wrong key: a certificate for some other key */
    EVP_PKEY *other = scc_key_p256();
    size_t olen;
    unsigned char *ocsr = scc_csr_der(other, "intruder", NULL, &olen);
    size_t n;
    char *pem = issue_pem(&ca1, ocsr, olen, &n);
    put_issuer(&s, BACSC_COMMISSION_FILE_ISSUER1, &ca1);
    assert_int_equal(sch_write_file(&s, BACSC_COMMISSION_FILE_OPCERT, 0, pem, n).outcome,
                     BACSC_CLIENT_COMPLEX_ACK);
    free(pem);
    r = validate(&s);
    assert_int_equal(r.outcome, BACSC_CLIENT_ERROR);
    validation_is(&s, "key-mismatch");

    /* only files differ from the running set: Changes_Pending shows it */
    r = sch_read(&s, NP, SCP, BACSC_PROP_CHANGES_PENDING);
    assert_int_equal(r.data[0], 0x11);
    r = sch_read(&s, NP, IPP, BACSC_PROP_CHANGES_PENDING);
    assert_int_equal(r.data[0], 0x10);
    /* the right certificate, written in two chunks (DER) */
    size_t dl;
    unsigned char *cder = scc_issue(&ca1, csr, dlen, 7, &dl);
    assert_int_equal(sch_write_file(&s, BACSC_COMMISSION_FILE_OPCERT, 0, cder, 100).outcome,
                     BACSC_CLIENT_COMPLEX_ACK);
    r = sch_write_file(&s, BACSC_COMMISSION_FILE_OPCERT, 100, cder + 100, dl - 100);
    assert_int_equal(r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    r = validate(&s);
    assert_int_equal(r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    validation_is(&s, "valid: ");
    /* the read-back is the pending file, byte for byte */
    uint8_t *back = sch_read_file(&s, BACSC_COMMISSION_FILE_OPCERT, 300, &n, NULL);
    assert_int_equal(n, dl);
    assert_memory_equal(back, cder, dl);
    free(back);
    /* File_Type follows the content: DER here */
    char ftype[64];
    sch_read_string(&s, BACSC_OBJ_FILE, BACSC_COMMISSION_FILE_OPCERT, BACSC_PROP_FILE_TYPE, ftype,
                    sizeof ftype);
    assert_string_equal(ftype, "application/pkix-cert");
    /* octets appended after the complete certificate are refused, in the
     * same write or a later one, and the file keeps its certificate */
    r = sch_write_file(&s, BACSC_COMMISSION_FILE_OPCERT, (int32_t)dl, "\x05\x00", 2);
    assert_int_equal(r.error_code, BACSC_EC_INVALID_DATA_TYPE);
    unsigned char *tail = malloc(dl + 3);
    memcpy(tail, cder, dl);
    memcpy(tail + dl, "abc", 3);
    r = sch_write_file(&s, BACSC_COMMISSION_FILE_OPCERT, 0, tail, dl + 3);
    assert_int_equal(r.error_code, BACSC_EC_INVALID_DATA_TYPE);
    free(tail);
    back = sch_read_file(&s, BACSC_COMMISSION_FILE_OPCERT, 300, &n, NULL);
    assert_int_equal(n, dl);
    free(back);
    /* a PEM certificate followed by text is refused too; whitespace is not */
    size_t plen;
    char *ipem = ca_pem(&ca1, &plen);
    char *ptail = malloc(plen + 8);
    memcpy(ptail, ipem, plen);
    memcpy(ptail + plen, "junk\n", 5);
    r = sch_write_file(&s, BACSC_COMMISSION_FILE_ISSUER2, 0, ptail, plen + 5);
    assert_int_equal(r.error_code, BACSC_EC_INVALID_DATA_TYPE);
    memcpy(ptail + plen, "\r\n", 2);
    r = sch_write_file(&s, BACSC_COMMISSION_FILE_ISSUER2, 0, ptail, plen + 2);
    assert_int_equal(r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    sch_read_string(&s, BACSC_OBJ_FILE, BACSC_COMMISSION_FILE_ISSUER2, BACSC_PROP_FILE_TYPE, ftype,
                    sizeof ftype);
    assert_string_equal(ftype, "application/x-pem-file");
    assert_int_equal(sch_write_unsigned(&s, BACSC_OBJ_FILE, BACSC_COMMISSION_FILE_ISSUER2,
                                        BACSC_PROP_FILE_SIZE, 0).outcome,
                     BACSC_CLIENT_SIMPLE_ACK);
    free(ptail);
    free(ipem);
    /* a DER whose last chunk is garbage is refused when it completes */
    unsigned char *broken = malloc(dl);
    memcpy(broken, cder, dl);
    broken[7] ^= 0x40;      /* the TBSCertificate length no longer fits */
    r = sch_write_file(&s, BACSC_COMMISSION_FILE_OPCERT, 0, broken, dl);
    assert_int_equal(r.error_code, BACSC_EC_INVALID_DATA_TYPE);
    free(broken);

    /* expired / not yet valid (simulated wall clock) */
    s.clock = (int64_t)time(NULL) + 400L * 86400;
    r = validate(&s);
    assert_int_equal(r.outcome, BACSC_CLIENT_ERROR);
    validation_is(&s, "expired");
    s.clock = (int64_t)time(NULL) - 86400;
    assert_int_equal(validate(&s).outcome, BACSC_CLIENT_ERROR);
    validation_is(&s, "not-yet-valid");
    s.clock = 0;
    assert_int_equal(validate(&s).outcome, BACSC_CLIENT_SIMPLE_ACK);
    /* unknown issuer: only the other CA installed */
    put_issuer(&s, BACSC_COMMISSION_FILE_ISSUER1, &ca2);
    r = validate(&s);
    assert_int_equal(r.outcome, BACSC_CLIENT_ERROR);
    validation_is(&s, "unknown-issuer");
    /* issuer slot 2 holds the right CA: valid again (rollover slot) */
    put_issuer(&s, BACSC_COMMISSION_FILE_ISSUER2, &ca1);
    assert_int_equal(validate(&s).outcome, BACSC_CLIENT_SIMPLE_ACK);
    /* emptying slot 2 through File_Size 0 */
    assert_int_equal(sch_write_unsigned(&s, BACSC_OBJ_FILE, BACSC_COMMISSION_FILE_ISSUER2,
                                        BACSC_PROP_FILE_SIZE, 0).outcome,
                     BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(validate(&s).outcome, BACSC_CLIENT_ERROR);
    validation_is(&s, "unknown-issuer");
    EVP_PKEY_free(other);
    free(ocsr);
    free(cder);
    free(csr);
    sch_close(&s);
}

/* Install a full valid set for the device's (new) key, issuer in slot 1. */
static void commission_certs(sch *s, const scc_ca *ca)
{
    size_t dlen, n;
    uint8_t *csr = get_csr(s, &dlen);
    char *pem = issue_pem(ca, csr, dlen, &n);
    put_issuer(s, BACSC_COMMISSION_FILE_ISSUER1, ca);
    assert_int_equal(sch_write_file(s, BACSC_COMMISSION_FILE_OPCERT, 0, pem, n).outcome,
                     BACSC_CLIENT_COMPLEX_ACK);
    free(pem);
    free(csr);
}

static void set_mode(sch *s, int mode, int want_outcome)
{
    /* SC on first, then IP off (never both off on the way). */
    sch_res r = sch_write_bool(s, NP, SCP, BACSC_PROP_OUT_OF_SERVICE, mode == BACSC_MODE_IP);
    assert_int_equal(r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    r = sch_write_bool(s, NP, IPP, BACSC_PROP_OUT_OF_SERVICE, mode == BACSC_MODE_SC);
    assert_int_equal(r.outcome, want_outcome);
}

static void test_activate(void **state)
{
    (void)state;
    sch s;
    bench(&s, "activate");
    assert_int_equal(bacsc_commission_mode(s.cm), BACSC_MODE_IP);
    /* both ports off is refused at write time */
    sch_res r = sch_write_bool(&s, NP, IPP, BACSC_PROP_OUT_OF_SERVICE, true);
    assert_int_equal(r.outcome, BACSC_CLIENT_ERROR);
    assert_int_equal(r.error_code, BACSC_EC_VALUE_OUT_OF_RANGE);
    /* SC only without certificates: accepted as pending, refused at activation */
    set_mode(&s, BACSC_MODE_SC, BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(bacsc_commission_pending_mode(s.cm), BACSC_MODE_SC);
    r = sch_reinit(&s, BACSC_REINIT_ACTIVATE_CHANGES, PW);
    assert_int_equal(r.outcome, BACSC_CLIENT_ERROR);
    assert_int_equal(r.error_class, BACSC_ERROR_CLASS_DEVICE);
    assert_int_equal(r.error_code, BACSC_EC_ID_INVALID_CONFIGURATION_DATA);
    validation_is(&s, "no-certificate");
    assert_int_equal(bacsc_commission_mode(s.cm), BACSC_MODE_IP);
    /* certificates but no hub; written files make Changes_Pending TRUE */
    commission_certs(&s, &ca1);
    r = sch_read(&s, NP, SCP, BACSC_PROP_CHANGES_PENDING);
    assert_int_equal(r.data[0], 0x11);
    r = sch_reinit(&s, BACSC_REINIT_ACTIVATE_CHANGES, PW);
    assert_int_equal(r.outcome, BACSC_CLIENT_ERROR);
    validation_is(&s, "no-hub-uri");
    assert_int_equal(s.applied, 0);
    /* password */
    r = sch_reinit(&s, BACSC_REINIT_ACTIVATE_CHANGES, NULL);
    assert_int_equal(r.error_class, BACSC_ERROR_CLASS_SECURITY);
    assert_int_equal(r.error_code, BACSC_EC_PASSWORD_FAILURE);
    r = sch_reinit(&s, BACSC_REINIT_ACTIVATE_CHANGES, "wrong");
    assert_int_equal(r.error_code, BACSC_EC_PASSWORD_FAILURE);
    /* a wrong password ends this source's commissioning session */
    assert_int_equal(sch_write_string(&s, NP, SCP, BACSC_PROP_SC_PRIMARY_HUB_URI,
                                      "wss://127.0.0.1:4443").error_code,
                     BACSC_EC_WRITE_ACCESS_DENIED);
    assert_int_equal(sch_login(&s, PW).outcome, BACSC_CLIENT_SIMPLE_ACK);
    /* the runtime's TLS build fails: refused, nothing changes */
    assert_int_equal(sch_write_string(&s, NP, SCP, BACSC_PROP_SC_PRIMARY_HUB_URI,
                                      "wss://127.0.0.1:4443").outcome,
                     BACSC_CLIENT_SIMPLE_ACK);
    s.apply_fail = true;
    r = sch_reinit(&s, BACSC_REINIT_ACTIVATE_CHANGES, PW);
    assert_int_equal(r.outcome, BACSC_CLIENT_ERROR);
    validation_is(&s, "runtime-error");
    assert_int_equal(bacsc_commission_mode(s.cm), BACSC_MODE_IP);
    assert_null(bacsc_devrt_key(s.rt));
    /* success: certificates, hub and mode in one step */
    s.apply_fail = false;
    r = sch_reinit(&s, BACSC_REINIT_ACTIVATE_CHANGES, PW);
    assert_int_equal(r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(s.applied, 1);
    assert_int_equal(bacsc_commission_mode(s.cm), BACSC_MODE_SC);
    validation_is(&s, "valid");
    EVP_PKEY *key = bacsc_devrt_key(s.rt);
    assert_non_null(key);
    const bacsc_commission_data *d = bacsc_commission_state(s.cm);
    assert_true(d->active.opcert.len > 0);
    uint8_t fp_key[32], fp_cert[32];
    bacsc_pki_key_fingerprint(key, fp_key);
    uint8_t *der;
    size_t dlen;
    assert_int_equal(bacsc_pki_to_der(BACSC_PKI_CERT, d->active.opcert.data, d->active.opcert.len,
                                      &der, &dlen),
                     BACSC_OK);
    bacsc_pki_cert_key_fingerprint(der, dlen, fp_cert);
    free(der);
    assert_memory_equal(fp_key, fp_cert, 32);
    r = sch_read(&s, NP, SCP, BACSC_PROP_CHANGES_PENDING);
    assert_int_equal(r.data[0], 0x10);   /* FALSE */

    /* A new certificate from the wrong CA: validate refuses; activation
     * refuses and the device keeps its working set. */
    size_t wlen, n;
    uint8_t *csr = get_csr(&s, &wlen);
    char *pem = issue_pem(&ca2, csr, wlen, &n);
    free(csr);
    assert_int_equal(sch_write_file(&s, BACSC_COMMISSION_FILE_OPCERT, 0, pem, n).outcome,
                     BACSC_CLIENT_COMPLEX_ACK);
    free(pem);
    assert_int_equal(validate(&s).outcome, BACSC_CLIENT_ERROR);
    validation_is(&s, "unknown-issuer");
    bacsc_blob before;
    d = bacsc_commission_state(s.cm);
    before.len = d->active.opcert.len;
    before.data = malloc(before.len);
    memcpy(before.data, d->active.opcert.data, before.len);
    r = sch_reinit(&s, BACSC_REINIT_ACTIVATE_CHANGES, PW);
    assert_int_equal(r.error_code, BACSC_EC_ID_INVALID_CONFIGURATION_DATA);
    d = bacsc_commission_state(s.cm);
    assert_int_equal(d->active.opcert.len, before.len);
    assert_memory_equal(d->active.opcert.data, before.data, before.len);
    assert_ptr_equal(bacsc_devrt_key(s.rt), key);
    assert_int_equal(bacsc_commission_mode(s.cm), BACSC_MODE_SC);
    /* discard-changes brings the files back */
    assert_int_equal(sch_write_enum(&s, NP, SCP, BACSC_PROP_COMMAND, BACSC_NPC_DISCARD_CHANGES).outcome,
                     BACSC_CLIENT_SIMPLE_ACK);
    size_t blen;
    uint8_t *back = sch_read_file(&s, BACSC_COMMISSION_FILE_OPCERT, 1000, &blen, NULL);
    assert_int_equal(blen, before.len);
    assert_memory_equal(back, before.data, blen);
    free(back);
    free(before.data);
    /* back to dual, then ip */
    set_mode(&s, BACSC_MODE_DUAL, BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(sch_reinit(&s, BACSC_REINIT_ACTIVATE_CHANGES, PW).outcome,
                     BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(bacsc_commission_mode(s.cm), BACSC_MODE_DUAL);
    /* backup states unsupported; warmstart refused: no ops.restart here
     * (a restart nobody performs is never acknowledged) */
    r = sch_reinit(&s, BACSC_REINIT_START_BACKUP, PW);
    assert_int_equal(r.error_code, BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED);
    r = sch_reinit(&s, BACSC_REINIT_WARMSTART, PW);
    assert_int_equal(r.error_code, BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED);
    /* other commands are refused */
    r = sch_write_enum(&s, NP, SCP, BACSC_PROP_COMMAND, BACSC_NPC_RENEW_DHCP);
    assert_int_equal(r.error_code, BACSC_EC_VALUE_OUT_OF_RANGE);
    /* IP port basics */
    r = sch_read(&s, NP, IPP, BACSC_PROP_NETWORK_TYPE);
    assert_int_equal(r.data[1], BACSC_NETWORK_TYPE_IPV4);
    r = sch_read(&s, NP, IPP, BACSC_PROP_BACNET_IP_UDP_PORT);
    assert_int_equal(r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    r = sch_write_unsigned(&s, NP, IPP, BACSC_PROP_BACNET_IP_UDP_PORT, 1);
    assert_int_equal(r.error_code, BACSC_EC_WRITE_ACCESS_DENIED);
    sch_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changes_need_session),
        cmocka_unit_test(test_csr),
        cmocka_unit_test(test_write_and_validate),
        cmocka_unit_test(test_activate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
