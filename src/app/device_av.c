/*
 * device_av.c — the Analog Value object class: a commandable REAL with a
 * 16-level priority array (ASHRAE 135 clause 19.2 command prioritisation).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app/device_internal.h"

typedef struct av {
    float level[16];
    bool active[16];           /* level i holds a value (else Null) */
    float relinquish_default;
    uint32_t units;
    bool out_of_service;
    bool commandable;          /* Present_Value has a priority array */
    char description[BACSC_DEVICE_STRING_MAX + 1];
} av;

/* Clause 12.4: Priority_Array, Relinquish_Default and
 * Current_Command_Priority are required when Present_Value is commandable
 * and absent otherwise. The class lists are the commandable (superset)
 * form; av_lists() gives each object its own. */
static const uint32_t av_required[] = {
    BACSC_PROP_OBJECT_IDENTIFIER,  BACSC_PROP_OBJECT_NAME,    BACSC_PROP_OBJECT_TYPE,
    BACSC_PROP_PRESENT_VALUE,      BACSC_PROP_STATUS_FLAGS,   BACSC_PROP_EVENT_STATE,
    BACSC_PROP_OUT_OF_SERVICE,     BACSC_PROP_UNITS,          BACSC_PROP_PRIORITY_ARRAY,
    BACSC_PROP_RELINQUISH_DEFAULT, BACSC_PROP_CURRENT_COMMAND_PRIORITY,
    BACSC_PROP_PROPERTY_LIST,      BACSC_PROPERTY_LIST_END,
};

static const uint32_t av_required_plain[] = {
    BACSC_PROP_OBJECT_IDENTIFIER, BACSC_PROP_OBJECT_NAME,  BACSC_PROP_OBJECT_TYPE,
    BACSC_PROP_PRESENT_VALUE,     BACSC_PROP_STATUS_FLAGS, BACSC_PROP_EVENT_STATE,
    BACSC_PROP_OUT_OF_SERVICE,    BACSC_PROP_UNITS,        BACSC_PROP_PROPERTY_LIST,
    BACSC_PROPERTY_LIST_END,
};

static const uint32_t av_optional[] = {
    BACSC_PROP_DESCRIPTION,
    BACSC_PROPERTY_LIST_END,
};

static void av_lists(const bacsc_object *obj, const uint32_t **required,
                     const uint32_t **optional)
{
    (void)optional;
    const av *a = obj->impl;
    if (!a->commandable)
        *required = av_required_plain;
}

/* The priority in control (1..16), or 0 when Relinquish_Default applies. */
static int command_priority(const av *a)
{
    for (int i = 0; i < 16; i++)
        if (a->active[i])
            return i + 1;
    return 0;
}

static float present_value(const av *a)
{
    int p = command_priority(a);
    return p ? a->level[p - 1] : a->relinquish_default;
}

static int priority_elem(const void *ctx, uint32_t i, uint8_t *buf, size_t cap)
{
    const av *a = ctx;
    if (!a->active[i])
        return bacsc_app_encode_null(buf, cap);
    return bacsc_app_encode_real(buf, cap, a->level[i]);
}

