/*
 * site_engine.c — the job engine: one state machine per device, driven
 * through a bacsc_client with bounded concurrency; each step committed in
 * its own transaction (bacsc/site.h, docs/site.md "Workflows").
 *
 * Completion callbacks only copy the result into the item; the main loop
 * processes completed items after each poll, so nothing re-enters the
 * client from its own callback.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bacsc/apdu.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "bacsc/services.h"
#include "bacsc/site.h"
#include "bacsc/tags.h"
#include "bacsc/value.h"
#include "site_internal.h"

#define PROP_OP_CERT_FILE 4194306u
#define PROP_ISSUER_FILES 511u
#define PROP_CSR_FILE 509u
#define PROP_PRIMARY_HUB 4194325u
#define PROP_FAILOVER_HUB 4194317u
#define PROP_VALIDATION_RESULT 510u
#define PROP_SITE_DOMAIN 4100u
#define NPC_DISCARD 1u
#define NPC_GENERATE_CSR 8u
#define NPC_VALIDATE 9u
#define NETTYPE_IPV4 5u
#define NETTYPE_SC 11u
#define MAX_PORTS 8
#define MAX_FILE (64u * 1024u)

static const char *const STEP_NAMES[7][8] = {
    [BACSC_SITE_JOB_DISCOVER] = {"read-device", "read-ports", "read-certificate",
                                 "read-issuer-1", "read-issuer-2", "end"},
    [BACSC_SITE_JOB_REQUEST] = {"write-domain", "generate-csr", "read-csr", "end"},
    [BACSC_SITE_JOB_IMPORT] = {"read-issuers", "write-issuer", "write-certificate", "validate",
                               "read-validation-result", "activate", "confirm", "end"},
    [BACSC_SITE_JOB_TRUST_ADD] = {"read-issuers", "write-issuer", "activate", "confirm", "end"},
    [BACSC_SITE_JOB_TRUST_REMOVE] = {"read-issuers", "clear-issuer", "activate", "confirm",
                                     "end"},
    [BACSC_SITE_JOB_MODE] = {"write-hub-uris", "write-ports", "activate", "confirm", "end"},
};

const char *bacsc_site_step_name(int kind, int step)
{
    if (kind < 1 || kind > 6 || step < 0 || step > 7 || !STEP_NAMES[kind][step])
        return "?";
    return STEP_NAMES[kind][step];
}

static int end_step(int kind)
{
    switch (kind) {
    case BACSC_SITE_JOB_DISCOVER: return D_END;
    case BACSC_SITE_JOB_REQUEST: return R_END;
    case BACSC_SITE_JOB_IMPORT: return I_END;
    case BACSC_SITE_JOB_TRUST_ADD:
    case BACSC_SITE_JOB_TRUST_REMOVE: return T_END;
    default: return M_END;
    }
}

int site_object_to_der(int kind, const unsigned char *data, size_t len, unsigned char **der,
                       size_t *der_len)
{
    *der = NULL;
    *der_len = 0;
    unsigned char *out = NULL;
    int n = -1;
    const unsigned char *p = data;
    if (kind == 0) {
        X509 *x = len && data[0] == 0x30 ? d2i_X509(NULL, &p, (long)len) : NULL;
        if (!x) {
            BIO *b = BIO_new_mem_buf(data, (int)len);
            x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
            BIO_free(b);
        }
        if (x)
            n = i2d_X509(x, &out);
        X509_free(x);
    } else {
        X509_REQ *r = len && data[0] == 0x30 ? d2i_X509_REQ(NULL, &p, (long)len) : NULL;
        if (!r) {
            BIO *b = BIO_new_mem_buf(data, (int)len);
            r = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
            BIO_free(b);
        }
        if (r)
            n = i2d_X509_REQ(r, &out);
        X509_REQ_free(r);
    }
    if (n <= 0)
        return BACSC_ERR_MALFORMED;
    *der = malloc((size_t)n);
    if (!*der) {
        OPENSSL_free(out);
        return BACSC_ERR_NOMEM;
    }
    memcpy(*der, out, (size_t)n);
    *der_len = (size_t)n;
    OPENSSL_free(out);
    return BACSC_OK;
}

/* ---- run state ------------------------------------------------------------------ */

typedef struct run run;

typedef struct item {
    run *r;
    uint32_t instance;
    int step, status;
    unsigned attempts;
    bool attempt_counted;
    bacsc_address addr;
    bacsc_site_device dev;
    unsigned char *data;                   /* job payload (certificate / CA) */
    size_t data_len;
    /* the request in flight and its copied result */
    bool busy, completed;
    bacsc_client_result res;
    uint8_t ack[1500];
    size_t ack_len;
    /* transfer state within a step */
    int sub;
    size_t offset;
    unsigned char *buf;
    size_t buf_len, buf_cap;
    /* scratch */
    uint32_t ports[MAX_PORTS];
    size_t nports;
    bool slot_has[2];
    unsigned char slot_fp[2][BACSC_SITE_FP_LEN];
    int slot;
    char error[256];
} item;

struct run {
    bacsc_site *s;
    const bacsc_site_io *io;
    bacsc_site_run_opts o;
    bacsc_site_job job;
    bacsc_site_settings st;
    int mode_target;
    item *items;
    size_t n, next;
    item **active;
    size_t nactive;
    unsigned steps;
    unsigned done, failed, skipped;
    bool stop;
    int fatal;
};

enum { H_AGAIN, H_NEXT, H_DONE, H_FAIL, H_LOCAL };

static void fail_msg(item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_msg(item *it, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->error, sizeof it->error, fmt, ap);
    va_end(ap);
}

static void on_done(void *user, const bacsc_client_result *r)
{
    item *it = user;
    it->res = *r;
    it->res.peer = NULL;
    it->ack_len = 0;
    if (r->ack && r->ack_len <= sizeof it->ack) {
        memcpy(it->ack, r->ack, r->ack_len);
        it->ack_len = r->ack_len;
    }
    it->res.ack = it->ack;
    it->res.ack_len = it->ack_len;
    it->completed = true;
}

static int issue(item *it, int rc)
{
    if (rc < 0) {
        fail_msg(it, "cannot send request: %s", bacsc_strerror(rc));
        return rc;
    }
    it->busy = true;
    return BACSC_OK;
}

static uint64_t now_us(run *r)
{
    return r->io->now(r->io->user);
}

static int req_rp(item *it, uint16_t type, uint32_t inst, uint32_t prop)
{
    bacsc_rp_request rp = {.object = {type, inst}, .property = prop};
    return issue(it, bacsc_client_read_property(it->r->io->client, &it->addr, &rp, on_done, it,
                                                now_us(it->r)));
}

static int req_wp(item *it, uint16_t type, uint32_t inst, uint32_t prop, const uint8_t *val,
                  size_t len)
{
    bacsc_wp_request wp = {.object = {type, inst}, .property = prop, .value = val,
                           .value_len = len};
    return issue(it, bacsc_client_write_property(it->r->io->client, &it->addr, &wp, on_done, it,
                                                 now_us(it->r)));
}

