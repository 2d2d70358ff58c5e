/*
 * sc_cli.h — shared plumbing of the BACnet/SC commands (hub, device, whois,
 * read, readm, write, status): JSON config/profile files, TLS contexts from
 * file options, status files.
 *
 * Config and profile files are one JSON object; the keys (all optional) are
 * documented in docs/hub.md, docs/device.md and docs/client.md. Command-line
 * flags override them. Unknown keys are an error (a typo must not be
 * silently ignored).
 */
#ifndef BACSC_CLI_SC_CLI_H
#define BACSC_CLI_SC_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "bacsc/loop.h"
#include "bacsc/tls.h"

struct bacsc_sc_node;

typedef struct sc_opts {
    /* connection */
    const char *hub, *failover;
    const char *cert, *key;
    const char *ca[BACSC_TLS_MAX_ISSUERS];
    int nca;
    bool insecure_plaintext;
    const char *crl;             /* PEM CRL(s): revocation checks of the peer */
    const char *ticket_key_file; /* server: TLS session ticket keys (resumption) */
    double ticket_lifetime;      /* server: seconds (0 = default 7200) */
    /* timers in seconds (0 = default) */
    double connect_wait, disconnect_wait, heartbeat, reconnect_min, reconnect_max;
    unsigned max_bvlc, max_npdu, max_peers;
    const char *vmac, *uuid;
    /* daemon */
    const char *log_level, *status_file, *listen, *hub_listen, *name;
    long instance;  /* -1: unset */
    long av;        /* -1: unset */
    long count;     /* -1: unset */
    double timeout; /* client tools, seconds (0: default) */
    /* direct connections (device) */
    const char *dc_listen;
    const char *dc_uri[8];
    int ndc_uri;
    const char *dc_initiate;        /* "auto" | "off" | NULL */
    unsigned dc_max, dc_auto_count;
    double dc_idle, dc_auto_window;
    /* Device object identification (device; NULL / -1 = the default) */
    const char *vendor_name, *model_name, *firmware_revision, *app_version;
    const char *location, *description;
    long vendor_id;
    /* hub hardening (docs/hub.md, HARDENING); -1 / 0: default */
    long max_handshakes, handshake_threads, max_handshakes_per_address, accept_rate_per_address,
        accept_burst_per_address, control_rate;
    double first_octet_timeout, handshake_timeout;
    const char *uuid_binding;       /* "strict" | "when-present" | "off" */
    const char *metrics_listen;     /* ADDR:PORT of the Prometheus endpoint */
    json_t *root;   /* keeps config strings alive */
} sc_opts;

void sc_opts_init(sc_opts *o);
void sc_opts_free(sc_opts *o);

/* Merge a JSON config/profile file into `o` (fields already set are kept —
 * load files before parsing flags only when flags must win; see
 * sc_opts_load_then_flags()). Returns 0, or -1 with a message printed. */
int sc_opts_load(const char *prog, const char *path, sc_opts *o);

/* Find "--config FILE" / "--profile FILE" (or $BACSC_PROFILE when `env`)
 * in argv without consuming it. Returns the path or NULL. */
const char *sc_find_opt(int argc, char **argv, const char *name, const char *env);

/* Add an issuer file (--ca given twice for CA rollover). Returns 0 or -1. */
int sc_opts_add_ca(const char *prog, sc_opts *o, const char *path);

/* Parse seconds ("2", "0.5"). Returns 0 or -1 (message printed). */
int sc_parse_seconds(const char *prog, const char *opt, const char *s, double *out);
/* Parse an unsigned long in [min,max]. Returns 0 or -1 (message printed). */
int sc_parse_ulong(const char *prog, const char *opt, const char *s, unsigned long min,
                   unsigned long max, unsigned long *out);

/* The TLS configuration cert/key/ca/crl (and, for a server, the ticket
 * options) name; strings point into `o`. */
void sc_tls_config(const sc_opts *o, bool server, bacsc_tls_config *tc);

/* TLS context from cert/key/ca. Returns NULL with a message printed. */
bacsc_tls_ctx *sc_tls_ctx(const char *prog, const sc_opts *o, bool server);

/* Reload (SIGHUP) `ctx` from the certificate, key, issuer and CRL files of
 * `o` (bacsc_tls_ctx_reload: nothing changes on error). Returns 0, or -1
 * with the reason logged at error level. */
int sc_tls_reload(const char *prog, const sc_opts *o, bacsc_tls_ctx *ctx, bool server);

/* The earliest nextUpdate (Unix seconds) of the PEM CRLs in `file`; 0 when
 * none is readable or none has a nextUpdate. */
int64_t sc_crl_next_update(const char *file);

/* Check the options a node needs (hub URI, cert/key/ca unless plaintext,
 * ws:// only with insecure_plaintext). Returns 0 or -1 (message printed). */
int sc_check_node_opts(const char *prog, const sc_opts *o);

/* Write `doc` (stolen) to `path` atomically (temp file + rename, mode 0644).
 * Returns 0 or -1 (logged). */
int sc_write_json_file(const char *path, json_t *doc);

/* Raise the RLIMIT_NOFILE soft limit to the hard limit (a hub needs one
 * descriptor per connection) and log the result at info; warn when it is
 * below `want` descriptors. Returns the soft limit now in force. */
unsigned long sc_raise_nofile(const char *prog, unsigned long want);

/* Fill the hub server's hardening options (listener limits, UUID binding,
 * control-message rate) from `o`. Returns 0 or -1 (message printed). */
struct bacsc_hubd_config;
/* The uuid-binding policy of `o` (enum bacsc_sc_uuid_binding), or -1 with a
 * message printed. */
int sc_uuid_binding(const char *prog, const sc_opts *o);
int sc_hubd_hardening(const char *prog, const sc_opts *o, struct bacsc_hubd_config *hc);

/* The TLS counters of `tls` (handshakes, resumed, tickets refused) as JSON. */
json_t *sc_status_tls(const bacsc_tls_ctx *tls);

/* Seconds → µs (0 stays 0). */
uint64_t sc_us(double seconds);

/* Wall-clock ISO-8601 text for a loop timestamp (µs), into buf (≥ 32). */
char *sc_loop_time_iso(const bacsc_loop *loop, uint64_t t, char *buf, size_t cap);



#include "bacsc/bvlc.h"
/* A random RFC 4122 version-4 UUID (RAND_bytes). */
void sc_random_uuid(bacsc_uuid *u);
/* The Device UUID from a certificate's SAN "urn:uuid:…" URI. Returns 0 when
 * found, -1 otherwise (no message). */
int sc_cert_uuid(const char *cert_file, bacsc_uuid *u);

/* bacsc_sc_node_cert_refused() with our certificate file named:
 * "hub wss://h:4443 refused our certificate (node.pem): unknown issuer (180
 * tls-client-certificate-error)". */
bool sc_hub_refused_for_good(const struct bacsc_sc_node *node, const char *cert, char *msg,
                             size_t len);

/* A client node's identity from `o` (hub, cert, key, ca): the options
 * checked (sc_check_node_opts), the TLS context (sc_tls_ctx) and the Device
 * UUID of the certificate (a random one when it names none). Returns 0,
 * SC_IDENTITY_OPTIONS (incomplete options) or SC_IDENTITY_FILES (unusable
 * files), with a message printed. */
enum { SC_IDENTITY_OPTIONS = 1, SC_IDENTITY_FILES = 2 };
int sc_node_identity(const char *prog, const sc_opts *o, bacsc_tls_ctx **tls, bacsc_uuid *uuid);

#endif
