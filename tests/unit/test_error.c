/* test_error.c — status codes have distinct, non-empty descriptions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bacsc/error.h"

static void every_status_has_distinct_text(void **state)
{
    (void)state;
    for (int a = BACSC_OK; a >= BACSC_ERR_AGAIN; a--) {
        assert_true(strlen(bacsc_strerror(a)) > 0);
        assert_string_not_equal(bacsc_strerror(a), "unknown error");
        for (int b = a - 1; b >= BACSC_ERR_AGAIN; b--)
            assert_string_not_equal(bacsc_strerror(a), bacsc_strerror(b));
    }
    assert_string_equal(bacsc_strerror(-1000), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(every_status_has_distinct_text)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
