/*
 * wf_discover.c — the discover workflow: read what a device is (name, UUID,
 * Network Ports, certificate files, hub URIs, the certificates it holds)
 * into its record (docs/site.md "Workflows").
 *
 *   read-device       RPM Device {Object_Name, Device_UUID, Object_List}
 *   read-ports        RPM each Network Port {Network_Type, Out_Of_Service,
 *                     MAC_Address, certificate files, hub URIs}
 *   read-certificate  AtomicReadFile the operational certificate
 *   read-issuer-1/2   AtomicReadFile both issuer certificate files
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/bvlc.h"
#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/tags.h"
#include "site_workflow.h"

static void copy_chars(char *dst, size_t cap, const bacsc_value *v)
{
    size_t n = v->v.chars.len < cap - 1 ? v->v.chars.len : cap - 1;
    memcpy(dst, v->v.chars.data, n);
    dst[n] = 0;
}

/* ---- read-device --------------------------------------------------------------- */

static int device_issue(site_item *it)
{
    static const bacsc_rpm_ref refs[] = {{BACSC_PROP_OBJECT_NAME, false, 0},
                                         {BACSC_PROP_DEVICE_UUID, false, 0},
                                         {BACSC_PROP_OBJECT_LIST, false, 0}};
    bacsc_rpm_spec spec = {{BACSC_OBJ_DEVICE, it->instance}, refs, 3};
    return site_req_rpm(it, &spec, 1);
}

static void device_prop(void *ctx, const bacsc_rpm_result *res)
{
    site_item *it = ctx;
    bacsc_value v;
    if (res->property == BACSC_PROP_OBJECT_NAME &&
        site_first_value(res->value, res->value_len, &v) && v.type == BACSC_TAG_CHARACTER_STRING) {
        copy_chars(it->dev.name, sizeof it->dev.name, &v);
    } else if (res->property == BACSC_PROP_DEVICE_UUID &&
               site_first_value(res->value, res->value_len, &v) &&
               v.type == BACSC_TAG_OCTET_STRING && v.v.octets.len == 16) {
        bacsc_uuid u;
        memcpy(u.b, v.v.octets.data, sizeof u.b);
        bacsc_uuid_format(&u, it->dev.uuid);
    } else if (res->property == BACSC_PROP_OBJECT_LIST) {
        bacsc_value_iter vi;
        memset(&vi, 0, sizeof vi);
        vi.p = res->value;
        vi.left = res->value_len;
        while (bacsc_value_iter_next(&vi, &v) == 1)
            if (v.type == BACSC_TAG_OBJECT_ID && v.v.oid.type == BACSC_OBJ_NETWORK_PORT &&
                it->nports < SITE_MAX_PORTS)
                it->ports[it->nports++] = v.v.oid.instance;
    }
}

/* Walk an RPM answer: `prop` for each property read (not the errors),
 * `end` after each object. */
typedef void (*rpm_prop_fn)(void *ctx, const bacsc_rpm_result *res);
typedef void (*rpm_end_fn)(void *ctx, uint32_t instance);

static int rpm_walk(const site_item *it, rpm_prop_fn prop, rpm_end_fn end, void *ctx)
{
    if (it->res.outcome != BACSC_CLIENT_COMPLEX_ACK)
        return H_FAIL;
    bacsc_rpm_iter iter;
    memset(&iter, 0, sizeof iter);
    iter.p = it->ack;
    iter.left = iter.total = it->ack_len;
    iter.ack = true;
    bacsc_object_id oid;
    bacsc_fault f;
    while (bacsc_rpm_next_object(&iter, &oid, &f) == 1) {
        bacsc_rpm_result res;
        int rc;
        while ((rc = bacsc_rpm_next_result(&iter, &res, &f)) == 1)
            if (!res.is_error)
                prop(ctx, &res);
        if (end)
            end(ctx, oid.instance);
        if (rc < 0)
            break;
    }
    return H_NEXT;
}

/* Name, UUID, Network Port instances. */
static int device_result(site_item *it)
{
    it->nports = 0;
    return rpm_walk(it, device_prop, NULL, it);
}

/* ---- read-ports ---------------------------------------------------------------- */

static int ports_issue(site_item *it)
{
    if (!it->nports)
        return H_NEXT;
    static const bacsc_rpm_ref refs[] = {
        {BACSC_PROP_NETWORK_TYPE, false, 0},
        {BACSC_PROP_OUT_OF_SERVICE, false, 0},
        {BACSC_PROP_MAC_ADDRESS, false, 0},
        {BACSC_PROP_OPERATIONAL_CERTIFICATE_FILE, false, 0},
        {BACSC_PROP_ISSUER_CERTIFICATE_FILES, false, 0},
        {BACSC_PROP_CERTIFICATE_SIGNING_REQUEST_FILE, false, 0},
        {BACSC_PROP_SC_PRIMARY_HUB_URI, false, 0},
        {BACSC_PROP_SC_FAILOVER_HUB_URI, false, 0}};
    bacsc_rpm_spec specs[SITE_MAX_PORTS];
    for (size_t i = 0; i < it->nports; i++) {
        specs[i].object.type = BACSC_OBJ_NETWORK_PORT;
        specs[i].object.instance = it->ports[i];
        specs[i].refs = refs;
        specs[i].nrefs = sizeof refs / sizeof refs[0];
    }
    return site_req_rpm(it, specs, it->nports);
}

