/*
 * device_state.c — the device state directory (SQLite + key files) and the
 * commissioning runtime ops (bacsc/device_state.h).
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "bacsc/device_state.h"
#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/pki.h"
#include "bacsc/renewal.h"

#define NAME_MAX_LEN 64

struct bacsc_devstate {
    sqlite3 *db;
    char dir[4096];
    unsigned crash_at, steps; /* bacsc_devstate_crash_at() */
    int lock_fd;              /* DIR/lock, flock()ed while open */
};

void bacsc_devstate_crash_at(bacsc_devstate *st, unsigned n)
{
    st->crash_at = n;
    st->steps = 0;
}

/* A durable step is done: die here when a test asked for it. */
static void step(bacsc_devstate *st)
{
    if (st->crash_at && ++st->steps == st->crash_at)
        kill(getpid(), SIGKILL);
}

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS device ("
    " instance INTEGER PRIMARY KEY,"
    " uuid BLOB NOT NULL,"
    " saved INTEGER NOT NULL DEFAULT 0,"       /* 1 once commissioning data was saved */
    " act_opcert BLOB, act_issuer1 BLOB, act_issuer2 BLOB,"
    " pen_opcert BLOB, pen_issuer1 BLOB, pen_issuer2 BLOB,"
    " csr BLOB, has_new_key INTEGER NOT NULL DEFAULT 0,"
    " ports TEXT,"                             /* JSON: sc/ip active/pending */
    " validation TEXT NOT NULL DEFAULT '',"
    " active_key TEXT NOT NULL DEFAULT '', new_key TEXT NOT NULL DEFAULT '',"
    " vmac BLOB,"                               /* BACnet/SC VMAC, kept across restarts */
    " act_crl BLOB, pen_crl BLOB)";             /* CRLs of the issuers (proprietary file) */

static int set_err(char *err, size_t errlen, int rc, const char *fmt, const char *a,
                   const char *b)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a, b);
    return rc;
}

static int exec(bacsc_devstate *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        BACSC_ERROR("device state: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return BACSC_ERR_DB;
    }
    return BACSC_OK;
}

/* Remove key files no row names (left by a crash between writing a key
 * and the transaction that would have named it). */
static void sweep_keys(bacsc_devstate *st)
{
    char kd[4200];
    snprintf(kd, sizeof kd, "%s/keys", st->dir);
    DIR *d = opendir(kd);
    if (d == NULL)
        return;
    sqlite3_stmt *q = NULL;
    sqlite3_prepare_v2(st->db,
                       "SELECT 1 FROM device WHERE active_key = ?1 OR new_key = ?1 LIMIT 1", -1,
                       &q, NULL);
    struct dirent *e;
    while (q && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "dev-", 4) != 0)
            continue;
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, e->d_name, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(q) != SQLITE_ROW) {
            char path[4500];
            snprintf(path, sizeof path, "%s/%s", kd, e->d_name);
            unlink(path);
        }
    }
    sqlite3_finalize(q);
    closedir(d);
}

/*
 * One process per state directory: DIR/lock is flock()ed while the state is
 * open and holds the owner's PID, so a second copy stops with a clear error
 * instead of both answering on the same ports and displacing each other at
 * the hub. The kernel releases the lock when the owner dies (even kill -9).
 */
static int lock_dir(const char *dir, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(err, errlen, "state directory %s is in use by process %s (another bacsc device)",
                 dir, pid[0] ? pid : "?");
        close(fd);
        return -1;
    }
    char line[32];
    int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)len, 0) != len)
        BACSC_WARN("device state: cannot record the PID in %s: %s", path, strerror(errno));
    return fd;
}

/* A state directory made before a column existed gets it. */
static int add_column(bacsc_devstate *st, const char *name)
{
    sqlite3_stmt *q = NULL;
    bool have = false;
    if (sqlite3_prepare_v2(st->db, "SELECT name FROM pragma_table_info('device')", -1, &q,
                           NULL) != SQLITE_OK)
        return BACSC_ERR_DB;
    while (sqlite3_step(q) == SQLITE_ROW)
        if (strcmp((const char *)sqlite3_column_text(q, 0), name) == 0)
            have = true;
    sqlite3_finalize(q);
    char sql[128];
    snprintf(sql, sizeof sql, "ALTER TABLE device ADD COLUMN %s BLOB", name);
    return have ? BACSC_OK : exec(st, sql);
}

