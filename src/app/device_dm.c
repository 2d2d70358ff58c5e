/*
 * device_dm.c — the device management services of the device server:
 * ReinitializeDevice, DeviceCommunicationControl, Who-Is/I-Am and
 * Who-Has/I-Have (ASHRAE 135 clauses 16.1, 16.4, 16.8, 16.10).
 */
#include <string.h>

#include "app/device_internal.h"
#include "bacsc/npdu.h"

#define USEC_PER_MIN 60000000ull

static void apply_netport_changes(bacsc_device *dev)
{
    for (size_t i = 0; i < dev->nobjects; i++)
        if (dev_is_netport_sc(dev->objects[i]))
            bacsc_netport_sc_changes_applied(dev->objects[i]);
}

/* Without a reinitialize callback: activate-changes applies the pending
 * port changes; cold/warm start restart through cb.restart after the ACK
 * (refused when nobody can restart us); backup/restore are not supported. */
static int default_reinit(bacsc_device *dev, uint8_t state, bacsc_error *err)
{
    if (state == BACSC_REINIT_ACTIVATE_CHANGES) {
        apply_netport_changes(dev);
        return BACSC_OK;
    }
    if ((state == BACSC_REINIT_COLDSTART || state == BACSC_REINIT_WARMSTART) && dev->cb.restart)
        return BACSC_OK;
    return bacsc_prop_error(err, BACSC_ERROR_CLASS_SERVICES,
                            BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED);
}

void dev_do_reinitialize(bacsc_device *dev, const dev_request *rq, const uint8_t *data,
                         size_t len, uint64_t now)
{
    bacsc_reinit_request r;
    bacsc_fault f;
    if (bacsc_reinit_request_decode(data, len, &r, &f) < 0) {
        dev_answer_fault(dev, rq, &f);
        return;
    }
    if (dev_guard_password(dev, &rq->reply, r.has_password, &r.password, now) != DEV_GUARD_OK) {
        dev_send_error_code(dev, rq, BACSC_ERROR_CLASS_SECURITY, BACSC_EC_PASSWORD_FAILURE);
        return;
    }
    bacsc_error err;
    memset(&err, 0, sizeof err);
    int rc = dev->cb.reinitialize ? dev->cb.reinitialize(dev->cb.user, dev, r.state, &err)
                                  : default_reinit(dev, r.state, &err);
    if (rc < 0) {
        if (err.error_class == 0 && err.error_code == 0)
            bacsc_prop_error(&err, BACSC_ERROR_CLASS_DEVICE, BACSC_EC_OTHER);
        dev_send_error(dev, rq, &err);
        return;
    }
    dev_send_simple_ack(dev, rq);
    /* The ACK is out: now the restart itself (the runtime re-initialises
     * and reports back with bacsc_device_restarted()). */
    if ((r.state == BACSC_REINIT_COLDSTART || r.state == BACSC_REINIT_WARMSTART) &&
        dev->cb.restart)
        dev->cb.restart(dev->cb.user, dev, r.state);
}

uint8_t dev_dcc_state(bacsc_device *dev, uint64_t now)
{
    if (dev->dcc_state != BACSC_DCC_ENABLE && dev->dcc_until && now >= dev->dcc_until) {
        dev->dcc_state = BACSC_DCC_ENABLE;
        dev->dcc_until = 0;
    }
    return dev->dcc_state;
}

void dev_do_dcc(bacsc_device *dev, const dev_request *rq, const uint8_t *data, size_t len,
                uint64_t now)
{
    bacsc_dcc_request r;
    bacsc_fault f;
    if (bacsc_dcc_request_decode(data, len, &r, &f) < 0) {
        dev_answer_fault(dev, rq, &f);
        return;
    }
    if (dev_guard_password(dev, &rq->reply, r.has_password, &r.password, now) != DEV_GUARD_OK) {
        dev_send_error_code(dev, rq, BACSC_ERROR_CLASS_SECURITY, BACSC_EC_PASSWORD_FAILURE);
        return;
    }
    dev->dcc_state = r.state;
    /* A duration of 0 or none: until told otherwise (or restarted). */
    dev->dcc_until = r.state != BACSC_DCC_ENABLE && r.has_duration && r.duration_min
                         ? now + r.duration_min * USEC_PER_MIN
                         : 0;
    dev_send_simple_ack(dev, rq);
}