/* What one Network Port says. */
typedef struct port_info {
    uint32_t type;
    bool oos;
    uint32_t files[4];                     /* operational, CSR, issuer 1, issuer 2 */
    char prim[BACSC_URI_MAX], fail[BACSC_URI_MAX], vmac[18];
} port_info;

static uint32_t value_file_instance(const uint8_t *enc, size_t len, unsigned idx)
{
    bacsc_value vals[4];
    int n = bacsc_values_decode(enc, len, vals, 4);
    if (n <= (int)idx || vals[idx].type != BACSC_TAG_OBJECT_ID ||
        vals[idx].v.oid.type != BACSC_OBJ_FILE)
        return BACSC_SITE_NONE;
    return vals[idx].v.oid.instance;
}

static void port_property(port_info *p, const bacsc_rpm_result *res)
{
    bacsc_value v;
    bool have = site_first_value(res->value, res->value_len, &v);
    switch (res->property) {
    case BACSC_PROP_NETWORK_TYPE:
        if (have && v.type == BACSC_TAG_ENUMERATED)
            p->type = v.v.enumerated;
        break;
    case BACSC_PROP_OUT_OF_SERVICE:
        if (have && v.type == BACSC_TAG_BOOLEAN)
            p->oos = v.v.boolean;
        break;
    case BACSC_PROP_MAC_ADDRESS:
        if (have && v.type == BACSC_TAG_OCTET_STRING && v.v.octets.len == 6 &&
            memcmp(v.v.octets.data, "\0\0\0\0\0\0", 6) != 0) {
            const uint8_t *m = v.v.octets.data;
            snprintf(p->vmac, sizeof p->vmac, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
                     m[3], m[4], m[5]);
        }
        break;
    case BACSC_PROP_OPERATIONAL_CERTIFICATE_FILE:
        p->files[0] = value_file_instance(res->value, res->value_len, 0);
        break;
    case BACSC_PROP_CERTIFICATE_SIGNING_REQUEST_FILE:
        p->files[1] = value_file_instance(res->value, res->value_len, 0);
        break;
    case BACSC_PROP_ISSUER_CERTIFICATE_FILES:
        p->files[2] = value_file_instance(res->value, res->value_len, 0);
        p->files[3] = value_file_instance(res->value, res->value_len, 1);
        break;
    case BACSC_PROP_SC_PRIMARY_HUB_URI:
    case BACSC_PROP_SC_FAILOVER_HUB_URI:
        if (have && v.type == BACSC_TAG_CHARACTER_STRING)
            copy_chars(res->property == BACSC_PROP_SC_PRIMARY_HUB_URI ? p->prim : p->fail,
                       sizeof p->prim, &v);
        break;
    default:
        break;
    }
}

/* The ports read so far. */
typedef struct ports_ctx {
    bacsc_site_device *d;
    port_info p;                           /* of the object being read */
    bool ip_oos, sc_oos;
} ports_ctx;

static void port_reset(port_info *p)
{
    memset(p, 0, sizeof *p);
    p->type = 0xFFFFFFFFu;
    for (int i = 0; i < 4; i++)
        p->files[i] = BACSC_SITE_NONE;
}

static void ports_prop(void *ctx, const bacsc_rpm_result *res)
{
    port_property(&((ports_ctx *)ctx)->p, res);
}

static void port_end(void *ctx, uint32_t instance)
{
    ports_ctx *x = ctx;
    bacsc_site_device *d = x->d;
    const port_info *p = &x->p;
    if (p->type == BACSC_NETWORK_TYPE_SECURE_CONNECT && d->sc_port == BACSC_SITE_NONE) {
        d->sc_port = instance;
        d->cert_file = p->files[0];
        d->csr_file = p->files[1];
        d->issuer_file[0] = p->files[2];
        d->issuer_file[1] = p->files[3];
        snprintf(d->primary_hub, sizeof d->primary_hub, "%s", p->prim);
        snprintf(d->failover_hub, sizeof d->failover_hub, "%s", p->fail);
        if (p->vmac[0])
            snprintf(d->vmac, sizeof d->vmac, "%s", p->vmac);
        x->sc_oos = p->oos;
    } else if (p->type == BACSC_NETWORK_TYPE_IPV4 && d->ip_port == BACSC_SITE_NONE) {
        d->ip_port = instance;
        x->ip_oos = p->oos;
    }
    port_reset(&x->p);
}

