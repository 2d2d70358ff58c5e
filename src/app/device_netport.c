/*
 * device_netport.c — the Network Port object class for a BACnet/SC port
 * (Network_Type SECURE_CONNECT).
 *
 * Three kinds of data:
 *  - live state (connector state, hub connection status, negotiated
 *    lengths) in a bacsc_sc_port_state the I/O layer updates in place, or
 *    refreshes through a callback right before each read;
 *  - configuration: writes land in the `pending` copy and set
 *    Changes_Pending; the application applies them on ReinitializeDevice
 *    activate-changes (or warmstart) and calls
 *    bacsc_netport_sc_changes_applied(); Command discard-changes drops them;
 *  - Command: idle/discard-changes handled here, every other command handed
 *    to the application's callback (generate-csr-file, validate-changes...).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/device_internal.h"
#include "bacsc/sc_connector.h"

#define PROTOCOL_LEVEL_BACNET_APPLICATION 2
#define NNQ_UNKNOWN 0
#define NNQ_CONFIGURED 3

typedef struct netport {
    bacsc_sc_port_config active;
    bacsc_sc_port_config pending;
    bool changes_pending;
    bacsc_sc_port_state state;
    uint8_t command;
    bacsc_netport_callbacks cb;
    unsigned apdu_length;
    char validation[BACSC_COMMAND_RESULT_MAX + 1];
    bool other_pending;              /* the application has pending changes of its own */
} netport;

static const uint32_t np_required[] = {
    BACSC_PROP_OBJECT_IDENTIFIER,
    BACSC_PROP_OBJECT_NAME,
    BACSC_PROP_OBJECT_TYPE,
    BACSC_PROP_STATUS_FLAGS,
    BACSC_PROP_RELIABILITY,
    BACSC_PROP_OUT_OF_SERVICE,
    BACSC_PROP_NETWORK_TYPE,
    BACSC_PROP_ID_PROTOCOL_LEVEL,
    BACSC_PROP_NETWORK_NUMBER,
    BACSC_PROP_NETWORK_NUMBER_QUALITY,
    BACSC_PROP_CHANGES_PENDING,
    BACSC_PROP_APDU_LENGTH,
    BACSC_PROP_LINK_SPEED,
    BACSC_PROP_MAC_ADDRESS,
    BACSC_PROP_MAX_BVLC_LENGTH_ACCEPTED,
    BACSC_PROP_MAX_NPDU_LENGTH_ACCEPTED,
    BACSC_PROP_SC_PRIMARY_HUB_URI,
    BACSC_PROP_SC_FAILOVER_HUB_URI,
    BACSC_PROP_SC_MINIMUM_RECONNECT_TIME,
    BACSC_PROP_SC_MAXIMUM_RECONNECT_TIME,
    BACSC_PROP_SC_CONNECT_WAIT_TIMEOUT,
    BACSC_PROP_SC_DISCONNECT_WAIT_TIMEOUT,
    BACSC_PROP_SC_HEARTBEAT_TIMEOUT,
    BACSC_PROP_SC_HUB_CONNECTOR_STATE,
    BACSC_PROP_OPERATIONAL_CERTIFICATE_FILE,
    BACSC_PROP_ISSUER_CERTIFICATE_FILES,
    BACSC_PROP_CERTIFICATE_SIGNING_REQUEST_FILE,
    BACSC_PROP_PROPERTY_LIST,
    BACSC_PROPERTY_LIST_END,
};

/* The same without the certificate-file references: a port whose
 * certificates are not File objects of this device (a plain `bacsc device`
 * reads them from its own files) leaves them out rather than pointing at
 * file,4194303. */
static const uint32_t np_required_nofiles[] = {
    BACSC_PROP_OBJECT_IDENTIFIER,
    BACSC_PROP_OBJECT_NAME,
    BACSC_PROP_OBJECT_TYPE,
    BACSC_PROP_STATUS_FLAGS,
    BACSC_PROP_RELIABILITY,
    BACSC_PROP_OUT_OF_SERVICE,
    BACSC_PROP_NETWORK_TYPE,
    BACSC_PROP_ID_PROTOCOL_LEVEL,
    BACSC_PROP_NETWORK_NUMBER,
    BACSC_PROP_NETWORK_NUMBER_QUALITY,
    BACSC_PROP_CHANGES_PENDING,
    BACSC_PROP_APDU_LENGTH,
    BACSC_PROP_LINK_SPEED,
    BACSC_PROP_MAC_ADDRESS,
    BACSC_PROP_MAX_BVLC_LENGTH_ACCEPTED,
    BACSC_PROP_MAX_NPDU_LENGTH_ACCEPTED,
    BACSC_PROP_SC_PRIMARY_HUB_URI,
    BACSC_PROP_SC_FAILOVER_HUB_URI,
    BACSC_PROP_SC_MINIMUM_RECONNECT_TIME,
    BACSC_PROP_SC_MAXIMUM_RECONNECT_TIME,
    BACSC_PROP_SC_CONNECT_WAIT_TIMEOUT,
    BACSC_PROP_SC_DISCONNECT_WAIT_TIMEOUT,
    BACSC_PROP_SC_HEARTBEAT_TIMEOUT,
    BACSC_PROP_SC_HUB_CONNECTOR_STATE,
    BACSC_PROP_PROPERTY_LIST,
    BACSC_PROPERTY_LIST_END,
};

