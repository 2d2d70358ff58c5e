/*
 * support_fake_datalink.c — see support_fake_datalink.h.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "support_fake_datalink.h"

void fdl_init(fdl_net *net)
{
    memset(net, 0, sizeof *net);
    net->q = calloc(FDL_QUEUE, sizeof *net->q);
    assert_non_null(net->q);
}

void fdl_destroy(fdl_net *net)
{
    free(net->q);
    net->q = NULL;
}

fdl_node *fdl_add_node(fdl_net *net, uint8_t id)
{
    assert_true(net->nnodes < FDL_MAX_NODES);
    fdl_node *n = &net->nodes[net->nnodes++];
    memset(n, 0, sizeof *n);
    n->net = net;
    uint8_t mac[6] = {0x02, 0, 0, 0, 0, id};
    memcpy(n->mac, mac, 6);
    return n;
}

bacsc_address fdl_addr(const fdl_node *n)
{
    return bacsc_address_local(n->mac, 6);
}

static int fdl_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    fdl_node *n = user;
    fdl_net *net = n->net;
    n->sent++;
    if (net->send_rc)
        return net->send_rc;
    if (net->drop_next) {
        net->drop_next--;
        net->dropped++;
        return 0;
    }
    assert_true(len <= FDL_FRAME_MAX);
    assert_true(net->count < FDL_QUEUE);
    fdl_frame *f = &net->q[(net->head + net->count) % FDL_QUEUE];
    net->count++;
    f->src = fdl_addr(n);
    f->dest = *dest;
    memcpy(f->data, npdu, len);
    f->len = len;
    return 0;
}

bacsc_datalink fdl_link(fdl_node *n)
{
    bacsc_datalink l = {.send = fdl_send, .user = n, .max_npdu = 1497};
    return l;
}

bool fdl_take(fdl_net *net, fdl_frame *f)
{
    if (net->count == 0)
        return false;
    *f = net->q[net->head];
    net->head = (net->head + 1) % FDL_QUEUE;
    net->count--;
    return true;
}

size_t fdl_queued(const fdl_net *net)
{
    return net->count;
}

static void deliver(fdl_node *n, const fdl_frame *f, uint64_t now)
{
    int rc = BACSC_ERR_NOT_FOUND;
    if (n->dev)
        rc = bacsc_device_handle_npdu(n->dev, &f->src, f->data, f->len, now);
    if (rc == BACSC_ERR_NOT_FOUND && n->cl)
        bacsc_client_handle_npdu(n->cl, &f->src, f->data, f->len, now);
}

size_t fdl_pump(fdl_net *net, uint64_t now)
{
    size_t count = 0;
    fdl_frame *f = malloc(sizeof *f);
    assert_non_null(f);
    while (fdl_take(net, f)) {
        count++;
        net->delivered++;
        for (size_t i = 0; i < net->nnodes; i++) {
            fdl_node *n = &net->nodes[i];
            bacsc_address me = fdl_addr(n);
            if (bacsc_address_equal(&me, &f->src))
                continue;
            if (f->dest.mac_len == 0 ||
                (f->dest.mac_len == 6 && memcmp(f->dest.mac, n->mac, 6) == 0))
                deliver(n, f, now);
        }
    }
    free(f);
    return count;
}

size_t fdl_npdu(uint8_t *out, size_t cap, const uint8_t *apdu, size_t apdu_len)
{
    bacsc_npdu n;
    bacsc_npdu_init(&n, apdu_len > 0 && (apdu[0] >> 4) == 0);
    n.payload = apdu;
    n.payload_len = apdu_len;
    int len = bacsc_npdu_encode(out, cap, &n);
    assert_true(len > 0);
    return (size_t)len;
}

void fdl_frame_apdu(const fdl_frame *f, bacsc_apdu *a)
{
    bacsc_npdu n;
    assert_true(bacsc_npdu_decode(f->data, f->len, &n) > 0);
    assert_true(bacsc_apdu_decode(n.payload, n.payload_len, a, NULL) > 0);
}

bacsc_device *fdl_host_device(fdl_node *n, bacsc_device_config *dc)
{
    dc->link = fdl_link(n);
    assert_int_equal(bacsc_device_new(dc, &n->dev), BACSC_OK);
    return n->dev;
}

bacsc_client *fdl_host_client(fdl_node *n, bacsc_client_config *cc)
{
    cc->link = fdl_link(n);
    assert_int_equal(bacsc_client_new(cc, &n->cl), BACSC_OK);
    return n->cl;
}

void fdl_free_hosted(fdl_net *net)
{
    for (size_t i = 0; i < net->nnodes; i++) {
        bacsc_client_free(net->nodes[i].cl);
        net->nodes[i].cl = NULL;
    }
    for (size_t i = 0; i < net->nnodes; i++) {
        bacsc_device_free(net->nodes[i].dev);
        net->nodes[i].dev = NULL;
    }
    fdl_destroy(net);
}

int fdl_apdu_to(const fdl_node *from, fdl_node *to, const uint8_t *apdu, size_t len,
                uint64_t now)
{
    uint8_t npdu[FDL_FRAME_MAX];
    size_t n = fdl_npdu(npdu, sizeof npdu, apdu, len);
    bacsc_address src = fdl_addr(from);
    if (to->dev)
        return bacsc_device_handle_npdu(to->dev, &src, npdu, n, now);
    return bacsc_client_handle_npdu(to->cl, &src, npdu, n, now);
}

bool fdl_next_apdu(fdl_net *net, fdl_frame *keep, bacsc_apdu *a)
{
    if (!fdl_take(net, keep))
        return false;
    fdl_frame_apdu(keep, a);
    return true;
}
