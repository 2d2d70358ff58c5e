/*
 * bench_codec.c — nanoseconds per operation of the wire codecs.
 *
 * Each row of `cases` is one named operation: a setup function that
 * prepares its input once, and a run function that performs the operation
 * once and returns a value that depends on the result (summed into a
 * volatile sink so the compiler cannot drop the work). Add a row to measure
 * another codec (e.g. ReadProperty encode/decode).
 *
 *   bench_codec [ITERATIONS [RUNS]]   default 1,000,000 iterations x 25 runs
 *
 * Prints: operation  ns/op  ops/s  floor  ratio (floor: copying the same
 * octets through the same harness). Uses CLOCK_MONOTONIC; each run times
 * ITERATIONS calls and the best run is reported: short runs, many of them,
 * so that on a shared machine some run goes uninterrupted by other
 * processes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bacsc/bvlc.h"

typedef struct bench_case {
    const char *name;
    void (*setup)(void);
    uint64_t (*run)(uint64_t i);
} bench_case;

/* ---- BVLC-SC Encapsulated-NPDU with destination VMAC ---------------------- */

static const uint8_t npdu[] = {0x01, 0x04, 0x00, 0x05, 0x01, 0x0c, 0x0c, 0x02, 0x00,
                               0x03, 0xe9, 0x19, 0x4d}; /* ReadProperty request */
static bacsc_bvlc_msg enc_msg;
static uint8_t enc_out[64];
static uint8_t dec_in[64];
static size_t dec_len;
static bacsc_bvlc_msg dec_msg;

static void setup_npdu(void)
{
    bacsc_bvlc_init(&enc_msg, BACSC_BVLC_ENCAPSULATED_NPDU, 1);
    enc_msg.has_dest = true;
    memcpy(enc_msg.dest.b, "\x11\x22\x33\x44\x55\x66", 6);
    enc_msg.payload = npdu;
    enc_msg.payload_len = sizeof npdu;
    int n = bacsc_bvlc_encode(&enc_msg, dec_in, sizeof dec_in);
    if (n < 0) {
        fprintf(stderr, "setup failed\n");
        exit(1);
    }
    dec_len = (size_t)n;
    if (dec_len != 23) {
        fprintf(stderr, "setup: expected 23 octets, got %zu\n", dec_len);
        exit(1);
    }
}

static uint64_t run_bvlc_encode(uint64_t i)
{
    enc_msg.message_id = (uint16_t)i; /* vary the input a little */
    int n = bacsc_bvlc_encode(&enc_msg, enc_out, sizeof enc_out);
    return (uint64_t)n + enc_out[3];
}

static uint64_t run_bvlc_decode(uint64_t i)
{
    dec_in[3] = (uint8_t)i;
    int rc = bacsc_bvlc_decode(dec_in, dec_len, &dec_msg, NULL);
    return (uint64_t)rc + dec_msg.message_id + dec_msg.payload_len;
}

/* The floor of both: copying the same octets through the same harness. */
static uint64_t run_copy(uint64_t i)
{
    dec_in[3] = (uint8_t)i;
    memcpy(enc_out, dec_in, 23); /* constant size: inlined moves, as the codec's own */
    return (uint64_t)enc_out[3] + dec_len;
}

/* ---- the table: add rows here ---------------------------------------------- */

static const bench_case cases[] = {
    {"bvlc-sc encode Encapsulated-NPDU (dest VMAC)", setup_npdu, run_bvlc_encode},
    {"bvlc-sc decode Encapsulated-NPDU (dest VMAC)", setup_npdu, run_bvlc_decode},
};

static const bench_case floor_case = {"floor: copy the same octets", setup_npdu, run_copy};

static volatile uint64_t sink;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double best_ns(const bench_case *bc, uint64_t iters, int runs)
{
    bc->setup();
    double best = 1e300;
    for (int rep = 0; rep < runs; rep++) {
        uint64_t acc = 0;
        double t0 = now_ns();
        for (uint64_t i = 0; i < iters; i++)
            acc += bc->run(i);
        double dt = now_ns() - t0;
        sink += acc;
        if (dt < best)
            best = dt;
    }
    return best / (double)iters;
}

int main(int argc, char **argv)
{
    uint64_t iters = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000ULL;
    int runs = argc > 2 ? atoi(argv[2]) : 25;
    if (iters == 0 || runs <= 0) {
        fprintf(stderr, "usage: bench_codec [ITERATIONS [RUNS]]\n");
        return 2;
    }
    double floor_ns = best_ns(&floor_case, iters, runs);
    printf("%-48s %10s %14s %10s %7s\n", "operation", "ns/op", "ops/s", "floor ns", "ratio");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double ns = best_ns(&cases[c], iters, runs);
        printf("%-48s %10.2f %14.0f %10.2f %6.1f×\n", cases[c].name, ns, 1e9 / ns, floor_ns,
               ns / floor_ns);
    }
    printf("floor: copying the %zu encoded octets (inlined) through the same harness "
           "(indirect call, loop, sink), best of as many runs\n",
           dec_len);
    return 0;
}
