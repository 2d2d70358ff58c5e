/*
 * fuzz_commission.c — outside bytes into the commissioning objects
 * (commission.h): the input is a list of operations separated by
 * 0xFF 0xFE 0xFD, each turned into a request to a device carrying the
 * commissioning objects (ports + certificate File objects):
 *   op 0: AtomicWriteFile file (b1 % 5), start b2, data = the rest
 *   op 1: WriteProperty Command of the SC port = b1
 *   op 2: ReinitializeDevice state b1 (no password)
 *   op 3: WriteProperty Out_Of_Service of port (b1 & 1) + 1 = b2 & 1
 *   op 4: WriteProperty File_Size of file (b1 % 5) = b2
 *   op 5: the rest as a raw NPDU
 * Certificate checks are the real OpenSSL ones (bacsc_devcert_check /
 * _validate against a fixed key); activation succeeds or fails per a bit.
 * Checked: no crash/leak; every request gets exactly one answer (a
 * segmented request complete in one segment: its Segment-ACK, then the
 * answer); the pending
 * operational certificate is empty or starts like a certificate; a refused
 * activation leaves the active set byte for byte unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bacsc/commission.h"
#include "bacsc/device_state.h"
#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "bacsc/pki.h"
#include "bacsc/services.h"
#include "fuzz_support.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *key;
static int answers;
static int first_type; /* PDU type of the first answer to the current NPDU */
static uint8_t last[1600];
static size_t last_len;
static bool activate_fails;
static bacsc_commission *cm;

static int on_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    (void)user;
    (void)dest;
    CHECK(len <= sizeof last);
    memcpy(last, npdu, len);
    last_len = len;
    if (answers == 0) {
        bacsc_npdu r;
        first_type = bacsc_npdu_decode(npdu, len, &r) >= 0 && r.payload_len > 0
                         ? r.payload[0] >> 4
                         : -1;
    }
    answers++;
    return 0;
}

static int op_csr(void *u, const char *cn, const uint8_t uuid[16], uint8_t **csr, size_t *len)
{
    (void)u;
    (void)cn;
    (void)uuid;
    static const char pem[] = "-----BEGIN CERTIFICATE REQUEST-----\nAA==\n"
                              "-----END CERTIFICATE REQUEST-----\n";
    *csr = malloc(sizeof pem - 1);
    if (*csr == NULL)
        return BACSC_ERR_NOMEM;
    memcpy(*csr, pem, sizeof pem - 1);
    *len = sizeof pem - 1;
    return 0;
}

static int op_validate(void *u, const bacsc_cert_files *f, bacsc_cert_verdict *v)
{
    (void)u;
    return bacsc_devcert_validate(f, key, NULL, 1700000000, v);
}

static int op_check(void *u, const uint8_t *d, size_t n)
{
    (void)u;
    return bacsc_devcert_check(d, n);
}

static int op_activate(void *u, const bacsc_commission_data *next, char *detail, size_t cap)
{
    (void)u;
    (void)next;
    if (activate_fails) {
        detail[0] = '\0';
        (void)cap;
        return -1;
    }
    return 0;
}

static int on_reinit(void *user, bacsc_device *dev, uint8_t state, bacsc_error *err)
{
    (void)user;
    (void)dev;
    return bacsc_commission_reinitialize(cm, state, err);
}

static size_t wrap(uint8_t *out, size_t cap, const uint8_t *apdu, size_t n)
{
    bacsc_npdu h;
    bacsc_npdu_init(&h, true);
    h.payload = apdu;
    h.payload_len = n;
    int len = bacsc_npdu_encode(out, cap, &h);
    CHECK(len > 0);
    return (size_t)len;
}

static size_t confirmed(uint8_t *out, size_t cap, uint8_t service, const uint8_t *body, int blen)
{
    uint8_t apdu[1600];
    CHECK(blen >= 0);
    int n = bacsc_encode_confirmed(apdu, sizeof apdu, service, 1, 5, body, (size_t)blen);
    if (n < 0)
        return 0;
    return wrap(out, cap, apdu, (size_t)n);
}

static size_t wp(uint8_t *out, size_t cap, uint16_t type, uint32_t inst, uint32_t prop,
                 const uint8_t *v, size_t vlen)
{
    bacsc_wp_request w;
    memset(&w, 0, sizeof w);
    w.object.type = type;
    w.object.instance = inst;
    w.property = prop;
    w.value = v;
    w.value_len = vlen;
    uint8_t body[1500];
    return confirmed(out, cap, BACSC_SERVICE_WRITE_PROPERTY, body,
                     bacsc_wp_request_encode(body, sizeof body, &w));
}

