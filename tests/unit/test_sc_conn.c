/*
 * test_sc_conn.c — the BACnet/SC connection state machine, driven with
 * simulated time: handshake in both roles, connect wait, NAK paths (143, 145,
 * 146, 147, 151), heartbeat timing over hours, disconnect handshake and
 * disconnect wait, size limits, output FIFO limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/sc_conn.h"
#include "support_sc.h"

#define S 1000000ull /* one second in microseconds */

typedef struct events {
    int connected;
    int closed;
    bacsc_sc_close_info close;
    int messages;
    bacsc_bvlc_msg last;          /* pointers inside are not kept */
    uint8_t last_raw[2048];
    size_t last_raw_len;
    int want_write;
    int refuse_code;              /* connect_request answer */
    bacsc_bvlc_connect req;
} events;

static int ev_connect_request(bacsc_sc_conn *c, const bacsc_bvlc_connect *req, void *user)
{
    events *e = user;
    (void)c;
    e->req = *req;
    return e->refuse_code;
}

static void ev_connected(bacsc_sc_conn *c, const bacsc_bvlc_connect *peer, void *user)
{
    events *e = user;
    (void)c;
    (void)peer;
    e->connected++;
}

static void ev_message(bacsc_sc_conn *c, const bacsc_bvlc_msg *msg, const uint8_t *raw,
                       size_t len, uint64_t now, void *user)
{
    events *e = user;
    (void)c;
    (void)now;
    e->messages++;
    e->last = *msg;
    memcpy(e->last_raw, raw, len < sizeof e->last_raw ? len : sizeof e->last_raw);
    e->last_raw_len = len;
}

static void ev_closed(bacsc_sc_conn *c, const bacsc_sc_close_info *info, void *user)
{
    events *e = user;
    (void)c;
    e->closed++;
    e->close = *info;
}

static void ev_want_write(bacsc_sc_conn *c, void *user)
{
    events *e = user;
    (void)c;
    e->want_write++;
}

static const bacsc_sc_conn_callbacks CB = {
    .connect_request = ev_connect_request,
    .connected = ev_connected,
    .message = ev_message,
    .closed = ev_closed,
    .want_write = ev_want_write,
    .random = sct_random,
};

static bacsc_sc_conn *make(int role, events *e, uint8_t id)
{
    memset(e, 0, sizeof *e);
    bacsc_sc_conn_config cfg;
    bacsc_sc_conn_config_default(&cfg, role);
    cfg.vmac = sct_vmac(0, id);
    cfg.uuid = sct_uuid(0, id);
    bacsc_sc_conn *c = bacsc_sc_conn_new(&cfg, &CB, e);
    assert_non_null(c);
    return c;
}

/* Pop the next output message and decode it into *m (payload pointers into a
 * static buffer, valid until the next call). Fails the test if none. */
static uint8_t popped[4096];
static size_t popped_len;
static void pop_msg(bacsc_sc_conn *c, bacsc_bvlc_msg *m)
{
    const uint8_t *d;
    size_t n;
    assert_int_equal(bacsc_sc_conn_peek_output(c, &d, &n), 1);
    assert_true(n <= sizeof popped);
    memcpy(popped, d, n);
    popped_len = n;
    bacsc_sc_conn_pop_output(c);
    bacsc_bvlc_error err;
    assert_int_equal(bacsc_bvlc_decode(popped, popped_len, m, &err), BACSC_OK);
}

static void assert_no_output(bacsc_sc_conn *c)
{
    assert_int_equal(bacsc_sc_conn_output_count(c), 0);
}

static void assert_nak(bacsc_sc_conn *c, uint8_t for_fn, uint16_t id, uint16_t code,
                       uint8_t marker)
{
    bacsc_bvlc_msg m;
    pop_msg(c, &m);
    assert_int_equal(m.function, BACSC_BVLC_RESULT);
    assert_int_equal(m.message_id, id);
    assert_int_equal(m.u.result.result_for, for_fn);
    assert_int_equal(m.u.result.result_code, BACSC_RESULT_NAK);
    assert_int_equal(m.u.result.error_class, BACSC_ERROR_CLASS_COMMUNICATION);
    assert_int_equal(m.u.result.error_code, code);
    assert_int_equal(m.u.result.error_marker, marker);
}

/* Move everything queued on `from` into `to`. Returns the count moved. */
static int pump(bacsc_sc_conn *from, bacsc_sc_conn *to, uint64_t now)
{
    int n = 0;
    const uint8_t *d;
    size_t len;
    while (bacsc_sc_conn_peek_output(from, &d, &len)) {
        uint8_t tmp[4096];
        memcpy(tmp, d, len);
        bacsc_sc_conn_pop_output(from);
        bacsc_sc_conn_recv(to, tmp, len, now);
        n++;
    }
    return n;
}

static void pump_both(bacsc_sc_conn *a, bacsc_sc_conn *b, uint64_t now)
{
    while (pump(a, b, now) + pump(b, a, now) > 0)
        ;
}

/* An initiating connection that completed the handshake with a scripted peer. */
static bacsc_sc_conn *connected_initiator(events *e, uint64_t now)
{
    bacsc_sc_conn *c = make(BACSC_SC_ROLE_INITIATING, e, 1);
    assert_int_equal(bacsc_sc_conn_start(c, now), BACSC_OK);
    bacsc_bvlc_msg m;
    pop_msg(c, &m);
    uint8_t buf[64];
    bacsc_vmac hv = sct_vmac(9, 9);
    bacsc_uuid hu = sct_uuid(9, 9);
    size_t n = sct_connect_accept(buf, sizeof buf, m.message_id, &hv, &hu, 1600, 1497);
    bacsc_sc_conn_recv(c, buf, n, now);
    assert_int_equal(bacsc_sc_conn_state(c), BACSC_SC_STATE_CONNECTED);
    e->want_write = 0;
    return c;
}