/* The optional properties of every SC port; a commissionable device that
 * takes CRLs adds the proprietary CRL file reference. */
#define NP_OPTIONAL_SC                                                                             \
    BACSC_PROP_COMMAND, BACSC_PROP_SC_PRIMARY_HUB_CONNECTION_STATUS,                                \
        BACSC_PROP_SC_FAILOVER_HUB_CONNECTION_STATUS, BACSC_PROP_SC_HUB_FUNCTION_ENABLE,            \
        BACSC_PROP_SC_HUB_FUNCTION_ACCEPT_URIS, BACSC_PROP_SC_HUB_FUNCTION_BINDING,                 \
        BACSC_PROP_SC_DIRECT_CONNECT_INITIATE_ENABLE, BACSC_PROP_SC_DIRECT_CONNECT_ACCEPT_ENABLE,   \
        BACSC_PROP_SC_DIRECT_CONNECT_ACCEPT_URIS, BACSC_PROP_SC_DIRECT_CONNECT_BINDING,             \
        BACSC_PROP_SC_DIRECT_CONNECT_CONNECTION_STATUS,                                            \
        BACSC_PROP_SC_HUB_FUNCTION_CONNECTION_STATUS, BACSC_PROP_ID_COMMAND_VALIDATION_RESULT,      \
        BACSC_PROP_ID_SITE_DOMAIN

static const uint32_t np_optional[] = {NP_OPTIONAL_SC, BACSC_PROPERTY_LIST_END};
static const uint32_t np_optional_crl[] = {NP_OPTIONAL_SC, BACSC_PROP_ID_CRL_FILE,
                                           BACSC_PROPERTY_LIST_END};

static const bacsc_object_class netport_class;

bool dev_is_netport_sc(const bacsc_object *obj)
{
    return obj && obj->cls == &netport_class;
}

void bacsc_sc_port_config_defaults(bacsc_sc_port_config *cfg)
{
    /* The defaults of the node that runs with them (sc_connector.h,
     * sc_conn.h): the Network Port must report what the node does. */
    memset(cfg, 0, sizeof *cfg);
    cfg->min_reconnect_time = (uint32_t)(BACSC_SC_DEFAULT_RECONNECT_MIN_US / 1000000);
    cfg->max_reconnect_time = (uint32_t)(BACSC_SC_DEFAULT_RECONNECT_MAX_US / 1000000);
    cfg->connect_wait_timeout = (uint32_t)(BACSC_SC_DEFAULT_CONNECT_WAIT_US / 1000000);
    cfg->disconnect_wait_timeout = (uint32_t)(BACSC_SC_DEFAULT_DISCONNECT_WAIT_US / 1000000);
    cfg->heartbeat_timeout = (uint32_t)(BACSC_SC_DEFAULT_HEARTBEAT_US / 1000000);
    cfg->operational_certificate_file = BACSC_MAX_INSTANCE;
    for (int i = 0; i < BACSC_ISSUER_FILES_MAX; i++)
        cfg->issuer_certificate_files[i] = BACSC_MAX_INSTANCE;
    cfg->certificate_signing_request_file = BACSC_MAX_INSTANCE;
    cfg->crl_file = BACSC_MAX_INSTANCE;
}

/* ---- date and time ------------------------------------------------------------ */

void bacsc_datetime_unspecified(bacsc_datetime *dt)
{
    memset(dt, 0xFF, sizeof *dt);
}

void bacsc_datetime_from_unix(int64_t secs, int32_t utc_offset_s, bacsc_datetime *dt)
{
    int64_t t = secs + utc_offset_s;
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t rem = t - days * 86400;
    /* civil date from days since 1970-01-01 (era-based, Gregorian) */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    if (y < 1900 || y > 2154) {
        bacsc_datetime_unspecified(dt);
        return;
    }
    /* 1970-01-01 was a Thursday (4); BACnet weekdays are 1 Monday..7 Sunday */
    int64_t wd = ((days % 7) + 7 + 3) % 7 + 1;
    dt->date.year_1900 = (uint8_t)(y - 1900);
    dt->date.month = (uint8_t)m;
    dt->date.day = (uint8_t)d;
    dt->date.wday = (uint8_t)wd;
    dt->time.hour = (uint8_t)(rem / 3600);
    dt->time.minute = (uint8_t)(rem / 60 % 60);
    dt->time.second = (uint8_t)(rem % 60);
    dt->time.hundredths = 0;
}

/* ---- encoding ---------------------------------------------------------------- */

static int enc_file_ref(uint8_t *buf, size_t cap, uint32_t instance)
{
    /* An unconfigured reference is the "uninitialized" file,4194303. */
    return bacsc_app_encode_object_id(buf, cap, BACSC_OBJ_FILE,
                                      instance > BACSC_MAX_INSTANCE ? BACSC_MAX_INSTANCE : instance);
}

static int issuer_elem(const void *ctx, uint32_t i, uint8_t *buf, size_t cap)
{
    const bacsc_sc_port_config *c = ctx;
    return enc_file_ref(buf, cap, c->issuer_certificate_files[i]);
}

typedef struct uri_list {
    const char (*uris)[BACSC_URI_MAX];
} uri_list;

