/*
 * commission.c — certificate management and mode switching through the
 * Network Port and File objects (bacsc/commission.h). Sans-I/O: keys,
 * CSRs, certificate parsing, clocks and storage are behind the ops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/commission.h"
#include "bacsc/error.h"

struct bacsc_commission {
    bacsc_device *dev;
    bacsc_commission_ops ops;
    bacsc_netport_callbacks sc_user_cb;    /* the runtime's refresh */
    bacsc_object *sc, *ip;
    bool has_ip;
    char name[BACSC_DEVICE_NAME_MAX + 1];
    uint8_t uuid[16];
    bacsc_commission_data d;               /* sc/ip copies synced from the ports */
};

/* ---- small helpers ---------------------------------------------------------------- */

static const char *const mode_names[] = {"ip", "dual", "sc"};

const char *bacsc_comm_mode_name(int mode)
{
    return mode >= 0 && mode <= 2 ? mode_names[mode] : "?";
}

int bacsc_comm_mode_parse(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, mode_names[i]) == 0)
            return i;
    return BACSC_ERR_INVALID_ARG;
}

static const char *const check_names[] = {
    "valid",         "no-certificate", "malformed-certificate", "no-key",
    "key-mismatch",  "not-yet-valid",  "expired",               "no-issuer",
    "unknown-issuer", "no-hub-uri",    "no-port-in-service",    "runtime-error",
    "malformed-crl", "crl-unknown-issuer", "crl-rollback",       "crl-expired",
};

const char *bacsc_cert_check_name(int code)
{
    if (code < 0 || (size_t)code >= sizeof check_names / sizeof check_names[0])
        return "unknown";
    return check_names[code];
}

