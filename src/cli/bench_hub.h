/*
 * bench_hub.h — the load engine behind `bacsc bench hub`.
 *
 * Joins a BACnet/SC hub (any implementation: only standard messages are
 * used — Connect-Request, Encapsulated-NPDU unicasts, Heartbeat, Disconnect)
 * as many nodes over TLS 1.3 WebSockets, each with its own hub connector
 * (sc_connector.h: jittered reconnect back-off), and measures:
 *
 *   throughput  2×pairs nodes; node A of each pair keeps `window` requests
 *               in flight to node B, B reflects each one to A. Every NPDU
 *               delivered by the hub counts as one relayed message; its
 *               one-way latency (send → receive, CLOCK_MONOTONIC, same
 *               process) goes into a log-linear histogram.
 *   rtt         as throughput with window 1: the round trip A → hub → B →
 *               hub → A of one small request, like a ReadProperty.
 *   connect     `connections` idle nodes: time to establish them all,
 *               optionally the hub's VmRSS growth (/proc/PID/status) and the
 *               time until all are back after the hub restarts.
 *
 * The NPDUs are valid BACnet: version 1, control 0, an
 * UnconfirmedPrivateTransfer-Request (vendor 65535, service 66) whose
 * parameter is one octet string carrying the benchmark header (magic,
 * sequence, timestamps) and padding up to `size` octets.
 */
#ifndef BACSC_CLI_BENCH_HUB_H
#define BACSC_CLI_BENCH_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/loop.h"

enum bench_hub_mode { BENCH_MODE_THROUGHPUT = 0, BENCH_MODE_RTT = 1, BENCH_MODE_CONNECT = 2 };

typedef struct bench_hub_opts {
    const char *hub_uri;
    const char *cert, *key, *ca;
    bool insecure_plaintext;
    int mode;                 /* enum bench_hub_mode */
    unsigned pairs;           /* throughput/rtt: pairs of nodes */
    size_t size;              /* NPDU octets (BENCH_HUB_MIN_SIZE..1497) */
    double duration_s;        /* measurement (connect mode: hold time) */
    unsigned connections;     /* extra idle nodes (connect mode: all nodes) */
    double rate;              /* relayed messages/s target; 0 = as fast as possible */
    unsigned window;          /* requests in flight per pair */
    unsigned concurrency;     /* connection attempts in flight while establishing */
    double connect_timeout_s; /* give up establishing after this */
    double msg_timeout_s;     /* a request unanswered this long counts as a timeout */
    long hub_pid;             /* connect mode: read this process's VmRSS (0: no) */
    bool restart_wait;        /* connect mode: wait for a hub restart, time the reconnect */
    double restart_timeout_s; /* give up waiting for the restart / re-establishment */
    double connect_wait_s;    /* nodes' SC_Connect_Wait_Timeout (0: connector default 10 s) */
    double reconnect_min_s;   /* SC_Minimum_Reconnect_Time (0: default 2 s) */
    double reconnect_max_s;   /* SC_Maximum_Reconnect_Time (0: default 600 s) */
    bool quiet;               /* no progress lines on stderr */
    bool no_resume;           /* never offer a TLS session (every handshake is full) */
} bench_hub_opts;

#define BENCH_HUB_MIN_SIZE 48
#define BENCH_HUB_MAX_SIZE 1497

/* Latency summary in microseconds (from a log-linear histogram, ±1 %). */
typedef struct bench_latency {
    uint64_t count;
    double p50, p90, p99, p999, max, mean;
} bench_latency;

typedef struct bench_hub_result {
    unsigned nodes;              /* nodes started */
    unsigned connected;          /* connected when establishing ended */
    double establish_s;          /* first attempt → last Connect-Accept */
    bench_latency connect_time;  /* per node: open → Connect-Accept */
    double measured_s;           /* length of the measurement window */
    uint64_t sent;               /* NPDUs sent in the window (requests + reflections) */
    uint64_t received;           /* NPDUs received in the window */
    double relayed_per_s;        /* received / measured_s */
    double mbit_per_s;           /* NPDU octets relayed, Mbit/s */
    bench_latency one_way;       /* send → delivery through the hub */
    bench_latency rtt;           /* request → reflection back at A */
    /* errors */
    uint64_t naks;               /* BVLC-Result NAKs received */
    uint64_t disconnects;        /* established connections lost */
    uint64_t timeouts;           /* requests unanswered for msg_timeout_s */
    uint64_t send_refused;       /* connector refused (FIFO full / not connected) */
    uint64_t connect_failures;   /* connection attempts that failed */
    uint64_t bad_payload;        /* NPDUs that were not ours / corrupted */
    /* connect mode */
    long hub_rss_before_kb, hub_rss_after_kb; /* -1 when not measured */
    /* throughput/rtt with --hub-pid: the hub's read(2)/write(2)-family system
     * calls (/proc/PID/io syscr, syscw) and CPU time (/proc/PID/stat) over the
     * measurement window */
    bool hub_counted;
    uint64_t hub_syscr, hub_syscw;
    double hub_cpu_s;
    /* throughput/rtt: the same for this process, the load generator (its
     * nodes' side of every message: half of the TLS hops of a round trip) */
    bool gen_counted;
    uint64_t gen_syscr, gen_syscw;
    double gen_cpu_s;
    /* with --hub-pid: the hub's CPU time while the nodes were established
     * (TCP + TLS + upgrade + Connect-Request of every node) */
    double hub_cpu_establish_s;
    double hub_kb_per_conn;
    bool restart_measured;
    unsigned restart_lost;       /* nodes that lost their connection */
    unsigned restart_back;       /* of those, re-established in time */
    double restart_s;            /* first loss → last re-established */
    double restart_loss_spread_s; /* first loss → last loss (the hub's stop as the nodes saw it) */
    double gen_cpu_establish_s;  /* the generator's own CPU: while establishing, */
    double gen_cpu_restart_s;    /* and while waiting for the nodes to come back */
    /* TLS handshakes completed (client side) and how many resumed a session */
    uint64_t tls_handshakes, tls_resumed;                 /* whole run */
    uint64_t restart_tls_handshakes, restart_tls_resumed; /* during the restart wait */
    /* during the restart wait: connection attempts, and those whose connect
     * wait ran out — still waiting for one of the generator's `concurrency`
     * slots (nothing sent), in TCP/TLS/upgrade, or waiting for Connect-Accept */
    uint64_t restart_attempts;
    uint64_t restart_expired_queued, restart_expired_handshake, restart_expired_accept;
} bench_hub_result;

/* One turn of the generator's event loop: wait up to slice_us for I/O, run
 * what is ready, and go on (without waiting) while the wait may have left
 * fds ready (at most 64 more iterations). The caller expires the nodes'
 * connect waits after this, so a node whose answer has arrived is not given
 * up because one thread plays all the nodes and is behind; a real device
 * reads its one socket when the answer comes. */
void bench_loop_turn(bacsc_loop *loop, uint64_t slice_us);

/* The NPDU the benchmark sends for `size` octets (zero timestamps) into buf
 * (≥ BENCH_HUB_MAX_SIZE + 16). Returns its length (size, or 269 for 267/268
 * which have no canonical encoding), or -1 if size is out of range. */
int bench_hub_npdu(size_t size, uint8_t *buf);

/* Run one benchmark. Writes a one-line reason to err on failure.
 * Returns 0 (figures in *res, possibly with errors counted) or -1
 * (setup failed: TLS files, URI, nothing connected). */
int bench_hub_run(const bench_hub_opts *o, bench_hub_result *res, char *err, size_t errlen);

#endif