static uint32_t uri_count(const char (*uris)[BACSC_URI_MAX])
{
    uint32_t n = 0;
    while (n < BACSC_SC_ACCEPT_URIS_MAX && uris[n][0])
        n++;
    return n;
}

static int uri_elem(const void *ctx, uint32_t i, uint8_t *buf, size_t cap)
{
    const uri_list *l = ctx;
    return dev_encode_string(buf, cap, l->uris[i]);
}

/* BACnetSCHubConnection (see device.h). */
static int enc_hub_connection(uint8_t *buf, size_t cap, const bacsc_sc_hub_connection *h)
{
    size_t pos = 0;
    int n;
#define PUT(expr)                                                   \
    do {                                                            \
        n = (expr);                                                 \
        if (n < 0)                                                  \
            return n;                                               \
        pos += (size_t)n;                                           \
    } while (0)
#define AT (buf ? buf + pos : NULL)
#define LEFT (buf ? cap - pos : 0)
    PUT(bacsc_ctx_encode_enumerated(AT, LEFT, 0, h->state));
    PUT(bacsc_tag_encode_opening(AT, LEFT, 1));
    PUT(dev_encode_datetime(AT, LEFT, &h->connect_time));
    PUT(bacsc_tag_encode_closing(AT, LEFT, 1));
    PUT(bacsc_tag_encode_opening(AT, LEFT, 2));
    PUT(dev_encode_datetime(AT, LEFT, &h->disconnect_time));
    PUT(bacsc_tag_encode_closing(AT, LEFT, 2));
    if (h->state == BACSC_SC_DISCONNECTED_WITH_ERRORS || h->state == BACSC_SC_FAILED_TO_CONNECT) {
        PUT(bacsc_tag_encode_opening(AT, LEFT, 3));
        PUT(bacsc_app_encode_enumerated(AT, LEFT, h->error_class));
        PUT(bacsc_app_encode_enumerated(AT, LEFT, h->error_code));
        PUT(bacsc_tag_encode_closing(AT, LEFT, 3));
        size_t dl = strnlen(h->error_details, sizeof h->error_details);
        if (dl)
            PUT(bacsc_ctx_encode_char_string(AT, LEFT, 4, h->error_details, dl));
    }
#undef PUT
#undef AT
#undef LEFT
    return (int)pos;
}

/* BACnetHostNPort: ip-address for "A.B.C.D:PORT", name for anything else,
 * none when empty. */
static int enc_host_n_port(uint8_t *buf, size_t cap, uint8_t tag, const char *addr)
{
    size_t pos = 0;
    int n;
#define PUT(expr)                                                   \
    do {                                                            \
        n = (expr);                                                 \
        if (n < 0)                                                  \
            return n;                                               \
        pos += (size_t)n;                                           \
    } while (0)
#define AT (buf ? buf + pos : NULL)
#define LEFT (buf ? cap - pos : 0)
    unsigned a, b, c, d, port = 0;
    char tail;
    const char *colon = strrchr(addr, ':');
    if (colon)
        port = (unsigned)strtoul(colon + 1, NULL, 10);
    PUT(bacsc_tag_encode_opening(AT, LEFT, tag));
    PUT(bacsc_tag_encode_opening(AT, LEFT, 0));
    if (!*addr) {
        PUT(bacsc_tag_encode(AT, LEFT, 0, true, 0)); /* none: NULL */
    } else if (sscanf(addr, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 5 && tail == ':' &&
               a < 256 && b < 256 && c < 256 && d < 256) {
        uint8_t ip[4] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d};
        PUT(bacsc_ctx_encode_octet_string(AT, LEFT, 1, ip, 4));
    } else {
        size_t hl = colon ? (size_t)(colon - addr) : strlen(addr);
        PUT(bacsc_ctx_encode_char_string(AT, LEFT, 2, addr, hl));
    }
    PUT(bacsc_tag_encode_closing(AT, LEFT, 0));
    PUT(bacsc_ctx_encode_unsigned(AT, LEFT, 1, port));
    PUT(bacsc_tag_encode_closing(AT, LEFT, tag));
    return (int)pos;
}

/* BACnetSCDirectConnection (with_uri) or BACnetSCHubFunctionConnection
 * (see device.h). */
