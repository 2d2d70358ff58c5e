/*
 * support_fixture.h — cmocka setup and teardown functions for tests whose
 * fixture is one heap object made by a function and freed by another:
 *
 *     FIXTURE_SETUP(setup_pw, fx_new("secret"))    // *state = fx_new("secret")
 *     FIXTURE_TEARDOWN(teardown, fx_free)          // fx_free(*state)
 *     ...
 *     cmocka_unit_test_setup_teardown(test_x, setup_pw, teardown),
 */
#ifndef BACSC_TEST_SUPPORT_FIXTURE_H
#define BACSC_TEST_SUPPORT_FIXTURE_H

/* A setup function `name` that stores what `make` (an expression) returns. */
#define FIXTURE_SETUP(name, make)                                                                  \
    static int name(void **state)                                                                  \
    {                                                                                              \
        *state = (make);                                                                           \
        return 0;                                                                                  \
    }

/* A teardown function `name` that hands the fixture to `release`. */
#define FIXTURE_TEARDOWN(name, release)                                                            \
    static int name(void **state)                                                                  \
    {                                                                                              \
        release(*state);                                                                           \
        return 0;                                                                                  \
    }

#endif