static int add_columns(bacsc_devstate *st)
{
    static const char *const cols[] = {"vmac", "act_crl", "pen_crl"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        if (add_column(st, cols[i]) != BACSC_OK)
            return BACSC_ERR_DB;
    return BACSC_OK;
}

int bacsc_devstate_open(const char *dir, bacsc_devstate **out, char *err, size_t errlen)
{
    if (dir == NULL || out == NULL || strlen(dir) > 4000)
        return set_err(err, errlen, BACSC_ERR_INVALID_ARG, "bad state directory%s%s", "", "");
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return set_err(err, errlen, BACSC_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    char kd[4200];
    snprintf(kd, sizeof kd, "%s/keys", dir);
    if (mkdir(kd, 0700) < 0 && errno != EEXIST)
        return set_err(err, errlen, BACSC_ERR_IO, "cannot create %s: %s", kd, strerror(errno));
    int lock_fd = lock_dir(dir, err, errlen);
    if (lock_fd < 0)
        return BACSC_ERR_EXISTS;
    bacsc_devstate *st = calloc(1, sizeof *st);
    if (st == NULL) {
        close(lock_fd);
        return BACSC_ERR_NOMEM;
    }
    st->lock_fd = lock_fd;
    snprintf(st->dir, sizeof st->dir, "%s", dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/state.db", dir);
    mode_t old = umask(077);
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    umask(old);
    if (rc != SQLITE_OK) {
        set_err(err, errlen, BACSC_ERR_DB, "cannot open %s: %s", path,
                st->db ? sqlite3_errmsg(st->db) : "?");
        bacsc_devstate_close(st);
        return BACSC_ERR_DB;
    }
    sqlite3_busy_timeout(st->db, 15000);
    if (exec(st, "PRAGMA journal_mode = WAL") != BACSC_OK ||
        exec(st, "PRAGMA synchronous = NORMAL") != BACSC_OK || exec(st, SCHEMA) != BACSC_OK ||
        add_columns(st) != BACSC_OK) {
        set_err(err, errlen, BACSC_ERR_DB, "cannot initialise %s: %s", path,
                sqlite3_errmsg(st->db));
        bacsc_devstate_close(st);
        return BACSC_ERR_DB;
    }
    sweep_keys(st);
    *out = st;
    return BACSC_OK;
}

void bacsc_devstate_close(bacsc_devstate *st)
{
    if (st == NULL)
        return;
    sqlite3_close(st->db);
    close(st->lock_fd); /* releases the lock */
    free(st);
}

const char *bacsc_devstate_dir(const bacsc_devstate *st)
{
    return st->dir;
}

int bacsc_devstate_uuid(bacsc_devstate *st, uint32_t instance, uint8_t uuid[16])
{
    sqlite3_stmt *q = NULL;
    int rc = BACSC_ERR_DB;
    if (sqlite3_prepare_v2(st->db, "SELECT uuid FROM device WHERE instance = ?", -1, &q, NULL) !=
        SQLITE_OK)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(q, 1, instance);
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 0) == 16) {
        memcpy(uuid, sqlite3_column_blob(q, 0), 16);
        sqlite3_finalize(q);
        return BACSC_OK;
    }
    sqlite3_finalize(q);
    if (RAND_bytes(uuid, 16) != 1)
        return BACSC_ERR_CRYPTO;
    uuid[6] = (uint8_t)((uuid[6] & 0x0F) | 0x40);   /* version 4 */
    uuid[8] = (uint8_t)((uuid[8] & 0x3F) | 0x80);   /* RFC 4122 variant */
    if (sqlite3_prepare_v2(st->db, "INSERT INTO device(instance, uuid) VALUES(?, ?)", -1, &q,
                           NULL) != SQLITE_OK)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(q, 1, instance);
    sqlite3_bind_blob(q, 2, uuid, 16, SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_DONE)
        rc = BACSC_OK;
    sqlite3_finalize(q);
    return rc;
}

int bacsc_devstate_vmac(bacsc_devstate *st, uint32_t instance, uint8_t vmac[6])
{
    uint8_t uuid[16];
    int rc = bacsc_devstate_uuid(st, instance, uuid); /* makes sure the row exists */
    if (rc != BACSC_OK)
        return rc;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT vmac FROM device WHERE instance = ?", -1, &q, NULL) !=
        SQLITE_OK)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(q, 1, instance);
    bool have = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 0) == 6;
    if (have)
        memcpy(vmac, sqlite3_column_blob(q, 0), 6);
    sqlite3_finalize(q);
    if (have)
        return BACSC_OK;
    if (RAND_bytes(vmac, 6) != 1)
        return BACSC_ERR_CRYPTO;
    vmac[0] = (uint8_t)((vmac[0] & 0xFC) | 0x02); /* locally administered, unicast */
    rc = BACSC_ERR_DB;
    if (sqlite3_prepare_v2(st->db, "UPDATE device SET vmac = ? WHERE instance = ?", -1, &q,
                           NULL) != SQLITE_OK)
        return rc;
    sqlite3_bind_blob(q, 1, vmac, 6, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, instance);
    if (sqlite3_step(q) == SQLITE_DONE)
        rc = BACSC_OK;
    sqlite3_finalize(q);
    return rc;
}