static bacsc_sc_conn *connected_acceptor(events *e, uint64_t now)
{
    bacsc_sc_conn *c = make(BACSC_SC_ROLE_ACCEPTING, e, 2);
    assert_int_equal(bacsc_sc_conn_start(c, now), BACSC_OK);
    uint8_t buf[64];
    bacsc_vmac v = sct_vmac(5, 5);
    bacsc_uuid u = sct_uuid(5, 5);
    size_t n = sct_connect_request(buf, sizeof buf, 0x1234, &v, &u, 1600, 1497);
    bacsc_sc_conn_recv(c, buf, n, now);
    assert_int_equal(bacsc_sc_conn_state(c), BACSC_SC_STATE_CONNECTED);
    bacsc_bvlc_msg m;
    pop_msg(c, &m);
    assert_int_equal(m.function, BACSC_BVLC_CONNECT_ACCEPT);
    return c;
}

/* ---- handshake ---------------------------------------------------------- */

static void initiator_sends_connect_request_and_connects(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = make(BACSC_SC_ROLE_INITIATING, &e, 1);
    assert_int_equal(bacsc_sc_conn_state(c), BACSC_SC_STATE_IDLE);
    assert_int_equal(bacsc_sc_conn_expiry(c), BACSC_SC_NEVER);
    assert_int_equal(bacsc_sc_conn_start(c, 100), BACSC_OK);
    assert_int_equal(bacsc_sc_conn_start(c, 100), BACSC_ERR_STATE);
    assert_int_equal(e.want_write, 1);
    assert_int_equal(bacsc_sc_conn_state(c), BACSC_SC_STATE_CONNECT_WAIT);
    bacsc_bvlc_msg m;
    pop_msg(c, &m);
    assert_int_equal(m.function, BACSC_BVLC_CONNECT_REQUEST);
    assert_false(m.has_orig);
    assert_false(m.has_dest);
    bacsc_vmac v = sct_vmac(0, 1);
    bacsc_uuid u = sct_uuid(0, 1);
    assert_memory_equal(m.u.connect.vmac.b, v.b, 6);
    assert_memory_equal(m.u.connect.uuid.b, u.b, 16);
    assert_int_equal(m.u.connect.max_bvlc_len, BACSC_SC_DEFAULT_MAX_BVLC_LEN);
    assert_int_equal(m.u.connect.max_npdu_len, BACSC_SC_DEFAULT_MAX_NPDU_LEN);
    /* Other messages before Connect-Accept are ignored (and counted). */
    uint8_t buf[64];
    size_t n = sct_simple(buf, sizeof buf, BACSC_BVLC_HEARTBEAT_ACK, 7);
    bacsc_sc_conn_recv(c, buf, n, 200);
    assert_int_equal(e.connected, 0);
    assert_int_equal(bacsc_sc_conn_stats_get(c)->rx_invalid, 1);
    bacsc_vmac hv = sct_vmac(9, 9);
    bacsc_uuid hu = sct_uuid(9, 9);
    n = sct_connect_accept(buf, sizeof buf, m.message_id, &hv, &hu, 9000, 8000);
    assert_int_equal(bacsc_sc_conn_recv(c, buf, n, 300), BACSC_OK);
    assert_int_equal(e.connected, 1);
    assert_int_equal(bacsc_sc_conn_state(c), BACSC_SC_STATE_CONNECTED);
    assert_memory_equal(bacsc_sc_conn_peer(c)->vmac.b, hv.b, 6);
    assert_int_equal(bacsc_sc_conn_peer(c)->max_bvlc_len, 9000);
    assert_int_equal(bacsc_sc_conn_connected_since(c), 300);
    assert_no_output(c);
    bacsc_sc_conn_free(c);
}

static void acceptor_answers_connect_request(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = make(BACSC_SC_ROLE_ACCEPTING, &e, 2);
    assert_int_equal(bacsc_sc_conn_start(c, 0), BACSC_OK);
    assert_no_output(c);
    uint8_t buf[64];
    bacsc_vmac v = sct_vmac(5, 5);
    bacsc_uuid u = sct_uuid(5, 5);
    size_t n = sct_connect_request(buf, sizeof buf, 0xBEEF, &v, &u, 1600, 1497);
    bacsc_sc_conn_recv(c, buf, n, 10);
    assert_memory_equal(e.req.vmac.b, v.b, 6);
    assert_int_equal(e.connected, 1);
    bacsc_bvlc_msg m;
    pop_msg(c, &m);
    assert_int_equal(m.function, BACSC_BVLC_CONNECT_ACCEPT);
    assert_int_equal(m.message_id, 0xBEEF);
    bacsc_vmac mine = sct_vmac(0, 2);
    assert_memory_equal(m.u.connect.vmac.b, mine.b, 6);
    bacsc_sc_conn_free(c);
}

static void two_connections_handshake_back_to_back(void **st)
{
    (void)st;
    events ea, eb;
    bacsc_sc_conn *a = make(BACSC_SC_ROLE_INITIATING, &ea, 1);
    bacsc_sc_conn *b = make(BACSC_SC_ROLE_ACCEPTING, &eb, 2);
    bacsc_sc_conn_start(a, 0);
    bacsc_sc_conn_start(b, 0);
    pump_both(a, b, 1);
    assert_int_equal(ea.connected, 1);
    assert_int_equal(eb.connected, 1);
    /* NPDU both ways. */
    const uint8_t npdu[] = {0x01, 0x20, 0xFF, 0xFF, 0x00, 0xFF, 0x10, 0x08};
    assert_int_equal(bacsc_sc_conn_send_npdu(a, NULL, npdu, sizeof npdu, 2), BACSC_OK);
    pump_both(a, b, 2);
    assert_int_equal(eb.messages, 1);
    assert_int_equal(eb.last.function, BACSC_BVLC_ENCAPSULATED_NPDU);
    assert_int_equal(eb.last.payload_len, sizeof npdu);
    assert_memory_equal(eb.last_raw + eb.last_raw_len - sizeof npdu, npdu, sizeof npdu);
    bacsc_sc_conn_free(a);
    bacsc_sc_conn_free(b);
}

