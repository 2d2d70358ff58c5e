/* support_commission.c — see support_commission.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "support_commission.h"

static int64_t sch_clock(void *user)
{
    sch *s = user;
    return s->clock ? s->clock : (int64_t)time(NULL);
}

static int sch_apply(void *user, const bacsc_commission_data *next, EVP_PKEY *key, char *detail,
                     size_t cap)
{
    (void)next;
    (void)key;
    sch *s = user;
    if (s->apply_fail) {
        snprintf(detail, cap, "TLS context rejected the set (test)");
        return -1;
    }
    s->applied++;
    return 0;
}

static int sch_reinit_cb(void *user, bacsc_device *dev, uint8_t state, bacsc_error *err)
{
    (void)dev;
    sch *s = user;
    return bacsc_commission_reinitialize(s->cm, state, err);
}

void sch_open(sch *s, const char *dir, uint32_t instance, const char *password)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->instance = instance;
    s->now = 1000000;
    char err[256];
    assert_int_equal(bacsc_devstate_open(dir, &s->st, err, sizeof err), BACSC_OK);
    assert_int_equal(bacsc_devrt_new(s->st, instance, &s->rt), BACSC_OK);
    bacsc_devrt_set_apply(s->rt, sch_apply, s);
    bacsc_devrt_set_clock(s->rt, sch_clock, s);
    fdl_init(&s->net);
    s->dn = fdl_add_node(&s->net, 1);
    s->cn = fdl_add_node(&s->net, 2);
    uint8_t uuid[16];
    assert_int_equal(bacsc_devstate_uuid(s->st, instance, uuid), BACSC_OK);
    char name[32];
    snprintf(name, sizeof name, "dev%u", (unsigned)instance);
    bacsc_device_config dc = {.instance = instance, .name = name, .reinit_password = password};
    memcpy(dc.uuid, uuid, 16);
    dc.cb.reinitialize = sch_reinit_cb;
    dc.cb.user = s;
    s->dev = fdl_host_device(s->dn, &dc);
    bacsc_commission_data saved;
    bool have = bacsc_devstate_load(s->st, instance, &saved) == BACSC_OK;
    bacsc_commission_config cc;
    memset(&cc, 0, sizeof cc);
    cc.dev = s->dev;
    cc.device_name = name;
    cc.uuid = uuid;
    cc.has_ip_port = true;
    cc.initial = have ? &saved : NULL;
    bacsc_sc_port_config_defaults(&cc.sc);
    cc.sc.out_of_service = true;                 /* start on BACnet/IP only */
    uint8_t ip[4] = {127, 0, 0, 1}, mask[4] = {255, 0, 0, 0};
    memcpy(cc.ip.ip, ip, 4);
    memcpy(cc.ip.mask, mask, 4);
    cc.ip.udp_port = 47808;
    cc.ops = bacsc_devrt_ops(s->rt);
    assert_int_equal(bacsc_commission_new(&cc, &s->cm), BACSC_OK);
    if (have)
        bacsc_commission_data_free(&saved);
    bacsc_client_config ccfg = {0};
    fdl_host_client(s->cn, &ccfg);
}

void sch_close(sch *s)
{
    fdl_free_hosted(&s->net);
    bacsc_commission_free(s->cm);
    bacsc_devrt_free(s->rt);
    bacsc_devstate_close(s->st);
}

static void done(void *user, const bacsc_client_result *r)
{
    sch_res *res = user;
    res->outcome = r->outcome;
    res->error_class = r->error_class;
    res->error_code = r->error_code;
    res->len = r->ack_len < sizeof res->data ? r->ack_len : sizeof res->data;
    if (r->ack && res->len)
        memcpy(res->data, r->ack, res->len);
}

static sch_res finish(sch *s, int rc, sch_res *res)
{
    assert_true(rc >= 0);
    fdl_pump(&s->net, s->now);
    s->now += 1000;
    assert_true(res->outcome >= 0);
    return *res;
}

static sch_res write_value(sch *s, uint16_t type, uint32_t inst, uint32_t prop,
                           const uint8_t *v, size_t n)
{
    sch_res res;
    memset(&res, 0, sizeof res);
    res.outcome = -1;
    bacsc_wp_request wp;
    memset(&wp, 0, sizeof wp);
    wp.object.type = type;
    wp.object.instance = inst;
    wp.property = prop;
    wp.value = v;
    wp.value_len = n;
    bacsc_address to = fdl_addr(s->dn);
    int rc = bacsc_client_write_property(s->cn->cl, &to, &wp, done, &res, s->now);
    return finish(s, rc, &res);
}

sch_res sch_write_enum(sch *s, uint16_t type, uint32_t inst, uint32_t prop, uint32_t v)
{
    uint8_t b[8];
    int n = bacsc_app_encode_enumerated(b, sizeof b, v);
    return write_value(s, type, inst, prop, b, (size_t)n);
}

sch_res sch_write_bool(sch *s, uint16_t type, uint32_t inst, uint32_t prop, bool v)
{
    uint8_t b[4];
    int n = bacsc_app_encode_boolean(b, sizeof b, v);
    return write_value(s, type, inst, prop, b, (size_t)n);
}

