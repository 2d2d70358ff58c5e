/*
 * bacsc/ws.h — WebSocket frame codec (RFC 6455 section 5), sans-I/O.
 *
 * The decoder takes the byte stream of one direction of a connection in any
 * pieces (one octet at a time works) and returns one event per call:
 * a complete binary message, a ping, a pong, or a close. It enforces:
 *  - RSV1..3 = 0 (no extensions are negotiated);
 *  - masking: frames a server receives must be masked, frames a client
 *    receives must not be;
 *  - minimal length encoding (16-bit only for 126..65535, 64-bit only above,
 *    top bit 0);
 *  - control frames: payload ≤ 125, FIN set; close payload 0 or ≥ 2 octets
 *    with a valid code and UTF-8 reason;
 *  - data: binary only (BACnet/SC) — a text frame is refused with close code
 *    1003; continuation only inside a fragmented message, no new data frame
 *    inside one; unknown opcodes refused;
 *  - a message larger than max_message is refused with close code 1009.
 * A violation returns a negative status and leaves ws->close_code (what to
 * send in our close frame) and ws->error_code (the BACnet error code,
 * 166..179) set; the decoder then stays failed.
 *
 * Zero copy where possible: a whole unfragmented binary frame present in the
 * input is unmasked in place and reported pointing into the input (so the
 * input is `uint8_t *`). Fragmented or partially received messages are
 * reassembled in a caller-owned buffer; when it is too small the decoder
 * asks for a larger one (BACSC_WS_EV_NEED_BUFFER) instead of allocating.
 *
 * The encoder writes frames into caller buffers; the 4-octet mask key of a
 * client frame is supplied by the caller (randomness is injected).
 */
#ifndef BACSC_WS_H
#define BACSC_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opcodes. */
enum bacsc_ws_opcode {
    BACSC_WS_OP_CONT = 0x0,
    BACSC_WS_OP_TEXT = 0x1,
    BACSC_WS_OP_BINARY = 0x2,
    BACSC_WS_OP_CLOSE = 0x8,
    BACSC_WS_OP_PING = 0x9,
    BACSC_WS_OP_PONG = 0xA
};

/* Close status codes used here (RFC 6455 section 7.4.1). */
#define BACSC_WS_CLOSE_NORMAL 1000
#define BACSC_WS_CLOSE_GOING_AWAY 1001
#define BACSC_WS_CLOSE_PROTOCOL_ERROR 1002
#define BACSC_WS_CLOSE_UNSUPPORTED_DATA 1003
#define BACSC_WS_CLOSE_NO_STATUS 1005  /* never sent: "close frame had no code" */
#define BACSC_WS_CLOSE_ABNORMAL 1006   /* never sent: "connection dropped" */
#define BACSC_WS_CLOSE_INVALID_DATA 1007
#define BACSC_WS_CLOSE_POLICY 1008
#define BACSC_WS_CLOSE_TOO_BIG 1009
#define BACSC_WS_CLOSE_EXTENSION 1010
#define BACSC_WS_CLOSE_INTERNAL 1011

/* BACnet error codes for WebSocket problems (class COMMUNICATION). */
enum bacsc_ws_error_code {
    BACSC_EC_WS_SCHEME_NOT_SUPPORTED = 166,
    BACSC_EC_WS_UNKNOWN_CONTROL_MESSAGE = 167,
    BACSC_EC_WS_CLOSE_ERROR = 168,
    BACSC_EC_WS_CLOSED_BY_PEER = 169,
    BACSC_EC_WS_ENDPOINT_LEAVES = 170,
    BACSC_EC_WS_PROTOCOL_ERROR = 171,
    BACSC_EC_WS_DATA_NOT_ACCEPTED = 172,
    BACSC_EC_WS_CLOSED_ABNORMALLY = 173,
    BACSC_EC_WS_DATA_INCONSISTENT = 174,
    BACSC_EC_WS_DATA_AGAINST_POLICY = 175,
    BACSC_EC_WS_FRAME_TOO_LONG = 176,
    BACSC_EC_WS_EXTENSION_MISSING = 177,
    BACSC_EC_WS_REQUEST_UNAVAILABLE = 178,
    BACSC_EC_WS_ERROR = 179
};

#define BACSC_WS_MAX_HEADER 14         /* 2 + 8 length + 4 mask */
#define BACSC_WS_MAX_CONTROL 125
#define BACSC_WS_DEFAULT_MAX_MESSAGE 65536

/* Events returned by bacsc_ws_decode() (non-negative). */
enum bacsc_ws_event_type {
    BACSC_WS_EV_NONE = 0,        /* all input consumed, need more */
    BACSC_WS_EV_MESSAGE = 1,     /* a complete binary message: data, len */
    BACSC_WS_EV_PING = 2,        /* data, len: answer with a pong carrying them */
    BACSC_WS_EV_PONG = 3,        /* data, len */
    BACSC_WS_EV_CLOSE = 4,       /* close_code (1005 when absent), data/len = reason */
    BACSC_WS_EV_NEED_BUFFER = 5  /* call bacsc_ws_set_buffer() with cap ≥ need, then decode again */
};

