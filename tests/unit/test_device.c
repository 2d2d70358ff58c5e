/*
 * test_device.c — the BACnet device server, driven by a real client over
 * the in-memory datalink (support_fake_datalink.c), and by hand-built
 * NPDUs for the malformed and unusual paths.
 */
#include <math.h>
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
#define SEC 1000000ull

/* ---- fixture ------------------------------------------------------------------ */

typedef struct memfile {
    uint8_t data[4096];
    size_t size;
} memfile;

typedef struct fx {
    fdl_net net;
    fdl_node *dn;              /* device node */
    fdl_node *cn;              /* client node */
    bacsc_device *dev;
    bacsc_client *cl;
    bacsc_object *av1;
    bacsc_object *port;
    memfile files[3];
    int reinit_calls;
    uint8_t reinit_state;
    int written_calls;
    uint64_t now;
} fx;

static int mf_size(void *user, uint32_t inst, uint64_t *size)
{
    fx *f = user;
    if (inst >= 3)
        return BACSC_ERR_NOT_FOUND;
    *size = f->files[inst].size;
    return 0;
}

static int mf_read(void *user, uint32_t inst, uint64_t off, size_t count, uint8_t *buf,
                   size_t *n, bool *eof)
{
    fx *f = user;
    memfile *m = &f->files[inst];
    size_t avail = off < m->size ? m->size - (size_t)off : 0;
    *n = count < avail ? count : avail;
    memcpy(buf, m->data + off, *n);
    *eof = off + *n >= m->size;
    return 0;
}

static int mf_write(void *user, uint32_t inst, uint64_t off, const uint8_t *data, size_t len)
{
    fx *f = user;
    memfile *m = &f->files[inst];
    if (off + len > sizeof m->data)
        return BACSC_ERR_LIMIT;
    memcpy(m->data + off, data, len);
    if (off + len > m->size)
        m->size = (size_t)(off + len);
    return 0;
}

static int mf_set_size(void *user, uint32_t inst, uint64_t size)
{
    fx *f = user;
    if (size > sizeof f->files[inst].data)
        return BACSC_ERR_LIMIT;
    f->files[inst].size = (size_t)size;
    return 0;
}

static int on_reinit(void *user, bacsc_device *dev, uint8_t state, bacsc_error *err)
{
    fx *f = user;
    f->reinit_calls++;
    f->reinit_state = state;
    if (state == BACSC_REINIT_START_BACKUP) {
        err->error_class = BACSC_ERROR_CLASS_SERVICES;
        err->error_code = BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED;
        return -1;
    }
    if (state == BACSC_REINIT_ACTIVATE_CHANGES)
        bacsc_netport_sc_changes_applied(f->port);
    (void)dev;
    return 0;
}

static void on_written(void *user, bacsc_device *dev, bacsc_object *obj, uint32_t prop)
{
    fx *f = user;
    (void)dev;
    (void)obj;
    (void)prop;
    f->written_calls++;
}

static fx *fx_new(const char *password)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fdl_init(&f->net);
    f->dn = fdl_add_node(&f->net, 1);
    f->cn = fdl_add_node(&f->net, 2);
    bacsc_device_config dc = {.instance = INSTANCE};
    dc.name = "Test Device";
    dc.vendor_name = "bacsc project";
    dc.vendor_id = 999;
    dc.model_name = "bacsc-test";
    dc.firmware_revision = "1.2.3";
    dc.application_software_version = "0.1.0";
    dc.description = "unit test device";
    dc.location = "lab";
    for (int i = 0; i < 16; i++)
        dc.uuid[i] = (uint8_t)(0xA0 + i);
    dc.reinit_password = password;
    dc.cb.reinitialize = on_reinit;
    dc.cb.written = on_written;
    dc.cb.user = f;
    f->dev = fdl_host_device(f->dn, &dc);
    assert_int_equal(bacsc_device_add_analog_value(f->dev, 1, "AV 1", 20.0f, 62, &f->av1),
                     BACSC_OK);
    assert_int_equal(bacsc_device_add_analog_value(f->dev, 2, "AV 2", 0.0f, 95, NULL), BACSC_OK);
    bacsc_sc_port_config pc;
    bacsc_sc_port_config_defaults(&pc);
    strcpy(pc.primary_hub_uri, "wss://127.0.0.1:4443");
    strcpy(pc.failover_hub_uri, "wss://127.0.0.1:4444");
    pc.operational_certificate_file = 0;
    pc.issuer_certificate_files[0] = 1;
    pc.certificate_signing_request_file = 2;
    assert_int_equal(bacsc_device_add_netport_sc(f->dev, 1, "SC port", &pc, NULL, &f->port),
                     BACSC_OK);
    bacsc_file_ops ops = {mf_size, mf_read, mf_write, mf_set_size, f, NULL};
    assert_int_equal(bacsc_device_add_file(f->dev, 0, "operational-cert", "application/x-pem-file",
                                           false, true, &ops, NULL),
                     BACSC_OK);
    assert_int_equal(
        bacsc_device_add_file(f->dev, 1, "issuer-cert", "application/x-pem-file", true, true, &ops,
                              NULL),
        BACSC_OK);
    assert_int_equal(bacsc_device_add_file(f->dev, 2, "csr", "application/pkcs10", false, false,
                                           &ops, NULL),
                     BACSC_OK);
    bacsc_client_config cc = {.apdu_timeout_us = 3 * SEC, .retries = 2, .retries_set = true};
    f->cl = fdl_host_client(f->cn, &cc);
    f->now = 1000;
    return f;
}

static void fx_free(fx *f)
{
    fdl_free_hosted(&f->net);
    free(f);
}

FIXTURE_SETUP(setup, fx_new(NULL))
FIXTURE_SETUP(setup_pw, fx_new("secret"))
FIXTURE_TEARDOWN(teardown, fx_free)

static bacsc_address dev_addr(fx *f)
{
    return fdl_addr(f->dn);
}

