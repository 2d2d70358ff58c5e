/* sc_tool.c — shared runner of the BACnet/SC client tools (see sc_tool.h). */
#include "sc_tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/sc_hubd.h"
#include "bacsc/value.h"
#include "cli.h"

#define TICK_US 10000

void sc_tool_init(sc_tool *t, const char *prog, double default_timeout)
{
    memset(t, 0, sizeof *t);
    t->prog = prog;
    t->default_timeout = default_timeout;
    sc_opts_init(&t->o);
    t->dnet = -1;
    bacsc_log_set_level(BACSC_LOG_WARN);
}

static int add_ca(const char *prog, const char *arg, void *target)
{
    return sc_opts_add_ca(prog, target, arg);
}

const cli_opt sc_tool_conn_rows[] = {
    CLI_STR("hub", 0, "URI", sc_tool, o.hub, "primary hub, wss://HOST:PORT[/PATH]"),
    CLI_STR("failover", 0, "URI", sc_tool, o.failover, "failover hub"),
    CLI_STR("cert", 0, "FILE", sc_tool, o.cert, "this tool's operational certificate (PEM)"),
    CLI_STR("key", 0, "FILE", sc_tool, o.key, "its private key (PEM)"),
    CLI_CALL("ca", 0, "FILE", sc_tool, o, add_ca, "issuer (CA) certificate; twice for rollover"),
    CLI_STR("profile", 0, "FILE", sc_tool, profile,
            "JSON profile with hub, failover, cert, key, ca,\n"
            "insecure_plaintext, timeout (default: $BACSC_PROFILE)"),
    CLI_FLAG("insecure-plaintext", 0, sc_tool, o.insecure_plaintext,
             "allow ws:// URIs (debugging only)"),
    CLI_END};

const cli_opt sc_tool_timeout2_rows[] = {
    CLI_SECONDS("timeout", 0, "S", sc_tool, o.timeout, "give up after S seconds (default 2)"),
    CLI_END};

const cli_opt sc_tool_timeout10_rows[] = {
    CLI_SECONDS("timeout", 0, "S", sc_tool, o.timeout, "give up after S seconds (default 10)"),
    CLI_END};

const cli_opt sc_tool_out_rows[] = {
    CLI_FLAG("direct", 0, sc_tool, direct,
             "open a direct connection to the device (Address-\n"
             "Resolution through the hub) and talk over it; falls\n"
             "back to the hub when the device does not accept one"),
    CLI_STR("vmac", 0, "MAC", sc_tool, o.vmac, "this tool's VMAC (aa:bb:cc:dd:ee:ff; default random)"),
    CLI_FLAG("json", 'j', sc_tool, json, "print JSON"),
    CLI_LOGLEVEL("log-level", 0, "LEVEL", "error, warn (default), info, debug, trace"),
    CLI_HELP("help", 'h', "this text"),
    CLI_END};

const cli_opt sc_tool_route_rows[] = {
    CLI_STR("bip-local", 0, "ADDR:PORT", sc_tool, bip_local,
            "talk BACnet/IP from this UDP address (no hub, no\n"
            "certificates); DEVICE may then be a target ADDR:PORT"),
    CLI_STR("bip-broadcast", 0, "ADDR:PORT", sc_tool, bip_broadcast,
            "where B/IP broadcasts go (default the subnet's)"),
    CLI_ULONG("bip-broadcast-count", 0, "N", sc_tool, bip_broadcast_count, 1, 65535,
              "send broadcasts to N consecutive ports (one host)"),
    CLI_LONG("dnet", 0, "N", sc_tool, dnet, 1, 65535,
             "the device is on network N behind a router: Who-Is\n"
             "as a remote broadcast to N (65535: global broadcast)"),
    CLI_STR("dadr", 0, "MAC", sc_tool, dadr,
            "with a target ADDR:PORT (the router): the device's\n"
            "MAC on network N (aa:bb:.. or A.B.C.D:PORT)"),
    CLI_END};

