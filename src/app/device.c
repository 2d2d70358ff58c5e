/*
 * device.c — the BACnet device server core (bacsc/device.h): the object
 * table, the common properties, and the service handlers. Object classes
 * live in device_object.c (Device), device_av.c (Analog Value),
 * device_file.c (File) and device_netport.c (Network Port).
 *
 * One received NPDU → at most one NPDU sent, synchronously, through the
 * datalink callback. No allocation while handling a request: the value, ACK
 * body and output NPDU are built in scratch buffers inside the device.
 */
#include <stdlib.h>
#include <string.h>

#include "app/device_internal.h"
#include "bacsc/npdu.h"

#define COMPLEX_ACK_HEADER 3

/* ---- lifecycle ---------------------------------------------------------------- */

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

int bacsc_device_new(const bacsc_device_config *cfg, bacsc_device **out)
{
    if (cfg == NULL || out == NULL || cfg->link.send == NULL ||
        cfg->instance >= BACSC_MAX_INSTANCE)
        return BACSC_ERR_INVALID_ARG;
    unsigned max_apdu = cfg->max_apdu ? cfg->max_apdu : DEV_APDU_MAX;
    if (max_apdu < 50 || max_apdu > DEV_APDU_MAX)
        return BACSC_ERR_INVALID_ARG;
    if (cfg->reinit_password &&
        (strlen(cfg->reinit_password) == 0 ||
         strlen(cfg->reinit_password) > BACSC_REINIT_PASSWORD_MAX))
        return BACSC_ERR_INVALID_ARG;
    bacsc_device *dev = calloc(1, sizeof *dev);
    if (dev == NULL)
        return BACSC_ERR_NOMEM;
    dev->instance = cfg->instance;
    copy_str(dev->vendor_name, sizeof dev->vendor_name, cfg->vendor_name);
    dev->vendor_id = cfg->vendor_id;
    copy_str(dev->model_name, sizeof dev->model_name, cfg->model_name);
    copy_str(dev->firmware_revision, sizeof dev->firmware_revision, cfg->firmware_revision);
    copy_str(dev->app_version, sizeof dev->app_version, cfg->application_software_version);
    copy_str(dev->description, sizeof dev->description, cfg->description);
    copy_str(dev->location, sizeof dev->location, cfg->location);
    if (cfg->reinit_password) {
        dev->has_password = true;
        copy_str(dev->password, sizeof dev->password, cfg->reinit_password);
    }
    memcpy(dev->uuid, cfg->uuid, sizeof dev->uuid);
    dev->max_apdu = max_apdu;
    dev->apdu_timeout_ms = cfg->apdu_timeout_ms ? cfg->apdu_timeout_ms : 3000;
    dev->apdu_retries = cfg->apdu_retries_set ? cfg->apdu_retries : 3;
    dev->database_revision = 1;
    dev->segmentation = BACSC_SEGMENTATION_NONE;
    bacsc_datetime_unspecified(&dev->restart_time);
    dev->link = cfg->link;
    if (dev->link.max_npdu == 0)
        dev->link.max_npdu = BACSC_NPDU_MIN_MAX_LEN;
    dev->cb = cfg->cb;
    dev->seg_enabled = !cfg->no_segmentation;
    dev->segmentation = dev->seg_enabled ? BACSC_SEGMENTATION_BOTH : BACSC_SEGMENTATION_NONE;
    dev->seg_timeout_us = cfg->segment_timeout_ms ? cfg->segment_timeout_ms * 1000ull
                                                  : BACSC_SEG_TIMEOUT_DEFAULT_US;
    dev->seg_window = BACSC_SEG_WINDOW_DEFAULT;
    dev->buf_cap = DEV_APDU_MAX;
    dev->value = malloc(dev->buf_cap);
    dev->body = malloc(dev->buf_cap);
    dev->max_objects = cfg->max_objects ? cfg->max_objects : BACSC_DEVICE_MAX_OBJECTS_DEFAULT;
    /* The table grows as objects are added (doubling), up to max_objects. */
    dev->cap_objects = dev->max_objects < 16 ? dev->max_objects : 16;
    dev->objects = calloc(dev->cap_objects, sizeof *dev->objects);
    if (dev->objects == NULL || dev->value == NULL || dev->body == NULL) {
        free(dev->objects);
        free(dev->value);
        free(dev->body);
        free(dev);
        return BACSC_ERR_NOMEM;
    }
    const char *name = cfg->name && cfg->name[0] ? cfg->name : "bacsc-device";
    int rc = bacsc_device_add_object(dev, &bacsc_device_object_class, cfg->instance, name, NULL,
                                     NULL);
    if (rc != BACSC_OK) {
        free(dev->objects);
        free(dev->value);
        free(dev->body);
        free(dev);
        return rc;
    }
    dev->database_revision = 1;
    *out = dev;
    return BACSC_OK;
}

static void destroy_object(bacsc_object *obj)
{
    if (obj->cls->destroy)
        obj->cls->destroy(obj);
    free(obj);
}

void bacsc_device_free(bacsc_device *dev)
{
    if (dev == NULL)
        return;
    for (size_t i = 0; i < dev->nobjects; i++)
        destroy_object(dev->objects[i]);
    dev_seg_free_all(dev);
    free(dev->objects);
    free(dev->value);
    free(dev->body);
    free(dev);
}

uint32_t bacsc_device_instance(const bacsc_device *dev)
{
    return dev->instance;
}

