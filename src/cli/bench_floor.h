/*
 * bench_floor.h — the physical floors a benchmark figure is compared with,
 * measured in the same run on the same machine (bench/README.md, "Floors").
 *
 * Every figure a benchmark prints goes next to its floor and the ratio, so a
 * number means the same on any machine:
 *
 *   loopback TCP   a plain ping-pong between this process and a forked echo
 *                  process (blocking sockets, TCP_NODELAY): p50/p99 of
 *                  `trips` round trips per sample
 *   socket r/w     one write(2) and one read(2) of N octets through a loopback
 *                  TCP connection inside one process (the kernel's share of
 *                  relaying one message)
 *   syscall        the cheapest system call (getppid)
 *   crypto         via EVP, for the algorithms bacsc negotiates (TLS 1.3
 *                  TLS_AES_128_GCM_SHA256, P-256): ECDH P-256 key generation
 *                  and derive, ECDSA P-256 sign and verify of a SHA-256
 *                  digest, AES-GCM seal of one TLS record of N octets
 *                  (IV set, 5-octet AAD, tag), SHA-256 of N octets
 *
 * Timed functions run the operation for about `seconds` in 5 slices and
 * report the best slice (like the other benchmarks: on a shared machine some
 * slice runs uninterrupted). All costs are per operation; they return a
 * negative value when the operation could not be set up.
 *
 * Ratio convention: value and floor are both costs (time per operation, or
 * per message): ratio = value / floor, ≥ 1 when the floor is a true floor.
 * For rates, pass the time per operation (1e6 / rate µs).
 */
#ifndef BACSC_CLI_BENCH_FLOOR_H
#define BACSC_CLI_BENCH_FLOOR_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

typedef struct bench_floor_lat {
    unsigned long samples;
    double p50_us, p99_us, mean_us, min_us;
    /* CPU time (user + system, from wait4) of the echo process per message
     * it echoed: what a plain process pays to relay one message at a rate
     * where it sleeps between messages (wake-up, read(2), write(2)) */
    double echo_cpu_us;
} bench_floor_lat;

/* Loopback TCP ping-pong of `size` octets (1..65536) with a forked echo
 * process; one sample = `trips` consecutive round trips (2 for the floor of
 * a round trip through a hub: A → hub → B → hub → A). Runs for `seconds`
 * or `max_samples` samples, whichever ends first. Returns 0 or -1. */
int bench_floor_tcp_rtt(size_t size, unsigned trips, double seconds, unsigned long max_samples,
                        bench_floor_lat *out);

/* One write(2) + one read(2) of `size` octets through loopback TCP, µs. */
double bench_floor_sock_rw_us(size_t size, double seconds);
/* The cheapest system call, ns. */
double bench_floor_syscall_ns(double seconds);

/* Crypto per operation, µs (EVP, default library context). */
double bench_floor_ec_keygen_p256_us(double seconds);
double bench_floor_ecdh_p256_us(double seconds); /* derive only */
double bench_floor_ecdsa_p256_sign_us(double seconds);
double bench_floor_ecdsa_p256_verify_us(double seconds);
/* Seal (encrypt + tag) one TLS 1.3 record carrying `octets` of plaintext
 * (key_bits 128 or 256). bench_floor_aes_gcm_open_us: decrypt + check. */
double bench_floor_aes_gcm_us(int key_bits, size_t octets, double seconds);
double bench_floor_aes_gcm_open_us(int key_bits, size_t octets, double seconds);
double bench_floor_sha256_us(size_t octets, double seconds);

/* The hub's floor for relaying one message whose TLS record carries
 * `record_octets` of plaintext: open it, seal it again, one read(2) and one
 * write(2). µs. */
double bench_floor_relay_us(size_t record_octets, double seconds);

/* One TLS 1.3 hop through OpenSSL's own record layer: SSL_write of `octets`
 * (1..16384) by one end and SSL_read by the other (TLS_AES_128_GCM_SHA256,
 * in-memory BIO pair, a throwaway P-256 certificate), CPU µs. Not a floor of
 * the machine but of the TLS library: what each hop of a round trip costs
 * before any of our code runs. -1 on failure. */
double bench_floor_tls_record_us(size_t octets, double seconds);

/* value / floor (0 when floor ≤ 0). */
double bench_floor_ratio(double value, double floor);
/* One text line: "  FIGURE  VALUE UNIT   floor FLOOR UNIT   ratio R×". */
void bench_floor_print(FILE *f, const char *figure, double value, double floor, const char *unit);
/* {"value": v, "floor": f, "ratio": v/f, "unit": unit} (new reference). */
json_t *bench_floor_json(double value, double floor, const char *unit);

/* The crypto floors of a TLS 1.3 P-256 handshake and of records, measured
 * together (about `seconds` each). */
typedef struct bench_floor_crypto {
    double ec_keygen_us, ecdh_us, ecdsa_sign_us, ecdsa_verify_us;
    double sha256_64_us, aes128_gcm_64_us, aes128_gcm_1400_us;
    /* What the server side of one full mutual-auth handshake needs at least:
     * keygen + derive (ECDHE), one sign (CertificateVerify), one verify (the
     * client's CertificateVerify) + one verify (the client certificate's
     * signature). A resumed (psk_dhe_ke) handshake: keygen + derive, and one
     * verify when the certificate in the ticket is checked again. */
    double full_handshake_us, resumed_handshake_us;
} bench_floor_crypto;
void bench_floor_crypto_measure(double seconds, bench_floor_crypto *c);
void bench_floor_crypto_print(FILE *f, const bench_floor_crypto *c);
json_t *bench_floor_crypto_json(const bench_floor_crypto *c);

#endif