static int enc_sc_connection(uint8_t *buf, size_t cap, const bacsc_sc_direct_connection *e,
                             bool with_uri)
{
    size_t pos = 0;
    int n;
    uint8_t t = with_uri ? 1 : 0;
    if (with_uri)
        PUT(bacsc_ctx_encode_char_string(AT, LEFT, 0, e->uri, strnlen(e->uri, sizeof e->uri)));
    PUT(bacsc_ctx_encode_enumerated(AT, LEFT, t, e->state));
    PUT(bacsc_tag_encode_opening(AT, LEFT, (uint8_t)(t + 1)));
    PUT(dev_encode_datetime(AT, LEFT, &e->connect_time));
    PUT(bacsc_tag_encode_closing(AT, LEFT, (uint8_t)(t + 1)));
    PUT(bacsc_tag_encode_opening(AT, LEFT, (uint8_t)(t + 2)));
    PUT(dev_encode_datetime(AT, LEFT, &e->disconnect_time));
    PUT(bacsc_tag_encode_closing(AT, LEFT, (uint8_t)(t + 2)));
    char addr[sizeof e->peer_address + 1];
    memcpy(addr, e->peer_address, sizeof e->peer_address);
    addr[sizeof e->peer_address] = '\0';
    PUT(enc_host_n_port(AT, LEFT, (uint8_t)(t + 3), addr));
    PUT(bacsc_ctx_encode_octet_string(AT, LEFT, (uint8_t)(t + 4), e->peer_vmac, 6));
    PUT(bacsc_ctx_encode_octet_string(AT, LEFT, (uint8_t)(t + 5), e->peer_uuid, 16));
    if (e->state == BACSC_SC_DISCONNECTED_WITH_ERRORS || e->state == BACSC_SC_FAILED_TO_CONNECT) {
        PUT(bacsc_tag_encode_opening(AT, LEFT, (uint8_t)(t + 6)));
        PUT(bacsc_app_encode_enumerated(AT, LEFT, e->error_class));
        PUT(bacsc_app_encode_enumerated(AT, LEFT, e->error_code));
        PUT(bacsc_tag_encode_closing(AT, LEFT, (uint8_t)(t + 6)));
        size_t dl = strnlen(e->error_details, sizeof e->error_details);
        if (dl)
            PUT(bacsc_ctx_encode_char_string(AT, LEFT, (uint8_t)(t + 7), e->error_details, dl));
    }
#undef PUT
#undef AT
#undef LEFT
    return (int)pos;
}

/* A BACnetLIST of connections: the entries one after the other. */
static int enc_connection_list(uint8_t *buf, size_t cap, const bacsc_sc_direct_connection *list,
                               size_t count, bool with_uri)
{
    size_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        int n = enc_sc_connection(buf ? buf + pos : NULL, buf ? cap - pos : 0, &list[i],
                                  with_uri);
        if (n < 0)
            return n;
        pos += (size_t)n;
    }
    return (int)pos;
}