void bacsc_device_get_stats(const bacsc_device *dev, bacsc_device_stats *st)
{
    *st = dev->stats;
}

void bacsc_device_set_system_status(bacsc_device *dev, uint8_t status)
{
    dev->system_status = status;
}

void bacsc_device_bump_database_revision(bacsc_device *dev)
{
    dev->database_revision++;
}

/* ---- object table ------------------------------------------------------------- */

bool dev_name_taken(const bacsc_device *dev, const char *name, size_t len,
                    const bacsc_object *except)
{
    for (size_t i = 0; i < dev->nobjects; i++) {
        const bacsc_object *o = dev->objects[i];
        if (o != except && strlen(o->name) == len && memcmp(o->name, name, len) == 0)
            return true;
    }
    return false;
}

int bacsc_device_add_object(bacsc_device *dev, const bacsc_object_class *cls, uint32_t instance,
                            const char *name, void *impl, bacsc_object **out)
{
    if (dev == NULL || cls == NULL || name == NULL || instance >= BACSC_MAX_INSTANCE ||
        cls->type > BACSC_MAX_OBJECT_TYPE)
        return BACSC_ERR_INVALID_ARG;
    size_t len = strlen(name);
    if (len == 0 || len > BACSC_DEVICE_NAME_MAX)
        return BACSC_ERR_INVALID_ARG;
    if (bacsc_device_find_object(dev, cls->type, instance) || dev_name_taken(dev, name, len, NULL))
        return BACSC_ERR_EXISTS;
    if (dev->nobjects == dev->max_objects)
        return BACSC_ERR_LIMIT;
    if (dev->nobjects == dev->cap_objects) {
        size_t cap = dev->cap_objects * 2 < dev->max_objects ? dev->cap_objects * 2
                                                             : dev->max_objects;
        bacsc_object **t = realloc(dev->objects, cap * sizeof *t);
        if (t == NULL)
            return BACSC_ERR_NOMEM;
        dev->objects = t;
        dev->cap_objects = cap;
    }
    bacsc_object *obj = calloc(1, sizeof *obj);
    if (obj == NULL)
        return BACSC_ERR_NOMEM;
    obj->cls = cls;
    obj->instance = instance;
    memcpy(obj->name, name, len + 1);
    obj->impl = impl;
    dev->objects[dev->nobjects++] = obj;
    dev->database_revision++;
    if (out)
        *out = obj;
    return BACSC_OK;
}

int bacsc_device_remove_object(bacsc_device *dev, uint16_t type, uint32_t instance)
{
    if (type == BACSC_OBJ_DEVICE && instance == dev->instance)
        return BACSC_ERR_INVALID_ARG;
    for (size_t i = 1; i < dev->nobjects; i++) {
        bacsc_object *o = dev->objects[i];
        if (o->cls->type == type && o->instance == instance) {
            memmove(&dev->objects[i], &dev->objects[i + 1],
                    (dev->nobjects - i - 1) * sizeof *dev->objects);
            dev->nobjects--;
            destroy_object(o);
            dev->database_revision++;
            return BACSC_OK;
        }
    }
    return BACSC_ERR_NOT_FOUND;
}

bacsc_object *bacsc_device_find_object(bacsc_device *dev, uint16_t type, uint32_t instance)
{
    /* The wildcard device instance (4194303) names the local device. */
    if (type == BACSC_OBJ_DEVICE && instance == BACSC_WILDCARD_INSTANCE)
        return dev->nobjects ? dev->objects[0] : NULL;
    for (size_t i = 0; i < dev->nobjects; i++) {
        bacsc_object *o = dev->objects[i];
        if (o->cls->type == type && o->instance == instance)
            return o;
    }
    return NULL;
}

size_t bacsc_device_object_count(const bacsc_device *dev)
{
    return dev->nobjects;
}

bacsc_object *bacsc_device_object_at(bacsc_device *dev, size_t i)
{
    return i < dev->nobjects ? dev->objects[i] : NULL;
}

/* ---- helpers for object classes -------------------------------------------------- */

int bacsc_prop_error(bacsc_error *err, uint16_t error_class, uint16_t error_code)
{
    if (err) {
        memset(err, 0, sizeof *err);
        err->error_class = error_class;
        err->error_code = error_code;
    }
    return BACSC_ERR_NOT_FOUND;
}

bool bacsc_prop_in_list(const uint32_t *ids, uint32_t property)
{
    if (ids == NULL)
        return false;
    for (; *ids != BACSC_PROPERTY_LIST_END; ids++)
        if (*ids == property)
            return true;
    return false;
}

int bacsc_prop_check_not_array(const bacsc_prop_ref *ref, bacsc_error *err)
{
    if (ref->index != BACSC_ARRAY_ALL)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_PROPERTY_IS_NOT_AN_ARRAY);
    return BACSC_OK;
}

int bacsc_prop_encode_array(const bacsc_prop_ref *ref, uint32_t count,
                            int (*elem)(const void *ctx, uint32_t i, uint8_t *buf, size_t cap),
                            const void *ctx, uint8_t *buf, size_t cap, bacsc_error *err)
{
    if (ref->index == 0)
        return bacsc_app_encode_unsigned(buf, cap, count);
    if (ref->index != BACSC_ARRAY_ALL) {
        if (ref->index > count)
            return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                    BACSC_EC_INVALID_ARRAY_INDEX);
        return elem(ctx, ref->index - 1, buf, cap);
    }
    size_t pos = 0;
    for (uint32_t i = 0; i < count; i++) {
        int n = elem(ctx, i, buf ? buf + pos : NULL, buf ? cap - pos : 0);
        if (n < 0)
            return n;
        pos += (size_t)n;
    }
    return (int)pos;
}