static void blob_free(bacsc_blob *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static int blob_copy(bacsc_blob *dst, const bacsc_blob *src)
{
    dst->data = NULL;
    dst->len = 0;
    if (src->len == 0)
        return BACSC_OK;
    dst->data = malloc(src->len);
    if (dst->data == NULL)
        return BACSC_ERR_NOMEM;
    memcpy(dst->data, src->data, src->len);
    dst->len = src->len;
    return BACSC_OK;
}

static void files_free(bacsc_cert_files *f)
{
    blob_free(&f->opcert);
    for (int i = 0; i < BACSC_ISSUER_FILES_MAX; i++)
        blob_free(&f->issuer[i]);
    blob_free(&f->crl);
}

static int files_copy(bacsc_cert_files *dst, const bacsc_cert_files *src)
{
    memset(dst, 0, sizeof *dst);
    int rc = blob_copy(&dst->opcert, &src->opcert);
    for (int i = 0; rc == BACSC_OK && i < BACSC_ISSUER_FILES_MAX; i++)
        rc = blob_copy(&dst->issuer[i], &src->issuer[i]);
    if (rc == BACSC_OK)
        rc = blob_copy(&dst->crl, &src->crl);
    if (rc != BACSC_OK)
        files_free(dst);
    return rc;
}

static bool blob_eq(const bacsc_blob *a, const bacsc_blob *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static bool files_eq(const bacsc_cert_files *a, const bacsc_cert_files *b)
{
    if (!blob_eq(&a->opcert, &b->opcert))
        return false;
    for (int i = 0; i < BACSC_ISSUER_FILES_MAX; i++)
        if (!blob_eq(&a->issuer[i], &b->issuer[i]))
            return false;
    return blob_eq(&a->crl, &b->crl);
}

void bacsc_commission_data_free(bacsc_commission_data *d)
{
    if (d == NULL)
        return;
    files_free(&d->active);
    files_free(&d->pending);
    blob_free(&d->csr);
}

int bacsc_commission_data_copy(bacsc_commission_data *dst, const bacsc_commission_data *src)
{
    *dst = *src;
    memset(&dst->active, 0, sizeof dst->active);
    memset(&dst->pending, 0, sizeof dst->pending);
    memset(&dst->csr, 0, sizeof dst->csr);
    if (files_copy(&dst->active, &src->active) != BACSC_OK ||
        files_copy(&dst->pending, &src->pending) != BACSC_OK ||
        blob_copy(&dst->csr, &src->csr) != BACSC_OK) {
        bacsc_commission_data_free(dst);
        return BACSC_ERR_NOMEM;
    }
    return BACSC_OK;
}

int bacsc_commission_mode_of(const bacsc_sc_port_config *sc, const bacsc_ip_port_config *ip,
                             bool has_ip)
{
    bool ip_on = has_ip && ip && !ip->out_of_service;
    bool sc_on = sc && !sc->out_of_service;
    if (ip_on && sc_on)
        return BACSC_MODE_DUAL;
    if (sc_on)
        return BACSC_MODE_SC;
    return BACSC_MODE_IP;     /* (both off never gets applied) */
}

/* Pull the ports' configurations into c->d. */
static void sync_ports(bacsc_commission *c)
{
    c->d.sc_active = *bacsc_netport_sc_active(c->sc);
    c->d.sc_pending = *bacsc_netport_sc_pending(c->sc);
    if (c->ip) {
        c->d.ip_active = *bacsc_netport_ip_active(c->ip);
        c->d.ip_pending = *bacsc_netport_ip_pending(c->ip);
    }
}

static void notify_changed(bacsc_commission *c)
{
    sync_ports(c);
    bacsc_netport_sc_set_other_pending(c->sc, !files_eq(&c->d.pending, &c->d.active));
    if (c->ops.changed)
        c->ops.changed(c->ops.user, &c->d);
}

static void set_result(bacsc_commission *c, int code, const char *detail)
{
    if (detail && detail[0])
        snprintf(c->d.validation, sizeof c->d.validation, "%s: %s", bacsc_cert_check_name(code),
                 detail);
    else
        snprintf(c->d.validation, sizeof c->d.validation, "%s", bacsc_cert_check_name(code));
    bacsc_netport_sc_set_validation_result(c->sc, c->d.validation);
}

/* ---- File objects ------------------------------------------------------------------ */

static bacsc_blob *file_blob(bacsc_commission *c, uint32_t instance)
{
    switch (instance) {
    case BACSC_COMMISSION_FILE_OPCERT:
        return &c->d.pending.opcert;
    case BACSC_COMMISSION_FILE_ISSUER1:
        return &c->d.pending.issuer[0];
    case BACSC_COMMISSION_FILE_ISSUER2:
        return &c->d.pending.issuer[1];
    case BACSC_COMMISSION_FILE_CSR:
        return &c->d.csr;
    case BACSC_COMMISSION_FILE_CRL:
        return c->ops.check_crl ? &c->d.pending.crl : NULL;
    default:
        return NULL;
    }
}

/* File_Type follows the content: DER certificates are application/pkix-cert
 * (RFC 2585), PEM (and the PEM CSR) application/x-pem-file. */
static const char *f_type(void *user, uint32_t instance)
{
    bacsc_blob *b = file_blob(user, instance);
    if (b && b->len && b->data[0] == 0x30)
        return instance == BACSC_COMMISSION_FILE_CRL ? "application/pkix-crl"
                                                     : "application/pkix-cert";
    return "application/x-pem-file";
}

static int f_size(void *user, uint32_t instance, uint64_t *size)
{
    bacsc_blob *b = file_blob(user, instance);
    if (b == NULL)
        return BACSC_ERR_NOT_FOUND;
    *size = b->len;
    return BACSC_OK;
}

static int f_read(void *user, uint32_t instance, uint64_t offset, size_t count, uint8_t *buf,
                  size_t *n, bool *eof)
{
    bacsc_blob *b = file_blob(user, instance);
    if (b == NULL)
        return BACSC_ERR_NOT_FOUND;
    if (offset > b->len)
        return BACSC_ERR_INVALID_ARG;
    size_t left = b->len - (size_t)offset;
    *n = count < left ? count : left;
    if (*n)
        memcpy(buf, b->data + offset, *n);
    *eof = offset + *n >= b->len;
    return BACSC_OK;
}

static const char PEM_BEGIN[] = "-----BEGIN CERTIFICATE-----";
static const char PEM_END[] = "-----END CERTIFICATE-----";

static bool has_substr(const uint8_t *d, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(d + i, s, k) == 0)
            return true;
    return false;
}

/* Can these bytes start a certificate (PEM, after optional whitespace, or
 * a DER SEQUENCE)? */
static bool cert_start_ok(const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
        i++;
    if (i == n)
        return false;
    if (d[i] == 0x30)
        return true;
    size_t k = strlen(PEM_BEGIN);
    size_t m = n - i < k ? n - i : k;
    return memcmp(d + i, PEM_BEGIN, m) == 0;
}

/* The octets of the DER SEQUENCE at d (0 when the header says nothing
 * usable: bogus or not yet complete length octets). */
static size_t der_total(const uint8_t *d, size_t n)
{
    if (n < 2 || d[0] != 0x30)
        return 0;
    if (d[1] < 0x80)
        return 2 + (size_t)d[1];
    size_t nl = d[1] & 0x7F;
    if (nl == 0 || nl > 3 || n < 2 + nl)
        return 0;
    size_t total = 0;
    for (size_t i = 0; i < nl; i++)
        total = total << 8 | d[2 + i];
    return total + 2 + nl;
}

/* Anything after one complete certificate (DER: past the outer SEQUENCE;
 * PEM: other than whitespace after the END line) is refused. */
static bool cert_trailing(const uint8_t *d, size_t n)
{
    if (n >= 2 && d[0] == 0x30) {
        size_t total = der_total(d, n);
        return total && n > total;
    }
    size_t k = strlen(PEM_END);
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(d + i, PEM_END, k) != 0)
            continue;
        for (size_t j = i + k; j < n; j++)
            if (d[j] != '\r' && d[j] != '\n' && d[j] != ' ' && d[j] != '\t')
                return true;
        return false;
    }
    return false;
}

