/*
 * fuzz_segment.c — the segmentation state machines (bacsc/segment.h) fed
 * arbitrary APDUs from the peer, on a clock the input drives.
 *
 * Input: records of [1 octet: what][1 octet: length L][L octets].
 *   what & 3 == 0: an APDU for the receiver (segments of a ComplexACK);
 *   what & 3 == 1: an APDU for the sender (Segment-ACKs);
 *   what & 3 == 2: advance the clock by L * 100 ms and run the sender's timer;
 *   what & 3 == 3: an APDU for a server's receiver (segments of a
 *                  Confirmed-Request; Segment-ACKs with SRV, at most 8
 *                  segments).
 * Invariants: nothing crashes or leaks; the receiver never holds more than
 * its limit; every APDU either machine emits decodes; the sender only
 * finishes when the last segment was acknowledged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/segment.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void emitted(void *user, const uint8_t *apdu, size_t len)
{
    (void)user;
    bacsc_apdu a;
    CHECK(bacsc_apdu_decode(apdu, len, &a, NULL) >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t body[6000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)i;
    uint64_t now = 1000;
    bacsc_segtx tx;
    if (bacsc_segtx_start(&tx, 5, 14, body, sizeof body, 480, 4, 2000000, 3, now, emitted,
                          NULL) != 0)
        return 0;
    bacsc_segrx rx, srx;
    memset(&rx, 0, sizeof rx);
    memset(&srx, 0, sizeof srx);
    srx.server = true;
    srx.max_segs = 8;
    bool srx_done = false;
    size_t pos = 0;
    bool tx_done = false, rx_done = false;
    while (pos + 2 <= size) {
        uint8_t what = data[pos], len = data[pos + 1];
        pos += 2;
        if (len > size - pos)
            len = (uint8_t)(size - pos);
        const uint8_t *p = data + pos;
        pos += len;
        bacsc_apdu a;
        if ((what & 3) == 2) {
            now += (uint64_t)len * 100000;
            if (!tx_done && bacsc_segtx_expiry(&tx, now, emitted, NULL) == 1)
                tx_done = true;
            continue;
        }
        if (bacsc_apdu_decode(p, len, &a, NULL) < 0)
            continue;
        if ((what & 3) == 0 && !rx_done && a.type == BACSC_PDU_COMPLEX_ACK && a.segmented) {
            uint8_t reason = 0;
            int rc = bacsc_segrx_segment(&rx, &a, 8, 4096, 2000000, now, emitted, NULL, &reason);
            CHECK(rx.len <= 4096);
            if (rc == BACSC_SEGRX_DONE || rc < 0)
                rx_done = true;
        } else if ((what & 3) == 3 && !srx_done && a.type == BACSC_PDU_CONFIRMED_REQUEST &&
                   a.segmented) {
            uint8_t reason = 0;
            int rc = bacsc_segrx_segment(&srx, &a, 4, 4096, 2000000, now, emitted, NULL, &reason);
            CHECK(srx.len <= 4096 && srx.count <= 8 && srx.server);
            if (rc == BACSC_SEGRX_DONE || rc < 0)
                srx_done = true;
        } else if ((what & 3) == 1 && !tx_done && a.type == BACSC_PDU_SEGMENT_ACK) {
            uint32_t before = tx.initial;
            if (bacsc_segtx_ack(&tx, &a, now, emitted, NULL) == 1) {
                CHECK(before + tx.window >= tx.nsegs);
                tx_done = true;
            }
        }
    }
    bacsc_segtx_free(&tx);
    bacsc_segrx_free(&rx);
    bacsc_segrx_free(&srx);
    return 0;
}