/* Check --bip-local/--dnet/--dadr and a target ADDR:PORT; build the target
 * address (the router's B/IP address plus DNET/DADR when given). */
static int prepare_routing(sc_tool *t)
{
    if ((t->bip_broadcast || t->bip_broadcast_count) && !t->bip_local) {
        cli_error(t->prog, "--bip-broadcast/--bip-broadcast-count need --bip-local");
        return -1;
    }
    if (t->bip_local && t->direct) {
        cli_error(t->prog, "--direct is a BACnet/SC option (not with --bip-local)");
        return -1;
    }
    if (t->has_target && !t->bip_local) {
        cli_error(t->prog, "a target ADDR:PORT needs --bip-local (over BACnet/SC give the "
                           "device instance, with --dnet N for a device behind a router)");
        return -1;
    }
    if (t->dadr && !(t->has_target && t->dnet > 0 && t->dnet < 65535)) {
        cli_error(t->prog, "--dadr MAC goes with --dnet N (1..65534) and a target ADDR:PORT "
                           "(the router)");
        return -1;
    }
    if (t->has_target && t->dnet > 0 && !t->dadr) {
        cli_error(t->prog, "--dnet with a target ADDR:PORT needs --dadr MAC (the device's "
                           "address on network %ld)", t->dnet);
        return -1;
    }
    if (t->dadr) {
        bacsc_address d;
        if (bacsc_address_parse(t->dadr, &d) != BACSC_OK || d.mac_len == 0) {
            cli_error(t->prog, "--dadr: '%s' is not a MAC (hex octets aa:bb:.. or A.B.C.D:PORT)",
                      t->dadr);
            return -1;
        }
        t->target.net = (uint16_t)t->dnet;
        t->target.adr_len = d.mac_len;
        memcpy(t->target.adr, d.mac, d.mac_len);
    }
    return 0;
}

const bacsc_address *sc_tool_whois_dest(const sc_tool *t, bacsc_address *buf)
{
    if (t->dnet <= 0)
        return NULL;
    *buf = t->dnet == 65535 ? bacsc_address_global_broadcast() : bacsc_address_local_broadcast();
    buf->net = (uint16_t)t->dnet;
    return buf;
}

int sc_tool_prepare(sc_tool *t)
{
    const char *profile = t->profile;
    if (!profile) {
        profile = getenv("BACSC_PROFILE");
        if (profile && !*profile)
            profile = NULL;
    }
    if (profile && sc_opts_load(t->prog, profile, &t->o))
        return EXIT_DATAERR;
    if (t->o.log_level && !cli_set_log_level(t->prog, t->o.log_level))
        return EXIT_USAGE;
    if (prepare_routing(t))
        return EXIT_USAGE;
    if (!t->bip_local && sc_check_node_opts(t->prog, &t->o))
        return EXIT_USAGE;
    if (t->o.timeout <= 0)
        t->o.timeout = t->default_timeout;
    return 0;
}

uint64_t sc_tool_now(const sc_tool *t)
{
    return bacsc_loop_now(t->loop);
}

static void on_npdu(void *user, const bacsc_address *src, const uint8_t *npdu, size_t len,
                    uint64_t now)
{
    sc_tool *t = user;
    bacsc_client_handle_npdu(t->cl, src, npdu, len, now);
}

static void on_state(void *user, int state)
{
    sc_tool *t = user;
    if (state != 0 && !t->joined && !t->finishing) {
        t->joined = true;
        if (t->ready)
            t->ready(t);
    }
}

bool sc_tool_is_direct(const sc_tool *t, const uint8_t *vmac)
{
    if (t->node == NULL)
        return false;
    bacsc_vmac v;
    memcpy(v.b, vmac, 6);
    return bacsc_sc_switch_is_direct(bacsc_sc_node_switch(t->node), &v, sc_tool_now(t));
}

