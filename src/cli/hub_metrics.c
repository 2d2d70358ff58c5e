/* hub_metrics.c — Prometheus text of a hub server (see hub_metrics.h). */
#include "hub_metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bacsc/bvlc.h"

struct out {
    char *buf;
    size_t len, cap;
    bool failed;
};

static void put(struct out *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n;
        char *b = realloc(o->buf, cap);
        if (!b) {
            o->failed = true;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct out *o, const char *name, const char *type, const char *help, uint64_t v)
{
    head(o, name, type, help);
    put(o, "%s %llu\n", name, (unsigned long long)v);
}

static void lab(struct out *o, const char *name, const char *label, const char *value, uint64_t v)
{
    put(o, "%s{%s=\"%s\"} %llu\n", name, label, value, (unsigned long long)v);
}

/* A counter split by a "kind" label into two series. */
static void two_kinds(struct out *o, const char *name, const char *help, const char *k1, uint64_t v1,
                      const char *k2, uint64_t v2)
{
    head(o, name, "counter", help);
    lab(o, name, "kind", k1, v1);
    lab(o, name, "kind", k2, v2);
}

static void refusals(struct out *o, const bacsc_ws_listener_stats *ls, const bacsc_sc_hub_stats *s)
{
    const char *n = "bacsc_hub_connections_refused_total";
    head(o, n, "counter",
         "Connections refused or closed before joining, by reason (limit hit, TLS failure by "
         "BACnet error name, NAK of the Connect-Request by error name).");
    lab(o, n, "reason", "max-connections", ls->refused_max_connections);
    lab(o, n, "reason", "source-handshakes-limit", ls->refused_addr_handshakes);
    lab(o, n, "reason", "source-rate-limit", ls->refused_addr_rate);
    lab(o, n, "reason", "first-octet-timeout", ls->first_octet_timeouts);
    lab(o, n, "reason", "handshake-timeout", ls->handshake_timeouts);
    lab(o, n, "reason", "upgrade-refused", ls->upgrade_failed);
    lab(o, n, "reason", "client-gone", ls->abandoned);
    for (int i = 0; i < 9; i++) {
        char r[64];
        snprintf(r, sizeof r, "%s", bacsc_sc_error_name((uint16_t)(180 + i)));
        lab(o, n, "reason", r, ls->tls_failed[i]);
    }
    lab(o, n, "reason", "nak-node-duplicate-vmac", s->refused_vmac);
    lab(o, n, "reason", "nak-uuid-not-certified", s->refused_uuid);
    lab(o, n, "reason", "nak-max-length-too-small", s->refused_limits);
    uint64_t other = s->refused - s->refused_vmac - s->refused_uuid - s->refused_limits;
    lab(o, n, "reason", "nak-other", other);
    const char *l = "bacsc_hub_source_limit_hits_total";
    head(o, l, "counter", "Connections refused by a per-source-address limit.");
    lab(o, l, "limit", "handshakes", ls->refused_addr_handshakes);
    lab(o, l, "limit", "rate", ls->refused_addr_rate);
    lab(o, l, "limit", "first-octet-timeout", ls->first_octet_timeouts);
}

static void traffic(struct out *o, const bacsc_sc_hub_stats *s, const bacsc_hubd_stats *hs)
{
    const char *m = "bacsc_hub_relayed_messages_total";
    head(o, m, "counter", "Messages received from nodes and relayed, by kind.");
    lab(o, m, "kind", "unicast", s->unicast_forwarded);
    lab(o, m, "kind", "broadcast", s->broadcast_forwarded);
    const char *b = "bacsc_hub_relayed_octets_total";
    head(o, b, "counter", "Octets of the messages received from nodes and relayed, by kind.");
    lab(o, b, "kind", "unicast", s->unicast_octets);
    lab(o, b, "kind", "broadcast", s->broadcast_octets);
    one(o, "bacsc_hub_broadcast_copies_total", "counter",
        "Copies of broadcasts queued (one per destination node).", s->broadcast_copies);
    const char *d = "bacsc_hub_dropped_messages_total";
    head(o, d, "counter", "Messages the hub did not relay, by reason.");
    lab(o, d, "reason", "spoofed-origin", s->spoofed_dropped);
    lab(o, d, "reason", "unknown-destination", s->unknown_dest_dropped + s->unknown_dest_naked);
    lab(o, d, "reason", "too-large-for-destination", s->too_large_dropped);
    lab(o, d, "reason", "hub-queue-full", s->queue_dropped);
    lab(o, d, "reason", "websocket-queue-full", hs->ws_queue_dropped);
    lab(o, d, "reason", "npdu-to-hub", s->to_hub_dropped);
    one(o, "bacsc_hub_naks_sent_total", "counter", "BVLC-Result NAKs sent.", s->naks_sent);
    one(o, "bacsc_hub_control_messages_unanswered_total", "counter",
        "Control messages (Heartbeat-Request, Address-Resolution, Advertisement-Solicitation) "
        "over a node's rate limit, not answered.", s->control_dropped);
    one(o, "bacsc_hub_flood_closed_connections_total", "counter",
        "Connections closed because a control-message flood went on.", s->flood_closed);
    one(o, "bacsc_hub_replaced_connections_total", "counter",
        "Connections replaced by a new one of the same device.", s->replaced);
    one(o, "bacsc_hub_queued_octets", "gauge",
        "Octets waiting in the output queues of all nodes.", hs->ws_queue_octets);
    one(o, "bacsc_hub_queued_octets_max", "gauge",
        "Octets waiting in the longest output queue of one node.", hs->ws_queue_max);
}

char *hub_metrics_render(const hub_metrics_src *src, size_t *len)
{
    struct out o = {.buf = malloc(8192), .cap = 8192};
    if (!o.buf)
        return NULL;
    o.buf[0] = 0;
    const bacsc_sc_hub *hub = bacsc_hubd_hub(src->hubd);
    const bacsc_sc_hub_stats *s = bacsc_sc_hub_stats_get(hub);
    bacsc_ws_listener_stats ls;
    bacsc_hubd_listener_stats(src->hubd, &ls);
    bacsc_hubd_stats hs;
    bacsc_hubd_stats_get(src->hubd, &hs);
    one(&o, "bacsc_hub_connected_nodes", "gauge", "Nodes connected (in the VMAC table).",
        bacsc_sc_hub_connected_count(hub));
    one(&o, "bacsc_hub_handshaking_connections", "gauge",
        "Connections between TCP accept and WebSocket open.", ls.handshaking);
    one(&o, "bacsc_hub_handshake_threads", "gauge",
        "TLS handshake worker threads (0: handshakes on the event loop).", ls.handshake_threads);
    one(&o, "bacsc_hub_handshake_queue", "gauge",
        "TLS handshakes on the worker threads now (queued or in progress).", ls.handshake_queue);
    one(&o, "bacsc_hub_handshakes_per_second", "gauge",
        "TLS handshakes the worker threads completed in the last full second.",
        (uint64_t)ls.handshakes_per_s);
    one(&o, "bacsc_hub_tracked_source_addresses", "gauge",
        "Source addresses with per-address admission state.", ls.addresses);
    one(&o, "bacsc_hub_tcp_accepted_total", "counter",
        "TCP connections admitted to the TLS handshake.", ls.accepted);
    one(&o, "bacsc_hub_connections_accepted_total", "counter",
        "Connect-Requests accepted (nodes joined).", s->accepted);
    refusals(&o, &ls, s);
    if (src->tls) {
        bacsc_tls_stats ts;
        bacsc_tls_ctx_stats(src->tls, &ts);
        two_kinds(&o, "bacsc_hub_tls_handshakes_total",
                  "TLS handshakes completed, full or resumed from a ticket.", "full",
                  ts.handshakes - ts.resumed, "resumed", ts.resumed);
        one(&o, "bacsc_hub_tls_tickets_refused_total", "counter",
            "Session tickets refused (expired, certificate no longer valid).", ts.tickets_refused);
        one(&o, "bacsc_hub_tls_tickets_refreshed_total", "counter",
            "New session tickets sent to long-connected nodes.", ts.tickets_refreshed);
        two_kinds(&o, "bacsc_hub_tls_ticket_checks_total",
                  "Client certificates of accepted tickets checked again: issuer-known (the "
                  "issuer certificate that verified it still configured: no second signature "
                  "verification) or full.",
                  "issuer-known", ts.tickets_issuer_known, "full", ts.tickets_full_verify);
        if (ts.crl_checks_full || ts.crl_checks_reused)
            two_kinds(&o, "bacsc_hub_tls_crl_checks_total",
                      "Certificates checked against the CRL: full (OpenSSL's check, the CRL's "
                      "signature verified) or reused (every check but that signature, verified "
                      "before with the same issuer certificate).",
                      "full", ts.crl_checks_full, "reused", ts.crl_checks_reused);
    }
    traffic(&o, s, &hs);
    if (src->cert_not_after)
        one(&o, "bacsc_hub_certificate_expiry_timestamp_seconds", "gauge",
            "When the hub's own operational certificate expires (notAfter, Unix time).",
            (uint64_t)src->cert_not_after);
    if (src->crl_next_update) {
        one(&o, "bacsc_hub_crl_next_update_timestamp_seconds", "gauge",
            "Earliest nextUpdate of the configured CRLs (Unix time); past it the hub refuses "
            "every node (fail closed).", (uint64_t)src->crl_next_update);
        one(&o, "bacsc_hub_crl_expired", "gauge",
            "1 while the configured CRL is past its nextUpdate.", src->crl_expired ? 1 : 0);
        one(&o, "bacsc_hub_crl_expired_total", "counter",
            "Times the configured CRL went past its nextUpdate.", src->crl_expired_total);
    }
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    *len = o.len;
    return o.buf;
}

int64_t hub_metrics_cert_not_after(const char *pem_file)
{
    FILE *f = pem_file ? fopen(pem_file, "r") : NULL;
    if (!f)
        return 0;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        return 0;
    struct tm tm;
    int64_t t = 0;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        t = (int64_t)timegm(&tm);
    X509_free(x);
    return t;
}