static bool blob_eq(const bacsc_blob *a, const bacsc_blob *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void one(void *user, const uint8_t *d, size_t n)
{
    bacsc_device *dev = user;
    if (n == 0)
        return;
    uint8_t npdu[1700], v[16];
    size_t len = 0;
    uint8_t b1 = n > 1 ? d[1] : 0, b2 = n > 2 ? d[2] : 0;
    switch (d[0] % 6) {
    case 0: {
        bacsc_awf_request r = {{BACSC_OBJ_FILE, b1 % 5u}, BACSC_FILE_STREAM, b2, 0,
                               n > 3 ? d + 3 : NULL, n > 3 ? n - 3 : 0};
        uint8_t body[1600];
        int bl = bacsc_awf_request_encode(body, sizeof body, &r);
        if (bl < 0)
            return;
        len = confirmed(npdu, sizeof npdu, BACSC_SERVICE_ATOMIC_WRITE_FILE, body, bl);
        break;
    }
    case 1:
        len = wp(npdu, sizeof npdu, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_COMMAND, v,
                 (size_t)bacsc_app_encode_enumerated(v, sizeof v, b1));
        break;
    case 2: {
        bacsc_reinit_request r;
        memset(&r, 0, sizeof r);
        r.state = b1 % 8;
        uint8_t body[64];
        activate_fails = b2 & 1;
        len = confirmed(npdu, sizeof npdu, BACSC_SERVICE_REINITIALIZE_DEVICE, body,
                        bacsc_reinit_request_encode(body, sizeof body, &r));
        break;
    }
    case 3:
        len = wp(npdu, sizeof npdu, BACSC_OBJ_NETWORK_PORT, (b1 & 1u) + 1,
                 BACSC_PROP_OUT_OF_SERVICE, v, (size_t)bacsc_app_encode_boolean(v, sizeof v, b2 & 1));
        break;
    case 4:
        len = wp(npdu, sizeof npdu, BACSC_OBJ_FILE, b1 % 5u, BACSC_PROP_FILE_SIZE, v,
                 (size_t)bacsc_app_encode_unsigned(v, sizeof v, b2));
        break;
    default:
        if (n - 1 > sizeof npdu)
            return;
        memcpy(npdu, d + 1, n - 1);
        len = n - 1;
        break;
    }
    if (len == 0)
        return;
    bacsc_commission_data before;
    CHECK(bacsc_commission_data_copy(&before, bacsc_commission_state(cm)) == BACSC_OK);
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 9};
    bacsc_address src = bacsc_address_local(mac, 6);
    answers = 0;
    bacsc_device_handle_npdu(dev, &src, npdu, len, 0);
    /* one answer; a segmented request that is complete in one segment gets
     * its Segment-ACK and then the answer */
    CHECK(answers <= 1 || (answers == 2 && first_type == BACSC_PDU_SEGMENT_ACK));
    if (d[0] % 6 != 5)
        CHECK(answers == 1);
    const bacsc_commission_data *now = bacsc_commission_state(cm);
    const bacsc_blob *op = &now->pending.opcert;
    if (op->len) {
        size_t i = 0;
        while (i < op->len && (op->data[i] == ' ' || op->data[i] == '\n' || op->data[i] == '\r' ||
                               op->data[i] == '\t'))
            i++;
        CHECK(i < op->len && (op->data[i] == 0x30 || op->data[i] == '-'));
    }
    /* An Error answer to a ReinitializeDevice leaves the running set alone. */
    bacsc_npdu r;
    if (answers == 1 && bacsc_npdu_decode(last, last_len, &r) >= 0 && r.payload_len > 0 &&
        (r.payload[0] >> 4) == BACSC_PDU_ERROR) {
        CHECK(blob_eq(&before.active.opcert, &now->active.opcert));
        CHECK(blob_eq(&before.active.issuer[0], &now->active.issuer[0]));
        CHECK(blob_eq(&before.active.issuer[1], &now->active.issuer[1]));
        CHECK(before.sc_active.out_of_service == now->sc_active.out_of_service);
        CHECK(before.ip_active.out_of_service == now->ip_active.out_of_service);
    }
    bacsc_commission_data_free(&before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (key == NULL)
        CHECK(bacsc_pki_keygen(BACSC_KEY_EC_P256, &key) == BACSC_OK);
    bacsc_device_config c;
    memset(&c, 0, sizeof c);
    c.instance = 1001;
    c.name = "fuzz";
    c.link.send = on_send;
    c.cb.reinitialize = on_reinit;
    bacsc_device *dev;
    CHECK(bacsc_device_new(&c, &dev) == BACSC_OK);
    bacsc_commission_config cc;
    memset(&cc, 0, sizeof cc);
    cc.dev = dev;
    cc.device_name = "fuzz";
    cc.has_ip_port = true;
    bacsc_sc_port_config_defaults(&cc.sc);
    strcpy(cc.sc.primary_hub_uri, "wss://127.0.0.1:1");
    cc.sc.out_of_service = true;
    cc.ops.generate_csr = op_csr;
    cc.ops.validate = op_validate;
    cc.ops.check_cert = op_check;
    cc.ops.activate = op_activate;
    CHECK(bacsc_commission_new(&cc, &cm) == BACSC_OK);
    fz_records(data, size, one, dev);
    bacsc_device_free(dev);
    bacsc_commission_free(cm);
    cm = NULL;
    return 0;
}
