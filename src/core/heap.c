/* heap.c — the intrusive binary min-heap (see bacsc/heap.h). Sifting moves
 * a hole instead of swapping, so each level costs one pointer write. */
#include "bacsc/heap.h"

#include <stdlib.h>

#include "bacsc/error.h"

void bacsc_heap_init(bacsc_heap *h)
{
    h->v = NULL;
    h->len = h->cap = 0;
}

void bacsc_heap_node_init(bacsc_heap_node *n)
{
    n->key = 0;
    n->index = SIZE_MAX;
}

void bacsc_heap_free(bacsc_heap *h)
{
    free(h->v);
    bacsc_heap_init(h);
}

static void put(bacsc_heap *h, size_t i, bacsc_heap_node *n)
{
    h->v[i] = n;
    n->index = i;
}

static void sift_up(bacsc_heap *h, size_t i)
{
    bacsc_heap_node *n = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent]->key <= n->key)
            break;
        put(h, i, h->v[parent]);
        i = parent;
    }
    put(h, i, n);
}

static void sift_down(bacsc_heap *h, size_t i)
{
    bacsc_heap_node *n = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && h->v[c + 1]->key < h->v[c]->key)
            c++;
        if (h->v[c]->key >= n->key)
            break;
        put(h, i, h->v[c]);
        i = c;
    }
    put(h, i, n);
}

int bacsc_heap_push(bacsc_heap *h, bacsc_heap_node *n)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        bacsc_heap_node **v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return BACSC_ERR_NOMEM;
        h->v = v;
        h->cap = cap;
    }
    put(h, h->len++, n);
    sift_up(h, n->index);
    return BACSC_OK;
}

void bacsc_heap_remove(bacsc_heap *h, bacsc_heap_node *n)
{
    size_t i = n->index;
    if (i == SIZE_MAX)
        return;
    n->index = SIZE_MAX;
    bacsc_heap_node *last = h->v[--h->len];
    if (i == h->len)
        return;
    put(h, i, last);
    sift_up(h, i);
    sift_down(h, last->index);
}

void bacsc_heap_update(bacsc_heap *h, bacsc_heap_node *n, uint64_t key)
{
    uint64_t old = n->key;
    n->key = key;
    if (key < old)
        sift_up(h, n->index);
    else if (key > old)
        sift_down(h, n->index);
}