/* ---- port configurations as JSON ------------------------------------------------------ */

static json_t *uris_json(const char (*u)[BACSC_URI_MAX])
{
    json_t *a = json_array();
    for (int i = 0; i < BACSC_SC_ACCEPT_URIS_MAX && u[i][0]; i++)
        json_array_append_new(a, json_string(u[i]));
    return a;
}

static json_t *sc_json(const bacsc_sc_port_config *c)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:o, s:s, s:b, s:b, s:o, s:s,"
                     " s:I, s:b, s:s}",
                     "primary_hub_uri", c->primary_hub_uri, "failover_hub_uri",
                     c->failover_hub_uri, "min_reconnect", (json_int_t)c->min_reconnect_time,
                     "max_reconnect", (json_int_t)c->max_reconnect_time, "connect_wait",
                     (json_int_t)c->connect_wait_timeout, "disconnect_wait",
                     (json_int_t)c->disconnect_wait_timeout, "heartbeat",
                     (json_int_t)c->heartbeat_timeout, "hub_function_enable",
                     c->hub_function_enable, "hub_accept_uris",
                     uris_json(c->hub_function_accept_uris), "hub_binding",
                     c->hub_function_binding, "dc_initiate", c->direct_connect_initiate_enable,
                     "dc_accept", c->direct_connect_accept_enable, "dc_accept_uris",
                     uris_json(c->direct_connect_accept_uris), "dc_binding",
                     c->direct_connect_binding, "network_number", (json_int_t)c->network_number,
                     "out_of_service", c->out_of_service, "site_domain", c->site_domain);
}

static void copy_str(char *dst, size_t cap, json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(dst, cap, "%s", s ? s : "");
}

static uint32_t get_u(json_t *o, const char *key, uint32_t def)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (uint32_t)json_integer_value(v) : def;
}

static void uris_from(char (*u)[BACSC_URI_MAX], json_t *a)
{
    memset(u, 0, sizeof(char[BACSC_SC_ACCEPT_URIS_MAX][BACSC_URI_MAX]));
    for (size_t i = 0; i < json_array_size(a) && i < BACSC_SC_ACCEPT_URIS_MAX; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        snprintf(u[i], BACSC_URI_MAX, "%s", s ? s : "");
    }
}