/* ReadProperty through the client; returns the result. */
static bt_result rp(fx *f, uint16_t type, uint32_t inst, uint32_t prop, uint32_t index)
{
    bt_result res;
    memset(&res, 0, sizeof res);
    bacsc_rp_request req = {{type, inst}, prop, index != BACSC_ARRAY_ALL, index};
    bacsc_address a = dev_addr(f);
    assert_true(bacsc_client_read_property(f->cl, &a, &req, bt_on_done, &res, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    assert_int_equal(res.count, 1);
    return res;
}

/* The value octets of a ReadProperty-ACK result. */
static bacsc_rp_ack rp_value(const bt_result *res)
{
    assert_int_equal(res->r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    bacsc_rp_ack ack;
    assert_true(bacsc_rp_ack_decode(res->ack, res->ack_len, &ack, NULL) > 0);
    return ack;
}

static bacsc_value rp_single(fx *f, uint16_t type, uint32_t inst, uint32_t prop, uint32_t index,
                             bt_result *keep)
{
    *keep = rp(f, type, inst, prop, index);
    bacsc_rp_ack ack = rp_value(keep);
    bacsc_value v;
    int n = bacsc_value_decode(ack.value, ack.value_len, &v);
    assert_true(n > 0);
    assert_int_equal((size_t)n, ack.value_len);
    return v;
}

static void expect_error(const bt_result *res, uint16_t cls, uint16_t code)
{
    assert_int_equal(res->r.outcome, BACSC_CLIENT_ERROR);
    assert_int_equal(res->r.error_class, cls);
    assert_int_equal(res->r.error_code, code);
}

static bt_result wp(fx *f, uint16_t type, uint32_t inst, uint32_t prop, uint32_t index,
                 const uint8_t *val, size_t val_len, uint8_t priority)
{
    bt_result res;
    memset(&res, 0, sizeof res);
    bacsc_wp_request req = {{type, inst}, prop, index != BACSC_ARRAY_ALL, index, val, val_len,
                            priority != 0, priority};
    bacsc_address a = dev_addr(f);
    assert_true(bacsc_client_write_property(f->cl, &a, &req, bt_on_done, &res, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    assert_int_equal(res.count, 1);
    return res;
}

static bt_result wp_real(fx *f, uint32_t inst, float v, uint8_t priority)
{
    uint8_t buf[8];
    int n = bacsc_app_encode_real(buf, sizeof buf, v);
    return wp(f, BACSC_OBJ_ANALOG_VALUE, inst, BACSC_PROP_PRESENT_VALUE, BACSC_ARRAY_ALL, buf,
              (size_t)n, priority);
}

static bt_result wp_null(fx *f, uint32_t inst, uint8_t priority)
{
    uint8_t buf[2];
    int n = bacsc_app_encode_null(buf, sizeof buf);
    return wp(f, BACSC_OBJ_ANALOG_VALUE, inst, BACSC_PROP_PRESENT_VALUE, BACSC_ARRAY_ALL, buf,
              (size_t)n, priority);
}

/* AtomicReadFile / AtomicWriteFile through the client; returns the result. */
static bt_result arf(fx *f, const bacsc_arf_request *rq)
{
    bt_result res;
    memset(&res, 0, sizeof res);
    bacsc_address a = dev_addr(f);
    assert_true(bacsc_client_atomic_read_file(f->cl, &a, rq, bt_on_done, &res, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    assert_int_equal(res.count, 1);
    return res;
}

static bt_result awf(fx *f, const bacsc_awf_request *w)
{
    bt_result res;
    memset(&res, 0, sizeof res);
    bacsc_address a = dev_addr(f);
    assert_true(bacsc_client_atomic_write_file(f->cl, &a, w, bt_on_done, &res, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    assert_int_equal(res.count, 1);
    return res;
}

static float av_pv(fx *f, uint32_t inst)
{
    bt_result keep;
    bacsc_value v = rp_single(f, BACSC_OBJ_ANALOG_VALUE, inst, BACSC_PROP_PRESENT_VALUE,
                              BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.type, BACSC_TAG_REAL);
    return v.v.real;
}

/* Send raw APDU bytes to the device; return the single answer frame (or
 * false when the device stayed silent). */
static bool raw_request(fx *f, const uint8_t *apdu, size_t len, fdl_frame *out)
{
    fdl_apdu_to(f->cn, f->dn, apdu, len, f->now);
    if (fdl_queued(&f->net) == 0)
        return false;
    assert_true(fdl_take(&f->net, out));
    assert_int_equal(fdl_queued(&f->net), 0);   /* exactly one answer */
    return true;
}

/* The device's single answer to raw APDU bytes, decoded into *a (which
 * points into *keep). */
static void raw_answer(fx *f, const uint8_t *apdu, size_t len, fdl_frame *keep, bacsc_apdu *a)
{
    assert_true(raw_request(f, apdu, len, keep));
    fdl_frame_apdu(keep, a);
}

/* ... which must be a Reject of request `invoke` for `reason`. */
static void expect_reject(fx *f, const uint8_t *apdu, size_t len, uint8_t invoke, uint8_t reason)
{
    fdl_frame fr;
    bacsc_apdu a;
    raw_answer(f, apdu, len, &fr, &a);
    assert_int_equal(a.type, BACSC_PDU_REJECT);
    assert_int_equal(a.invoke_id, invoke);
    assert_int_equal(a.reason, reason);
}

/* ---- Who-Is / I-Am ------------------------------------------------------------ */

static void test_whois_iam(void **state)
{
    fx *f = *state;
    assert_int_equal(bacsc_client_whois(f->cl, NULL, NULL, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    assert_int_equal(bacsc_client_device_count(f->cl), 1);
    const bacsc_client_device *d = bacsc_client_find_device(f->cl, INSTANCE);
    assert_non_null(d);
    assert_int_equal(d->max_apdu, 1476);
    assert_int_equal(d->segmentation, BACSC_SEGMENTATION_BOTH);
    assert_int_equal(d->vendor_id, 999);
    bacsc_address a = dev_addr(f);
    assert_true(bacsc_address_equal(&d->address, &a));
}

static void test_whois_range(void **state)
{
    fx *f = *state;
    bacsc_whois w = {true, 1002, 2000};
    assert_int_equal(bacsc_client_whois(f->cl, NULL, &w, f->now), BACSC_OK);
    fdl_pump(&f->net, f->now);
    assert_int_equal(bacsc_client_device_count(f->cl), 0);
    w.low = 1001;
    w.high = 1001;
    assert_int_equal(bacsc_client_whois(f->cl, NULL, &w, f->now), BACSC_OK);
    /* The I-Am is a broadcast. */
    fdl_frame fr;
    assert_true(fdl_take(&f->net, &fr));          /* the Who-Is itself */
    bacsc_address src = fdl_addr(f->cn);
    assert_int_equal(bacsc_device_handle_npdu(f->dev, &src, fr.data, fr.len, f->now), BACSC_OK);
    assert_true(fdl_take(&f->net, &fr));
    assert_int_equal(fr.dest.mac_len, 0);
    bacsc_apdu ap;
    fdl_frame_apdu(&fr, &ap);
    assert_int_equal(ap.type, BACSC_PDU_UNCONFIRMED_REQUEST);
    assert_int_equal(ap.service, BACSC_SERVICE_I_AM);
    /* The device hands an I-Am to the caller (for a client). */
    assert_int_equal(bacsc_device_handle_npdu(f->dev, &src, fr.data, fr.len, f->now),
                     BACSC_ERR_NOT_FOUND);
}

/* ---- ReadProperty --------------------------------------------------------------- */

static const uint32_t device_props[] = {
    BACSC_PROP_OBJECT_IDENTIFIER, BACSC_PROP_OBJECT_NAME, BACSC_PROP_OBJECT_TYPE,
    BACSC_PROP_SYSTEM_STATUS, BACSC_PROP_VENDOR_NAME, BACSC_PROP_VENDOR_IDENTIFIER,
    BACSC_PROP_MODEL_NAME, BACSC_PROP_FIRMWARE_REVISION, BACSC_PROP_APPLICATION_SOFTWARE_VERSION,
    BACSC_PROP_PROTOCOL_VERSION, BACSC_PROP_PROTOCOL_REVISION,
    BACSC_PROP_PROTOCOL_SERVICES_SUPPORTED, BACSC_PROP_PROTOCOL_OBJECT_TYPES_SUPPORTED,
    BACSC_PROP_OBJECT_LIST, BACSC_PROP_MAX_APDU_LENGTH_ACCEPTED,
    BACSC_PROP_SEGMENTATION_SUPPORTED, BACSC_PROP_APDU_TIMEOUT, BACSC_PROP_NUMBER_OF_APDU_RETRIES,
    BACSC_PROP_DEVICE_ADDRESS_BINDING, BACSC_PROP_DATABASE_REVISION, BACSC_PROP_PROPERTY_LIST,
    BACSC_PROP_DESCRIPTION, BACSC_PROP_LOCATION, BACSC_PROP_DEVICE_UUID,
};

static void test_rp_every_device_property(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < sizeof device_props / sizeof device_props[0]; i++) {
        bt_result res = rp(f, BACSC_OBJ_DEVICE, INSTANCE, device_props[i], BACSC_ARRAY_ALL);
        bacsc_rp_ack ack = rp_value(&res);
        assert_int_equal(ack.property, device_props[i]);
        assert_int_equal(ack.object.type, BACSC_OBJ_DEVICE);
        assert_int_equal(ack.object.instance, INSTANCE);
        if (device_props[i] != BACSC_PROP_DEVICE_ADDRESS_BINDING)
            assert_true(ack.value_len > 0);
    }
    bt_result keep;
    bacsc_value v;
    v = rp_single(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_OBJECT_NAME, BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.type, BACSC_TAG_CHARACTER_STRING);
    assert_int_equal(v.v.chars.len, strlen("Test Device"));
    assert_memory_equal(v.v.chars.data, "Test Device", v.v.chars.len);
    v = rp_single(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_VENDOR_IDENTIFIER, BACSC_ARRAY_ALL,
                  &keep);
    assert_int_equal(v.v.unsigned_, 999);
    v = rp_single(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_DEVICE_UUID, BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.type, BACSC_TAG_OCTET_STRING);
    assert_int_equal(v.v.octets.len, 16);
    assert_int_equal(v.v.octets.data[0], 0xA0);
    assert_int_equal(v.v.octets.data[15], 0xAF);
    v = rp_single(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_SEGMENTATION_SUPPORTED,
                  BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.type, BACSC_TAG_ENUMERATED);
    assert_int_equal(v.v.enumerated, BACSC_SEGMENTATION_BOTH);
    v = rp_single(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_PROTOCOL_SERVICES_SUPPORTED,
                  BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.type, BACSC_TAG_BIT_STRING);
    /* readProperty is bit 12: octet 1, mask 0x08. */
    assert_true(v.v.bits.data[1] & 0x08);
    /* who-Is, bit 34: octet 4, mask 0x20. */
    assert_true(v.v.bits.data[4] & 0x20);
    /* subscribeCOV, bit 5, not supported. */
    assert_false(v.v.bits.data[0] & 0x04);
    /* the wildcard instance names the local device */
    v = rp_single(f, BACSC_OBJ_DEVICE, BACSC_WILDCARD_INSTANCE, BACSC_PROP_OBJECT_IDENTIFIER,
                  BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.v.oid.instance, INSTANCE);
}

static void test_rp_object_list(void **state)
{
    fx *f = *state;
    bt_result keep;
    bacsc_value v = rp_single(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_OBJECT_LIST, 0, &keep);
    assert_int_equal(v.type, BACSC_TAG_UNSIGNED);
    assert_int_equal(v.v.unsigned_, 7);   /* device, 2 AV, port, 3 files */
    v = rp_single(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_OBJECT_LIST, 1, &keep);
    assert_int_equal(v.type, BACSC_TAG_OBJECT_ID);
    assert_int_equal(v.v.oid.type, BACSC_OBJ_DEVICE);
    v = rp_single(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_OBJECT_LIST, 2, &keep);
    assert_int_equal(v.v.oid.type, BACSC_OBJ_ANALOG_VALUE);
    assert_int_equal(v.v.oid.instance, 1);
    bt_result all = rp(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_OBJECT_LIST, BACSC_ARRAY_ALL);
    bacsc_rp_ack ack = rp_value(&all);
    bacsc_value vals[16];
    assert_int_equal(bacsc_values_decode(ack.value, ack.value_len, vals, 16), 7);
    bt_result bad = rp(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_OBJECT_LIST, 8);
    expect_error(&bad, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_INVALID_ARRAY_INDEX);
    bt_result na = rp(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_VENDOR_NAME, 1);
    expect_error(&na, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_PROPERTY_IS_NOT_AN_ARRAY);
    /* Database_Revision follows the table */
    v = rp_single(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_DATABASE_REVISION, BACSC_ARRAY_ALL,
                  &keep);
    uint64_t rev = v.v.unsigned_;
    assert_int_equal(bacsc_device_remove_object(f->dev, BACSC_OBJ_ANALOG_VALUE, 2), BACSC_OK);
    v = rp_single(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_DATABASE_REVISION, BACSC_ARRAY_ALL,
                  &keep);
    assert_int_equal(v.v.unsigned_, rev + 1);
    v = rp_single(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_OBJECT_LIST, 0, &keep);
    assert_int_equal(v.v.unsigned_, 6);
}

static void test_rp_errors(void **state)
{
    fx *f = *state;
    bt_result r = rp(f, BACSC_OBJ_ANALOG_VALUE, 99, BACSC_PROP_PRESENT_VALUE, BACSC_ARRAY_ALL);
    expect_error(&r, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_UNKNOWN_OBJECT);
    r = rp(f, BACSC_OBJ_ANALOG_INPUT, 1, BACSC_PROP_PRESENT_VALUE, BACSC_ARRAY_ALL);
    expect_error(&r, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_UNKNOWN_OBJECT);
    r = rp(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_VENDOR_NAME, BACSC_ARRAY_ALL);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
    r = rp(f, BACSC_OBJ_DEVICE, INSTANCE, 4000000, BACSC_ARRAY_ALL);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
    r = rp(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_ALL, BACSC_ARRAY_ALL);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
}

static void test_property_list(void **state)
{
    fx *f = *state;
    bt_result r = rp(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_PROPERTY_LIST, BACSC_ARRAY_ALL);
    bacsc_rp_ack ack = rp_value(&r);
    bacsc_value vals[32];
    int n = bacsc_values_decode(ack.value, ack.value_len, vals, 32);
    assert_int_equal(n, 9);   /* 13 listed - 4 common + Description */
    for (int i = 0; i < n; i++) {
        assert_int_equal(vals[i].type, BACSC_TAG_ENUMERATED);
        assert_int_not_equal(vals[i].v.enumerated, BACSC_PROP_OBJECT_NAME);
        assert_int_not_equal(vals[i].v.enumerated, BACSC_PROP_PROPERTY_LIST);
    }
}

/* ---- ReadPropertyMultiple -------------------------------------------------------- */

static bt_result rpm(fx *f, const bacsc_rpm_spec *specs, size_t n)
{
    bt_result res;
    memset(&res, 0, sizeof res);
    bacsc_address a = dev_addr(f);
    assert_true(
        bacsc_client_read_property_multiple(f->cl, &a, specs, n, bt_on_done, &res, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    assert_int_equal(res.count, 1);
    return res;
}

/* Count results of an RPM ACK; errors into *errors. */
static int rpm_count(const bt_result *res, int *errors, bacsc_rpm_result *first_error)
{
    assert_int_equal(res->r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    bacsc_rpm_iter it;
    bacsc_rpm_iter_init(&it, res->ack, res->ack_len, true);
    bacsc_object_id oid;
    bacsc_rpm_result rr;
    int count = 0, rc;
    *errors = 0;
    while ((rc = bacsc_rpm_next_object(&it, &oid, NULL)) == 1) {
        while ((rc = bacsc_rpm_next_result(&it, &rr, NULL)) == 1) {
            count++;
            if (rr.is_error) {
                if (*errors == 0 && first_error)
                    *first_error = rr;
                (*errors)++;
            }
        }
        assert_int_equal(rc, 0);
    }
    assert_int_equal(rc, 0);
    return count;
}

static void test_rpm_all(void **state)
{
    fx *f = *state;
    bacsc_rpm_ref all = {BACSC_PROP_ALL, false, 0};
    bacsc_rpm_spec spec = {{BACSC_OBJ_DEVICE, INSTANCE}, &all, 1};
    bt_result r = rpm(f, &spec, 1);
    int errors;
    assert_int_equal(rpm_count(&r, &errors, NULL), 28);
    assert_int_equal(errors, 0);
    bacsc_rpm_ref req = {BACSC_PROP_REQUIRED, false, 0};
    spec.refs = &req;
    r = rpm(f, &spec, 1);
    assert_int_equal(rpm_count(&r, &errors, NULL), 21);
    bacsc_rpm_ref opt = {BACSC_PROP_OPTIONAL, false, 0};
    spec.refs = &opt;
    r = rpm(f, &spec, 1);
    assert_int_equal(rpm_count(&r, &errors, NULL), 7);
    /* ALL of the Network Port and an Analog Value in one request */
    bacsc_rpm_spec two[2] = {{{BACSC_OBJ_NETWORK_PORT, 1}, &all, 1},
                             {{BACSC_OBJ_ANALOG_VALUE, 1}, &all, 1}};
    r = rpm(f, two, 2);
    assert_int_equal(rpm_count(&r, &errors, NULL), 30 + 12 + 13); /* + SC connection lists, validation result, site domain */
    assert_int_equal(errors, 0);
    /* every File property reads */
    bacsc_rpm_spec files[3] = {{{BACSC_OBJ_FILE, 0}, &all, 1},
                               {{BACSC_OBJ_FILE, 1}, &all, 1},
                               {{BACSC_OBJ_FILE, 2}, &all, 1}};
    r = rpm(f, files, 3);
    assert_int_equal(rpm_count(&r, &errors, NULL), 30);
    assert_int_equal(errors, 0);
}

static void test_rpm_per_property_errors(void **state)
{
    fx *f = *state;
    bacsc_rpm_ref refs[3] = {{BACSC_PROP_PRESENT_VALUE, false, 0},
                             {BACSC_PROP_VENDOR_NAME, false, 0},
                             {BACSC_PROP_PRIORITY_ARRAY, true, 17}};
    bacsc_rpm_ref one = {BACSC_PROP_PRESENT_VALUE, false, 0};
    bacsc_rpm_spec specs[2] = {{{BACSC_OBJ_ANALOG_VALUE, 1}, refs, 3},
                               {{BACSC_OBJ_ANALOG_VALUE, 77}, &one, 1}};
    bt_result r = rpm(f, specs, 2);
    int errors;
    bacsc_rpm_result e;
    assert_int_equal(rpm_count(&r, &errors, &e), 4);
    assert_int_equal(errors, 3);
    assert_int_equal(e.property, BACSC_PROP_VENDOR_NAME);
    assert_int_equal(e.error_class, BACSC_ERROR_CLASS_PROPERTY);
    assert_int_equal(e.error_code, BACSC_EC_UNKNOWN_PROPERTY);
}

static void test_rpm_malformed_rejected(void **state)
{
    fx *f = *state;
    /* RPM with an empty property list: missing-required-parameter */
    uint8_t apdu[64];
    size_t n = bt_hex("02 05 07 0e 0c 02 00 03 e9 1e 1f", apdu, sizeof apdu);
    expect_reject(f, apdu, n, 7, BACSC_REJECT_MISSING_REQUIRED_PARAMETER);
}

/* ---- WriteProperty ---------------------------------------------------------------- */

static void test_wp_priority_round_trip(void **state)
{
    fx *f = *state;
    assert_true(fabsf(av_pv(f, 1) - 20.0f) < 1e-6f);
    bt_result r = wp_real(f, 1, 42.5f, 8);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_true(av_pv(f, 1) == 42.5f);
    r = wp_real(f, 1, 10.0f, 0);   /* no priority = 16 */
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_true(av_pv(f, 1) == 42.5f);
    bt_result keep;
    bacsc_value v = rp_single(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_PRIORITY_ARRAY, 8, &keep);
    assert_int_equal(v.type, BACSC_TAG_REAL);
    assert_true(v.v.real == 42.5f);
    v = rp_single(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_PRIORITY_ARRAY, 1, &keep);
    assert_int_equal(v.type, BACSC_TAG_NULL);
    v = rp_single(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_PRIORITY_ARRAY, 0, &keep);
    assert_int_equal(v.v.unsigned_, 16);
    r = wp_null(f, 1, 8);   /* relinquish 8 → the level-16 value */
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_true(av_pv(f, 1) == 10.0f);
    r = wp_null(f, 1, 16);  /* relinquish 16 → Relinquish_Default */
    assert_true(av_pv(f, 1) == 20.0f);
    /* Relinquish_Default is writable */
    uint8_t buf[8];
    int n = bacsc_app_encode_real(buf, sizeof buf, 5.0f);
    r = wp(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_RELINQUISH_DEFAULT, BACSC_ARRAY_ALL, buf,
           (size_t)n, 0);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_true(av_pv(f, 1) == 5.0f);
    float local;
    assert_int_equal(bacsc_analog_value_get(f->av1, &local), BACSC_OK);
    assert_true(local == 5.0f);
    assert_true(f->written_calls >= 5);
}

static void test_wp_errors(void **state)
{
    fx *f = *state;
    uint8_t buf[16];
    int n;
    /* unknown object */
    bt_result r = wp_real(f, 9, 1.0f, 0);
    expect_error(&r, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_UNKNOWN_OBJECT);
    /* unknown property */
    n = bacsc_app_encode_real(buf, sizeof buf, 1.0f);
    r = wp(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_VENDOR_NAME, BACSC_ARRAY_ALL, buf, (size_t)n,
           0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
    /* write-access-denied: Object_Type, Status_Flags, Device Vendor_Name */
    n = bacsc_app_encode_enumerated(buf, sizeof buf, 2);
    r = wp(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_OBJECT_TYPE, BACSC_ARRAY_ALL, buf, (size_t)n,
           0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_WRITE_ACCESS_DENIED);
    n = bacsc_app_encode_char_string(buf, sizeof buf, "x", 1);
    r = wp(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_VENDOR_NAME, BACSC_ARRAY_ALL, buf, (size_t)n,
           0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_WRITE_ACCESS_DENIED);
    /* invalid data type: Unsigned into a REAL; two values */
    n = bacsc_app_encode_unsigned(buf, sizeof buf, 5);
    r = wp(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_PRESENT_VALUE, BACSC_ARRAY_ALL, buf, (size_t)n,
           0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_INVALID_DATA_TYPE);
    n = bacsc_app_encode_real(buf, sizeof buf, 1.0f);
    n += bacsc_app_encode_real(buf + n, sizeof buf - (size_t)n, 2.0f);
    r = wp(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_PRESENT_VALUE, BACSC_ARRAY_ALL, buf, (size_t)n,
           0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_INVALID_DATA_TYPE);
    /* value out of range: NaN; a reconnect time of 1 s */
    r = wp_real(f, 1, NAN, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
    n = bacsc_app_encode_unsigned(buf, sizeof buf, 1);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_MINIMUM_RECONNECT_TIME, BACSC_ARRAY_ALL,
           buf, (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
    /* invalid array index / not an array */
    n = bacsc_app_encode_char_string(buf, sizeof buf, "wss://h:1", 9);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_HUB_FUNCTION_ACCEPT_URIS, 3, buf,
           (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_INVALID_ARRAY_INDEX);
    n = bacsc_app_encode_real(buf, sizeof buf, 1.0f);
    r = wp(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_PRESENT_VALUE, 1, buf, (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_PROPERTY_IS_NOT_AN_ARRAY);
    /* Priority_Array is not writable directly */
    r = wp(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_PRIORITY_ARRAY, 3, buf, (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_WRITE_ACCESS_DENIED);
    /* nothing above changed the value */
    assert_true(av_pv(f, 1) == 20.0f);
}

static void test_wp_object_name(void **state)
{
    fx *f = *state;
    uint8_t buf[32];
    int n = bacsc_app_encode_char_string(buf, sizeof buf, "AV 2", 4);
    bt_result r = wp(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_OBJECT_NAME, BACSC_ARRAY_ALL, buf,
                  (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, 48 /* duplicate-name */);
    n = bacsc_app_encode_char_string(buf, sizeof buf, "Supply temp", 11);
    r = wp(f, BACSC_OBJ_ANALOG_VALUE, 1, BACSC_PROP_OBJECT_NAME, BACSC_ARRAY_ALL, buf, (size_t)n,
           0);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_string_equal(f->av1->name, "Supply temp");
}

static void test_wp_priority_out_of_range_rejected(void **state)
{
    fx *f = *state;
    /* WriteProperty AV,1 PV REAL 1.0 priority 17: the decoder rejects it. */
    uint8_t apdu[64];
    size_t n = bt_hex("02 05 09 0f 0c 00 80 00 01 19 55 3e 44 3f 80 00 00 3f 49 11", apdu,
                      sizeof apdu);
    expect_reject(f, apdu, n, 9, BACSC_REJECT_PARAMETER_OUT_OF_RANGE);
}

/* ---- Reject / Abort / drops ------------------------------------------------------- */

static void test_unknown_service_rejected(void **state)
{
    fx *f = *state;
    /* SubscribeCOV (5) — not supported */
    uint8_t apdu[] = {0x00, 0x05, 0x21, 0x05, 0x09, 0x01};
    expect_reject(f, apdu, sizeof apdu, 0x21, BACSC_REJECT_UNRECOGNIZED_SERVICE);
    /* service 200 — unknown number */
    uint8_t apdu2[] = {0x00, 0x05, 0x22, 200};
    expect_reject(f, apdu2, sizeof apdu2, 0x22, BACSC_REJECT_UNRECOGNIZED_SERVICE);
}

static void test_malformed_request_rejected(void **state)
{
    fx *f = *state;
    /* ReadProperty without the property identifier */
    uint8_t apdu[] = {0x00, 0x05, 0x01, 0x0C, 0x0C, 0x02, 0x00, 0x03, 0xE9};
    expect_reject(f, apdu, sizeof apdu, 1, BACSC_REJECT_MISSING_REQUIRED_PARAMETER);
    /* ReadProperty with trailing octets */
    uint8_t apdu2[] = {0x00, 0x05, 0x02, 0x0C, 0x0C, 0x02, 0x00, 0x03, 0xE9, 0x19, 0x4D, 0x21, 0x01};
    expect_reject(f, apdu2, sizeof apdu2, 2, BACSC_REJECT_TOO_MANY_ARGUMENTS);
    /* ReadProperty with an application tag where context [0] belongs */
    uint8_t apdu3[] = {0x00, 0x05, 0x03, 0x0C, 0xC4, 0x02, 0x00, 0x03, 0xE9, 0x19, 0x4D};
    expect_reject(f, apdu3, sizeof apdu3, 3, BACSC_REJECT_INVALID_TAG);
    /* a reserved max-APDU code in the header: the decoder's reject */
    uint8_t apdu4[] = {0x00, 0x0F, 0x04, 0x0C, 0x0C, 0x02, 0x00, 0x03, 0xE9, 0x19, 0x4D};
    expect_reject(f, apdu4, sizeof apdu4, 4, BACSC_REJECT_PARAMETER_OUT_OF_RANGE);
}

static void test_response_too_large_aborted(void **state)
{
    fx *f = *state;
    /* RPM device ALL with max-APDU 50 (code 0) */
    uint8_t apdu[] = {0x00, 0x00, 0x31, 0x0E, 0x0C, 0x02, 0x00, 0x03, 0xE9, 0x1E, 0x09, 0x08, 0x1F};
    fdl_frame fr;
    bacsc_apdu a;
    raw_answer(f, apdu, sizeof apdu, &fr, &a);
    assert_int_equal(a.type, BACSC_PDU_ABORT);
    assert_true(a.server);
    assert_int_equal(a.invoke_id, 0x31);
    assert_int_equal(a.reason, BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED);
    /* the same with max-APDU 1476 is answered */
    apdu[1] = 0x05;
    raw_answer(f, apdu, sizeof apdu, &fr, &a);
    assert_int_equal(a.type, BACSC_PDU_COMPLEX_ACK);
    assert_int_equal(a.service, BACSC_SERVICE_READ_PROPERTY_MULTIPLE);
}

static void test_answer_bounded_by_link_max_npdu(void **state)
{
    fx *f = *state;
    /* RPM device ALL (354-octet answer) over a link that carries 200 */
    uint8_t apdu[] = {0x00, 0x05, 0x32, 0x0E, 0x0C, 0x02, 0x00, 0x03, 0xE9, 0x1E, 0x09, 0x08, 0x1F};
    bacsc_device_set_max_npdu(f->dev, 200);
    fdl_frame fr;
    bacsc_apdu a;
    raw_answer(f, apdu, sizeof apdu, &fr, &a);
    assert_int_equal(a.type, BACSC_PDU_ABORT);
    assert_int_equal(a.reason, BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED);
    /* a ReadProperty still fits */
    uint8_t rp[] = {0x00, 0x05, 0x33, 0x0C, 0x0C, 0x02, 0x00, 0x03, 0xE9, 0x19, 0x4D};
    raw_answer(f, rp, sizeof rp, &fr, &a);
    assert_int_equal(a.type, BACSC_PDU_COMPLEX_ACK);
    assert_true(fr.len <= 200);
    bacsc_device_set_max_npdu(f->dev, 0);
    raw_answer(f, apdu, sizeof apdu, &fr, &a);
    assert_int_equal(a.type, BACSC_PDU_COMPLEX_ACK);
}

/* A segmented request of one segment: Segment-ACK (SRV set), then the
 * answer (more in test_device_segrx.c). */
static void test_segmented_request_single_segment(void **state)
{
    fx *f = *state;
    uint8_t apdu[] = {0x08, 0x05, 0x41, 0x00, 0x04, 0x0C, 0x0C, 0x02, 0x00, 0x03, 0xE9, 0x19, 0x4D};
    fdl_apdu_to(f->cn, f->dn, apdu, sizeof apdu, f->now);
    fdl_frame fr;
    bacsc_apdu a;
    assert_true(fdl_next_apdu(&f->net, &fr, &a));
    assert_int_equal(a.type, BACSC_PDU_SEGMENT_ACK);
    assert_true(a.server);
    assert_int_equal(a.invoke_id, 0x41);
    assert_int_equal(a.sequence_number, 0);
    assert_true(fdl_next_apdu(&f->net, &fr, &a));
    assert_int_equal(a.type, BACSC_PDU_COMPLEX_ACK);
    assert_int_equal(a.invoke_id, 0x41);
    assert_int_equal(fdl_queued(&f->net), 0);
}

static void test_silent_drops(void **state)
{
    fx *f = *state;
    fdl_frame fr;
    bacsc_address src = fdl_addr(f->cn);
    /* unknown unconfirmed service (Who-Has 7 is not served) */
    uint8_t u1[] = {0x10, 0x07, 0x3D, 0x01, 0x41};
    assert_false(raw_request(f, u1, sizeof u1, &fr));
    /* unconfirmed service 99 */
    uint8_t u2[] = {0x10, 99};
    assert_false(raw_request(f, u2, sizeof u2, &fr));
    /* a truncated confirmed request (no invoke id) */
    uint8_t u3[] = {0x00, 0x05};
    assert_false(raw_request(f, u3, sizeof u3, &fr));
    /* a malformed Who-Is */
    uint8_t u4[] = {0x10, 0x08, 0x09};
    assert_false(raw_request(f, u4, sizeof u4, &fr));
    /* a SimpleACK is for a client */
    uint8_t ack[] = {0x01, 0x00, 0x20, 0x05, 0x0F};
    assert_int_equal(bacsc_device_handle_npdu(f->dev, &src, ack, sizeof ack, f->now),
                     BACSC_ERR_NOT_FOUND);
    /* a network-layer message (Who-Is-Router-To-Network) */
    uint8_t nl[] = {0x01, 0x80, 0x00};
    assert_int_equal(bacsc_device_handle_npdu(f->dev, &src, nl, sizeof nl, f->now), BACSC_OK);
    /* an NPDU for a remote network */
    uint8_t rn[] = {0x01, 0x24, 0x00, 0x05, 0x00, 0xFF, 0x00, 0x05, 0x01, 0x0C, 0x0C,
                    0x02, 0x00, 0x03, 0xE9, 0x19, 0x4D};
    assert_int_equal(bacsc_device_handle_npdu(f->dev, &src, rn, sizeof rn, f->now), BACSC_OK);
    /* a bad NPDU version */
    uint8_t bv[] = {0x02, 0x00, 0x10, 0x08};
    assert_int_equal(bacsc_device_handle_npdu(f->dev, &src, bv, sizeof bv, f->now),
                     BACSC_ERR_MALFORMED);
    assert_int_equal(fdl_queued(&f->net), 0);
    bacsc_device_stats st;
    bacsc_device_get_stats(f->dev, &st);
    assert_true(st.dropped >= 3);
}

static void test_routed_request_answered_through_router(void **state)
{
    fx *f = *state;
    /* RP from network 5, station 0x0A, via router MAC = client node */
    uint8_t npdu[] = {0x01, 0x0C, 0x00, 0x05, 0x01, 0x0A, 0x00, 0x05, 0x01, 0x0C, 0x0C,
                      0x02, 0x00, 0x03, 0xE9, 0x19, 0x4D};
    bacsc_address src = fdl_addr(f->cn);
    assert_int_equal(bacsc_device_handle_npdu(f->dev, &src, npdu, sizeof npdu, f->now), BACSC_OK);
    fdl_frame fr;
    assert_true(fdl_take(&f->net, &fr));
    assert_true(bacsc_address_equal(&(bacsc_address){.mac_len = fr.dest.mac_len,
                                                     .mac = {fr.dest.mac[0], fr.dest.mac[1],
                                                             fr.dest.mac[2], fr.dest.mac[3],
                                                             fr.dest.mac[4], fr.dest.mac[5]}},
                                    &src));
    assert_int_equal(fr.dest.net, 5);
    bacsc_npdu n;
    assert_true(bacsc_npdu_decode(fr.data, fr.len, &n) > 0);
    assert_true(n.has_dnet);
    assert_int_equal(n.dnet, 5);
    assert_int_equal(n.dlen, 1);
    assert_int_equal(n.dadr[0], 0x0A);
}

/* ---- ReinitializeDevice -------------------------------------------------------------- */

static bt_result reinit(fx *f, uint8_t st, const char *pw)
{
    bt_result res;
    memset(&res, 0, sizeof res);
    bacsc_reinit_request r;
    memset(&r, 0, sizeof r);
    r.state = st;
    if (pw) {
        r.has_password = true;
        r.password.charset = BACSC_CHARSET_UTF8;
        r.password.data = (const uint8_t *)pw;
        r.password.len = strlen(pw);
    }
    bacsc_address a = dev_addr(f);
    assert_true(bacsc_client_reinitialize(f->cl, &a, &r, bt_on_done, &res, f->now) >= 0);
    fdl_pump(&f->net, f->now);
    assert_int_equal(res.count, 1);
    return res;
}

static void test_reinit_password(void **state)
{
    fx *f = *state;
    bt_result r = reinit(f, BACSC_REINIT_WARMSTART, NULL);
    expect_error(&r, BACSC_ERROR_CLASS_SECURITY, BACSC_EC_PASSWORD_FAILURE);
    r = reinit(f, BACSC_REINIT_WARMSTART, "wrong");
    expect_error(&r, BACSC_ERROR_CLASS_SECURITY, BACSC_EC_PASSWORD_FAILURE);
    r = reinit(f, BACSC_REINIT_WARMSTART, "secretsecret");
    expect_error(&r, BACSC_ERROR_CLASS_SECURITY, BACSC_EC_PASSWORD_FAILURE);
    assert_int_equal(f->reinit_calls, 0);
    /* three failures: the source is refused for a second, even with the right password */
    r = reinit(f, BACSC_REINIT_WARMSTART, "secret");
    expect_error(&r, BACSC_ERROR_CLASS_SECURITY, BACSC_EC_PASSWORD_FAILURE);
    assert_int_equal(f->reinit_calls, 0);
    f->now += 1100000; /* 1.1 s later */
    r = reinit(f, BACSC_REINIT_WARMSTART, "secret");
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(f->reinit_calls, 1);
    assert_int_equal(f->reinit_state, BACSC_REINIT_WARMSTART);
    r = reinit(f, BACSC_REINIT_START_BACKUP, "secret");
    expect_error(&r, BACSC_ERROR_CLASS_SERVICES, BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED);
}

static void test_reinit_undefined_state_rejected(void **state)
{
    fx *f = *state;
    uint8_t apdu[] = {0x00, 0x05, 0x51, 0x14, 0x09, 0x08};
    fdl_frame fr;
    bacsc_apdu a;
    raw_answer(f, apdu, sizeof apdu, &fr, &a);
    assert_int_equal(a.type, BACSC_PDU_REJECT);
    assert_int_equal(a.reason, BACSC_REJECT_UNDEFINED_ENUMERATION);
}

/* ---- Network Port ---------------------------------------------------------------------- */

static void test_netport_live_state(void **state)
{
    fx *f = *state;
    bt_result keep;
    bacsc_value v = rp_single(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_NETWORK_TYPE,
                              BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.v.enumerated, 11);
    v = rp_single(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_HUB_CONNECTOR_STATE,
                  BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.v.enumerated, BACSC_SC_NO_HUB_CONNECTION);
    bacsc_sc_port_state *s = bacsc_netport_sc_state(f->port);
    assert_non_null(s);
    s->connector_state = BACSC_SC_CONNECTED_TO_FAILOVER;
    s->max_npdu_len = 1497;
    s->max_bvlc_len = 1604;
    s->primary.state = BACSC_SC_FAILED_TO_CONNECT;
    s->primary.error_class = 7;
    s->primary.error_code = 194;
    strcpy(s->primary.error_details, "refused");
    s->primary.disconnect_time = (bacsc_datetime){{126, 11, 26, 4}, {8, 30, 0, 0}};
    v = rp_single(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_HUB_CONNECTOR_STATE,
                  BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.v.enumerated, BACSC_SC_CONNECTED_TO_FAILOVER);
    v = rp_single(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_MAX_BVLC_LENGTH_ACCEPTED,
                  BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.v.unsigned_, 1604);
    bt_result r = rp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_PRIMARY_HUB_CONNECTION_STATUS,
                  BACSC_ARRAY_ALL);
    bacsc_rp_ack ack = rp_value(&r);
    /* [0] 3, [1]{date time}, [2]{date time}, [3]{class, code}, [4] "refused" */
    uint8_t expect[64];
    size_t en = bt_hex("09 03 1e a4 ff ff ff ff b4 ff ff ff ff 1f 2e a4 7e 0b 1a 04 b4 08 1e 00 "
                       "00 2f 3e 91 07 91 c2 3f 4d 08 00 72 65 66 75 73 65 64",
                       expect, sizeof expect);
    assert_int_equal(ack.value_len, en);
    assert_memory_equal(ack.value, expect, en);
    /* the certificate file references */
    v = rp_single(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_CERTIFICATE_SIGNING_REQUEST_FILE,
                  BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.v.oid.type, BACSC_OBJ_FILE);
    assert_int_equal(v.v.oid.instance, 2);
    v = rp_single(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_ISSUER_CERTIFICATE_FILES, 2, &keep);
    assert_int_equal(v.v.oid.instance, BACSC_MAX_INSTANCE);
}

static void test_netport_pending_and_activate(void **state)
{
    fx *f = *state;
    uint8_t buf[64];
    bt_result keep;
    bacsc_value v = rp_single(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_CHANGES_PENDING,
                              BACSC_ARRAY_ALL, &keep);
    assert_false(v.v.boolean);
    int n = bacsc_app_encode_char_string(buf, sizeof buf, "wss://10.0.0.1:443", 18);
    bt_result r = wp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_PRIMARY_HUB_URI, BACSC_ARRAY_ALL,
                  buf, (size_t)n, 0);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    v = rp_single(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_CHANGES_PENDING, BACSC_ARRAY_ALL,
                  &keep);
    assert_true(v.v.boolean);
    assert_string_equal(bacsc_netport_sc_active(f->port)->primary_hub_uri, "wss://127.0.0.1:4443");
    assert_string_equal(bacsc_netport_sc_pending(f->port)->primary_hub_uri, "wss://10.0.0.1:443");
    /* a non-websocket URI and an empty primary are refused */
    n = bacsc_app_encode_char_string(buf, sizeof buf, "http://x", 8);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_PRIMARY_HUB_URI, BACSC_ARRAY_ALL, buf,
           (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
    n = bacsc_app_encode_char_string(buf, sizeof buf, "", 0);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_PRIMARY_HUB_URI, BACSC_ARRAY_ALL, buf,
           (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
    /* max reconnect below min is refused */
    n = bacsc_app_encode_unsigned(buf, sizeof buf, 30);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_MINIMUM_RECONNECT_TIME, BACSC_ARRAY_ALL,
           buf, (size_t)n, 0);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    n = bacsc_app_encode_unsigned(buf, sizeof buf, 20);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_MAXIMUM_RECONNECT_TIME, BACSC_ARRAY_ALL,
           buf, (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
    /* Command: unsupported without a callback; discard-changes works */
    n = bacsc_app_encode_enumerated(buf, sizeof buf, BACSC_NPC_GENERATE_CSR_FILE);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_COMMAND, BACSC_ARRAY_ALL, buf, (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
    /* activate-changes applies (through the reinit callback) */
    r = reinit(f, BACSC_REINIT_ACTIVATE_CHANGES, NULL);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_false(bacsc_netport_sc_changes_pending(f->port));
    assert_string_equal(bacsc_netport_sc_active(f->port)->primary_hub_uri, "wss://10.0.0.1:443");
    assert_int_equal(bacsc_netport_sc_active(f->port)->min_reconnect_time, 30);
    /* a write then discard-changes */
    n = bacsc_app_encode_unsigned(buf, sizeof buf, 120);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_HEARTBEAT_TIMEOUT, BACSC_ARRAY_ALL, buf,
           (size_t)n, 0);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_true(bacsc_netport_sc_changes_pending(f->port));
    n = bacsc_app_encode_enumerated(buf, sizeof buf, BACSC_NPC_DISCARD_CHANGES);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_COMMAND, BACSC_ARRAY_ALL, buf, (size_t)n, 0);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_false(bacsc_netport_sc_changes_pending(f->port));
    assert_int_equal(bacsc_netport_sc_pending(f->port)->heartbeat_timeout, 60);
    /* accept URIs: whole-array write */
    n = bacsc_app_encode_char_string(buf, sizeof buf, "wss://a:1", 9);
    n += bacsc_app_encode_char_string(buf + n, sizeof buf - (size_t)n, "wss://b:2", 9);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_HUB_FUNCTION_ACCEPT_URIS, BACSC_ARRAY_ALL,
           buf, (size_t)n, 0);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    v = rp_single(f, BACSC_OBJ_NETWORK_PORT, 1, BACSC_PROP_SC_HUB_FUNCTION_ACCEPT_URIS, 0, &keep);
    assert_int_equal(v.v.unsigned_, 2);
}

static int cmd_calls;
static uint8_t cmd_last;

static int on_command(void *user, bacsc_object *port, uint8_t cmd, bacsc_error *err)
{
    (void)user;
    (void)port;
    cmd_calls++;
    cmd_last = cmd;
    if (cmd == BACSC_NPC_RESTART_DISCOVERY) {
        err->error_class = BACSC_ERROR_CLASS_PROPERTY;
        err->error_code = BACSC_EC_VALUE_OUT_OF_RANGE;
        return -1;
    }
    return 0;
}

static void test_netport_command_callback(void **state)
{
    fx *f = *state;
    bacsc_netport_callbacks cb = {.command = on_command};
    bacsc_object *p2;
    assert_int_equal(bacsc_device_add_netport_sc(f->dev, 2, "SC port 2", NULL, &cb, &p2),
                     BACSC_OK);
    cmd_calls = 0;
    uint8_t buf[8];
    int n = bacsc_app_encode_enumerated(buf, sizeof buf, BACSC_NPC_GENERATE_CSR_FILE);
    bt_result r = wp(f, BACSC_OBJ_NETWORK_PORT, 2, BACSC_PROP_COMMAND, BACSC_ARRAY_ALL, buf,
                  (size_t)n, 0);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(cmd_calls, 1);
    assert_int_equal(cmd_last, BACSC_NPC_GENERATE_CSR_FILE);
    bt_result keep;
    bacsc_value v = rp_single(f, BACSC_OBJ_NETWORK_PORT, 2, BACSC_PROP_COMMAND, BACSC_ARRAY_ALL,
                              &keep);
    assert_int_equal(v.v.enumerated, BACSC_NPC_GENERATE_CSR_FILE);
    /* a second command while one runs: busy */
    n = bacsc_app_encode_enumerated(buf, sizeof buf, BACSC_NPC_VALIDATE_CHANGES);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 2, BACSC_PROP_COMMAND, BACSC_ARRAY_ALL, buf, (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_DEVICE, BACSC_EC_BUSY);
    bacsc_netport_sc_command_done(p2);
    v = rp_single(f, BACSC_OBJ_NETWORK_PORT, 2, BACSC_PROP_COMMAND, BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.v.enumerated, BACSC_NPC_IDLE);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 2, BACSC_PROP_COMMAND, BACSC_ARRAY_ALL, buf, (size_t)n, 0);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    bacsc_netport_sc_command_done(p2);
    /* the callback's own error is answered */
    n = bacsc_app_encode_enumerated(buf, sizeof buf, BACSC_NPC_RESTART_DISCOVERY);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 2, BACSC_PROP_COMMAND, BACSC_ARRAY_ALL, buf, (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
    v = rp_single(f, BACSC_OBJ_NETWORK_PORT, 2, BACSC_PROP_COMMAND, BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.v.enumerated, BACSC_NPC_IDLE);
    /* wrong type */
    n = bacsc_app_encode_unsigned(buf, sizeof buf, 8);
    r = wp(f, BACSC_OBJ_NETWORK_PORT, 2, BACSC_PROP_COMMAND, BACSC_ARRAY_ALL, buf, (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_INVALID_DATA_TYPE);
}

/* ---- Files ------------------------------------------------------------------------------ */

static void test_file_write_read(void **state)
{
    fx *f = *state;
    bt_result res;
    const char *pem = "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n";
    bacsc_awf_request w = {{BACSC_OBJ_FILE, 0}, BACSC_FILE_STREAM, 0, 0,
                           (const uint8_t *)pem, strlen(pem)};
    res = awf(f, &w);
    assert_int_equal(res.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
    bacsc_awf_ack wa;
    assert_true(bacsc_awf_ack_decode(res.ack, res.ack_len, &wa, NULL) > 0);
    assert_int_equal(wa.start, 0);
    /* append with -1 */
    w.start = -1;
    w.data = (const uint8_t *)"X";
    w.data_len = 1;
    res = awf(f, &w);
    assert_true(bacsc_awf_ack_decode(res.ack, res.ack_len, &wa, NULL) > 0);
    assert_int_equal(wa.start, (int32_t)strlen(pem));
    /* read it back in two pieces */
    bacsc_arf_request rq = {{BACSC_OBJ_FILE, 0}, BACSC_FILE_STREAM, 0, 10};
    res = arf(f, &rq);
    bacsc_arf_ack ra;
    assert_true(bacsc_arf_ack_decode(res.ack, res.ack_len, &ra, NULL) > 0);
    assert_false(ra.end_of_file);
    assert_int_equal(ra.data_len, 10);
    assert_memory_equal(ra.data, pem, 10);
    rq.start = 10;
    rq.count = 1000;
    res = arf(f, &rq);
    assert_true(bacsc_arf_ack_decode(res.ack, res.ack_len, &ra, NULL) > 0);
    assert_true(ra.end_of_file);
    assert_int_equal(ra.data_len, strlen(pem) + 1 - 10);
    /* File_Size follows; writing 0 truncates */
    bt_result keep;
    bacsc_value v = rp_single(f, BACSC_OBJ_FILE, 0, BACSC_PROP_FILE_SIZE, BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.v.unsigned_, strlen(pem) + 1);
    uint8_t buf[8];
    int n = bacsc_app_encode_unsigned(buf, sizeof buf, 0);
    bt_result r = wp(f, BACSC_OBJ_FILE, 0, BACSC_PROP_FILE_SIZE, BACSC_ARRAY_ALL, buf, (size_t)n, 0);
    assert_int_equal(r.r.outcome, BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(f->files[0].size, 0);
}

static void test_file_errors(void **state)
{
    fx *f = *state;
    bt_result res;
    /* read-only file refuses writes */
    bacsc_awf_request w = {{BACSC_OBJ_FILE, 1}, BACSC_FILE_STREAM, 0, 0, (const uint8_t *)"x", 1};
    res = awf(f, &w);
    expect_error(&res, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_FILE_ACCESS_DENIED);
    /* unreadable file refuses reads */
    bacsc_arf_request rq = {{BACSC_OBJ_FILE, 2}, BACSC_FILE_STREAM, 0, 10};
    res = arf(f, &rq);
    expect_error(&res, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_FILE_ACCESS_DENIED);
    /* start beyond the end */
    rq.file.instance = 0;
    rq.start = 5;
    res = arf(f, &rq);
    expect_error(&res, BACSC_ERROR_CLASS_SERVICES, BACSC_EC_INVALID_FILE_START_POSITION);
    /* record access */
    rq.access = BACSC_FILE_RECORD;
    rq.start = 0;
    res = arf(f, &rq);
    expect_error(&res, BACSC_ERROR_CLASS_SERVICES, BACSC_EC_INVALID_FILE_ACCESS_METHOD);
    /* unknown file; not a file */
    rq.access = BACSC_FILE_STREAM;
    rq.file.instance = 9;
    res = arf(f, &rq);
    expect_error(&res, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_UNKNOWN_OBJECT);
    /* a request larger than one APDU: the answer comes in segments */
    rq.file.instance = 0;
    rq.count = 5000;
    res = arf(f, &rq);
    assert_int_equal(res.r.outcome, BACSC_CLIENT_COMPLEX_ACK);
}

/* ---- plugging in an object type ---------------------------------------------------------- */

static const uint32_t cs_required[] = {BACSC_PROP_OBJECT_IDENTIFIER, BACSC_PROP_OBJECT_NAME,
                                       BACSC_PROP_OBJECT_TYPE,       BACSC_PROP_PRESENT_VALUE,
                                       BACSC_PROP_STATUS_FLAGS,      BACSC_PROP_PROPERTY_LIST,
                                       BACSC_PROPERTY_LIST_END};

static int cs_read(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_ref *ref, uint8_t *buf,
                   size_t cap, bacsc_error *err)
{
    (void)dev;
    if (bacsc_prop_check_not_array(ref, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    if (ref->property == BACSC_PROP_PRESENT_VALUE)
        return bacsc_app_encode_char_string(buf, cap, obj->impl, strlen(obj->impl));
    return bacsc_app_encode_boolean(buf, cap, false) > 0
               ? bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                  BACSC_EC_READ_ACCESS_DENIED)
               : BACSC_ERR_NOT_FOUND;
}

static const bacsc_object_class cs_class = {
    .type = BACSC_OBJ_CHARACTERSTRING_VALUE,
    .required = cs_required,
    .read = cs_read,
};

static void test_plugin_object_class(void **state)
{
    fx *f = *state;
    static char text[] = "hello";
    assert_int_equal(bacsc_device_add_object(f->dev, &cs_class, 4, "greeting", text, NULL),
                     BACSC_OK);
    assert_int_equal(bacsc_device_add_object(f->dev, &cs_class, 4, "other", text, NULL),
                     BACSC_ERR_EXISTS);
    assert_int_equal(bacsc_device_add_object(f->dev, &cs_class, 5, "greeting", text, NULL),
                     BACSC_ERR_EXISTS);
    bt_result keep;
    bacsc_value v = rp_single(f, BACSC_OBJ_CHARACTERSTRING_VALUE, 4, BACSC_PROP_PRESENT_VALUE,
                              BACSC_ARRAY_ALL, &keep);
    assert_int_equal(v.v.chars.len, 5);
    bt_result r = rp(f, BACSC_OBJ_CHARACTERSTRING_VALUE, 4, BACSC_PROP_STATUS_FLAGS, BACSC_ARRAY_ALL);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_READ_ACCESS_DENIED);
    /* writes to a class without a write handler are denied */
    uint8_t buf[16];
    int n = bacsc_app_encode_char_string(buf, sizeof buf, "x", 1);
    r = wp(f, BACSC_OBJ_CHARACTERSTRING_VALUE, 4, BACSC_PROP_PRESENT_VALUE, BACSC_ARRAY_ALL, buf,
           (size_t)n, 0);
    expect_error(&r, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_WRITE_ACCESS_DENIED);
    /* the new type shows in Protocol_Object_Types_Supported (bit 40) */
    v = rp_single(f, BACSC_OBJ_DEVICE, INSTANCE, BACSC_PROP_PROTOCOL_OBJECT_TYPES_SUPPORTED,
                  BACSC_ARRAY_ALL, &keep);
    assert_true(v.v.bits.data[5] & 0x80);
}

static void test_config_validation(void **state)
{
    (void)state;
    fdl_net net;
    fdl_init(&net);
    fdl_node *n = fdl_add_node(&net, 9);
    bacsc_device_config dc;
    memset(&dc, 0, sizeof dc);
    bacsc_device *dev = NULL;
    dc.instance = 5;
    assert_int_equal(bacsc_device_new(&dc, &dev), BACSC_ERR_INVALID_ARG);  /* no send */
    dc.link = fdl_link(n);
    dc.instance = BACSC_MAX_INSTANCE;
    assert_int_equal(bacsc_device_new(&dc, &dev), BACSC_ERR_INVALID_ARG);
    dc.instance = 5;
    dc.reinit_password = "123456789012345678901";
    assert_int_equal(bacsc_device_new(&dc, &dev), BACSC_ERR_INVALID_ARG);
    dc.reinit_password = NULL;
    dc.max_objects = 2;
    assert_int_equal(bacsc_device_new(&dc, &dev), BACSC_OK);
    assert_int_equal(bacsc_device_add_analog_value(dev, 1, "a", 0, 95, NULL), BACSC_OK);
    assert_int_equal(bacsc_device_add_analog_value(dev, 2, "b", 0, 95, NULL), BACSC_ERR_LIMIT);
    assert_int_equal(bacsc_device_add_analog_value(dev, 3, "", 0, 95, NULL), BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_device_remove_object(dev, BACSC_OBJ_DEVICE, 5), BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_device_remove_object(dev, BACSC_OBJ_ANALOG_VALUE, 9),
                     BACSC_ERR_NOT_FOUND);
    bacsc_device_free(dev);
    fdl_destroy(&net);
}

static void test_datetime_from_unix(void **state)
{
    (void)state;
    bacsc_datetime dt;
    bacsc_datetime_from_unix(0, 0, &dt);
    assert_int_equal(dt.date.year_1900, 70);
    assert_int_equal(dt.date.month, 1);
    assert_int_equal(dt.date.day, 1);
    assert_int_equal(dt.date.wday, 4);   /* Thursday */
    assert_int_equal(dt.time.hour, 0);
    /* 2026-11-26 08:30:15 UTC, a Thursday; 1795681815 */
    bacsc_datetime_from_unix(1795681815, 0, &dt);
    assert_int_equal(dt.date.year_1900, 126);
    assert_int_equal(dt.date.month, 11);
    assert_int_equal(dt.date.day, 26);
    assert_int_equal(dt.date.wday, 4);
    assert_int_equal(dt.time.hour, 8);
    assert_int_equal(dt.time.minute, 30);
    assert_int_equal(dt.time.second, 15);
    /* an offset moves the date: +16 h → 2026-11-27 00:30:15, Friday */
    bacsc_datetime_from_unix(1795681815, 16 * 3600, &dt);
    assert_int_equal(dt.date.day, 27);
    assert_int_equal(dt.date.wday, 5);
    assert_int_equal(dt.time.hour, 0);
    /* 2000-02-29 12:00:00, a Tuesday; 951825600 */
    bacsc_datetime_from_unix(951825600, 0, &dt);
    assert_int_equal(dt.date.year_1900, 100);
    assert_int_equal(dt.date.month, 2);
    assert_int_equal(dt.date.day, 29);
    assert_int_equal(dt.date.wday, 2);
    /* 1969-12-31 23:59:59, Wednesday */
    bacsc_datetime_from_unix(-1, 0, &dt);
    assert_int_equal(dt.date.year_1900, 69);
    assert_int_equal(dt.date.day, 31);
    assert_int_equal(dt.date.wday, 3);
    assert_int_equal(dt.time.second, 59);
    /* outside the encodable years */
    bacsc_datetime_from_unix(-3000000000LL, 0, &dt);
    assert_int_equal(dt.date.year_1900, 255);
    assert_int_equal(dt.time.hour, 255);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_whois_iam, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whois_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rp_every_device_property, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rp_object_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rp_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_property_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rpm_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rpm_per_property_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rpm_malformed_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wp_priority_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wp_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wp_object_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wp_priority_out_of_range_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_service_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_request_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_too_large_aborted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_bounded_by_link_max_npdu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segmented_request_single_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routed_request_answered_through_router, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reinit_password, setup_pw, teardown),
        cmocka_unit_test_setup_teardown(test_reinit_undefined_state_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_netport_live_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_netport_pending_and_activate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_netport_command_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_write_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plugin_object_class, setup, teardown),
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_datetime_from_unix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