int bacsc_prop_decode_single(const bacsc_prop_write *w, uint8_t type, bacsc_value *v,
                             bacsc_error *err)
{
    int n = bacsc_value_decode(w->value, w->value_len, v);
    if (n < 0 || (size_t)n != w->value_len || v->type != type)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_INVALID_DATA_TYPE);
    return BACSC_OK;
}

int dev_encode_string(uint8_t *buf, size_t cap, const char *s)
{
    return bacsc_app_encode_char_string(buf, cap, s, strlen(s));
}

int dev_encode_bitstring(uint8_t *buf, size_t cap, const uint8_t *bits, size_t nbits)
{
    bacsc_value v;
    memset(&v, 0, sizeof v);
    v.type = BACSC_TAG_BIT_STRING;
    v.v.bits.data = bits;
    v.v.bits.len = (nbits + 7) / 8;
    v.v.bits.unused = (uint8_t)(v.v.bits.len * 8 - nbits);
    return bacsc_value_encode(buf, cap, &v);
}

int dev_encode_datetime(uint8_t *buf, size_t cap, const bacsc_datetime *dt)
{
    bacsc_value d = {.type = BACSC_TAG_DATE, .v.date = dt->date};
    bacsc_value t = {.type = BACSC_TAG_TIME, .v.time = dt->time};
    int a = bacsc_value_encode(buf, cap, &d);
    if (a < 0)
        return a;
    int b = bacsc_value_encode(buf ? buf + a : NULL, buf ? cap - (size_t)a : 0, &t);
    if (b < 0)
        return b;
    return a + b;
}

int dev_encode_status_flags(uint8_t *buf, size_t cap, bool in_alarm, bool fault,
                            bool overridden, bool out_of_service)
{
    uint8_t b = (uint8_t)((in_alarm ? 0x80 : 0) | (fault ? 0x40 : 0) | (overridden ? 0x20 : 0) |
                          (out_of_service ? 0x10 : 0));
    return dev_encode_bitstring(buf, cap, &b, 4);
}

int dev_decode_string_write(const bacsc_prop_write *w, char *out, size_t cap, bacsc_error *err)
{
    bacsc_value v;
    if (bacsc_prop_decode_single(w, BACSC_TAG_CHARACTER_STRING, &v, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    if (v.v.chars.charset != BACSC_CHARSET_UTF8)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_CHARACTER_SET_NOT_SUPPORTED);
    if (v.v.chars.len >= cap)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_TOO_LONG);
    if (memchr(v.v.chars.data, 0, v.v.chars.len))
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_VALUE_OUT_OF_RANGE);
    memcpy(out, v.v.chars.data, v.v.chars.len);
    out[v.v.chars.len] = '\0';
    return BACSC_OK;
}

