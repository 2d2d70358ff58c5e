/* router_metrics.c — Prometheus text of the router's counters (router_metrics.h). */
#include "router_metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
    char *p;
    size_t len, cap;
    bool oom;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = b->oom ? -1 : vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

static void counter(buf *b, const char *name, const char *help, unsigned long long v)
{
    put(b, "# HELP bacsc_router_%s %s\n# TYPE bacsc_router_%s counter\nbacsc_router_%s_total %llu\n",
        name, help, name, name, v);
}

char *router_metrics_render(bacsc_router_host *h, size_t *len)
{
    buf b = {.cap = 4096};
    b.p = malloc(b.cap);
    if (!b.p)
        return NULL;
    b.p[0] = 0;
    bacsc_router *r = bacsc_router_host_router(h);
    bacsc_router_stats s;
    bacsc_router_get_stats(r, &s);
    counter(&b, "rx_npdus", "NPDUs received on every port.", s.rx_npdus);
    counter(&b, "rx_malformed", "NPDUs or network messages that did not decode.", s.rx_malformed);
    counter(&b, "forwarded", "NPDUs forwarded to another port.", s.forwarded);
    counter(&b, "local", "NPDUs for the router's own Device object.", s.local);
    counter(&b, "network_msgs", "Network layer messages for the router.", s.network_msgs);
    counter(&b, "hop_exhausted", "NPDUs discarded: hop count reached zero.", s.hop_exhausted);
    counter(&b, "rejects_sent", "Reject-Message-To-Network sent.", s.rejects_sent);
    counter(&b, "rejects_unknown_net", "Rejects sent for an unknown network.",
            s.rejects_unknown_net);
    counter(&b, "rejects_too_long", "Rejects sent for a message too long.", s.rejects_too_long);
    counter(&b, "rejects_received", "Reject-Message-To-Network received.", s.rejects_received);
    counter(&b, "busy_dropped", "NPDUs held back by Router-Busy-To-Network.", s.busy_dropped);
    counter(&b, "port_down", "NPDUs for a port without link (SC: no hub).", s.port_down);
    counter(&b, "dropped", "Other NPDUs dropped by the routing rules.", s.dropped);
    counter(&b, "routes_learned", "Routes learned from I-Am-Router-To-Network.", s.routes_learned);
    counter(&b, "send_errors", "Datalink send failures.", s.send_errors);
    put(&b, "# HELP bacsc_router_routes Routing table entries (directly connected included).\n"
            "# TYPE bacsc_router_routes gauge\nbacsc_router_routes %zu\n",
        bacsc_router_route_count(r));
    put(&b, "# HELP bacsc_router_sc_hub_connector_state SC_Hub_Connector_State of each "
            "BACnet/SC port (0 none, 1 primary, 2 failover).\n"
            "# TYPE bacsc_router_sc_hub_connector_state gauge\n");
    for (unsigned i = 0; i < bacsc_router_host_sc_count(h); i++)
        put(&b, "bacsc_router_sc_hub_connector_state{network=\"%u\"} %d\n",
            bacsc_router_port_network(r, i + 1),
            bacsc_sc_node_state(bacsc_router_host_sc_node(h, i)));
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

bool router_metrics_health(bacsc_router_host *h, char *text, size_t cap)
{
    bacsc_router *r = bacsc_router_host_router(h);
    for (unsigned i = 0; i < bacsc_router_host_sc_count(h); i++) {
        if (bacsc_sc_node_state(bacsc_router_host_sc_node(h, i)) == 0) {
            snprintf(text, cap, "network %u: no hub connection", bacsc_router_port_network(r, i + 1));
            return false;
        }
    }
    snprintf(text, cap, "ok");
    return true;
}
