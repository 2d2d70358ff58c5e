/* error.c — text for the library status codes of bacsc/error.h. */
#include "bacsc/error.h"

const char *bacsc_strerror(int status)
{
    switch (status) {
    case BACSC_OK: return "success";
    case BACSC_ERR_INVALID_ARG: return "invalid argument";
    case BACSC_ERR_NOMEM: return "out of memory";
    case BACSC_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case BACSC_ERR_MALFORMED: return "malformed input";
    case BACSC_ERR_UNSUPPORTED: return "not supported";
    case BACSC_ERR_IO: return "I/O error";
    case BACSC_ERR_NOT_FOUND: return "not found";
    case BACSC_ERR_EXISTS: return "already exists";
    case BACSC_ERR_STATE: return "not allowed in this state";
    case BACSC_ERR_LIMIT: return "limit exceeded";
    case BACSC_ERR_CRYPTO: return "cryptographic operation failed";
    case BACSC_ERR_DB: return "database error";
    case BACSC_ERR_TIMEOUT: return "timed out";
    case BACSC_ERR_PROTOCOL: return "protocol violation by peer";
    case BACSC_ERR_POLICY: return "refused by policy";
    case BACSC_ERR_AGAIN: return "try again";
    }
    return "unknown error";
}