int dev_decode_unsigned_write(const bacsc_prop_write *w, uint64_t lo, uint64_t hi,
                              uint64_t *out, bacsc_error *err)
{
    bacsc_value v;
    if (bacsc_prop_decode_single(w, BACSC_TAG_UNSIGNED, &v, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    if (v.v.unsigned_ < lo || v.v.unsigned_ > hi)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_VALUE_OUT_OF_RANGE);
    *out = v.v.unsigned_;
    return BACSC_OK;
}

int dev_decode_boolean_write(const bacsc_prop_write *w, bool *out, bacsc_error *err)
{
    bacsc_value v;
    if (bacsc_prop_decode_single(w, BACSC_TAG_BOOLEAN, &v, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    *out = v.v.boolean;
    return BACSC_OK;
}

/* ---- common properties ------------------------------------------------------------- */

static bool is_common(uint32_t p)
{
    return p == BACSC_PROP_OBJECT_IDENTIFIER || p == BACSC_PROP_OBJECT_NAME ||
           p == BACSC_PROP_OBJECT_TYPE || p == BACSC_PROP_PROPERTY_LIST;
}

void dev_object_lists(const bacsc_object *obj, const uint32_t *lists[2])
{
    lists[0] = obj->cls->required;
    lists[1] = obj->cls->optional;
    if (obj->cls->lists)
        obj->cls->lists(obj, &lists[0], &lists[1]);
}

bool dev_object_has_property(const bacsc_object *obj, uint32_t p)
{
    const uint32_t *lists[2];
    dev_object_lists(obj, lists);
    return bacsc_prop_in_list(lists[0], p) || bacsc_prop_in_list(lists[1], p);
}

/* Property_List: every property of the object except the four common ones. */
static uint32_t property_list_count(const bacsc_object *obj)
{
    uint32_t n = 0;
    const uint32_t *lists[2];
    dev_object_lists(obj, lists);
    for (int l = 0; l < 2; l++)
        for (const uint32_t *p = lists[l]; p && *p != BACSC_PROPERTY_LIST_END; p++)
            if (!is_common(*p))
                n++;
    return n;
}

static int property_list_elem(const void *ctx, uint32_t i, uint8_t *buf, size_t cap)
{
    const bacsc_object *obj = ctx;
    const uint32_t *lists[2];
    dev_object_lists(obj, lists);
    for (int l = 0; l < 2; l++)
        for (const uint32_t *p = lists[l]; p && *p != BACSC_PROPERTY_LIST_END; p++)
            if (!is_common(*p) && i-- == 0)
                return bacsc_app_encode_enumerated(buf, cap, *p);
    return BACSC_ERR_INVALID_ARG;
}

int bacsc_device_read_property(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_ref *ref,
                               uint8_t *buf, size_t cap, bacsc_error *err)
{
    uint32_t p = ref->property;
    if (p == BACSC_PROP_PROPERTY_LIST)
        return bacsc_prop_encode_array(ref, property_list_count(obj), property_list_elem, obj, buf,
                                       cap, err);
    if (is_common(p)) {
        if (bacsc_prop_check_not_array(ref, err) < 0)
            return BACSC_ERR_NOT_FOUND;
        if (p == BACSC_PROP_OBJECT_IDENTIFIER)
            return bacsc_app_encode_object_id(buf, cap, obj->cls->type, obj->instance);
        if (p == BACSC_PROP_OBJECT_NAME)
            return dev_encode_string(buf, cap, obj->name);
        return bacsc_app_encode_enumerated(buf, cap, obj->cls->type);
    }
    if (p == BACSC_PROP_ALL || p == BACSC_PROP_REQUIRED || p == BACSC_PROP_OPTIONAL ||
        !dev_object_has_property(obj, p))
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
    if (obj->cls->read == NULL)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_READ_ACCESS_DENIED);
    return obj->cls->read(dev, obj, ref, buf, cap, err);
}

static int write_object_name(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_write *w,
                             bacsc_error *err)
{
    char name[BACSC_DEVICE_NAME_MAX + 1];
    if (w->index != BACSC_ARRAY_ALL)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_PROPERTY_IS_NOT_AN_ARRAY);
    if (dev_decode_string_write(w, name, sizeof name, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    if (name[0] == '\0')
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_VALUE_OUT_OF_RANGE);
    if (dev_name_taken(dev, name, strlen(name), obj))
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, 48 /* duplicate-name */);
    memcpy(obj->name, name, strlen(name) + 1);
    dev->database_revision++;
    return BACSC_OK;
}

int bacsc_device_write_property(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_write *w,
                                bacsc_error *err)
{
    uint32_t p = w->property;
    int rc;
    if (p == BACSC_PROP_OBJECT_NAME) {
        rc = write_object_name(dev, obj, w, err);
    } else if (is_common(p)) {
        rc = bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_WRITE_ACCESS_DENIED);
    } else if (p == BACSC_PROP_ALL || p == BACSC_PROP_REQUIRED || p == BACSC_PROP_OPTIONAL ||
               !dev_object_has_property(obj, p)) {
        rc = bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
    } else if (obj->cls->write == NULL) {
        rc = bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_WRITE_ACCESS_DENIED);
    } else {
        rc = obj->cls->write(dev, obj, w, err);
    }
    if (rc == BACSC_OK && dev->cb.written)
        dev->cb.written(dev->cb.user, dev, obj, p);
    return rc;
}

/* ---- sending ------------------------------------------------------------------------ */



int dev_send_npdu(bacsc_device *dev, const bacsc_address *dest, uint8_t priority,
                     bool expecting_reply, const uint8_t *apdu, size_t apdu_len)
{
    bacsc_npdu n;
    bacsc_address_to_npdu(dest, expecting_reply, &n);
    n.priority = priority;
    n.payload = apdu;
    n.payload_len = apdu_len;
    int len = bacsc_npdu_encode(dev->out, sizeof dev->out, &n);
    if (len < 0)
        return len;
    if ((size_t)len > dev->link.max_npdu)
        return BACSC_ERR_LIMIT;
    return dev->link.send(dev->link.user, dest, dev->out, (size_t)len);
}

/* Encode APDU header + body into dev->apdu and send it. */
static void send_apdu(bacsc_device *dev, const dev_request *rq, const bacsc_apdu *a)
{
    int n = bacsc_apdu_encode(dev->apdu, sizeof dev->apdu, a);
    if (n < 0)
        return;
    dev_send_npdu(dev, &rq->reply, rq->priority, false, dev->apdu, (size_t)n);
}

void dev_send_reject(bacsc_device *dev, const dev_request *rq, uint8_t reason)
{
    bacsc_apdu a;
    bacsc_apdu_init_reject(&a, rq->invoke_id, reason);
    dev->stats.rejects++;
    send_apdu(dev, rq, &a);
}

void dev_send_abort(bacsc_device *dev, const dev_request *rq, uint8_t reason)
{
    bacsc_apdu a;
    bacsc_apdu_init_abort(&a, rq->invoke_id, reason, true);
    dev->stats.aborts++;
    send_apdu(dev, rq, &a);
}

void dev_send_error(bacsc_device *dev, const dev_request *rq, const bacsc_error *e)
{
    uint8_t body[16];
    bacsc_error plain = {.error_class = e->error_class, .error_code = e->error_code};
    plain.complex = bacsc_service_has_complex_error(rq->service);
    int n = bacsc_error_encode(body, sizeof body, &plain);
    if (n < 0)
        return;
    bacsc_apdu a;
    bacsc_apdu_init_error(&a, rq->service, rq->invoke_id);
    a.data = body;
    a.data_len = (size_t)n;
    dev->stats.errors++;
    send_apdu(dev, rq, &a);
}

void dev_send_error_code(bacsc_device *dev, const dev_request *rq, uint16_t cls, uint16_t code)
{
    bacsc_error e = {.error_class = cls, .error_code = code};
    dev_send_error(dev, rq, &e);
}

