/*
 * services.c — BACnet service payload codecs (bacsc/services.h).
 *
 * Decoding walks the service data with a cursor that records, on the first
 * problem, the Reject reason a server answers with (bacsc_fault). Encoding
 * goes through a small writer that runs every piece in "size only" mode when
 * the caller passes buf == NULL, so size and bytes come from the same code.
 */
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/services.h"

/* ---- decode cursor ------------------------------------------------------- */

typedef struct cursor {
    const uint8_t *p;     /* start of the service data */
    size_t len;
    size_t pos;
    bacsc_fault *fault;
} cursor;

/* Stands in for a NULL input so no arithmetic is ever done on NULL. */
static const uint8_t empty_input[1];

static void cur_init(cursor *c, const uint8_t *buf, size_t len, bacsc_fault *f)
{
    c->p = buf ? buf : empty_input;
    c->len = buf ? len : 0;
    c->pos = 0;
    c->fault = f;
    if (f)
        memset(f, 0, sizeof *f);
}

static const uint8_t *cur_at(const cursor *c) { return c->p + c->pos; }
static size_t cur_left(const cursor *c) { return c->len - c->pos; }

static int reject(cursor *c, uint8_t reason, const char *what)
{
    if (c->fault) {
        c->fault->kind = BACSC_FAULT_REJECT;
        c->fault->reason = reason;
        c->fault->offset = c->pos;
        c->fault->what = what;
    }
    return BACSC_ERR_MALFORMED;
}

/* A required item is absent: missing at the end, else a wrong tag. */
static int absent(cursor *c, const char *what)
{
    if (cur_left(c) == 0)
        return reject(c, BACSC_REJECT_MISSING_REQUIRED_PARAMETER, what);
    return reject(c, BACSC_REJECT_INVALID_TAG, what);
}

static int cur_end(cursor *c)
{
    if (cur_left(c) != 0)
        return reject(c, BACSC_REJECT_TOO_MANY_ARGUMENTS, "unexpected data after the last parameter");
    return (int)c->pos;
}

/* Context-tagged primitive of application type `type`; *present says whether
 * it was there (optional items), or a fault is raised (required items). */
static int ctx_value(cursor *c, uint8_t tag, uint8_t type, bool optional, bool *present,
                     bacsc_value *v, const char *what)
{
    int n = bacsc_ctx_decode_value(cur_at(c), cur_left(c), tag, type, v);
    if (n == BACSC_ERR_NOT_FOUND) {
        if (present)
            *present = false;
        return optional ? 0 : absent(c, what);
    }
    if (n < 0)
        return reject(c, BACSC_REJECT_INVALID_TAG, what);
    if (present)
        *present = true;
    c->pos += (size_t)n;
    return n;
}

/* Fast path for a context tag below 15 with 1..4 content octets read as
 * an unsigned number (Unsigned, Enumerated, ObjectIdentifier): returns the
 * octets consumed, or 0 to let the general path decide (absent, longer,
 * malformed). */
static inline int fast_ctx_u32(cursor *c, uint8_t tag, uint32_t *out)
{
    size_t left = cur_left(c);
    if (left < 2)
        return 0;
    const uint8_t *p = cur_at(c);
    uint8_t n = p[0] & 7;
    if ((p[0] & 0xF8) != (uint8_t)(tag << 4 | 0x08) || n == 0 || n > 4 || n > left - 1)
        return 0;
    uint32_t v = 0;
    for (uint8_t i = 1; i <= n; i++)
        v = v << 8 | p[i];
    *out = v;
    c->pos += 1u + n;
    return 1 + n;
}

static int ctx_u32(cursor *c, uint8_t tag, uint32_t max, bool optional, bool *present,
                   uint32_t *out, const char *what)
{
    uint32_t quick;
    if (optional) {
        /* plainly another item (or nothing): absent, as ctx_value() would say */
        size_t left = cur_left(c);
        uint8_t o = left ? cur_at(c)[0] : 0;
        if (left == 0 || !(o & 0x08) || ((o >> 4) != tag && (o >> 4) != 15)) {
            if (present)
                *present = false;
            return 0;
        }
    }
    int fn = fast_ctx_u32(c, tag, &quick);
    if (fn > 0) {
        if (quick > max) {
            c->pos -= (size_t)fn;
            return reject(c, BACSC_REJECT_PARAMETER_OUT_OF_RANGE, what);
        }
        if (present)
            *present = true;
        *out = quick;
        return fn;
    }
    bacsc_value v;
    bool here = false;
    int n = ctx_value(c, tag, BACSC_TAG_UNSIGNED, optional, &here, &v, what);
    if (n < 0)
        return n;
    if (present)
        *present = here;
    if (here) {
        if (v.v.unsigned_ > max) {
            c->pos -= (size_t)n;
            return reject(c, BACSC_REJECT_PARAMETER_OUT_OF_RANGE, what);
        }
        *out = (uint32_t)v.v.unsigned_;
    }
    return n;
}

static int ctx_enum(cursor *c, uint8_t tag, uint32_t max, uint32_t *out, const char *what)
{
    uint32_t quick;
    int fn = fast_ctx_u32(c, tag, &quick);
    if (fn > 0) {
        if (quick > max) {
            c->pos -= (size_t)fn;
            return reject(c, BACSC_REJECT_PARAMETER_OUT_OF_RANGE, what);
        }
        *out = quick;
        return fn;
    }
    bacsc_value v;
    int n = ctx_value(c, tag, BACSC_TAG_ENUMERATED, false, NULL, &v, what);
    if (n < 0)
        return n;
    if (v.v.enumerated > max) {
        c->pos -= (size_t)n;
        return reject(c, BACSC_REJECT_PARAMETER_OUT_OF_RANGE, what);
    }
    *out = v.v.enumerated;
    return n;
}

static int ctx_oid(cursor *c, uint8_t tag, bacsc_object_id *oid, const char *what)
{
    uint32_t quick = 0;
    if (cur_left(c) >= 5 && cur_at(c)[0] == (uint8_t)(tag << 4 | 0x0C)) {
        int fn = fast_ctx_u32(c, tag, &quick);
        oid->type = (uint16_t)(quick >> 22);
        oid->instance = quick & BACSC_MAX_INSTANCE;
        return fn;
    }
    bacsc_value v;
    int n = ctx_value(c, tag, BACSC_TAG_OBJECT_ID, false, NULL, &v, what);
    if (n > 0)
        *oid = v.v.oid;
    return n;
}

