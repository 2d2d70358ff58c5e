/*
 * sc_tool.h — the shared runner of the BACnet/SC client tools (whois, read,
 * readm, write): option handling (flags, --profile / $BACSC_PROFILE), joining
 * the network as a node (sc_node.h) with a bacsc_client on top, finding a
 * device's address with a Who-Is for its instance, deadlines, and a clean
 * Disconnect-Request before exit.
 */
#ifndef BACSC_CLI_SC_TOOL_H
#define BACSC_CLI_SC_TOOL_H

#include <getopt.h>
#include <stdbool.h>

#include "bacsc/bip_link.h"
#include "bacsc/client.h"
#include "bacsc/loop.h"
#include "bacsc/sc_node.h"
#include "sc_cli.h"

enum {
    SC_OPT_HUB = 1000,
    SC_OPT_FAILOVER,
    SC_OPT_CERT,
    SC_OPT_KEY,
    SC_OPT_CA,
    SC_OPT_PROFILE,
    SC_OPT_PLAINTEXT,
    SC_OPT_TIMEOUT,
    SC_OPT_JSON,
    SC_OPT_LOGLEVEL,
    SC_OPT_VMAC,
    SC_OPT_DIRECT,
    SC_OPT_BIP_LOCAL,
    SC_OPT_BIP_BROADCAST,
    SC_OPT_BIP_BROADCAST_COUNT,
    SC_OPT_DNET,
    SC_OPT_DADR,
    SC_OPT_HELP
};

#define SC_TOOL_LONGOPTS                                                                           \
    {"hub", required_argument, NULL, SC_OPT_HUB},                                                  \
        {"failover", required_argument, NULL, SC_OPT_FAILOVER},                                    \
        {"cert", required_argument, NULL, SC_OPT_CERT},                                            \
        {"key", required_argument, NULL, SC_OPT_KEY},                                              \
        {"ca", required_argument, NULL, SC_OPT_CA},                                                \
        {"profile", required_argument, NULL, SC_OPT_PROFILE},                                      \
        {"insecure-plaintext", no_argument, NULL, SC_OPT_PLAINTEXT},                               \
        {"timeout", required_argument, NULL, SC_OPT_TIMEOUT},                                      \
        {"json", no_argument, NULL, SC_OPT_JSON},                                                  \
        {"log-level", required_argument, NULL, SC_OPT_LOGLEVEL},                                   \
        {"vmac", required_argument, NULL, SC_OPT_VMAC},                                            \
        {"direct", no_argument, NULL, SC_OPT_DIRECT},                                              \
        {"bip-local", required_argument, NULL, SC_OPT_BIP_LOCAL},                                  \
        {"bip-broadcast", required_argument, NULL, SC_OPT_BIP_BROADCAST},                          \
        {"bip-broadcast-count", required_argument, NULL, SC_OPT_BIP_BROADCAST_COUNT},              \
        {"dnet", required_argument, NULL, SC_OPT_DNET},                                            \
        {"dadr", required_argument, NULL, SC_OPT_DADR},                                            \
        {"help", no_argument, NULL, SC_OPT_HELP}

#define SC_TOOL_OPTIONS_HELP                                                                       \
    "connection (or a profile, see docs/client.md):\n"                                            \
    "      --hub URI             primary hub, wss://HOST:PORT[/PATH]\n"                            \
    "      --failover URI        failover hub\n"                                                   \
    "      --cert FILE           this tool's operational certificate (PEM)\n"                      \
    "      --key FILE            its private key (PEM)\n"                                          \
    "      --ca FILE             issuer (CA) certificate; twice for rollover\n"                    \
    "      --profile FILE        JSON profile with hub, failover, cert, key, ca,\n"                \
    "                            insecure_plaintext, timeout (default: $BACSC_PROFILE)\n"          \
    "      --insecure-plaintext  allow ws:// URIs (debugging only)\n"                              \
    "      --timeout S           give up after S seconds (default %s)\n"                           \
    "      --direct              open a direct connection to the device (Address-\n"              \
    "                            Resolution through the hub) and talk over it; falls\n"          \
    "                            back to the hub when the device does not accept one\n"          \
    "BACnet/IP instead of BACnet/SC, and devices behind routers (docs/router.md):\n"          \
    "      --bip-local ADDR:PORT talk BACnet/IP from this UDP address (no hub, no\n"             \
    "                            certificates); DEVICE may then be a target ADDR:PORT\n"        \
    "      --bip-broadcast ADDR:PORT  where B/IP broadcasts go (default the subnet's)\n"          \
    "      --bip-broadcast-count N    send broadcasts to N consecutive ports (one host)\n"       \
    "      --dnet N              the device is on network N behind a router: Who-Is as\n"       \
    "                            a remote broadcast to N (65535: global broadcast)\n"           \
    "      --dadr MAC            with a target ADDR:PORT (the router): the device's MAC\n"      \
    "                            on network N (hex octets aa:bb:.. or A.B.C.D:PORT)\n"          \
    "  -j, --json                print JSON\n"                                                     \
    "      --log-level LEVEL     error, warn (default), info, debug, trace\n"                      \
    "  -h, --help                this text\n"