void dev_send_simple_ack(bacsc_device *dev, const dev_request *rq)
{
    bacsc_apdu a;
    bacsc_apdu_init_simple_ack(&a, rq->service, rq->invoke_id);
    send_apdu(dev, rq, &a);
}

/* dev->body holds `len` octets of ACK data. */
static void send_complex_ack(bacsc_device *dev, const dev_request *rq, size_t len)
{
    if (len + COMPLEX_ACK_HEADER > rq->max_resp) {
        if (dev_seg_send(dev, rq, len, rq->now))
            return;
        /* no segmentation (not accepted, or off): segmentation-not-supported;
         * more than the requester takes in segments: buffer-overflow; every
         * segmented answer slot busy: out-of-resources */
        uint8_t reason = rq->seg_total == 0    ? BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED
                         : len > rq->seg_total ? BACSC_ABORT_BUFFER_OVERFLOW
                                               : BACSC_ABORT_OUT_OF_RESOURCES;
        dev_send_abort(dev, rq, reason);
        return;
    }
    bacsc_apdu a;
    bacsc_apdu_init_complex_ack(&a, rq->service, rq->invoke_id);
    a.data = dev->body;
    a.data_len = len;
    send_apdu(dev, rq, &a);
}

/* Capacity for ACK data that still fits the requester's max APDU. */
static size_t body_cap(const dev_request *rq)
{
    if (rq->seg_total)
        return rq->seg_total;
    return rq->max_resp - COMPLEX_ACK_HEADER;
}

/* An answer that does not fit even in segments (or at all without them). */
static void too_big(bacsc_device *dev, const dev_request *rq)
{
    dev_send_abort(dev, rq, rq->seg_total ? BACSC_ABORT_BUFFER_OVERFLOW
                                          : BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED);
}

void dev_answer_fault(bacsc_device *dev, const dev_request *rq, const bacsc_fault *f)
{
    switch (f->kind) {
    case BACSC_FAULT_ABORT:
        dev_send_abort(dev, rq, f->reason);
        break;
    case BACSC_FAULT_ERROR:
        dev_send_error_code(dev, rq, f->error_class, f->error_code);
        break;
    case BACSC_FAULT_REJECT:
        dev_send_reject(dev, rq, f->reason);
        break;
    default:
        /* A decoder that gives no answer for a broken service request is
         * still answered: every confirmed request gets exactly one reply. */
        dev_send_reject(dev, rq, BACSC_REJECT_OTHER);
        break;
    }
}

/* ---- services ------------------------------------------------------------------------- */

static bacsc_object *find_or_error(bacsc_device *dev, const dev_request *rq,
                                   const bacsc_object_id *oid)
{
    bacsc_object *obj = bacsc_device_find_object(dev, oid->type, oid->instance);
    if (obj == NULL)
        dev_send_error_code(dev, rq, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_UNKNOWN_OBJECT);
    return obj;
}

static void do_read_property(bacsc_device *dev, const dev_request *rq, const uint8_t *data,
                             size_t len)
{
    bacsc_rp_request rp;
    bacsc_fault f;
    if (bacsc_rp_request_decode(data, len, &rp, &f) < 0) {
        dev_answer_fault(dev, rq, &f);
        return;
    }
    bacsc_object *obj = find_or_error(dev, rq, &rp.object);
    if (obj == NULL)
        return;
    bacsc_prop_ref ref = {rp.property, rp.has_index ? rp.index : BACSC_ARRAY_ALL};
    bacsc_error err;
    int n = bacsc_device_read_property(dev, obj, &ref, dev->value, body_cap(rq), &err);
    if (n == BACSC_ERR_BUFFER_TOO_SMALL) {
        too_big(dev, rq);
        return;
    }
    if (n < 0) {
        if (n != BACSC_ERR_NOT_FOUND)
            bacsc_prop_error(&err, BACSC_ERROR_CLASS_DEVICE, BACSC_EC_OTHER);
        dev_send_error(dev, rq, &err);
        return;
    }
    bacsc_rp_ack ack = {
        .object = {obj->cls->type, obj->instance},
        .property = rp.property,
        .has_index = rp.has_index,
        .index = rp.index,
        .value = dev->value,
        .value_len = (size_t)n,
    };
    int m = bacsc_rp_ack_encode(dev->body, body_cap(rq), &ack);
    if (m < 0) {
        too_big(dev, rq);
        return;
    }
    send_complex_ack(dev, rq, (size_t)m);
}

/* Encode one RPM result at body+*pos. Returns false when it does not fit. */
static bool rpm_put_result(bacsc_device *dev, const dev_request *rq, size_t *pos, bacsc_object *obj,
                           uint32_t property, bool has_index, uint32_t index,
                           const bacsc_error *fixed_err)
{
    bacsc_rpm_result res;
    memset(&res, 0, sizeof res);
    res.property = property;
    res.has_index = has_index;
    res.index = index;
    bacsc_error err;
    if (fixed_err) {
        res.is_error = true;
        err = *fixed_err;
    } else {
        bacsc_prop_ref ref = {property, has_index ? index : BACSC_ARRAY_ALL};
        int n = bacsc_device_read_property(dev, obj, &ref, dev->value, body_cap(rq), &err);
        if (n == BACSC_ERR_BUFFER_TOO_SMALL)
            return false;
        if (n < 0) {
            if (n != BACSC_ERR_NOT_FOUND)
                bacsc_prop_error(&err, BACSC_ERROR_CLASS_DEVICE, BACSC_EC_OTHER);
            res.is_error = true;
        } else {
            res.value = dev->value;
            res.value_len = (size_t)n;
        }
    }
    if (res.is_error) {
        res.error_class = err.error_class;
        res.error_code = err.error_code;
    }
    int m = bacsc_rpm_encode_result(dev->body + *pos, body_cap(rq) - *pos, &res);
    if (m < 0)
        return false;
    *pos += (size_t)m;
    return true;
}