static int ctx_signed32(cursor *c, uint8_t tag, int32_t *out, const char *what)
{
    bacsc_value v;
    int n = ctx_value(c, tag, BACSC_TAG_SIGNED, false, NULL, &v, what);
    if (n < 0)
        return n;
    if (v.v.signed_ < INT32_MIN || v.v.signed_ > INT32_MAX) {
        c->pos -= (size_t)n;
        return reject(c, BACSC_REJECT_PARAMETER_OUT_OF_RANGE, what);
    }
    *out = (int32_t)v.v.signed_;
    return n;
}

/* Application-tagged value of `type`. */
static int app_value(cursor *c, uint8_t type, bacsc_value *v, const char *what)
{
    if (cur_left(c) == 0)
        return reject(c, BACSC_REJECT_MISSING_REQUIRED_PARAMETER, what);
    bacsc_tag t;
    if (bacsc_tag_decode(cur_at(c), cur_left(c), &t) < 0 || t.context)
        return reject(c, BACSC_REJECT_INVALID_TAG, what);
    if (t.number != type)
        return reject(c, BACSC_REJECT_INVALID_PARAMETER_DATA_TYPE, what);
    int n = bacsc_value_decode(cur_at(c), cur_left(c), v);
    if (n < 0)
        return reject(c, BACSC_REJECT_INVALID_TAG, what);
    c->pos += (size_t)n;
    return n;
}

static int app_u32(cursor *c, uint32_t max, uint32_t *out, const char *what)
{
    bacsc_value v;
    int n = app_value(c, BACSC_TAG_UNSIGNED, &v, what);
    if (n < 0)
        return n;
    if (v.v.unsigned_ > max) {
        c->pos -= (size_t)n;
        return reject(c, BACSC_REJECT_PARAMETER_OUT_OF_RANGE, what);
    }
    *out = (uint32_t)v.v.unsigned_;
    return n;
}

static int app_enum(cursor *c, uint32_t max, uint32_t *out, const char *what)
{
    bacsc_value v;
    int n = app_value(c, BACSC_TAG_ENUMERATED, &v, what);
    if (n < 0)
        return n;
    if (v.v.enumerated > max) {
        c->pos -= (size_t)n;
        return reject(c, BACSC_REJECT_PARAMETER_OUT_OF_RANGE, what);
    }
    *out = v.v.enumerated;
    return n;
}

static int app_signed32(cursor *c, int32_t *out, const char *what)
{
    bacsc_value v;
    int n = app_value(c, BACSC_TAG_SIGNED, &v, what);
    if (n < 0)
        return n;
    if (v.v.signed_ < INT32_MIN || v.v.signed_ > INT32_MAX) {
        c->pos -= (size_t)n;
        return reject(c, BACSC_REJECT_PARAMETER_OUT_OF_RANGE, what);
    }
    *out = (int32_t)v.v.signed_;
    return n;
}

/* Opening tag `tag` .. matching closing tag: content returned. */
static int enclosed(cursor *c, uint8_t tag, const uint8_t **content, size_t *clen,
                    const char *what)
{
    int n = bacsc_enclosed_decode(cur_at(c), cur_left(c), tag, content, clen);
    if (n == BACSC_ERR_NOT_FOUND)
        return absent(c, what);
    if (n < 0) {
        /* the opening tag is there but nesting is broken or truncated */
        return reject(c, BACSC_REJECT_INVALID_TAG, what);
    }
    c->pos += (size_t)n;
    return n;
}

static bool at_opening(const cursor *c, uint8_t tag)
{
    return bacsc_tag_is_opening(cur_at(c), cur_left(c), tag);
}

static bool at_closing(const cursor *c, uint8_t tag)
{
    return bacsc_tag_is_closing(cur_at(c), cur_left(c), tag);
}

/* Sub-cursor over enclosed content, sharing the fault (offsets relative to
 * the outer input). */
static void sub_init(cursor *sub, const cursor *outer, const uint8_t *content, size_t clen)
{
    sub->p = content;
    sub->len = clen;
    sub->pos = 0;
    sub->fault = outer->fault;
}

static int sub_fix(int rc, const cursor *outer, const cursor *sub)
{
    if (rc < 0 && outer->fault)
        outer->fault->offset += (size_t)(sub->p - outer->p);
    return rc;
}

/* ---- writer ---------------------------------------------------------------- */

typedef struct writer {
    uint8_t *buf;        /* NULL: size only */
    size_t cap;
    size_t len;
    int err;
} writer;

static void w_init(writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->len = 0;
    w->err = 0;
}

static uint8_t *w_dst(const writer *w) { return w->buf ? w->buf + w->len : NULL; }
static size_t w_cap(const writer *w) { return w->buf ? w->cap - w->len : 0; }

static void w_add(writer *w, int n)
{
    if (w->err)
        return;
    if (n < 0)
        w->err = n;
    else
        w->len += (size_t)n;
}

static void w_raw(writer *w, const uint8_t *data, size_t n)
{
    if (w->err)
        return;
    if (n && data == NULL) {
        w->err = BACSC_ERR_INVALID_ARG;
        return;
    }
    if (n > (size_t)0x7FFFFFFF - w->len) {
        w->err = BACSC_ERR_INVALID_ARG;
        return;
    }
    if (w->buf) {
        if (w->cap - w->len < n) {
            w->err = BACSC_ERR_BUFFER_TOO_SMALL;
            return;
        }
        if (n)
            memmove(w->buf + w->len, data, n);
    }
    w->len += n;
}

static int w_done(const writer *w)
{
    if (w->err)
        return w->err;
    if (w->len > (size_t)0x7FFFFFFF)
        return BACSC_ERR_INVALID_ARG;
    return (int)w->len;
}

static bool oid_ok(const bacsc_object_id *o)
{
    return o->type <= BACSC_MAX_OBJECT_TYPE && o->instance <= BACSC_MAX_INSTANCE;
}

/* Write `n` octets produced by `fill` when they fit (or only count them). */
static uint8_t *w_reserve(writer *w, size_t n)
{
    if (w->err)
        return NULL;
    if (w->buf && w->cap - w->len < n) {
        w->err = BACSC_ERR_BUFFER_TOO_SMALL;
        return NULL;
    }
    uint8_t *p = w->buf ? w->buf + w->len : NULL;
    w->len += n;
    return p;
}

/* Fast paths for the items every service is made of: a context tag below 15
 * with a content of at most 4 octets has a one-octet header. */
