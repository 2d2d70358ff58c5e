/*
 * test_device_conformance.c — what a BTL-style checker looks at in the
 * device server: confirmed requests received as broadcasts, command
 * prioritisation (priority 6, Current_Command_Priority, property groups that
 * follow the object's configuration), claims that match the objects,
 * DeviceCommunicationControl, Who-Has/I-Have, and ReinitializeDevice
 * cold/warm start with Last_Restart_Reason / Time_Of_Device_Restart.
 * A real client and device over the in-memory datalink, and hand-built
 * NPDUs where the client would not send them.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bacsc/client.h"
#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "bacsc/services.h"
#include "support_bacnet.h"
#include "support_fake_datalink.h"
#include "support_fixture.h"

#define INSTANCE 1001
#define MIN_US (60ull * 1000000ull)

typedef struct fx {
    fdl_net net;
    fdl_node *dn, *cn;
    bacsc_device *dev;
    bacsc_client *cl;
    bacsc_object *av1, *av2;
    int restarts;
    uint8_t restart_state;
    uint64_t now;
} fx;

static void on_restart(void *user, bacsc_device *dev, uint8_t state)
{
    fx *f = user;
    (void)dev;
    f->restarts++;
    f->restart_state = state;
}

static fx *fx_new(bool with_restart, const char *password)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fdl_init(&f->net);
    f->dn = fdl_add_node(&f->net, 1);
    f->cn = fdl_add_node(&f->net, 2);
    bacsc_device_config dc = {.instance = INSTANCE, .name = "conformance",
                              .reinit_password = password};
    if (with_restart)
        dc.cb.restart = on_restart;
    dc.cb.user = f;
    f->dev = fdl_host_device(f->dn, &dc);
    assert_int_equal(bacsc_device_add_analog_value(f->dev, 1, "AV-1", 5.0f, 95, &f->av1),
                     BACSC_OK);
    assert_int_equal(bacsc_device_add_analog_value(f->dev, 2, "AV-2", 0.0f, 95, &f->av2),
                     BACSC_OK);
    assert_int_equal(bacsc_analog_value_set_commandable(f->av2, false), BACSC_OK);
    bacsc_sc_port_config pc;
    bacsc_sc_port_config_defaults(&pc);
    strcpy(pc.primary_hub_uri, "wss://127.0.0.1:4443");
    assert_int_equal(bacsc_device_add_netport_sc(f->dev, 1, "SC", &pc, NULL, NULL), BACSC_OK);
    bacsc_client_config cc = {0};
    f->cl = fdl_host_client(f->cn, &cc);
    f->now = 1000;
    return f;
}

static void fx_free(fx *f)
{
    fdl_free_hosted(&f->net);
    free(f);
}

FIXTURE_SETUP(setup, fx_new(true, NULL))
FIXTURE_SETUP(setup_norestart_pw, fx_new(false, "pw"))
FIXTURE_TEARDOWN(teardown, fx_free)

static bt_result request(fx *f, uint8_t service, const uint8_t *p, size_t n)
{
    bt_result res;
    memset(&res, 0, sizeof res);
    bacsc_address a = fdl_addr(f->dn);
    assert_true(bacsc_client_request(f->cl, &a, service, p, n, bt_on_done, &res, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    return res;
}

static bt_result rp(fx *f, uint16_t type, uint32_t inst, uint32_t prop)
{
    uint8_t buf[32];
    bacsc_rp_request req = {{type, inst}, prop, false, 0};
    int n = bacsc_rp_request_encode(buf, sizeof buf, &req);
    assert_true(n > 0);
    return request(f, BACSC_SERVICE_READ_PROPERTY, buf, (size_t)n);
}

static bacsc_value rp_value(fx *f, uint16_t type, uint32_t inst, uint32_t prop, bt_result *keep)
{
    *keep = rp(f, type, inst, prop);
    assert_int_equal(keep->count, 1);
    assert_int_equal(keep->r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    bacsc_rp_ack ack;
    assert_true(bacsc_rp_ack_decode(keep->ack, keep->ack_len, &ack, NULL) > 0);
    bacsc_value v;
    assert_true(bacsc_value_decode(ack.value, ack.value_len, &v) > 0);
    return v;
}

static bt_result wp_real(fx *f, uint32_t inst, float v, uint8_t prio)
{
    uint8_t val[8], buf[64];
    int m = bacsc_app_encode_real(val, sizeof val, v);
    bacsc_wp_request req = {{BACSC_OBJ_ANALOG_VALUE, inst}, BACSC_PROP_PRESENT_VALUE, false, 0,
                            val, (size_t)m, prio != 0, prio};
    int n = bacsc_wp_request_encode(buf, sizeof buf, &req);
    assert_true(n > 0);
    return request(f, BACSC_SERVICE_WRITE_PROPERTY, buf, (size_t)n);
}

static void expect_error(const bt_result *r, uint16_t cls, uint16_t code)
{
    assert_int_equal(r->count, 1);
    assert_int_equal(r->r.outcome, BACSC_CLIENT_ERROR);
    assert_int_equal(r->r.error_class, cls);
    assert_int_equal(r->r.error_code, code);
}

static bool has_id(const uint8_t *v, size_t len, uint32_t prop)
{
    bacsc_value vals[64];
    int n = bacsc_values_decode(v, len, vals, 64);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++)
        if (vals[i].v.enumerated == prop)
            return true;
    return false;
}

static bool in_property_list(fx *f, uint16_t type, uint32_t inst, uint32_t prop)
{
    bt_result r = rp(f, type, inst, BACSC_PROP_PROPERTY_LIST);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    bacsc_rp_ack ack;
    assert_true(bacsc_rp_ack_decode(r.ack, r.ack_len, &ack, NULL) > 0);
    return has_id(ack.value, ack.value_len, prop);
}

/* Property ids an RPM of `which` (ALL/REQUIRED/OPTIONAL) returns for an object. */
static bool rpm_group_has(fx *f, uint16_t type, uint32_t inst, uint32_t which, uint32_t prop)
{
    bacsc_rpm_ref ref = {which, false, 0};
    bacsc_rpm_spec spec = {{type, inst}, &ref, 1};
    bt_result r;
    memset(&r, 0, sizeof r);
    bacsc_address a = fdl_addr(f->dn);
    assert_true(
        bacsc_client_read_property_multiple(f->cl, &a, &spec, 1, bt_on_done, &r, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    bacsc_rpm_iter it;
    bacsc_rpm_iter_init(&it, r.ack, r.ack_len, true);
    bacsc_object_id oid;
    bacsc_rpm_result res;
    bool found = false;
    while (bacsc_rpm_next_object(&it, &oid, NULL) == 1)
        while (bacsc_rpm_next_result(&it, &res, NULL) == 1)
            found = found || res.property == prop;
    return found;
}

/* ---- 5.4.5.1: confirmed requests received as a broadcast are ignored ---------- */

static void test_broadcast_confirmed_ignored(void **state)
{
    fx *f = *state;
    /* ReadProperty device,1001 object-name, invoke id 7 */
    const uint8_t apdu[] = {0x00, 0x05, 0x07, 0x0C, 0x0C, 0x02, 0x00, 0x03, 0xE9, 0x19, 0x4D};
    uint8_t npdu[64];
    size_t n = fdl_npdu(npdu, sizeof npdu, apdu, sizeof apdu);
    bacsc_address src = fdl_addr(f->cn);
    bacsc_device_stats st0, st1;
    bacsc_device_get_stats(f->dev, &st0);
    /* received as a datalink broadcast (B/IP broadcast, SC broadcast VMAC) */
    assert_int_equal(bacsc_device_handle_npdu_rx(f->dev, &src, npdu, n, true, f->now), BACSC_OK);
    assert_int_equal(fdl_queued(&f->net), 0);
    /* DNET 0xFFFF (global broadcast) on a unicast frame */
    uint8_t g[64] = {0x01, 0x24, 0xFF, 0xFF, 0x00, 0xFF};
    memcpy(g + 6, apdu, sizeof apdu);
    assert_int_equal(bacsc_device_handle_npdu(f->dev, &src, g, 6 + sizeof apdu, f->now), BACSC_OK);
    assert_int_equal(fdl_queued(&f->net), 0);
    /* a broken confirmed request as a broadcast: no Reject either */
    const uint8_t bad[] = {0x00, 0x05, 0x08, 0x0C, 0x0C};
    n = fdl_npdu(npdu, sizeof npdu, bad, sizeof bad);
    bacsc_device_handle_npdu_rx(f->dev, &src, npdu, n, true, f->now);
    assert_int_equal(fdl_queued(&f->net), 0);
    bacsc_device_get_stats(f->dev, &st1);
    assert_int_equal(st1.dropped, st0.dropped + 3);
    assert_int_equal(st1.requests, st0.requests);
    /* the same request unicast is answered */
    n = fdl_npdu(npdu, sizeof npdu, apdu, sizeof apdu);
    bacsc_device_handle_npdu_rx(f->dev, &src, npdu, n, false, f->now);
    assert_int_equal(fdl_queued(&f->net), 1);
    /* a Who-Is as a broadcast is still answered */
    uint8_t wi[] = {0x01, 0x00, 0x10, 0x08};
    fdl_frame fr;
    fdl_take(&f->net, &fr);
    bacsc_device_handle_npdu_rx(f->dev, &src, wi, sizeof wi, true, f->now);
    assert_int_equal(fdl_queued(&f->net), 1);
}

/* ---- command prioritisation ------------------------------------------------------ */

static void test_priority_6_refused(void **state)
{
    fx *f = *state;
    bt_result r = wp_real(f, 1, 42.0f, 6);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_WRITE_ACCESS_DENIED);
    bt_result k;
    assert_true(rp_value(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_PRESENT_VALUE, &k).v.real ==
                5.0f);
    /* priority range: 0 and 17 are out of range */
    const uint8_t p17[] = {0x0C, 0x00, 0x80, 0x00, 0x01, 0x19, 0x55, 0x3E, 0x44,
                           0x3F, 0x80, 0x00, 0x00, 0x3F, 0x49, 0x11};
    r = request(f, BACSC_SERVICE_WRITE_PROPERTY, p17, sizeof p17);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_REJECT);
    assert_int_equal(r.r.reason, BACSC_REJECT_PARAMETER_OUT_OF_RANGE);
    r = wp_real(f, 1, 1.0f, 5);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
}

