/*
 * device_object.c — the Device object class: identification, protocol
 * support, Object_List, and the APDU parameters of the device.
 */
#include <string.h>

#include "app/device_internal.h"

#define PROTOCOL_VERSION 1
#define PROTOCOL_REVISION 24
/* BACnetServicesSupported bits (through you-are, 48) and
 * BACnetObjectTypesSupported bits (through color-temperature, 64). */
#define SERVICES_BITS 49
#define OBJECT_TYPES_BITS 65

/* The services this device knows, by their BACnetServicesSupported bit:
 * Protocol_Services_Supported and the PICS table are both made from this.
 * The file services are claimed only while a File object exists. */
static const dev_service services[] = {
    {6, "atomicReadFile", DEV_SVC_EXECUTE | DEV_SVC_NEEDS_FILE},
    {7, "atomicWriteFile", DEV_SVC_EXECUTE | DEV_SVC_NEEDS_FILE},
    {12, "readProperty", DEV_SVC_EXECUTE},
    {14, "readPropertyMultiple", DEV_SVC_EXECUTE},
    {15, "writeProperty", DEV_SVC_EXECUTE},
    {17, "deviceCommunicationControl", DEV_SVC_EXECUTE},
    {20, "reinitializeDevice", DEV_SVC_EXECUTE},
    {26, "i-Am", DEV_SVC_INITIATE},
    {27, "i-Have", DEV_SVC_INITIATE},
    {33, "who-Has", DEV_SVC_EXECUTE},
    {34, "who-Is", DEV_SVC_EXECUTE},
};

const dev_service *dev_services(size_t *n)
{
    *n = sizeof services / sizeof services[0];
    return services;
}

bool dev_has_file(const bacsc_device *dev)
{
    for (size_t i = 0; i < dev->nobjects; i++)
        if (dev_is_file(dev->objects[i]))
            return true;
    return false;
}

static const uint32_t device_required[] = {
    BACSC_PROP_OBJECT_IDENTIFIER,
    BACSC_PROP_OBJECT_NAME,
    BACSC_PROP_OBJECT_TYPE,
    BACSC_PROP_SYSTEM_STATUS,
    BACSC_PROP_VENDOR_NAME,
    BACSC_PROP_VENDOR_IDENTIFIER,
    BACSC_PROP_MODEL_NAME,
    BACSC_PROP_FIRMWARE_REVISION,
    BACSC_PROP_APPLICATION_SOFTWARE_VERSION,
    BACSC_PROP_PROTOCOL_VERSION,
    BACSC_PROP_PROTOCOL_REVISION,
    BACSC_PROP_PROTOCOL_SERVICES_SUPPORTED,
    BACSC_PROP_PROTOCOL_OBJECT_TYPES_SUPPORTED,
    BACSC_PROP_OBJECT_LIST,
    BACSC_PROP_MAX_APDU_LENGTH_ACCEPTED,
    BACSC_PROP_SEGMENTATION_SUPPORTED,
    BACSC_PROP_APDU_TIMEOUT,
    BACSC_PROP_NUMBER_OF_APDU_RETRIES,
    BACSC_PROP_DEVICE_ADDRESS_BINDING,
    BACSC_PROP_DATABASE_REVISION,
    BACSC_PROP_PROPERTY_LIST,
    BACSC_PROPERTY_LIST_END,
};

static const uint32_t device_optional[] = {
    BACSC_PROP_DESCRIPTION,
    BACSC_PROP_LOCATION,
    BACSC_PROP_DEVICE_UUID,
    BACSC_PROP_LAST_RESTART_REASON,
    BACSC_PROP_TIME_OF_DEVICE_RESTART,
    BACSC_PROP_APDU_SEGMENT_TIMEOUT,
    BACSC_PROP_MAX_SEGMENTS_ACCEPTED,
    BACSC_PROPERTY_LIST_END,
};

