/*
 * bip_client — test helper: one BACnet request over BACnet/IP, for the
 * commissioning integration tests (until `bacsc read/write --bip` exist).
 *
 *   bip_client --to A.B.C.D:PORT [--bind ADDR:PORT] [--timeout MS] [--login PASSWORD]
 *              OP ARGS...
 *     --login PW                    first DeviceCommunicationControl(enable, PW):
 *                                   opens a commissioning session for this source
 *     read OBJ PROP                 print the value (bacsc_value_format)
 *     write OBJ PROP TYPE VALUE     TYPE: bool|enum|unsigned|string
 *     csr OUT.pem                   Command 8 on network-port,1, then
 *                                   AtomicReadFile file,4 → OUT.pem
 *     put FILE-INSTANCE PATH        AtomicWriteFile PATH at 0 (500-octet chunks)
 *     getfile FILE-INSTANCE OUT     AtomicReadFile the whole file
 *     reinit STATE [PASSWORD]       ReinitializeDevice (7 = activate-changes)
 *     dcc PASSWORD                  DeviceCommunicationControl(enable, PASSWORD)
 *     whois [COUNT]                 Who-Is broadcast to COUNT consecutive
 *                                   ports from --to; prints "iam INSTANCE ADDR"
 *
 * Exit: 0 ok, 1 BACnet error/reject/abort ("error CLASS CODE" on stdout),
 * 2 usage, 3 timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/bip_link.h"
#include "bacsc/client.h"
#include "bacsc/device.h"
#include "bacsc/error.h"
#include "bacsc/value.h"

static bacsc_client *cl;
static bacsc_loop *loop;
static int done_count;
static bacsc_client_result res;
static uint8_t ack[1600];

static void on_done(void *user, const bacsc_client_result *r)
{
    (void)user;
    res = *r;
    if (r->ack_len <= sizeof ack && r->ack)
        memcpy(ack, r->ack, r->ack_len);
    res.ack = ack;
    done_count++;
}

static void on_recv(void *user, bacsc_bip_link *link, const bacsc_address *src,
                    const uint8_t *npdu, size_t len, bool broadcast, uint64_t now)
{
    (void)user;
    (void)link;
    (void)broadcast;
    bacsc_client_handle_npdu(cl, src, npdu, len, now);
}

static void on_iam(void *user, const bacsc_client_device *d)
{
    (void)user;
    char a[BACSC_ADDRESS_STRLEN];
    printf("iam %u %s\n", (unsigned)d->instance,
           bacsc_address_format(&d->address, BACSC_DATALINK_BIP, a, sizeof a));
}

/* Run the loop until `want` completions (or the deadline). */
static int wait_done(int want, uint64_t timeout_us)
{
    uint64_t end = bacsc_loop_update_time(loop) + timeout_us;
    while (done_count < want) {
        uint64_t now = bacsc_loop_update_time(loop);
        if (now >= end)
            return 3;
        uint64_t next = bacsc_client_expiry(cl);
        uint64_t wait = end - now;
        if (next != UINT64_MAX && next > now && next - now < wait)
            wait = next - now;
        bacsc_loop_run_once(loop, wait > 20000 ? 20000 : wait);
        bacsc_client_handle_expiry(cl, bacsc_loop_update_time(loop));
    }
    if (res.outcome == BACSC_CLIENT_SIMPLE_ACK || res.outcome == BACSC_CLIENT_COMPLEX_ACK)
        return 0;
    if (res.outcome == BACSC_CLIENT_ERROR)
        printf("error %u %u\n", res.error_class, res.error_code);
    else if (res.outcome == BACSC_CLIENT_TIMEOUT)
        return 3;
    else
        printf("failed %u %u\n", res.outcome, res.reason);
    return 1;
}