/* --direct: poll until the direct connection carries traffic, or give up
 * after the connect wait and use the hub. */
static void on_direct_wait(bacsc_loop *loop, void *user)
{
    sc_tool *t = user;
    (void)loop;
    if (t->finishing)
        return;
    bool ok = sc_tool_is_direct(t, t->direct_dev.address.mac);
    bacsc_vmac v;
    memcpy(v.b, t->direct_dev.address.mac, 6);
    /* A NAK, an ACK without URIs or a refused connection is final: fall back
     * at once; only a peer that does not answer gets the whole wait. */
    bool failed = !ok && bacsc_sc_switch_dc_failed(bacsc_sc_node_switch(t->node), &v,
                                                   sc_tool_now(t));
    if (!ok && !failed && sc_tool_now(t) < t->direct_until) {
        bacsc_timer_start(t->loop, &t->direct_wait, TICK_US);
        return;
    }
    if (!ok)
        BACSC_WARN("%s: no direct connection to device %u; using the hub", t->prog,
                   t->direct_dev.instance);
    t->found(t, &t->direct_dev);
}

static void on_iam(void *user, const bacsc_client_device *d)
{
    sc_tool *t = user;
    if (t->on_iam)
        t->on_iam(t, d);
    if (t->resolving && d->instance == t->want_instance) {
        t->resolving = false;
        bacsc_timer_stop(t->loop, &t->whois_retry);
        if (t->direct && t->node && d->address.mac_len == 6) {
            bacsc_vmac v;
            memcpy(v.b, d->address.mac, 6);
            t->direct_dev = *d;
            int rc = bacsc_sc_node_dc_connect(t->node, &v);
            if (rc == BACSC_OK) {
                uint64_t cw = sc_us(t->o.connect_wait);
                t->direct_until = sc_tool_now(t) + (cw ? cw : BACSC_SC_DEFAULT_CONNECT_WAIT_US);
                t->waiting_for = "the direct connection";
                bacsc_timer_start(t->loop, &t->direct_wait, 0);
                return;
            }
            BACSC_WARN("%s: cannot open a direct connection: %s; using the hub", t->prog,
                       bacsc_strerror(rc));
        }
        t->found(t, d);
    }
}

static void on_tick(bacsc_loop *loop, void *user)
{
    sc_tool *t = user;
    uint64_t now = bacsc_loop_now(loop);
    char why[512];
    if (!t->joined && !t->finishing &&
        sc_hub_refused_for_good(t->node, t->o.cert, why, sizeof why)) {
        /* a certificate refusal is final: retrying until --timeout cannot help */
        cli_error(t->prog, "%s", why);
        sc_tool_finish(t, EXIT_UNAVAILABLE);
        return;
    }
    if (t->cl && bacsc_client_expiry(t->cl) <= now)
        bacsc_client_handle_expiry(t->cl, now);
    bacsc_timer_start(loop, &t->tick, TICK_US);
}

static void on_stop_wait(bacsc_loop *loop, void *user)
{
    sc_tool *t = user;
    if (!t->node || bacsc_sc_node_idle(t->node) ||
        bacsc_loop_now(loop) > t->stop_started + 2000000) {
        bacsc_loop_stop(loop);
        return;
    }
    bacsc_timer_start(loop, &t->stop_wait, TICK_US);
}

void sc_tool_finish(sc_tool *t, int rc)
{
    if (t->finishing)
        return;
    t->finishing = true;
    t->rc = rc;
    bacsc_timer_stop(t->loop, &t->deadline);
    bacsc_timer_stop(t->loop, &t->whois_retry);
    bacsc_timer_stop(t->loop, &t->direct_wait);
    t->stop_started = bacsc_loop_now(t->loop);
    if (t->node)
        bacsc_sc_node_stop(t->node);
    bacsc_timer_start(t->loop, &t->stop_wait, 0);
}

