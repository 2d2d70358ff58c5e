/*
 * device_runtime_switch.c — Network Port changes of devices on fixed files
 * (bacsc/device_runtime.h): ReinitializeDevice activate-changes (or
 * warmstart/coldstart) with new hub URIs pending starts a second node on the
 * new URIs while the device stays on its current hub. When the new node
 * connects it takes over (the old one sends its Disconnect-Request) and the
 * changes are applied; when it does not connect within the trial time, it is
 * dropped, the device stays where it was and the changes stay pending
 * (Changes_Pending TRUE): what the port reports is always what is in use.
 */
#include <stdio.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "runtime_internal.h"

/* The device's datalink: whatever node is current (it changes on a switch). */
int rt_link_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    rinst *in = user;
    if (in->node == NULL)
        return BACSC_ERR_STATE;
    return bacsc_sc_node_send(in->node, dest, npdu, len);
}

/*
 * What a device on fixed files can change over BACnet: the hub URIs and the
 * connector's timers (applied by a new node). The hub function, direct
 * connections, Out_Of_Service and the rest are set by its configuration:
 * writing another value is refused (write-access-denied) instead of being
 * stored and reported but never used.
 */
int rt_fixed_check_write(void *user, bacsc_object *port, uint32_t property, const void *pending,
                         bacsc_error *err)
{
    (void)user, (void)property;
    const bacsc_sc_port_config *active = bacsc_netport_sc_active(port);
    bacsc_sc_port_config x = *(const bacsc_sc_port_config *)pending;
    memcpy(x.primary_hub_uri, active->primary_hub_uri, sizeof x.primary_hub_uri);
    memcpy(x.failover_hub_uri, active->failover_hub_uri, sizeof x.failover_hub_uri);
    x.min_reconnect_time = active->min_reconnect_time;
    x.max_reconnect_time = active->max_reconnect_time;
    x.connect_wait_timeout = active->connect_wait_timeout;
    x.disconnect_wait_timeout = active->disconnect_wait_timeout;
    x.heartbeat_timeout = active->heartbeat_timeout;
    if (memcmp(&x, active, sizeof x) != 0) {
        bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_WRITE_ACCESS_DENIED);
        return -1;
    }
    return 0;
}

/* How long the new hub gets: twice the connect wait (at least 2 s). */
static uint64_t trial_us(const rinst *in)
{
    uint64_t cw = in->rt->cfg.connect_wait_us;
    if (!cw)
        cw = (uint64_t)bacsc_netport_sc_pending(in->port)->connect_wait_timeout * 1000000u;
    if (!cw)
        cw = BACSC_SC_DEFAULT_CONNECT_WAIT_US;
    return cw * 2 < 2000000 ? 2000000 : cw * 2;
}

static void trial_commit(bacsc_loop *loop, void *user)
{
    (void)loop;
    rinst *in = user;
    if (in->trial == NULL)
        return;
    const bacsc_sc_port_config *was = bacsc_netport_sc_active(in->port);
    const bacsc_sc_port_config *now = bacsc_netport_sc_pending(in->port);
    BACSC_INFO("%s: Network Port changes applied: hub %s (was %s)", in->name, now->primary_hub_uri,
               was->primary_hub_uri);
    bacsc_timer_stop(in->rt->loop, &in->trial_timer);
    rt_retire(in->rt, in); /* the old node: Disconnect-Request to the old hub */
    in->node = in->trial;
    in->trial = NULL;
    bacsc_netport_sc_changes_applied(in->port);
    rt_on_state(in, bacsc_sc_node_state(in->node));
}

/* The trial node's callbacks stay with it: once it took over (in->trial is
 * NULL again) they act as the device node's. */
static void trial_state(void *user, int state)
{
    rinst *in = user;
    if (in->trial == NULL) {
        rt_on_state(in, state);
        return;
    }
    /* Take over after this callback returns (the old node is retired then). */
    if (state != BACSC_SC_NO_HUB_CONNECTION)
        bacsc_loop_defer(in->rt->loop, trial_commit, in);
}

static void trial_npdu(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                       uint64_t now)
{
    rinst *in = user;
    /* On trial it is not the device's link yet: the device answers through
     * its current node only. */
    if (in->trial == NULL)
        bacsc_device_handle_npdu(in->dev, src, npdu, len, now);
}

static void bury_trial(rinst *in)
{
    bacsc_sc_node *cur = in->node;
    in->node = in->trial;
    in->trial = NULL;
    rt_retire(in->rt, in);
    in->node = cur;
}

static void trial_expired(bacsc_loop *loop, void *user)
{
    (void)loop;
    rinst *in = user;
    if (in->trial == NULL)
        return;
    BACSC_WARN("%s: new hub %s did not connect within %llu s; staying on %s (the change stays "
               "pending)",
               in->name, bacsc_netport_sc_pending(in->port)->primary_hub_uri,
               (unsigned long long)(trial_us(in) / 1000000),
               bacsc_netport_sc_active(in->port)->primary_hub_uri);
    bury_trial(in);
}