static void w_ctx_unsigned(writer *w, uint8_t tag, uint64_t u)
{
    unsigned n = u < 0x100 ? 1 : u < 0x10000 ? 2 : u < 0x1000000 ? 3 : u <= 0xFFFFFFFFu ? 4 : 5;
    if (tag >= 15 || n > 4) {
        w_add(w, bacsc_ctx_encode_unsigned(w_dst(w), w_cap(w), tag, u));
        return;
    }
    uint8_t *p = w_reserve(w, 1 + n);
    if (p) {
        p[0] = (uint8_t)(tag << 4 | 0x08 | n);
        for (unsigned i = 0; i < n; i++)
            p[1 + i] = (uint8_t)(u >> (8 * (n - 1 - i)));
    }
}

static void w_ctx_oid(writer *w, uint8_t tag, const bacsc_object_id *o)
{
    uint8_t *p = w_reserve(w, 5);
    if (p) {
        uint32_t v = (uint32_t)(o->type & BACSC_MAX_OBJECT_TYPE) << 22 |
                     (o->instance & BACSC_MAX_INSTANCE);
        p[0] = (uint8_t)(tag << 4 | 0x0C);
        p[1] = (uint8_t)(v >> 24);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 8);
        p[4] = (uint8_t)v;
    }
}

static void w_open_close(writer *w, uint8_t tag, uint8_t lvt)
{
    uint8_t *p = w_reserve(w, 1);
    if (p)
        p[0] = (uint8_t)(tag << 4 | 0x08 | lvt);
}

/* Tags used with these helpers are all below 15. */
#define W_CTX_OID(w, tag, o) w_ctx_oid(w, tag, o)
#define W_CTX_UNSIGNED(w, tag, u) w_ctx_unsigned(w, tag, u)
#define W_CTX_SIGNED(w, tag, i) w_add(w, bacsc_ctx_encode_signed(w_dst(w), w_cap(w), tag, i))
#define W_CTX_ENUM(w, tag, e) w_ctx_unsigned(w, tag, e)
#define W_OPEN(w, tag) w_open_close(w, tag, 6)
#define W_CLOSE(w, tag) w_open_close(w, tag, 7)
#define W_APP(w, val) w_add(w, bacsc_value_encode(w_dst(w), w_cap(w), val))
/* One application-tagged item of each type. */
#define W_APP_OF(w, tag, member, x)                                                              \
    w_add(w, bacsc_value_encode(w_dst(w), w_cap(w), &(bacsc_value){.type = (tag), .v.member = (x)}))
#define W_APP_OID(w, o) W_APP_OF(w, BACSC_TAG_OBJECT_ID, oid, o)
#define W_APP_UNSIGNED(w, u) W_APP_OF(w, BACSC_TAG_UNSIGNED, unsigned_, u)
#define W_APP_SIGNED(w, i) W_APP_OF(w, BACSC_TAG_SIGNED, signed_, i)
#define W_APP_ENUM(w, e) W_APP_OF(w, BACSC_TAG_ENUMERATED, enumerated, e)
#define W_APP_BOOL(w, b) W_APP_OF(w, BACSC_TAG_BOOLEAN, boolean, b)
#define W_APP_OCTETS(w, os) W_APP_OF(w, BACSC_TAG_OCTET_STRING, octets, os)
#define W_APP_CHARS(w, cs) W_APP_OF(w, BACSC_TAG_CHARACTER_STRING, chars, cs)

/* Enclosed value must itself be well formed: a sequence of complete elements. */
static bool value_ok(const uint8_t *v, size_t n)
{
    if (n && v == NULL)
        return false;
    size_t pos = 0;
    while (pos < n) {
        int e = bacsc_element_len(v + pos, n - pos);
        if (e < 0)
            return false;
        pos += (size_t)e;
    }
    return true;
}

/* ---- Who-Is / I-Am ----------------------------------------------------------- */

int bacsc_whois_encode(uint8_t *buf, size_t cap, const bacsc_whois *wi)
{
    writer w;
    w_init(&w, buf, cap);
    if (wi->has_range) {
        if (wi->low > BACSC_MAX_INSTANCE || wi->high > BACSC_MAX_INSTANCE)
            return BACSC_ERR_INVALID_ARG;
        W_CTX_UNSIGNED(&w, 0, wi->low);
        W_CTX_UNSIGNED(&w, 1, wi->high);
    }
    return w_done(&w);
}

int bacsc_whois_decode(const uint8_t *buf, size_t len, bacsc_whois *wi, bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(wi, 0, sizeof *wi);
    if (cur_left(&c) == 0)
        return 0;
    int rc;
    if ((rc = ctx_u32(&c, 0, BACSC_MAX_INSTANCE, false, NULL, &wi->low,
                      "Who-Is device-instance-range-low-limit")) < 0 ||
        (rc = ctx_u32(&c, 1, BACSC_MAX_INSTANCE, false, NULL, &wi->high,
                      "Who-Is device-instance-range-high-limit")) < 0)
        return rc;
    wi->has_range = true;
    return cur_end(&c);
}

bool bacsc_whois_matches(const bacsc_whois *wi, uint32_t instance)
{
    return !wi->has_range || (instance >= wi->low && instance <= wi->high);
}

int bacsc_iam_encode(uint8_t *buf, size_t cap, const bacsc_iam *iam)
{
    if (!oid_ok(&iam->device) || iam->segmentation > 3)
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    W_APP_OID(&w, iam->device);
    W_APP_UNSIGNED(&w, iam->max_apdu);
    W_APP_ENUM(&w, iam->segmentation);
    W_APP_UNSIGNED(&w, iam->vendor_id);
    return w_done(&w);
}

int bacsc_iam_decode(const uint8_t *buf, size_t len, bacsc_iam *iam, bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(iam, 0, sizeof *iam);
    bacsc_value v;
    uint32_t seg = 0, vendor = 0;
    int rc;
    if ((rc = app_value(&c, BACSC_TAG_OBJECT_ID, &v, "I-Am iAmDeviceIdentifier")) < 0)
        return rc;
    if (v.v.oid.type != BACSC_OBJ_DEVICE) {
        c.pos -= (size_t)rc;
        return reject(&c, BACSC_REJECT_PARAMETER_OUT_OF_RANGE,
                      "I-Am iAmDeviceIdentifier is not a device object");
    }
    iam->device = v.v.oid;
    if ((rc = app_u32(&c, 0xFFFFFFFFu, &iam->max_apdu, "I-Am maxAPDULengthAccepted")) < 0 ||
        (rc = app_enum(&c, 3, &seg, "I-Am segmentationSupported")) < 0 ||
        (rc = app_u32(&c, 0xFFFF, &vendor, "I-Am vendorID")) < 0)
        return rc;
    iam->segmentation = (uint8_t)seg;
    iam->vendor_id = (uint16_t)vendor;
    return cur_end(&c);
}

/* ---- ReadProperty -------------------------------------------------------------- */

