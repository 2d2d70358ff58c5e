/*
 * bench_floor — print the machine's floors (src/cli/bench_floor.h): loopback
 * TCP round trips between two processes, socket read/write, a system call,
 * and the EVP crypto costs of the algorithms bacsc uses.
 *
 *   bench_floor [SECONDS_PER_FIGURE] [--json]     default 0.5 s
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench_floor.h"

int main(int argc, char **argv)
{
    double sec = 0.5;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if ((sec = atof(argv[i])) <= 0) {
            fprintf(stderr, "usage: bench_floor [SECONDS_PER_FIGURE] [--json]\n");
            return 2;
        }
    }
    bench_floor_lat r1, r2, r1400;
    if (bench_floor_tcp_rtt(64, 1, sec, 1000000, &r1) != 0 ||
        bench_floor_tcp_rtt(64, 2, sec, 1000000, &r2) != 0 ||
        bench_floor_tcp_rtt(1400, 1, sec, 1000000, &r1400) != 0) {
        fprintf(stderr, "bench_floor: loopback TCP ping-pong failed\n");
        return 1;
    }
    double rw64 = bench_floor_sock_rw_us(64, sec), rw1400 = bench_floor_sock_rw_us(1400, sec);
    double sys = bench_floor_syscall_ns(sec);
    double open64 = bench_floor_aes_gcm_open_us(128, 64, sec);
    double relay64 = bench_floor_relay_us(80, sec);
    double tls80 = bench_floor_tls_record_us(80, sec);
    bench_floor_crypto c;
    bench_floor_crypto_measure(sec, &c);
    if (json) {
        json_t *j = json_pack(
            "{s:{s:f,s:f,s:I,s:f},s:{s:f,s:f,s:I},s:{s:f,s:f,s:I},s:f,s:f,s:f,s:f,s:f,s:f,s:o}",
            "tcp_rtt_64", "p50_us", r1.p50_us, "p99_us", r1.p99_us, "samples",
            (json_int_t)r1.samples, "echo_cpu_us", r1.echo_cpu_us, "tcp_2rtt_64", "p50_us", r2.p50_us, "p99_us", r2.p99_us,
            "samples", (json_int_t)r2.samples, "tcp_rtt_1400", "p50_us", r1400.p50_us, "p99_us",
            r1400.p99_us, "samples", (json_int_t)r1400.samples, "sock_rw_64_us", rw64,
            "sock_rw_1400_us", rw1400, "syscall_ns", sys, "aes128_gcm_open_64_us", open64,
            "relay_80_us", relay64, "tls_record_80_us", tls80, "crypto", bench_floor_crypto_json(&c));
        char *s = json_dumps(j, JSON_INDENT(2));
        puts(s);
        free(s);
        json_decref(j);
        return 0;
    }
    printf("loopback TCP between two processes (TCP_NODELAY, blocking)\n");
    printf("  one round trip, 64 octets     p50 %7.1f µs  p99 %7.1f µs  (%lu samples)\n",
           r1.p50_us, r1.p99_us, r1.samples);
    printf("  two round trips, 64 octets    p50 %7.1f µs  p99 %7.1f µs  (%lu samples)\n",
           r2.p50_us, r2.p99_us, r2.samples);
    printf("  one round trip, 1400 octets   p50 %7.1f µs  p99 %7.1f µs  (%lu samples)\n",
           r1400.p50_us, r1400.p99_us, r1400.samples);
    printf("  echo process CPU per message (wake-up, read, write): %.2f µs\n", r1.echo_cpu_us);
    printf("one write(2) + read(2) through loopback TCP: 64 octets %.2f µs, 1400 octets %.2f µs\n",
           rw64, rw1400);
    printf("cheapest system call (getppid): %.0f ns\n", sys);
    printf("AES-128-GCM open of a 64-octet record: %.2f µs\n", open64);
    printf("relay floor for an 80-octet record (open + seal + read + write): %.2f µs\n", relay64);
    printf("OpenSSL's TLS 1.3 record layer, 80 octets (SSL_write + SSL_read, memory BIOs): %.2f µs\n",
           tls80);
    bench_floor_crypto_print(stdout, &c);
    return 0;
}