static void sc_from(bacsc_sc_port_config *c, json_t *o)
{
    bacsc_sc_port_config_defaults(c);
    copy_str(c->primary_hub_uri, sizeof c->primary_hub_uri, o, "primary_hub_uri");
    copy_str(c->failover_hub_uri, sizeof c->failover_hub_uri, o, "failover_hub_uri");
    c->min_reconnect_time = get_u(o, "min_reconnect", c->min_reconnect_time);
    c->max_reconnect_time = get_u(o, "max_reconnect", c->max_reconnect_time);
    c->connect_wait_timeout = get_u(o, "connect_wait", c->connect_wait_timeout);
    c->disconnect_wait_timeout = get_u(o, "disconnect_wait", c->disconnect_wait_timeout);
    c->heartbeat_timeout = get_u(o, "heartbeat", c->heartbeat_timeout);
    c->hub_function_enable = json_is_true(json_object_get(o, "hub_function_enable"));
    uris_from(c->hub_function_accept_uris, json_object_get(o, "hub_accept_uris"));
    copy_str(c->hub_function_binding, sizeof c->hub_function_binding, o, "hub_binding");
    c->direct_connect_initiate_enable = json_is_true(json_object_get(o, "dc_initiate"));
    c->direct_connect_accept_enable = json_is_true(json_object_get(o, "dc_accept"));
    uris_from(c->direct_connect_accept_uris, json_object_get(o, "dc_accept_uris"));
    copy_str(c->direct_connect_binding, sizeof c->direct_connect_binding, o, "dc_binding");
    c->network_number = (uint16_t)get_u(o, "network_number", 0);
    c->out_of_service = json_is_true(json_object_get(o, "out_of_service"));
    copy_str(c->site_domain, sizeof c->site_domain, o, "site_domain");
}

static json_t *ip_json(const bacsc_ip_port_config *c)
{
    char ip[16], mask[16];
    snprintf(ip, sizeof ip, "%u.%u.%u.%u", c->ip[0], c->ip[1], c->ip[2], c->ip[3]);
    snprintf(mask, sizeof mask, "%u.%u.%u.%u", c->mask[0], c->mask[1], c->mask[2], c->mask[3]);
    return json_pack("{s:s, s:s, s:I, s:I, s:b}", "ip", ip, "mask", mask, "udp_port",
                     (json_int_t)c->udp_port, "network_number", (json_int_t)c->network_number,
                     "out_of_service", c->out_of_service);
}

static void quad_from(uint8_t q[4], json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    unsigned a, b, c, d;
    if (s && sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) == 4 && a < 256 && b < 256 && c < 256 &&
        d < 256) {
        q[0] = (uint8_t)a;
        q[1] = (uint8_t)b;
        q[2] = (uint8_t)c;
        q[3] = (uint8_t)d;
    }
}

static void ip_from(bacsc_ip_port_config *c, json_t *o)
{
    memset(c, 0, sizeof *c);
    quad_from(c->ip, o, "ip");
    quad_from(c->mask, o, "mask");
    c->udp_port = (uint16_t)get_u(o, "udp_port", 0);
    c->network_number = (uint16_t)get_u(o, "network_number", 0);
    c->out_of_service = json_is_true(json_object_get(o, "out_of_service"));
}

/* ---- load / save ----------------------------------------------------------------------------- */

static int blob_from(bacsc_blob *b, sqlite3_stmt *q, int col)
{
    int n = sqlite3_column_bytes(q, col);
    b->data = NULL;
    b->len = 0;
    if (n <= 0)
        return BACSC_OK;
    b->data = malloc((size_t)n);
    if (b->data == NULL)
        return BACSC_ERR_NOMEM;
    memcpy(b->data, sqlite3_column_blob(q, col), (size_t)n);
    b->len = (size_t)n;
    return BACSC_OK;
}

