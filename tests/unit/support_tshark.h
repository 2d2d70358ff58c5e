/*
 * support_tshark.h — what the Wireshark cross-checks share: whether tshark
 * and text2pcap are installed, frames written as a text2pcap hex dump,
 * text2pcap for B/IP (UDP 47808) or BVLC-SC (user DLT 147, mapped to the
 * "bscvlc" dissector when tshark reads it), tshark's field lines, and
 * removing the scratch directory.
 */
#ifndef BACSC_TEST_SUPPORT_TSHARK_H
#define BACSC_TEST_SUPPORT_TSHARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* tshark and text2pcap are both on the PATH. */
bool tsk_have_tools(void);
/* One frame of `len` octets in text2pcap's format (offset, 16 octets a line). */
void tsk_hexdump(FILE *f, const uint8_t *p, size_t len);
/* text2pcap `hex` into `pcap`: BVLC-SC frames on user DLT 147 when `sc`,
 * else UDP 47808 datagrams (B/IP). Asserts it worked. */
void tsk_text2pcap(bool sc, const char *hex, const char *pcap);
/* tshark -T fields over `pcap` (BVLC-SC on DLT 147 when `sc`): one line per
 * frame, the `n` fields separated by '|', repeated occurrences by ','.
 * Returns the popen stream (pclose it). */
FILE *tsk_fields(bool sc, const char *pcap, const char *const *fields, size_t n);
/* rm -rf `dir`: 0, or -1 (said on stderr). */
int tsk_rmrf(const char *dir);

#endif
