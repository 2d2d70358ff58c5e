/*
 * device_pics.c — the device's PICS-style summary (bacsc_device_pics()),
 * generated from the tables the device itself runs on: the object classes'
 * property lists (dev_object_lists), writability found by writing each
 * property's own value back on a scratch device (so it is whatever the
 * write handlers do), Protocol_Services_Supported's table (dev_services)
 * and Segmentation_Supported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/device_internal.h"

/* BIBBs the device claims (Annex K), with what makes each true. */
static const char *const bibbs[][2] = {
    {"DS-RP-B", "ReadProperty execute"},
    {"DS-RPM-B", "ReadPropertyMultiple execute"},
    {"DS-WP-B", "WriteProperty execute"},
    {"DM-DDB-B", "Who-Is execute, I-Am initiate"},
    {"DM-DOB-B", "Who-Has execute, I-Have initiate"},
    {"DM-DCC-B", "DeviceCommunicationControl execute"},
    {"DM-RD-B", "ReinitializeDevice execute (activate-changes; cold/warm start with a runtime "
                "that restarts)"},
};

static int nosend(void *user, const bacsc_address *d, const uint8_t *n, size_t l)
{
    (void)user;
    (void)d;
    (void)n;
    (void)l;
    return 0;
}

static int f_size(void *u, uint32_t i, uint64_t *s)
{
    (void)u;
    (void)i;
    *s = 0;
    return 0;
}

static int f_set_size(void *u, uint32_t i, uint64_t s)
{
    (void)u;
    (void)i;
    (void)s;
    return 0;
}

/* A device with one object of every built-in type. */
static bacsc_device *scratch(void)
{
    bacsc_device_config dc;
    memset(&dc, 0, sizeof dc);
    dc.instance = 1;
    dc.name = "pics";
    dc.link.send = nosend;
    bacsc_device *dev = NULL;
    if (bacsc_device_new(&dc, &dev) != BACSC_OK)
        return NULL;
    bacsc_sc_port_config sc;
    bacsc_sc_port_config_defaults(&sc);
    snprintf(sc.primary_hub_uri, sizeof sc.primary_hub_uri, "wss://127.0.0.1:4443");
    sc.operational_certificate_file = 1;
    sc.issuer_certificate_files[0] = 2;
    sc.certificate_signing_request_file = 3;
    bacsc_ip_port_config ip = {{127, 0, 0, 1}, {255, 0, 0, 0}, 47808, 0, false};
    bacsc_file_ops fo = {.size = f_size, .set_size = f_set_size};
    if (bacsc_device_add_analog_value(dev, 1, "AV", 0.0f, 95, NULL) != BACSC_OK ||
        bacsc_device_add_file(dev, 1, "F", "application/octet-stream", false, true, &fo, NULL) !=
            BACSC_OK ||
        bacsc_device_add_netport_sc(dev, 1, "SC", &sc, NULL, NULL) != BACSC_OK ||
        bacsc_device_add_netport_ip(dev, 2, "IP", &ip, NULL, NULL) != BACSC_OK) {
        bacsc_device_free(dev);
        return NULL;
    }
    return dev;
}

/* Writing the property's own value back: refused with write-access-denied
 * (or unreadable) = read-only; anything else = writable. */
static bool writable(bacsc_device *dev, bacsc_object *obj, uint32_t p)
{
    bacsc_prop_ref ref = {p, BACSC_ARRAY_ALL};
    bacsc_error err;
    int n = bacsc_device_read_property(dev, obj, &ref, dev->body, dev->buf_cap, &err);
    if (n < 0)
        return false;
    bacsc_prop_write w = {p, BACSC_ARRAY_ALL, dev->body, (size_t)n, 16, false};
    memset(&err, 0, sizeof err);
    int rc = bacsc_device_write_property(dev, obj, &w, &err);
    return rc == BACSC_OK || !(err.error_class == BACSC_ERROR_CLASS_PROPERTY &&
                               err.error_code == BACSC_EC_WRITE_ACCESS_DENIED);
}