static void start_trial(bacsc_loop *loop, void *user)
{
    (void)loop;
    rinst *in = user;
    in->switch_deferred = false;
    const bacsc_sc_port_config *next = bacsc_netport_sc_pending(in->port);
    bacsc_sc_node_callbacks cb = {.npdu = trial_npdu, .state_changed = trial_state, .user = in};
    char err[256] = "";
    in->port_rules = true; /* what was written over BACnet is newer than the flags */
    in->vmac = *bacsc_sc_node_vmac(in->node); /* the device keeps its VMAC */
    in->vmac_kept = true;
    if (rt_node_new(in, next, in->rt->cfg.tls, &cb, &in->trial, err, sizeof err) != BACSC_OK ||
        bacsc_sc_node_start(in->trial) != BACSC_OK) {
        BACSC_WARN("%s: cannot use hub %s: %s; staying on %s (the change stays pending)",
                   in->name, next->primary_hub_uri, err,
                   bacsc_netport_sc_active(in->port)->primary_hub_uri);
        if (in->trial)
            bury_trial(in);
        return;
    }
    BACSC_INFO("%s: trying hub %s (staying on %s until it connects)", in->name,
               next->primary_hub_uri, bacsc_netport_sc_active(in->port)->primary_hub_uri);
    bacsc_timer_init(&in->trial_timer, trial_expired, in);
    bacsc_timer_start(in->rt->loop, &in->trial_timer, trial_us(in));
}

/* The restart, after the ACK: new objects from the configuration (what
 * was written over BACnet is dropped; the port keeps the hub in use), the
 * old ones freed, Last_Restart_Reason set, an I-Am sent. For a device on
 * fixed files cold and warm start are the same: its configuration is its
 * saved state. */
static void do_restart(bacsc_loop *loop, void *user)
{
    rinst *in = user;
    uint8_t state = in->restart_state;
    in->restart_state = 0xFF;
    bacsc_sc_port_config active = *bacsc_netport_sc_active(in->port);
    bacsc_device *dev = NULL;
    bacsc_object *port = NULL;
    char err[200];
    if (rt_fixed_objects_new(in, &active, &dev, &port, err, sizeof err) != BACSC_OK) {
        BACSC_ERROR("%s: restart failed, keeping the running objects: %s", in->name, err);
        bacsc_device_free(dev);
        return;
    }
    bacsc_device_free(in->dev);
    in->dev = dev;
    in->port = port;
    uint64_t now = bacsc_loop_now(loop);
    bacsc_datetime dt;
    bacsc_loop_time_to_datetime(loop, now, &dt);
    bacsc_device_restarted(dev, state == BACSC_REINIT_COLDSTART ? BACSC_RESTART_COLDSTART
                                                                : BACSC_RESTART_WARMSTART,
                           &dt);
    if (in->node)
        bacsc_device_set_max_npdu(dev, bacsc_sc_node_peer_max_npdu(in->node));
    BACSC_INFO("%s: %s: objects re-initialised from the configuration", in->name,
               state == BACSC_REINIT_COLDSTART ? "coldstart" : "warmstart");
    bacsc_device_send_iam(dev, NULL, now);
}

void rt_fixed_restart(void *user, bacsc_device *dev, uint8_t state)
{
    (void)dev;
    rinst *in = user;
    if (bacsc_loop_defer(in->rt->loop, do_restart, in) == BACSC_OK)
        in->restart_state = state;
    else
        BACSC_ERROR("%s: cannot schedule the restart", in->name);
}

/*
 * ReinitializeDevice on a device on fixed files: activate-changes applies
 * the Network Port's pending changes (hub URIs through a trial node, after
 * the ACK); cold/warm start re-initialise the objects (rt_fixed_restart);
 * the backup/restore states are not supported.
 */
int rt_fixed_reinit(void *user, bacsc_device *dev, uint8_t state, bacsc_error *err)
{
    (void)dev;
    rinst *in = user;
    if (state != BACSC_REINIT_ACTIVATE_CHANGES && state != BACSC_REINIT_COLDSTART &&
        state != BACSC_REINIT_WARMSTART) {
        bacsc_prop_error(err, BACSC_ERROR_CLASS_SERVICES,
                         BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED);
        return -1;
    }
    if (state != BACSC_REINIT_ACTIVATE_CHANGES) {
        /* Cold/warm start: re-initialised by rt_fixed_restart() after the
         * ACK; not while a hub change is on trial. */
        if (in->trial || in->switch_deferred || in->restart_state != 0xFF) {
            bacsc_prop_error(err, BACSC_ERROR_CLASS_DEVICE,
                             BACSC_EC_CONFIGURATION_IN_PROGRESS);
            return -1;
        }
        return 0;
    }
    if (!bacsc_netport_sc_changes_pending(in->port))
        return 0;
    if (in->trial || in->switch_deferred) {
        bacsc_prop_error(err, BACSC_ERROR_CLASS_DEVICE, BACSC_EC_CONFIGURATION_IN_PROGRESS);
        return -1;
    }
    if (bacsc_loop_defer(in->rt->loop, start_trial, in) != BACSC_OK) {
        bacsc_prop_error(err, BACSC_ERROR_CLASS_RESOURCES, BACSC_EC_OTHER);
        return -1;
    }
    in->switch_deferred = true;
    return 0;
}

void rt_switch_free(bacsc_device_runtime *rt, rinst *in)
{
    if (in->trial) {
        bacsc_timer_stop(rt->loop, &in->trial_timer);
        bury_trial(in);
    }
}
