/*
 * fuzz_device.c — arbitrary NPDUs into a BACnet device server.
 *
 * The input is split into NPDUs at each 0xFF 0xFE 0xFD marker (so one input
 * can write a property and then read it back); each goes to a fresh device
 * with an Analog Value, an SC Network Port and three File objects (a
 * reinitialize password set). Checked for every NPDU:
 *  - no crash, leak or sanitizer report;
 *  - a Confirmed-Request (NPDU valid and for this device, APDU of at least 3
 *    octets) gets exactly one answer: SimpleACK, ComplexACK, Error, Reject or
 *    Abort carrying its invoke id, no larger than the requester's max-APDU;
 *    (except with DCC disable, or while the same request is answered in
 *    segments; a segmented answer only when the request accepts one);
 *  - a segment of a segmented Confirmed-Request gets at most a Segment-ACK
 *    (SRV set, its invoke id) and — the last one — then the answer as
 *    above; a segment of no request in progress may be dropped;
 *  - anything else gets at most one answer (a Segment-ACK: a window of
 *    segments), only I-Am, I-Have or answer segments;
 *    documented silent drops: malformed NPDU headers, network-layer
 *    messages, NPDUs for another network, truncated Confirmed-Requests,
 *    unconfirmed services other than Who-Is, ACK/Error/Reject/Abort PDUs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "app/device_internal.h"   /* DCC state and segmented answers in progress */
#include "fuzz_support.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    int count;
    uint8_t frame[1600];
    size_t len;
    bacsc_address dest;
    uint8_t first_type;         /* PDU type of the first frame sent */
    bool first_server;
} sent;

static uint8_t files[3][256];
static size_t file_size[3];

static int on_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    (void)user;
    CHECK(len <= 1497);
    sent.count++;
    if (sent.count == 1) {
        bacsc_npdu r;
        bacsc_apdu a;
        CHECK(bacsc_npdu_decode(npdu, len, &r) >= 0);
        CHECK(bacsc_apdu_decode(r.payload, r.payload_len, &a, NULL) >= 0);
        sent.first_type = a.type;
        sent.first_server = a.server;
    }
    memcpy(sent.frame, npdu, len);
    sent.len = len;
    sent.dest = *dest;
    return 0;
}

static int f_size(void *u, uint32_t i, uint64_t *s)
{
    (void)u;
    if (i >= 3)
        return BACSC_ERR_NOT_FOUND;
    *s = file_size[i];
    return 0;
}

static int f_read(void *u, uint32_t i, uint64_t off, size_t count, uint8_t *buf, size_t *n,
                  bool *eof)
{
    (void)u;
    CHECK(i < 3 && off <= file_size[i]);
    size_t avail = file_size[i] - (size_t)off;
    *n = count < avail ? count : avail;
    memcpy(buf, files[i] + off, *n);
    *eof = off + *n == file_size[i];
    return 0;
}

static int f_write(void *u, uint32_t i, uint64_t off, const uint8_t *d, size_t len)
{
    (void)u;
    CHECK(i < 3 && off <= file_size[i]);
    if (off + len > sizeof files[i])
        return BACSC_ERR_LIMIT;
    memcpy(files[i] + off, d, len);
    if (off + len > file_size[i])
        file_size[i] = (size_t)(off + len);
    return 0;
}

static int f_set_size(void *u, uint32_t i, uint64_t s)
{
    (void)u;
    if (s > sizeof files[i])
        return BACSC_ERR_LIMIT;
    file_size[i] = (size_t)s;
    return 0;
}

static bacsc_device *make_device(void)
{
    bacsc_device_config c;
    memset(&c, 0, sizeof c);
    c.instance = 1001;
    c.name = "fuzz";
    c.reinit_password = "pw";
    c.link.send = on_send;
    bacsc_device *dev;
    CHECK(bacsc_device_new(&c, &dev) == BACSC_OK);
    CHECK(bacsc_device_add_analog_value(dev, 1, "av", 1.0f, 95, NULL) == BACSC_OK);
    bacsc_sc_port_config pc;
    bacsc_sc_port_config_defaults(&pc);
    strcpy(pc.primary_hub_uri, "wss://127.0.0.1:1");
    pc.operational_certificate_file = 0;
    CHECK(bacsc_device_add_netport_sc(dev, 1, "port", &pc, NULL, NULL) == BACSC_OK);
    bacsc_file_ops ops = {f_size, f_read, f_write, f_set_size, NULL, NULL};
    CHECK(bacsc_device_add_file(dev, 0, "f0", "text/plain", false, true, &ops, NULL) == BACSC_OK);
    CHECK(bacsc_device_add_file(dev, 1, "f1", "text/plain", true, true, &ops, NULL) == BACSC_OK);
    CHECK(bacsc_device_add_file(dev, 2, "f2", "text/plain", false, false, &ops, NULL) == BACSC_OK);
    return dev;
}