static void describe_join_failure(sc_tool *t)
{
    const bacsc_sc_connector *c = bacsc_sc_node_connector(t->node);
    const bacsc_sc_hub_connection_status *st = bacsc_sc_connector_status(c, BACSC_SC_SLOT_PRIMARY);
    uint16_t code = 0;
    const char *why = bacsc_sc_node_last_failure(t->node, BACSC_SC_SLOT_PRIMARY, &code);
    if (code && why && *why) /* the transport's reason: "connect failed: Connection refused" */
        cli_error(t->prog, "cannot join hub %s: %u %s: %s", t->o.hub, code,
                  bacsc_sc_error_name(code), why);
    else if (st && st->error_code)
        cli_error(t->prog, "cannot join hub %s: %u %s%s%s", t->o.hub, st->error_code,
                  bacsc_sc_error_name(st->error_code),
                  st->error_details && *st->error_details ? ": " : "",
                  st->error_details ? st->error_details : "");
    else
        cli_error(t->prog, "cannot join hub %s: no connection within %.1f s", t->o.hub,
                  t->o.timeout);
}

static void on_deadline(bacsc_loop *loop, void *user)
{
    sc_tool *t = user;
    (void)loop;
    if (!t->joined) {
        describe_join_failure(t);
        sc_tool_finish(t, EXIT_UNAVAILABLE);
        return;
    }
    if (t->on_deadline) {
        t->on_deadline(t);
        return;
    }
    cli_error(t->prog, "timed out after %.1f s waiting for %s", t->o.timeout,
              t->waiting_for ? t->waiting_for : "an answer");
    sc_tool_finish(t, EXIT_UNAVAILABLE);
}

static void send_whois(sc_tool *t)
{
    bacsc_whois w = {.has_range = true, .low = t->want_instance, .high = t->want_instance};
    bacsc_address buf;
    bacsc_client_whois(t->cl, sc_tool_whois_dest(t, &buf), &w, sc_tool_now(t));
}

static void on_whois_retry(bacsc_loop *loop, void *user)
{
    sc_tool *t = user;
    if (!t->resolving)
        return;
    send_whois(t);
    bacsc_timer_start(loop, &t->whois_retry, 1000000);
}

void sc_tool_resolve(sc_tool *t, uint32_t instance, sc_tool_found_fn found)
{
    t->want_instance = instance;
    t->found = found;
    if (t->has_target) {  /* addressed directly: no Who-Is */
        bacsc_client_device d = {.instance = instance, .address = t->target, .max_apdu = 1476};
        found(t, &d);
        return;
    }
    t->resolving = true;
    t->waiting_for = "the device's I-Am";
    send_whois(t);
    bacsc_timer_start(t->loop, &t->whois_retry, 1000000);
}

int sc_tool_request_failed(sc_tool *t, const char *service, int rc, uint32_t instance)
{
    size_t len = 0;
    unsigned max = 0;
    if (rc == BACSC_ERR_LIMIT && bacsc_client_too_large(t->cl, &len, &max)) {
        cli_error(t->prog, "%s request of %zu octets is larger than device %u accepts "
                  "(Max_APDU_Length_Accepted %u): not sent", service, len, instance, max);
        return EXIT_DATAERR;
    }
    cli_error(t->prog, "cannot send %s: %s", service, bacsc_strerror(rc));
    return EXIT_FAIL;
}

int sc_tool_result_error(sc_tool *t, const bacsc_client_result *r)
{
    char buf[160];
    bacsc_client_result_format(r, buf, sizeof buf);
    if (t->json) {
        json_t *o = json_object();
        json_object_set_new(o, "error", json_string(buf));
        if (r->outcome == BACSC_CLIENT_ERROR) {
            json_object_set_new(o, "error_class", json_integer(r->error_class));
            json_object_set_new(o, "error_code", json_integer(r->error_code));
        }
        cli_print_json(o);
    }
    cli_error(t->prog, "%s", buf);
    return r->outcome == BACSC_CLIENT_TIMEOUT ? EXIT_UNAVAILABLE : EXIT_FAIL;
}

