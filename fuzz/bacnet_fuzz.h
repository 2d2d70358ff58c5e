/*
 * bacnet_fuzz.h — shared body of the BACnet fuzz targets (fuzz_npdu.c,
 * fuzz_bip.c): walks an NPDU → APDU header → service payload, decoding with
 * every decoder that applies, and checks that whatever decodes re-encodes to
 * something that decodes to the same thing and re-encodes to identical bytes
 * (encode ∘ decode is idempotent). Any violation aborts.
 */
#ifndef BACSC_BACNET_FUZZ_H
#define BACSC_BACNET_FUZZ_H

#include <stdlib.h>
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/bip.h"
#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "bacsc/services.h"
#include "bacsc/tags.h"
#include "bacsc/value.h"

#define FZ_CHECK(c) do { if (!(c)) abort(); } while (0)

static uint8_t fz_a[70000], fz_b[70000];

/* enc(x) → dec → enc must give the same bytes. */
#define FZ_IDEMPOTENT(type, enc, dec, x)                                        \
    do {                                                                        \
        int n1_ = enc(fz_a, sizeof fz_a, &(x));                                 \
        FZ_CHECK(n1_ >= 0);                                                     \
        FZ_CHECK(enc(NULL, 0, &(x)) == n1_);                                    \
        type y_;                                                                \
        FZ_CHECK(dec(fz_a, (size_t)n1_, &y_, NULL) == n1_);                     \
        int n2_ = enc(fz_b, sizeof fz_b, &y_);                                  \
        FZ_CHECK(n2_ == n1_ && memcmp(fz_a, fz_b, (size_t)n1_) == 0);           \
    } while (0)

static inline void fz_values(const uint8_t *p, size_t n)
{
    bacsc_value_iter it;
    bacsc_value v;
    int rc;
    bacsc_value_iter_init(&it, p, n);
    while ((rc = bacsc_value_iter_next(&it, &v)) == 1) {
        if (v.type < BACSC_APP_TAG_COUNT) {
            static uint8_t out[70000];
            int e = bacsc_value_encode(out, sizeof out, &v);
            FZ_CHECK(e > 0);
            bacsc_value w;
            FZ_CHECK(bacsc_value_decode(out, (size_t)e, &w) == e);
            FZ_CHECK(bacsc_value_equal(&v, &w));
        }
    }
    /* the text form: whole (alloc) and cut (fixed buffer) agree on the length */
    char *text = NULL, small[16];
    int whole = bacsc_value_format_alloc(p, n, &text);
    FZ_CHECK(whole == BACSC_ERR_NOMEM ||
             whole == bacsc_value_format(p, n, small, sizeof small));
    FZ_CHECK(whole < 0 || strlen(text) == (size_t)whole);
    free(text);
    bacsc_value list[8];
    (void)bacsc_values_decode(p, n, list, 8);
    (void)bacsc_value_list_count(p, n);
    (void)bacsc_element_len(p, n);
}

static inline void fz_rpm(const uint8_t *p, size_t n, bool ack)
{
    bacsc_rpm_iter it;
    bacsc_object_id oid;
    int rc, count = 0;
    size_t pos = 0;
    static uint8_t out[70000];
    bacsc_rpm_iter_init(&it, p, n, ack);
    while ((rc = bacsc_rpm_next_object(&it, &oid, NULL)) == 1) {
        int e = bacsc_rpm_encode_object_begin(out + pos, sizeof out - pos, &oid);
        FZ_CHECK(e > 0);
        pos += (size_t)e;
        for (;;) {
            if (ack) {
                bacsc_rpm_result r;
                rc = bacsc_rpm_next_result(&it, &r, NULL);
                if (rc != 1)
                    break;
                fz_values(r.value, r.value_len);
                e = bacsc_rpm_encode_result(out + pos, sizeof out - pos, &r);
            } else {
                bacsc_rpm_ref r;
                rc = bacsc_rpm_next_ref(&it, &r, NULL);
                if (rc != 1)
                    break;
                e = bacsc_rpm_encode_ref(out + pos, sizeof out - pos, &r);
            }
            FZ_CHECK(e > 0);
            pos += (size_t)e;
            count++;
        }
        if (rc < 0)
            break;
        e = bacsc_rpm_encode_object_end(out + pos, sizeof out - pos);
        FZ_CHECK(e > 0);
        pos += (size_t)e;
    }
    int v = bacsc_rpm_validate(p, n, ack, NULL);
    if (rc == 0) {
        /* the whole list decoded: validate agrees and the re-encoding validates */
        FZ_CHECK(v == count);
        FZ_CHECK(bacsc_rpm_validate(out, pos, ack, NULL) == count);
    } else {
        FZ_CHECK(v == BACSC_ERR_MALFORMED);
    }
}

