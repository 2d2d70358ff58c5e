/*
 * support_commission.h — a commissioning test bench: a device with the
 * commissioning objects on a real state directory (SQLite, key files),
 * reached by a client over the in-memory datalink, with simulated wall
 * clock and an injectable activation failure.
 */
#ifndef SUPPORT_COMMISSION_H
#define SUPPORT_COMMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/commission.h"
#include "bacsc/device_state.h"
#include "support_fake_datalink.h"

typedef struct sch {
    char dir[512];
    uint32_t instance;
    bacsc_devstate *st;
    bacsc_devrt *rt;
    bacsc_device *dev;
    bacsc_commission *cm;
    fdl_net net;
    fdl_node *dn, *cn;
    uint64_t now;
    int64_t clock;          /* simulated wall clock (Unix s); 0 = real */
    bool apply_fail;        /* the runtime's apply hook fails */
    int applied;            /* successful apply hook calls */
} sch;

/* A request's outcome. */
typedef struct sch_res {
    int outcome;            /* BACSC_CLIENT_* */
    uint16_t error_class, error_code;
    uint8_t data[1500];     /* ComplexACK service data */
    size_t len;
} sch_res;

/* Open the bench on state dir `dir` (created if needed) for device
 * `instance`, restoring saved state if any. `password` may be NULL. */
void sch_open(sch *s, const char *dir, uint32_t instance, const char *password);
void sch_close(sch *s);

sch_res sch_write_enum(sch *s, uint16_t type, uint32_t inst, uint32_t prop, uint32_t v);
sch_res sch_write_bool(sch *s, uint16_t type, uint32_t inst, uint32_t prop, bool v);
sch_res sch_write_string(sch *s, uint16_t type, uint32_t inst, uint32_t prop, const char *v);
sch_res sch_write_unsigned(sch *s, uint16_t type, uint32_t inst, uint32_t prop, uint32_t v);
/* ReadProperty: the property value (application-tagged) in res.data. */
sch_res sch_read(sch *s, uint16_t type, uint32_t inst, uint32_t prop);
/* Read a CharacterString property into out ("" on failure). */
void sch_read_string(sch *s, uint16_t type, uint32_t inst, uint32_t prop, char *out, size_t cap);
/* Read a whole file with AtomicReadFile in `chunk`-octet pieces; malloc'd. */
uint8_t *sch_read_file(sch *s, uint32_t inst, size_t chunk, size_t *len, sch_res *last);
/* AtomicWriteFile at `start`. */
sch_res sch_write_file(sch *s, uint32_t inst, int32_t start, const void *data, size_t len);
/* ReinitializeDevice `state` with `password` (NULL = none). */
sch_res sch_reinit(sch *s, uint8_t state, const char *password);
/* DeviceCommunicationControl(enable, password): the commissioning session. */
sch_res sch_login(sch *s, const char *password);

#endif
