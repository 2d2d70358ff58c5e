/*
 * ws_params_internal.h — option defaults and address text of the WebSocket
 * layer (wsconn.c). Private to src/io.
 */
#ifndef BACSC_IO_WS_PARAMS_INTERNAL_H
#define BACSC_IO_WS_PARAMS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bacsc/wsconn.h"

/* *o = *in (or zeros) with every zero field set to its default (wsconn.h). */
void bacsc_io_ws_fill_defaults(bacsc_ws_options *o, const bacsc_ws_options *in);

/* "IP:PORT" ("[IP]:PORT" for IPv6) of a socket address; *port (may be NULL)
 * gets the port. */
void bacsc_io_format_addr(const struct sockaddr *sa, char *out, size_t cap, uint16_t *port);

/* Split "HOST:PORT" / "[V6]:PORT" into host and port strings (def_port when
 * none is given; NULL = required). BACSC_OK or BACSC_ERR_INVALID_ARG. */
int bacsc_io_split_host_port(const char *s, char *host, size_t hcap, char *port, size_t pcap,
                             const char *def_port);

/* Read and drop what the peer has already sent (at most 64 KB, never
 * blocks), before closing a connection whose TLS handshake failed. OpenSSL
 * 3.2 and later read a handshake record by record (read-ahead only once the
 * application keys are in use), so after a refused certificate the peer's
 * CertificateVerify and Finished are still in the socket: closing over
 * unread octets sends a TCP RST, which can reach the peer before it has
 * read our alert, and it then sees a reset instead of the reason. */
void bacsc_io_drain_socket(int fd);

/* The client of a server-side TLS handshake cannot finish it and left
 * nothing worth reading: the connection was reset, or the client closed
 * (FIN) before any octet of it was read (read_any false: what is pending is
 * at most its ClientHello) — e.g. a node whose connect wait ended while its
 * connection waited in the accept queue. A client that closes later may
 * have sent an alert naming its reason; that is left to the handshake to
 * read. One getsockopt(TCP_INFO); false for a socket that is not TCP. */
bool bacsc_io_client_gone(int fd, bool read_any);

/* TCP_NODELAY on a listening socket; returns the `inherited` state for
 * bacsc_io_nodelay_accepted(): -1 (not known yet) when it was set, else 0. */
int8_t bacsc_io_nodelay_listen(int fd);

/* TCP_NODELAY on an accepted socket. Linux copies it from the listening
 * socket: *inherited (-1: not known yet) is learnt from the first accepted
 * socket, after which no system call is made per connection; 0: set it on
 * each. */
void bacsc_io_nodelay_accepted(int fd, int8_t *inherited);

/* Close a refused socket at once with a TCP RST (no TIME_WAIT kept here). */
void bacsc_io_refuse_fd(int fd);

#endif