static void test_current_command_priority(void **state)
{
    fx *f = *state;
    bt_result k;
    bacsc_value v = rp_value(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_CURRENT_COMMAND_PRIORITY, &k);
    assert_int_equal(v.type, BACSC_TAG_NULL);
    assert_int_equal(wp_real(f, 1, 7.0f, 9).r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(wp_real(f, 1, 8.0f, 12).r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    v = rp_value(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_CURRENT_COMMAND_PRIORITY, &k);
    assert_int_equal(v.type, BACSC_TAG_UNSIGNED);
    assert_int_equal(v.v.unsigned_, 9);
    assert_true(in_property_list(f, BACSC_OBJ_ANALOG_VALUE, 1,
                                 BACSC_PROP_CURRENT_COMMAND_PRIORITY));
}

static void test_property_groups_follow_configuration(void **state)
{
    fx *f = *state;
    static const uint32_t cmd_props[] = {BACSC_PROP_PRIORITY_ARRAY, BACSC_PROP_RELINQUISH_DEFAULT,
                                         BACSC_PROP_CURRENT_COMMAND_PRIORITY};
    for (int i = 0; i < 3; i++) {
        uint32_t p = cmd_props[i];
        /* commandable AV-1: in REQUIRED, in Property_List, not in OPTIONAL */
        assert_true(rpm_group_has(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_REQUIRED, p));
        assert_false(rpm_group_has(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_OPTIONAL, p));
        assert_true(in_property_list(f, BACSC_OBJ_ANALOG_VALUE, 1, p));
        /* AV-2 is not commandable: absent everywhere, unknown-property */
        assert_false(rpm_group_has(f, BACSC_OBJ_ANALOG_VALUE, 2, BACSC_PROP_ALL, p));
        assert_false(in_property_list(f, BACSC_OBJ_ANALOG_VALUE, 2, p));
        bt_result r = rp(f, BACSC_OBJ_ANALOG_VALUE, 2, p);
        expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
    }
    /* a non-commandable value takes any priority as the value */
    assert_int_equal(wp_real(f, 2, 3.5f, 6).r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    bt_result k;
    assert_true(rp_value(f, BACSC_OBJ_ANALOG_VALUE, 2, BACSC_PROP_PRESENT_VALUE, &k).v.real ==
                3.5f);
}

/* ---- claims --------------------------------------------------------------------- */

static bool service_bit(fx *f, unsigned bit)
{
    bt_result k;
    bacsc_value v =
        rp_value(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_PROTOCOL_SERVICES_SUPPORTED, &k);
    assert_int_equal(v.type, BACSC_TAG_BIT_STRING);
    return v.v.bits.data[bit / 8] & (0x80 >> (bit % 8));
}

static int nf_size(void *u, uint32_t i, uint64_t *s)
{
    (void)u;
    (void)i;
    *s = 0;
    return 0;
}

static void test_claims_match_objects(void **state)
{
    fx *f = *state;
    /* no File object: no AtomicReadFile (6) / AtomicWriteFile (7) */
    assert_false(service_bit(f, 6));
    assert_false(service_bit(f, 7));
    assert_true(service_bit(f, 12));
    assert_true(service_bit(f, 17));    /* deviceCommunicationControl */
    assert_true(service_bit(f, 33));    /* who-Has */
    bacsc_file_ops ops = {.size = nf_size};
    assert_int_equal(bacsc_device_add_file(f->dev, 1, "f", "application/octet-stream", true, true,
                                           &ops, NULL),
                     BACSC_OK);
    assert_true(service_bit(f, 6));
    assert_true(service_bit(f, 7));
    /* the port has no certificate files: the references are left out */
    assert_false(in_property_list(f, BACSC_OBJ_NETWORK_PORT, 1,
                                  BACSC_PROP_OPERATIONAL_CERTIFICATE_FILE));
    assert_false(in_property_list(f, BACSC_OBJ_NETWORK_PORT, 1,
                                  BACSC_PROP_ISSUER_CERTIFICATE_FILES));
    bt_result r = rp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_CERTIFICATE_SIGNING_REQUEST_FILE);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
    assert_false(rpm_group_has(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_ALL,
                               BACSC_PROP_OPERATIONAL_CERTIFICATE_FILE));
}

/* ---- DeviceCommunicationControl --------------------------------------------------- */

static bt_result dcc(fx *f, uint8_t st, int minutes, const char *pw)
{
    bacsc_dcc_request d = {.state = st};
    if (minutes >= 0) {
        d.has_duration = true;
        d.duration_min = (uint16_t)minutes;
    }
    if (pw) {
        d.has_password = true;
        d.password = (bacsc_charstring){BACSC_CHARSET_UTF8, (const uint8_t *)pw, strlen(pw)};
    }
    uint8_t buf[64];
    int n = bacsc_dcc_request_encode(buf, sizeof buf, &d);
    assert_true(n > 0);
    bacsc_dcc_request back;
    assert_int_equal(bacsc_dcc_request_decode(buf, (size_t)n, &back, NULL), n);
    return request(f, BACSC_SERVICE_DEVICE_COMMUNICATION_CONTROL, buf, (size_t)n);
}

static void test_dcc(void **state)
{
    fx *f = *state;
    expect_error((const bt_result[]){dcc(f, BACSC_DCC_DISABLE, -1, "wrong")},
                 BACSC_ERROR_CLASS_SECURITY, BACSC_EC_PASSWORD_FAILURE);
    expect_error((const bt_result[]){dcc(f, BACSC_DCC_DISABLE, -1, NULL)},
                 BACSC_ERROR_CLASS_SECURITY, BACSC_EC_PASSWORD_FAILURE);
    assert_int_equal(dcc(f, BACSC_DCC_DISABLE, 2, "pw").r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    /* disabled: ReadProperty and Who-Is go unanswered */
    bt_result r;
    memset(&r, 0, sizeof r);
    uint8_t buf[32];
    bacsc_rp_request req = {{BACSC_OBJ_DEVICE, INSTANCE}, BACSC_PROP_OBJECT_NAME, false, 0};
    int n = bacsc_rp_request_encode(buf, sizeof buf, &req);
    bacsc_address a = fdl_addr(f->dn);
    assert_true(bacsc_client_request(f->cl, &a, BACSC_SERVICE_READ_PROPERTY, buf, (size_t)n,
                                     bt_on_done, &r, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    assert_int_equal(r.count, 0);
    assert_int_equal(bacsc_client_whois(f->cl, NULL, NULL, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    assert_int_equal(bacsc_client_device_count(f->cl), 0);
    assert_int_equal(bacsc_device_send_iam(f->dev, NULL, f->now), BACSC_ERR_STATE);
    /* after the 2 minutes everything is answered again */
    f->now += 2 * MIN_US;
    bacsc_client_handle_expiry(f->cl, f->now);
    fdl_pump(&f->net, f->now);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    /* disable-initiation: answers, but no I-Am of its own accord */
    assert_int_equal(dcc(f, BACSC_DCC_DISABLE_INITIATION, -1, "pw").r.outcome,
                     BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(bacsc_device_send_iam(f->dev, NULL, f->now), BACSC_ERR_STATE);
    assert_int_equal(rp(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_OBJECT_NAME).r.outcome,
                     BACSC_CLIENT_COMPLEX_ACK);
    assert_int_equal(bacsc_client_whois(f->cl, NULL, NULL, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    assert_int_equal(bacsc_client_device_count(f->cl), 1);
    /* enable */
    assert_int_equal(dcc(f, BACSC_DCC_ENABLE, -1, "pw").r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(bacsc_device_send_iam(f->dev, NULL, f->now), BACSC_OK);
    /* an undefined enable-disable value is rejected */
    const uint8_t bad[] = {0x19, 0x03};
    r = request(f, BACSC_SERVICE_DEVICE_COMMUNICATION_CONTROL, bad, sizeof bad);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_REJECT);
    assert_int_equal(r.r.reason, BACSC_REJECT_UNDEFINED_ENUMERATION);
}

/* ---- Who-Has / I-Have ---------------------------------------------------------------- */

static bool whohas(fx *f, const bacsc_whohas *w, bacsc_ihave *out)
{
    uint8_t body[96], apdu[128], npdu[160];
    int n = bacsc_whohas_encode(body, sizeof body, w);
    assert_true(n > 0);
    bacsc_whohas back;
    assert_int_equal(bacsc_whohas_decode(body, (size_t)n, &back, NULL), n);
    int m = bacsc_encode_unconfirmed(apdu, sizeof apdu, BACSC_SERVICE_WHO_HAS, body, (size_t)n);
    size_t k = fdl_npdu(npdu, sizeof npdu, apdu, (size_t)m);
    bacsc_address src = fdl_addr(f->cn);
    bacsc_device_handle_npdu_rx(f->dev, &src, npdu, k, true, f->now);
    fdl_frame fr;
    if (!fdl_take(&f->net, &fr))
        return false;
    assert_int_equal(fr.dest.mac_len, 0);   /* I-Have is broadcast */
    bacsc_apdu ap;
    fdl_frame_apdu(&fr, &ap);
    assert_int_equal(ap.type, BACSC_PDU_UNCONFIRMED_REQUEST);
    assert_int_equal(ap.service, BACSC_SERVICE_I_HAVE);
    assert_true(bacsc_ihave_decode(ap.data, ap.data_len, out, NULL) > 0);
    static uint8_t name[BACSC_DEVICE_NAME_MAX];  /* the frame goes away */
    assert_true(out->name.len <= sizeof name);
    memcpy(name, out->name.data, out->name.len);
    out->name.data = name;
    return true;
}

static void test_whohas(void **state)
{
    fx *f = *state;
    bacsc_ihave h;
    bacsc_whohas w = {.by_name = true,
                      .name = {BACSC_CHARSET_UTF8, (const uint8_t *)"AV-2", 4}};
    assert_true(whohas(f, &w, &h));
    assert_int_equal(h.device.instance, INSTANCE);
    assert_int_equal(h.object.type, BACSC_OBJ_ANALOG_VALUE);
    assert_int_equal(h.object.instance, 2);
    assert_int_equal(h.name.len, 4);
    assert_memory_equal(h.name.data, "AV-2", 4);
    w = (bacsc_whohas){.object = {BACSC_OBJ_NETWORK_PORT, 1}};
    assert_true(whohas(f, &w, &h));
    assert_int_equal(h.name.len, 2);
    /* unknown name / id, out of range: silence */
    w = (bacsc_whohas){.by_name = true, .name = {BACSC_CHARSET_UTF8, (const uint8_t *)"AV-9", 4}};
    assert_false(whohas(f, &w, &h));
    w = (bacsc_whohas){.object = {BACSC_OBJ_ANALOG_VALUE, 77}};
    assert_false(whohas(f, &w, &h));
    w = (bacsc_whohas){.has_range = true, .low = 1, .high = 1000,
                       .object = {BACSC_OBJ_ANALOG_VALUE, 1}};
    assert_false(whohas(f, &w, &h));
    w.high = 1001;
    assert_true(whohas(f, &w, &h));
}

/* ---- ReinitializeDevice cold/warm start ----------------------------------------------- */

static bt_result reinit(fx *f, uint8_t st, const char *pw)
{
    bacsc_reinit_request r = {.state = st};
    if (pw) {
        r.has_password = true;
        r.password = (bacsc_charstring){BACSC_CHARSET_UTF8, (const uint8_t *)pw, strlen(pw)};
    }
    uint8_t buf[64];
    int n = bacsc_reinit_request_encode(buf, sizeof buf, &r);
    return request(f, BACSC_SERVICE_REINITIALIZE_DEVICE, buf, (size_t)n);
}

static void test_restart_callback(void **state)
{
    fx *f = *state;
    bt_result k;
    bacsc_value v = rp_value(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_LAST_RESTART_REASON, &k);
    assert_int_equal(v.type, BACSC_TAG_ENUMERATED);
    assert_int_equal(v.v.enumerated, BACSC_RESTART_UNKNOWN);
    assert_int_equal(reinit(f, BACSC_REINIT_WARMSTART, NULL).r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(f->restarts, 1);
    assert_int_equal(f->restart_state, BACSC_REINIT_WARMSTART);
    bacsc_datetime when;
    bacsc_datetime_from_unix(1767225600, 0, &when); /* 2026-01-01 00:00 */
    bacsc_device_restarted(f->dev, BACSC_RESTART_WARMSTART, &when);
    v = rp_value(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_LAST_RESTART_REASON, &k);
    assert_int_equal(v.v.enumerated, BACSC_RESTART_WARMSTART);
    k = rp(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_TIME_OF_DEVICE_RESTART);
    bacsc_rp_ack ack;
    assert_true(bacsc_rp_ack_decode(k.ack, k.ack_len, &ack, NULL) > 0);
    /* [2] { Date 2026-01-01 (Thursday), Time 00:00:00.00 } */
    const uint8_t want[] = {0x2E, 0xA4, 126, 1, 1, 4, 0xB4, 0, 0, 0, 0, 0x2F};
    assert_int_equal(ack.value_len, sizeof want);
    assert_memory_equal(ack.value, want, sizeof want);
    assert_int_equal(reinit(f, BACSC_REINIT_COLDSTART, NULL).r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(f->restart_state, BACSC_REINIT_COLDSTART);
    expect_error((const bt_result[]){reinit(f, BACSC_REINIT_START_BACKUP, NULL)},
                 BACSC_ERROR_CLASS_SERVICES, BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED);
}

static void test_restart_refused_without_runtime(void **state)
{
    fx *f = *state;
    /* nobody can restart this device: never ACK a restart that does not happen */
    expect_error((const bt_result[]){reinit(f, BACSC_REINIT_WARMSTART, "pw")},
                 BACSC_ERROR_CLASS_SERVICES, BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED);
    expect_error((const bt_result[]){reinit(f, BACSC_REINIT_COLDSTART, "pw")},
                 BACSC_ERROR_CLASS_SERVICES, BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED);
    expect_error((const bt_result[]){reinit(f, BACSC_REINIT_COLDSTART, "nope")},
                 BACSC_ERROR_CLASS_SECURITY, BACSC_EC_PASSWORD_FAILURE);
    assert_int_equal(reinit(f, BACSC_REINIT_ACTIVATE_CHANGES, "pw").r.outcome,
                     BACSC_CLIENT_SIMPLE_ACK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_broadcast_confirmed_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_6_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_current_command_priority, setup, teardown),
        cmocka_unit_test_setup_teardown(test_property_groups_follow_configuration, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_claims_match_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dcc, setup_norestart_pw, teardown),
        cmocka_unit_test_setup_teardown(test_whohas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_refused_without_runtime, setup_norestart_pw,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