static int req_wp_enum(item *it, uint16_t type, uint32_t inst, uint32_t prop, uint32_t v)
{
    uint8_t b[8];
    int n = bacsc_app_encode_enumerated(b, sizeof b, v);
    return req_wp(it, type, inst, prop, b, (size_t)n);
}

static int req_arf(item *it, uint32_t file)
{
    bacsc_arf_request a = {.file = {BACSC_OBJ_FILE, file}, .access = BACSC_FILE_STREAM,
                           .start = (int32_t)it->offset, .count = it->r->o.chunk};
    return issue(it, bacsc_client_atomic_read_file(it->r->io->client, &it->addr, &a, on_done, it,
                                                   now_us(it->r)));
}

/* Write `data` into File `file`: sub 0 truncates (File_Size 0), then chunks. */
static int req_file_write(item *it, uint32_t file, const unsigned char *data, size_t len)
{
    if (it->sub == 0) {
        uint8_t b[4];
        int n = bacsc_app_encode_unsigned(b, sizeof b, 0);
        return req_wp(it, BACSC_OBJ_FILE, file, BACSC_PROP_FILE_SIZE, b, (size_t)n);
    }
    size_t left = len - it->offset, n = left < it->r->o.chunk ? left : it->r->o.chunk;
    bacsc_awf_request a = {.file = {BACSC_OBJ_FILE, file}, .access = BACSC_FILE_STREAM,
                           .start = (int32_t)it->offset, .data = data + it->offset,
                           .data_len = n};
    return issue(it, bacsc_client_atomic_write_file(it->r->io->client, &it->addr, &a, on_done, it,
                                                    now_us(it->r)));
}

/* After a file-write answer: H_AGAIN until all written, then H_NEXT. */
static int file_write_result(item *it, size_t len)
{
    const bacsc_client_result *res = &it->res;
    if (it->sub == 0) {
        /* Truncation is best effort: a device whose certificate files are
         * replaced by any write at offset 0 may refuse File_Size writes. */
        if (res->outcome == BACSC_CLIENT_TIMEOUT)
            return H_FAIL;
        it->sub = 1;
        it->offset = 0;
        return len ? H_AGAIN : H_NEXT;
    }
    if (res->outcome != BACSC_CLIENT_COMPLEX_ACK)
        return H_FAIL;
    size_t left = len - it->offset;
    it->offset += left < it->r->o.chunk ? left : it->r->o.chunk;
    return it->offset >= len ? H_NEXT : H_AGAIN;
}

/* After an AtomicReadFile answer: append; H_AGAIN until end of file. */
static int file_read_result(item *it)
{
    if (it->res.outcome != BACSC_CLIENT_COMPLEX_ACK)
        return H_FAIL;
    bacsc_arf_ack a;
    bacsc_fault f;
    if (bacsc_arf_ack_decode(it->ack, it->ack_len, &a, &f) < 0 ||
        a.access != BACSC_FILE_STREAM) {
        fail_msg(it, "AtomicReadFile answer does not decode");
        return H_FAIL;
    }
    if (it->buf_len + a.data_len > MAX_FILE) {
        fail_msg(it, "file larger than %u octets", MAX_FILE);
        return H_FAIL;
    }
    if (it->buf_len + a.data_len > it->buf_cap) {
        size_t cap = (it->buf_len + a.data_len) * 2;
        unsigned char *nb = realloc(it->buf, cap);
        if (!nb) {
            fail_msg(it, "out of memory");
            return H_FAIL;
        }
        it->buf = nb;
        it->buf_cap = cap;
    }
    if (a.data_len)
        memcpy(it->buf + it->buf_len, a.data, a.data_len);
    it->buf_len += a.data_len;
    it->offset += a.data_len;
    return a.end_of_file || a.data_len == 0 ? H_NEXT : H_AGAIN;
}

static void reset_transfer(item *it)
{
    it->sub = 0;
    it->offset = 0;
    it->buf_len = 0;
}

static int req_reinit(item *it)
{
    bacsc_reinit_request rq = {.state = BACSC_REINIT_ACTIVATE_CHANGES};
    if (it->r->o.password && *it->r->o.password) {
        rq.has_password = true;
        rq.password.charset = 0;
        rq.password.data = (const uint8_t *)it->r->o.password;
        rq.password.len = strlen(it->r->o.password);
    }
    return issue(it, bacsc_client_reinitialize(it->r->io->client, &it->addr, &rq, on_done, it,
                                               now_us(it->r)));
}

/* ---- decoding helpers ------------------------------------------------------------- */

static void fp_of_file(item *it, int slot)
{
    it->slot_has[slot] = false;
    if (!it->buf_len)
        return;
    unsigned char *der = NULL;
    size_t dl = 0;
    if (site_object_to_der(0, it->buf, it->buf_len, &der, &dl) == BACSC_OK) {
        site_sha256(der, dl, it->slot_fp[slot]);
        it->slot_has[slot] = true;
        free(der);
    }
}

/* The first application value of an encoded property value. */
static bool first_value(const uint8_t *enc, size_t len, bacsc_value *v)
{
    bacsc_value vals[8];
    int n = bacsc_values_decode(enc, len, vals, 8);
    if (n < 1)
        return false;
    *v = vals[0];
    return true;
}

static bool decode_rp(item *it, const uint8_t **val, size_t *len)
{
    bacsc_rp_ack a;
    bacsc_fault f;
    if (it->res.outcome != BACSC_CLIENT_COMPLEX_ACK ||
        bacsc_rp_ack_decode(it->ack, it->ack_len, &a, &f) < 0)
        return false;
    *val = a.value;
    *len = a.value_len;
    return true;
}

/* Device object RPM answer: name, UUID, Network Port instances. */
static int parse_device_rpm(item *it)
{
    bacsc_rpm_iter iter;
    memset(&iter, 0, sizeof iter);
    iter.p = it->ack;
    iter.left = iter.total = it->ack_len;
    iter.ack = true;
    bacsc_object_id oid;
    bacsc_fault f;
    it->nports = 0;
    while (bacsc_rpm_next_object(&iter, &oid, &f) == 1) {
        bacsc_rpm_result res;
        int rc;
        while ((rc = bacsc_rpm_next_result(&iter, &res, &f)) == 1) {
            if (res.is_error)
                continue;
            bacsc_value v;
            if (res.property == BACSC_PROP_OBJECT_NAME && first_value(res.value, res.value_len, &v) &&
                v.type == BACSC_TAG_CHARACTER_STRING) {
                size_t n = v.v.chars.len < 64 ? v.v.chars.len : 64;
                memcpy(it->dev.name, v.v.chars.data, n);
                it->dev.name[n] = 0;
            } else if (res.property == BACSC_PROP_DEVICE_UUID &&
                       first_value(res.value, res.value_len, &v) &&
                       v.type == BACSC_TAG_OCTET_STRING && v.v.octets.len == 16) {
                const uint8_t *u = v.v.octets.data;
                snprintf(it->dev.uuid, sizeof it->dev.uuid,
                         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                         u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
                         u[12], u[13], u[14], u[15]);
            } else if (res.property == BACSC_PROP_OBJECT_LIST) {
                bacsc_value_iter vi;
                memset(&vi, 0, sizeof vi);
                vi.p = res.value;
                vi.left = res.value_len;
                while (bacsc_value_iter_next(&vi, &v) == 1)
                    if (v.type == BACSC_TAG_OBJECT_ID && v.v.oid.type == BACSC_OBJ_NETWORK_PORT &&
                        it->nports < MAX_PORTS)
                        it->ports[it->nports++] = v.v.oid.instance;
            }
        }
        if (rc < 0)
            break;
    }
    return BACSC_OK;
}

