/* test_hash.c: the hash table: ownership of values, iteration, 100k keys, churn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hash.h"

static int freed;

static void count_free(void *v)
{
    freed++;
    free(v);
}

static char *dup_str(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

static void test_basics(void **state)
{
    freed = 0;
    mv_hash *h = mv_hash_new(count_free);
    assert_non_null(h);
    assert_int_equal(mv_hash_count(h), 0);
    assert_null(mv_hash_get(h, "missing"));
    assert_null(mv_hash_take(h, "missing"));
    assert_int_equal(mv_hash_remove(h, "missing"), 0);

    char key[16] = "vm1";
    assert_int_equal(mv_hash_put(h, key, dup_str("one")), 0);
    key[0] = 'X'; /* the table copied the key */
    assert_string_equal(mv_hash_get(h, "vm1"), "one");
    assert_null(mv_hash_get(h, "Xm1"));
    assert_int_equal(mv_hash_count(h), 1);

    /* replacing frees the old value */
    assert_int_equal(mv_hash_put(h, "vm1", dup_str("uno")), 0);
    assert_int_equal(freed, 1);
    assert_string_equal(mv_hash_get(h, "vm1"), "uno");
    assert_int_equal(mv_hash_count(h), 1);
    /* putting the same pointer again frees nothing */
    assert_int_equal(mv_hash_put(h, "vm1", mv_hash_get(h, "vm1")), 0);
    assert_int_equal(freed, 1);

    /* take hands the value over; remove frees it */
    assert_int_equal(mv_hash_put(h, "vm2", dup_str("two")), 0);
    char *taken = mv_hash_take(h, "vm2");
    assert_string_equal(taken, "two");
    assert_int_equal(freed, 1);
    free(taken);
    assert_int_equal(mv_hash_remove(h, "vm1"), 1);
    assert_int_equal(freed, 2);
    assert_int_equal(mv_hash_count(h), 0);

    /* the empty string is a key like any other; NULL values are allowed */
    assert_int_equal(mv_hash_put(h, "", dup_str("empty")), 0);
    assert_string_equal(mv_hash_get(h, ""), "empty");
    assert_int_equal(mv_hash_put(h, "null", NULL), 0);
    assert_int_equal(mv_hash_count(h), 2);

    mv_hash_free(h); /* frees what is left */
    assert_int_equal(freed, 4);
    mv_hash_free(NULL);
}

static int count_entries(const char *key, void *value, void *opaque)
{
    size_t *n = opaque;
    assert_string_equal(key, (const char *)value); /* we stored key == value */
    (*n)++;
    return 0;
}

static int stop_at_three(const char *key, void *value, void *opaque)
{
    size_t *n = opaque;
    return ++*n == 3;
}

static void test_foreach(void **state)
{
    mv_hash *h = mv_hash_new(free);
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(mv_hash_put(h, key, dup_str(key)), 0);
    }
    size_t n = 0;
    mv_hash_foreach(h, count_entries, &n);
    assert_int_equal(n, 100);
    n = 0;
    mv_hash_foreach(h, stop_at_three, &n);
    assert_int_equal(n, 3);
    mv_hash_free(h);
}

/* 100,000 keys in, half out, the rest still there, the removed ones gone. */
static void test_100k(void **state)
{
    enum { N = 100000 };
    mv_hash *h = mv_hash_new(NULL);
    char key[64];
    for (uintptr_t i = 0; i < N; i++) {
        /* similar keys with a long shared prefix, as generated names tend to be */
        snprintf(key, sizeof(key), "guest-with-a-long-common-prefix-%lu", (unsigned long)i);
        assert_int_equal(mv_hash_put(h, key, (void *)(i + 1)), 0);
    }
    assert_int_equal(mv_hash_count(h), N);
    for (uintptr_t i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "guest-with-a-long-common-prefix-%lu", (unsigned long)i);
        assert_true(mv_hash_get(h, key) == (void *)(i + 1));
    }
    for (uintptr_t i = 0; i < N; i += 2) {
        snprintf(key, sizeof(key), "guest-with-a-long-common-prefix-%lu", (unsigned long)i);
        assert_int_equal(mv_hash_remove(h, key), 1);
    }
    assert_int_equal(mv_hash_count(h), N / 2);
    for (uintptr_t i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "guest-with-a-long-common-prefix-%lu", (unsigned long)i);
        if (i % 2)
            assert_true(mv_hash_get(h, key) == (void *)(i + 1));
        else
            assert_null(mv_hash_get(h, key));
    }
    /* and all of them out: the table shrinks back and still works */
    for (uintptr_t i = 1; i < N; i += 2) {
        snprintf(key, sizeof(key), "guest-with-a-long-common-prefix-%lu", (unsigned long)i);
        assert_true(mv_hash_take(h, key) == (void *)(i + 1));
    }
    assert_int_equal(mv_hash_count(h), 0);
    assert_int_equal(mv_hash_put(h, "again", (void *)7), 0);
    assert_true(mv_hash_get(h, "again") == (void *)7);
    mv_hash_free(h);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A table of a steady 2,000 entries that sees 1,000,000 insertions and removals (a daemon
 * running for months) must not slow down: deletion leaves no tombstones to wade through.
 * The check compares the last round with the first, so machine speed does not matter. */
static void test_churn(void **state)
{
    enum { LIVE = 2000, ROUNDS = 250, PER_ROUND = 4000 };
    mv_hash *h = mv_hash_new(NULL);
    char key[32];
    unsigned long next = 0, oldest = 0;
    for (; next < LIVE; next++) {
        snprintf(key, sizeof(key), "d%lu", next);
        assert_int_equal(mv_hash_put(h, key, (void *)1), 0);
    }
    double first = 0, last = 0;
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now();
        for (int k = 0; k < PER_ROUND / 2; k++) {
            snprintf(key, sizeof(key), "d%lu", oldest++);
            assert_int_equal(mv_hash_remove(h, key), 1);
            snprintf(key, sizeof(key), "d%lu", next++);
            assert_int_equal(mv_hash_put(h, key, (void *)1), 0);
            snprintf(key, sizeof(key), "d%lu", oldest + (unsigned long)(k % LIVE));
            assert_non_null(mv_hash_get(h, key));
        }
        double t = now() - t0;
        if (round < 5)
            first += t;
        if (round >= ROUNDS - 5)
            last += t;
        assert_int_equal(mv_hash_count(h), LIVE);
    }
    /* generous: scheduling noise on a shared machine, but not a degradation */
    if (last > first * 4 + 0.05)
        fail_msg("the last rounds took %.3fs, the first %.3fs", last, first);
    mv_hash_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_foreach),
        cmocka_unit_test(test_100k),
        cmocka_unit_test(test_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