static int np_read(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_ref *ref,
                   uint8_t *buf, size_t cap, bacsc_error *err)
{
    (void)dev;
    netport *np = obj->impl;
    const bacsc_sc_port_config *c = &np->pending;
    const bacsc_sc_port_state *s = &np->state;
    if (np->cb.refresh)
        np->cb.refresh(np->cb.user, obj, &np->state);
    switch (ref->property) {
    case BACSC_PROP_ISSUER_CERTIFICATE_FILES:
        return bacsc_prop_encode_array(ref, BACSC_ISSUER_FILES_MAX, issuer_elem, c, buf, cap,
                                       err);
    case BACSC_PROP_SC_HUB_FUNCTION_ACCEPT_URIS: {
        uri_list l = {c->hub_function_accept_uris};
        return bacsc_prop_encode_array(ref, uri_count(l.uris), uri_elem, &l, buf, cap, err);
    }
    case BACSC_PROP_SC_DIRECT_CONNECT_ACCEPT_URIS: {
        uri_list l = {c->direct_connect_accept_uris};
        return bacsc_prop_encode_array(ref, uri_count(l.uris), uri_elem, &l, buf, cap, err);
    }
    default:
        break;
    }
    if (bacsc_prop_check_not_array(ref, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    bool done;
    int n = dev_netport_read_common(ref->property, c->network_number,
                                    np->changes_pending || np->other_pending, np->command,
                                    np->apdu_length, buf, cap, &done);
    if (done)
        return n;
    switch (ref->property) {
    case BACSC_PROP_STATUS_FLAGS:
        return dev_encode_status_flags(buf, cap, false, s->reliability != 0, false,
                                       s->out_of_service || c->out_of_service);
    case BACSC_PROP_RELIABILITY:
        return bacsc_app_encode_enumerated(buf, cap, s->reliability);
    case BACSC_PROP_OUT_OF_SERVICE:
        return bacsc_app_encode_boolean(buf, cap, s->out_of_service || c->out_of_service);
    case BACSC_PROP_ID_COMMAND_VALIDATION_RESULT:
        return dev_encode_string(buf, cap, np->validation);
    case BACSC_PROP_ID_SITE_DOMAIN:
        return dev_encode_string(buf, cap, c->site_domain);
    case BACSC_PROP_NETWORK_TYPE:
        return bacsc_app_encode_enumerated(buf, cap, BACSC_NETWORK_TYPE_SECURE_CONNECT);
    case BACSC_PROP_MAC_ADDRESS:
        return bacsc_app_encode_octet_string(buf, cap, s->vmac, sizeof s->vmac);
    case BACSC_PROP_MAX_BVLC_LENGTH_ACCEPTED:
        return bacsc_app_encode_unsigned(buf, cap, s->max_bvlc_len);
    case BACSC_PROP_MAX_NPDU_LENGTH_ACCEPTED:
        return bacsc_app_encode_unsigned(buf, cap, s->max_npdu_len);
    case BACSC_PROP_SC_PRIMARY_HUB_URI:
        return dev_encode_string(buf, cap, c->primary_hub_uri);
    case BACSC_PROP_SC_FAILOVER_HUB_URI:
        return dev_encode_string(buf, cap, c->failover_hub_uri);
    case BACSC_PROP_SC_MINIMUM_RECONNECT_TIME:
        return bacsc_app_encode_unsigned(buf, cap, c->min_reconnect_time);
    case BACSC_PROP_SC_MAXIMUM_RECONNECT_TIME:
        return bacsc_app_encode_unsigned(buf, cap, c->max_reconnect_time);
    case BACSC_PROP_SC_CONNECT_WAIT_TIMEOUT:
        return bacsc_app_encode_unsigned(buf, cap, c->connect_wait_timeout);
    case BACSC_PROP_SC_DISCONNECT_WAIT_TIMEOUT:
        return bacsc_app_encode_unsigned(buf, cap, c->disconnect_wait_timeout);
    case BACSC_PROP_SC_HEARTBEAT_TIMEOUT:
        return bacsc_app_encode_unsigned(buf, cap, c->heartbeat_timeout);
    case BACSC_PROP_SC_HUB_CONNECTOR_STATE:
        return bacsc_app_encode_enumerated(buf, cap, s->connector_state);
    case BACSC_PROP_SC_PRIMARY_HUB_CONNECTION_STATUS:
        return enc_hub_connection(buf, cap, &s->primary);
    case BACSC_PROP_SC_FAILOVER_HUB_CONNECTION_STATUS:
        return enc_hub_connection(buf, cap, &s->failover);
    case BACSC_PROP_SC_HUB_FUNCTION_ENABLE:
        return bacsc_app_encode_boolean(buf, cap, c->hub_function_enable);
    case BACSC_PROP_SC_HUB_FUNCTION_BINDING:
        return dev_encode_string(buf, cap, c->hub_function_binding);
    case BACSC_PROP_SC_DIRECT_CONNECT_INITIATE_ENABLE:
        return bacsc_app_encode_boolean(buf, cap, c->direct_connect_initiate_enable);
    case BACSC_PROP_SC_DIRECT_CONNECT_ACCEPT_ENABLE:
        return bacsc_app_encode_boolean(buf, cap, c->direct_connect_accept_enable);
    case BACSC_PROP_SC_DIRECT_CONNECT_BINDING:
        return dev_encode_string(buf, cap, c->direct_connect_binding);
    case BACSC_PROP_SC_DIRECT_CONNECT_CONNECTION_STATUS:
        return enc_connection_list(buf, cap, s->direct, s->direct ? s->direct_count : 0, true);
    case BACSC_PROP_SC_HUB_FUNCTION_CONNECTION_STATUS:
        return enc_connection_list(buf, cap, s->hub_function,
                                   s->hub_function ? s->hub_function_count : 0, false);
    case BACSC_PROP_OPERATIONAL_CERTIFICATE_FILE:
        return enc_file_ref(buf, cap, c->operational_certificate_file);
    case BACSC_PROP_CERTIFICATE_SIGNING_REQUEST_FILE:
        return enc_file_ref(buf, cap, c->certificate_signing_request_file);
    case BACSC_PROP_ID_CRL_FILE:
        if (c->crl_file >= BACSC_MAX_INSTANCE)
            return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
        return enc_file_ref(buf, cap, c->crl_file);
    default:
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_UNKNOWN_PROPERTY);
    }
}

/* ---- writes ------------------------------------------------------------------- */

static bool uri_scheme_ok(const char *s)
{
    return s[0] == '\0' || strncmp(s, "wss://", 6) == 0 || strncmp(s, "ws://", 5) == 0;
}

static int out_of_range(bacsc_error *err)
{
    return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
}

static int write_uri(const bacsc_prop_write *w, char *dst, bacsc_error *err)
{
    char tmp[BACSC_URI_MAX];
    if (dev_decode_string_write(w, tmp, sizeof tmp, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    if (!uri_scheme_ok(tmp))
        return out_of_range(err);
    memcpy(dst, tmp, strlen(tmp) + 1);
    return BACSC_OK;
}

/* A URI array written whole (a sequence of CharacterStrings) or by index. */
static int write_uri_array(const bacsc_prop_write *w, char (*uris)[BACSC_URI_MAX],
                           bacsc_error *err)
{
    char tmp[BACSC_SC_ACCEPT_URIS_MAX][BACSC_URI_MAX];
    memcpy(tmp, uris, sizeof tmp);
    uint32_t count = uri_count((const char(*)[BACSC_URI_MAX])uris);
    if (w->index == 0) {
        /* Resizing through index 0: only shrinking is meaningful here. */
        uint64_t n;
        if (dev_decode_unsigned_write(w, 0, count, &n, err) < 0)
            return BACSC_ERR_NOT_FOUND;
        for (uint32_t i = (uint32_t)n; i < BACSC_SC_ACCEPT_URIS_MAX; i++)
            uris[i][0] = '\0';
        return BACSC_OK;
    }
    if (w->index != BACSC_ARRAY_ALL) {
        if (w->index > count && !(w->index == count + 1 && w->index <= BACSC_SC_ACCEPT_URIS_MAX))
            return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                    BACSC_EC_INVALID_ARRAY_INDEX);
        bacsc_prop_write one = *w;
        if (write_uri(&one, tmp[w->index - 1], err) < 0)
            return BACSC_ERR_NOT_FOUND;
        if (tmp[w->index - 1][0] == '\0')
            return out_of_range(err);
        memcpy(uris, tmp, sizeof tmp);
        return BACSC_OK;
    }
    memset(tmp, 0, sizeof tmp);
    size_t pos = 0, i = 0;
    while (pos < w->value_len) {
        bacsc_value v;
        int n = bacsc_value_decode(w->value + pos, w->value_len - pos, &v);
        if (n < 0 || v.type != BACSC_TAG_CHARACTER_STRING)
            return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                    BACSC_EC_INVALID_DATA_TYPE);
        if (i == BACSC_SC_ACCEPT_URIS_MAX)
            return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                    BACSC_EC_NO_SPACE_TO_WRITE_PROPERTY);
        bacsc_prop_write one = *w;
        one.value = w->value + pos;
        one.value_len = (size_t)n;
        if (write_uri(&one, tmp[i], err) < 0)
            return BACSC_ERR_NOT_FOUND;
        if (tmp[i][0] == '\0')
            return out_of_range(err);
        i++;
        pos += (size_t)n;
    }
    memcpy(uris, tmp, sizeof tmp);
    return BACSC_OK;
}

