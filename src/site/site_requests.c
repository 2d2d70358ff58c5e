/*
 * site_requests.c — the requests a workflow step sends and the decoding of
 * their answers (site_workflow.h). Completion callbacks only copy the
 * result into the item; the engine processes it after the poll, so nothing
 * re-enters the client from its own callback.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/tags.h"
#include "site_workflow.h"

void site_fail_msg(site_item *it, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->error, sizeof it->error, fmt, ap);
    va_end(ap);
}

static void on_done(void *user, const bacsc_client_result *r)
{
    site_item *it = user;
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

static int sent(site_item *it, int rc)
{
    if (rc < 0) {
        site_fail_msg(it, "cannot send request: %s", bacsc_strerror(rc));
        return H_FAIL;
    }
    it->busy = true;
    return H_AGAIN;
}

static uint64_t now_us(const site_item *it)
{
    return it->r->io->now(it->r->io->user);
}

int site_req_rp(site_item *it, uint16_t type, uint32_t inst, uint32_t prop)
{
    bacsc_rp_request rp = {.object = {type, inst}, .property = prop};
    return sent(it, bacsc_client_read_property(it->r->io->client, &it->addr, &rp, on_done, it,
                                               now_us(it)));
}

int site_req_rpm(site_item *it, const bacsc_rpm_spec *specs, size_t n)
{
    return sent(it, bacsc_client_read_property_multiple(it->r->io->client, &it->addr, specs, n,
                                                        on_done, it, now_us(it)));
}

int site_req_wp(site_item *it, uint16_t type, uint32_t inst, uint32_t prop, const uint8_t *val,
                size_t len)
{
    bacsc_wp_request wp = {.object = {type, inst}, .property = prop, .value = val,
                           .value_len = len};
    return sent(it, bacsc_client_write_property(it->r->io->client, &it->addr, &wp, on_done, it,
                                                now_us(it)));
}

int site_req_wp_enum(site_item *it, uint16_t type, uint32_t inst, uint32_t prop, uint32_t v)
{
    uint8_t b[8];
    int n = bacsc_app_encode_enumerated(b, sizeof b, v);
    return site_req_wp(it, type, inst, prop, b, (size_t)n);
}

int site_req_wp_string(site_item *it, uint16_t type, uint32_t inst, uint32_t prop,
                       const char *text)
{
    uint8_t b[BACSC_URI_MAX + 16];
    int n = bacsc_app_encode_char_string(b, sizeof b, text, strlen(text));
    if (n < 0) {
        site_fail_msg(it, "value too long (%zu octets)", strlen(text));
        return H_FAIL;
    }
    return site_req_wp(it, type, inst, prop, b, (size_t)n);
}

int site_req_port_command(site_item *it, uint32_t command)
{
    return site_req_wp_enum(it, BACSC_OBJ_NETWORK_PORT, it->dev.sc_port, BACSC_PROP_COMMAND,
                            command);
}

int site_req_login(site_item *it)
{
    const char *pw = it->r->o.password;
    bacsc_dcc_request d = {.state = BACSC_DCC_ENABLE, .has_password = true};
    d.password.charset = 0;
    d.password.data = (const uint8_t *)pw;
    d.password.len = strlen(pw);
    return sent(it, bacsc_client_dcc(it->r->io->client, &it->addr, &d, on_done, it, now_us(it)));
}

int site_req_read_file(site_item *it, uint32_t file)
{
    bacsc_arf_request a = {.file = {BACSC_OBJ_FILE, file}, .access = BACSC_FILE_STREAM,
                           .start = (int32_t)it->offset, .count = it->r->o.chunk};
    return sent(it, bacsc_client_atomic_read_file(it->r->io->client, &it->addr, &a, on_done, it,
                                                  now_us(it)));
}

int site_req_write_file(site_item *it, uint32_t file, const unsigned char *data, size_t len)
{
    if (it->sub == 0) {
        uint8_t b[4];
        int n = bacsc_app_encode_unsigned(b, sizeof b, 0);
        return site_req_wp(it, BACSC_OBJ_FILE, file, BACSC_PROP_FILE_SIZE, b, (size_t)n);
    }
    size_t left = len - it->offset, n = left < it->r->o.chunk ? left : it->r->o.chunk;
    bacsc_awf_request a = {.file = {BACSC_OBJ_FILE, file}, .access = BACSC_FILE_STREAM,
                           .start = (int32_t)it->offset, .data = data + it->offset,
                           .data_len = n};
    return sent(it, bacsc_client_atomic_write_file(it->r->io->client, &it->addr, &a, on_done, it,
                                                   now_us(it)));
}

int site_req_activate(site_item *it)
{
    bacsc_reinit_request rq = {.state = BACSC_REINIT_ACTIVATE_CHANGES};
    const char *pw = it->r->o.password;
    if (pw && *pw) {
        rq.has_password = true;
        rq.password.charset = 0;
        rq.password.data = (const uint8_t *)pw;
        rq.password.len = strlen(pw);
    }
    return sent(it, bacsc_client_reinitialize(it->r->io->client, &it->addr, &rq, on_done, it,
                                              now_us(it)));
}

int site_write_file_result(site_item *it, size_t len)
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

static bool buf_append(site_item *it, const uint8_t *data, size_t len)
{
    if (it->buf_len + len > SITE_MAX_FILE) {
        site_fail_msg(it, "file larger than %u octets", SITE_MAX_FILE);
        return false;
    }
    if (it->buf_len + len > it->buf_cap) {
        size_t cap = (it->buf_len + len) * 2;
        unsigned char *nb = realloc(it->buf, cap);
        if (!nb) {
            site_fail_msg(it, "out of memory");
            return false;
        }
        it->buf = nb;
        it->buf_cap = cap;
    }
    if (len)
        memcpy(it->buf + it->buf_len, data, len);
    it->buf_len += len;
    return true;
}

int site_read_file_result(site_item *it)
{
    if (it->res.outcome != BACSC_CLIENT_COMPLEX_ACK)
        return H_FAIL;
    bacsc_arf_ack a;
    bacsc_fault f;
    if (bacsc_arf_ack_decode(it->ack, it->ack_len, &a, &f) < 0 ||
        a.access != BACSC_FILE_STREAM) {
        site_fail_msg(it, "AtomicReadFile answer does not decode");
        return H_FAIL;
    }
    if (!buf_append(it, a.data, a.data_len))
        return H_FAIL;
    it->offset += a.data_len;
    return a.end_of_file || a.data_len == 0 ? H_NEXT : H_AGAIN;
}

void site_reset_transfer(site_item *it)
{
    it->sub = 0;
    it->offset = 0;
    it->buf_len = 0;
}

/* ---- decoding ------------------------------------------------------------------ */