static int av_read(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_ref *ref,
                   uint8_t *buf, size_t cap, bacsc_error *err)
{
    (void)dev;
    const av *a = obj->impl;
    if (ref->property == BACSC_PROP_PRIORITY_ARRAY)
        return bacsc_prop_encode_array(ref, 16, priority_elem, a, buf, cap, err);
    if (bacsc_prop_check_not_array(ref, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    switch (ref->property) {
    case BACSC_PROP_PRESENT_VALUE:
        return bacsc_app_encode_real(buf, cap, present_value(a));
    case BACSC_PROP_STATUS_FLAGS:
        return dev_encode_status_flags(buf, cap, false, false, false, a->out_of_service);
    case BACSC_PROP_EVENT_STATE:
        return bacsc_app_encode_enumerated(buf, cap, 0 /* normal */);
    case BACSC_PROP_OUT_OF_SERVICE:
        return bacsc_app_encode_boolean(buf, cap, a->out_of_service);
    case BACSC_PROP_UNITS:
        return bacsc_app_encode_enumerated(buf, cap, a->units);
    case BACSC_PROP_RELINQUISH_DEFAULT:
        return bacsc_app_encode_real(buf, cap, a->relinquish_default);
    case BACSC_PROP_CURRENT_COMMAND_PRIORITY: /* BACnetOptionalUnsigned */
        if (command_priority(a) == 0)
            return bacsc_app_encode_null(buf, cap);
        return bacsc_app_encode_unsigned(buf, cap, (uint32_t)command_priority(a));
    case BACSC_PROP_DESCRIPTION:
        return dev_encode_string(buf, cap, a->description);
    default:
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
    }
}

/* A REAL that a point may hold: finite. */
static int decode_real(const bacsc_prop_write *w, float *out, bacsc_error *err)
{
    bacsc_value v;
    if (bacsc_prop_decode_single(w, BACSC_TAG_REAL, &v, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    if (!isfinite(v.v.real))
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_VALUE_OUT_OF_RANGE);
    *out = v.v.real;
    return BACSC_OK;
}

static int write_present_value(av *a, const bacsc_prop_write *w, bacsc_error *err)
{
    if (!a->commandable) {
        /* No priority array: the priority is ignored (clause 19.2.1). */
        float f = 0.0f;
        if (decode_real(w, &f, err) < 0)
            return BACSC_ERR_NOT_FOUND;
        a->level[15] = f;
        a->active[15] = true;
        return BACSC_OK;
    }
    /* Priority 6 is reserved for Minimum On/Off (clause 19.2.3); an object
     * without minimum on/off times refuses it. */
    if (w->priority == 6)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_WRITE_ACCESS_DENIED);
    bacsc_value v;
    int n = bacsc_value_decode(w->value, w->value_len, &v);
    if (n > 0 && (size_t)n == w->value_len && v.type == BACSC_TAG_NULL) {
        a->active[w->priority - 1] = false;   /* relinquish */
        return BACSC_OK;
    }
    float f = 0.0f;
    if (decode_real(w, &f, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    a->level[w->priority - 1] = f;
    a->active[w->priority - 1] = true;
    return BACSC_OK;
}

static int av_write(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_write *w,
                    bacsc_error *err)
{
    (void)dev;
    av *a = obj->impl;
    if (w->property == BACSC_PROP_PRIORITY_ARRAY || w->property == BACSC_PROP_STATUS_FLAGS ||
        w->property == BACSC_PROP_EVENT_STATE ||
        w->property == BACSC_PROP_CURRENT_COMMAND_PRIORITY)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_WRITE_ACCESS_DENIED);
    if (w->index != BACSC_ARRAY_ALL)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_PROPERTY_IS_NOT_AN_ARRAY);
    if (w->priority < 1 || w->priority > 16)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_VALUE_OUT_OF_RANGE);
    switch (w->property) {
    case BACSC_PROP_PRESENT_VALUE:
        return write_present_value(a, w, err);
    case BACSC_PROP_RELINQUISH_DEFAULT:
        return decode_real(w, &a->relinquish_default, err);
    case BACSC_PROP_OUT_OF_SERVICE:
        return dev_decode_boolean_write(w, &a->out_of_service, err);
    case BACSC_PROP_UNITS: {
        bacsc_value v;
        if (bacsc_prop_decode_single(w, BACSC_TAG_ENUMERATED, &v, err) < 0)
            return BACSC_ERR_NOT_FOUND;
        if (v.v.enumerated > 0xFFFF)   /* BACnetEngineeringUnits is 16-bit */
            return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                    BACSC_EC_VALUE_OUT_OF_RANGE);
        a->units = v.v.enumerated;
        return BACSC_OK;
    }
    case BACSC_PROP_DESCRIPTION:
        return dev_decode_string_write(w, a->description, sizeof a->description, err);
    default:
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_WRITE_ACCESS_DENIED);
    }
}

static void av_destroy(bacsc_object *obj)
{
    free(obj->impl);
}

static const bacsc_object_class av_class = {
    .type = BACSC_OBJ_ANALOG_VALUE,
    .required = av_required,
    .optional = av_optional,
    .read = av_read,
    .write = av_write,
    .destroy = av_destroy,
    .lists = av_lists,
};

int bacsc_device_add_analog_value(bacsc_device *dev, uint32_t instance, const char *name,
                                  float relinquish_default, uint32_t units,
                                  bacsc_object **out)
{
    if (!isfinite(relinquish_default))
        return BACSC_ERR_INVALID_ARG;
    av *a = calloc(1, sizeof *a);
    if (a == NULL)
        return BACSC_ERR_NOMEM;
    a->relinquish_default = relinquish_default;
    a->units = units;
    a->commandable = true;
    int rc = bacsc_device_add_object(dev, &av_class, instance, name, a, out);
    if (rc != BACSC_OK)
        free(a);
    return rc;
}

int bacsc_analog_value_get(const bacsc_object *obj, float *value)
{
    if (obj == NULL || obj->cls != &av_class)
        return BACSC_ERR_INVALID_ARG;
    *value = present_value(obj->impl);
    return BACSC_OK;
}

int bacsc_analog_value_set(bacsc_object *obj, uint8_t priority, float value, bool relinquish)
{
    if (obj == NULL || obj->cls != &av_class || priority < 1 || priority > 16 ||
        (!relinquish && !isfinite(value)))
        return BACSC_ERR_INVALID_ARG;
    av *a = obj->impl;
    a->active[priority - 1] = !relinquish;
    if (!relinquish)
        a->level[priority - 1] = value;
    return BACSC_OK;
}

int bacsc_analog_value_set_commandable(bacsc_object *obj, bool commandable)
{
    if (obj == NULL || obj->cls != &av_class)
        return BACSC_ERR_INVALID_ARG;
    av *a = obj->impl;
    if (a->commandable != commandable) {
        float pv = present_value(a);
        memset(a->active, 0, sizeof a->active);
        a->commandable = commandable;
        if (!commandable) {
            a->level[15] = pv;
            a->active[15] = true;
        }
    }
    return BACSC_OK;
}
