/*
 * datalink.c — BACnet address helpers shared by the device and the client
 * (bacsc/datalink.h). No I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/datalink.h"
#include "bacsc/error.h"
#include "bacsc/hex.h"
#include "bacsc/npdu.h"

bacsc_address bacsc_address_local(const uint8_t *mac, size_t len)
{
    bacsc_address a;
    memset(&a, 0, sizeof a);
    if (len <= BACSC_MAC_MAX && (mac || len == 0)) {
        a.mac_len = (uint8_t)len;
        if (len)
            memcpy(a.mac, mac, len);
    }
    return a;
}

bacsc_address bacsc_address_local_broadcast(void)
{
    bacsc_address a;
    memset(&a, 0, sizeof a);
    return a;
}

bacsc_address bacsc_address_global_broadcast(void)
{
    bacsc_address a;
    memset(&a, 0, sizeof a);
    a.net = BACSC_NET_GLOBAL;
    return a;
}

bacsc_address bacsc_address_bip(const uint8_t ip[4], uint16_t port)
{
    uint8_t mac[6] = {ip[0], ip[1], ip[2], ip[3], (uint8_t)(port >> 8), (uint8_t)port};
    return bacsc_address_local(mac, sizeof mac);
}

bool bacsc_address_is_broadcast(const bacsc_address *a)
{
    if (a->net == BACSC_NET_GLOBAL)
        return true;
    if (a->net == 0)
        return a->mac_len == 0;
    return a->adr_len == 0;
}

bool bacsc_address_equal(const bacsc_address *a, const bacsc_address *b)
{
    if (a->mac_len != b->mac_len || a->net != b->net)
        return false;
    if (a->mac_len > BACSC_MAC_MAX || memcmp(a->mac, b->mac, a->mac_len) != 0)
        return false;
    if (a->net == 0)
        return true;
    return a->adr_len == b->adr_len && a->adr_len <= BACSC_MAC_MAX &&
           memcmp(a->adr, b->adr, a->adr_len) == 0;
}

static void hex_mac(const uint8_t *m, size_t n, char *buf, size_t cap)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && pos + 4 <= cap; i++)
        pos += (size_t)snprintf(buf + pos, cap - pos, i ? ":%02x" : "%02x", m[i]);
}

char *bacsc_address_format(const bacsc_address *a, int kind, char *buf, size_t cap)
{
    char mac[3 * BACSC_MAC_MAX + 1];
    if (cap == 0)
        return buf;
    if (a->net == BACSC_NET_GLOBAL) {
        snprintf(buf, cap, "global-broadcast");
    } else if (a->net != 0) {
        if (a->adr_len == 0 || a->adr_len > BACSC_MAC_MAX) {
            snprintf(buf, cap, "%u:broadcast", (unsigned)a->net);
        } else {
            hex_mac(a->adr, a->adr_len, mac, sizeof mac);
            snprintf(buf, cap, "%u:%s", (unsigned)a->net, mac);
        }
    } else if (a->mac_len == 0 || a->mac_len > BACSC_MAC_MAX) {
        snprintf(buf, cap, "broadcast");
    } else if (kind == BACSC_DATALINK_BIP && a->mac_len == 6) {
        snprintf(buf, cap, "%u.%u.%u.%u:%u", a->mac[0], a->mac[1], a->mac[2], a->mac[3],
                 (unsigned)((a->mac[4] << 8) | a->mac[5]));
    } else {
        hex_mac(a->mac, a->mac_len, mac, sizeof mac);
        snprintf(buf, cap, "%s", mac);
    }
    return buf;
}

static int parse_ip_port(const char *s, bacsc_address *a)
{
    unsigned v[5];
    char tail;
    if (sscanf(s, "%u.%u.%u.%u:%u%c", &v[0], &v[1], &v[2], &v[3], &v[4], &tail) != 5)
        return BACSC_ERR_MALFORMED;
    for (int i = 0; i < 4; i++)
        if (v[i] > 255)
            return BACSC_ERR_MALFORMED;
    if (v[4] == 0 || v[4] > 65535)
        return BACSC_ERR_MALFORMED;
    uint8_t ip[4] = {(uint8_t)v[0], (uint8_t)v[1], (uint8_t)v[2], (uint8_t)v[3]};
    *a = bacsc_address_bip(ip, (uint16_t)v[4]);
    return BACSC_OK;
}

int bacsc_address_parse(const char *s, bacsc_address *a)
{
    if (s == NULL || a == NULL)
        return BACSC_ERR_MALFORMED;
    if (strcmp(s, "broadcast") == 0) {
        *a = bacsc_address_local_broadcast();
        return BACSC_OK;
    }
    if (strchr(s, '.'))
        return parse_ip_port(s, a);
    uint8_t mac[BACSC_MAC_MAX];
    size_t n = 0;
    const char *p = s;
    for (;;) {
        int h = bacsc_hex_digit(p[0]), l = h >= 0 ? bacsc_hex_digit(p[1]) : -1;
        if (h < 0 || l < 0 || n == BACSC_MAC_MAX)
            return BACSC_ERR_MALFORMED;
        mac[n++] = (uint8_t)(h << 4 | l);
        p += 2;
        if (*p == '\0')
            break;
        if (*p != ':')
            return BACSC_ERR_MALFORMED;
        p++;
    }
    *a = bacsc_address_local(mac, n);
    return BACSC_OK;
}

void bacsc_address_to_npdu(const bacsc_address *dest, bool expecting_reply, bacsc_npdu *n)
{
    bacsc_npdu_init(n, expecting_reply);
    if (dest->net != 0) {
        n->has_dnet = true;
        n->dnet = dest->net;
        n->dlen = dest->net == BACSC_NET_GLOBAL ? 0 : dest->adr_len;
        n->dadr = dest->adr;
        n->hop_count = 255;
    }
}

void bacsc_address_from_npdu(const bacsc_address *link_src, const struct bacsc_npdu *npdu,
                             bacsc_address *reply)
{
    *reply = *link_src;
    reply->net = 0;
    reply->adr_len = 0;
    memset(reply->adr, 0, sizeof reply->adr);
    if (npdu->has_snet) {
        reply->net = npdu->snet;
        /* A station address longer than 7 octets cannot be answered; keep
         * the first 7 (such an NPDU is not produced by any real router). */
        reply->adr_len = npdu->slen > BACSC_MAC_MAX ? BACSC_MAC_MAX : npdu->slen;
        memcpy(reply->adr, npdu->sadr, reply->adr_len);
    }
}