typedef struct bacsc_ws_event {
    int type;                    /* enum bacsc_ws_event_type */
    const uint8_t *data;         /* valid until the next decode/set_buffer call */
    size_t len;
    uint16_t close_code;
    size_t need;                 /* NEED_BUFFER: required capacity */
} bacsc_ws_event;

typedef struct bacsc_ws_decoder {
    /* configuration */
    bool server;                 /* we are the server: incoming frames must be masked */
    size_t max_message;
    /* reassembly buffer (caller-owned) */
    uint8_t *buf;
    size_t cap;
    size_t msg_len;              /* octets of the current message held in buf */
    bool in_message;             /* a fragmented or partial message is open */
    /* current frame */
    uint8_t hdr[BACSC_WS_MAX_HEADER];
    uint8_t hdr_len;
    uint8_t hdr_need;
    bool have_header;
    uint8_t opcode;
    bool fin;
    bool masked;
    uint8_t mask[4];
    uint64_t frame_len;
    uint64_t frame_done;
    /* control frame payload */
    uint8_t ctl[BACSC_WS_MAX_CONTROL];
    /* status */
    bool close_received;
    bool failed;
    uint16_t close_code;         /* after failure: the code to close with */
    uint16_t error_code;         /* after failure: BACnet error code 166..179 */
    const char *error_text;      /* after failure: constant description */
} bacsc_ws_decoder;

/*
 * Initialise a decoder.
 *   server       true on the server side (peer frames must be masked)
 *   max_message  largest accepted message (0 → BACSC_WS_DEFAULT_MAX_MESSAGE)
 * No buffer is attached; the first message that needs reassembly asks for one.
 */
void bacsc_ws_decoder_init(bacsc_ws_decoder *d, bool server, size_t max_message);

/*
 * Attach a (new) reassembly buffer. The first d->msg_len octets of the old
 * buffer must have been carried over (realloc does). A buffer may be detached
 * (NULL, 0) whenever !d->in_message.
 * Returns BACSC_OK or BACSC_ERR_INVALID_ARG (cap < d->msg_len).
 */
int bacsc_ws_set_buffer(bacsc_ws_decoder *d, uint8_t *buf, size_t cap);

/*
 * Decode from in[0..len). Consumes octets up to and including the frame that
 * produced the event; *consumed reports how many (call again with the rest).
 * The input may be modified (unmasked in place).
 * Returns an event type (≥ 0, ev filled) or
 *   BACSC_ERR_PROTOCOL  the peer broke RFC 6455 / BACnet/SC rules
 *   BACSC_ERR_LIMIT     message larger than max_message (close 1009, 176)
 * with d->close_code, d->error_code, d->error_text set.
 * After a close event, further data frames are a protocol error.
 */
int bacsc_ws_decode(bacsc_ws_decoder *d, uint8_t *in, size_t len, size_t *consumed,
                    bacsc_ws_event *ev);

/* Header size of a frame with this payload length (2..14). */
size_t bacsc_ws_header_size(uint64_t payload_len, bool masked);

/*
 * Write a frame header.
 *   opcode  enum bacsc_ws_opcode; fin: final fragment
 *   mask    4-octet key (client frames) or NULL (server frames)
 * Returns the header length, BACSC_ERR_BUFFER_TOO_SMALL or BACSC_ERR_INVALID_ARG
 * (control frame over 125 octets or not final, bad opcode).
 */
int bacsc_ws_encode_header(uint8_t *out, size_t cap, int opcode, bool fin,
                           uint64_t payload_len, const uint8_t mask[4]);

/*
 * Write a whole frame (header + payload, masked when mask != NULL).
 * Returns the frame length or BACSC_ERR_BUFFER_TOO_SMALL / BACSC_ERR_INVALID_ARG.
 */
int bacsc_ws_encode_frame(uint8_t *out, size_t cap, int opcode, bool fin, const uint8_t *payload,
                          size_t len, const uint8_t mask[4]);

/*
 * Write a close frame: code (0 → no payload) and a UTF-8 reason (NULL ok,
 * truncated to fit 123 octets at a character boundary).
 * Returns the frame length or BACSC_ERR_BUFFER_TOO_SMALL / BACSC_ERR_INVALID_ARG.
 */
int bacsc_ws_encode_close(uint8_t *out, size_t cap, uint16_t code, const char *reason,
                          const uint8_t mask[4]);

/* XOR data with the mask key, starting at key position `offset`. */
void bacsc_ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t offset);

/*
 * The BACnet error code that a close code received from the peer reports:
 * 1000 → 169 closed-by-peer, 1001 → 170 endpoint-leaves, 1002 → 171,
 * 1003 → 172, 1006 → 173, 1007 → 174, 1008 → 175, 1009 → 176, 1010 → 177,
 * 1011 → 178, anything else → 179 websocket-error.
 */
uint16_t bacsc_ws_close_to_error(uint16_t close_code);

/* True when a close code may be sent on the wire (RFC 6455 7.4). */
bool bacsc_ws_close_code_valid(uint16_t code);

/* True when s[0..len) is well-formed UTF-8. */
bool bacsc_utf8_valid(const uint8_t *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