static uint32_t value_file_instance(const uint8_t *enc, size_t len, unsigned idx)
{
    bacsc_value vals[4];
    int n = bacsc_values_decode(enc, len, vals, 4);
    if (n <= (int)idx || vals[idx].type != BACSC_TAG_OBJECT_ID ||
        vals[idx].v.oid.type != BACSC_OBJ_FILE)
        return BACSC_SITE_NONE;
    return vals[idx].v.oid.instance;
}

/* Network Port RPM answer: types, files, hubs, VMAC, out-of-service → mode. */
static int parse_ports_rpm(item *it)
{
    bacsc_rpm_iter iter;
    memset(&iter, 0, sizeof iter);
    iter.p = it->ack;
    iter.left = iter.total = it->ack_len;
    iter.ack = true;
    bacsc_object_id oid;
    bacsc_fault f;
    bacsc_site_device *d = &it->dev;
    d->ip_port = d->sc_port = BACSC_SITE_NONE;
    bool ip_oos = false, sc_oos = false;
    while (bacsc_rpm_next_object(&iter, &oid, &f) == 1) {
        uint32_t type = 0xFFFFFFFFu;
        bool oos = false;
        uint32_t files[4] = {BACSC_SITE_NONE, BACSC_SITE_NONE, BACSC_SITE_NONE, BACSC_SITE_NONE};
        char prim[256] = "", fail[256] = "", vmac[18] = "";
        bacsc_rpm_result res;
        int rc;
        while ((rc = bacsc_rpm_next_result(&iter, &res, &f)) == 1) {
            if (res.is_error)
                continue;
            bacsc_value v;
            bool have = first_value(res.value, res.value_len, &v);
            switch (res.property) {
            case BACSC_PROP_NETWORK_TYPE:
                if (have && v.type == BACSC_TAG_ENUMERATED)
                    type = v.v.enumerated;
                break;
            case BACSC_PROP_OUT_OF_SERVICE:
                if (have && v.type == BACSC_TAG_BOOLEAN)
                    oos = v.v.boolean;
                break;
            case BACSC_PROP_MAC_ADDRESS:
                if (have && v.type == BACSC_TAG_OCTET_STRING && v.v.octets.len == 6 &&
                    memcmp(v.v.octets.data, "\0\0\0\0\0\0", 6) != 0) {
                    const uint8_t *m = v.v.octets.data;
                    snprintf(vmac, sizeof vmac, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
                             m[3], m[4], m[5]);
                }
                break;
            case PROP_OP_CERT_FILE:
                files[0] = value_file_instance(res.value, res.value_len, 0);
                break;
            case PROP_CSR_FILE:
                files[1] = value_file_instance(res.value, res.value_len, 0);
                break;
            case PROP_ISSUER_FILES:
                files[2] = value_file_instance(res.value, res.value_len, 0);
                files[3] = value_file_instance(res.value, res.value_len, 1);
                break;
            case PROP_PRIMARY_HUB:
            case PROP_FAILOVER_HUB:
                if (have && v.type == BACSC_TAG_CHARACTER_STRING) {
                    char *dst = res.property == PROP_PRIMARY_HUB ? prim : fail;
                    size_t n = v.v.chars.len < 255 ? v.v.chars.len : 255;
                    memcpy(dst, v.v.chars.data, n);
                    dst[n] = 0;
                }
                break;
            default:
                break;
            }
        }
        if (type == NETTYPE_SC && d->sc_port == BACSC_SITE_NONE) {
            d->sc_port = oid.instance;
            d->cert_file = files[0];
            d->csr_file = files[1];
            d->issuer_file[0] = files[2];
            d->issuer_file[1] = files[3];
            snprintf(d->primary_hub, sizeof d->primary_hub, "%s", prim);
            snprintf(d->failover_hub, sizeof d->failover_hub, "%s", fail);
            if (vmac[0])
                snprintf(d->vmac, sizeof d->vmac, "%s", vmac);
            sc_oos = oos;
        } else if (type == NETTYPE_IPV4 && d->ip_port == BACSC_SITE_NONE) {
            d->ip_port = oid.instance;
            ip_oos = oos;
        }
        if (rc < 0)
            break;
    }
    bool ip = d->ip_port != BACSC_SITE_NONE && !ip_oos;
    bool sc = d->sc_port != BACSC_SITE_NONE && !sc_oos;
    d->mode = ip && sc ? BACSC_SITE_MODE_DUAL
              : sc     ? BACSC_SITE_MODE_SC
              : ip     ? BACSC_SITE_MODE_IP
                       : BACSC_SITE_MODE_UNKNOWN;
    return BACSC_OK;
}

/*
 * Command_Validation_Result (docs/device-commissioning.md): a
 * CharacterString "valid" or "<outcome>: <detail>". Read tolerantly: an
 * empty value, Null, Boolean TRUE or Enumerated/Unsigned 0 also mean
 * success; anything else is a failure described by its text.
 */
static bool validation_ok(const uint8_t *enc, size_t len, char *why, size_t cap)
{
    bacsc_value vals[8];
    int n = bacsc_values_decode(enc, len, vals, 8);
    if (n == 0)
        return true;
    if (n > 0) {
        const bacsc_value *v = &vals[0];
        if (v->type == BACSC_TAG_NULL || (v->type == BACSC_TAG_BOOLEAN && v->v.boolean) ||
            (v->type == BACSC_TAG_ENUMERATED && v->v.enumerated == 0) ||
            (v->type == BACSC_TAG_UNSIGNED && v->v.unsigned_ == 0))
            return true;
        for (int i = 0; i < n; i++)
            if (vals[i].type == BACSC_TAG_CHARACTER_STRING) {
                size_t l = vals[i].v.chars.len < cap - 1 ? vals[i].v.chars.len : cap - 1;
                memcpy(why, vals[i].v.chars.data, l);
                why[l] = 0;
                if (strcmp(why, "valid") == 0 || strncmp(why, "valid:", 6) == 0 || !why[0])
                    return true;
                return false;
            }
    }
    bacsc_value_format(enc, len, why, cap);
    return false;
}