void site_fp_of_buf(site_item *it, int slot)
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

bool site_first_value(const uint8_t *enc, size_t len, bacsc_value *v)
{
    bacsc_value vals[8];
    int n = bacsc_values_decode(enc, len, vals, 8);
    if (n < 1)
        return false;
    *v = vals[0];
    return true;
}

bool site_rp_value(const site_item *it, const uint8_t **val, size_t *len)
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

bool site_rp_is_boolean(const site_item *it, bool want)
{
    const uint8_t *val;
    size_t vl;
    bacsc_value v;
    return site_rp_value(it, &val, &vl) && site_first_value(val, vl, &v) &&
           v.type == BACSC_TAG_BOOLEAN && v.v.boolean == want;
}

/*
 * Command_Validation_Result (docs/device-commissioning.md): a
 * CharacterString "valid" or "<outcome>: <detail>". Read tolerantly: an
 * empty value, Null, Boolean TRUE or Enumerated/Unsigned 0 also mean
 * success; anything else is a failure described by its text.
 */
bool site_validation_ok(const uint8_t *enc, size_t len, char *why, size_t cap)
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

void site_validation_reason(site_item *it, const char *what)
{
    const uint8_t *val;
    size_t vl;
    char why[200] = "";
    if (site_rp_value(it, &val, &vl))
        site_validation_ok(val, vl, why, sizeof why);
    site_fail_msg(it, "%s: device refused: %s", what, why[0] ? why : "no reason given");
}