static void set_bit(uint8_t *bits, unsigned i)
{
    bits[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

static int encode_services(const bacsc_device *dev, uint8_t *buf, size_t cap)
{
    uint8_t bits[(SERVICES_BITS + 7) / 8];
    memset(bits, 0, sizeof bits);
    bool files = dev_has_file(dev);
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
        if (files || !(services[i].flags & DEV_SVC_NEEDS_FILE))
            set_bit(bits, services[i].bit);
    return dev_encode_bitstring(buf, cap, bits, SERVICES_BITS);
}

static int encode_object_types(const bacsc_device *dev, uint8_t *buf, size_t cap)
{
    uint8_t bits[(OBJECT_TYPES_BITS + 7) / 8];
    memset(bits, 0, sizeof bits);
    /* The types present in this device (a plugged-in class counts too). */
    for (size_t i = 0; i < dev->nobjects; i++)
        if (dev->objects[i]->cls->type < OBJECT_TYPES_BITS)
            set_bit(bits, dev->objects[i]->cls->type);
    return dev_encode_bitstring(buf, cap, bits, OBJECT_TYPES_BITS);
}

/* BACnetTimeStamp, the dateTime [2] choice. */
static int encode_restart_time(const bacsc_device *dev, uint8_t *buf, size_t cap)
{
    int a = bacsc_tag_encode_opening(buf, cap, 2);
    if (a < 0)
        return a;
    int b = dev_encode_datetime(buf ? buf + a : NULL, buf ? cap - (size_t)a : 0,
                                &dev->restart_time);
    if (b < 0)
        return b;
    int c = bacsc_tag_encode_closing(buf ? buf + a + b : NULL, buf ? cap - (size_t)(a + b) : 0, 2);
    if (c < 0)
        return c;
    return a + b + c;
}

static int object_list_elem(const void *ctx, uint32_t i, uint8_t *buf, size_t cap)
{
    const bacsc_device *dev = ctx;
    const bacsc_object *o = dev->objects[i];
    return bacsc_app_encode_object_id(buf, cap, o->cls->type, o->instance);
}

static int device_read(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_ref *ref,
                       uint8_t *buf, size_t cap, bacsc_error *err)
{
    (void)obj;
    if (ref->property == BACSC_PROP_OBJECT_LIST)
        return bacsc_prop_encode_array(ref, (uint32_t)dev->nobjects, object_list_elem, dev, buf,
                                       cap, err);
    if (bacsc_prop_check_not_array(ref, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    switch (ref->property) {
    case BACSC_PROP_SYSTEM_STATUS:
        return bacsc_app_encode_enumerated(buf, cap, dev->system_status);
    case BACSC_PROP_VENDOR_NAME:
        return dev_encode_string(buf, cap, dev->vendor_name);
    case BACSC_PROP_VENDOR_IDENTIFIER:
        return bacsc_app_encode_unsigned(buf, cap, dev->vendor_id);
    case BACSC_PROP_MODEL_NAME:
        return dev_encode_string(buf, cap, dev->model_name);
    case BACSC_PROP_FIRMWARE_REVISION:
        return dev_encode_string(buf, cap, dev->firmware_revision);
    case BACSC_PROP_APPLICATION_SOFTWARE_VERSION:
        return dev_encode_string(buf, cap, dev->app_version);
    case BACSC_PROP_PROTOCOL_VERSION:
        return bacsc_app_encode_unsigned(buf, cap, PROTOCOL_VERSION);
    case BACSC_PROP_PROTOCOL_REVISION:
        return bacsc_app_encode_unsigned(buf, cap, PROTOCOL_REVISION);
    case BACSC_PROP_PROTOCOL_SERVICES_SUPPORTED:
        return encode_services(dev, buf, cap);
    case BACSC_PROP_PROTOCOL_OBJECT_TYPES_SUPPORTED:
        return encode_object_types(dev, buf, cap);
    case BACSC_PROP_MAX_APDU_LENGTH_ACCEPTED:
        return bacsc_app_encode_unsigned(buf, cap, dev->max_apdu);
    case BACSC_PROP_SEGMENTATION_SUPPORTED:
        return bacsc_app_encode_enumerated(buf, cap, dev->segmentation);
    case BACSC_PROP_APDU_TIMEOUT:
        return bacsc_app_encode_unsigned(buf, cap, dev->apdu_timeout_ms);
    case BACSC_PROP_NUMBER_OF_APDU_RETRIES:
        return bacsc_app_encode_unsigned(buf, cap, dev->apdu_retries);
    case BACSC_PROP_DEVICE_ADDRESS_BINDING:
        return 0; /* an empty list: this device caches no bindings */
    case BACSC_PROP_DATABASE_REVISION:
        return bacsc_app_encode_unsigned(buf, cap, dev->database_revision);
    case BACSC_PROP_DESCRIPTION:
        return dev_encode_string(buf, cap, dev->description);
    case BACSC_PROP_LOCATION:
        return dev_encode_string(buf, cap, dev->location);
    case BACSC_PROP_APDU_SEGMENT_TIMEOUT:
        return bacsc_app_encode_unsigned(buf, cap, dev->seg_timeout_us / 1000);
    case BACSC_PROP_MAX_SEGMENTS_ACCEPTED:
        /* segments of a request taken (device_seg.c); 1 without segmentation */
        return bacsc_app_encode_unsigned(buf, cap, dev->seg_enabled ? DEV_SEGRX_SEGS : 1);
    case BACSC_PROP_LAST_RESTART_REASON:
        return bacsc_app_encode_enumerated(buf, cap, dev->restart_reason);
    case BACSC_PROP_TIME_OF_DEVICE_RESTART:
        return encode_restart_time(dev, buf, cap);
    case BACSC_PROP_DEVICE_UUID:
        return bacsc_app_encode_octet_string(buf, cap, dev->uuid, sizeof dev->uuid);
    default:
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
    }
}

static int device_write(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_write *w,
                        bacsc_error *err)
{
    (void)obj;
    if (w->property != BACSC_PROP_DESCRIPTION && w->property != BACSC_PROP_LOCATION)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_WRITE_ACCESS_DENIED);
    if (w->index != BACSC_ARRAY_ALL)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_PROPERTY_IS_NOT_AN_ARRAY);
    char *dst = w->property == BACSC_PROP_DESCRIPTION ? dev->description : dev->location;
    return dev_decode_string_write(w, dst, BACSC_DEVICE_STRING_MAX + 1, err);
}

const bacsc_object_class bacsc_device_object_class = {
    .type = BACSC_OBJ_DEVICE,
    .required = device_required,
    .optional = device_optional,
    .read = device_read,
    .write = device_write,
    .destroy = NULL,
};
