/*
 * ossl_keyless.c — the keyless-decode window of ossl_keyless_internal.h.
 */
#include "ossl_keyless_internal.h"

#include <pthread.h>

#include <openssl/err.h>
#include <openssl/provider.h>

_Thread_local bool bacsc_keyless_open;
static _Thread_local OSSL_LIB_CTX *keyless_prev;
static _Thread_local unsigned long keyless_windows;

static OSSL_LIB_CTX *keyless_ctx;
static pthread_once_t keyless_once = PTHREAD_ONCE_INIT;

static void keyless_init(void)
{
    /* The "null" provider offers no algorithm; a provider loaded into the
     * context keeps the default one from being loaded into it. No
     * configuration file is read into it. */
    OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
    if (ctx && !OSSL_PROVIDER_load(ctx, "null")) {
        OSSL_LIB_CTX_free(ctx);
        ctx = NULL;
    }
    keyless_ctx = ctx; /* NULL: no window, decodes as usual */
    ERR_clear_error();
}

OSSL_LIB_CTX *bacsc_keyless_ssl_libctx(void)
{
    return OSSL_LIB_CTX_get0_global_default();
}

void bacsc_keyless_enter(void)
{
    if (bacsc_keyless_open)
        return;
    pthread_once(&keyless_once, keyless_init);
    if (!keyless_ctx)
        return;
    keyless_prev = OSSL_LIB_CTX_set0_default(keyless_ctx);
    if (!keyless_prev)
        return;
    bacsc_keyless_open = true;
    keyless_windows++;
    ERR_set_mark();
}

void bacsc_keyless_leave_ex(bool drop_errors)
{
    if (!bacsc_keyless_open)
        return;
    OSSL_LIB_CTX_set0_default(keyless_prev);
    keyless_prev = NULL;
    bacsc_keyless_open = false;
    if (drop_errors)
        ERR_pop_to_mark();
    else
        ERR_clear_last_mark();
}

unsigned long bacsc_keyless_windows(void)
{
    return keyless_windows;
}
