/*
 * device_netport_ip.c — the Network Port object class for a BACnet/IP port
 * (Network_Type IPV4, Annex J).
 *
 * Only Out_Of_Service is writable over BACnet: it lands in the pending copy
 * (Changes_Pending) and is applied with ReinitializeDevice activate-changes
 * like the SC port's settings (mode switching). The socket settings
 * (address, mask, UDP port) describe what the I/O layer bound; changing them
 * over BACnet is not supported (write-access-denied).
 */
#include <stdlib.h>
#include <string.h>

#include "app/device_internal.h"


typedef struct ipport {
    bacsc_ip_port_config active;
    bacsc_ip_port_config pending;
    bool changes_pending;
    uint8_t reliability;
    uint8_t command;
    bacsc_netport_callbacks cb;
    unsigned apdu_length;
} ipport;

static const uint32_t ip_required[] = {
    BACSC_PROP_OBJECT_IDENTIFIER,
    BACSC_PROP_OBJECT_NAME,
    BACSC_PROP_OBJECT_TYPE,
    BACSC_PROP_STATUS_FLAGS,
    BACSC_PROP_RELIABILITY,
    BACSC_PROP_OUT_OF_SERVICE,
    BACSC_PROP_NETWORK_TYPE,
    BACSC_PROP_ID_PROTOCOL_LEVEL,
    BACSC_PROP_NETWORK_NUMBER,
    BACSC_PROP_NETWORK_NUMBER_QUALITY,
    BACSC_PROP_CHANGES_PENDING,
    BACSC_PROP_APDU_LENGTH,
    BACSC_PROP_LINK_SPEED,
    BACSC_PROP_MAC_ADDRESS,
    BACSC_PROP_ID_BACNET_IP_MODE,
    BACSC_PROP_IP_ADDRESS,
    BACSC_PROP_BACNET_IP_UDP_PORT,
    BACSC_PROP_IP_SUBNET_MASK,
    BACSC_PROP_PROPERTY_LIST,
    BACSC_PROPERTY_LIST_END,
};

static const uint32_t ip_optional[] = {
    BACSC_PROP_COMMAND,
    BACSC_PROPERTY_LIST_END,
};

static const bacsc_object_class ipport_class;

static bool is_ipport(const bacsc_object *obj)
{
    return obj != NULL && obj->cls == &ipport_class;
}

