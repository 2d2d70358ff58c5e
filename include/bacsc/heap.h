/*
 * bacsc/heap.h — an intrusive binary min-heap on a 64-bit key (a deadline,
 * in µs): push, remove and re-key in O(log n), the minimum in O(1). The
 * event loop's timers and the hub function's connection deadlines both use
 * it (as libuv's heap-inl.h serves every timer).
 *
 * Embed a bacsc_heap_node in your object; the heap holds pointers to the
 * nodes and keeps each node's `index` current, so an object finds and leaves
 * its place without a search. Get the object back from a node with
 * offsetof(). No I/O; the array grows with realloc().
 */
#ifndef BACSC_HEAP_H
#define BACSC_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bacsc_heap_node {
    uint64_t key;  /* smaller comes first */
    size_t index;  /* position in the heap; SIZE_MAX when not in one */
} bacsc_heap_node;

typedef struct bacsc_heap {
    bacsc_heap_node **v;
    size_t len, cap;
} bacsc_heap;

#define BACSC_HEAP_NODE_INIT {0, SIZE_MAX}

/* An empty heap / a node in no heap. */
void bacsc_heap_init(bacsc_heap *h);
void bacsc_heap_node_init(bacsc_heap_node *n);
/* Free the array (the nodes belong to their objects). */
void bacsc_heap_free(bacsc_heap *h);
/* Add `n` (not in a heap) with its current key. Returns 0 or BACSC_ERR_NOMEM. */
int bacsc_heap_push(bacsc_heap *h, bacsc_heap_node *n);
/* Take `n` out of `h` (nothing when it is in no heap). */
void bacsc_heap_remove(bacsc_heap *h, bacsc_heap_node *n);
/* Give `n` (in `h`) a new key and restore the order. */
void bacsc_heap_update(bacsc_heap *h, bacsc_heap_node *n, uint64_t key);

static inline bacsc_heap_node *bacsc_heap_min(const bacsc_heap *h)
{
    return h->len ? h->v[0] : NULL;
}
static inline bool bacsc_heap_node_active(const bacsc_heap_node *n)
{
    return n->index != SIZE_MAX;
}

#ifdef __cplusplus
}
#endif
#endif