static void init_timers(sc_tool *t);

static void on_bip(void *user, bacsc_bip_link *link, const bacsc_address *src,
                   const uint8_t *npdu, size_t len, bool broadcast, uint64_t now)
{
    sc_tool *t = user;
    (void)link;
    (void)broadcast;
    bacsc_client_handle_npdu(t->cl, src, npdu, len, now);
}

static void on_bip_ready(bacsc_loop *loop, void *user)
{
    sc_tool *t = user;
    (void)loop;
    on_state(t, 1);
}

/* The tool's BACnet client on `link` (2 s APDU timeout, 2 retries, I-Ams
 * collected) and its timers. Returns 0, or EXIT_FAIL with the message printed. */
static int start_client(sc_tool *t, bacsc_datalink link)
{
    bacsc_client_config cc = {.link = link,
                              .apdu_timeout_us = 2000000,
                              .retries = 2,
                              .retries_set = true,
                              .on_iam = on_iam,
                              .user = t};
    if (bacsc_client_new(&cc, &t->cl) != BACSC_OK) {
        cli_error(t->prog, "cannot create the BACnet client");
        return EXIT_FAIL;
    }
    init_timers(t);
    return 0;
}

/* --bip-local: a B/IP socket instead of a hub connection; ready at once. */
static int run_bip(sc_tool *t)
{
    bacsc_bip_link_config bc = {.recv = on_bip, .user = t,
                                .broadcast_port_count = (unsigned)t->bip_broadcast_count};
    if (bacsc_bip_addr_parse(t->bip_local, 0, &bc.bind) != BACSC_OK ||
        (t->bip_broadcast && bacsc_bip_addr_parse(t->bip_broadcast, 47808, &bc.broadcast))) {
        cli_error(t->prog, "--bip-local/--bip-broadcast: not ADDR:PORT");
        return EXIT_USAGE;
    }
    if (bacsc_bip_link_new(t->loop, &bc, &t->bip) != BACSC_OK) {
        cli_error(t->prog, "--bip-local %s: cannot bind: %m", t->bip_local);
        return EXIT_FAIL;
    }
    if (start_client(t, bacsc_bip_link_datalink(t->bip)) != 0)
        return EXIT_FAIL;
    bacsc_loop_defer(t->loop, on_bip_ready, t);
    bacsc_loop_run(t->loop);
    return t->rc;
}

int sc_tool_run(sc_tool *t)
{
    t->rc = EXIT_FAIL;
    t->loop = bacsc_loop_new();
    if (!t->loop) {
        cli_error(t->prog, "cannot create the event loop");
        return EXIT_FAIL;
    }
    if (t->bip_local)
        return run_bip(t);
    if (!t->o.insecure_plaintext) {
        t->tls = sc_tls_ctx(t->prog, &t->o, false);
        if (!t->tls)
            return EXIT_DATAERR;
    }
    bacsc_sc_node_config nc = {.name = t->prog,
                               .primary_uri = t->o.hub,
                               .failover_uri = t->o.failover,
                               .tls = t->tls,
                               .insecure_plaintext = t->o.insecure_plaintext,
                               .connect_wait_us = sc_us(t->o.connect_wait),
                               .reconnect_min_us = sc_us(t->o.reconnect_min),
                               .reconnect_max_us = sc_us(t->o.reconnect_max)};
    /* The Device UUID: configured, else the certificate's urn:uuid: (a hub
     * binds the two), else random. */
    if (t->o.uuid && bacsc_uuid_parse(t->o.uuid, &nc.uuid) != BACSC_OK) {
        cli_error(t->prog, "uuid: '%s' is not a UUID", t->o.uuid);
        return EXIT_USAGE;
    }
    if (!t->o.uuid && !(t->o.cert && sc_cert_uuid(t->o.cert, &nc.uuid) == 0))
        sc_random_uuid(&nc.uuid);
    if (t->o.vmac) {
        if (bacsc_vmac_parse(t->o.vmac, &nc.vmac) != BACSC_OK) {
            cli_error(t->prog, "--vmac: '%s' is not a VMAC", t->o.vmac);
            return EXIT_USAGE;
        }
        nc.fixed_vmac = true;
    }
    bacsc_sc_node_callbacks ncb = {.npdu = on_npdu, .state_changed = on_state, .user = t};
    char err[256];
    if (bacsc_sc_node_new(t->loop, &nc, &ncb, &t->node, err, sizeof err) != BACSC_OK) {
        cli_error(t->prog, "%s", err);
        return EXIT_USAGE;
    }
    if (start_client(t, bacsc_sc_node_datalink(t->node)) != 0)
        return EXIT_FAIL;
    bacsc_sc_node_start(t->node);
    bacsc_loop_run(t->loop);
    return t->rc;
}