/* ALL / REQUIRED / OPTIONAL: every property of the list(s), without index. */
static bool rpm_put_special(bacsc_device *dev, const dev_request *rq, size_t *pos, bacsc_object *obj,
                            uint32_t which)
{
    const uint32_t *lists[2];
    dev_object_lists(obj, lists);
    if (which == BACSC_PROP_OPTIONAL)
        lists[0] = NULL;
    if (which == BACSC_PROP_REQUIRED)
        lists[1] = NULL;
    for (int l = 0; l < 2; l++)
        for (const uint32_t *p = lists[l]; p && *p != BACSC_PROPERTY_LIST_END; p++)
            if (!rpm_put_result(dev, rq, pos, obj, *p, false, 0, NULL))
                return false;
    return true;
}

static void do_read_property_multiple(bacsc_device *dev, const dev_request *rq, const uint8_t *data,
                                      size_t len)
{
    bacsc_fault f;
    if (bacsc_rpm_validate(data, len, false, &f) < 0) {
        dev_answer_fault(dev, rq, &f);
        return;
    }
    bacsc_rpm_iter it;
    bacsc_rpm_iter_init(&it, data, len, false);
    bacsc_object_id oid;
    size_t pos = 0, cap = body_cap(rq);
    int rc;
    while ((rc = bacsc_rpm_next_object(&it, &oid, &f)) == 1) {
        bacsc_object *obj = bacsc_device_find_object(dev, oid.type, oid.instance);
        bacsc_object_id shown = oid;
        if (obj) {
            shown.type = obj->cls->type;
            shown.instance = obj->instance;
        }
        int m = bacsc_rpm_encode_object_begin(dev->body + pos, cap - pos, &shown);
        if (m < 0)
            goto too_big;
        pos += (size_t)m;
        bacsc_rpm_ref ref;
        while ((rc = bacsc_rpm_next_ref(&it, &ref, &f)) == 1) {
            bool ok;
            if (obj == NULL) {
                bacsc_error e = {.error_class = BACSC_ERROR_CLASS_OBJECT,
                                 .error_code = BACSC_EC_UNKNOWN_OBJECT};
                ok = rpm_put_result(dev, rq, &pos, NULL, ref.property, ref.has_index, ref.index,
                                    &e);
            } else if (!ref.has_index &&
                       (ref.property == BACSC_PROP_ALL || ref.property == BACSC_PROP_REQUIRED ||
                        ref.property == BACSC_PROP_OPTIONAL)) {
                ok = rpm_put_special(dev, rq, &pos, obj, ref.property);
            } else {
                ok = rpm_put_result(dev, rq, &pos, obj, ref.property, ref.has_index, ref.index,
                                    NULL);
            }
            if (!ok)
                goto too_big;
        }
        if (rc < 0)
            break;
        m = bacsc_rpm_encode_object_end(dev->body + pos, cap - pos);
        if (m < 0)
            goto too_big;
        pos += (size_t)m;
    }
    if (rc < 0) {
        /* validate() accepted it, so the iterator cannot fail; answer anyway. */
        dev_answer_fault(dev, rq, &f);
        return;
    }
    send_complex_ack(dev, rq, pos);
    return;
too_big:
    too_big(dev, rq);
}

static void do_write_property(bacsc_device *dev, const dev_request *rq, const uint8_t *data,
                              size_t len, uint64_t now)
{
    bacsc_wp_request wp;
    bacsc_fault f;
    if (bacsc_wp_request_decode(data, len, &wp, &f) < 0) {
        dev_answer_fault(dev, rq, &f);
        return;
    }
    bacsc_object *obj = find_or_error(dev, rq, &wp.object);
    if (obj == NULL)
        return;
    if (dev_guard_may_change(dev, &rq->reply, wp.object.type, now) != DEV_GUARD_OK) {
        dev_send_error_code(dev, rq, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_WRITE_ACCESS_DENIED);
        return;
    }
    bacsc_prop_write w = {
        .property = wp.property,
        .index = wp.has_index ? wp.index : BACSC_ARRAY_ALL,
        .value = wp.value,
        .value_len = wp.value_len,
        .priority = wp.has_priority ? wp.priority : 16,
        .has_priority = wp.has_priority,
    };
    bacsc_error err;
    int rc = bacsc_device_write_property(dev, obj, &w, &err);
    if (rc < 0) {
        if (rc != BACSC_ERR_NOT_FOUND)
            bacsc_prop_error(&err, BACSC_ERROR_CLASS_DEVICE, BACSC_EC_OTHER);
        dev_send_error(dev, rq, &err);
        return;
    }
    dev_send_simple_ack(dev, rq);
}

