/*
 * bacsc/site_net.h — the network a site job runs on: a BACnet client over
 * BACnet/IP (bip_link.h, one UDP socket) or over BACnet/SC (a node,
 * sc_node.h, joining a hub with the caller's TLS context), on its own event
 * loop, handed to the job engine as a bacsc_site_io (site.h).
 *
 * `bacsc site` and the web console's job worker both open their network
 * here; they differ only in their options and in a stop hook the console's
 * poll checks.
 */
#ifndef BACSC_SITE_NET_H
#define BACSC_SITE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/bip_link.h"
#include "bacsc/client.h"
#include "bacsc/loop.h"
#include "bacsc/site.h"
#include "bacsc/tls.h"
#include "bacsc/uuid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bacsc_site_net bacsc_site_net;

typedef struct bacsc_site_net_config {
    /* BACnet/IP (when hub is NULL) */
    const char *bip_local;        /* A.B.C.D:PORT to bind, or NULL */
    bool bind_bacnet_port;        /* bip_local NULL: bind 47808 (else an ephemeral port) */
    const char *broadcast;        /* A.B.C.D[:PORT] broadcasts go to (default port 47808) */
    unsigned broadcast_count;     /* broadcast emulation on one host (bip_link.h) */
    /* BACnet/SC (when hub is set; excludes bip_local and broadcast) */
    const char *hub, *failover;   /* wss:// URIs */
    bacsc_tls_ctx *tls;           /* taken over: freed by bacsc_site_net_close, also on error */
    const char *node_name;        /* for logs, e.g. "site tool" */
    bacsc_uuid uuid;              /* the node's Device UUID */
    /* the client */
    unsigned timeout_ms;          /* per request; 0 = 3000 */
    unsigned retries;
    bool retries_set;             /* else the client's default */
    /* Checked by every poll: true stops the job engine (its poll returns
     * BACSC_ERR_AGAIN; the job stays resumable). NULL = never. */
    bool (*stop)(void *user);
    void *stop_user;
} bacsc_site_net_config;

/* The options alone (before a caller builds its TLS context): the
 * addresses parse and only one datalink is named. Returns BACSC_OK or
 * BACSC_ERR_INVALID_ARG with a one-line reason in err. */
int bacsc_site_net_check(const bacsc_site_net_config *cfg, char *err, size_t errlen);

/* Open the loop, the datalink and the client. Over BACnet/SC the node is
 * started and connects in the background (bacsc_site_net_wait_sc).
 * Returns BACSC_OK, or with a one-line reason in err:
 * BACSC_ERR_INVALID_ARG (bad or conflicting options, node refused),
 * BACSC_ERR_IO (the UDP socket cannot be bound), another code otherwise
 * (BACSC_ERR_NOMEM: no event loop or client). */
int bacsc_site_net_open(const bacsc_site_net_config *cfg, bacsc_site_net **out, char *err,
                        size_t errlen);

/* Over BACnet/SC: run the loop until the node is connected to a hub, at
 * most `timeout_us`. Returns true when connected (always over BACnet/IP). */
bool bacsc_site_net_wait_sc(bacsc_site_net *n, uint64_t timeout_us);
/* After a failed bacsc_site_net_wait_sc: true when the hub refused our
 * certificate or we refused its certificate (bacsc_sc_node_cert_refused:
 * final, the wait ended at once), with the one-line reason in `why`. */
bool bacsc_site_net_sc_refused(const bacsc_site_net *n, char *why, size_t len);

/* What the job engine drives (bacsc_site_job_run). */
const bacsc_site_io *bacsc_site_net_io(const bacsc_site_net *n);
bacsc_client *bacsc_site_net_client(const bacsc_site_net *n);
bacsc_loop *bacsc_site_net_loop(const bacsc_site_net *n);
/* The BACnet/IP link, NULL over BACnet/SC. */
bacsc_bip_link *bacsc_site_net_bip_link(const bacsc_site_net *n);

/* Free the client, then the node (a clean Disconnect-Request, waited for
 * at most a second), the TLS context, the link and the loop. NULL is a no-op. */
void bacsc_site_net_close(bacsc_site_net *n);

#ifdef __cplusplus
}
#endif

#endif