static int write_seconds(const bacsc_prop_write *w, uint64_t lo, uint64_t hi, uint32_t *dst,
                         bacsc_error *err)
{
    uint64_t v;
    if (dev_decode_unsigned_write(w, lo, hi, &v, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    *dst = (uint32_t)v;
    return BACSC_OK;
}

int dev_netport_write_command(bacsc_object *obj, uint8_t *command,
                              const bacsc_netport_callbacks *cb,
                              void (*discard)(bacsc_object *port), const bacsc_prop_write *w,
                              bacsc_error *err)
{
    bacsc_value v;
    if (bacsc_prop_decode_single(w, BACSC_TAG_ENUMERATED, &v, err) < 0)
        return BACSC_ERR_NOT_FOUND;
    if (v.v.enumerated == BACSC_NPC_IDLE)
        return BACSC_OK;
    if (*command != BACSC_NPC_IDLE)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_DEVICE, BACSC_EC_BUSY);
    if (v.v.enumerated == BACSC_NPC_DISCARD_CHANGES) {
        discard(obj);
        if (cb->command) {
            bacsc_error ignored;
            memset(&ignored, 0, sizeof ignored);
            (void)cb->command(cb->user, obj, BACSC_NPC_DISCARD_CHANGES, &ignored);
        }
        return BACSC_OK;
    }
    if (v.v.enumerated > 255 || cb->command == NULL)
        return out_of_range(err);
    memset(err, 0, sizeof *err);
    int rc = cb->command(cb->user, obj, (uint8_t)v.v.enumerated, err);
    if (rc < 0) {
        if (err->error_class == 0 && err->error_code == 0)
            return out_of_range(err);
        return BACSC_ERR_NOT_FOUND;
    }
    if (rc == 0)
        *command = (uint8_t)v.v.enumerated;
    return BACSC_OK;
}

int dev_netport_read_common(uint32_t property, uint32_t network_number, bool changes_pending,
                            uint8_t command, unsigned apdu_length, uint8_t *buf, size_t cap,
                            bool *done)
{
    *done = true;
    switch (property) {
    case BACSC_PROP_ID_PROTOCOL_LEVEL:
        return bacsc_app_encode_enumerated(buf, cap, PROTOCOL_LEVEL_BACNET_APPLICATION);
    case BACSC_PROP_NETWORK_NUMBER:
        return bacsc_app_encode_unsigned(buf, cap, network_number);
    case BACSC_PROP_NETWORK_NUMBER_QUALITY:
        return bacsc_app_encode_enumerated(buf, cap,
                                           network_number ? NNQ_CONFIGURED : NNQ_UNKNOWN);
    case BACSC_PROP_CHANGES_PENDING:
        return bacsc_app_encode_boolean(buf, cap, changes_pending);
    case BACSC_PROP_COMMAND:
        return bacsc_app_encode_enumerated(buf, cap, command);
    case BACSC_PROP_APDU_LENGTH:
        return bacsc_app_encode_unsigned(buf, cap, apdu_length);
    case BACSC_PROP_LINK_SPEED:
        return bacsc_app_encode_real(buf, cap, 0.0f);
    default:
        *done = false;
        return 0;
    }
}

int dev_netport_check_write(bacsc_object *obj, const bacsc_netport_callbacks *cb,
                            uint32_t property, const void *pending, bacsc_error *err)
{
    if (cb->check_write == NULL)
        return 0;
    memset(err, 0, sizeof *err);
    if (cb->check_write(cb->user, obj, property, pending, err) < 0) {
        if (err->error_class == 0 && err->error_code == 0)
            return out_of_range(err);
        return BACSC_ERR_NOT_FOUND;
    }
    return 0;
}

static int np_write_config(bacsc_object *obj, netport *np, const bacsc_prop_write *w,
                           bacsc_error *err)
{
    bacsc_sc_port_config c = np->pending;
    int rc;
    bool is_array = w->property == BACSC_PROP_SC_HUB_FUNCTION_ACCEPT_URIS ||
                    w->property == BACSC_PROP_SC_DIRECT_CONNECT_ACCEPT_URIS;
    if (!is_array && w->index != BACSC_ARRAY_ALL)
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_PROPERTY_IS_NOT_AN_ARRAY);
    switch (w->property) {
    case BACSC_PROP_SC_PRIMARY_HUB_URI:
        rc = write_uri(w, c.primary_hub_uri, err);
        break;
    case BACSC_PROP_SC_FAILOVER_HUB_URI:
        rc = write_uri(w, c.failover_hub_uri, err);
        break;
    case BACSC_PROP_SC_MINIMUM_RECONNECT_TIME:
        rc = write_seconds(w, 2, 300, &c.min_reconnect_time, err);
        break;
    case BACSC_PROP_SC_MAXIMUM_RECONNECT_TIME:
        rc = write_seconds(w, 2, 600, &c.max_reconnect_time, err);
        break;
    case BACSC_PROP_SC_CONNECT_WAIT_TIMEOUT:
        rc = write_seconds(w, 5, 300, &c.connect_wait_timeout, err);
        break;
    case BACSC_PROP_SC_DISCONNECT_WAIT_TIMEOUT:
        rc = write_seconds(w, 1, 300, &c.disconnect_wait_timeout, err);
        break;
    case BACSC_PROP_SC_HEARTBEAT_TIMEOUT:
        rc = write_seconds(w, 1, 300, &c.heartbeat_timeout, err);
        break;
    case BACSC_PROP_SC_HUB_FUNCTION_ENABLE:
        rc = dev_decode_boolean_write(w, &c.hub_function_enable, err);
        break;
    case BACSC_PROP_SC_HUB_FUNCTION_ACCEPT_URIS:
        rc = write_uri_array(w, c.hub_function_accept_uris, err);
        break;
    case BACSC_PROP_SC_HUB_FUNCTION_BINDING:
        rc = dev_decode_string_write(w, c.hub_function_binding, BACSC_URI_MAX, err);
        break;
    case BACSC_PROP_SC_DIRECT_CONNECT_INITIATE_ENABLE:
        rc = dev_decode_boolean_write(w, &c.direct_connect_initiate_enable, err);
        break;
    case BACSC_PROP_SC_DIRECT_CONNECT_ACCEPT_ENABLE:
        rc = dev_decode_boolean_write(w, &c.direct_connect_accept_enable, err);
        break;
    case BACSC_PROP_SC_DIRECT_CONNECT_ACCEPT_URIS:
        rc = write_uri_array(w, c.direct_connect_accept_uris, err);
        break;
    case BACSC_PROP_SC_DIRECT_CONNECT_BINDING:
        rc = dev_decode_string_write(w, c.direct_connect_binding, BACSC_URI_MAX, err);
        break;
    case BACSC_PROP_NETWORK_NUMBER: {
        uint64_t v;
        rc = dev_decode_unsigned_write(w, 0, 65534, &v, err);
        if (rc == BACSC_OK)
            c.network_number = (uint16_t)v;
        break;
    }
    case BACSC_PROP_OUT_OF_SERVICE:
        rc = dev_decode_boolean_write(w, &c.out_of_service, err);
        break;
    case BACSC_PROP_ID_SITE_DOMAIN:
        rc = dev_decode_string_write(w, c.site_domain, sizeof c.site_domain, err);
        break;
    default:
        return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                BACSC_EC_WRITE_ACCESS_DENIED);
    }
    if (rc < 0)
        return rc;
    /* A configuration that would leave the port unable to work is refused:
     * reconnect bounds inverted, or no primary hub while one is set now. */
    if (c.max_reconnect_time < c.min_reconnect_time)
        return out_of_range(err);
    if (c.primary_hub_uri[0] == '\0' && np->pending.primary_hub_uri[0] != '\0')
        return out_of_range(err);
    rc = dev_netport_check_write(obj, &np->cb, w->property, &c, err);
    if (rc < 0)
        return rc;
    np->pending = c;
    np->changes_pending = true;
    return BACSC_OK;
}