/* What the device may send for an NPDU that is not a confirmed request it
 * must answer: I-Am, I-Have, or (after a Segment-ACK) segments of an answer. */
static void check_unsolicited(void)
{
    bacsc_npdu r;
    bacsc_apdu a;
    CHECK(bacsc_npdu_decode(sent.frame, sent.len, &r) >= 0);
    CHECK(bacsc_apdu_decode(r.payload, r.payload_len, &a, NULL) >= 0);
    CHECK((a.type == BACSC_PDU_UNCONFIRMED_REQUEST &&
           (a.service == BACSC_SERVICE_I_AM || a.service == BACSC_SERVICE_I_HAVE)) ||
          (a.type == BACSC_PDU_COMPLEX_ACK && a.segmented));
}

/* Offset of a confirmed request's service choice: after the sequence
 * number and window size when the SEG bit is set. */
static size_t svc_at(const uint8_t *apdu)
{
    return (apdu[0] & 0x08) ? 5 : 3;
}

static void one(void *user, const uint8_t *npdu, size_t len)
{
    bacsc_device *dev = user;
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 9};
    bacsc_address src = bacsc_address_local(mac, 6);
    sent.count = 0;
    bacsc_npdu n;
    bool for_us = bacsc_npdu_decode(npdu, len, &n) >= 0 && !n.network_msg && !n.has_dnet &&
                  (!n.has_snet || n.slen <= 7);
    bacsc_address reply;
    if (for_us)
        bacsc_address_from_npdu(&src, &n, &reply);
    /* answered unless DCC disable (then only DCC 17 / Reinit 20), or the
     * same request is already being answered in segments */
    bool confirmed = for_us && n.payload_len >= 3 && (n.payload[0] >> 4) == 0 &&
                     !dev_seg_busy(dev, &reply, n.payload[2]) &&
                     !(dev->dcc_state == BACSC_DCC_DISABLE &&
                       !(n.payload_len > svc_at(n.payload) &&
                         (n.payload[svc_at(n.payload)] == 17 ||
                          n.payload[svc_at(n.payload)] == 20)));
    bool seg_ack = for_us && n.payload_len >= 1 && (n.payload[0] >> 4) == 4;
    bool segment = confirmed && n.payload_len >= 5 && (n.payload[0] & 0x08) &&
                   bacsc_apdu_decode(n.payload, n.payload_len, &(bacsc_apdu){0}, NULL) >= 0;
    int rc = bacsc_device_handle_npdu(dev, &src, npdu, len, 0);
    CHECK(rc == BACSC_OK || rc == BACSC_ERR_NOT_FOUND || rc == BACSC_ERR_MALFORMED);
    CHECK(sent.count <= (seg_ack ? 127 : segment ? 2 : 1));
    if (segment && sent.count > 0 && sent.first_type == BACSC_PDU_SEGMENT_ACK) {
        CHECK(sent.first_server);
        if (sent.count == 1)
            return;                 /* more segments due */
    } else if (segment && sent.count == 0) {
        return;                     /* a segment of nothing in progress: dropped */
    } else if (!confirmed) {
        if (sent.count)
            check_unsolicited();
        return;
    } else {
        CHECK(sent.count == 1);
    }
    CHECK(rc == BACSC_OK);
    bacsc_npdu r;
    bacsc_apdu a;
    CHECK(bacsc_npdu_decode(sent.frame, sent.len, &r) >= 0);
    CHECK(!r.expecting_reply);
    CHECK(bacsc_apdu_decode(r.payload, r.payload_len, &a, NULL) >= 0);
    CHECK(a.type == BACSC_PDU_SIMPLE_ACK || a.type == BACSC_PDU_COMPLEX_ACK ||
          a.type == BACSC_PDU_ERROR || a.type == BACSC_PDU_REJECT || a.type == BACSC_PDU_ABORT);
    CHECK(a.invoke_id == n.payload[2]);
    /* a segmented answer only to a request that accepts one (SA) */
    CHECK(!a.segmented || (n.payload[0] & 0x02));
    uint8_t code = n.payload[1] & 0x0F;
    unsigned limit = bacsc_max_apdu_octets(code);
    if (limit)
        CHECK(r.payload_len <= limit || a.type == BACSC_PDU_REJECT || a.type == BACSC_PDU_ABORT);
    /* an answer through a router goes back to the source network */
    if (n.has_snet)
        CHECK(r.has_dnet && r.dnet == n.snet && sent.dest.net == n.snet);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(file_size, 0, sizeof file_size);
    bacsc_device *dev = make_device();
    fz_records(data, size, one, dev);
    bacsc_device_free(dev);
    return 0;
}