/* The reason a device gives in Command_Validation_Result, after a refusal. */
static void validation_reason(item *it, const char *what)
{
    const uint8_t *val;
    size_t vl;
    char why[200] = "";
    bacsc_rp_ack a;
    bacsc_fault f;
    if (it->res.outcome == BACSC_CLIENT_COMPLEX_ACK &&
        bacsc_rp_ack_decode(it->ack, it->ack_len, &a, &f) >= 0) {
        val = a.value;
        vl = a.value_len;
        validation_ok(val, vl, why, sizeof why);
    }
    fail_msg(it, "%s: device refused: %s", what, why[0] ? why : "no reason given");
}

/* ---- steps ----------------------------------------------------------------------- */

/* Issue the request for the item's current step. Returns H_AGAIN when a
 * request is in flight, H_NEXT to skip the step, H_DONE/H_FAIL. */
static int step_issue(item *it)
{
    run *r = it->r;
    bacsc_site_device *d = &it->dev;
    int rc = BACSC_OK;
    switch (r->job.kind) {
    case BACSC_SITE_JOB_DISCOVER:
        switch (it->step) {
        case D_DEVICE: {
            static const bacsc_rpm_ref refs[] = {{BACSC_PROP_OBJECT_NAME, false, 0},
                                                 {BACSC_PROP_DEVICE_UUID, false, 0},
                                                 {BACSC_PROP_OBJECT_LIST, false, 0}};
            bacsc_rpm_spec spec = {{BACSC_OBJ_DEVICE, it->instance}, refs, 3};
            rc = issue(it, bacsc_client_read_property_multiple(r->io->client, &it->addr, &spec, 1,
                                                               on_done, it, now_us(r)));
            break;
        }
        case D_PORTS: {
            if (!it->nports)
                return H_NEXT;
            static const bacsc_rpm_ref refs[] = {
                {BACSC_PROP_NETWORK_TYPE, false, 0}, {BACSC_PROP_OUT_OF_SERVICE, false, 0},
                {BACSC_PROP_MAC_ADDRESS, false, 0},  {PROP_OP_CERT_FILE, false, 0},
                {PROP_ISSUER_FILES, false, 0},       {PROP_CSR_FILE, false, 0},
                {PROP_PRIMARY_HUB, false, 0},        {PROP_FAILOVER_HUB, false, 0}};
            bacsc_rpm_spec specs[MAX_PORTS];
            for (size_t i = 0; i < it->nports; i++) {
                specs[i].object.type = BACSC_OBJ_NETWORK_PORT;
                specs[i].object.instance = it->ports[i];
                specs[i].refs = refs;
                specs[i].nrefs = 8;
            }
            rc = issue(it, bacsc_client_read_property_multiple(r->io->client, &it->addr, specs,
                                                               it->nports, on_done, it, now_us(r)));
            break;
        }
        case D_CERT:
            if (d->cert_file == BACSC_SITE_NONE)
                return H_NEXT;
            rc = req_arf(it, d->cert_file);
            break;
        case D_ISSUER1:
        case D_ISSUER2: {
            uint32_t f = d->issuer_file[it->step - D_ISSUER1];
            if (f == BACSC_SITE_NONE)
                return H_NEXT;
            rc = req_arf(it, f);
            break;
        }
        }
        break;
    case BACSC_SITE_JOB_REQUEST:
        if (d->sc_port == BACSC_SITE_NONE || d->csr_file == BACSC_SITE_NONE) {
            fail_msg(it, "device has no BACnet/SC Network Port with a CSR file (run discover)");
            return H_FAIL;
        }
        if (it->step == R_DOMAIN) {
            if (!r->st.domain[0])
                return H_NEXT;
            uint8_t b[200];
            int n = bacsc_app_encode_char_string(b, sizeof b, r->st.domain, strlen(r->st.domain));
            if (n < 0)
                return H_NEXT;
            rc = req_wp(it, BACSC_OBJ_NETWORK_PORT, d->sc_port, PROP_SITE_DOMAIN, b, (size_t)n);
        } else if (it->step == R_GENERATE) {
            rc = req_wp_enum(it, BACSC_OBJ_NETWORK_PORT, d->sc_port, BACSC_PROP_COMMAND,
                             NPC_GENERATE_CSR);
        } else {
            rc = req_arf(it, d->csr_file);
        }
        break;
    case BACSC_SITE_JOB_IMPORT:
    case BACSC_SITE_JOB_TRUST_ADD:
    case BACSC_SITE_JOB_TRUST_REMOVE: {
        bool import = r->job.kind == BACSC_SITE_JOB_IMPORT;
        if (d->sc_port == BACSC_SITE_NONE || d->cert_file == BACSC_SITE_NONE ||
            d->issuer_file[0] == BACSC_SITE_NONE) {
            fail_msg(it, "device has no BACnet/SC certificate files (run discover)");
            return H_FAIL;
        }
        int step = it->step;
        /* map trust steps onto the import ones */
        if (!import)
            step = step == T_READ       ? I_READ_ISSUERS
                   : step == T_WRITE    ? I_WRITE_ISSUER
                   : step == T_ACTIVATE ? I_ACTIVATE
                                        : I_CONFIRM;
        switch (step) {
        case I_READ_ISSUERS: {
            uint32_t f = d->issuer_file[it->sub];
            if (f == BACSC_SITE_NONE) {
                it->slot_has[it->sub] = false;
                return H_LOCAL; /* nothing to read: step_result decides */
            }
            rc = req_arf(it, f);
            break;
        }
        case I_WRITE_ISSUER: {
            const unsigned char *ca = import ? r->st.ca_der : it->data;
            size_t ca_len = import ? r->st.ca_len : it->data_len;
            if (it->slot < 0)
                return H_NEXT;
            if (r->job.kind == BACSC_SITE_JOB_TRUST_REMOVE)
                ca_len = 0; /* truncate only */
            rc = req_file_write(it, d->issuer_file[it->slot], ca, ca_len);
            break;
        }
        case I_WRITE_CERT:
            rc = req_file_write(it, d->cert_file, it->data, it->data_len);
            break;
        case I_VALIDATE:
            rc = req_wp_enum(it, BACSC_OBJ_NETWORK_PORT, d->sc_port, BACSC_PROP_COMMAND,
                             NPC_VALIDATE);
            break;
        case I_RESULT:
            if (it->sub == 0)
                rc = req_rp(it, BACSC_OBJ_NETWORK_PORT, d->sc_port, PROP_VALIDATION_RESULT);
            else
                rc = req_wp_enum(it, BACSC_OBJ_NETWORK_PORT, d->sc_port, BACSC_PROP_COMMAND,
                                 NPC_DISCARD);
            break;
        case I_ACTIVATE:
            if (it->sub == 1)
                rc = req_rp(it, BACSC_OBJ_NETWORK_PORT, d->sc_port, PROP_VALIDATION_RESULT);
            else
                rc = req_reinit(it);
            break;
        case I_CONFIRM:
            rc = req_rp(it, BACSC_OBJ_NETWORK_PORT, d->sc_port, BACSC_PROP_CHANGES_PENDING);
            break;
        }
        break;
    }
    case BACSC_SITE_JOB_MODE: {
        int m = r->mode_target;
        switch (it->step) {
        case M_HUBS: {
            if (m == BACSC_SITE_MODE_IP || d->sc_port == BACSC_SITE_NONE)
                return H_NEXT;
            const char *want = it->sub == 0 ? r->st.primary_hub : r->st.failover_hub;
            const char *have = it->sub == 0 ? d->primary_hub : d->failover_hub;
            if (!*want || strcmp(want, have) == 0) {
                if (it->sub == 0) {
                    it->sub = 1;
                    return step_issue(it);
                }
                return H_NEXT;
            }
            uint8_t b[300];
            int n = bacsc_app_encode_char_string(b, sizeof b, want, strlen(want));
            if (n < 0) {
                fail_msg(it, "hub URI too long");
                return H_FAIL;
            }
            rc = req_wp(it, BACSC_OBJ_NETWORK_PORT, d->sc_port,
                        it->sub == 0 ? PROP_PRIMARY_HUB : PROP_FAILOVER_HUB, b, (size_t)n);
            break;
        }
        case M_PORTS: {
            /* sub 0: the port that must be in service; sub 1: the other */
            uint32_t ip = d->ip_port, sc = d->sc_port;
            if (m != BACSC_SITE_MODE_IP && sc == BACSC_SITE_NONE) {
                fail_msg(it, "device has no BACnet/SC Network Port");
                return H_FAIL;
            }
            if (m != BACSC_SITE_MODE_SC && ip == BACSC_SITE_NONE) {
                fail_msg(it, "device has no BACnet/IP Network Port");
                return H_FAIL;
            }
            uint32_t port;
            bool oos;
            if (it->sub == 0) {
                port = m == BACSC_SITE_MODE_IP ? ip : sc;
                oos = false;
            } else {
                port = m == BACSC_SITE_MODE_IP ? sc : ip;
                oos = m != BACSC_SITE_MODE_DUAL;
                if (port == BACSC_SITE_NONE)
                    return H_NEXT;
            }
            uint8_t b[2];
            int n = bacsc_app_encode_boolean(b, sizeof b, oos);
            rc = req_wp(it, BACSC_OBJ_NETWORK_PORT, port, BACSC_PROP_OUT_OF_SERVICE, b, (size_t)n);
            break;
        }
        case M_ACTIVATE:
            if (it->sub == 1 && d->sc_port != BACSC_SITE_NONE)
                rc = req_rp(it, BACSC_OBJ_NETWORK_PORT, d->sc_port, PROP_VALIDATION_RESULT);
            else
                rc = req_reinit(it);
            break;
        case M_CONFIRM:
            /* A device that left the datalink we talk on (sc over BACnet/IP,
             * ip over BACnet/SC) cannot answer: the activation ACK is the
             * confirmation. */
            if ((m == BACSC_SITE_MODE_SC && r->io->datalink != BACSC_DATALINK_SC) ||
                (m == BACSC_SITE_MODE_IP && r->io->datalink == BACSC_DATALINK_SC))
                return H_NEXT;
            rc = req_rp(it, BACSC_OBJ_NETWORK_PORT,
                        m == BACSC_SITE_MODE_IP ? d->ip_port : d->sc_port,
                        BACSC_PROP_CHANGES_PENDING);
            break;
        }
        break;
    }
    }
    return rc == BACSC_OK ? H_AGAIN : H_FAIL;
}