sch_res sch_write_unsigned(sch *s, uint16_t type, uint32_t inst, uint32_t prop, uint32_t v)
{
    uint8_t b[8];
    int n = bacsc_app_encode_unsigned(b, sizeof b, v);
    return write_value(s, type, inst, prop, b, (size_t)n);
}

sch_res sch_write_string(sch *s, uint16_t type, uint32_t inst, uint32_t prop, const char *v)
{
    uint8_t b[600];
    int n = bacsc_app_encode_char_string(b, sizeof b, v, strlen(v));
    assert_true(n > 0);
    return write_value(s, type, inst, prop, b, (size_t)n);
}

sch_res sch_read(sch *s, uint16_t type, uint32_t inst, uint32_t prop)
{
    sch_res res;
    memset(&res, 0, sizeof res);
    res.outcome = -1;
    bacsc_rp_request rp;
    memset(&rp, 0, sizeof rp);
    rp.object.type = type;
    rp.object.instance = inst;
    rp.property = prop;
    bacsc_address to = fdl_addr(s->dn);
    int rc = bacsc_client_read_property(s->cn->cl, &to, &rp, done, &res, s->now);
    res = finish(s, rc, &res);
    if (res.outcome == BACSC_CLIENT_COMPLEX_ACK) {
        bacsc_rp_ack ack;
        assert_true(bacsc_rp_ack_decode(res.data, res.len, &ack, NULL) > 0);
        memmove(res.data, ack.value, ack.value_len);
        res.len = ack.value_len;
    }
    return res;
}

void sch_read_string(sch *s, uint16_t type, uint32_t inst, uint32_t prop, char *out, size_t cap)
{
    out[0] = '\0';
    sch_res r = sch_read(s, type, inst, prop);
    if (r.outcome != BACSC_CLIENT_COMPLEX_ACK)
        return;
    bacsc_value v;
    if (bacsc_value_decode(r.data, r.len, &v) < 0 || v.type != BACSC_TAG_CHARACTER_STRING)
        return;
    size_t n = v.v.chars.len < cap - 1 ? v.v.chars.len : cap - 1;
    memcpy(out, v.v.chars.data, n);
    out[n] = '\0';
}

uint8_t *sch_read_file(sch *s, uint32_t inst, size_t chunk, size_t *len, sch_res *last)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    for (int guard = 0; guard < 1000; guard++) {
        sch_res res;
        memset(&res, 0, sizeof res);
        res.outcome = -1;
        bacsc_arf_request r = {{BACSC_OBJ_FILE, inst}, BACSC_FILE_STREAM, (int32_t)n,
                               (uint32_t)chunk};
        bacsc_address to = fdl_addr(s->dn);
        int rc = bacsc_client_atomic_read_file(s->cn->cl, &to, &r, done, &res, s->now);
        res = finish(s, rc, &res);
        if (last)
            *last = res;
        if (res.outcome != BACSC_CLIENT_COMPLEX_ACK) {
            free(buf);
            *len = 0;
            return NULL;
        }
        bacsc_arf_ack a;
        assert_true(bacsc_arf_ack_decode(res.data, res.len, &a, NULL) > 0);
        buf = realloc(buf, n + a.data_len + 1);
        memcpy(buf + n, a.data, a.data_len);
        n += a.data_len;
        buf[n] = 0;
        if (a.end_of_file)
            break;
    }
    *len = n;
    return buf;
}

sch_res sch_write_file(sch *s, uint32_t inst, int32_t start, const void *data, size_t len)
{
    sch_res res;
    memset(&res, 0, sizeof res);
    res.outcome = -1;
    bacsc_awf_request r = {{BACSC_OBJ_FILE, inst}, BACSC_FILE_STREAM, start, 0, data, len};
    bacsc_address to = fdl_addr(s->dn);
    int rc = bacsc_client_atomic_write_file(s->cn->cl, &to, &r, done, &res, s->now);
    return finish(s, rc, &res);
}

sch_res sch_login(sch *s, const char *password)
{
    sch_res res;
    memset(&res, 0, sizeof res);
    res.outcome = -1;
    bacsc_dcc_request r;
    memset(&r, 0, sizeof r);
    r.state = BACSC_DCC_ENABLE;
    r.has_password = password != NULL;
    r.password.data = (const uint8_t *)password;
    r.password.len = password ? strlen(password) : 0;
    bacsc_address to = fdl_addr(s->dn);
    int rc = bacsc_client_dcc(s->cn->cl, &to, &r, done, &res, s->now);
    return finish(s, rc, &res);
}

sch_res sch_reinit(sch *s, uint8_t state, const char *password)
{
    sch_res res;
    memset(&res, 0, sizeof res);
    res.outcome = -1;
    bacsc_reinit_request r;
    memset(&r, 0, sizeof r);
    r.state = state;
    if (password) {
        r.has_password = true;
        r.password.charset = 0;
        r.password.data = (const uint8_t *)password;
        r.password.len = strlen(password);
    }
    bacsc_address to = fdl_addr(s->dn);
    int rc = bacsc_client_reinitialize(s->cn->cl, &to, &r, done, &res, s->now);
    return finish(s, rc, &res);
}
