/*
 * fuzz_site.c — a hostile device answering the commissioning tool: the job
 * engine (site.h) runs one job against one device whose every answer comes
 * from the input, so device-supplied bytes (RPM/RP/AtomicReadFile ACKs,
 * Errors, Rejects, Aborts, certificate and CSR file contents) reach every
 * parser of the tool side.
 *
 * Input: byte 0 picks the job (discover, request, import, trust add, trust
 * remove, mode ip/dual/sc); then a list of answers, each
 *   [kind][len][len octets]
 * kind % 5: 0 SimpleACK, 1 ComplexACK with the octets as service data,
 * 2 Error (class, code from the octets), 3 no answer (the request times
 * out), 4 the octets as a raw APDU. When the input runs out, requests time
 * out. Checked: no crash/leak/hang; the job always finishes with the item
 * done, failed or skipped; the site database stays readable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bacsc/apdu.h"
#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "bacsc/pki.h"
#include "bacsc/site.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char *ca_der;
static size_t ca_len;

typedef struct harness {
    const uint8_t *in;
    size_t left;
    bacsc_client *cl;
    uint64_t now;
    bool pending;
    uint8_t invoke, service;
    unsigned requests;
} harness;

static void setup_once(void)
{
    if (ca_der)
        return;
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    CHECK(bacsc_pki_keygen(BACSC_KEY_EC_P256, &k) == 0);
    CHECK(bacsc_pki_make_ca_cert(k, "fuzz CA", NULL, 3650, &x) == 0);
    unsigned char *p = NULL;
    int n = i2d_X509(x, &p);
    CHECK(n > 0);
    ca_der = malloc((size_t)n);
    memcpy(ca_der, p, (size_t)n);
    ca_len = (size_t)n;
    OPENSSL_free(p);
    X509_free(x);
    EVP_PKEY_free(k);
}

static int h_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    harness *h = user;
    (void)dest;
    bacsc_npdu n;
    if (bacsc_npdu_decode(npdu, len, &n) < 0)
        return 0;
    bacsc_apdu a;
    bacsc_fault f;
    if (bacsc_apdu_decode(n.payload, n.payload_len, &a, &f) < 0 ||
        a.type != BACSC_PDU_CONFIRMED_REQUEST)
        return 0;
    h->pending = true;
    h->invoke = a.invoke_id;
    h->service = a.service;
    h->requests++;
    return 0;
}

static int h_poll(void *user, uint64_t timeout_us)
{
    harness *h = user;
    if (!h->pending || h->left < 2) {
        h->now += timeout_us ? timeout_us : 1000;
        return BACSC_OK;
    }
    uint8_t kind = h->in[0] % 5, len = h->in[1];
    h->in += 2;
    h->left -= 2;
    if (len > h->left)
        len = (uint8_t)h->left;
    const uint8_t *body = h->in;
    h->in += len;
    h->left -= len;
    h->pending = false;
    if (kind == 3) { /* lost */
        h->now += timeout_us ? timeout_us : 1000;
        return BACSC_OK;
    }
    uint8_t apdu[600];
    int alen;
    bacsc_apdu a;
    if (kind == 4) {
        memcpy(apdu, body, len);
        alen = len;
    } else {
        if (kind == 0)
            bacsc_apdu_init_simple_ack(&a, h->service, h->invoke);
        else if (kind == 1)
            bacsc_apdu_init_complex_ack(&a, h->service, h->invoke);
        else
            bacsc_apdu_init_error(&a, h->service, h->invoke);
        uint8_t err[8];
        if (kind == 2) {
            int k = bacsc_app_encode_enumerated(err, sizeof err, len > 0 ? body[0] : 0);
            k += bacsc_app_encode_enumerated(err + k, sizeof err - (size_t)k, len > 1 ? body[1] : 0);
            a.data = err;
            a.data_len = (size_t)k;
        } else if (kind == 1) {
            a.data = body;
            a.data_len = len;
        }
        alen = bacsc_apdu_encode(apdu, sizeof apdu, &a);
        if (alen < 0)
            return BACSC_OK;
    }
    bacsc_npdu n;
    bacsc_npdu_init(&n, false);
    n.payload = apdu;
    n.payload_len = (size_t)alen;
    uint8_t npdu[700];
    int nl = bacsc_npdu_encode(npdu, sizeof npdu, &n);
    if (nl < 0)
        return BACSC_OK;
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    bacsc_address src = bacsc_address_local(mac, 6);
    h->now += 10;
    bacsc_client_handle_npdu(h->cl, &src, npdu, (size_t)nl, h->now);
    return BACSC_OK;
}