static int encode_value(const char *type, const char *v, uint8_t *b, size_t cap)
{
    if (strcmp(type, "bool") == 0)
        return bacsc_app_encode_boolean(b, cap, strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
    if (strcmp(type, "enum") == 0)
        return bacsc_app_encode_enumerated(b, cap, (uint32_t)strtoul(v, NULL, 0));
    if (strcmp(type, "unsigned") == 0)
        return bacsc_app_encode_unsigned(b, cap, strtoull(v, NULL, 0));
    if (strcmp(type, "string") == 0)
        return bacsc_app_encode_char_string(b, cap, v, strlen(v));
    return -1;
}

static int do_write(const bacsc_address *to, bacsc_object_id oid, uint32_t prop,
                    const uint8_t *v, size_t n, uint64_t tmo)
{
    bacsc_wp_request wp;
    memset(&wp, 0, sizeof wp);
    wp.object = oid;
    wp.property = prop;
    wp.value = v;
    wp.value_len = n;
    int want = done_count + 1;
    if (bacsc_client_write_property(cl, to, &wp, on_done, NULL, bacsc_loop_now(loop)) < 0)
        return 2;
    return wait_done(want, tmo);
}

static uint8_t *read_file(const bacsc_address *to, uint32_t inst, size_t *len, int *rc,
                          uint64_t tmo)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    for (;;) {
        bacsc_arf_request r = {{BACSC_OBJ_FILE, inst}, BACSC_FILE_STREAM, (int32_t)n, 1000};
        int want = done_count + 1;
        if (bacsc_client_atomic_read_file(cl, to, &r, on_done, NULL, bacsc_loop_now(loop)) < 0) {
            *rc = 2;
            break;
        }
        if ((*rc = wait_done(want, tmo)) != 0)
            break;
        bacsc_arf_ack a;
        if (bacsc_arf_ack_decode(res.ack, res.ack_len, &a, NULL) < 0) {
            *rc = 1;
            break;
        }
        buf = realloc(buf, n + a.data_len + 1);
        memcpy(buf + n, a.data, a.data_len);
        n += a.data_len;
        if (a.end_of_file || a.data_len == 0) {
            *len = n;
            return buf;
        }
    }
    free(buf);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *to_s = NULL, *bind_s = "127.0.0.1:0", *login = NULL;
    uint64_t tmo = 5000000;
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "--to") == 0)
            to_s = argv[i + 1];
        else if (strcmp(argv[i], "--bind") == 0)
            bind_s = argv[i + 1];
        else if (strcmp(argv[i], "--timeout") == 0)
            tmo = strtoull(argv[i + 1], NULL, 10) * 1000;
        else if (strcmp(argv[i], "--login") == 0)
            login = argv[i + 1];
    }
    bacsc_bip_addr to_ip;
    if (to_s == NULL || i >= argc || bacsc_bip_addr_parse(to_s, 47808, &to_ip) != BACSC_OK) {
        fprintf(stderr, "usage: bip_client --to ADDR:PORT OP ARGS...\n");
        return 2;
    }
    bacsc_address to = bacsc_bip_addr_to_address(&to_ip);
    const char *op = argv[i++];
    loop = bacsc_loop_new();
    bacsc_bip_link_config lc;
    memset(&lc, 0, sizeof lc);
    if (bacsc_bip_addr_parse(bind_s, 0, &lc.bind) != BACSC_OK)
        return 2;
    lc.broadcast = to_ip;
    lc.recv = on_recv;
    if (strcmp(op, "whois") == 0)
        lc.broadcast_port_count = i < argc ? (unsigned)atoi(argv[i]) : 1;
    bacsc_bip_link *link;
    if (bacsc_bip_link_new(loop, &lc, &link) != BACSC_OK) {
        perror("bip_client: socket");
        return 2;
    }
    bacsc_client_config cc;
    memset(&cc, 0, sizeof cc);
    cc.link = bacsc_bip_link_datalink(link);
    cc.apdu_timeout_us = 1000000;
    cc.on_iam = on_iam;
    bacsc_client_new(&cc, &cl);
    int rc = 2;
    if (login || strcmp(op, "dcc") == 0) {
        const char *pw = login ? login : i < argc ? argv[i] : "";
        bacsc_dcc_request d;
        memset(&d, 0, sizeof d);
        d.state = BACSC_DCC_ENABLE;
        d.has_password = true;
        d.password.data = (const uint8_t *)pw;
        d.password.len = strlen(pw);
        if (bacsc_client_dcc(cl, &to, &d, on_done, NULL, bacsc_loop_now(loop)) < 0 ||
            (rc = wait_done(1, tmo)) != 0) {
            bacsc_client_free(cl);
            return rc ? rc : 1;
        }
        done_count = 0;
        if (!login) {
            printf("ok\n");
            bacsc_client_free(cl);
            return 0;
        }
        rc = 2;
    }
    bacsc_object_id oid;
    uint32_t prop, idx;
    if (strcmp(op, "read") == 0 && i + 1 < argc &&
        bacsc_object_id_parse(argv[i], &oid) == BACSC_OK &&
        bacsc_property_ref_parse(argv[i + 1], &prop, &idx) == BACSC_OK) {
        bacsc_rp_request rp = {oid, prop, idx != BACSC_ARRAY_ALL, idx};
        if (bacsc_client_read_property(cl, &to, &rp, on_done, NULL, bacsc_loop_now(loop)) >= 0 &&
            (rc = wait_done(1, tmo)) == 0) {
            bacsc_rp_ack a;
            char text[2048];
            if (bacsc_rp_ack_decode(res.ack, res.ack_len, &a, NULL) > 0 &&
                bacsc_value_format(a.value, a.value_len, text, sizeof text) >= 0)
                printf("%s\n", text);
            else
                rc = 1;
        }
    } else if (strcmp(op, "write") == 0 && i + 3 < argc &&
               bacsc_object_id_parse(argv[i], &oid) == BACSC_OK &&
               bacsc_property_ref_parse(argv[i + 1], &prop, &idx) == BACSC_OK) {
        uint8_t b[600];
        int n = encode_value(argv[i + 2], argv[i + 3], b, sizeof b);
        if (n > 0 && (rc = do_write(&to, oid, prop, b, (size_t)n, tmo)) == 0)
            printf("ok\n");
    } else if (strcmp(op, "csr") == 0 && i < argc) {
        uint8_t b[8];
        int n = bacsc_app_encode_enumerated(b, sizeof b, BACSC_NPC_GENERATE_CSR_FILE);
        bacsc_object_id np = {BACSC_OBJ_NETWORK_PORT, 1};
        if ((rc = do_write(&to, np, BACSC_PROP_COMMAND, b, (size_t)n, tmo)) == 0) {
            size_t len;
            uint8_t *data = read_file(&to, 4, &len, &rc, tmo);
            FILE *f = data ? fopen(argv[i], "wb") : NULL;
            if (f) {
                fwrite(data, 1, len, f);
                fclose(f);
                printf("ok\n");
            } else if (rc == 0) {
                rc = 2;
            }
            free(data);
        }
    } else if (strcmp(op, "getfile") == 0 && i + 1 < argc) {
        size_t len;
        uint8_t *data = read_file(&to, (uint32_t)atol(argv[i]), &len, &rc, tmo);
        FILE *f = data ? fopen(argv[i + 1], "wb") : NULL;
        if (f) {
            fwrite(data, 1, len, f);
            fclose(f);
        }
        free(data);
    } else if (strcmp(op, "put") == 0 && i + 1 < argc) {
        FILE *f = fopen(argv[i + 1], "rb");
        static uint8_t data[20000];
        size_t len = f ? fread(data, 1, sizeof data, f) : 0;
        if (f)
            fclose(f);
        rc = f ? 0 : 2;
        for (size_t off = 0; rc == 0 && off < len; off += 500) {
            size_t n = len - off < 500 ? len - off : 500;
            bacsc_awf_request r = {{BACSC_OBJ_FILE, (uint32_t)atol(argv[i])}, BACSC_FILE_STREAM,
                                   (int32_t)off, 0, data + off, n};
            int want = done_count + 1;
            if (bacsc_client_atomic_write_file(cl, &to, &r, on_done, NULL, bacsc_loop_now(loop)) < 0)
                rc = 2;
            else
                rc = wait_done(want, tmo);
        }
        if (rc == 0)
            printf("ok\n");
    } else if (strcmp(op, "reinit") == 0 && i < argc) {
        bacsc_reinit_request r;
        memset(&r, 0, sizeof r);
        r.state = (uint8_t)atoi(argv[i]);
        if (i + 1 < argc) {
            r.has_password = true;
            r.password.data = (const uint8_t *)argv[i + 1];
            r.password.len = strlen(argv[i + 1]);
        }
        if (bacsc_client_reinitialize(cl, &to, &r, on_done, NULL, bacsc_loop_now(loop)) >= 0 &&
            (rc = wait_done(1, tmo)) == 0)
            printf("ok\n");
    } else if (strcmp(op, "whois") == 0) {
        bacsc_whois w;
        memset(&w, 0, sizeof w);
        bacsc_address bc = bacsc_address_local_broadcast();
        bacsc_client_whois(cl, &bc, &w, bacsc_loop_now(loop));
        uint64_t end = bacsc_loop_update_time(loop) + tmo / 5;
        while (bacsc_loop_update_time(loop) < end)
            bacsc_loop_run_once(loop, 20000);
        rc = 0;
    } else {
        fprintf(stderr, "bip_client: bad operation\n");
    }
    bacsc_client_free(cl);
    bacsc_bip_link_free(link);
    bacsc_loop_free(loop);
    return rc;
}
