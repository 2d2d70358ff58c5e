/*
 * device_file.c — the File object class (stream access) and the storage
 * hooks behind AtomicReadFile/AtomicWriteFile. The bytes live wherever the
 * application's bacsc_file_ops put them (certificate files, a CSR); this
 * module only maps BACnet semantics onto those calls.
 */
#include <stdlib.h>
#include <string.h>

#include "app/device_internal.h"

typedef struct file_obj {
    bacsc_file_ops ops;
    char file_type[BACSC_DEVICE_STRING_MAX + 1];
    bool read_only;
    bool readable;
    bool archive;
} file_obj;

static const uint32_t file_required[] = {
    BACSC_PROP_OBJECT_IDENTIFIER,  BACSC_PROP_OBJECT_NAME, BACSC_PROP_OBJECT_TYPE,
    BACSC_PROP_FILE_TYPE,          BACSC_PROP_FILE_SIZE,   BACSC_PROP_MODIFICATION_DATE,
    BACSC_PROP_ARCHIVE,            BACSC_PROP_READ_ONLY,   BACSC_PROP_FILE_ACCESS_METHOD,
    BACSC_PROP_PROPERTY_LIST,      BACSC_PROPERTY_LIST_END,
};

#define FILE_ACCESS_STREAM 1   /* BACnetFileAccessMethod: record 0, stream 1 */

static const bacsc_object_class file_class;

bool dev_is_file(const bacsc_object *obj)
{
    return obj->cls == &file_class;
}

/* Map a storage error to the BACnet error answered. */
static int storage_error(int rc, bacsc_error *err)
{
    switch (rc) {
    case BACSC_ERR_NOT_FOUND:
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_UNKNOWN_OBJECT);
    case BACSC_ERR_POLICY:
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_FILE_ACCESS_DENIED);
    case BACSC_ERR_LIMIT:
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_FILE_FULL);
    case BACSC_ERR_MALFORMED:
        /* The bytes are refused by the storage (e.g. not a certificate). */
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_INVALID_DATA_TYPE);
    default:
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_DEVICE, BACSC_EC_OPERATIONAL_PROBLEM);
    }
}

static int file_size(const file_obj *f, uint32_t instance, uint64_t *size, bacsc_error *err)
{
    int rc = f->ops.size ? f->ops.size(f->ops.user, instance, size) : BACSC_ERR_UNSUPPORTED;
    if (rc < 0)
        return storage_error(rc, err);
    return BACSC_OK;
}

static int file_read_prop(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_ref *ref,
                          uint8_t *buf, size_t cap, bacsc_error *err)
{
    (void)dev;
    const file_obj *f = obj->impl;
    if (bacsc_prop_check_not_array(ref, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    switch (ref->property) {
    case BACSC_PROP_FILE_TYPE: {
        const char *t = f->ops.type ? f->ops.type(f->ops.user, obj->instance) : NULL;
        return dev_encode_string(buf, cap, t ? t : f->file_type);
    }
    case BACSC_PROP_FILE_SIZE: {
        uint64_t size = 0;
        if (file_size(f, obj->instance, &size, err) < 0)
            return BACSC_ERR_NOT_FOUND;
        return bacsc_app_encode_unsigned(buf, cap, size);
    }
    case BACSC_PROP_MODIFICATION_DATE: {
        bacsc_datetime dt;
        memset(&dt, 0xFF, sizeof dt);   /* not tracked: unspecified */
        return dev_encode_datetime(buf, cap, &dt);
    }
    case BACSC_PROP_ARCHIVE:
        return bacsc_app_encode_boolean(buf, cap, f->archive);
    case BACSC_PROP_READ_ONLY:
        return bacsc_app_encode_boolean(buf, cap, f->read_only);
    case BACSC_PROP_FILE_ACCESS_METHOD:
        return bacsc_app_encode_enumerated(buf, cap, FILE_ACCESS_STREAM);
    default:
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
    }
}

static int file_write_prop(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_write *w,
                           bacsc_error *err)
{
    (void)dev;
    file_obj *f = obj->impl;
    if (w->index != BACSC_ARRAY_ALL)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_PROPERTY_IS_NOT_AN_ARRAY);
    if (w->property == BACSC_PROP_ARCHIVE)
        return dev_decode_boolean_write(w, &f->archive, err);
    if (w->property == BACSC_PROP_FILE_SIZE && !f->read_only && f->ops.set_size) {
        uint64_t size;
        if (dev_decode_unsigned_write(w, 0, UINT32_MAX, &size, err) < 0)
            return BACSC_ERR_NOT_FOUND;
        int rc = f->ops.set_size(f->ops.user, obj->instance, size);
        return rc < 0 ? storage_error(rc, err) : BACSC_OK;
    }
    return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_WRITE_ACCESS_DENIED);
}