static bacsc_object *find_file_or_error(bacsc_device *dev, const dev_request *rq,
                                        const bacsc_object_id *oid, uint8_t access)
{
    if (oid->type != BACSC_OBJ_FILE) {
        /* The service names a File object; any other type is inconsistent. */
        dev_send_error_code(dev, rq, BACSC_ERROR_CLASS_SERVICES,
                        BACSC_EC_INCONSISTENT_PARAMETERS);
        return NULL;
    }
    bacsc_object *obj = find_or_error(dev, rq, oid);
    if (obj == NULL)
        return NULL;
    if (!dev_is_file(obj)) {
        dev_send_error_code(dev, rq, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_UNSUPPORTED_OBJECT_TYPE);
        return NULL;
    }
    if (access != BACSC_FILE_STREAM) {
        dev_send_error_code(dev, rq, BACSC_ERROR_CLASS_SERVICES,
                        BACSC_EC_INVALID_FILE_ACCESS_METHOD);
        return NULL;
    }
    return obj;
}

static void do_atomic_read_file(bacsc_device *dev, const dev_request *rq, const uint8_t *data,
                                size_t len)
{
    bacsc_arf_request r;
    bacsc_fault f;
    if (bacsc_arf_request_decode(data, len, &r, &f) < 0) {
        dev_answer_fault(dev, rq, &f);
        return;
    }
    bacsc_object *obj = find_file_or_error(dev, rq, &r.file, r.access);
    if (obj == NULL)
        return;
    /* ACK overhead: Boolean(1) + [0]open(1) + Signed(<=5) + OctetString
     * header(<=5) + [0]close(1). A request for more than fits is answered
     * with an Abort, as for any answer too large. */
    size_t overhead = 16;
    if (body_cap(rq) <= overhead || r.count > body_cap(rq) - overhead) {
        too_big(dev, rq);
        return;
    }
    size_t n = 0;
    bool eof = false;
    bacsc_error err;
    if (dev_file_read(obj, r.start, r.count, dev->value, dev->buf_cap, &n, &eof, &err) < 0) {
        dev_send_error(dev, rq, &err);
        return;
    }
    bacsc_arf_ack ack = {
        .end_of_file = eof,
        .access = BACSC_FILE_STREAM,
        .start = r.start,
        .data = dev->value,
        .data_len = n,
    };
    int m = bacsc_arf_ack_encode(dev->body, body_cap(rq), &ack);
    if (m < 0) {
        too_big(dev, rq);
        return;
    }
    send_complex_ack(dev, rq, (size_t)m);
}

static void do_atomic_write_file(bacsc_device *dev, const dev_request *rq, const uint8_t *data,
                                 size_t len, uint64_t now)
{
    bacsc_awf_request r;
    bacsc_fault f;
    if (bacsc_awf_request_decode(data, len, &r, &f) < 0) {
        dev_answer_fault(dev, rq, &f);
        return;
    }
    bacsc_object *obj = find_file_or_error(dev, rq, &r.file, r.access);
    if (obj == NULL)
        return;
    if (dev_guard_may_change(dev, &rq->reply, BACSC_OBJ_FILE, now) != DEV_GUARD_OK) {
        dev_send_error_code(dev, rq, BACSC_ERROR_CLASS_SERVICES, BACSC_EC_FILE_ACCESS_DENIED);
        return;
    }
    int32_t at = 0;
    bacsc_error err;
    if (dev_file_write(obj, r.start, r.data, r.data_len, &at, &err) < 0) {
        dev_send_error(dev, rq, &err);
        return;
    }
    if (dev->cb.written)
        dev->cb.written(dev->cb.user, dev, obj, BACSC_PROP_FILE_SIZE);
    bacsc_awf_ack ack = {.access = BACSC_FILE_STREAM, .start = at};
    int m = bacsc_awf_ack_encode(dev->body, body_cap(rq), &ack);
    if (m < 0) {
        too_big(dev, rq);
        return;
    }
    send_complex_ack(dev, rq, (size_t)m);
}

/* Octets of the NPDU header of an answer to `to`. */
static size_t reply_header_len(const bacsc_address *to)
{
    size_t n = 2;
    if (to->net != 0)
        n += 3 + (to->net == BACSC_NET_GLOBAL ? 0 : to->adr_len) + 1;
    return n;
}

void bacsc_device_set_max_npdu(bacsc_device *dev, size_t max_npdu)
{
    dev->link.max_npdu = max_npdu ? max_npdu : BACSC_NPDU_MIN_MAX_LEN;
}

/* DCC disable: only DeviceCommunicationControl and ReinitializeDevice are
 * answered (clause 16.1.1.3.1); `service` < 0 when it could not be read. */
static bool dcc_silences(bacsc_device *dev, uint64_t now, int service)
{
    return dev_dcc_state(dev, now) == BACSC_DCC_DISABLE &&
           service != BACSC_SERVICE_DEVICE_COMMUNICATION_CONTROL &&
           service != BACSC_SERVICE_REINITIALIZE_DEVICE;
}

static void handle_confirmed(bacsc_device *dev, dev_request *rq, const bacsc_apdu *a,
                             uint64_t now)
{
    rq->invoke_id = a->invoke_id;
    rq->service = a->service;
    size_t theirs = bacsc_max_apdu_octets(a->max_apdu);
    rq->max_resp = theirs < dev->max_apdu ? theirs : dev->max_apdu;
    /* The answer's NPDU must also fit the datalink's (negotiated) maximum. */
    size_t room = dev->link.max_npdu > reply_header_len(&rq->reply)
                      ? dev->link.max_npdu - reply_header_len(&rq->reply)
                      : 0;
    if (room < 50)
        room = 50;   /* every datalink carries an APDU of 50 octets */
    if (room < rq->max_resp)
        rq->max_resp = room;
    /* DCC disable: only DeviceCommunicationControl and ReinitializeDevice
     * are answered (clause 16.1.1.3.1). */
    if (dcc_silences(dev, now, a->service)) {
        dev->stats.dropped++;
        return;
    }
    /* A retransmitted request while its segmented answer is under way. */
    if (dev_seg_busy(dev, &rq->reply, a->invoke_id)) {
        dev->stats.dropped++;
        return;
    }
    rq->now = now;
    rq->seg_accepted = a->segmented_response_accepted;
    dev_seg_prepare(dev, rq, a->max_segs);
    if (a->segmented) {
        dev_segrx_input(dev, rq, a, now);
        return;
    }
    dev->stats.requests++;
    dev_dispatch_confirmed(dev, rq, a->data, a->data_len, now);
}