static void connect_wait_timeout_both_roles(void **st)
{
    (void)st;
    for (int role = 0; role < 2; role++) {
        events e;
        bacsc_sc_conn *c = make(role, &e, 1);
        bacsc_sc_conn_start(c, 5 * S);
        assert_int_equal(bacsc_sc_conn_expiry(c), 15 * S);
        bacsc_sc_conn_handle_expiry(c, 15 * S - 1);
        assert_int_equal(e.closed, 0);
        bacsc_sc_conn_handle_expiry(c, 15 * S);
        assert_int_equal(e.closed, 1);
        assert_int_equal(e.close.reason, BACSC_SC_CLOSE_CONNECT_TIMEOUT);
        assert_int_equal(e.close.error_code, BACSC_EC_TCP_CONNECT_TIMEOUT);
        assert_int_equal(bacsc_sc_conn_expiry(c), BACSC_SC_NEVER);
        bacsc_sc_conn_handle_expiry(c, 100 * S);
        assert_int_equal(e.closed, 1); /* exactly once */
        assert_int_equal(bacsc_sc_conn_recv(c, (const uint8_t *)"\x0a\x00\x00\x01", 4, 101 * S),
                         BACSC_ERR_STATE);
        bacsc_sc_conn_free(c);
    }
}

static void connect_request_naked_151(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = make(BACSC_SC_ROLE_INITIATING, &e, 1);
    bacsc_sc_conn_start(c, 0);
    bacsc_bvlc_msg m;
    pop_msg(c, &m);
    uint8_t buf[128];
    size_t n = sct_nak(buf, sizeof buf, BACSC_BVLC_CONNECT_REQUEST, m.message_id,
                       BACSC_EC_NODE_DUPLICATE_VMAC);
    bacsc_sc_conn_recv(c, buf, n, 1);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.reason, BACSC_SC_CLOSE_NAK);
    assert_int_equal(e.close.error_code, BACSC_EC_NODE_DUPLICATE_VMAC);
    assert_no_output(c); /* a Result is never answered */
    bacsc_sc_conn_free(c);
}

static void acceptor_refuses_with_151(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = make(BACSC_SC_ROLE_ACCEPTING, &e, 2);
    e.refuse_code = BACSC_EC_NODE_DUPLICATE_VMAC;
    bacsc_sc_conn_start(c, 0);
    uint8_t buf[64];
    bacsc_vmac v = sct_vmac(5, 5);
    bacsc_uuid u = sct_uuid(5, 5);
    size_t n = sct_connect_request(buf, sizeof buf, 0x0102, &v, &u, 1600, 1497);
    bacsc_sc_conn_recv(c, buf, n, 10);
    assert_nak(c, BACSC_BVLC_CONNECT_REQUEST, 0x0102, BACSC_EC_NODE_DUPLICATE_VMAC, 0);
    assert_int_equal(e.connected, 0);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.reason, BACSC_SC_CLOSE_REFUSED);
    assert_int_equal(e.close.error_code, BACSC_EC_NODE_DUPLICATE_VMAC);
    bacsc_sc_conn_free(c);
}

static void npdu_before_connect_request_closes(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = make(BACSC_SC_ROLE_ACCEPTING, &e, 2);
    bacsc_sc_conn_start(c, 0);
    uint8_t buf[64];
    const uint8_t npdu[] = {0x01, 0x00};
    size_t n = sct_npdu(buf, sizeof buf, 1, NULL, NULL, npdu, sizeof npdu);
    bacsc_sc_conn_recv(c, buf, n, 10);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.reason, BACSC_SC_CLOSE_PROTOCOL);
    assert_int_equal(e.messages, 0);
    assert_no_output(c);
    bacsc_sc_conn_free(c);
}

static void short_connect_request_naked_and_closed(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = make(BACSC_SC_ROLE_ACCEPTING, &e, 2);
    bacsc_sc_conn_start(c, 0);
    uint8_t buf[64];
    bacsc_vmac v = sct_vmac(5, 5);
    bacsc_uuid u = sct_uuid(5, 5);
    size_t n = sct_connect_request(buf, sizeof buf, 0x0A0B, &v, &u, 1600, 1497);
    bacsc_bvlc_msg m;
    bacsc_bvlc_error err;
    assert_int_not_equal(bacsc_bvlc_decode(buf, n - 3, &m, &err), BACSC_OK);
    bacsc_sc_conn_recv(c, buf, n - 3, 10);
    assert_nak(c, BACSC_BVLC_CONNECT_REQUEST, 0x0A0B, err.error_code, 0);
    assert_true(err.error_code == BACSC_EC_MESSAGE_INCOMPLETE ||
                err.error_code == BACSC_EC_PAYLOAD_EXPECTED);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.reason, BACSC_SC_CLOSE_PROTOCOL);
    assert_int_equal(e.connected, 0);
    bacsc_sc_conn_free(c);
}

/* ---- NAK policy when connected ------------------------------------------- */