static void line(void (*out)(void *, const char *), void *user, const char *fmt, const char *a,
                 const char *b, const char *c)
{
    char buf[256];
    snprintf(buf, sizeof buf, fmt, a, b, c);
    out(user, buf);
}

static void object_rows(bacsc_device *dev, bacsc_object *obj, const char *label,
                        void (*out)(void *, const char *), void *user)
{
    const uint32_t *lists[2];
    dev_object_lists(obj, lists);
    for (int l = 0; l < 2; l++)
        for (const uint32_t *p = lists[l]; p && *p != BACSC_PROPERTY_LIST_END; p++) {
            char num[16];
            const char *name = bacsc_property_name(*p);
            if (name == NULL) {
                snprintf(num, sizeof num, "%u", (unsigned)*p);
                name = num;
            }
            line(out, user, "| %s | %s | %s |", label, name,
                 l == 0 ? (writable(dev, obj, *p) ? "required | W" : "required | R")
                        : (writable(dev, obj, *p) ? "optional | W" : "optional | R"));
        }
}

int bacsc_device_pics(void (*out)(void *user, const char *line), void *user)
{
    bacsc_device *dev = scratch();
    if (dev == NULL)
        return BACSC_ERR_NOMEM;
    out(user, "### Objects and properties");
    out(user, "");
    out(user, "| object type | property | required/optional | writable |");
    out(user, "|---|---|---|---|");
    static const char *const labels[] = {"device", "analog-value (commandable)", "file",
                                         "network-port (SECURE_CONNECT)", "network-port (IPV4)"};
    for (size_t i = 0; i < bacsc_device_object_count(dev) && i < 5; i++)
        object_rows(dev, bacsc_device_object_at(dev, i), labels[i], out, user);
    /* an Analog Value that is not commandable */
    bacsc_object *av = bacsc_device_find_object(dev, BACSC_OBJ_ANALOG_VALUE, 1);
    bacsc_analog_value_set_commandable(av, false);
    object_rows(dev, av, "analog-value (not commandable)", out, user);
    out(user, "");
    out(user, "### Services");
    out(user, "");
    out(user, "| service | execute | initiate |");
    out(user, "|---|---|---|");
    size_t n;
    const dev_service *s = dev_services(&n);
    for (size_t i = 0; i < n; i++)
        line(out, user, "| %s | %s | %s |", s[i].name,
             s[i].flags & DEV_SVC_EXECUTE
                 ? (s[i].flags & DEV_SVC_NEEDS_FILE ? "yes (with File objects)" : "yes")
                 : "no",
             s[i].flags & DEV_SVC_INITIATE ? "yes" : "no");
    out(user, "");
    out(user, "### BIBBs");
    out(user, "");
    out(user, "| BIBB | by |");
    out(user, "|---|---|");
    for (size_t i = 0; i < sizeof bibbs / sizeof bibbs[0]; i++)
        line(out, user, "| %s | %s |%s", bibbs[i][0], bibbs[i][1], "");
    out(user, "");
    char seg[256];
    snprintf(seg, sizeof seg,
             "Segmentation_Supported: %s (window %u, APDU_Segment_Timeout %u ms, "
             "Max_Segments_Accepted %u); Protocol_Revision 24.",
             dev->segmentation == BACSC_SEGMENTATION_BOTH       ? "segmented-both"
             : dev->segmentation == BACSC_SEGMENTATION_TRANSMIT ? "segmented-transmit"
                                                                : "none",
             (unsigned)dev->seg_window, (unsigned)(dev->seg_timeout_us / 1000),
             dev->seg_enabled ? (unsigned)DEV_SEGRX_SEGS : 1u);
    out(user, seg);
    bacsc_device_free(dev);
    return BACSC_OK;
}
