/*
 * ossl_compat_internal.h — the few OpenSSL calls whose spelling differs
 * between OpenSSL 3.0 (the oldest supported: Debian 12) and later 3.x
 * releases, where the old spelling is deprecated (and so an error under
 * -Werror). Private to src/io.
 */
#ifndef BACSC_IO_OSSL_COMPAT_INTERNAL_H
#define BACSC_IO_OSSL_COMPAT_INTERNAL_H

#include <stdint.h>

#include <openssl/opensslv.h>
#include <openssl/ssl.h>

/* When the session was established, seconds since the epoch.
 * SSL_SESSION_get_time() (a long) is deprecated since 3.4 as not
 * Y2038-safe; SSL_SESSION_get_time_ex() (a time_t) exists since 3.3. */
static inline int64_t bacsc_ssl_session_time(const SSL_SESSION *s)
{
#if OPENSSL_VERSION_NUMBER >= 0x30300000L
    return (int64_t)SSL_SESSION_get_time_ex(s);
#else
    return (int64_t)SSL_SESSION_get_time(s);
#endif
}

#endif