static void unknown_function_naked_143(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_initiator(&e, 0);
    const uint8_t msg[] = {0x0D, 0x00, 0x12, 0x34};
    bacsc_sc_conn_recv(c, msg, sizeof msg, 1);
    assert_nak(c, 0x0D, 0x1234, BACSC_EC_BVLC_FUNCTION_UNKNOWN, 0);
    assert_int_equal(bacsc_sc_conn_state(c), BACSC_SC_STATE_CONNECTED);
    /* Unknown function to the broadcast VMAC: dropped, not answered. */
    const uint8_t bc[] = {0x0D, 0x04, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    bacsc_sc_conn_recv(c, bc, sizeof bc, 2);
    assert_no_output(c);
    assert_int_equal(bacsc_sc_conn_stats_get(c)->rx_invalid, 2);
    bacsc_sc_conn_free(c);
}

static void malformed_option_naked_with_marker(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_acceptor(&e, 0);
    /* Encapsulated-NPDU, data options; marker 0x3F (proprietary, has data)
     * with a 2-octet length but only 2 data octets (needs >= 3). */
    const uint8_t msg[] = {0x01, 0x01, 0x00, 0x07, 0x3F, 0x00, 0x02, 0xAA, 0xBB};
    bacsc_bvlc_msg m;
    bacsc_bvlc_error err;
    assert_int_equal(bacsc_bvlc_decode(msg, sizeof msg, &m, &err), BACSC_ERR_MALFORMED);
    assert_int_equal(err.error_code, BACSC_EC_HEADER_ENCODING_ERROR);
    bacsc_sc_conn_recv(c, msg, sizeof msg, 1);
    assert_nak(c, BACSC_BVLC_ENCAPSULATED_NPDU, 7, BACSC_EC_HEADER_ENCODING_ERROR, 0x3F);
    assert_int_equal(e.messages, 0);
    /* Truncated option data: 147 with the marker. */
    const uint8_t msg2[] = {0x01, 0x01, 0x00, 0x08, 0x3F, 0x00, 0x09, 0xAA};
    bacsc_sc_conn_recv(c, msg2, sizeof msg2, 2);
    assert_nak(c, BACSC_BVLC_ENCAPSULATED_NPDU, 8, BACSC_EC_MESSAGE_INCOMPLETE, 0x3F);
    bacsc_sc_conn_free(c);
}

static void must_understand_unknown_option_naked_146(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_initiator(&e, 0);
    /* Data option type 5, must-understand, no data: marker 0x45. */
    const uint8_t msg[] = {0x01, 0x01, 0x00, 0x09, 0x45, 0x01, 0x00};
    bacsc_sc_conn_recv(c, msg, sizeof msg, 1);
    assert_nak(c, BACSC_BVLC_ENCAPSULATED_NPDU, 9, BACSC_EC_HEADER_NOT_UNDERSTOOD, 0x45);
    assert_int_equal(e.messages, 0);
    /* Same option without must-understand: delivered. */
    const uint8_t ok[] = {0x01, 0x01, 0x00, 0x0A, 0x05, 0x01, 0x00};
    bacsc_sc_conn_recv(c, ok, sizeof ok, 2);
    assert_int_equal(e.messages, 1);
    assert_no_output(c);
    /* Secure-Path marked must-understand is understood. */
    const uint8_t sp[] = {0x01, 0x01, 0x00, 0x0B, 0x41, 0x01, 0x00};
    bacsc_sc_conn_recv(c, sp, sizeof sp, 3);
    assert_int_equal(e.messages, 2);
    assert_no_output(c);
    bacsc_sc_conn_free(c);
}

static void placement_rules_naked_145(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_acceptor(&e, 0);
    /* Heartbeat-Request carrying a Destination VMAC. */
    const uint8_t hb[] = {0x0A, 0x04, 0x00, 0x21, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    bacsc_sc_conn_recv(c, hb, sizeof hb, 1);
    assert_nak(c, BACSC_BVLC_HEARTBEAT_REQUEST, 0x21, BACSC_EC_HEADER_ENCODING_ERROR, 0);
    /* Address-Resolution carrying a data option (Secure-Path). */
    const uint8_t ar[] = {0x02, 0x01, 0x00, 0x22, 0x01};
    bacsc_sc_conn_recv(c, ar, sizeof ar, 2);
    assert_nak(c, BACSC_BVLC_ADDRESS_RESOLUTION, 0x22, BACSC_EC_HEADER_ENCODING_ERROR, 0x01);
    assert_int_equal(e.messages, 0);
    assert_int_equal(bacsc_sc_conn_state(c), BACSC_SC_STATE_CONNECTED);
    bacsc_sc_conn_free(c);
    /* A Connect-Request with an Originating VMAC: NAKed and closed. */
    c = make(BACSC_SC_ROLE_ACCEPTING, &e, 2);
    bacsc_sc_conn_start(c, 0);
    uint8_t buf[64];
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_CONNECT_REQUEST, 0x23);
    m.has_orig = true;
    m.orig = sct_vmac(1, 1);
    m.u.connect.vmac = sct_vmac(1, 1);
    m.u.connect.max_bvlc_len = 1600;
    m.u.connect.max_npdu_len = 1497;
    size_t n = sct_encode(&m, buf, sizeof buf);
    bacsc_sc_conn_recv(c, buf, n, 1);
    assert_nak(c, BACSC_BVLC_CONNECT_REQUEST, 0x23, BACSC_EC_HEADER_ENCODING_ERROR, 0);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.connected, 0);
    bacsc_sc_conn_free(c);
}