static void w_prop_ref(writer *w, const bacsc_object_id *o, uint32_t prop, bool has_index,
                       uint32_t index)
{
    W_CTX_OID(w, 0, o);
    W_CTX_ENUM(w, 1, prop);
    if (has_index)
        W_CTX_UNSIGNED(w, 2, index);
}

static int d_prop_ref(cursor *c, bacsc_object_id *o, uint32_t *prop, bool *has_index,
                      uint32_t *index)
{
    int rc;
    if ((rc = ctx_oid(c, 0, o, "objectIdentifier")) < 0 ||
        (rc = ctx_enum(c, 1, BACSC_PROPERTY_MAX, prop, "propertyIdentifier")) < 0 ||
        (rc = ctx_u32(c, 2, 0xFFFFFFFFu, true, has_index, index, "propertyArrayIndex")) < 0)
        return rc;
    return 0;
}

int bacsc_rp_request_encode(uint8_t *buf, size_t cap, const bacsc_rp_request *rp)
{
    if (!oid_ok(&rp->object) || rp->property > BACSC_PROPERTY_MAX)
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    w_prop_ref(&w, &rp->object, rp->property, rp->has_index, rp->index);
    return w_done(&w);
}

int bacsc_rp_request_decode(const uint8_t *buf, size_t len, bacsc_rp_request *rp,
                            bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(rp, 0, sizeof *rp);
    int rc = d_prop_ref(&c, &rp->object, &rp->property, &rp->has_index, &rp->index);
    if (rc < 0)
        return rc;
    return cur_end(&c);
}

int bacsc_rp_ack_encode(uint8_t *buf, size_t cap, const bacsc_rp_ack *ack)
{
    if (!oid_ok(&ack->object) || ack->property > BACSC_PROPERTY_MAX ||
        !value_ok(ack->value, ack->value_len))
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    w_prop_ref(&w, &ack->object, ack->property, ack->has_index, ack->index);
    W_OPEN(&w, 3);
    w_raw(&w, ack->value, ack->value_len);
    W_CLOSE(&w, 3);
    return w_done(&w);
}

int bacsc_rp_ack_decode(const uint8_t *buf, size_t len, bacsc_rp_ack *ack, bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(ack, 0, sizeof *ack);
    int rc = d_prop_ref(&c, &ack->object, &ack->property, &ack->has_index, &ack->index);
    if (rc < 0 || (rc = enclosed(&c, 3, &ack->value, &ack->value_len, "propertyValue")) < 0)
        return rc;
    return cur_end(&c);
}

int bacsc_values_decode(const uint8_t *buf, size_t len, bacsc_value *out, size_t max)
{
    size_t pos = 0, count = 0;
    while (pos < len) {
        bacsc_value v;
        int n = bacsc_value_decode(buf + pos, len - pos, &v);
        if (n < 0)
            return BACSC_ERR_MALFORMED;
        if (count == max)
            return BACSC_ERR_LIMIT;
        if (count == 0x7FFFFFFF)
            return BACSC_ERR_LIMIT;
        out[count++] = v;
        pos += (size_t)n;
    }
    return (int)count;
}

/* ---- ReadPropertyMultiple ------------------------------------------------------- */

void bacsc_rpm_iter_init(bacsc_rpm_iter *it, const uint8_t *buf, size_t len, bool ack)
{
    memset(it, 0, sizeof *it);
    it->p = buf ? buf : empty_input;
    it->left = buf ? len : 0;
    it->total = it->left;
    it->ack = ack;
}

/* A cursor positioned at the iterator's position (offsets relative to the
 * start of the whole input). */
static void iter_cursor(const bacsc_rpm_iter *it, cursor *c, bacsc_fault *f)
{
    c->p = it->p - (it->total - it->left);
    c->len = it->total;
    c->pos = it->total - it->left;
    c->fault = f;
    if (f)
        memset(f, 0, sizeof *f);
}

static void iter_sync(bacsc_rpm_iter *it, const cursor *c)
{
    it->p = c->p + c->pos;
    it->left = c->len - c->pos;
}

int bacsc_rpm_next_object(bacsc_rpm_iter *it, bacsc_object_id *object, bacsc_fault *f)
{
    int rc;
    while (it->in_list) {
        if (it->ack) {
            bacsc_rpm_result r;
            rc = bacsc_rpm_next_result(it, &r, f);
        } else {
            bacsc_rpm_ref r;
            rc = bacsc_rpm_next_ref(it, &r, f);
        }
        if (rc < 0)
            return rc;
    }
    cursor c;
    iter_cursor(it, &c, f);
    if (cur_left(&c) == 0) {
        if (c.len == 0 && !it->ack)
            return reject(&c, BACSC_REJECT_MISSING_REQUIRED_PARAMETER,
                          "empty listOfReadAccessSpecs");
        return 0;
    }
    if ((rc = ctx_oid(&c, 0, object, "objectIdentifier")) < 0)
        return rc;
    bacsc_tag t;
    if (bacsc_tag_decode(cur_at(&c), cur_left(&c), &t) < 0 || !t.opening || t.number != 1)
        return absent(&c, it->ack ? "listOfResults" : "listOfPropertyReferences");
    c.pos += t.header_len;
    iter_sync(it, &c);
    it->in_list = true;
    it->in_list_count = 0;
    return 1;
}

/* At the closing tag [1] of the current list? Consume it and end the list. */
static int list_end(bacsc_rpm_iter *it, cursor *c)
{
    if (cur_left(c) == 0)
        return reject(c, BACSC_REJECT_MISSING_REQUIRED_PARAMETER,
                      "list not closed (closing tag [1] missing)");
    if (!at_closing(c, 1))
        return 1;   /* not at the end */
    if (!it->ack && it->in_list_count == 0)
        return reject(c, BACSC_REJECT_MISSING_REQUIRED_PARAMETER,
                      "empty listOfPropertyReferences");
    c->pos += 1;
    iter_sync(it, c);
    it->in_list = false;
    return 0;
}

int bacsc_rpm_next_ref(bacsc_rpm_iter *it, bacsc_rpm_ref *ref, bacsc_fault *f)
{
    if (!it->in_list || it->ack)
        return 0;
    cursor c;
    iter_cursor(it, &c, f);
    int rc = list_end(it, &c);
    if (rc <= 0)
        return rc;
    memset(ref, 0, sizeof *ref);
    if ((rc = ctx_enum(&c, 0, BACSC_PROPERTY_MAX, &ref->property, "propertyIdentifier")) < 0 ||
        (rc = ctx_u32(&c, 1, 0xFFFFFFFFu, true, &ref->has_index, &ref->index,
                      "propertyArrayIndex")) < 0)
        return rc;
    iter_sync(it, &c);
    it->in_list_count++;
    return 1;
}

