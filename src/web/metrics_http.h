/*
 * metrics_http.h — the read-only plain-HTTP endpoint of the daemons
 * (`bacsc hub --metrics-listen`, `bacsc device --hub-listen …
 * --metrics-listen`): GET /metrics (Prometheus text exposition 0.0.4) and
 * GET /health, served by libmicrohttpd driven from the daemon's own event
 * loop (no threads: MHD's epoll descriptor is watched by bacsc_loop and the
 * render callbacks run on the loop, next to the state they read).
 *
 * Limits: 16 connections, 4 per client address, 5 s idle timeout, 16 KiB
 * per connection for the request; anything but GET/HEAD of the two paths is
 * 405/404. Part of the command (src/web), not of libbacsc.
 */
#ifndef BACSC_WEB_METRICS_HTTP_H
#define BACSC_WEB_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/loop.h"

typedef struct metrics_http metrics_http;

typedef struct metrics_http_handlers {
    /* The /metrics body (malloc'd; the server frees it), *len its length;
     * NULL → 500. */
    char *(*render)(void *user, size_t *len);
    /* /health: true → 200 with `text`, false → 503 with `text`. */
    bool (*health)(void *user, char *text, size_t cap);
    void *user;
} metrics_http_handlers;

/*
 * Listen on "ADDR:PORT" ("127.0.0.1:9102", "[::1]:9102"; a bare "PORT" or
 * ":PORT" binds 127.0.0.1; port 0: ephemeral). Returns 0, or -1 with a
 * one-line message in err.
 */
int metrics_http_start(bacsc_loop *loop, const char *listen, const metrics_http_handlers *h,
                       metrics_http **out, char *err, size_t errlen);
uint16_t metrics_http_port(const metrics_http *m);
void metrics_http_free(metrics_http *m);

#endif