static void relayed_message_nak_goes_back_to_originator(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_initiator(&e, 0);
    /* Relayed by a hub: Originating VMAC 02:00:00:00:07:07. */
    const uint8_t msg[] = {0x01, 0x09, 0x00, 0x0C, 0x02, 0x00, 0x00, 0x00, 0x07, 0x07,
                           0x45, 0x01, 0x00};
    bacsc_sc_conn_recv(c, msg, sizeof msg, 1);
    bacsc_bvlc_msg m;
    pop_msg(c, &m);
    assert_int_equal(m.function, BACSC_BVLC_RESULT);
    assert_true(m.has_dest);
    bacsc_vmac o = sct_vmac(7, 7);
    assert_memory_equal(m.dest.b, o.b, 6);
    assert_int_equal(m.u.result.error_code, BACSC_EC_HEADER_NOT_UNDERSTOOD);
    bacsc_sc_conn_free(c);
}

static void result_is_never_naked(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_initiator(&e, 0);
    /* BVLC-Result with a truncated payload. */
    const uint8_t msg[] = {0x00, 0x00, 0x00, 0x0D, 0x01};
    bacsc_sc_conn_recv(c, msg, sizeof msg, 1);
    assert_no_output(c);
    assert_int_equal(bacsc_sc_conn_stats_get(c)->rx_invalid, 1);
    /* Result with an unknown must-understand option: not answered either. */
    uint8_t buf[64];
    size_t n = sct_nak(buf, sizeof buf, BACSC_BVLC_ADDRESS_RESOLUTION, 3, 143);
    assert_true(n > 0);
    bacsc_sc_conn_recv(c, buf, n, 2);
    assert_no_output(c);
    assert_int_equal(e.messages, 1); /* a valid Result goes to the owner */
    /* Too short to have a Message-ID: counted, nothing sent. */
    bacsc_sc_conn_recv(c, msg, 3, 3);
    assert_no_output(c);
    assert_int_equal(bacsc_sc_conn_stats_get(c)->rx_invalid, 2);
    bacsc_sc_conn_free(c);
}

/* ---- heartbeat ----------------------------------------------------------- */

static void initiator_heartbeat_timing(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_initiator(&e, 0);
    const uint64_t T = BACSC_SC_DEFAULT_HEARTBEAT_US;
    assert_int_equal(bacsc_sc_conn_expiry(c), T);
    bacsc_sc_conn_handle_expiry(c, T - 1);
    assert_no_output(c);
    bacsc_sc_conn_handle_expiry(c, T);
    bacsc_bvlc_msg m;
    pop_msg(c, &m);
    assert_int_equal(m.function, BACSC_BVLC_HEARTBEAT_REQUEST);
    /* The answer arrives: next heartbeat T after it. */
    uint8_t buf[16];
    size_t n = sct_simple(buf, sizeof buf, BACSC_BVLC_HEARTBEAT_ACK, m.message_id);
    bacsc_sc_conn_recv(c, buf, n, T + 5);
    assert_int_equal(bacsc_sc_conn_expiry(c), 2 * T);
    /* Traffic postpones it. */
    const uint8_t npdu[] = {0x01, 0x00};
    bacsc_sc_conn_send_npdu(c, &BACSC_VMAC_BROADCAST, npdu, 2, T + 30 * S);
    bacsc_sc_conn_pop_output(c);
    n = sct_npdu(buf, sizeof buf, 77, NULL, NULL, npdu, 2);
    bacsc_sc_conn_recv(c, buf, n, T + 30 * S);
    assert_int_equal(bacsc_sc_conn_expiry(c), 2 * T + 30 * S);
    /* No answer to the next heartbeat: closed one T later. */
    bacsc_sc_conn_handle_expiry(c, 2 * T + 30 * S);
    pop_msg(c, &m);
    assert_int_equal(m.function, BACSC_BVLC_HEARTBEAT_REQUEST);
    assert_int_equal(bacsc_sc_conn_expiry(c), 3 * T + 30 * S);
    bacsc_sc_conn_handle_expiry(c, 3 * T + 30 * S);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.reason, BACSC_SC_CLOSE_HEARTBEAT_TIMEOUT);
    bacsc_sc_conn_free(c);
}

static void initiator_that_only_receives_still_sends_heartbeats(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_initiator(&e, 0);
    const uint64_t T = BACSC_SC_DEFAULT_HEARTBEAT_US;
    uint8_t buf[32];
    const uint8_t npdu[] = {0x01, 0x00};
    size_t n = sct_npdu(buf, sizeof buf, 1, NULL, &BACSC_VMAC_BROADCAST, npdu, 2);
    int hb = 0;
    /* A broadcast every 10 s for an hour; we never send anything ourselves. */
    for (uint64_t t = 10 * S; t <= 3600 * S; t += 10 * S) {
        bacsc_sc_conn_handle_expiry(c, t);
        bacsc_bvlc_msg m;
        while (bacsc_sc_conn_output_count(c)) {
            pop_msg(c, &m);
            assert_int_equal(m.function, BACSC_BVLC_HEARTBEAT_REQUEST);
            hb++;
        }
        bacsc_sc_conn_recv(c, buf, n, t);
    }
    assert_int_equal(e.closed, 0);
    /* Our side was silent: the peer must hear a heartbeat at least every T. */
    assert_true(hb >= (int)(3600 * S / T) - 1);
    bacsc_sc_conn_free(c);
}

static void initiator_that_only_sends_detects_silent_peer(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_initiator(&e, 0);
    const uint64_t T = BACSC_SC_DEFAULT_HEARTBEAT_US;
    const uint8_t npdu[] = {0x01, 0x00};
    uint64_t t;
    /* We send every 10 s; the peer has gone silent (a hung hub). */
    for (t = 10 * S; t <= 3600 * S && !e.closed; t += 10 * S) {
        bacsc_sc_conn_handle_expiry(c, t);
        if (!e.closed)
            bacsc_sc_conn_send_npdu(c, &BACSC_VMAC_BROADCAST, npdu, 2, t);
        while (bacsc_sc_conn_output_count(c))
            bacsc_sc_conn_pop_output(c);
    }
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.reason, BACSC_SC_CLOSE_HEARTBEAT_TIMEOUT);
    assert_true(t - 10 * S <= 2 * T);
    bacsc_sc_conn_free(c);
}

