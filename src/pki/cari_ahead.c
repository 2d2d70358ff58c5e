/*
 * cari_ahead.c — PEM texts of a CARI writer's objects made ahead on a
 * worker pool while libzip copies the earlier ones into the archive.
 *
 * libzip asks for each entry's octets in turn (cari_write.c's pem_src);
 * without help the writing thread encodes every PEM itself. Here the
 * entries are cut into windows of CARI_AHEAD_WINDOW; when entry k is asked
 * for, the windows up to CARI_AHEAD_WINDOWS past k's are started on the
 * pool, k's window is collected (bacsc_pool_wait: its texts are then
 * visible to this thread) and k's text handed over. A text not made ahead
 * (out of order, out of memory) is made by the caller, so the archive does
 * not depend on the pool; each text is exactly der_to_pem's either way.
 * Memory: at most (CARI_AHEAD_WINDOWS + 1) windows of texts.
 */
#include <stdlib.h>

#include "bacsc/pool.h"
#include "cari_internal.h"

#define CARI_AHEAD_WINDOW 256
#define CARI_AHEAD_WINDOWS 2
#define CARI_AHEAD_MIN 64 /* fewer entries: no pool */

typedef struct ahead_text {
    char *pem;
    size_t len;
} ahead_text;

typedef struct ahead_win {
    cari_ahead *a;
    size_t begin;
    bacsc_pool_job *job;
    bool started, collected;
} ahead_win;

struct cari_ahead {
    bacsc_pool *pool;
    cari_pem_fn fn;
    const void *items; /* item k at items + k * item_size */
    size_t item_size, n, n_win;
    ahead_text *text;
    ahead_win *win;
};

static void render(void *ctx, size_t i)
{
    ahead_win *w = ctx;
    cari_ahead *a = w->a;
    size_t k = w->begin + i;
    a->text[k].pem = a->fn((const char *)a->items + k * a->item_size, &a->text[k].len);
}

cari_ahead *cari_ahead_new(const void *items, size_t item_size, size_t n, cari_pem_fn fn)
{
    int nt = n < CARI_AHEAD_MIN ? 1 : cari_threads(n);
    if (nt < 2)
        return NULL;
    cari_ahead *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->fn = fn;
    a->items = items;
    a->item_size = item_size;
    a->n = n;
    a->n_win = (n + CARI_AHEAD_WINDOW - 1) / CARI_AHEAD_WINDOW;
    a->text = calloc(n, sizeof *a->text);
    a->win = calloc(a->n_win, sizeof *a->win);
    a->pool = a->text && a->win ? bacsc_pool_new(nt) : NULL;
    if (!a->pool) {
        cari_ahead_free(a);
        return NULL;
    }
    return a;
}

/* Start windows [0, upto) that are not started yet. */
static void start_upto(cari_ahead *a, size_t upto)
{
    for (size_t w = 0; w < upto && w < a->n_win; w++) {
        ahead_win *x = &a->win[w];
        if (x->started)
            continue;
        x->a = a;
        x->begin = w * CARI_AHEAD_WINDOW;
        size_t len = a->n - x->begin < CARI_AHEAD_WINDOW ? a->n - x->begin : CARI_AHEAD_WINDOW;
        x->started = true;
        x->job = bacsc_pool_start(a->pool, len, render, x);
    }
}

void cari_ahead_begin(cari_ahead *a)
{
    if (a)
        start_upto(a, CARI_AHEAD_WINDOWS + 1);
}

char *cari_ahead_take(cari_ahead *a, size_t k, size_t *len)
{
    if (!a || k >= a->n)
        return NULL;
    size_t w = k / CARI_AHEAD_WINDOW;
    start_upto(a, w + 1 + CARI_AHEAD_WINDOWS);
    ahead_win *x = &a->win[w];
    if (!x->collected) {
        bacsc_pool_wait(x->job);
        x->job = NULL;
        x->collected = true;
    }
    char *p = a->text[k].pem;
    *len = a->text[k].len;
    a->text[k].pem = NULL;
    return p;
}

void cari_ahead_free(cari_ahead *a)
{
    if (!a)
        return;
    for (size_t w = 0; a->win && w < a->n_win; w++)
        if (a->win[w].started && !a->win[w].collected)
            bacsc_pool_wait(a->win[w].job);
    for (size_t k = 0; a->text && k < a->n; k++)
        free(a->text[k].pem);
    bacsc_pool_free(a->pool);
    free(a->text);
    free(a->win);
    free(a);
}