/* Decode `p` as the payload of `service` (selector: see fz_apdu). */
static inline void fz_service(uint8_t pdu, uint8_t service, const uint8_t *p, size_t n)
{
    bacsc_fault f;
    if (pdu == BACSC_PDU_UNCONFIRMED_REQUEST) {
        if (service == BACSC_SERVICE_WHO_IS) {
            bacsc_whois w;
            if (bacsc_whois_decode(p, n, &w, &f) >= 0)
                FZ_IDEMPOTENT(bacsc_whois, bacsc_whois_encode, bacsc_whois_decode, w);
        } else if (service == BACSC_SERVICE_I_AM) {
            bacsc_iam i;
            if (bacsc_iam_decode(p, n, &i, &f) >= 0)
                FZ_IDEMPOTENT(bacsc_iam, bacsc_iam_encode, bacsc_iam_decode, i);
        } else if (service == BACSC_SERVICE_WHO_HAS) {
            bacsc_whohas w;
            if (bacsc_whohas_decode(p, n, &w, &f) >= 0)
                FZ_IDEMPOTENT(bacsc_whohas, bacsc_whohas_encode, bacsc_whohas_decode, w);
        } else if (service == BACSC_SERVICE_I_HAVE) {
            bacsc_ihave h;
            if (bacsc_ihave_decode(p, n, &h, &f) >= 0)
                FZ_IDEMPOTENT(bacsc_ihave, bacsc_ihave_encode, bacsc_ihave_decode, h);
        }
        return;
    }
    if (pdu == BACSC_PDU_ERROR) {
        bacsc_error e;
        if (bacsc_error_decode(p, n, &e, &f) >= 0)
            FZ_IDEMPOTENT(bacsc_error, bacsc_error_encode, bacsc_error_decode, e);
        return;
    }
    bool ack = pdu == BACSC_PDU_COMPLEX_ACK;
    switch (service) {
    case BACSC_SERVICE_READ_PROPERTY:
        if (ack) {
            bacsc_rp_ack a;
            if (bacsc_rp_ack_decode(p, n, &a, &f) >= 0) {
                fz_values(a.value, a.value_len);
                FZ_IDEMPOTENT(bacsc_rp_ack, bacsc_rp_ack_encode, bacsc_rp_ack_decode, a);
            }
        } else {
            bacsc_rp_request r;
            if (bacsc_rp_request_decode(p, n, &r, &f) >= 0)
                FZ_IDEMPOTENT(bacsc_rp_request, bacsc_rp_request_encode, bacsc_rp_request_decode, r);
        }
        break;
    case BACSC_SERVICE_READ_PROPERTY_MULTIPLE:
        fz_rpm(p, n, ack);
        break;
    case BACSC_SERVICE_WRITE_PROPERTY: {
        bacsc_wp_request w;
        if (!ack && bacsc_wp_request_decode(p, n, &w, &f) >= 0) {
            fz_values(w.value, w.value_len);
            FZ_IDEMPOTENT(bacsc_wp_request, bacsc_wp_request_encode, bacsc_wp_request_decode, w);
        }
        break;
    }
    case BACSC_SERVICE_ATOMIC_READ_FILE:
        if (ack) {
            bacsc_arf_ack a;
            if (bacsc_arf_ack_decode(p, n, &a, &f) >= 0) {
                if (a.access == BACSC_FILE_RECORD) {
                    const uint8_t *q = a.data;
                    size_t left = a.data_len;
                    bacsc_octets rec;
                    uint32_t k = 0;
                    while (bacsc_records_next(&q, &left, &rec) == 1)
                        k++;
                    FZ_CHECK(k == a.count && left == 0);
                }
                FZ_IDEMPOTENT(bacsc_arf_ack, bacsc_arf_ack_encode, bacsc_arf_ack_decode, a);
            }
        } else {
            bacsc_arf_request r;
            if (bacsc_arf_request_decode(p, n, &r, &f) >= 0)
                FZ_IDEMPOTENT(bacsc_arf_request, bacsc_arf_request_encode, bacsc_arf_request_decode, r);
        }
        break;
    case BACSC_SERVICE_ATOMIC_WRITE_FILE:
        if (ack) {
            bacsc_awf_ack a;
            if (bacsc_awf_ack_decode(p, n, &a, &f) >= 0)
                FZ_IDEMPOTENT(bacsc_awf_ack, bacsc_awf_ack_encode, bacsc_awf_ack_decode, a);
        } else {
            bacsc_awf_request r;
            if (bacsc_awf_request_decode(p, n, &r, &f) >= 0)
                FZ_IDEMPOTENT(bacsc_awf_request, bacsc_awf_request_encode, bacsc_awf_request_decode, r);
        }
        break;
    case BACSC_SERVICE_REINITIALIZE_DEVICE: {
        bacsc_reinit_request r;
        if (!ack && bacsc_reinit_request_decode(p, n, &r, &f) >= 0)
            FZ_IDEMPOTENT(bacsc_reinit_request, bacsc_reinit_request_encode,
                          bacsc_reinit_request_decode, r);
        break;
    }
    case BACSC_SERVICE_DEVICE_COMMUNICATION_CONTROL: {
        bacsc_dcc_request r;
        if (!ack && bacsc_dcc_request_decode(p, n, &r, &f) >= 0)
            FZ_IDEMPOTENT(bacsc_dcc_request, bacsc_dcc_request_encode, bacsc_dcc_request_decode,
                          r);
        break;
    }
    default:
        fz_values(p, n);
        break;
    }
}

static inline void fz_apdu(const uint8_t *p, size_t n)
{
    bacsc_apdu a;
    bacsc_fault f;
    int h = bacsc_apdu_decode(p, n, &a, &f);
    if (h < 0) {
        FZ_CHECK(h == BACSC_ERR_MALFORMED && f.what != NULL);
        return;
    }
    /* header re-encodes to the same octets */
    int e = bacsc_apdu_encode(fz_a, sizeof fz_a, &a);
    FZ_CHECK(e == (int)n && memcmp(fz_a, p, n) == 0);
    fz_service(a.type, a.service, a.data, a.data_len);
}

static inline void fz_npdu(const uint8_t *p, size_t n)
{
    bacsc_npdu npdu;
    int h = bacsc_npdu_decode(p, n, &npdu);
    if (h < 0)
        return;
    /* the header re-encodes to the same octets */
    uint8_t hdr[BACSC_NPDU_MAX_HEADER];
    FZ_CHECK(bacsc_npdu_encode_header(hdr, sizeof hdr, &npdu) == h);
    FZ_CHECK(memcmp(hdr, p, (size_t)h) == 0);
    if (!npdu.network_msg)
        fz_apdu(npdu.payload, npdu.payload_len);
}

#endif