/* Is the file complete enough that it must parse? PEM: an END line is
 * present. DER: the outer SEQUENCE length is covered. */
static bool cert_complete(const uint8_t *d, size_t n)
{
    if (n >= 2 && d[0] == 0x30) {
        size_t total;
        if (d[1] < 0x80) {
            total = 2 + (size_t)d[1];
        } else {
            size_t nl = d[1] & 0x7F;
            if (nl == 0 || nl > 3 || n < 2 + nl)
                return nl == 0 || nl > 3;     /* bogus length: must parse (and fails) */
            total = 0;
            for (size_t i = 0; i < nl; i++)
                total = total << 8 | d[2 + i];
            total += 2 + nl;
        }
        return n >= total;
    }
    return has_substr(d, n, PEM_END);
}

static const char CRL_BEGIN[] = "-----BEGIN X509 CRL-----";

/* Can these bytes start a CRL (PEM or a DER SEQUENCE)? The whole set is
 * checked by ops.check_crl at validation and activation. */
static bool crl_start_ok(const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
        i++;
    if (i == n || d[i] == 0x30)
        return i < n;
    size_t k = strlen(CRL_BEGIN);
    size_t m = n - i < k ? n - i : k;
    return memcmp(d + i, CRL_BEGIN, m) == 0;
}

static bool file_content_ok(bacsc_commission *c, uint32_t instance, const uint8_t *d, size_t n)
{
    if (instance == BACSC_COMMISSION_FILE_CRL)
        return crl_start_ok(d, n);
    return cert_start_ok(d, n) && !cert_trailing(d, n) &&
           (!cert_complete(d, n) || c->ops.check_cert(c->ops.user, d, n) == BACSC_OK);
}

static int f_write(void *user, uint32_t instance, uint64_t offset, const uint8_t *data,
                   size_t len)
{
    bacsc_commission *c = user;
    if (instance == BACSC_COMMISSION_FILE_CSR)
        return BACSC_ERR_POLICY;
    bacsc_blob *b = file_blob(c, instance);
    if (b == NULL)
        return BACSC_ERR_NOT_FOUND;
    if (offset > b->len)
        return BACSC_ERR_INVALID_ARG;
    if (len == 0)
        return BACSC_OK;
    /* A write at `offset` keeps the first `offset` octets and replaces the rest. */
    size_t total = (size_t)offset + len;
    if (total > (instance == BACSC_COMMISSION_FILE_CRL ? BACSC_CRL_FILE_MAX
                                                       : BACSC_CERT_FILE_MAX))
        return BACSC_ERR_LIMIT;
    uint8_t *nd = malloc(total);
    if (nd == NULL)
        return BACSC_ERR_NOMEM;
    if (offset)
        memcpy(nd, b->data, (size_t)offset);
    memcpy(nd + offset, data, len);
    if (!file_content_ok(c, instance, nd, total)) {
        free(nd);
        return BACSC_ERR_MALFORMED;
    }
    free(b->data);
    b->data = nd;
    b->len = total;
    notify_changed(c);
    return BACSC_OK;
}

