/* support_tshark.c — see support_tshark.h. */
#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>

#include <cmocka.h>

#include "support_tshark.h"

/* tshark: dissect user DLT 147 as BVLC-SC. */
#define TSK_SC_DLT "-o 'uat:user_dlts:\"User 0 (DLT=147)\",\"bscvlc\",\"0\",\"\",\"0\",\"\"'"

bool tsk_have_tools(void)
{
    return system("command -v tshark >/dev/null 2>&1 && command -v text2pcap >/dev/null 2>&1") ==
           0;
}

void tsk_hexdump(FILE *f, const uint8_t *p, size_t len)
{
    for (size_t off = 0; off < len; off += 16) {
        fprintf(f, "%06zx", off);
        for (size_t k = off; k < len && k < off + 16; k++)
            fprintf(f, " %02x", p[k]);
        fputc('\n', f);
    }
}

void tsk_text2pcap(bool sc, const char *hex, const char *pcap)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "text2pcap -q %s %s %s", sc ? "-l 147" : "-u 47808,47808", hex,
             pcap);
    assert_int_equal(system(cmd), 0);
}

FILE *tsk_fields(bool sc, const char *pcap, const char *const *fields, size_t n)
{
    char cmd[4096];
    int k = snprintf(cmd, sizeof cmd,
                     "tshark -r %s %s -T fields -E separator='|' -E occurrence=a -E aggregator=,",
                     pcap, sc ? TSK_SC_DLT : "");
    for (size_t i = 0; i < n; i++)
        k += snprintf(cmd + k, sizeof cmd - (size_t)k, " -e %s", fields[i]);
    assert_true(k > 0 && (size_t)k < sizeof cmd - 16);
    snprintf(cmd + k, sizeof cmd - (size_t)k, " 2>/dev/null");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    return p;
}

int tsk_rmrf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
        return -1;
    }
    return 0;
}