int bacsc_rpm_next_result(bacsc_rpm_iter *it, bacsc_rpm_result *res, bacsc_fault *f)
{
    if (!it->in_list || !it->ack)
        return 0;
    cursor c;
    iter_cursor(it, &c, f);
    int rc = list_end(it, &c);
    if (rc <= 0)
        return rc;
    memset(res, 0, sizeof *res);
    if ((rc = ctx_enum(&c, 2, BACSC_PROPERTY_MAX, &res->property, "propertyIdentifier")) < 0 ||
        (rc = ctx_u32(&c, 3, 0xFFFFFFFFu, true, &res->has_index, &res->index,
                      "propertyArrayIndex")) < 0)
        return rc;
    if (at_opening(&c, 5)) {
        const uint8_t *content;
        size_t clen;
        if ((rc = enclosed(&c, 5, &content, &clen, "propertyAccessError")) < 0)
            return rc;
        cursor sub;
        uint32_t cls = 0, code = 0;
        sub_init(&sub, &c, content, clen);
        if ((rc = app_enum(&sub, 0xFFFF, &cls, "error-class")) < 0 ||
            (rc = app_enum(&sub, 0xFFFF, &code, "error-code")) < 0 || (rc = cur_end(&sub)) < 0)
            return sub_fix(rc, &c, &sub);
        res->is_error = true;
        res->error_class = (uint16_t)cls;
        res->error_code = (uint16_t)code;
    } else if ((rc = enclosed(&c, 4, &res->value, &res->value_len, "propertyValue")) < 0) {
        return rc;
    }
    iter_sync(it, &c);
    it->in_list_count++;
    return 1;
}

