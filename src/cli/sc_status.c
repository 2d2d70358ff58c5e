/* sc_status.c — JSON status of hub servers and nodes (see sc_status.h). */
#include "sc_status.h"

#include "bacsc/bvlc.h"
#include "bacsc/sc_connector.h"
#include "sc_cli.h"

struct peers_ctx {
    const bacsc_loop *loop;
    json_t *arr;
};

static void add_peer(const bacsc_hubd_peer_info *pi, void *arg)
{
    struct peers_ctx *pc = arg;
    char v[18], u[37], t[40];
    json_t *p = json_object();
    json_object_set_new(p, "address", json_string(pi->address));
    json_object_set_new(p, "connected", json_boolean(pi->hub.connected));
    if (pi->hub.connected) {
        json_object_set_new(p, "vmac", json_string(bacsc_vmac_format(&pi->hub.vmac, v)));
        json_object_set_new(p, "uuid", json_string(bacsc_uuid_format(&pi->hub.uuid, u)));
        json_object_set_new(p, "since", json_string(sc_loop_time_iso(pc->loop, pi->hub.since, t,
                                                                     sizeof t)));
    }
    json_object_set_new(p, "rx_msgs", json_integer((json_int_t)pi->hub.stats.rx_msgs));
    json_object_set_new(p, "tx_msgs", json_integer((json_int_t)pi->hub.stats.tx_msgs));
    json_array_append_new(pc->arr, p);
}

json_t *sc_status_hubd(const bacsc_loop *loop, const bacsc_hubd *h)
{
    const bacsc_sc_hub *hub = bacsc_hubd_hub(h);
    json_t *o = json_object();
    struct peers_ctx pc = {loop, json_array()};
    bacsc_hubd_foreach_peer(h, add_peer, &pc);
    json_object_set_new(o, "connected", json_integer((json_int_t)bacsc_sc_hub_connected_count(hub)));
    json_object_set_new(o, "peers", pc.arr);
    const bacsc_sc_hub_stats *s = bacsc_sc_hub_stats_get(hub);
    json_t *st = json_object();
#define N(f) json_object_set_new(st, #f, json_integer((json_int_t)s->f))
    N(accepted); N(refused); N(replaced); N(unicast_forwarded); N(broadcast_forwarded);
    N(spoofed_dropped); N(unknown_dest_dropped); N(too_large_dropped); N(queue_dropped);
    N(naks_sent); N(refused_uuid); N(refused_vmac); N(refused_limits); N(control_dropped); N(flood_closed); N(unicast_octets); N(broadcast_octets);
    N(unknown_dest_naked); N(to_hub_dropped); N(broadcast_copies);
#undef N
    bacsc_hubd_stats hs;
    bacsc_hubd_stats_get(h, &hs);
    json_object_set_new(st, "ws_queue_dropped", json_integer((json_int_t)hs.ws_queue_dropped));
    json_object_set_new(st, "ws_queue_octets", json_integer((json_int_t)hs.ws_queue_octets));
    json_object_set_new(o, "stats", st);
    bacsc_ws_listener_stats ls;
    bacsc_hubd_listener_stats(h, &ls);
    json_t *lj = json_object();
#define N(f) json_object_set_new(lj, #f, json_integer((json_int_t)ls.f))
    N(accepted); N(opened); N(refused_max_connections); N(refused_addr_handshakes);
    N(refused_addr_rate); N(first_octet_timeouts); N(handshake_timeouts); N(upgrade_failed);
    N(abandoned);
    N(handshaking); N(addresses); N(max_addr_handshaking);
#undef N
    json_t *tf = json_object();
    for (int i = 0; i < 9; i++)
        if (ls.tls_failed[i])
            json_object_set_new(tf, bacsc_sc_error_name((uint16_t)(180 + i)),
                                json_integer((json_int_t)ls.tls_failed[i]));
    json_object_set_new(lj, "tls_failed", tf);
    /* `refused` counts every connection refused before it joined: the
     * Connect-Request NAKs and the TLS handshakes that failed */
    uint64_t tls = 0;
    for (int i = 0; i < 9; i++)
        tls += ls.tls_failed[i];
    json_object_set_new(st, "refused_tls", json_integer((json_int_t)tls));
    json_object_set_new(st, "refused", json_integer((json_int_t)(s->refused + tls)));
    json_object_set_new(o, "listener", lj);
    return o;
}