static void describe_failure(item *it)
{
    if (it->error[0])
        return;
    char buf[160];
    bacsc_client_result_format(&it->res, buf, sizeof buf);
    fail_msg(it, "%s: %s", bacsc_site_step_name(it->r->job.kind, it->step), buf);
}

/* Pick the issuer slot for a trust add / import (site CA `fp`): -1 when the
 * device already has it; -2 when both slots hold other CAs. */
static int pick_slot(item *it, const unsigned char *fp)
{
    for (int i = 0; i < 2; i++)
        if (it->slot_has[i] && memcmp(it->slot_fp[i], fp, BACSC_SITE_FP_LEN) == 0)
            return -1;
    for (int i = 0; i < 2; i++)
        if (!it->slot_has[i] && it->dev.issuer_file[i] != BACSC_SITE_NONE)
            return i;
    return -2;
}

/* Process the completed request of the item's current step. */
static int step_result(item *it)
{
    run *r = it->r;
    bacsc_site_device *d = &it->dev;
    const bacsc_client_result *res = &it->res;
    switch (r->job.kind) {
    case BACSC_SITE_JOB_DISCOVER:
        switch (it->step) {
        case D_DEVICE:
            if (res->outcome != BACSC_CLIENT_COMPLEX_ACK)
                return H_FAIL;
            parse_device_rpm(it);
            return H_NEXT;
        case D_PORTS:
            if (res->outcome != BACSC_CLIENT_COMPLEX_ACK)
                return H_FAIL;
            parse_ports_rpm(it);
            return H_NEXT;
        case D_CERT: {
            int h = file_read_result(it);
            if (h != H_NEXT)
                return h;
            free(d->cert_der);
            d->cert_der = NULL;
            d->cert_len = 0;
            if (it->buf_len)
                site_object_to_der(0, it->buf, it->buf_len, &d->cert_der, &d->cert_len);
            return H_NEXT;
        }
        case D_ISSUER1:
        case D_ISSUER2: {
            int h = file_read_result(it);
            if (h != H_NEXT)
                return h;
            int slot = it->step - D_ISSUER1;
            fp_of_file(it, slot);
            d->has_issuer[slot] = it->slot_has[slot];
            memcpy(d->issuer_fp[slot], it->slot_fp[slot], BACSC_SITE_FP_LEN);
            return H_NEXT;
        }
        }
        return H_FAIL;
    case BACSC_SITE_JOB_REQUEST:
        if (it->step == R_DOMAIN) {
            /* A device without the proprietary site-domain property still
             * makes a CSR (CN = its name): only a timeout stops here. */
            return res->outcome == BACSC_CLIENT_TIMEOUT ? H_FAIL : H_NEXT;
        } else if (it->step == R_GENERATE) {
            if (res->outcome != BACSC_CLIENT_SIMPLE_ACK)
                return H_FAIL;
            return H_NEXT;
        } else {
            int h = file_read_result(it);
            if (h != H_NEXT)
                return h;
            unsigned char *der = NULL;
            size_t dl = 0;
            if (!it->buf_len || site_object_to_der(1, it->buf, it->buf_len, &der, &dl) != BACSC_OK) {
                fail_msg(it, "read-csr: the CSR file does not hold a CSR (%zu octets)",
                         it->buf_len);
                return H_FAIL;
            }
            free(d->csr_der);
            d->csr_der = der;
            d->csr_len = dl;
            if (bacsc_pki_uuid_random(d->csr_request_id) != BACSC_OK)
                d->csr_request_id[0] = 0;
            d->csr_created = bacsc_site_now(r->s);
            return H_NEXT;
        }
    case BACSC_SITE_JOB_IMPORT:
    case BACSC_SITE_JOB_TRUST_ADD:
    case BACSC_SITE_JOB_TRUST_REMOVE: {
        bool import = r->job.kind == BACSC_SITE_JOB_IMPORT;
        int step = it->step;
        if (!import)
            step = step == T_READ       ? I_READ_ISSUERS
                   : step == T_WRITE    ? I_WRITE_ISSUER
                   : step == T_ACTIVATE ? I_ACTIVATE
                                        : I_CONFIRM;
        switch (step) {
        case I_READ_ISSUERS: {
            if (it->completed) {
                int h = file_read_result(it);
                if (h != H_NEXT)
                    return h;
                fp_of_file(it, it->sub);
            }
            if (it->sub == 0) {
                reset_transfer(it);
                it->sub = 1;
                return H_AGAIN;
            }
            /* decide the slot */
            unsigned char fp[BACSC_SITE_FP_LEN];
            if (import)
                memcpy(fp, r->st.ca_fp, sizeof fp);
            else
                site_sha256(it->data, it->data_len, fp);
            if (r->job.kind == BACSC_SITE_JOB_TRUST_REMOVE) {
                it->slot = -1;
                for (int i = 0; i < 2; i++)
                    if (it->slot_has[i] && memcmp(it->slot_fp[i], fp, sizeof fp) == 0)
                        it->slot = i;
                if (it->slot < 0) {
                    fail_msg(it, "no action taken: issuer not installed");
                    return H_DONE;
                }
                if (memcmp(fp, r->st.ca_fp, sizeof fp) == 0 && d->mode == BACSC_SITE_MODE_SC) {
                    fail_msg(it, "refused: the site CA is this SC-only device's trust anchor");
                    return H_FAIL;
                }
            } else {
                it->slot = pick_slot(it, fp);
                if (it->slot == -2) {
                    fail_msg(it, "both issuer slots hold other CAs; remove one first "
                                 "(bacsc site trust remove)");
                    return H_FAIL;
                }
                if (it->slot == -1 && !import) {
                    fail_msg(it, "no action taken: issuer already installed");
                    return H_DONE;
                }
            }
            return H_NEXT;
        }
        case I_WRITE_ISSUER:
        case I_WRITE_CERT: {
            size_t len = step == I_WRITE_CERT ? it->data_len
                         : r->job.kind == BACSC_SITE_JOB_TRUST_REMOVE ? 0
                         : import                                     ? r->st.ca_len
                                                                      : it->data_len;
            int h = file_write_result(it, len);
            if (h == H_NEXT && step == I_WRITE_ISSUER && it->slot >= 0) {
                if (r->job.kind == BACSC_SITE_JOB_TRUST_REMOVE) {
                    it->slot_has[it->slot] = false;
                } else {
                    it->slot_has[it->slot] = true;
                    if (import)
                        memcpy(it->slot_fp[it->slot], r->st.ca_fp, BACSC_SITE_FP_LEN);
                    else
                        site_sha256(it->data, it->data_len, it->slot_fp[it->slot]);
                }
                d->has_issuer[it->slot] = it->slot_has[it->slot];
                memcpy(d->issuer_fp[it->slot], it->slot_fp[it->slot], BACSC_SITE_FP_LEN);
            }
            return h;
        }
        case I_VALIDATE:
            /* A failing set answers Error; Command_Validation_Result says why. */
            return res->outcome == BACSC_CLIENT_SIMPLE_ACK || res->outcome == BACSC_CLIENT_ERROR
                       ? H_NEXT
                       : H_FAIL;
        case I_RESULT: {
            if (it->sub == 1) {
                /* discard-changes sent (best effort); report the validation failure */
                return H_FAIL;
            }
            const uint8_t *val;
            size_t vl;
            if (!decode_rp(it, &val, &vl))
                return H_FAIL;
            char why[200] = "";
            if (validation_ok(val, vl, why, sizeof why))
                return H_NEXT;
            fail_msg(it, "validation failed on the device: %s (changes discarded; the device "
                         "keeps its previous configuration)", why);
            it->sub = 1;
            return H_AGAIN;
        }
        case I_ACTIVATE:
            if (it->sub == 1) {
                validation_reason(it, "activate-changes");
                return H_FAIL;
            }
            if (res->outcome == BACSC_CLIENT_ERROR) {
                it->sub = 1; /* read why */
                return H_AGAIN;
            }
            return res->outcome == BACSC_CLIENT_SIMPLE_ACK ? H_NEXT : H_FAIL;
        case I_CONFIRM: {
            const uint8_t *val;
            size_t vl;
            bacsc_value v;
            if (!decode_rp(it, &val, &vl) || !first_value(val, vl, &v) ||
                v.type != BACSC_TAG_BOOLEAN)
                return H_FAIL;
            if (v.v.boolean) {
                fail_msg(it, "confirm: changes still pending after activate-changes");
                return H_FAIL;
            }
            if (import) {
                free(d->cert_der);
                d->cert_der = malloc(it->data_len);
                if (d->cert_der) {
                    memcpy(d->cert_der, it->data, it->data_len);
                    d->cert_len = it->data_len;
                }
                free(d->csr_der);
                d->csr_der = NULL;
                d->csr_len = 0;
                d->csr_request_id[0] = 0;
            }
            return H_NEXT;
        }
        }
        return H_FAIL;
    }
    case BACSC_SITE_JOB_MODE:
        switch (it->step) {
        case M_HUBS:
            if (res->outcome != BACSC_CLIENT_SIMPLE_ACK)
                return H_FAIL;
            if (it->sub == 0) {
                snprintf(d->primary_hub, sizeof d->primary_hub, "%s", r->st.primary_hub);
                it->sub = 1;
                return H_AGAIN;
            }
            snprintf(d->failover_hub, sizeof d->failover_hub, "%s", r->st.failover_hub);
            return H_NEXT;
        case M_PORTS:
            if (res->outcome != BACSC_CLIENT_SIMPLE_ACK)
                return H_FAIL;
            if (it->sub == 0) {
                it->sub = 1;
                return H_AGAIN;
            }
            return H_NEXT;
        case M_ACTIVATE:
            if (it->sub == 1) {
                validation_reason(it, "activate-changes");
                return H_FAIL;
            }
            if (res->outcome == BACSC_CLIENT_ERROR && d->sc_port != BACSC_SITE_NONE) {
                it->sub = 1; /* read why */
                return H_AGAIN;
            }
            if (res->outcome != BACSC_CLIENT_SIMPLE_ACK)
                return H_FAIL;
            d->mode = r->mode_target; /* confirmed next where reachable */
            return H_NEXT;
        case M_CONFIRM: {
            const uint8_t *val;
            size_t vl;
            bacsc_value v;
            if (!decode_rp(it, &val, &vl) || !first_value(val, vl, &v) ||
                v.type != BACSC_TAG_BOOLEAN || v.v.boolean) {
                if (!it->error[0] && res->outcome == BACSC_CLIENT_COMPLEX_ACK)
                    fail_msg(it, "confirm: changes still pending after activate-changes");
                return H_FAIL;
            }
            d->mode = r->mode_target;
            return H_NEXT;
        }
        }
        return H_FAIL;
    }
    return H_FAIL;
}