int bacsc_rpm_validate(const uint8_t *buf, size_t len, bool ack, bacsc_fault *f)
{
    bacsc_rpm_iter it;
    bacsc_object_id oid;
    int rc, count = 0;
    bacsc_rpm_iter_init(&it, buf, len, ack);
    while ((rc = bacsc_rpm_next_object(&it, &oid, f)) == 1) {
        for (;;) {
            if (ack) {
                bacsc_rpm_result r;
                rc = bacsc_rpm_next_result(&it, &r, f);
            } else {
                bacsc_rpm_ref r;
                rc = bacsc_rpm_next_ref(&it, &r, f);
            }
            if (rc <= 0)
                break;
            count++;
        }
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : count;
}

int bacsc_rpm_encode_object_begin(uint8_t *buf, size_t cap, const bacsc_object_id *object)
{
    if (!oid_ok(object))
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    W_CTX_OID(&w, 0, object);
    W_OPEN(&w, 1);
    return w_done(&w);
}

int bacsc_rpm_encode_ref(uint8_t *buf, size_t cap, const bacsc_rpm_ref *ref)
{
    if (ref->property > BACSC_PROPERTY_MAX)
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    W_CTX_ENUM(&w, 0, ref->property);
    if (ref->has_index)
        W_CTX_UNSIGNED(&w, 1, ref->index);
    return w_done(&w);
}

int bacsc_rpm_encode_result(uint8_t *buf, size_t cap, const bacsc_rpm_result *res)
{
    if (res->property > BACSC_PROPERTY_MAX ||
        (!res->is_error && !value_ok(res->value, res->value_len)))
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    W_CTX_ENUM(&w, 2, res->property);
    if (res->has_index)
        W_CTX_UNSIGNED(&w, 3, res->index);
    if (res->is_error) {
        W_OPEN(&w, 5);
        W_APP_ENUM(&w, res->error_class);
        W_APP_ENUM(&w, res->error_code);
        W_CLOSE(&w, 5);
    } else {
        W_OPEN(&w, 4);
        w_raw(&w, res->value, res->value_len);
        W_CLOSE(&w, 4);
    }
    return w_done(&w);
}

int bacsc_rpm_encode_object_end(uint8_t *buf, size_t cap)
{
    return bacsc_tag_encode_closing(buf, cap, 1);
}

/* ---- WriteProperty -------------------------------------------------------------- */

int bacsc_wp_request_encode(uint8_t *buf, size_t cap, const bacsc_wp_request *wp)
{
    if (!oid_ok(&wp->object) || wp->property > BACSC_PROPERTY_MAX ||
        !value_ok(wp->value, wp->value_len) ||
        (wp->has_priority && (wp->priority < 1 || wp->priority > 16)))
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    w_prop_ref(&w, &wp->object, wp->property, wp->has_index, wp->index);
    W_OPEN(&w, 3);
    w_raw(&w, wp->value, wp->value_len);
    W_CLOSE(&w, 3);
    if (wp->has_priority)
        W_CTX_UNSIGNED(&w, 4, wp->priority);
    return w_done(&w);
}

int bacsc_wp_request_decode(const uint8_t *buf, size_t len, bacsc_wp_request *wp,
                            bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(wp, 0, sizeof *wp);
    uint32_t prio = 0;
    int rc = d_prop_ref(&c, &wp->object, &wp->property, &wp->has_index, &wp->index);
    if (rc < 0 || (rc = enclosed(&c, 3, &wp->value, &wp->value_len, "propertyValue")) < 0 ||
        (rc = ctx_u32(&c, 4, 0xFFFFFFFFu, true, &wp->has_priority, &prio, "priority")) < 0)
        return rc;
    if (wp->has_priority) {
        if (prio < 1 || prio > 16) {
            c.pos -= (size_t)rc;
            return reject(&c, BACSC_REJECT_PARAMETER_OUT_OF_RANGE, "priority outside 1..16");
        }
        wp->priority = (uint8_t)prio;
    }
    return cur_end(&c);
}

/* ---- File access ----------------------------------------------------------------- */

int bacsc_records_encode(uint8_t *buf, size_t cap, const bacsc_octets *records, size_t n)
{
    writer w;
    w_init(&w, buf, cap);
    for (size_t i = 0; i < n; i++) {
        W_APP_OCTETS(&w, records[i]);
    }
    return w_done(&w);
}

int bacsc_records_next(const uint8_t **p, size_t *left, bacsc_octets *rec)
{
    if (*left == 0)
        return 0;
    bacsc_value v;
    int n = bacsc_app_decode_expect(*p, *left, BACSC_TAG_OCTET_STRING, &v);
    if (n < 0)
        return BACSC_ERR_MALFORMED;
    *rec = v.v.octets;
    *p += n;
    *left -= (size_t)n;
    return 1;
}

/* Inside [1] of a record-access: Unsigned count then `count` OctetStrings
 * (or, for AtomicReadFile-ACK/AtomicWriteFile, exactly those). */
static int d_records(cursor *c, uint32_t *count, const uint8_t **data, size_t *data_len)
{
    int rc = app_u32(c, 0xFFFFFFFFu, count, "record count");
    if (rc < 0)
        return rc;
    *data = cur_at(c);
    uint32_t seen = 0;
    while (cur_left(c) > 0) {
        bacsc_value v;
        if ((rc = app_value(c, BACSC_TAG_OCTET_STRING, &v, "fileRecordData")) < 0)
            return rc;
        seen++;
    }
    *data_len = (size_t)(cur_at(c) - *data);
    if (seen != *count)
        return reject(c, BACSC_REJECT_INCONSISTENT_PARAMETERS,
                      "record count differs from the number of records");
    return 0;
}

int bacsc_arf_request_encode(uint8_t *buf, size_t cap, const bacsc_arf_request *r)
{
    if (!oid_ok(&r->file) || r->access > BACSC_FILE_RECORD)
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    W_APP_OID(&w, r->file);
    W_OPEN(&w, r->access);
    W_APP_SIGNED(&w, r->start);
    W_APP_UNSIGNED(&w, r->count);
    W_CLOSE(&w, r->access);
    return w_done(&w);
}

/* Which access choice opens next: 0 stream, 1 record, or a fault. */
static int access_choice(cursor *c, const char *what)
{
    if (at_opening(c, 0))
        return BACSC_FILE_STREAM;
    if (at_opening(c, 1))
        return BACSC_FILE_RECORD;
    return absent(c, what);
}

int bacsc_arf_request_decode(const uint8_t *buf, size_t len, bacsc_arf_request *r,
                             bacsc_fault *f)
{
    cursor c, sub;
    cur_init(&c, buf, len, f);
    memset(r, 0, sizeof *r);
    bacsc_value v;
    const uint8_t *content;
    size_t clen;
    int rc, access;
    if ((rc = app_value(&c, BACSC_TAG_OBJECT_ID, &v, "fileIdentifier")) < 0)
        return rc;
    r->file = v.v.oid;
    if ((access = access_choice(&c, "accessMethod")) < 0)
        return access;
    if ((rc = enclosed(&c, (uint8_t)access, &content, &clen, "accessMethod")) < 0)
        return rc;
    r->access = (uint8_t)access;
    sub_init(&sub, &c, content, clen);
    if ((rc = app_signed32(&sub, &r->start, "fileStart")) < 0 ||
        (rc = app_u32(&sub, 0xFFFFFFFFu, &r->count, "requestedCount")) < 0 ||
        (rc = cur_end(&sub)) < 0)
        return sub_fix(rc, &c, &sub);
    return cur_end(&c);
}

/* The access part shared by AtomicReadFile-ACK and AtomicWriteFile-Request:
 * [access] { fileStart, fileData | recordCount + fileRecordData } [access].
 * Writer errors are sticky (reported by w_done); returns BACSC_ERR_INVALID_ARG
 * only when the record data does not hold exactly `count` records. */
static int w_file_access(writer *w, uint8_t access, int32_t start, const uint8_t *data,
                         size_t data_len, uint32_t count)
{
    W_OPEN(w, access);
    W_APP_SIGNED(w, start);
    if (access == BACSC_FILE_STREAM) {
        W_APP_OCTETS(w, ((bacsc_octets){data, data_len}));
    } else {
        if (bacsc_value_list_count(data, data_len) != (int)count || count > 0x7FFFFFFF)
            return BACSC_ERR_INVALID_ARG;
        W_APP_UNSIGNED(w, count);
        w_raw(w, data, data_len);
    }
    W_CLOSE(w, access);
    return BACSC_OK;
}

int bacsc_arf_ack_encode(uint8_t *buf, size_t cap, const bacsc_arf_ack *a)
{
    if (a->access > BACSC_FILE_RECORD)
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    W_APP_BOOL(&w, a->end_of_file);
    if (w_file_access(&w, a->access, a->start, a->data, a->data_len, a->count) != BACSC_OK)
        return BACSC_ERR_INVALID_ARG;
    return w_done(&w);
}

/* Stream/record body shared by AtomicReadFile-ACK and AtomicWriteFile-Request. */
static int d_file_body(cursor *c, uint8_t *access_out, int32_t *start, uint32_t *count,
                       const uint8_t **data, size_t *data_len)
{
    cursor sub;
    const uint8_t *content;
    size_t clen;
    int rc, access;
    if ((access = access_choice(c, "accessMethod")) < 0)
        return access;
    if ((rc = enclosed(c, (uint8_t)access, &content, &clen, "accessMethod")) < 0)
        return rc;
    *access_out = (uint8_t)access;
    sub_init(&sub, c, content, clen);
    if ((rc = app_signed32(&sub, start, "fileStart")) < 0)
        return sub_fix(rc, c, &sub);
    if (access == BACSC_FILE_STREAM) {
        bacsc_value v;
        if ((rc = app_value(&sub, BACSC_TAG_OCTET_STRING, &v, "fileData")) < 0 ||
            (rc = cur_end(&sub)) < 0)
            return sub_fix(rc, c, &sub);
        *data = v.v.octets.data;
        *data_len = v.v.octets.len;
    } else if ((rc = d_records(&sub, count, data, data_len)) < 0) {
        return sub_fix(rc, c, &sub);
    }
    return 0;
}

int bacsc_arf_ack_decode(const uint8_t *buf, size_t len, bacsc_arf_ack *a, bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(a, 0, sizeof *a);
    bacsc_value v;
    int rc;
    if ((rc = app_value(&c, BACSC_TAG_BOOLEAN, &v, "endOfFile")) < 0)
        return rc;
    a->end_of_file = v.v.boolean;
    if ((rc = d_file_body(&c, &a->access, &a->start, &a->count, &a->data, &a->data_len)) < 0)
        return rc;
    return cur_end(&c);
}

int bacsc_awf_request_encode(uint8_t *buf, size_t cap, const bacsc_awf_request *r)
{
    if (!oid_ok(&r->file) || r->access > BACSC_FILE_RECORD)
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    W_APP_OID(&w, r->file);
    if (w_file_access(&w, r->access, r->start, r->data, r->data_len, r->count) != BACSC_OK)
        return BACSC_ERR_INVALID_ARG;
    return w_done(&w);
}

int bacsc_awf_request_decode(const uint8_t *buf, size_t len, bacsc_awf_request *r,
                             bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(r, 0, sizeof *r);
    bacsc_value v;
    int rc;
    if ((rc = app_value(&c, BACSC_TAG_OBJECT_ID, &v, "fileIdentifier")) < 0)
        return rc;
    r->file = v.v.oid;
    if ((rc = d_file_body(&c, &r->access, &r->start, &r->count, &r->data, &r->data_len)) < 0)
        return rc;
    return cur_end(&c);
}

int bacsc_awf_ack_encode(uint8_t *buf, size_t cap, const bacsc_awf_ack *a)
{
    if (a->access > BACSC_FILE_RECORD)
        return BACSC_ERR_INVALID_ARG;
    return bacsc_ctx_encode_signed(buf, cap, a->access, a->start);
}

int bacsc_awf_ack_decode(const uint8_t *buf, size_t len, bacsc_awf_ack *a, bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(a, 0, sizeof *a);
    bacsc_tag t;
    if (cur_left(&c) == 0)
        return reject(&c, BACSC_REJECT_MISSING_REQUIRED_PARAMETER, "fileStartPosition/Record");
    if (bacsc_tag_decode(buf, len, &t) < 0 || !t.context || t.number > 1)
        return reject(&c, BACSC_REJECT_INVALID_TAG, "fileStartPosition/Record");
    a->access = t.number;
    int rc = ctx_signed32(&c, t.number, &a->start, "fileStartPosition/Record");
    if (rc < 0)
        return rc;
    return cur_end(&c);
}

/* ---- ReinitializeDevice --------------------------------------------------------- */

int bacsc_reinit_request_encode(uint8_t *buf, size_t cap, const bacsc_reinit_request *r)
{
    if (r->state > BACSC_REINIT_ACTIVATE_CHANGES)
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    W_CTX_ENUM(&w, 0, r->state);
    if (r->has_password) {
        bacsc_value v = {.type = BACSC_TAG_CHARACTER_STRING, .v.chars = r->password};
        w_add(&w, bacsc_ctx_encode_value(w_dst(&w), w_cap(&w), 1, &v));
    }
    return w_done(&w);
}

int bacsc_reinit_request_decode(const uint8_t *buf, size_t len, bacsc_reinit_request *r,
                                bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(r, 0, sizeof *r);
    bacsc_value v;
    int rc = ctx_value(&c, 0, BACSC_TAG_ENUMERATED, false, NULL, &v, "reinitializedStateOfDevice");
    if (rc < 0)
        return rc;
    if (v.v.enumerated > BACSC_REINIT_ACTIVATE_CHANGES) {
        c.pos -= (size_t)rc;
        return reject(&c, BACSC_REJECT_UNDEFINED_ENUMERATION,
                      "unknown reinitializedStateOfDevice");
    }
    r->state = (uint8_t)v.v.enumerated;
    if ((rc = ctx_value(&c, 1, BACSC_TAG_CHARACTER_STRING, true, &r->has_password, &v,
                        "password")) < 0)
        return rc;
    if (r->has_password)
        r->password = v.v.chars;
    return cur_end(&c);
}

/* ---- DeviceCommunicationControl ---------------------------------------------------- */

int bacsc_dcc_request_encode(uint8_t *buf, size_t cap, const bacsc_dcc_request *r)
{
    if (r->state > BACSC_DCC_DISABLE_INITIATION)
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    if (r->has_duration)
        W_CTX_UNSIGNED(&w, 0, r->duration_min);
    W_CTX_ENUM(&w, 1, r->state);
    if (r->has_password) {
        bacsc_value v = {.type = BACSC_TAG_CHARACTER_STRING, .v.chars = r->password};
        w_add(&w, bacsc_ctx_encode_value(w_dst(&w), w_cap(&w), 2, &v));
    }
    return w_done(&w);
}

int bacsc_dcc_request_decode(const uint8_t *buf, size_t len, bacsc_dcc_request *r,
                             bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(r, 0, sizeof *r);
    uint32_t u = 0;
    int rc = ctx_u32(&c, 0, 0xFFFF, true, &r->has_duration, &u, "timeDuration");
    if (rc < 0)
        return rc;
    r->duration_min = (uint16_t)u;
    bacsc_value v;
    if ((rc = ctx_value(&c, 1, BACSC_TAG_ENUMERATED, false, NULL, &v, "enable-disable")) < 0)
        return rc;
    if (v.v.enumerated > BACSC_DCC_DISABLE_INITIATION) {
        c.pos -= (size_t)rc;
        return reject(&c, BACSC_REJECT_UNDEFINED_ENUMERATION, "unknown enable-disable");
    }
    r->state = (uint8_t)v.v.enumerated;
    if ((rc = ctx_value(&c, 2, BACSC_TAG_CHARACTER_STRING, true, &r->has_password, &v,
                        "password")) < 0)
        return rc;
    if (r->has_password)
        r->password = v.v.chars;
    return cur_end(&c);
}

/* ---- Who-Has / I-Have ---------------------------------------------------------------- */

int bacsc_whohas_encode(uint8_t *buf, size_t cap, const bacsc_whohas *wh)
{
    writer w;
    w_init(&w, buf, cap);
    if (wh->has_range) {
        if (wh->low > BACSC_MAX_INSTANCE || wh->high > BACSC_MAX_INSTANCE)
            return BACSC_ERR_INVALID_ARG;
        W_CTX_UNSIGNED(&w, 0, wh->low);
        W_CTX_UNSIGNED(&w, 1, wh->high);
    }
    if (wh->by_name) {
        bacsc_value v = {.type = BACSC_TAG_CHARACTER_STRING, .v.chars = wh->name};
        w_add(&w, bacsc_ctx_encode_value(w_dst(&w), w_cap(&w), 3, &v));
    } else {
        if (!oid_ok(&wh->object))
            return BACSC_ERR_INVALID_ARG;
        W_CTX_OID(&w, 2, &wh->object);
    }
    return w_done(&w);
}

int bacsc_whohas_decode(const uint8_t *buf, size_t len, bacsc_whohas *wh, bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(wh, 0, sizeof *wh);
    int rc = ctx_u32(&c, 0, BACSC_MAX_INSTANCE, true, &wh->has_range, &wh->low,
                     "Who-Has deviceInstanceRangeLowLimit");
    if (rc < 0)
        return rc;
    if (wh->has_range &&
        (rc = ctx_u32(&c, 1, BACSC_MAX_INSTANCE, false, NULL, &wh->high,
                      "Who-Has deviceInstanceRangeHighLimit")) < 0)
        return rc;
    bacsc_value v;
    if (cur_left(&c) && (cur_at(&c)[0] & 0xF8) == 0x38) {
        if ((rc = ctx_value(&c, 3, BACSC_TAG_CHARACTER_STRING, false, NULL, &v, "objectName")) < 0)
            return rc;
        wh->by_name = true;
        wh->name = v.v.chars;
    } else if ((rc = ctx_oid(&c, 2, &wh->object, "Who-Has objectIdentifier")) < 0) {
        return rc;
    }
    return cur_end(&c);
}

int bacsc_ihave_encode(uint8_t *buf, size_t cap, const bacsc_ihave *h)
{
    if (!oid_ok(&h->device) || !oid_ok(&h->object))
        return BACSC_ERR_INVALID_ARG;
    writer w;
    w_init(&w, buf, cap);
    W_APP_OID(&w, h->device);
    W_APP_OID(&w, h->object);
    W_APP_CHARS(&w, h->name);
    return w_done(&w);
}

int bacsc_ihave_decode(const uint8_t *buf, size_t len, bacsc_ihave *h, bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(h, 0, sizeof *h);
    bacsc_value v;
    int rc;
    if ((rc = app_value(&c, BACSC_TAG_OBJECT_ID, &v, "I-Have deviceIdentifier")) < 0)
        return rc;
    h->device = v.v.oid;
    if ((rc = app_value(&c, BACSC_TAG_OBJECT_ID, &v, "I-Have objectIdentifier")) < 0)
        return rc;
    h->object = v.v.oid;
    if ((rc = app_value(&c, BACSC_TAG_CHARACTER_STRING, &v, "I-Have objectName")) < 0)
        return rc;
    h->name = v.v.chars;
    return cur_end(&c);
}

static const char *const reinit_names[] = {
    "coldstart", "warmstart", "start-backup", "end-backup",
    "start-restore", "end-restore", "abort-restore", "activate-changes"};

const char *bacsc_reinit_state_name(uint8_t state)
{
    return state < 8 ? reinit_names[state] : NULL;
}

int bacsc_reinit_state_parse(const char *s, uint8_t *state)
{
    if (s == NULL)
        return BACSC_ERR_NOT_FOUND;
    for (uint8_t i = 0; i < 8; i++) {
        const char *a = reinit_names[i];
        const char *b = s;
        for (; *a; a++, b++) {
            char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
            if (cb == '_')
                cb = '-';
            if (cb != *a)
                break;
        }
        if (*a == 0 && *b == 0) {
            *state = i;
            return BACSC_OK;
        }
    }
    if (s[0] >= '0' && s[0] <= '7' && s[1] == 0) {
        *state = (uint8_t)(s[0] - '0');
        return BACSC_OK;
    }
    return BACSC_ERR_NOT_FOUND;
}

/* ---- Error ------------------------------------------------------------------------ */

int bacsc_error_encode(uint8_t *buf, size_t cap, const bacsc_error *e)
{
    writer w;
    w_init(&w, buf, cap);
    if (e->complex)
        W_OPEN(&w, 0);
    W_APP_ENUM(&w, e->error_class);
    W_APP_ENUM(&w, e->error_code);
    if (e->complex) {
        W_CLOSE(&w, 0);
        if (!value_ok(e->extra, e->extra_len))
            return BACSC_ERR_INVALID_ARG;
        w_raw(&w, e->extra, e->extra_len);
    }
    return w_done(&w);
}

static int d_class_code(cursor *c, bacsc_error *e)
{
    uint32_t cls = 0, code = 0;
    int rc;
    if ((rc = app_enum(c, 0xFFFF, &cls, "error-class")) < 0 ||
        (rc = app_enum(c, 0xFFFF, &code, "error-code")) < 0)
        return rc;
    e->error_class = (uint16_t)cls;
    e->error_code = (uint16_t)code;
    return 0;
}

int bacsc_error_decode(const uint8_t *buf, size_t len, bacsc_error *e, bacsc_fault *f)
{
    cursor c;
    cur_init(&c, buf, len, f);
    memset(e, 0, sizeof *e);
    int rc;
    if (at_opening(&c, 0)) {
        const uint8_t *content;
        size_t clen;
        cursor sub;
        if ((rc = enclosed(&c, 0, &content, &clen, "errorType")) < 0)
            return rc;
        sub_init(&sub, &c, content, clen);
        if ((rc = d_class_code(&sub, e)) < 0 || (rc = cur_end(&sub)) < 0)
            return sub_fix(rc, &c, &sub);
        e->complex = true;
        e->extra = cur_at(&c);
        e->extra_len = cur_left(&c);
        if (!value_ok(e->extra, e->extra_len))
            return reject(&c, BACSC_REJECT_INVALID_TAG, "malformed data after errorType");
        return (int)len;
    }
    if ((rc = d_class_code(&c, e)) < 0)
        return rc;
    return cur_end(&c);
}

bool bacsc_service_has_complex_error(uint8_t service)
{
    switch (service) {
    case BACSC_SERVICE_ADD_LIST_ELEMENT:
    case BACSC_SERVICE_REMOVE_LIST_ELEMENT:
    case BACSC_SERVICE_CREATE_OBJECT:
    case BACSC_SERVICE_WRITE_PROPERTY_MULTIPLE:
    case BACSC_SERVICE_CONFIRMED_PRIVATE_TRANSFER:
    case BACSC_SERVICE_VT_CLOSE:
    case BACSC_SERVICE_SUBSCRIBE_COV_PROPERTY_MULTIPLE:
        return true;
    }
    return false;
}

/* ---- whole APDUs ------------------------------------------------------------------- */

int bacsc_encode_confirmed(uint8_t *buf, size_t cap, uint8_t service, uint8_t invoke_id,
                           uint8_t max_apdu_code, const uint8_t *payload, size_t payload_len)
{
    bacsc_apdu a;
    bacsc_apdu_init_confirmed(&a, service, invoke_id, max_apdu_code);
    a.data = payload;
    a.data_len = payload_len;
    return bacsc_apdu_encode(buf, cap, &a);
}

int bacsc_encode_unconfirmed(uint8_t *buf, size_t cap, uint8_t service,
                             const uint8_t *payload, size_t payload_len)
{
    bacsc_apdu a;
    bacsc_apdu_init_unconfirmed(&a, service);
    a.data = payload;
    a.data_len = payload_len;
    return bacsc_apdu_encode(buf, cap, &a);
}

int bacsc_encode_complex_ack(uint8_t *buf, size_t cap, uint8_t service, uint8_t invoke_id,
                             const uint8_t *payload, size_t payload_len)
{
    bacsc_apdu a;
    bacsc_apdu_init_complex_ack(&a, service, invoke_id);
    a.data = payload;
    a.data_len = payload_len;
    return bacsc_apdu_encode(buf, cap, &a);
}