int bacsc_devstate_load(bacsc_devstate *st, uint32_t instance, bacsc_commission_data *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT act_opcert, act_issuer1, act_issuer2, pen_opcert, pen_issuer1,"
                           " pen_issuer2, csr, has_new_key, ports, validation, act_crl, pen_crl"
                           " FROM device"
                           " WHERE instance = ? AND saved = 1",
                           -1, &q, NULL) != SQLITE_OK)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(q, 1, instance);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(q);
        return rc == SQLITE_DONE ? BACSC_ERR_NOT_FOUND : BACSC_ERR_DB;
    }
    bacsc_blob *blobs[7] = {&out->active.opcert, &out->active.issuer[0], &out->active.issuer[1],
                            &out->pending.opcert, &out->pending.issuer[0],
                            &out->pending.issuer[1], &out->csr};
    rc = BACSC_OK;
    for (int i = 0; i < 7 && rc == BACSC_OK; i++)
        rc = blob_from(blobs[i], q, i);
    if (rc == BACSC_OK)
        rc = blob_from(&out->active.crl, q, 10);
    if (rc == BACSC_OK)
        rc = blob_from(&out->pending.crl, q, 11);
    out->has_new_key = sqlite3_column_int(q, 7) != 0;
    const char *ports = (const char *)sqlite3_column_text(q, 8);
    const char *val = (const char *)sqlite3_column_text(q, 9);
    snprintf(out->validation, sizeof out->validation, "%s", val ? val : "");
    json_t *pj = ports ? json_loads(ports, 0, NULL) : NULL;
    if (rc == BACSC_OK && !json_is_object(pj))
        rc = BACSC_ERR_MALFORMED;
    if (rc == BACSC_OK) {
        sc_from(&out->sc_active, json_object_get(pj, "sc_active"));
        sc_from(&out->sc_pending, json_object_get(pj, "sc_pending"));
        ip_from(&out->ip_active, json_object_get(pj, "ip_active"));
        ip_from(&out->ip_pending, json_object_get(pj, "ip_pending"));
    }
    json_decref(pj);
    sqlite3_finalize(q);
    if (rc != BACSC_OK)
        bacsc_commission_data_free(out);
    return rc;
}