static uint64_t h_now(void *user)
{
    return ((harness *)user)->now;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    setup_once();
    bacsc_site *s = NULL;
    char err[256];
    CHECK(bacsc_site_open(":memory:", true, &s, err, sizeof err) == BACSC_OK);
    CHECK(bacsc_site_settings_set(s, "fuzz", ca_der, ca_len, "fuzz.example", "wss://127.0.0.1:1",
                                  NULL) == BACSC_OK);
    bacsc_site_device d;
    bacsc_site_device_init(&d, 7);
    snprintf(d.address, sizeof d.address, "02:00:00:00:00:01");
    d.sc_port = 1;
    d.ip_port = 2;
    d.cert_file = 1;
    d.issuer_file[0] = 2;
    d.issuer_file[1] = 3;
    d.csr_file = 4;
    CHECK(bacsc_site_device_put(s, &d) == BACSC_OK);

    static const int kinds[] = {BACSC_SITE_JOB_DISCOVER, BACSC_SITE_JOB_REQUEST,
                                BACSC_SITE_JOB_IMPORT,   BACSC_SITE_JOB_TRUST_ADD,
                                BACSC_SITE_JOB_TRUST_REMOVE, BACSC_SITE_JOB_MODE,
                                BACSC_SITE_JOB_MODE,     BACSC_SITE_JOB_MODE};
    unsigned pick = data[0] % 8;
    int kind = kinds[pick];
    char args[64];
    snprintf(args, sizeof args, "{\"mode\":%u}", pick >= 5 ? pick - 4 : 0);
    int64_t job;
    CHECK(bacsc_site_job_create(s, kind, args, NULL, &job) == BACSC_OK);
    CHECK(bacsc_site_job_add_item(s, job, 7, ca_der, ca_len, BACSC_SITE_ITEM_PENDING, NULL) ==
          BACSC_OK);

    harness h;
    memset(&h, 0, sizeof h);
    h.in = data + 1;
    h.left = size - 1;
    h.now = 1000000;
    bacsc_client_config cc;
    memset(&cc, 0, sizeof cc);
    cc.link.send = h_send;
    cc.link.user = &h;
    cc.apdu_timeout_us = 1000;
    cc.retries = 0;
    cc.retries_set = true;
    CHECK(bacsc_client_new(&cc, &h.cl) == BACSC_OK);
    bacsc_site_io io = {.client = h.cl, .poll = h_poll, .now = h_now, .user = &h};
    bacsc_site_summary sum;
    CHECK(bacsc_site_job_run(s, job, &io, NULL, &sum) == BACSC_OK);
    CHECK(sum.total == 1 && sum.done + sum.failed + sum.skipped == 1);
    CHECK(h.requests < 4096);
    bacsc_site_device back;
    CHECK(bacsc_site_device_get(s, 7, &back) == BACSC_OK);
    bacsc_site_settings st;
    CHECK(bacsc_site_settings_get(s, &st) == BACSC_OK);
    bacsc_site_cert_info ci;
    bacsc_site_cert_status(&st, &back, 1800000000, 30, &ci);
    bacsc_site_settings_clear(&st);
    bacsc_site_device_clear(&back);
    bacsc_client_free(h.cl);
    bacsc_site_close(s);
    return 0;
}
