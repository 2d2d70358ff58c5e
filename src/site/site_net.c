/*
 * site_net.c — the network a site job runs on (bacsc/site_net.h): a client
 * over a BACnet/IP link or a BACnet/SC node on its own event loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/bip_link.h"
#include "bacsc/client.h"
#include "bacsc/error.h"
#include "bacsc/loop.h"
#include "bacsc/sc_node.h"
#include "bacsc/site_net.h"
#include "bacsc/tls.h"

struct bacsc_site_net {
    bacsc_loop *loop;
    bacsc_bip_link *link;
    bacsc_tls_ctx *tls;
    bacsc_sc_node *node;
    bacsc_client *cl;
    bacsc_site_io io;
    bool (*stop)(void *user);
    void *stop_user;
};

static void net_sc_npdu(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                        uint64_t now)
{
    bacsc_site_net *n = user;
    if (n->cl)
        bacsc_client_handle_npdu(n->cl, src, npdu, len, now);
}

static void net_recv(void *user, bacsc_bip_link *link, const bacsc_address *src,
                     const uint8_t *npdu, size_t len, bool broadcast, uint64_t now)
{
    (void)link;
    (void)broadcast;
    bacsc_site_net *n = user;
    if (n->cl)
        bacsc_client_handle_npdu(n->cl, src, npdu, len, now);
}

static int net_poll(void *user, uint64_t timeout_us)
{
    bacsc_site_net *n = user;
    /* stopping: the engine returns, the job stays RUNNING (each step is
     * committed) and is resumed by the next run */
    if (n->stop && n->stop(n->stop_user))
        return BACSC_ERR_AGAIN;
    return bacsc_loop_run_once(n->loop, timeout_us);
}

static uint64_t net_now(void *user)
{
    return bacsc_loop_update_time(((bacsc_site_net *)user)->loop);
}

void bacsc_site_net_close(bacsc_site_net *n)
{
    if (!n)
        return;
    bacsc_client_free(n->cl);
    n->cl = NULL;
    if (n->node) {
        /* a clean Disconnect-Request, waited for at most a second */
        bacsc_sc_node_stop(n->node);
        uint64_t end = bacsc_loop_update_time(n->loop) + 1000000;
        while (!bacsc_sc_node_idle(n->node) && bacsc_loop_update_time(n->loop) < end)
            bacsc_loop_run_once(n->loop, 50000);
        bacsc_sc_node_free(n->node);
    }
    bacsc_tls_ctx_free(n->tls);
    bacsc_bip_link_free(n->link);
    bacsc_loop_free(n->loop);
    free(n);
}

/* Join the BACnet/SC network as a node (started; it connects in the
 * background). */
static int net_open_sc(const bacsc_site_net_config *c, bacsc_site_net *n, char *err,
                       size_t errlen)
{
    bacsc_sc_node_config nc;
    memset(&nc, 0, sizeof nc);
    nc.name = c->node_name ? c->node_name : "site";
    nc.primary_uri = c->hub;
    nc.failover_uri = c->failover;
    nc.tls = n->tls;
    nc.uuid = c->uuid;
    bacsc_sc_node_callbacks cb = {.npdu = net_sc_npdu, .user = n};
    if (bacsc_sc_node_new(n->loop, &nc, &cb, &n->node, err, errlen) != BACSC_OK)
        return BACSC_ERR_INVALID_ARG;
    bacsc_sc_node_start(n->node);
    return BACSC_OK;
}

static int net_open_bip(const bacsc_site_net_config *c, bacsc_site_net *n, char *err,
                        size_t errlen)
{
    bacsc_bip_link_config lc;
    memset(&lc, 0, sizeof lc);
    if (!c->bip_local && c->bind_bacnet_port)
        lc.bind.port = 47808;
    lc.broadcast.port = 47808;
    if (c->bip_local)
        bacsc_bip_addr_parse(c->bip_local, 0, &lc.bind);
    if (c->broadcast)
        bacsc_bip_addr_parse(c->broadcast, 47808, &lc.broadcast);
    lc.broadcast_port_count = c->broadcast_count;
    lc.recv = net_recv;
    lc.user = n;
    if (bacsc_bip_link_new(n->loop, &lc, &n->link) != BACSC_OK) {
        snprintf(err, errlen, "cannot open the BACnet/IP socket on %s: %s",
                 c->bip_local            ? c->bip_local
                 : c->bind_bacnet_port ? "0.0.0.0:47808"
                                         : "0.0.0.0:0",
                 strerror(errno));
        return BACSC_ERR_IO;
    }
    return BACSC_OK;
}