static void bind_blob(sqlite3_stmt *q, int i, const bacsc_blob *b)
{
    if (b->len)
        sqlite3_bind_blob(q, i, b->data, (int)b->len, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

/* Save `d` (and, when non-NULL, the key names) in one transaction. */
static int save(bacsc_devstate *st, uint32_t instance, const bacsc_commission_data *d,
                const char *active_key, const char *new_key)
{
    json_t *pj = json_pack("{s:o, s:o, s:o, s:o}", "sc_active", sc_json(&d->sc_active),
                           "sc_pending", sc_json(&d->sc_pending), "ip_active",
                           ip_json(&d->ip_active), "ip_pending", ip_json(&d->ip_pending));
    char *ports = pj ? json_dumps(pj, JSON_COMPACT) : NULL;
    json_decref(pj);
    if (ports == NULL)
        return BACSC_ERR_NOMEM;
    int rc = BACSC_ERR_DB;
    sqlite3_stmt *q = NULL;
    step(st);
    if (exec(st, "BEGIN IMMEDIATE") != BACSC_OK) {
        free(ports);
        return BACSC_ERR_DB;
    }
    if (sqlite3_prepare_v2(
            st->db,
            "UPDATE device SET saved = 1, act_opcert = ?2, act_issuer1 = ?3, act_issuer2 = ?4,"
            " pen_opcert = ?5, pen_issuer1 = ?6, pen_issuer2 = ?7, csr = ?8, has_new_key = ?9,"
            " ports = ?10, validation = ?11,"
            " active_key = COALESCE(?12, active_key), new_key = COALESCE(?13, new_key),"
            " act_crl = ?14, pen_crl = ?15"
            " WHERE instance = ?1",
            -1, &q, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(q, 1, instance);
    bind_blob(q, 2, &d->active.opcert);
    bind_blob(q, 3, &d->active.issuer[0]);
    bind_blob(q, 4, &d->active.issuer[1]);
    bind_blob(q, 5, &d->pending.opcert);
    bind_blob(q, 6, &d->pending.issuer[0]);
    bind_blob(q, 7, &d->pending.issuer[1]);
    bind_blob(q, 8, &d->csr);
    sqlite3_bind_int(q, 9, d->has_new_key);
    sqlite3_bind_text(q, 10, ports, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 11, d->validation, -1, SQLITE_STATIC);
    if (active_key)
        sqlite3_bind_text(q, 12, active_key, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 12);
    if (new_key)
        sqlite3_bind_text(q, 13, new_key, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 13);
    bind_blob(q, 14, &d->active.crl);
    bind_blob(q, 15, &d->pending.crl);
    if (sqlite3_step(q) == SQLITE_DONE && sqlite3_changes(st->db) == 1)
        rc = BACSC_OK;
    step(st); /* inside the transaction, before COMMIT */
out:
    sqlite3_finalize(q);
    free(ports);
    if (rc == BACSC_OK && exec(st, "COMMIT") == BACSC_OK) {
        step(st);
        return BACSC_OK;
    }
    exec(st, "ROLLBACK");
    return BACSC_ERR_DB;
}

int bacsc_devstate_save(bacsc_devstate *st, uint32_t instance, const bacsc_commission_data *d)
{
    uint8_t uuid[16];
    int rc = bacsc_devstate_uuid(st, instance, uuid);   /* makes sure the row exists */
    if (rc != BACSC_OK)
        return rc;
    return save(st, instance, d, NULL, NULL);
}

/* ---- the runtime ---------------------------------------------------------------------------- */

struct bacsc_devrt {
    bacsc_devstate *st;
    uint32_t instance;
    EVP_PKEY *key, *new_key;
    char key_name[NAME_MAX_LEN], new_key_name[NAME_MAX_LEN];
    char key_path[4300];
    bacsc_devrt_apply_fn apply;
    void *apply_user;
    bacsc_devrt_clock_fn clock;
    void *clock_user;
};

static void key_path(const bacsc_devrt *rt, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/keys/%s", rt->st->dir, name);
}

static int load_key(bacsc_devrt *rt, const char *name, EVP_PKEY **out)
{
    *out = NULL;
    if (name[0] == '\0')
        return BACSC_OK;
    char path[4300];
    key_path(rt, name, path, sizeof path);
    return bacsc_pki_key_read(path, NULL, out) == BACSC_OK ? BACSC_OK : BACSC_ERR_IO;
}

int bacsc_devrt_new(bacsc_devstate *st, uint32_t instance, bacsc_devrt **out)
{
    bacsc_devrt *rt = calloc(1, sizeof *rt);
    if (rt == NULL)
        return BACSC_ERR_NOMEM;
    rt->st = st;
    rt->instance = instance;
    uint8_t uuid[16];
    int rc = bacsc_devstate_uuid(st, instance, uuid);
    sqlite3_stmt *q = NULL;
    if (rc == BACSC_OK &&
        sqlite3_prepare_v2(st->db, "SELECT active_key, new_key FROM device WHERE instance = ?",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, instance);
        if (sqlite3_step(q) == SQLITE_ROW) {
            const char *a = (const char *)sqlite3_column_text(q, 0);
            const char *n = (const char *)sqlite3_column_text(q, 1);
            snprintf(rt->key_name, sizeof rt->key_name, "%s", a ? a : "");
            snprintf(rt->new_key_name, sizeof rt->new_key_name, "%s", n ? n : "");
        }
        sqlite3_finalize(q);
    } else if (rc == BACSC_OK) {
        rc = BACSC_ERR_DB;
    }
    if (rc == BACSC_OK)
        rc = load_key(rt, rt->key_name, &rt->key);
    if (rc == BACSC_OK)
        rc = load_key(rt, rt->new_key_name, &rt->new_key);
    if (rc != BACSC_OK) {
        bacsc_devrt_free(rt);
        return rc;
    }
    if (rt->key_name[0])
        key_path(rt, rt->key_name, rt->key_path, sizeof rt->key_path);
    *out = rt;
    return BACSC_OK;
}

void bacsc_devrt_free(bacsc_devrt *rt)
{
    if (rt == NULL)
        return;
    EVP_PKEY_free(rt->key);
    EVP_PKEY_free(rt->new_key);
    free(rt);
}

void bacsc_devrt_set_apply(bacsc_devrt *rt, bacsc_devrt_apply_fn fn, void *user)
{
    rt->apply = fn;
    rt->apply_user = user;
}

void bacsc_devrt_set_clock(bacsc_devrt *rt, bacsc_devrt_clock_fn fn, void *user)
{
    rt->clock = fn;
    rt->clock_user = user;
}

EVP_PKEY *bacsc_devrt_key(const bacsc_devrt *rt)
{
    return rt->key;
}

const char *bacsc_devrt_key_path(const bacsc_devrt *rt)
{
    return rt->key_path;
}

static int64_t now_unix(const bacsc_devrt *rt)
{
    return rt->clock ? rt->clock(rt->clock_user) : (int64_t)time(NULL);
}

static void drop_key_file(bacsc_devrt *rt, const char *name)
{
    if (name[0] == '\0')
        return;
    char path[4300];
    key_path(rt, name, path, sizeof path);
    unlink(path);
    step(rt->st);
}

/*
 * A device that runs on a certificate signs its successor's CSR with the
 * current key (bacsc/renewal.h), so the CA can tell its renewal from a
 * stranger's request for the same Device UUID. *csr (PEM) is replaced.
 */
static int add_renewal_proof(bacsc_devrt *rt, EVP_PKEY *new_key, uint8_t **csr, size_t *csr_len)
{
    bacsc_commission_data d;
    if (!rt->key || bacsc_devstate_load(rt->st, rt->instance, &d) != BACSC_OK)
        return BACSC_OK;
    uint8_t *old = NULL, *der = NULL, *signed_der = NULL;
    size_t old_len = 0, der_len = 0, signed_len = 0;
    int rc = BACSC_OK;
    if (d.active.opcert.len &&
        bacsc_pki_to_der(BACSC_PKI_CERT, d.active.opcert.data, d.active.opcert.len, &old,
                         &old_len) == BACSC_OK &&
        bacsc_pki_to_der(BACSC_PKI_CSR, *csr, *csr_len, &der, &der_len) == BACSC_OK &&
        bacsc_renewal_add_proof(der, der_len, new_key, rt->key, old, old_len, &signed_der,
                                &signed_len) == BACSC_OK) {
        const unsigned char *p = signed_der;
        X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)signed_len);
        BIO *b = BIO_new(BIO_s_mem());
        char *pem;
        long n;
        rc = BACSC_ERR_CRYPTO;
        if (req && b && PEM_write_bio_X509_REQ(b, req) == 1 &&
            (n = BIO_get_mem_data(b, &pem)) > 0) {
            uint8_t *copy = malloc((size_t)n);
            if (copy) {
                memcpy(copy, pem, (size_t)n);
                free(*csr);
                *csr = copy;
                *csr_len = (size_t)n;
                rc = BACSC_OK;
            }
        }
        BIO_free(b);
        X509_REQ_free(req);
    }
    free(old);
    free(der);
    free(signed_der);
    bacsc_commission_data_free(&d);
    return rc;
}

static int rt_generate_csr(void *user, const char *cn, const uint8_t uuid[16], uint8_t **csr,
                           size_t *csr_len)
{
    bacsc_devrt *rt = user;
    EVP_PKEY *k = NULL;
    if (bacsc_pki_keygen(BACSC_KEY_EC_P256, &k) != BACSC_OK)
        return BACSC_ERR_CRYPTO;
    uint8_t rnd[8];
    char hex[17], name[NAME_MAX_LEN], path[4300];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        EVP_PKEY_free(k);
        return BACSC_ERR_CRYPTO;
    }
    bacsc_pki_hex(rnd, sizeof rnd, hex);
    snprintf(name, sizeof name, "dev-%u-%s.pem", (unsigned)rt->instance, hex);
    key_path(rt, name, path, sizeof path);
    int rc = bacsc_pki_key_write(path, k, NULL);
    step(rt->st);
    if (rc == BACSC_OK)
        rc = bacsc_devcert_make_csr(k, cn, uuid, csr, csr_len);
    if (rc == BACSC_OK)
        rc = add_renewal_proof(rt, k, csr, csr_len);
    if (rc == BACSC_OK) {
        /* Name the new key in the state before forgetting the previous one. */
        sqlite3_stmt *q = NULL;
        rc = BACSC_ERR_DB;
        if (sqlite3_prepare_v2(rt->st->db, "UPDATE device SET new_key = ? WHERE instance = ?",
                               -1, &q, NULL) == SQLITE_OK) {
            sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(q, 2, rt->instance);
            if (sqlite3_step(q) == SQLITE_DONE)
                rc = BACSC_OK;
        }
        sqlite3_finalize(q);
        step(rt->st);
    }
    if (rc != BACSC_OK) {
        unlink(path);
        EVP_PKEY_free(k);
        free(*csr);
        *csr = NULL;
        return rc;
    }
    if (strcmp(rt->new_key_name, rt->key_name) != 0)
        drop_key_file(rt, rt->new_key_name);
    EVP_PKEY_free(rt->new_key);
    rt->new_key = k;
    snprintf(rt->new_key_name, sizeof rt->new_key_name, "%s", name);
    return BACSC_OK;
}

static int rt_validate(void *user, const bacsc_cert_files *files, bacsc_cert_verdict *v)
{
    bacsc_devrt *rt = user;
    return bacsc_devcert_validate(files, rt->key, rt->new_key, now_unix(rt), v);
}

static int rt_check_cert(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    return bacsc_devcert_check(data, len);
}

static int rt_check_crl(void *user, const bacsc_cert_files *files, const bacsc_blob *installed,
                        bacsc_blob *out, char *detail, size_t cap)
{
    bacsc_devrt *rt = user;
    return bacsc_devcert_check_crl(files, installed, now_unix(rt), out, detail, cap);
}

static int rt_activate(void *user, const bacsc_commission_data *next, char *detail, size_t cap)
{
    bacsc_devrt *rt = user;
    EVP_PKEY *key = next->active_key_is_new ? rt->new_key : rt->key;
    if (rt->apply && rt->apply(rt->apply_user, next, key, detail, cap) < 0)
        return BACSC_ERR_STATE;
    step(rt->st);
    const char *akey = next->active_key_is_new ? rt->new_key_name : rt->key_name;
    const char *nkey = next->active_key_is_new ? "" : rt->new_key_name;
    char old_active[NAME_MAX_LEN];
    snprintf(old_active, sizeof old_active, "%s", rt->key_name);
    bacsc_commission_data saved;
    if (bacsc_commission_data_copy(&saved, next) != BACSC_OK) {
        snprintf(detail, cap, "out of memory");
        return BACSC_ERR_NOMEM;
    }
    saved.active_key_is_new = false;
    int rc = save(rt->st, rt->instance, &saved, akey, nkey);
    bacsc_commission_data_free(&saved);
    if (rc != BACSC_OK) {
        snprintf(detail, cap, "cannot save the device state");
        return rc;
    }
    if (next->active_key_is_new) {
        EVP_PKEY_free(rt->key);
        rt->key = rt->new_key;
        rt->new_key = NULL;
        snprintf(rt->key_name, sizeof rt->key_name, "%s", rt->new_key_name);
        rt->new_key_name[0] = '\0';
        key_path(rt, rt->key_name, rt->key_path, sizeof rt->key_path);
        drop_key_file(rt, old_active);
    }
    return BACSC_OK;
}

static void rt_changed(void *user, const bacsc_commission_data *data)
{
    bacsc_devrt *rt = user;
    if (bacsc_devstate_save(rt->st, rt->instance, data) != BACSC_OK)
        BACSC_ERROR("device %u: cannot save the pending state", (unsigned)rt->instance);
}

bacsc_commission_ops bacsc_devrt_ops(bacsc_devrt *rt)
{
    bacsc_commission_ops o = {
        .generate_csr = rt_generate_csr,
        .validate = rt_validate,
        .check_cert = rt_check_cert,
        .activate = rt_activate,
        .changed = rt_changed,
        .check_crl = rt_check_crl,
        .user = rt,
    };
    return o;
}