static int ip_read(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_ref *ref,
                   uint8_t *buf, size_t cap, bacsc_error *err)
{
    (void)dev;
    ipport *p = obj->impl;
    const bacsc_ip_port_config *c = &p->pending;
    const bacsc_ip_port_config *a = &p->active;
    if (bacsc_prop_check_not_array(ref, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    bool done;
    int n = dev_netport_read_common(ref->property, c->network_number, p->changes_pending,
                                    p->command, p->apdu_length, buf, cap, &done);
    if (done)
        return n;
    switch (ref->property) {
    case BACSC_PROP_STATUS_FLAGS:
        return dev_encode_status_flags(buf, cap, false, p->reliability != 0, false,
                                       c->out_of_service);
    case BACSC_PROP_RELIABILITY:
        return bacsc_app_encode_enumerated(buf, cap, p->reliability);
    case BACSC_PROP_OUT_OF_SERVICE:
        return bacsc_app_encode_boolean(buf, cap, c->out_of_service);
    case BACSC_PROP_NETWORK_TYPE:
        return bacsc_app_encode_enumerated(buf, cap, BACSC_NETWORK_TYPE_IPV4);
    case BACSC_PROP_MAC_ADDRESS: {
        uint8_t mac[6] = {a->ip[0], a->ip[1], a->ip[2], a->ip[3], (uint8_t)(a->udp_port >> 8),
                          (uint8_t)a->udp_port};
        return bacsc_app_encode_octet_string(buf, cap, mac, sizeof mac);
    }
    case BACSC_PROP_ID_BACNET_IP_MODE:
        return bacsc_app_encode_enumerated(buf, cap, BACSC_IP_MODE_NORMAL);
    case BACSC_PROP_IP_ADDRESS:
        return bacsc_app_encode_octet_string(buf, cap, c->ip, 4);
    case BACSC_PROP_IP_SUBNET_MASK:
        return bacsc_app_encode_octet_string(buf, cap, c->mask, 4);
    case BACSC_PROP_BACNET_IP_UDP_PORT:
        return bacsc_app_encode_unsigned(buf, cap, c->udp_port);
    default:
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
    }
}

static int ip_write(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_write *w,
                    bacsc_error *err)
{
    (void)dev;
    ipport *p = obj->impl;
    if (w->index != BACSC_ARRAY_ALL)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_PROPERTY_IS_NOT_AN_ARRAY);
    if (w->property == BACSC_PROP_COMMAND)
        return dev_netport_write_command(obj, &p->command, &p->cb,
                                         bacsc_netport_ip_discard_changes, w, err);
    if (w->property != BACSC_PROP_OUT_OF_SERVICE)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_WRITE_ACCESS_DENIED);
    bacsc_ip_port_config c = p->pending;
    if (dev_decode_boolean_write(w, &c.out_of_service, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    int rc = dev_netport_check_write(obj, &p->cb, w->property, &c, err);
    if (rc < 0)
        return rc;
    p->pending = c;
    p->changes_pending = memcmp(&p->pending, &p->active, sizeof p->pending) != 0;
    return BACSC_OK;
}

static void ip_destroy(bacsc_object *obj)
{
    free(obj->impl);
}

static const bacsc_object_class ipport_class = {
    .type = BACSC_OBJ_NETWORK_PORT,
    .required = ip_required,
    .optional = ip_optional,
    .read = ip_read,
    .write = ip_write,
    .destroy = ip_destroy,
};

int bacsc_device_add_netport_ip(bacsc_device *dev, uint32_t instance, const char *name,
                                const bacsc_ip_port_config *config,
                                const bacsc_netport_callbacks *cb, bacsc_object **out)
{
    if (dev == NULL)
        return BACSC_ERR_INVALID_ARG;
    ipport *p = calloc(1, sizeof *p);
    if (p == NULL)
        return BACSC_ERR_NOMEM;
    if (config)
        p->active = *config;
    p->pending = p->active;
    if (cb)
        p->cb = *cb;
    p->apdu_length = dev->max_apdu;
    int rc = bacsc_device_add_object(dev, &ipport_class, instance, name, p, out);
    if (rc != BACSC_OK)
        free(p);
    return rc;
}

const bacsc_ip_port_config *bacsc_netport_ip_pending(const bacsc_object *port)
{
    return is_ipport(port) ? &((const ipport *)port->impl)->pending : NULL;
}

const bacsc_ip_port_config *bacsc_netport_ip_active(const bacsc_object *port)
{
    return is_ipport(port) ? &((const ipport *)port->impl)->active : NULL;
}

bool bacsc_netport_ip_changes_pending(const bacsc_object *port)
{
    return is_ipport(port) && ((const ipport *)port->impl)->changes_pending;
}

void bacsc_netport_ip_changes_applied(bacsc_object *port)
{
    if (!is_ipport(port))
        return;
    ipport *p = port->impl;
    p->active = p->pending;
    p->changes_pending = false;
}

void bacsc_netport_ip_discard_changes(bacsc_object *port)
{
    if (!is_ipport(port))
        return;
    ipport *p = port->impl;
    p->pending = p->active;
    p->changes_pending = false;
}

void bacsc_netport_ip_set_config(bacsc_object *port, const bacsc_ip_port_config *config)
{
    if (!is_ipport(port) || config == NULL)
        return;
    ipport *p = port->impl;
    p->active = *config;
    p->pending = *config;
    p->changes_pending = false;
}

void bacsc_netport_ip_set_reliability(bacsc_object *port, uint8_t reliability)
{
    if (is_ipport(port))
        ((ipport *)port->impl)->reliability = reliability;
}

void bacsc_netport_ip_restore_pending(bacsc_object *port, const bacsc_ip_port_config *pending)
{
    if (!is_ipport(port) || pending == NULL)
        return;
    ipport *p = port->impl;
    p->pending = *pending;
    p->changes_pending = memcmp(&p->pending, &p->active, sizeof p->pending) != 0;
}