static int np_write(bacsc_device *dev, bacsc_object *obj, const bacsc_prop_write *w,
                    bacsc_error *err)
{
    (void)dev;
    netport *np = obj->impl;
    if (w->property == BACSC_PROP_COMMAND) {
        if (w->index != BACSC_ARRAY_ALL)
            return bacsc_prop_error(err, BACSC_ERROR_CLASS_PROPERTY,
                                    BACSC_EC_PROPERTY_IS_NOT_AN_ARRAY);
        return dev_netport_write_command(obj, &np->command, &np->cb,
                                         bacsc_netport_sc_discard_changes, w, err);
    }
    return np_write_config(obj, np, w, err);
}

static void np_destroy(bacsc_object *obj)
{
    free(obj->impl);
}

static void np_lists(const bacsc_object *obj, const uint32_t **required,
                     const uint32_t **optional)
{
    const netport *np = obj->impl;
    const bacsc_sc_port_config *c = &np->pending;
    if (c->crl_file < BACSC_MAX_INSTANCE)
        *optional = np_optional_crl;
    bool any = c->operational_certificate_file < BACSC_MAX_INSTANCE ||
               c->certificate_signing_request_file < BACSC_MAX_INSTANCE;
    for (int i = 0; i < BACSC_ISSUER_FILES_MAX; i++)
        any = any || c->issuer_certificate_files[i] < BACSC_MAX_INSTANCE;
    if (!any)
        *required = np_required_nofiles;
}

static const bacsc_object_class netport_class = {
    .type = BACSC_OBJ_NETWORK_PORT,
    .required = np_required,
    .optional = np_optional,
    .read = np_read,
    .write = np_write,
    .destroy = np_destroy,
    .lists = np_lists,
};

