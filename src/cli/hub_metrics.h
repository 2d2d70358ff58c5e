/*
 * hub_metrics.h — Prometheus text exposition (format 0.0.4) of a hub server
 * (`bacsc hub`, the hub function of `bacsc device --hub-listen`): every
 * counter of the hub function, its listener and TLS context, with
 * Prometheus names (`bacsc_hub_…_total` counters, units in names). The
 * list is in docs/hub.md, METRICS.
 */
#ifndef BACSC_CLI_HUB_METRICS_H
#define BACSC_CLI_HUB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/sc_hubd.h"
#include "bacsc/tls.h"

typedef struct hub_metrics_src {
    const bacsc_hubd *hubd;
    const bacsc_tls_ctx *tls;      /* NULL: plaintext (no TLS metrics) */
    int64_t cert_not_after;        /* the hub certificate's notAfter (Unix s); 0: unknown */
    int64_t crl_next_update;       /* earliest nextUpdate of the --crl file; 0: no CRL */
    bool crl_expired;              /* now past it (every handshake is refused) */
    uint64_t crl_expired_total;    /* times the CRL went past its nextUpdate */
} hub_metrics_src;

/* The text (malloc'd, NUL-terminated), *len its length; NULL when out of
 * memory. */
char *hub_metrics_render(const hub_metrics_src *s, size_t *len);

/* notAfter of the first certificate in a PEM file (Unix seconds), 0 when
 * unreadable. */
int64_t hub_metrics_cert_not_after(const char *pem_file);

#endif
