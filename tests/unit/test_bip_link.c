/* test_bip_link.c — BACnet/IP datalink: two real UDP sockets on 127.0.0.1,
 * unicast, emulated broadcast over a port range, Forwarded-NPDU source,
 * BBMD NAKs, malformed datagrams, and a device answering a client over it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "bacsc/bip_link.h"
#include "bacsc/client.h"
#include "bacsc/device.h"
#include "bacsc/error.h"

typedef struct rx {
    int count;
    bacsc_address src;
    uint8_t npdu[1500];
    size_t len;
    bool broadcast;
} rx;

static void on_recv(void *user, bacsc_bip_link *link, const bacsc_address *src,
                    const uint8_t *npdu, size_t len, bool broadcast, uint64_t now)
{
    (void)link;
    (void)now;
    rx *r = user;
    r->count++;
    r->src = *src;
    memcpy(r->npdu, npdu, len);
    r->len = len;
    r->broadcast = broadcast;
}

static bacsc_bip_link *open_link(bacsc_loop *loop, uint16_t port, unsigned bcount,
                                 uint16_t bport, rx *r)
{
    bacsc_bip_link_config c;
    memset(&c, 0, sizeof c);
    assert_int_equal(bacsc_bip_addr_parse("127.0.0.1", port, &c.bind), BACSC_OK);
    assert_int_equal(bacsc_bip_addr_parse("127.0.0.1", bport, &c.broadcast), BACSC_OK);
    c.broadcast_port_count = bcount;
    c.recv = on_recv;
    c.user = r;
    bacsc_bip_link *l = NULL;
    assert_int_equal(bacsc_bip_link_new(loop, &c, &l), BACSC_OK);
    return l;
}

static void pump(bacsc_loop *loop, int *counter, int want)
{
    for (int i = 0; i < 200 && *counter < want; i++)
        bacsc_loop_run_once(loop, 10000);
}

/* A raw UDP socket playing a foreign node. */
static int raw_socket(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *port = ntohs(sa.sin_port);
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void raw_send(int fd, uint16_t port, const uint8_t *b, size_t n)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(sendto(fd, b, n, 0, (struct sockaddr *)&sa, sizeof sa), (ssize_t)n);
}

static void test_addr_parse(void **state)
{
    (void)state;
    bacsc_bip_addr a;
    char buf[32];
    assert_int_equal(bacsc_bip_addr_parse("192.168.1.10:47809", 47808, &a), BACSC_OK);
    assert_string_equal(bacsc_bip_addr_format(&a, buf, sizeof buf), "192.168.1.10:47809");
    assert_int_equal(bacsc_bip_addr_parse("10.0.0.1", 47808, &a), BACSC_OK);
    assert_int_equal(a.port, 47808);
    assert_int_equal(bacsc_bip_addr_parse(":5000", 47808, &a), BACSC_OK);
    assert_int_equal(a.ip[0], 0);
    assert_int_equal(a.port, 5000);
    assert_int_equal(bacsc_bip_addr_parse("1.2.3.4:70000", 1, &a), BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_bip_addr_parse("1.2.3:10", 1, &a), BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_bip_addr_parse("1.2.3.4:", 1, &a), BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_bip_addr_parse("1.2.3.4:1x", 1, &a), BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_bip_addr_parse("", 1, &a), BACSC_ERR_MALFORMED);
    bacsc_address ad = bacsc_bip_addr_to_address(&(bacsc_bip_addr){{1, 2, 3, 4}, 0xBAC0});
    assert_int_equal(ad.mac_len, 6);
    assert_int_equal(ad.mac[4], 0xBA);
    bacsc_bip_addr back;
    assert_int_equal(bacsc_bip_addr_from_address(&ad, &back), BACSC_OK);
    assert_int_equal(back.port, 0xBAC0);
    ad.mac_len = 1;
    assert_int_equal(bacsc_bip_addr_from_address(&ad, &back), BACSC_ERR_INVALID_ARG);
}