static void init_timers(sc_tool *t)
{
    bacsc_timer_init(&t->tick, on_tick, t);
    bacsc_timer_init(&t->deadline, on_deadline, t);
    bacsc_timer_init(&t->stop_wait, on_stop_wait, t);
    bacsc_timer_init(&t->whois_retry, on_whois_retry, t);
    bacsc_timer_init(&t->direct_wait, on_direct_wait, t);
    bacsc_timer_start(t->loop, &t->tick, TICK_US);
    bacsc_timer_start(t->loop, &t->deadline, sc_us(t->o.timeout));
}

void sc_tool_cleanup(sc_tool *t)
{
    if (t->cl) {
        t->found = NULL;
        t->on_iam = NULL;
        bacsc_client_free(t->cl);
    }
    bacsc_sc_node_free(t->node);
    bacsc_bip_link_free(t->bip);
    bacsc_loop_free(t->loop);
    bacsc_tls_ctx_free(t->tls);
    sc_opts_free(&t->o);
}

int sc_tool_parse_device(sc_tool *t, const char *arg)
{
    unsigned long ul;
    if (strchr(arg, ':')) {
        bacsc_bip_addr a;
        if (bacsc_bip_addr_parse(arg, 47808, &a) != BACSC_OK || a.port == 0) {
            cli_error(t->prog, "DEVICE: '%s' is neither an instance nor A.B.C.D:PORT", arg);
            return EXIT_USAGE;
        }
        uint8_t adr_len = t->target.adr_len;
        uint8_t adr[BACSC_MAC_MAX];
        memcpy(adr, t->target.adr, sizeof adr);
        uint16_t net = t->target.net;
        t->target = bacsc_bip_addr_to_address(&a);
        t->target.net = net;
        t->target.adr_len = adr_len;
        memcpy(t->target.adr, adr, sizeof adr);
        t->has_target = true;
        t->want_instance = BACSC_MAX_INSTANCE;
        return 0;
    }
    if (sc_parse_ulong(t->prog, "DEVICE", arg, 0, 4194302, &ul))
        return EXIT_USAGE;
    t->want_instance = (uint32_t)ul;
    return 0;
}

int sc_tool_parse_object(const sc_tool *t, const char *arg, bacsc_object_id *oid)
{
    if (bacsc_object_id_parse(arg, oid) != 0) {
        cli_error(t->prog, "'%s' is not an object (TYPE,INSTANCE, e.g. analog-value,1)", arg);
        return EXIT_USAGE;
    }
    return 0;
}

int sc_tool_main(sc_tool *t, void *user, sc_tool_fn ready)
{
    int rc = sc_tool_prepare(t);
    if (rc != 0) {
        sc_tool_cleanup(t);
        return rc;
    }
    t->user = user;
    t->ready = ready;
    rc = sc_tool_run(t);
    sc_tool_cleanup(t);
    return rc;
}