void dev_dispatch_confirmed(bacsc_device *dev, dev_request *rq, const uint8_t *data, size_t len,
                            uint64_t now)
{
    switch (rq->service) {
    case BACSC_SERVICE_READ_PROPERTY:
        do_read_property(dev, rq, data, len);
        break;
    case BACSC_SERVICE_READ_PROPERTY_MULTIPLE:
        do_read_property_multiple(dev, rq, data, len);
        break;
    case BACSC_SERVICE_WRITE_PROPERTY:
        do_write_property(dev, rq, data, len, now);
        break;
    case BACSC_SERVICE_ATOMIC_READ_FILE:
        do_atomic_read_file(dev, rq, data, len);
        break;
    case BACSC_SERVICE_ATOMIC_WRITE_FILE:
        do_atomic_write_file(dev, rq, data, len, now);
        break;
    case BACSC_SERVICE_DEVICE_COMMUNICATION_CONTROL:
        dev_do_dcc(dev, rq, data, len, now);
        break;
    case BACSC_SERVICE_REINITIALIZE_DEVICE:
        dev_do_reinitialize(dev, rq, data, len, now);
        break;
    default:
        dev_send_reject(dev, rq, BACSC_REJECT_UNRECOGNIZED_SERVICE);
        break;
    }
}

int bacsc_device_handle_npdu(bacsc_device *dev, const bacsc_address *src, const uint8_t *npdu,
                             size_t len, uint64_t now)
{
    return bacsc_device_handle_npdu_rx(dev, src, npdu, len, false, now);
}

int bacsc_device_handle_npdu_rx(bacsc_device *dev, const bacsc_address *src, const uint8_t *npdu,
                                size_t len, bool broadcast, uint64_t now)
{
    bacsc_npdu n;
    if (bacsc_npdu_decode(npdu, len, &n) < 0) {
        dev->stats.dropped++;
        return BACSC_ERR_MALFORMED;
    }
    /* Network-layer messages are for routers; a DNET other than the global
     * broadcast means the NPDU is for another network; an SADR we could not
     * answer to is unusable. */
    if (n.network_msg || (n.has_dnet && n.dnet != BACSC_NPDU_GLOBAL_BROADCAST) ||
        (n.has_snet && n.slen > BACSC_MAC_MAX)) {
        dev->stats.dropped++;
        return BACSC_OK;
    }
    dev_request rq;
    memset(&rq, 0, sizeof rq);
    bacsc_address_from_npdu(src, &n, &rq.reply);
    rq.priority = n.priority;
    bacsc_apdu a;
    bacsc_fault f;
    memset(&a, 0, sizeof a);
    if (bacsc_apdu_decode(n.payload, n.payload_len, &a, &f) < 0) {
        /* A Confirmed-Request whose invoke id we can read is always
         * answered (the decoder's Reject/Abort, else Reject other). */
        bool bcast = broadcast || (n.has_dnet && n.dnet == BACSC_NPDU_GLOBAL_BROADCAST);
        /* DCC disable: only (even malformed) DCC and ReinitializeDevice
         * requests get an answer, as in handle_confirmed(). */
        size_t svc = (n.payload_len && (n.payload[0] & 0x08)) ? 5 : 3; /* past seq + window if SEG */
        bool silenced = dcc_silences(dev, now, n.payload_len > svc ? n.payload[svc] : -1);
        if (a.type == BACSC_PDU_CONFIRMED_REQUEST && n.payload_len >= 3 && !bcast && !silenced) {
            rq.invoke_id = a.invoke_id;
            dev->stats.requests++;
            dev_answer_fault(dev, &rq, &f);
        } else {
            dev->stats.dropped++;
        }
        return BACSC_OK;
    }
    bacsc_device_handle_expiry(dev, now);
    switch (a.type) {
    case BACSC_PDU_SEGMENT_ACK:
    case BACSC_PDU_ABORT:
        return dev_seg_input(dev, &rq.reply, &a, now);
    case BACSC_PDU_CONFIRMED_REQUEST:
        /* Clause 5.4.5.1: a confirmed request received as a broadcast (by
         * the datalink, or with DNET 0xFFFF) is ignored. */
        if (broadcast || (n.has_dnet && n.dnet == BACSC_NPDU_GLOBAL_BROADCAST)) {
            dev->stats.dropped++;
            return BACSC_OK;
        }
        handle_confirmed(dev, &rq, &a, now);
        return BACSC_OK;
    case BACSC_PDU_UNCONFIRMED_REQUEST:
        if (a.service == BACSC_SERVICE_I_AM)
            return BACSC_ERR_NOT_FOUND;
        dev_handle_unconfirmed(dev, &rq, &a, now);
        return BACSC_OK;
    default:
        return BACSC_ERR_NOT_FOUND;
    }
}