static void acceptor_answers_heartbeat_and_drops_silent_peer(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_acceptor(&e, 0);
    const uint64_t T = BACSC_SC_DEFAULT_HEARTBEAT_US;
    uint8_t buf[16];
    size_t n = sct_simple(buf, sizeof buf, BACSC_BVLC_HEARTBEAT_REQUEST, 0x4242);
    bacsc_sc_conn_recv(c, buf, n, T);
    bacsc_bvlc_msg m;
    pop_msg(c, &m);
    assert_int_equal(m.function, BACSC_BVLC_HEARTBEAT_ACK);
    assert_int_equal(m.message_id, 0x4242);
    assert_int_equal(bacsc_sc_conn_expiry(c), 3 * T);
    bacsc_sc_conn_handle_expiry(c, 3 * T - 1);
    assert_int_equal(e.closed, 0);
    bacsc_sc_conn_handle_expiry(c, 3 * T);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.reason, BACSC_SC_CLOSE_HEARTBEAT_TIMEOUT);
    bacsc_sc_conn_free(c);
}

/* 40,000 Heartbeat-Requests per second: a burst of 40 is answered, then 20
 * per second; after 10 s of flooding the connection closes (175). A peer
 * that pauses for over a second starts afresh. */
static void control_flood_limited_then_closed(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_acceptor(&e, 0);
    uint8_t buf[16];
    size_t n = sct_simple(buf, sizeof buf, BACSC_BVLC_HEARTBEAT_REQUEST, 0x4242);
    uint64_t now = 1000;
    size_t answered = 0;
    const uint8_t *d;
    size_t l;
    for (int i = 0; i < 40000; i++, now += 25) { /* one second */
        bacsc_sc_conn_recv(c, buf, n, now);
        while (bacsc_sc_conn_peek_output(c, &d, &l)) {
            answered++;
            bacsc_sc_conn_pop_output(c);
        }
    }
    assert_true(answered >= 40 && answered <= 61);
    assert_true(bacsc_sc_conn_stats_get(c)->control_dropped >= 40000 - 61);
    assert_int_equal(e.closed, 0);
    /* a 2 s pause, then flooding again for 9 s: still open */
    now += 2000000;
    for (int s = 0; s < 9; s++)
        for (int i = 0; i < 1000; i++, now += 1000)
            bacsc_sc_conn_recv(c, buf, n, now);
    assert_int_equal(e.closed, 0);
    for (int i = 0; i < 1100 && !e.closed; i++, now += 1000)
        bacsc_sc_conn_recv(c, buf, n, now);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.reason, BACSC_SC_CLOSE_PROTOCOL);
    assert_int_equal(e.close.error_code, BACSC_EC_WEBSOCKET_DATA_AGAINST_POLICY);
    assert_non_null(strstr(e.close.details, "control-message flood"));
    bacsc_sc_conn_free(c);
}

static void pair_stays_up_for_twelve_hours(void **st)
{
    (void)st;
    events ea, eb;
    bacsc_sc_conn *a = make(BACSC_SC_ROLE_INITIATING, &ea, 1);
    bacsc_sc_conn *b = make(BACSC_SC_ROLE_ACCEPTING, &eb, 2);
    bacsc_sc_conn_start(a, 0);
    bacsc_sc_conn_start(b, 0);
    pump_both(a, b, 0);
    uint64_t now = 0, end = 12 * 3600 * S;
    int steps = 0;
    while (now < end) {
        uint64_t ta = bacsc_sc_conn_expiry(a), tb = bacsc_sc_conn_expiry(b);
        now = ta < tb ? ta : tb;
        assert_true(now != BACSC_SC_NEVER);
        bacsc_sc_conn_handle_expiry(a, now);
        bacsc_sc_conn_handle_expiry(b, now);
        pump_both(a, b, now);
        steps++;
    }
    assert_int_equal(ea.closed + eb.closed, 0);
    /* One heartbeat per T, no more. */
    uint64_t hb = bacsc_sc_conn_stats_get(a)->tx_msgs - 1;
    assert_true(hb >= end / BACSC_SC_DEFAULT_HEARTBEAT_US - 1);
    assert_true(hb <= end / BACSC_SC_DEFAULT_HEARTBEAT_US + 1);
    assert_true(steps < 1000);
    bacsc_sc_conn_free(a);
    bacsc_sc_conn_free(b);
}

/* ---- disconnect ---------------------------------------------------------- */