/* ---- commits --------------------------------------------------------------------- */

static int commit_item(item *it, bool device_changed)
{
    run *r = it->r;
    bacsc_site *s = r->s;
    int rc = site_begin(s);
    if (rc != BACSC_OK)
        return rc;
    sqlite3_stmt *st = site_prep(s, "UPDATE job_items SET step=?,status=?,error=?,attempts=?,"
                                    "updated=? WHERE job=? AND instance=?");
    if (!st) {
        site_rollback(s);
        return BACSC_ERR_DB;
    }
    sqlite3_bind_int(st, 1, it->step);
    sqlite3_bind_int(st, 2, it->status);
    sqlite3_bind_text(st, 3, it->error, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, (int)it->attempts);
    sqlite3_bind_int64(st, 5, bacsc_site_now(s));
    sqlite3_bind_int64(st, 6, r->job.id);
    sqlite3_bind_int64(st, 7, it->instance);
    rc = sqlite3_step(st) == SQLITE_DONE ? BACSC_OK : site_dbfail(s, "item");
    sqlite3_finalize(st);
    if (rc == BACSC_OK && device_changed) {
        it->dev.last_seen = bacsc_site_now(s);
        rc = bacsc_site_device_put(s, &it->dev);
    }
    if (rc == BACSC_OK)
        rc = site_commit(s);
    if (rc != BACSC_OK)
        site_rollback(s);
    r->steps++;
    if (r->o.stop_after_steps && r->steps >= r->o.stop_after_steps)
        r->stop = true;
    return rc;
}

