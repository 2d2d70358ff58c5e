/*
 * bacsc/error.h — library status codes.
 *
 * Every bacsc function that can fail returns an int: 0 (BACSC_OK) or a
 * non-negative count on success, one of the negative BACSC_ERR_* codes on
 * failure. Decoders of outside bytes additionally report the BACnet error
 * code the standard prescribes (see bvlc.h, npdu.h) so the caller can answer
 * on the wire; these status codes are for the caller's own control flow.
 */
#ifndef BACSC_ERROR_H
#define BACSC_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum bacsc_status {
    BACSC_OK = 0,
    BACSC_ERR_INVALID_ARG = -1,      /* a parameter is out of its documented range */
    BACSC_ERR_NOMEM = -2,            /* an allocation failed */
    BACSC_ERR_BUFFER_TOO_SMALL = -3, /* output does not fit the caller's buffer */
    BACSC_ERR_MALFORMED = -4,        /* input violates its encoding */
    BACSC_ERR_UNSUPPORTED = -5,      /* valid input that bacsc does not implement */
    BACSC_ERR_IO = -6,               /* a system call failed (errno is kept) */
    BACSC_ERR_NOT_FOUND = -7,        /* no such object, record, file or peer */
    BACSC_ERR_EXISTS = -8,           /* already exists / duplicate */
    BACSC_ERR_STATE = -9,            /* not allowed in the current state */
    BACSC_ERR_LIMIT = -10,           /* a configured limit (size, count, queue) was hit */
    BACSC_ERR_CRYPTO = -11,          /* OpenSSL reported an error */
    BACSC_ERR_DB = -12,              /* SQLite reported an error */
    BACSC_ERR_TIMEOUT = -13,         /* a deadline passed */
    BACSC_ERR_PROTOCOL = -14,        /* the peer broke the protocol */
    BACSC_ERR_POLICY = -15,          /* refused by configured policy */
    BACSC_ERR_AGAIN = -16            /* would block; try again later */
};

/* A short, constant English description of a BACSC_OK/BACSC_ERR_* value. */
const char *bacsc_strerror(int status);

#ifdef __cplusplus
}
#endif
#endif