static void disconnect_handshake(void **st)
{
    (void)st;
    events ea, eb;
    bacsc_sc_conn *a = make(BACSC_SC_ROLE_INITIATING, &ea, 1);
    bacsc_sc_conn *b = make(BACSC_SC_ROLE_ACCEPTING, &eb, 2);
    bacsc_sc_conn_start(a, 0);
    bacsc_sc_conn_start(b, 0);
    pump_both(a, b, 0);
    assert_int_equal(bacsc_sc_conn_disconnect(a, S), BACSC_OK);
    assert_int_equal(bacsc_sc_conn_state(a), BACSC_SC_STATE_DISCONNECT_WAIT);
    assert_int_equal(bacsc_sc_conn_disconnect(a, S), BACSC_ERR_STATE);
    assert_int_equal(bacsc_sc_conn_expiry(a), S + BACSC_SC_DEFAULT_DISCONNECT_WAIT_US);
    const uint8_t *d;
    size_t n;
    assert_int_equal(bacsc_sc_conn_peek_output(a, &d, &n), 1);
    assert_int_equal(d[0], BACSC_BVLC_DISCONNECT_REQUEST);
    uint16_t id = (uint16_t)(d[2] << 8 | d[3]);
    pump(a, b, S);
    assert_int_equal(eb.closed, 1);
    assert_int_equal(eb.close.reason, BACSC_SC_CLOSE_PEER_DISCONNECT);
    assert_int_equal(bacsc_sc_conn_peek_output(b, &d, &n), 1);
    assert_int_equal(d[0], BACSC_BVLC_DISCONNECT_ACK);
    assert_int_equal((uint16_t)(d[2] << 8 | d[3]), id);
    pump(b, a, S + 1);
    assert_int_equal(ea.closed, 1);
    assert_int_equal(ea.close.reason, BACSC_SC_CLOSE_LOCAL);
    assert_int_equal(ea.close.error_code, 0);
    assert_int_equal(bacsc_sc_conn_send_npdu(a, NULL, (const uint8_t *)"\x01", 1, S + 2),
                     BACSC_ERR_STATE);
    bacsc_sc_conn_free(a);
    bacsc_sc_conn_free(b);
}

static void disconnect_wait_timeout(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_initiator(&e, 0);
    bacsc_sc_conn_disconnect(c, 10 * S);
    bacsc_sc_conn_handle_expiry(c, 15 * S - 1);
    assert_int_equal(e.closed, 0);
    /* Heartbeat requests are still answered while waiting. */
    uint8_t buf[16];
    size_t n = sct_simple(buf, sizeof buf, BACSC_BVLC_HEARTBEAT_REQUEST, 5);
    bacsc_sc_conn_recv(c, buf, n, 12 * S);
    bacsc_sc_conn_handle_expiry(c, 15 * S);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.reason, BACSC_SC_CLOSE_DISCONNECT_TIMEOUT);
    bacsc_bvlc_msg m;
    pop_msg(c, &m);
    assert_int_equal(m.function, BACSC_BVLC_DISCONNECT_REQUEST);
    pop_msg(c, &m);
    assert_int_equal(m.function, BACSC_BVLC_HEARTBEAT_ACK);
    bacsc_sc_conn_free(c);
}

static void disconnect_before_connected_closes_at_once(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = make(BACSC_SC_ROLE_INITIATING, &e, 1);
    bacsc_sc_conn_start(c, 0);
    assert_int_equal(bacsc_sc_conn_disconnect(c, 1), BACSC_OK);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.reason, BACSC_SC_CLOSE_LOCAL);
    bacsc_sc_conn_free(c);
}

static void transport_closed_discards_output(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_initiator(&e, 0);
    bacsc_sc_conn_send_npdu(c, NULL, (const uint8_t *)"\x01\x00", 2, 1);
    assert_int_equal(bacsc_sc_conn_output_count(c), 1);
    bacsc_sc_conn_transport_closed(c, BACSC_EC_WEBSOCKET_CLOSED_BY_PEER, 2);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.reason, BACSC_SC_CLOSE_TRANSPORT);
    assert_int_equal(e.close.error_code, BACSC_EC_WEBSOCKET_CLOSED_BY_PEER);
    assert_no_output(c);
    bacsc_sc_conn_transport_closed(c, 0, 3);
    assert_int_equal(e.closed, 1);
    bacsc_sc_conn_free(c);
}

/* ---- limits -------------------------------------------------------------- */

static void oversize_message_closes(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = connected_acceptor(&e, 0);
    static uint8_t npdu[1600];
    static uint8_t buf[2000];
    /* NPDU of 1498 octets: fits Max-BVLC (1600) but not Max-NPDU (1497). */
    size_t n = sct_npdu(buf, sizeof buf, 1, NULL, NULL, npdu, 1498);
    bacsc_sc_conn_recv(c, buf, n, 1);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.reason, BACSC_SC_CLOSE_PROTOCOL);
    assert_int_equal(e.close.error_code, BACSC_EC_WEBSOCKET_FRAME_TOO_LONG);
    assert_int_equal(e.messages, 0);
    bacsc_sc_conn_free(c);

    c = connected_acceptor(&e, 0);
    /* Exactly 1497: accepted. */
    n = sct_npdu(buf, sizeof buf, 2, NULL, NULL, npdu, 1497);
    bacsc_sc_conn_recv(c, buf, n, 1);
    assert_int_equal(e.messages, 1);
    /* BVLC over 1600 octets. */
    n = sct_npdu(buf, sizeof buf, 3, NULL, NULL, npdu, 1600);
    bacsc_sc_conn_recv(c, buf, n, 2);
    assert_int_equal(e.closed, 1);
    assert_int_equal(e.close.error_code, BACSC_EC_WEBSOCKET_FRAME_TOO_LONG);
    bacsc_sc_conn_free(c);
}

static void send_respects_peer_limits(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = make(BACSC_SC_ROLE_INITIATING, &e, 1);
    bacsc_sc_conn_start(c, 0);
    bacsc_sc_conn_pop_output(c);
    uint8_t buf[64];
    bacsc_vmac hv = sct_vmac(9, 9);
    bacsc_uuid hu = sct_uuid(9, 9);
    size_t n = sct_connect_accept(buf, sizeof buf, 1, &hv, &hu, 120, 100);
    bacsc_sc_conn_recv(c, buf, n, 0);
    static uint8_t npdu[200];
    assert_int_equal(bacsc_sc_conn_send_npdu(c, NULL, npdu, 101, 1), BACSC_ERR_LIMIT);
    assert_int_equal(bacsc_sc_conn_send_npdu(c, NULL, npdu, 100, 1), BACSC_OK);
    /* 100 + 4 header + 6 dest = 110 <= 120 */
    assert_int_equal(bacsc_sc_conn_send_npdu(c, &hv, npdu, 100, 1), BACSC_OK);
    bacsc_sc_conn_free(c);
}

