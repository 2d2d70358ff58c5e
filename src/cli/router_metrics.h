/*
 * router_metrics.h — the Prometheus text of `bacsc router --metrics-listen`
 * (served by web/metrics_http.h at /metrics) and its /health answer.
 */
#ifndef BACSC_CLI_ROUTER_METRICS_H
#define BACSC_CLI_ROUTER_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "bacsc/router_host.h"

/* The /metrics body (malloc'd), *len its length; NULL when out of memory. */
char *router_metrics_render(bacsc_router_host *h, size_t *len);
/* /health: true when every BACnet/SC port has a hub connection; `text`
 * says which network has none otherwise. */
bool router_metrics_health(bacsc_router_host *h, char *text, size_t cap);

#endif
