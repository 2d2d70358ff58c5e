/* test_heap.c — the intrusive min-heap (bacsc/heap.h) against a brute-force
 * reference: random pushes, removals and re-keys keep the heap order, every
 * node's index, and the minimum equal to the smallest live key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "bacsc/heap.h"

#define N 500

typedef struct item {
    int id;
    bacsc_heap_node node;
} item;

static void check(const bacsc_heap *h, item *items, const bool *live)
{
    size_t n_live = 0;
    uint64_t min = UINT64_MAX;
    for (int i = 0; i < N; i++) {
        if (!live[i]) {
            assert_false(bacsc_heap_node_active(&items[i].node));
            continue;
        }
        n_live++;
        assert_true(items[i].node.index < h->len);
        assert_ptr_equal(h->v[items[i].node.index], &items[i].node);
        if (items[i].node.key < min)
            min = items[i].node.key;
    }
    assert_int_equal(h->len, n_live);
    for (size_t i = 1; i < h->len; i++)
        assert_true(h->v[(i - 1) / 2]->key <= h->v[i]->key);
    if (n_live)
        assert_int_equal(bacsc_heap_min(h)->key, min);
    else
        assert_null(bacsc_heap_min(h));
}

static void test_random_operations(void **state)
{
    (void)state;
    static item items[N];
    bool live[N] = {false};
    bacsc_heap h;
    bacsc_heap_init(&h);
    for (int i = 0; i < N; i++) {
        items[i].id = i;
        bacsc_heap_node_init(&items[i].node);
    }
    srand(12345); /* fixed: the sequence is the same on every run */
    for (int step = 0; step < 20000; step++) {
        int i = rand() % N;
        int op = rand() % 3;
        if (!live[i]) {
            items[i].node.key = (uint64_t)(rand() % 1000);
            assert_int_equal(bacsc_heap_push(&h, &items[i].node), 0);
            live[i] = true;
        } else if (op == 0) {
            bacsc_heap_remove(&h, &items[i].node);
            live[i] = false;
        } else {
            bacsc_heap_update(&h, &items[i].node, (uint64_t)(rand() % 1000));
        }
        if (step % 97 == 0)
            check(&h, items, live);
    }
    check(&h, items, live);
    /* draining yields the keys in order */
    uint64_t last = 0;
    while (bacsc_heap_min(&h)) {
        bacsc_heap_node *n = bacsc_heap_min(&h);
        assert_true(n->key >= last);
        last = n->key;
        bacsc_heap_remove(&h, n);
        assert_false(bacsc_heap_node_active(n));
    }
    bacsc_heap_remove(&h, &items[0].node); /* not in the heap: nothing */
    bacsc_heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_random_operations)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