static void item_release(item *it)
{
    bacsc_site_device_clear(&it->dev);
    free(it->buf);
    it->buf = NULL;
    it->buf_cap = it->buf_len = 0;
}

/* Advance after a handler verdict; returns a fatal error or BACSC_OK. */
static int advance(item *it, int h)
{
    run *r = it->r;
    if (h == H_AGAIN)
        return BACSC_OK;
    if (h == H_FAIL) {
        describe_failure(it);
        it->status = BACSC_SITE_ITEM_FAILED;
        r->failed++;
    } else if (h == H_DONE) {
        it->status = it->error[0] && strncmp(it->error, "no action", 9) == 0
                         ? BACSC_SITE_ITEM_SKIPPED
                         : BACSC_SITE_ITEM_DONE;
        it->step = end_step(r->job.kind);
        if (it->status == BACSC_SITE_ITEM_SKIPPED)
            r->skipped++;
        else
            r->done++;
    } else {
        it->step++;
        it->error[0] = 0;
        reset_transfer(it);
        if (it->step >= end_step(r->job.kind)) {
            it->status = BACSC_SITE_ITEM_DONE;
            r->done++;
        }
    }
    /* The device row changes only with these steps' results. */
    bool dev = r->job.kind == BACSC_SITE_JOB_DISCOVER || it->status == BACSC_SITE_ITEM_DONE ||
               (h == H_NEXT && r->job.kind != BACSC_SITE_JOB_REQUEST);
    return commit_item(it, dev);
}

/* ---- the loop ------------------------------------------------------------------ */

static int load_items(run *r)
{
    sqlite3_stmt *st = site_prep(r->s, "SELECT instance,step,status,attempts,data FROM job_items "
                                       "WHERE job=? AND status=0 ORDER BY instance");
    if (!st)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(st, 1, r->job.id);
    size_t cap = 0;
    int rc = BACSC_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (r->n == cap) {
            cap = cap ? cap * 2 : 64;
            item *ni = realloc(r->items, cap * sizeof *ni);
            if (!ni) {
                rc = BACSC_ERR_NOMEM;
                break;
            }
            r->items = ni;
        }
        item *it = &r->items[r->n];
        memset(it, 0, sizeof *it);
        it->instance = (uint32_t)sqlite3_column_int64(st, 0);
        it->step = sqlite3_column_int(st, 1);
        it->status = sqlite3_column_int(st, 2);
        it->attempts = (unsigned)sqlite3_column_int(st, 3);
        int n = sqlite3_column_bytes(st, 4);
        if (n > 0) {
            it->data = malloc((size_t)n);
            if (!it->data) {
                rc = BACSC_ERR_NOMEM;
                break;
            }
            memcpy(it->data, sqlite3_column_blob(st, 4), (size_t)n);
            it->data_len = (size_t)n;
        }
        r->n++;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < r->n; i++)
        r->items[i].r = r;
    return rc;
}

static void report(run *r, bool final)
{
    if (!r->o.progress)
        return;
    bacsc_site_progress p = {.job = r->job.id, .kind = r->job.kind,
                             .total = r->job.total,
                             .done = r->job.done + r->done,
                             .failed = r->job.failed + r->failed,
                             .skipped = r->job.skipped + r->skipped,
                             .running = (unsigned)r->nactive, .final = final};
    r->o.progress(r->o.progress_user, &p);
}

/* Start an item: load its device; returns false if it finished at once. */
static bool activate(run *r, item *it)
{
    bool sc = r->io->datalink == BACSC_DATALINK_SC;
    int got = bacsc_site_device_get(r->s, it->instance, &it->dev);
    if (got != BACSC_OK ||
        bacsc_address_parse(sc ? it->dev.vmac : it->dev.address, &it->addr) != BACSC_OK ||
        it->addr.mac_len == 0) {
        snprintf(it->error, sizeof it->error,
                 "device %u: no %s address in the database (run discover%s)",
                 (unsigned)it->instance, sc ? "BACnet/SC (VMAC)" : "BACnet/IP",
                 sc ? " with --hub" : "");
        it->status = BACSC_SITE_ITEM_FAILED;
        r->failed++;
        r->fatal = commit_item(it, false);
        item_release(it);
        return false;
    }
    it->attempts++;
    /* Count the attempt now: a run killed before this device's first step
     * completes still tried it. */
    sqlite3_stmt *st = site_prep(r->s, "UPDATE job_items SET attempts=?,updated=? WHERE job=? "
                                       "AND instance=?");
    if (st) {
        sqlite3_bind_int(st, 1, (int)it->attempts);
        sqlite3_bind_int64(st, 2, bacsc_site_now(r->s));
        sqlite3_bind_int64(st, 3, r->job.id);
        sqlite3_bind_int64(st, 4, it->instance);
        if (sqlite3_step(st) != SQLITE_DONE)
            r->fatal = site_dbfail(r->s, "attempt");
        sqlite3_finalize(st);
    } else {
        r->fatal = BACSC_ERR_DB;
    }
    it->slot = -1;
    it->error[0] = 0;
    reset_transfer(it);
    return true;
}

