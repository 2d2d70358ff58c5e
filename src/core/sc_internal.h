/*
 * sc_internal.h — shared internals of the BACnet/SC state machines
 * (sc_conn.c, sc_hub.c, sc_connector.c). Not installed.
 *
 * Outgoing messages live in reference-counted buffers so the hub can rewrite
 * a broadcast once and queue the same octets on every destination's FIFO.
 */
#ifndef BACSC_SC_INTERNAL_H
#define BACSC_SC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bacsc/sc_conn.h"

typedef struct bacsc_sc_buf {
    uint32_t refs;
    uint32_t len;      /* octets used */
    uint32_t cap;      /* octets allocated in data[] */
    uint8_t data[];
} bacsc_sc_buf;

/* A buffer with one reference and room for `cap` octets (len 0); NULL if out
 * of memory or cap is absurd. */
bacsc_sc_buf *bacsc_sc_buf_new(size_t cap);
void bacsc_sc_buf_ref(bacsc_sc_buf *b);
void bacsc_sc_buf_unref(bacsc_sc_buf *b);

/*
 * Queue an already encoded message on the connection's output FIFO, taking a
 * new reference to `b` on success. No validation against the peer's limits
 * (the caller checked). Returns BACSC_OK, BACSC_ERR_STATE (not CONNECTED or
 * DISCONNECT_WAIT), BACSC_ERR_LIMIT (FIFO full; counted) or BACSC_ERR_NOMEM.
 */
int bacsc_sc_conn_enqueue(bacsc_sc_conn *conn, bacsc_sc_buf *b);

/* Close at once with `reason` (e.g. REPLACED) without sending anything;
 * queued output stays for the owner to flush. No-op when already closed. */
void bacsc_sc_conn_abort(bacsc_sc_conn *conn, int reason, uint16_t error_code,
                         const char *details, uint64_t now);

/* Queue a BVLC-Result NAK for (function, message_id). No-op for Results. */
int bacsc_sc_conn_send_nak(bacsc_sc_conn *conn, uint8_t function, uint16_t message_id,
                           const bacsc_vmac *dest, uint8_t marker, uint16_t error_code,
                           const char *details);

/* Bytes currently queued. */
size_t bacsc_sc_conn_output_bytes(const bacsc_sc_conn *conn);

#endif