int dev_file_read(bacsc_object *obj, int32_t start, uint32_t count, uint8_t *buf, size_t cap,
                  size_t *n, bool *eof, bacsc_error *err)
{
    const file_obj *f = obj->impl;
    if (!f->readable || f->ops.read == NULL)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_FILE_ACCESS_DENIED);
    uint64_t size;
    if (file_size(f, obj->instance, &size, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    if (start < 0 || (uint64_t)start > size)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_SERVICES,
                                BACSC_EC_INVALID_FILE_START_POSITION);
    if (count > cap)
        count = (uint32_t)cap;
    *n = 0;
    *eof = false;
    int rc = f->ops.read(f->ops.user, obj->instance, (uint64_t)start, count, buf, n, eof);
    if (rc < 0)
        return storage_error(rc, err);
    if (*n > count)   /* a storage callback must not overrun; clamp defensively */
        *n = count;
    if ((uint64_t)start + *n >= size)
        *eof = true;
    return BACSC_OK;
}

int dev_file_write(bacsc_object *obj, int32_t start, const uint8_t *data, size_t len,
                   int32_t *written_at, bacsc_error *err)
{
    const file_obj *f = obj->impl;
    if (f->read_only || f->ops.write == NULL)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_FILE_ACCESS_DENIED);
    uint64_t size;
    if (file_size(f, obj->instance, &size, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    /* -1 appends (clause 14.2.1.3.2); otherwise at most at the end. */
    uint64_t at;
    if (start == -1)
        at = size;
    else if (start < 0 || (uint64_t)start > size)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_SERVICES,
                                BACSC_EC_INVALID_FILE_START_POSITION);
    else
        at = (uint64_t)start;
    if (at > INT32_MAX || len > (uint64_t)INT32_MAX - at)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_OBJECT, BACSC_EC_FILE_FULL);
    int rc = f->ops.write(f->ops.user, obj->instance, at, data, len);
    if (rc < 0)
        return storage_error(rc, err);
    *written_at = (int32_t)at;
    return BACSC_OK;
}

static void file_destroy(bacsc_object *obj)
{
    free(obj->impl);
}

static const bacsc_object_class file_class = {
    .type = BACSC_OBJ_FILE,
    .required = file_required,
    .optional = NULL,
    .read = file_read_prop,
    .write = file_write_prop,
    .destroy = file_destroy,
};

int bacsc_device_add_file(bacsc_device *dev, uint32_t instance, const char *name,
                          const char *file_type, bool read_only, bool readable,
                          const bacsc_file_ops *ops, bacsc_object **out)
{
    if (ops == NULL || ops->size == NULL)
        return BACSC_ERR_INVALID_ARG;
    file_obj *f = calloc(1, sizeof *f);
    if (f == NULL)
        return BACSC_ERR_NOMEM;
    f->ops = *ops;
    size_t n = file_type ? strlen(file_type) : 0;
    if (n > BACSC_DEVICE_STRING_MAX)
        n = BACSC_DEVICE_STRING_MAX;
    if (n)
        memcpy(f->file_type, file_type, n);
    f->read_only = read_only;
    f->readable = readable;
    int rc = bacsc_device_add_object(dev, &file_class, instance, name, f, out);
    if (rc != BACSC_OK)
        free(f);
    return rc;
}