/* The options alone: addresses that parse, one datalink. */
int bacsc_site_net_check(const bacsc_site_net_config *c, char *err, size_t errlen)
{
    bacsc_bip_addr a;
    if (c->bip_local && bacsc_bip_addr_parse(c->bip_local, 0, &a) != BACSC_OK) {
        snprintf(err, errlen, "bad --bip-local '%s' (A.B.C.D:PORT)", c->bip_local);
        return BACSC_ERR_INVALID_ARG;
    }
    if (c->broadcast && bacsc_bip_addr_parse(c->broadcast, 47808, &a) != BACSC_OK) {
        snprintf(err, errlen, "bad --broadcast '%s' (A.B.C.D:PORT)", c->broadcast);
        return BACSC_ERR_INVALID_ARG;
    }
    if (c->hub && (c->bip_local || c->broadcast)) {
        snprintf(err, errlen, "--hub (BACnet/SC) and --bip-local/--broadcast (BACnet/IP) "
                              "exclude each other");
        return BACSC_ERR_INVALID_ARG;
    }
    return BACSC_OK;
}

int bacsc_site_net_open(const bacsc_site_net_config *c, bacsc_site_net **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    int rc = bacsc_site_net_check(c, err, errlen);
    bacsc_site_net *n = rc == BACSC_OK ? calloc(1, sizeof *n) : NULL;
    if (!n) {
        bacsc_tls_ctx_free(c->tls);
        if (rc == BACSC_OK)
            snprintf(err, errlen, "out of memory");
        return rc == BACSC_OK ? BACSC_ERR_NOMEM : rc;
    }
    n->tls = c->tls;
    n->stop = c->stop;
    n->stop_user = c->stop_user;
    if (!(n->loop = bacsc_loop_new())) {
        snprintf(err, errlen, "cannot create the event loop: %s", strerror(errno));
        bacsc_site_net_close(n);
        return BACSC_ERR_NOMEM;
    }
    bacsc_client_config cc;
    memset(&cc, 0, sizeof cc);
    if (c->hub) {
        if ((rc = net_open_sc(c, n, err, errlen)) == BACSC_OK)
            cc.link = bacsc_sc_node_datalink(n->node);
        n->io.datalink = BACSC_DATALINK_SC;
    } else {
        if ((rc = net_open_bip(c, n, err, errlen)) == BACSC_OK)
            cc.link = bacsc_bip_link_datalink(n->link);
        n->io.datalink = BACSC_DATALINK_BIP;
    }
    if (rc != BACSC_OK) {
        bacsc_site_net_close(n);
        return rc;
    }
    cc.apdu_timeout_us = (uint64_t)(c->timeout_ms ? c->timeout_ms : 3000) * 1000u;
    cc.retries = c->retries;
    cc.retries_set = c->retries_set;
    cc.max_pending = BACSC_CLIENT_MAX_PENDING_LIMIT;
    cc.max_devices = 100000;
    if ((rc = bacsc_client_new(&cc, &n->cl)) != BACSC_OK) {
        snprintf(err, errlen, "cannot create the BACnet client: %s", bacsc_strerror(rc));
        bacsc_site_net_close(n);
        return BACSC_ERR_NOMEM;
    }
    n->io.client = n->cl;
    n->io.poll = net_poll;
    n->io.now = net_now;
    n->io.user = n;
    *out = n;
    return BACSC_OK;
}

bool bacsc_site_net_wait_sc(bacsc_site_net *n, uint64_t timeout_us)
{
    if (!n->node)
        return true;
    uint64_t end = bacsc_loop_update_time(n->loop) + timeout_us;
    while (bacsc_sc_node_state(n->node) == 0 && bacsc_loop_update_time(n->loop) < end &&
           !bacsc_sc_node_cert_refused(n->node, NULL, 0))
        bacsc_loop_run_once(n->loop, 50000);
    return bacsc_sc_node_state(n->node) != 0;
}

bool bacsc_site_net_sc_refused(const bacsc_site_net *n, char *why, size_t len)
{
    return n->node && bacsc_sc_node_cert_refused(n->node, why, len);
}

const bacsc_site_io *bacsc_site_net_io(const bacsc_site_net *n)
{
    return &n->io;
}

bacsc_client *bacsc_site_net_client(const bacsc_site_net *n)
{
    return n->cl;
}

bacsc_loop *bacsc_site_net_loop(const bacsc_site_net *n)
{
    return n->loop;
}

bacsc_bip_link *bacsc_site_net_bip_link(const bacsc_site_net *n)
{
    return n->link;
}