/* Issue requests for an item until one is in flight or it finishes.
 * Returns true while the item stays active. */
static bool drive(run *r, item *it)
{
    while (it->status == BACSC_SITE_ITEM_PENDING && !it->busy && !r->stop) {
        it->completed = false;
        int h = step_issue(it);
        if (h == H_AGAIN && it->busy)
            return true;
        if (h == H_LOCAL)
            h = step_result(it);
        int fr = advance(it, h);
        if (fr != BACSC_OK) {
            r->fatal = fr;
            return false;
        }
    }
    return it->status == BACSC_SITE_ITEM_PENDING && it->busy;
}

int bacsc_site_job_run(bacsc_site *s, int64_t job_id, const bacsc_site_io *io,
                       const bacsc_site_run_opts *opts, bacsc_site_summary *sum)
{
    if (!s || !io || !io->client || !io->poll || !io->now)
        return BACSC_ERR_INVALID_ARG;
    run r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.io = io;
    if (opts)
        r.o = *opts;
    if (!r.o.concurrency)
        r.o.concurrency = BACSC_SITE_CONCURRENCY_DEFAULT;
    if (r.o.concurrency > BACSC_SITE_CONCURRENCY_MAX)
        r.o.concurrency = BACSC_SITE_CONCURRENCY_MAX;
    if (!r.o.chunk || r.o.chunk > 1200)
        r.o.chunk = 1024;
    if (!r.o.progress_interval_us)
        r.o.progress_interval_us = 200000;
    int rc = bacsc_site_job_get(s, job_id, &r.job);
    if (rc != BACSC_OK)
        return rc;
    rc = bacsc_site_settings_get(s, &r.st);
    if (rc != BACSC_OK && r.job.kind != BACSC_SITE_JOB_DISCOVER)
        return rc;
    if (r.job.kind == BACSC_SITE_JOB_MODE) {
        const char *p = strstr(r.job.args, "\"mode\":");
        r.mode_target = p ? atoi(p + 7) : BACSC_SITE_MODE_UNKNOWN;
    }
    if ((rc = load_items(&r)) != BACSC_OK)
        goto out;
    r.active = calloc(r.o.concurrency, sizeof *r.active);
    if (!r.active) {
        rc = BACSC_ERR_NOMEM;
        goto out;
    }
    uint64_t last_report = 0;
    report(&r, false);
    for (;;) {
        /* fill the window */
        while (!r.stop && !r.fatal && r.nactive < r.o.concurrency && r.next < r.n) {
            item *it = &r.items[r.next++];
            if (!activate(&r, it))
                continue;
            if (drive(&r, it))
                r.active[r.nactive++] = it;
            else
                item_release(it);
        }
        if (r.fatal) {
            rc = r.fatal;
            break;
        }
        if (r.nactive == 0 && (r.next >= r.n || r.stop))
            break;
        uint64_t now = io->now(io->user);
        if (now - last_report >= r.o.progress_interval_us) {
            report(&r, false);
            last_report = now;
        }
        uint64_t exp = bacsc_client_expiry(io->client);
        uint64_t wait = exp == UINT64_MAX ? 100000 : exp > now ? exp - now : 0;
        if (wait > 100000)
            wait = 100000;
        if ((rc = io->poll(io->user, wait)) != BACSC_OK)
            break;
        bacsc_client_handle_expiry(io->client, io->now(io->user));
        for (size_t i = 0; i < r.nactive;) {
            item *it = r.active[i];
            if (it->completed) {
                it->busy = false;
                int h = step_result(it);
                it->completed = false;
                if ((rc = advance(it, h)) != BACSC_OK) {
                    r.fatal = rc;
                    break;
                }
                if (!drive(&r, it)) {
                    item_release(it);
                    r.active[i] = r.active[--r.nactive];
                    continue;
                }
            }
            i++;
        }
        if (r.fatal) {
            rc = r.fatal;
            break;
        }
        if (r.stop && r.nactive) {
            /* stop_after_steps: abandon in-flight requests like a killed tool */
            break;
        }
    }
    if (rc == BACSC_OK && r.stop) {
        rc = BACSC_ERR_AGAIN;
    } else if (rc == BACSC_OK) {
        bacsc_site_job j;
        if ((rc = bacsc_site_job_get(s, job_id, &j)) == BACSC_OK) {
            int state = j.failed == 0                            ? BACSC_SITE_JOB_DONE
                        : j.done == 0 && j.skipped == 0          ? BACSC_SITE_JOB_FAILED
                                                                 : BACSC_SITE_JOB_PARTIAL;
            sqlite3_stmt *st = site_prep(s, "UPDATE jobs SET state=?,finished=? WHERE id=?");
            if (st) {
                sqlite3_bind_int(st, 1, state);
                sqlite3_bind_int64(st, 2, bacsc_site_now(s));
                sqlite3_bind_int64(st, 3, job_id);
                if (sqlite3_step(st) != SQLITE_DONE)
                    rc = site_dbfail(s, "job finish");
                sqlite3_finalize(st);
            } else {
                rc = BACSC_ERR_DB;
            }
            if (sum) {
                sum->total = j.total;
                sum->done = j.done;
                sum->failed = j.failed;
                sum->skipped = j.skipped;
                sum->state = state;
            }
        }
    }
    report(&r, true);
out:
    /* Requests still in flight point at our items: let them complete (their
     * results are not committed — as if the tool had been killed) before the
     * items go away. Should the network fail meanwhile, the items are leaked
     * rather than left to a later completion callback. */
    for (;;) {
        bool busy = false;
        for (size_t i = 0; i < r.nactive; i++)
            if (r.active[i]->busy && !r.active[i]->completed)
                busy = true;
        if (!busy)
            break;
        if (io->poll(io->user, 100000) != BACSC_OK) {
            bacsc_site_settings_clear(&r.st);
            return rc != BACSC_OK ? rc : BACSC_ERR_IO;
        }
        bacsc_client_handle_expiry(io->client, io->now(io->user));
    }
    for (size_t i = 0; i < r.nactive; i++)
        item_release(r.active[i]);
    for (size_t i = 0; i < r.n; i++)
        free(r.items[i].data);
    free(r.items);
    free(r.active);
    bacsc_site_settings_clear(&r.st);
    return rc;
}