/* ---- API ---------------------------------------------------------------------- */

int bacsc_device_add_netport_sc(bacsc_device *dev, uint32_t instance, const char *name,
                                const bacsc_sc_port_config *config,
                                const bacsc_netport_callbacks *cb, bacsc_object **out)
{
    if (dev == NULL)
        return BACSC_ERR_INVALID_ARG;
    netport *np = calloc(1, sizeof *np);
    if (np == NULL)
        return BACSC_ERR_NOMEM;
    if (config)
        np->active = *config;
    else
        bacsc_sc_port_config_defaults(&np->active);
    /* Strings must be terminated whatever the caller passed. */
    np->active.primary_hub_uri[BACSC_URI_MAX - 1] = '\0';
    np->active.failover_hub_uri[BACSC_URI_MAX - 1] = '\0';
    np->active.hub_function_binding[BACSC_URI_MAX - 1] = '\0';
    np->active.direct_connect_binding[BACSC_URI_MAX - 1] = '\0';
    np->active.site_domain[sizeof np->active.site_domain - 1] = '\0';
    for (int i = 0; i < BACSC_SC_ACCEPT_URIS_MAX; i++) {
        np->active.hub_function_accept_uris[i][BACSC_URI_MAX - 1] = '\0';
        np->active.direct_connect_accept_uris[i][BACSC_URI_MAX - 1] = '\0';
    }
    np->pending = np->active;
    if (cb)
        np->cb = *cb;
    np->apdu_length = dev->max_apdu;
    np->state.max_bvlc_len = BACSC_SC_DEFAULT_MAX_BVLC_LEN;
    np->state.max_npdu_len = BACSC_SC_DEFAULT_MAX_NPDU_LEN;
    memset(&np->state.primary.connect_time, 0xFF, sizeof np->state.primary.connect_time);
    memset(&np->state.primary.disconnect_time, 0xFF, sizeof np->state.primary.disconnect_time);
    np->state.failover.connect_time = np->state.primary.connect_time;
    np->state.failover.disconnect_time = np->state.primary.disconnect_time;
    int rc = bacsc_device_add_object(dev, &netport_class, instance, name, np, out);
    if (rc != BACSC_OK)
        free(np);
    return rc;
}

bacsc_sc_port_state *bacsc_netport_sc_state(bacsc_object *port)
{
    return dev_is_netport_sc(port) ? &((netport *)port->impl)->state : NULL;
}

const bacsc_sc_port_config *bacsc_netport_sc_pending(const bacsc_object *port)
{
    return dev_is_netport_sc(port) ? &((const netport *)port->impl)->pending : NULL;
}

const bacsc_sc_port_config *bacsc_netport_sc_active(const bacsc_object *port)
{
    return dev_is_netport_sc(port) ? &((const netport *)port->impl)->active : NULL;
}

bool bacsc_netport_sc_changes_pending(const bacsc_object *port)
{
    return dev_is_netport_sc(port) && ((const netport *)port->impl)->changes_pending;
}

void bacsc_netport_sc_changes_applied(bacsc_object *port)
{
    if (!dev_is_netport_sc(port))
        return;
    netport *np = port->impl;
    np->active = np->pending;
    np->changes_pending = false;
    np->other_pending = false;
}

void bacsc_netport_sc_discard_changes(bacsc_object *port)
{
    if (!dev_is_netport_sc(port))
        return;
    netport *np = port->impl;
    np->pending = np->active;
    np->changes_pending = false;
    np->other_pending = false;
}

void bacsc_netport_sc_command_done(bacsc_object *port)
{
    if (dev_is_netport_sc(port))
        ((netport *)port->impl)->command = BACSC_NPC_IDLE;
}

void bacsc_netport_sc_set_config(bacsc_object *port, const bacsc_sc_port_config *config)
{
    if (!dev_is_netport_sc(port) || config == NULL)
        return;
    netport *np = port->impl;
    np->active = *config;
    np->pending = *config;
    np->changes_pending = false;
}

void bacsc_netport_sc_set_validation_result(bacsc_object *port, const char *text)
{
    if (!dev_is_netport_sc(port))
        return;
    netport *np = port->impl;
    if (text == NULL) {
        np->validation[0] = '\0';
        return;
    }
    size_t n = strnlen(text, BACSC_COMMAND_RESULT_MAX);
    /* Do not cut a UTF-8 sequence in half. */
    while (n > 0 && n == BACSC_COMMAND_RESULT_MAX && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    memcpy(np->validation, text, n);
    np->validation[n] = '\0';
}

const char *bacsc_netport_sc_validation_result(const bacsc_object *port)
{
    return dev_is_netport_sc(port) ? ((const netport *)port->impl)->validation : "";
}

void bacsc_netport_sc_restore_pending(bacsc_object *port, const bacsc_sc_port_config *pending)
{
    if (!dev_is_netport_sc(port) || pending == NULL)
        return;
    netport *np = port->impl;
    np->pending = *pending;
    np->changes_pending = memcmp(&np->pending, &np->active, sizeof np->pending) != 0;
}

void bacsc_netport_sc_set_other_pending(bacsc_object *port, bool pending)
{
    if (dev_is_netport_sc(port))
        ((netport *)port->impl)->other_pending = pending;
}