static int f_set_size(void *user, uint32_t instance, uint64_t size)
{
    bacsc_commission *c = user;
    if (instance == BACSC_COMMISSION_FILE_CSR)
        return BACSC_ERR_POLICY;
    bacsc_blob *b = file_blob(c, instance);
    if (b == NULL)
        return BACSC_ERR_NOT_FOUND;
    if (size != 0)
        return BACSC_ERR_MALFORMED;   /* only emptying a slot is meaningful */
    blob_free(b);
    notify_changed(c);
    return BACSC_OK;
}

/* ---- checks -------------------------------------------------------------------------- */

static int err_out(bacsc_error *err, uint16_t cls, uint16_t code)
{
    return bacsc_prop_error(err, cls, code);
}

/* Pending SC/IP configuration as it would be after a port write. */
static int check_ports(bacsc_commission *c, const bacsc_sc_port_config *sc,
                       const bacsc_ip_port_config *ip, bacsc_error *err)
{
    bool ip_on = c->has_ip && !ip->out_of_service;
    bool sc_on = !sc->out_of_service;
    if (!ip_on && !sc_on)
        return err_out(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
    return BACSC_OK;
}

static int check_write(void *user, bacsc_object *port, uint32_t property, const void *pending,
                       bacsc_error *err)
{
    (void)property;
    bacsc_commission *c = user;
    sync_ports(c);
    bacsc_sc_port_config sc = c->d.sc_pending;
    bacsc_ip_port_config ip = c->d.ip_pending;
    if (port == c->sc)
        sc = *(const bacsc_sc_port_config *)pending;
    else
        ip = *(const bacsc_ip_port_config *)pending;
    if (check_ports(c, &sc, &ip, err) < 0)
        return BACSC_ERR_POLICY;
    /* Persist what the write is about to commit. */
    c->d.sc_pending = sc;
    c->d.ip_pending = ip;
    if (c->ops.changed)
        c->ops.changed(c->ops.user, &c->d);
    return BACSC_OK;
}

/*
 * Validate a certificate set for running SC (and, with `need_hub`, the hub
 * URI). Returns the verdict code; v filled.
 */
static int validate_set(bacsc_commission *c, const bacsc_cert_files *files,
                        const bacsc_sc_port_config *sc, bool need_hub, bacsc_cert_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (c->ops.validate(c->ops.user, files, v) < 0) {
        v->code = BACSC_CERTCHK_RUNTIME;
        snprintf(v->detail, sizeof v->detail, "validation failed inside the device");
    }
    if (v->code == BACSC_CERTCHK_OK && need_hub && sc->primary_hub_uri[0] == '\0') {
        v->code = BACSC_CERTCHK_NO_HUB;
        v->detail[0] = '\0';
    }
    return v->code;
}

/* Check the pending CRL set against the pending issuers and the installed
 * CRLs; on OK *keep is the set to activate. Returns the verdict code. */
static int check_crls(bacsc_commission *c, bacsc_blob *keep, bacsc_cert_verdict *v)
{
    memset(keep, 0, sizeof *keep);
    if (c->ops.check_crl == NULL ||
        (c->d.pending.crl.len == 0 && c->d.active.crl.len == 0))
        return BACSC_CERTCHK_OK;
    memset(v, 0, sizeof *v);
    int code = c->ops.check_crl(c->ops.user, &c->d.pending, &c->d.active.crl, keep, v->detail,
                                sizeof v->detail);
    if (code < 0) {
        snprintf(v->detail, sizeof v->detail, "CRL check failed inside the device");
        code = BACSC_CERTCHK_RUNTIME;
    }
    if (code != BACSC_CERTCHK_OK)
        blob_free(keep);
    v->code = code;
    return code;
}

/* ---- Command -------------------------------------------------------------------------- */

static int discard(bacsc_commission *c)
{
    files_free(&c->d.pending);
    if (files_copy(&c->d.pending, &c->d.active) != BACSC_OK)
        return BACSC_ERR_NOMEM;
    notify_changed(c);
    return 1;
}

static int command(void *user, bacsc_object *port, uint8_t cmd, bacsc_error *err)
{
    bacsc_commission *c = user;
    if (cmd == BACSC_NPC_DISCARD_CHANGES) {
        /* Either port's discard drops every pending change, ports included. */
        if (port == c->sc && c->ip)
            bacsc_netport_ip_discard_changes(c->ip);
        if (port != c->sc)
            bacsc_netport_sc_discard_changes(c->sc);
        return discard(c);
    }
    if (port != c->sc)
        return err_out(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
    sync_ports(c);
    if (cmd == BACSC_NPC_GENERATE_CSR_FILE) {
        char cn[BACSC_DEVICE_NAME_MAX + BACSC_DEVICE_STRING_MAX + 2];
        const char *dom = c->d.sc_pending.site_domain;
        if (dom[0])
            snprintf(cn, sizeof cn, "%s.%s", c->name, dom);
        else
            snprintf(cn, sizeof cn, "%s", c->name);
        uint8_t *csr = NULL;
        size_t len = 0;
        if (c->ops.generate_csr(c->ops.user, cn, c->uuid, &csr, &len) < 0 || csr == NULL) {
            free(csr);
            return err_out(err, BACSC_ERROR_CLASS_DEVICE, BACSC_EC_OTHER);
        }
        blob_free(&c->d.csr);
        c->d.csr.data = csr;
        c->d.csr.len = len;
        c->d.has_new_key = true;
        notify_changed(c);
        return 1;
    }
    if (cmd == BACSC_NPC_VALIDATE_CHANGES) {
        bacsc_cert_verdict v;
        int code = validate_set(c, &c->d.pending, &c->d.sc_pending,
                                !c->d.sc_pending.out_of_service, &v);
        bacsc_cert_verdict cv;
        bacsc_blob keep;
        if (code == BACSC_CERTCHK_OK && check_crls(c, &keep, &cv) != BACSC_CERTCHK_OK)
            v = cv;
        else if (code == BACSC_CERTCHK_OK)
            blob_free(&keep);
        code = v.code;
        set_result(c, code, v.detail);
        notify_changed(c);
        if (code != BACSC_CERTCHK_OK)
            return err_out(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
        return 1;
    }
    return err_out(err, BACSC_ERROR_CLASS_PROPERTY, BACSC_EC_VALUE_OUT_OF_RANGE);
}

static void refresh(void *user, bacsc_object *port, bacsc_sc_port_state *state)
{
    bacsc_commission *c = user;
    if (c->sc_user_cb.refresh)
        c->sc_user_cb.refresh(c->sc_user_cb.user, port, state);
}

/* ---- activate-changes -------------------------------------------------------------------- */

static int activation_failed(bacsc_commission *c, int code, const char *detail,
                             bacsc_error *err)
{
    set_result(c, code, detail);
    notify_changed(c);
    return err_out(err, BACSC_ERROR_CLASS_DEVICE, BACSC_EC_ID_INVALID_CONFIGURATION_DATA);
}

static int activate(bacsc_commission *c, bacsc_error *err)
{
    sync_ports(c);
    const bacsc_sc_port_config *sc = &c->d.sc_pending;
    const bacsc_ip_port_config *ip = &c->d.ip_pending;
    bool ip_on = c->has_ip && !ip->out_of_service;
    bool sc_on = !sc->out_of_service;
    if (!ip_on && !sc_on)
        return activation_failed(c, BACSC_CERTCHK_NO_PORT, "", err);
    bool certs_changed = !files_eq(&c->d.pending, &c->d.active);
    bacsc_cert_verdict v;
    memset(&v, 0, sizeof v);
    bool key_new = false;
    if (sc_on || (certs_changed && c->d.pending.opcert.len > 0)) {
        int code = validate_set(c, &c->d.pending, sc, sc_on, &v);
        if (code != BACSC_CERTCHK_OK)
            return activation_failed(c, code, v.detail, err);
        key_new = v.new_key;
    }
    bacsc_cert_verdict cv;
    bacsc_blob keep;
    int code = check_crls(c, &keep, &cv);
    if (code != BACSC_CERTCHK_OK)
        return activation_failed(c, code, cv.detail, err);
    bacsc_commission_data next;
    if (bacsc_commission_data_copy(&next, &c->d) != BACSC_OK) {
        blob_free(&keep);
        return err_out(err, BACSC_ERROR_CLASS_RESOURCES, BACSC_EC_OTHER);
    }
    blob_free(&next.pending.crl);
    next.pending.crl = keep; /* the checked set (CRLs of removed issuers dropped) */
    files_free(&next.active);
    if (files_copy(&next.active, &next.pending) != BACSC_OK) {
        bacsc_commission_data_free(&next);
        return err_out(err, BACSC_ERROR_CLASS_RESOURCES, BACSC_EC_OTHER);
    }
    next.sc_active = next.sc_pending;
    next.ip_active = next.ip_pending;
    next.active_key_is_new = key_new;
    if (key_new)
        next.has_new_key = false;
    if (v.code == BACSC_CERTCHK_OK && (sc_on || certs_changed))
        snprintf(next.validation, sizeof next.validation, "%s%s%s",
                 bacsc_cert_check_name(BACSC_CERTCHK_OK), v.detail[0] ? ": " : "", v.detail);
    char detail[BACSC_COMMISSION_DETAIL_MAX] = "";
    if (c->ops.activate(c->ops.user, &next, detail, sizeof detail) < 0) {
        bacsc_commission_data_free(&next);
        return activation_failed(c, BACSC_CERTCHK_RUNTIME, detail, err);
    }
    next.active_key_is_new = false;
    bacsc_commission_data_free(&c->d);
    c->d = next;
    bacsc_netport_sc_changes_applied(c->sc);
    if (c->ip)
        bacsc_netport_ip_changes_applied(c->ip);
    bacsc_netport_sc_set_validation_result(c->sc, c->d.validation);
    return BACSC_OK;
}

int bacsc_commission_reinitialize(bacsc_commission *c, uint8_t state, bacsc_error *err)
{
    switch (state) {
    case BACSC_REINIT_ACTIVATE_CHANGES:
        return activate(c, err);
    case BACSC_REINIT_COLDSTART:
    case BACSC_REINIT_WARMSTART:
        /* Never acknowledge a restart nobody performs. */
        if (c->ops.restart == NULL)
            return err_out(err, BACSC_ERROR_CLASS_SERVICES,
                           BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED);
        c->ops.restart(c->ops.user, state);
        return BACSC_OK;
    default:
        return err_out(err, BACSC_ERROR_CLASS_SERVICES,
                       BACSC_EC_OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED);
    }
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int bacsc_commission_new(const bacsc_commission_config *cfg, bacsc_commission **out)
{
    if (cfg == NULL || out == NULL || cfg->dev == NULL || cfg->ops.generate_csr == NULL ||
        cfg->ops.validate == NULL || cfg->ops.check_cert == NULL || cfg->ops.activate == NULL)
        return BACSC_ERR_INVALID_ARG;
    bacsc_commission *c = calloc(1, sizeof *c);
    if (c == NULL)
        return BACSC_ERR_NOMEM;
    c->dev = cfg->dev;
    c->ops = cfg->ops;
    c->has_ip = cfg->has_ip_port;
    if (cfg->sc_cb)
        c->sc_user_cb = *cfg->sc_cb;
    snprintf(c->name, sizeof c->name, "%s", cfg->device_name ? cfg->device_name : "device");
    if (cfg->uuid)
        memcpy(c->uuid, cfg->uuid, 16);
    if (cfg->initial) {
        if (bacsc_commission_data_copy(&c->d, cfg->initial) != BACSC_OK) {
            free(c);
            return BACSC_ERR_NOMEM;
        }
    } else {
        c->d.sc_active = c->d.sc_pending = cfg->sc;
        c->d.ip_active = c->d.ip_pending = cfg->ip;
    }
    c->d.active_key_is_new = false;
    /* The File objects are ours whatever a restored state says. */
    bacsc_sc_port_config *scs[2] = {&c->d.sc_active, &c->d.sc_pending};
    for (int i = 0; i < 2; i++) {
        scs[i]->operational_certificate_file = BACSC_COMMISSION_FILE_OPCERT;
        scs[i]->issuer_certificate_files[0] = BACSC_COMMISSION_FILE_ISSUER1;
        scs[i]->issuer_certificate_files[1] = BACSC_COMMISSION_FILE_ISSUER2;
        scs[i]->certificate_signing_request_file = BACSC_COMMISSION_FILE_CSR;
        scs[i]->crl_file = cfg->ops.check_crl ? BACSC_COMMISSION_FILE_CRL : BACSC_MAX_INSTANCE;
    }
    if (!c->has_ip) {
        c->d.sc_active.out_of_service = false;
        c->d.sc_pending.out_of_service = false;
    }

    bacsc_netport_callbacks cb = {.refresh = refresh, .command = command,
                                  .check_write = check_write, .user = c};
    bacsc_file_ops fo = {.size = f_size, .read = f_read, .write = f_write,
                         .set_size = f_set_size, .user = c, .type = f_type};
    int rc = bacsc_device_add_netport_sc(c->dev, BACSC_COMMISSION_SC_PORT, "SC", &c->d.sc_active,
                                         &cb, &c->sc);
    if (rc == BACSC_OK && c->has_ip)
        rc = bacsc_device_add_netport_ip(c->dev, BACSC_COMMISSION_IP_PORT, "IP",
                                         &c->d.ip_active, &cb, &c->ip);
    static const char *const fnames[4] = {"operational-certificate", "issuer-certificate-1",
                                          "issuer-certificate-2", "certificate-signing-request"};
    for (uint32_t i = 0; rc == BACSC_OK && i < 4; i++)
        rc = bacsc_device_add_file(c->dev, BACSC_COMMISSION_FILE_OPCERT + i, fnames[i],
                                   "application/x-pem-file",
                                   i + 1 == BACSC_COMMISSION_FILE_CSR, true, &fo, NULL);
    if (rc == BACSC_OK && c->ops.check_crl)
        rc = bacsc_device_add_file(c->dev, BACSC_COMMISSION_FILE_CRL,
                                   "certificate-revocation-list", "application/x-pem-file",
                                   false, true, &fo, NULL);
    if (rc != BACSC_OK) {
        bacsc_commission_data_free(&c->d);
        free(c);
        return rc;
    }
    /* Restore the pending half of a saved state into the ports. */
    if (cfg->initial) {
        if (memcmp(&c->d.sc_pending, &c->d.sc_active, sizeof c->d.sc_pending) != 0) {
            bacsc_netport_sc_restore_pending(c->sc, &c->d.sc_pending);
        }
        if (c->ip && memcmp(&c->d.ip_pending, &c->d.ip_active, sizeof c->d.ip_pending) != 0)
            bacsc_netport_ip_restore_pending(c->ip, &c->d.ip_pending);
        bacsc_netport_sc_set_validation_result(c->sc, c->d.validation);
        bacsc_netport_sc_set_other_pending(c->sc, !files_eq(&c->d.pending, &c->d.active));
    }
    *out = c;
    return BACSC_OK;
}

void bacsc_commission_free(bacsc_commission *c)
{
    if (c == NULL)
        return;
    bacsc_commission_data_free(&c->d);
    free(c);
}

const bacsc_commission_data *bacsc_commission_state(const bacsc_commission *c)
{
    sync_ports((bacsc_commission *)c);
    return &c->d;
}

int bacsc_commission_mode(const bacsc_commission *c)
{
    return bacsc_commission_mode_of(bacsc_netport_sc_active(c->sc),
                                    c->ip ? bacsc_netport_ip_active(c->ip) : NULL, c->has_ip);
}

int bacsc_commission_pending_mode(const bacsc_commission *c)
{
    return bacsc_commission_mode_of(bacsc_netport_sc_pending(c->sc),
                                    c->ip ? bacsc_netport_ip_pending(c->ip) : NULL, c->has_ip);
}

bacsc_object *bacsc_commission_sc_port(bacsc_commission *c)
{
    return c->sc;
}

bacsc_object *bacsc_commission_ip_port(bacsc_commission *c)
{
    return c->ip;
}

int bacsc_commission_set_pending_mode(bacsc_commission *c, int mode)
{
    if (mode < 0 || mode > 2 || (mode != BACSC_MODE_SC && !c->has_ip))
        return BACSC_ERR_POLICY;
    sync_ports(c);
    bacsc_sc_port_config sc = c->d.sc_pending;
    bacsc_ip_port_config ip = c->d.ip_pending;
    sc.out_of_service = mode == BACSC_MODE_IP;
    ip.out_of_service = mode == BACSC_MODE_SC;
    bacsc_error err;
    if (check_ports(c, &sc, &ip, &err) < 0)
        return BACSC_ERR_POLICY;
    bacsc_netport_sc_restore_pending(c->sc, &sc);
    if (c->ip)
        bacsc_netport_ip_restore_pending(c->ip, &ip);
    notify_changed(c);
    return BACSC_OK;
}