static json_t *conn_status(const bacsc_loop *loop, const bacsc_sc_connector *c, int slot)
{
    const char *uri = bacsc_sc_connector_uri(c, slot);
    const bacsc_sc_hub_connection_status *hs = bacsc_sc_connector_status(c, slot);
    if (!uri || !hs)
        return json_null();
    static const char *names[] = {"not-connected", "connected", "disconnected-with-errors",
                                  "failed-to-connect"};
    char t[40];
    json_t *o = json_object();
    json_object_set_new(o, "uri", json_string(uri));
    json_object_set_new(o, "state", json_integer(hs->state));
    json_object_set_new(o, "state_name",
                        json_string(hs->state >= 0 && hs->state < 4 ? names[hs->state] : "?"));
    if (hs->connect_time)
        json_object_set_new(o, "connect_time",
                            json_string(sc_loop_time_iso(loop, hs->connect_time, t, sizeof t)));
    if (hs->disconnect_time)
        json_object_set_new(o, "disconnect_time",
                            json_string(sc_loop_time_iso(loop, hs->disconnect_time, t, sizeof t)));
    if (hs->error_code) {
        json_object_set_new(o, "error_code", json_integer(hs->error_code));
        json_object_set_new(o, "error", json_string(bacsc_sc_error_name(hs->error_code)));
        json_object_set_new(o, "error_details", json_string(hs->error_details ? hs->error_details
                                                                              : ""));
    }
    return o;
}

/* The node switch: accept port/URIs, counters, one row per direct peer. */
static json_t *sc_status_direct(const bacsc_loop *loop, const bacsc_sc_node *n)
{
    const bacsc_sc_switch *sw = bacsc_sc_node_switch(n);
    json_t *o = json_object();
    json_object_set_new(o, "accept", json_boolean(bacsc_sc_switch_accept_enabled(sw)));
    json_object_set_new(o, "auto", json_boolean(bacsc_sc_switch_auto_enabled(sw)));
    json_object_set_new(o, "port", json_integer(bacsc_sc_node_dc_port(n)));
    json_object_set_new(o, "uris", json_string(bacsc_sc_switch_accept_uris(sw)));
    const bacsc_sc_switch_stats *s = bacsc_sc_switch_stats_get(sw);
    json_t *js = json_object();
#define N(f) json_object_set_new(js, #f, json_integer((json_int_t)s->f))
    N(tx_direct); N(tx_hub); N(tx_fallback); N(rx_direct); N(ar_sent); N(ar_acks); N(ar_naks);
    N(ar_timeouts); N(ar_answered); N(ar_refused); N(adv_sent); N(dc_accepted); N(dc_refused);
    N(dc_initiated); N(dc_connected); N(dc_failed); N(dc_idle_closed); N(dc_limit);
    N(auto_triggers);
#undef N
    json_object_set_new(o, "stats", js);
    bacsc_sc_dc_status rows[64];
    size_t cnt = bacsc_sc_switch_status(sw, rows, 64);
    json_t *arr = json_array();
    for (size_t i = 0; i < cnt && i < 64; i++) {
        char v[18], u[37], t1[40], t2[40];
        json_t *r = json_object();
        json_object_set_new(r, "vmac", json_string(bacsc_vmac_format(&rows[i].vmac, v)));
        json_object_set_new(r, "uuid", json_string(bacsc_uuid_format(&rows[i].uuid, u)));
        json_object_set_new(r, "state", json_integer(rows[i].state));
        json_object_set_new(r, "initiated", json_boolean(rows[i].initiated));
        json_object_set_new(r, "uri", json_string(rows[i].uri));
        json_object_set_new(r, "address", json_string(rows[i].peer_address));
        json_object_set_new(r, "connect_time",
                            rows[i].connect_time
                                ? json_string(sc_loop_time_iso(loop, rows[i].connect_time, t1,
                                                               sizeof t1))
                                : json_null());
        json_object_set_new(r, "disconnect_time",
                            rows[i].disconnect_time
                                ? json_string(sc_loop_time_iso(loop, rows[i].disconnect_time, t2,
                                                               sizeof t2))
                                : json_null());
        json_object_set_new(r, "error_code", json_integer(rows[i].error_code));
        json_array_append_new(arr, r);
    }
    json_object_set_new(o, "connections", arr);
    return o;
}

json_t *sc_status_node(const bacsc_loop *loop, const bacsc_sc_node *n)
{
    const bacsc_sc_connector *c = bacsc_sc_node_connector(n);
    char v[18];
    json_t *o = json_object();
    int st = bacsc_sc_connector_state(c);
    json_object_set_new(o, "vmac", json_string(bacsc_vmac_format(bacsc_sc_node_vmac(n), v)));
    json_object_set_new(o, "hub_connector_state", json_integer(st));
    json_object_set_new(o, "hub_connector_state_name",
                        json_string(bacsc_sc_connector_state_name(st)));
    const char *peer = bacsc_sc_node_hub_peer(n);
    json_object_set_new(o, "hub_address", peer ? json_string(peer) : json_null());
    json_object_set_new(o, "primary", conn_status(loop, c, BACSC_SC_SLOT_PRIMARY));
    json_object_set_new(o, "failover", conn_status(loop, c, BACSC_SC_SLOT_FAILOVER));
    const bacsc_sc_connector_stats *s = bacsc_sc_connector_stats_get(c);
    json_t *js = json_object();
#define N(f) json_object_set_new(js, #f, json_integer((json_int_t)s->f))
    N(attempts); N(failures); N(connects); N(losses); N(failovers); N(returns_to_primary);
    N(vmac_changes); N(rx_npdus); N(tx_npdus);
#undef N
    json_object_set_new(o, "stats", js);
    json_object_set_new(o, "direct", sc_status_direct(loop, n));
    return o;
}