typedef struct sc_tool sc_tool;
typedef void (*sc_tool_fn)(sc_tool *t);
typedef void (*sc_tool_found_fn)(sc_tool *t, const bacsc_client_device *d);

struct sc_tool {
    const char *prog;
    sc_opts o;
    bool json;
    double default_timeout;
    bacsc_loop *loop;
    bacsc_tls_ctx *tls;
    bacsc_sc_node *node;
    bacsc_client *cl;
    bacsc_timer tick, deadline, stop_wait, whois_retry;
    int rc;
    bool joined, finishing;
    uint64_t stop_started;
    sc_tool_fn ready;            /* called once the hub connection is up */
    sc_tool_fn on_deadline;      /* NULL: "timed out" error, EXIT_UNAVAILABLE */
    const char *waiting_for;     /* for the timeout message */
    /* device lookup */
    uint32_t want_instance;
    bool resolving;
    sc_tool_found_fn found;
    /* --direct: wait for the direct connection before `found` */
    bool direct;
    bacsc_client_device direct_dev;
    uint64_t direct_until;
    bacsc_timer direct_wait;
    /* BACnet/IP (--bip-local) and routed devices (--dnet/--dadr) */
    bacsc_bip_link *bip;
    const char *bip_local, *bip_broadcast;
    unsigned long bip_broadcast_count;
    long dnet;                   /* -1: none */
    const char *dadr;
    bool has_target;             /* DEVICE was ADDR:PORT */
    bacsc_address target;
    /* I-Am hook (whois) */
    void (*on_iam)(sc_tool *t, const bacsc_client_device *d);
    void *user;
};

/* Initialise; `default_timeout` in seconds. */
void sc_tool_init(sc_tool *t, const char *prog, double default_timeout);
/* Handle a common option. Returns 1 (handled), 0 (not a common option),
 * -1 (bad value; message printed). SC_OPT_HELP is not handled. */
int sc_tool_opt(sc_tool *t, int opt, const char *arg);
/* After flags: load the profile (--profile or $BACSC_PROFILE) and check.
 * Returns 0 or an exit code. */
int sc_tool_prepare(sc_tool *t, int argc, char **argv);
/* In a getopt loop: handle a common option via sc_tool_opt(); on an unknown
 * option print the one-line error. Returns 0 (handled) or EXIT_USAGE. */
int sc_tool_opt_or_usage(sc_tool *t, int opt, const char *arg, int argc, char **argv);
/* Parse the DEVICE positional: an instance into t->want_instance, or with
 * --bip-local a target A.B.C.D:PORT (the device, or with --dnet/--dadr the
 * router in front of it). Returns 0 or EXIT_USAGE (message printed). */
int sc_tool_parse_device(sc_tool *t, const char *arg);
/* Parse an OBJECT positional (TYPE,INSTANCE). Returns 0 or EXIT_USAGE
 * (message printed). */
int sc_tool_parse_object(const sc_tool *t, const char *arg, bacsc_object_id *oid);
/* The common tail of a client tool: sc_tool_prepare(), then run with `user`
 * and `ready`, then clean up. Returns the exit code. */
int sc_tool_main(sc_tool *t, int argc, char **argv, void *user, sc_tool_fn ready);
/* Join, call t->ready when connected, run until sc_tool_finish(). Returns
 * the exit code. */
int sc_tool_run(sc_tool *t);
/* End with exit code rc (disconnects from the hub first). */
void sc_tool_finish(sc_tool *t, int rc);
/* Find device `instance` (Who-Is, repeated each second; a remote broadcast
 * with --dnet) and call found; with a target ADDR:PORT call found at once. */
void sc_tool_resolve(sc_tool *t, uint32_t instance, sc_tool_found_fn found);
/* One-line text of a failed request result; exit code for it. */
int sc_tool_result_error(sc_tool *t, const bacsc_client_result *r);
/* Where a Who-Is goes: NULL (local broadcast) or the remote/global
 * broadcast of --dnet, into *buf. */
const bacsc_address *sc_tool_whois_dest(const sc_tool *t, bacsc_address *buf);
/* Is traffic to `vmac` going over a direct connection now? */
bool sc_tool_is_direct(const sc_tool *t, const uint8_t *vmac);
/* Current loop time. */
uint64_t sc_tool_now(const sc_tool *t);
void sc_tool_cleanup(sc_tool *t);

#endif