static void test_unicast_and_broadcast(void **state)
{
    (void)state;
    bacsc_loop *loop = bacsc_loop_new();
    rx ra = {0}, rb = {0}, rc = {0};
    /* Three links on consecutive ephemeral-ish ports: find a free base. */
    bacsc_bip_link *a = open_link(loop, 0, 1, 0, &ra);
    bacsc_bip_addr la;
    bacsc_bip_link_local(a, &la);
    bacsc_bip_link_free(a);
    uint16_t base = la.port;
    a = open_link(loop, base, 3, base, &ra);
    bacsc_bip_link *b = open_link(loop, (uint16_t)(base + 1), 3, base, &rb);
    bacsc_bip_link *c = open_link(loop, (uint16_t)(base + 2), 3, base, &rc);

    /* unicast a → b */
    const uint8_t npdu[] = {0x01, 0x04, 0x10, 0x08};
    bacsc_address to = bacsc_bip_link_address(b);
    assert_int_equal(bacsc_bip_link_send(a, &to, npdu, sizeof npdu), BACSC_OK);
    pump(loop, &rb.count, 1);
    assert_int_equal(rb.count, 1);
    assert_false(rb.broadcast);
    assert_memory_equal(rb.npdu, npdu, sizeof npdu);
    bacsc_address from_a = bacsc_bip_link_address(a);
    assert_true(bacsc_address_equal(&rb.src, &from_a));

    /* emulated broadcast from a reaches b and c, not a itself */
    bacsc_address bc = bacsc_address_local_broadcast();
    assert_int_equal(bacsc_bip_link_send(a, &bc, npdu, sizeof npdu), BACSC_OK);
    pump(loop, &rc.count, 1);
    pump(loop, &rb.count, 2);
    assert_int_equal(rb.count, 2);
    assert_int_equal(rc.count, 1);
    assert_true(rb.broadcast && rc.broadcast);
    for (int i = 0; i < 5; i++)
        bacsc_loop_run_once(loop, 1000);
    assert_int_equal(ra.count, 0);

    /* oversize NPDU and bad MAC refused */
    static uint8_t big[1498];
    assert_int_equal(bacsc_bip_link_send(a, &to, big, sizeof big), BACSC_ERR_LIMIT);
    bacsc_address bad = to;
    bad.mac_len = 3;
    assert_int_equal(bacsc_bip_link_send(a, &bad, npdu, sizeof npdu), BACSC_ERR_INVALID_ARG);

    bacsc_bip_link_stats st;
    bacsc_bip_link_get_stats(b, &st);
    assert_int_equal(st.rx_npdus, 2);
    bacsc_bip_link_free(a);
    bacsc_bip_link_free(b);
    bacsc_bip_link_free(c);
    bacsc_loop_free(loop);
}

static void test_forwarded_naks_malformed(void **state)
{
    (void)state;
    bacsc_loop *loop = bacsc_loop_new();
    rx r = {0};
    bacsc_bip_link *l = open_link(loop, 0, 1, 0, &r);
    bacsc_bip_addr me;
    bacsc_bip_link_local(l, &me);
    uint16_t rport;
    int fd = raw_socket(&rport);

    /* Forwarded-NPDU: the source is the originator in the message. */
    const uint8_t fwd[] = {0x81, 0x04, 0x00, 0x0e, 10, 1, 2, 3, 0xBA, 0xC0, 0x01, 0x00, 0x10, 0x08};
    raw_send(fd, me.port, fwd, sizeof fwd);
    pump(loop, &r.count, 1);
    assert_int_equal(r.count, 1);
    assert_true(r.broadcast);
    uint8_t want_src[6] = {10, 1, 2, 3, 0xBA, 0xC0};
    assert_int_equal(r.src.mac_len, 6);
    assert_memory_equal(r.src.mac, want_src, 6);
    assert_int_equal(r.len, 4);

    /* BBMD functions get their NAK. */
    struct { uint8_t req[12]; size_t n; uint16_t code; } cases[] = {
        {{0x81, 0x01, 0x00, 0x04}, 4, 0x0010},
        {{0x81, 0x02, 0x00, 0x04}, 4, 0x0020},
        {{0x81, 0x05, 0x00, 0x06, 0x00, 0x3c}, 6, 0x0030},
        {{0x81, 0x06, 0x00, 0x04}, 4, 0x0040},
        {{0x81, 0x08, 0x00, 0x0a, 1, 2, 3, 4, 5, 6}, 10, 0x0050},
        {{0x81, 0x09, 0x00, 0x08, 0x01, 0x00, 0x10, 0x08}, 8, 0x0060},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw_send(fd, me.port, cases[i].req, cases[i].n);
        for (int k = 0; k < 5; k++)
            bacsc_loop_run_once(loop, 10000);
        uint8_t ans[16];
        ssize_t n = recv(fd, ans, sizeof ans, 0);
        assert_int_equal(n, 6);
        uint8_t want[6] = {0x81, 0x00, 0x00, 0x06, (uint8_t)(cases[i].code >> 8),
                           (uint8_t)cases[i].code};
        assert_memory_equal(ans, want, 6);
    }
    /* Malformed: wrong type, length mismatch, unknown function — dropped, counted. */
    const uint8_t bad1[] = {0x82, 0x0a, 0x00, 0x05, 0x01};
    const uint8_t bad2[] = {0x81, 0x0a, 0x00, 0x09, 0x01, 0x00};
    const uint8_t bad3[] = {0x81, 0x0d, 0x00, 0x04};
    raw_send(fd, me.port, bad1, sizeof bad1);
    raw_send(fd, me.port, bad2, sizeof bad2);
    raw_send(fd, me.port, bad3, sizeof bad3);
    for (int k = 0; k < 10; k++)
        bacsc_loop_run_once(loop, 5000);
    bacsc_bip_link_stats st;
    bacsc_bip_link_get_stats(l, &st);
    assert_int_equal(st.rx_malformed, 3);
    assert_int_equal(st.tx_naks, 6);
    assert_int_equal(r.count, 1);
    close(fd);
    bacsc_bip_link_free(l);
    bacsc_loop_free(loop);
}