/* Types, files, hubs, VMAC, out-of-service → mode. */
static int ports_result(site_item *it)
{
    bacsc_site_device *d = &it->dev;
    ports_ctx x = {.d = d};
    port_reset(&x.p);
    if (it->res.outcome == BACSC_CLIENT_COMPLEX_ACK)
        d->ip_port = d->sc_port = BACSC_SITE_NONE;
    if (rpm_walk(it, ports_prop, port_end, &x) != H_NEXT)
        return H_FAIL;
    bool ip = d->ip_port != BACSC_SITE_NONE && !x.ip_oos;
    bool sc = d->sc_port != BACSC_SITE_NONE && !x.sc_oos;
    d->mode = ip && sc ? BACSC_SITE_MODE_DUAL
              : sc     ? BACSC_SITE_MODE_SC
              : ip     ? BACSC_SITE_MODE_IP
                       : BACSC_SITE_MODE_UNKNOWN;
    return H_NEXT;
}

/* ---- certificate files --------------------------------------------------------------- */

int site_cert_read_issue(site_item *it)
{
    if (it->dev.cert_file == BACSC_SITE_NONE)
        return H_NEXT;
    return site_req_read_file(it, it->dev.cert_file);
}

int site_cert_read_result(site_item *it)
{
    int h = site_read_file_result(it);
    if (h != H_NEXT)
        return h;
    bacsc_site_device *d = &it->dev;
    free(d->cert_der);
    d->cert_der = NULL;
    d->cert_len = 0;
    if (it->buf_len)
        site_object_to_der(0, it->buf, it->buf_len, &d->cert_der, &d->cert_len);
    return H_NEXT;
}

enum { STEP_ISSUER1 = 3 }; /* index of read-issuer-1 in STEPS */

static int issuer_slot(const site_item *it)
{
    return it->step == STEP_ISSUER1 ? 0 : 1;
}

static int issuer_issue(site_item *it)
{
    uint32_t f = it->dev.issuer_file[issuer_slot(it)];
    if (f == BACSC_SITE_NONE)
        return H_NEXT;
    return site_req_read_file(it, f);
}

static int issuer_result(site_item *it)
{
    int h = site_read_file_result(it);
    if (h != H_NEXT)
        return h;
    int slot = issuer_slot(it);
    site_fp_of_buf(it, slot);
    it->dev.has_issuer[slot] = it->slot_has[slot];
    memcpy(it->dev.issuer_fp[slot], it->slot_fp[slot], BACSC_SITE_FP_LEN);
    return H_NEXT;
}

static const site_step STEPS[] = {
    {"read-device", device_issue, device_result},
    {"read-ports", ports_issue, ports_result},
    {"read-certificate", site_cert_read_issue, site_cert_read_result},
    {"read-issuer-1", issuer_issue, issuer_result},
    {"read-issuer-2", issuer_issue, issuer_result},
};

const site_workflow site_wf_discover = {
    .kind = BACSC_SITE_JOB_DISCOVER,
    .name = "discover",
    SITE_STEPS(STEPS),
    .save = SITE_SAVE_ALWAYS,
    .without_settings = true,
};

/* ---- preparation --------------------------------------------------------------------- */

int bacsc_site_prepare_discover(bacsc_site *s, const bacsc_site_found *found, size_t n,
                                int64_t *job_id)
{
    s->resumed = false;
    int rc = site_begin(s);
    if (rc != BACSC_OK)
        return rc;
    int64_t id = 0;
    if ((rc = bacsc_site_job_create(s, BACSC_SITE_JOB_DISCOVER, "{}", "discover", &id)) != BACSC_OK)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        bacsc_site_device d;
        if (bacsc_site_device_get(s, found[i].instance, &d) != BACSC_OK)
            bacsc_site_device_init(&d, found[i].instance);
        if (found[i].kind == BACSC_DATALINK_SC)
            bacsc_address_format(&found[i].address, BACSC_DATALINK_SC, d.vmac, sizeof d.vmac);
        else
            bacsc_address_format(&found[i].address, found[i].kind, d.address, sizeof d.address);
        d.last_seen = bacsc_site_now(s);
        rc = bacsc_site_device_put(s, &d);
        bacsc_site_device_clear(&d);
        if (rc != BACSC_OK)
            goto fail;
        rc = bacsc_site_job_add_item(s, id, found[i].instance, NULL, 0, BACSC_SITE_ITEM_PENDING,
                                     NULL);
        if (rc == BACSC_ERR_EXISTS)
            continue; /* the same device answered twice */
        if (rc != BACSC_OK)
            goto fail;
    }
    if ((rc = site_commit(s)) != BACSC_OK)
        goto fail;
    *job_id = id;
    return BACSC_OK;
fail:
    site_rollback(s);
    return rc;
}
