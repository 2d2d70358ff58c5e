/*
 * bench_bacnet.c — ns per encode/decode of common BACnet messages with the
 * bacsc codecs (tags/NPDU/APDU/services): a ReadProperty request, a
 * ReadProperty-ACK carrying a Real present-value, and a 1400-octet NPDU.
 *
 *   build/bench/bench_bacnet [iterations]      (default 1,000,000)
 *
 * Each figure is the best of 15 runs of `iterations` calls (monotonic clock),
 * so it reflects the codec and not scheduler noise on a shared machine.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bacsc/apdu.h"
#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "bacsc/services.h"
#include "bacsc/tags.h"

static volatile uint64_t sink;

/* Keep the compiler from hoisting the work out of the loop. */
#define CLOBBER() __asm__ __volatile__("" ::: "memory")

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint8_t buf[2048];
static uint8_t msg_rp[64], msg_ack[64], msg_big[1400];
static size_t len_rp, len_ack;

/* ReadProperty request: NPDU header, APDU header, service, written in place. */
static int enc_rp(void)
{
    bacsc_npdu n;
    bacsc_npdu_init(&n, true);
    int h = bacsc_npdu_encode_header(buf, sizeof buf, &n);
    bacsc_apdu a;
    bacsc_apdu_init_confirmed(&a, BACSC_SERVICE_READ_PROPERTY, 1, 5);
    int ah = bacsc_apdu_encode_header(buf + h, sizeof buf - (size_t)h, &a);
    bacsc_rp_request rp = {{BACSC_OBJ_DEVICE, 1234}, BACSC_PROP_PRESENT_VALUE, false, 0};
    int s = bacsc_rp_request_encode(buf + h + ah, sizeof buf - (size_t)(h + ah), &rp);
    return h + ah + s;
}

static int dec_rp(void)
{
    bacsc_npdu n;
    bacsc_apdu a;
    bacsc_rp_request rp;
    if (bacsc_npdu_decode(msg_rp, len_rp, &n) < 0 ||
        bacsc_apdu_decode(n.payload, n.payload_len, &a, NULL) < 0 ||
        bacsc_rp_request_decode(a.data, a.data_len, &rp, NULL) < 0)
        return -1;
    return (int)rp.property;
}

/* ReadProperty-ACK with a Real present-value. */
static int enc_ack(void)
{
    bacsc_npdu n;
    bacsc_npdu_init(&n, false);
    int h = bacsc_npdu_encode_header(buf, sizeof buf, &n);
    bacsc_apdu a;
    bacsc_apdu_init_complex_ack(&a, BACSC_SERVICE_READ_PROPERTY, 1);
    int ah = bacsc_apdu_encode_header(buf + h, sizeof buf - (size_t)h, &a);
    uint8_t val[8];
    int vn = bacsc_app_encode_real(val, sizeof val, 72.3f);
    bacsc_rp_ack ack = {{BACSC_OBJ_ANALOG_VALUE, 1}, BACSC_PROP_PRESENT_VALUE, false, 0,
                        val, (size_t)vn};
    int s = bacsc_rp_ack_encode(buf + h + ah, sizeof buf - (size_t)(h + ah), &ack);
    return h + ah + s;
}

static int dec_ack(void)
{
    bacsc_npdu n;
    bacsc_apdu a;
    bacsc_rp_ack ack;
    bacsc_value v;
    if (bacsc_npdu_decode(msg_ack, len_ack, &n) < 0 ||
        bacsc_apdu_decode(n.payload, n.payload_len, &a, NULL) < 0 ||
        bacsc_rp_ack_decode(a.data, a.data_len, &ack, NULL) < 0 ||
        bacsc_value_decode(ack.value, ack.value_len, &v) < 0)
        return -1;
    return (int)v.v.real;
}

/* 1400-octet NPDU: header decode; header encode with the APDU already in
 * place (the normal zero-copy path); full encode copying the APDU. */
static int dec_big(void)
{
    bacsc_npdu n;
    if (bacsc_npdu_decode(msg_big, sizeof msg_big, &n) < 0)
        return -1;
    return (int)n.payload_len;
}

static int enc_big_header(void)
{
    bacsc_npdu n;
    bacsc_npdu_init(&n, true);
    return bacsc_npdu_encode_header(buf, sizeof buf, &n) + (int)(sizeof msg_big - 2);
}

static int enc_big_copy(void)
{
    bacsc_npdu n;
    bacsc_npdu_init(&n, true);
    n.payload = msg_big + 2;
    n.payload_len = sizeof msg_big - 2;
    return bacsc_npdu_encode(buf, sizeof buf, &n);
}

/* Floors: copying the octets an operation produces or reads, through the
 * same harness (a constant-size copy is inlined, as the codecs' own stores). */
static int floor_small(void)
{
    memcpy(buf, msg_ack, 19);
    return buf[3];
}

static int floor_big(void)
{
    memcpy(buf, msg_big + 2, 1398);
    return buf[5];
}

static double bench(int (*fn)(void), long iters)
{
    double best = 1e30;
    for (int run = 0; run < 15; run++) {
        uint64_t t0 = now_ns();
        uint64_t acc = 0;
        for (long i = 0; i < iters; i++) {
            acc += (uint64_t)fn();
            CLOBBER();
        }
        uint64_t t1 = now_ns();
        sink += acc;
        double ns = (double)(t1 - t0) / (double)iters;
        if (ns < best)
            best = ns;
    }
    return best;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 1000000;
    if (iters <= 0)
        iters = 1000000;
    /* prepare inputs with the encoders themselves */
    len_rp = (size_t)enc_rp();
    memcpy(msg_rp, buf, len_rp);
    len_ack = (size_t)enc_ack();
    memcpy(msg_ack, buf, len_ack);
    bacsc_npdu n;
    bacsc_npdu_init(&n, true);
    bacsc_npdu_encode_header(msg_big, sizeof msg_big, &n);
    for (size_t i = 2; i < sizeof msg_big; i++)
        msg_big[i] = (uint8_t)i;
    if (dec_rp() != BACSC_PROP_PRESENT_VALUE || dec_ack() != 72 || dec_big() != 1398) {
        fprintf(stderr, "bench_bacnet: self-check failed\n");
        return 1;
    }
    static const struct {
        const char *name;
        int (*fn)(void);
        bool big; /* floor: copying 1398 octets, else 19 */
    } ops[] = {
        {"encode ReadProperty request (NPDU+APDU+service)", enc_rp, false},
        {"decode ReadProperty request (NPDU+APDU+service)", dec_rp, false},
        {"encode ReadProperty-ACK Real present-value", enc_ack, false},
        {"decode ReadProperty-ACK Real present-value", dec_ack, false},
        {"encode 1400-octet NPDU header (APDU in place)", enc_big_header, false},
        {"encode 1400-octet NPDU (copying the APDU)", enc_big_copy, true},
        {"decode 1400-octet NPDU header", dec_big, false},
    };
    double fl_small = bench(floor_small, iters), fl_big = bench(floor_big, iters);
    printf("%-52s %8s %14s %9s %7s\n", "operation", "ns/op", "ops/s", "floor ns", "ratio");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        double ns = bench(ops[i].fn, iters), fl = ops[i].big ? fl_big : fl_small;
        printf("%-52s %8.1f %14.0f %9.1f %6.1f×\n", ops[i].name, ns, 1e9 / ns, fl, ns / fl);
    }
    printf("floor: copying the octets through the same harness, best of as many runs: 19 octets "
           "%.1f ns, 1398 octets %.1f ns\n",
           fl_small, fl_big);
    return 0;
}