/* A device and a client, each on its own link: ReadProperty over real UDP. */
typedef struct dc {
    bacsc_device *dev;
    bacsc_client *cl;
    int done;
    bacsc_client_result res;
    uint8_t data[256];
} dc;

static void dev_recv(void *user, bacsc_bip_link *link, const bacsc_address *src,
                     const uint8_t *npdu, size_t len, bool broadcast, uint64_t now)
{
    (void)link;
    (void)broadcast;
    dc *d = user;
    bacsc_device_handle_npdu(d->dev, src, npdu, len, now);
}

static void cl_recv(void *user, bacsc_bip_link *link, const bacsc_address *src,
                    const uint8_t *npdu, size_t len, bool broadcast, uint64_t now)
{
    (void)link;
    (void)broadcast;
    dc *d = user;
    bacsc_client_handle_npdu(d->cl, src, npdu, len, now);
}

static void on_done(void *user, const bacsc_client_result *r)
{
    dc *d = user;
    d->done++;
    d->res = *r;
}

static void test_device_over_bip(void **state)
{
    (void)state;
    bacsc_loop *loop = bacsc_loop_new();
    dc d = {0};
    bacsc_bip_link_config c = {0};
    bacsc_bip_addr_parse("127.0.0.1:0", 0, &c.bind);
    c.recv = dev_recv;
    c.user = &d;
    bacsc_bip_link *dl, *cll;
    assert_int_equal(bacsc_bip_link_new(loop, &c, &dl), BACSC_OK);
    c.recv = cl_recv;
    assert_int_equal(bacsc_bip_link_new(loop, &c, &cll), BACSC_OK);
    bacsc_device_config dcfg = {0};
    dcfg.instance = 4711;
    dcfg.name = "dev-4711";
    dcfg.link = bacsc_bip_link_datalink(dl);
    assert_int_equal(bacsc_device_new(&dcfg, &d.dev), BACSC_OK);
    bacsc_client_config ccfg = {0};
    ccfg.link = bacsc_bip_link_datalink(cll);
    assert_int_equal(bacsc_client_new(&ccfg, &d.cl), BACSC_OK);
    bacsc_address to = bacsc_bip_link_address(dl);
    bacsc_rp_request rp = {.object = {BACSC_OBJ_DEVICE, 4711}, .property = BACSC_PROP_OBJECT_NAME};
    int rc = bacsc_client_read_property(d.cl, &to, &rp, on_done, &d, bacsc_loop_now(loop));
    assert_true(rc >= 0);
    pump(loop, &d.done, 1);
    assert_int_equal(d.done, 1);
    assert_int_equal(d.res.outcome, BACSC_CLIENT_COMPLEX_ACK);
    bacsc_client_free(d.cl);
    bacsc_device_free(d.dev);
    bacsc_bip_link_free(dl);
    bacsc_bip_link_free(cll);
    bacsc_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_parse),
        cmocka_unit_test(test_unicast_and_broadcast),
        cmocka_unit_test(test_forwarded_naks_malformed),
        cmocka_unit_test(test_device_over_bip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