static int send_iam(bacsc_device *dev, const bacsc_address *dest)
{
    bacsc_iam iam = {
        .device = {BACSC_OBJ_DEVICE, dev->instance},
        .max_apdu = dev->max_apdu,
        .segmentation = dev->segmentation,
        .vendor_id = dev->vendor_id,
    };
    uint8_t body[32], apdu[40];
    int n = bacsc_iam_encode(body, sizeof body, &iam);
    if (n < 0)
        return n;
    int m = bacsc_encode_unconfirmed(apdu, sizeof apdu, BACSC_SERVICE_I_AM, body, (size_t)n);
    if (m < 0)
        return m;
    bacsc_address bcast = bacsc_address_local_broadcast();
    return dev_send_npdu(dev, dest ? dest : &bcast, BACSC_PRIO_NORMAL, false, apdu, (size_t)m);
}

int bacsc_device_send_iam(bacsc_device *dev, const bacsc_address *dest, uint64_t now)
{
    /* An I-Am of our own accord is an initiation: not while DCC says no. */
    if (dev_dcc_state(dev, now) != BACSC_DCC_ENABLE)
        return BACSC_ERR_STATE;
    return send_iam(dev, dest);
}

/* I-Am and I-Have answers are broadcast: locally, or globally when the
 * request came through a router (we do not know the router's path). */
static bacsc_address answer_dest(const dev_request *rq)
{
    return rq->reply.net == 0 ? bacsc_address_local_broadcast()
                              : bacsc_address_global_broadcast();
}

static void handle_whohas(bacsc_device *dev, const dev_request *rq, const bacsc_apdu *a)
{
    bacsc_whohas w;
    if (bacsc_whohas_decode(a->data, a->data_len, &w, NULL) < 0) {
        dev->stats.dropped++;
        return;
    }
    if (w.has_range && !(dev->instance >= w.low && dev->instance <= w.high))
        return;
    bacsc_object *obj = NULL;
    if (!w.by_name) {
        obj = bacsc_device_find_object(dev, w.object.type, w.object.instance);
    } else if (w.name.charset == BACSC_CHARSET_UTF8) {
        for (size_t i = 0; i < dev->nobjects && !obj; i++) {
            bacsc_object *o = dev->objects[i];
            if (strlen(o->name) == w.name.len && memcmp(o->name, w.name.data, w.name.len) == 0)
                obj = o;
        }
    }
    if (obj == NULL)
        return;
    bacsc_ihave h = {
        .device = {BACSC_OBJ_DEVICE, dev->instance},
        .object = {obj->cls->type, obj->instance},
        .name = {BACSC_CHARSET_UTF8, (const uint8_t *)obj->name, strlen(obj->name)},
    };
    uint8_t body[BACSC_DEVICE_NAME_MAX + 24], apdu[BACSC_DEVICE_NAME_MAX + 32];
    int n = bacsc_ihave_encode(body, sizeof body, &h);
    if (n < 0)
        return;
    int m = bacsc_encode_unconfirmed(apdu, sizeof apdu, BACSC_SERVICE_I_HAVE, body, (size_t)n);
    if (m < 0)
        return;
    bacsc_address dest = answer_dest(rq);
    dev_send_npdu(dev, &dest, BACSC_PRIO_NORMAL, false, apdu, (size_t)m);
}

void dev_handle_unconfirmed(bacsc_device *dev, const dev_request *rq, const bacsc_apdu *a,
                            uint64_t now)
{
    dev->stats.unconfirmed++;
    /* DCC disable: nothing but DCC and ReinitializeDevice is answered. */
    if (dev_dcc_state(dev, now) == BACSC_DCC_DISABLE) {
        dev->stats.dropped++;
        return;
    }
    if (a->service == BACSC_SERVICE_WHO_HAS) {
        handle_whohas(dev, rq, a);
        return;
    }
    if (a->service != BACSC_SERVICE_WHO_IS)
        return;  /* unknown unconfirmed services are ignored (clause 5.4.2) */
    bacsc_whois w;
    if (bacsc_whois_decode(a->data, a->data_len, &w, NULL) < 0) {
        dev->stats.dropped++;
        return;
    }
    if (!bacsc_whois_matches(&w, dev->instance))
        return;
    /* Answering a Who-Is is allowed under disable-initiation. */
    bacsc_address dest = answer_dest(rq);
    send_iam(dev, &dest);
}

void bacsc_device_restarted(bacsc_device *dev, uint8_t reason, const struct bacsc_datetime *when)
{
    dev->restart_reason = reason;
    if (when)
        dev->restart_time = *when;
    else
        bacsc_datetime_unspecified(&dev->restart_time);
    dev->dcc_state = BACSC_DCC_ENABLE;
    dev->dcc_until = 0;
}