static void output_fifo_is_bounded(void **st)
{
    (void)st;
    events e;
    memset(&e, 0, sizeof e);
    bacsc_sc_conn_config cfg;
    bacsc_sc_conn_config_default(&cfg, BACSC_SC_ROLE_INITIATING);
    cfg.max_queue_msgs = 10;
    cfg.max_queue_bytes = 1000;
    bacsc_sc_conn *c = bacsc_sc_conn_new(&cfg, &CB, &e);
    bacsc_sc_conn_start(c, 0);
    uint8_t buf[64];
    bacsc_vmac hv = sct_vmac(9, 9);
    bacsc_uuid hu = sct_uuid(9, 9);
    size_t n = sct_connect_accept(buf, sizeof buf, 1, &hv, &hu, 1600, 1497);
    bacsc_sc_conn_recv(c, buf, n, 0);
    const uint8_t npdu[10] = {1};
    int ok = 0, limited = 0;
    for (int i = 0; i < 100; i++) {
        int rc = bacsc_sc_conn_send_npdu(c, NULL, npdu, sizeof npdu, 1);
        if (rc == BACSC_OK)
            ok++;
        else if (rc == BACSC_ERR_LIMIT)
            limited++;
    }
    assert_int_equal(ok, 9); /* the Connect-Request still occupies a slot */
    assert_int_equal(limited, 91);
    assert_int_equal(bacsc_sc_conn_output_count(c), 10);
    assert_int_equal(bacsc_sc_conn_stats_get(c)->queue_drops, 91);
    assert_int_equal(e.want_write, 1); /* only on empty -> non-empty */
    /* Drain: room again; byte limit applies too. */
    while (bacsc_sc_conn_output_count(c))
        bacsc_sc_conn_pop_output(c);
    static uint8_t big[400];
    assert_int_equal(bacsc_sc_conn_send_npdu(c, NULL, big, sizeof big, 2), BACSC_OK);
    assert_int_equal(bacsc_sc_conn_send_npdu(c, NULL, big, sizeof big, 2), BACSC_OK);
    assert_int_equal(bacsc_sc_conn_send_npdu(c, NULL, big, sizeof big, 2), BACSC_ERR_LIMIT);
    bacsc_sc_conn_free(c);
}

static void message_ids_advance_and_skip_zero(void **st)
{
    (void)st;
    events e;
    bacsc_sc_conn *c = make(BACSC_SC_ROLE_INITIATING, &e, 1);
    uint16_t prev = bacsc_sc_conn_next_message_id(c);
    for (int i = 0; i < 70000; i++) {
        uint16_t id = bacsc_sc_conn_next_message_id(c);
        assert_int_not_equal(id, 0);
        assert_int_not_equal(id, prev);
        prev = id;
    }
    bacsc_sc_conn_free(c);
}

static void invalid_config_rejected(void **st)
{
    (void)st;
    bacsc_sc_conn_config cfg;
    bacsc_sc_conn_config_default(&cfg, 7);
    assert_null(bacsc_sc_conn_new(&cfg, &CB, NULL));
    bacsc_sc_conn_config_default(&cfg, BACSC_SC_ROLE_ACCEPTING);
    cfg.max_bvlc_len = 100;
    cfg.max_npdu_len = 200;
    assert_null(bacsc_sc_conn_new(&cfg, &CB, NULL));
    assert_string_equal(bacsc_sc_conn_state_name(BACSC_SC_STATE_DISCONNECT_WAIT),
                        "disconnect-wait");
    assert_string_equal(bacsc_sc_close_reason_name(BACSC_SC_CLOSE_REPLACED), "replaced");
}

int main(void)
{
    sct_seed(42);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(initiator_sends_connect_request_and_connects),
        cmocka_unit_test(acceptor_answers_connect_request),
        cmocka_unit_test(two_connections_handshake_back_to_back),
        cmocka_unit_test(connect_wait_timeout_both_roles),
        cmocka_unit_test(connect_request_naked_151),
        cmocka_unit_test(acceptor_refuses_with_151),
        cmocka_unit_test(npdu_before_connect_request_closes),
        cmocka_unit_test(short_connect_request_naked_and_closed),
        cmocka_unit_test(unknown_function_naked_143),
        cmocka_unit_test(malformed_option_naked_with_marker),
        cmocka_unit_test(must_understand_unknown_option_naked_146),
        cmocka_unit_test(placement_rules_naked_145),
        cmocka_unit_test(relayed_message_nak_goes_back_to_originator),
        cmocka_unit_test(result_is_never_naked),
        cmocka_unit_test(initiator_heartbeat_timing),
        cmocka_unit_test(initiator_that_only_receives_still_sends_heartbeats),
        cmocka_unit_test(initiator_that_only_sends_detects_silent_peer),
        cmocka_unit_test(acceptor_answers_heartbeat_and_drops_silent_peer),
        cmocka_unit_test(control_flood_limited_then_closed),
        cmocka_unit_test(pair_stays_up_for_twelve_hours),
        cmocka_unit_test(disconnect_handshake),
        cmocka_unit_test(disconnect_wait_timeout),
        cmocka_unit_test(disconnect_before_connected_closes_at_once),
        cmocka_unit_test(transport_closed_discards_output),
        cmocka_unit_test(oversize_message_closes),
        cmocka_unit_test(send_respects_peer_limits),
        cmocka_unit_test(output_fifo_is_bounded),
        cmocka_unit_test(message_ids_advance_and_skip_zero),
        cmocka_unit_test(invalid_config_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
