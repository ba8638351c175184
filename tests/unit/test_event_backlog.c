/* test_event_backlog: event numbering, the bounded backlog, what a resuming client is
 * owed, and the backlog's file format (common/daemon/backlog.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "common/daemon/backlog.h"

static const uint8_t UUID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void add_n(mv_backlog *b, int n)
{
    for (int i = 0; i < n; i++) {
        uint8_t body[2] = {0x18, (uint8_t)i};
        uint64_t seq = mv_backlog_add(b, 0, 40, "vm", UUID, body, sizeof(body));
        assert_int_equal(seq, b->last);
    }
}

static void numbering_and_bound(void **state)
{
    mv_backlog b;
    assert_int_equal(mv_backlog_init(&b, 4), 0);
    add_n(&b, 3);
    assert_int_equal(b.last, 3);
    assert_int_equal(b.floor, 0);
    assert_int_equal(b.count, 3);
    add_n(&b, 3);
    assert_int_equal(b.last, 6);
    assert_int_equal(b.count, 4);
    assert_int_equal(b.floor, 2); /* 1 and 2 were dropped */
    assert_int_equal(mv_backlog_at(&b, 0)->seq, 3);
    assert_int_equal(mv_backlog_at(&b, 3)->seq, 6);
    assert_string_equal(mv_backlog_at(&b, 3)->name, "vm");
    assert_memory_equal(mv_backlog_at(&b, 3)->uuid, UUID, 16);
    assert_null(mv_backlog_at(&b, 4));
    mv_backlog_free(&b);
    mv_backlog_free(&b); /* twice is harmless */
}

static void since(void **state)
{
    mv_backlog b;
    uint64_t lf, ll;
    size_t idx;
    assert_int_equal(mv_backlog_init(&b, 4), 0);
    add_n(&b, 6); /* holds 3..6, floor 2 */

    mv_backlog_since(&b, 4, &lf, &ll, &idx); /* saw 4: owed 5, 6 */
    assert_int_equal(lf, 0);
    assert_int_equal(ll, 0);
    assert_int_equal(mv_backlog_at(&b, idx)->seq, 5);

    mv_backlog_since(&b, 2, &lf, &ll, &idx); /* saw 2: nothing lost, owed 3..6 */
    assert_int_equal(lf, 0);
    assert_int_equal(idx, 0);

    mv_backlog_since(&b, 1, &lf, &ll, &idx); /* saw 1: 2 is gone */
    assert_int_equal(lf, 2);
    assert_int_equal(ll, 2);
    assert_int_equal(idx, 0);

    mv_backlog_since(&b, 6, &lf, &ll, &idx); /* up to date */
    assert_int_equal(lf, 0);
    assert_int_equal(idx, b.count);

    /* a number this backlog never handed out: its history was lost */
    mv_backlog_since(&b, 50, &lf, &ll, &idx);
    assert_int_equal(lf, 1);
    assert_int_equal(ll, 50);
    assert_int_equal(idx, 0);
    mv_backlog_skip_to(&b, 50);
    add_n(&b, 1);
    assert_int_equal(b.last, 51);
    mv_backlog_free(&b);
}

static void file_round_trip(void **state)
{
    mv_backlog a, b;
    uint8_t *data = NULL;
    size_t len = 0;
    mv_error err = MV_ERROR_INIT;
    assert_int_equal(mv_backlog_init(&a, 8), 0);
    assert_int_equal(mv_backlog_init(&b, 3), 0);
    add_n(&a, 10); /* holds 3..10 */
    assert_int_equal(mv_backlog_encode(&a, &data, &len, &err), 0);
    /* a smaller backlog keeps the newest, and knows what it dropped */
    assert_int_equal(mv_backlog_decode(&b, data, len, &err), 0);
    assert_int_equal(b.last, 10);
    assert_int_equal(b.count, 3);
    assert_int_equal(b.floor, 7);
    assert_int_equal(mv_backlog_at(&b, 0)->seq, 8);
    assert_int_equal(mv_backlog_at(&b, 2)->body_len, 2);
    assert_int_equal(mv_backlog_at(&b, 2)->body[1], 9);

    /* every truncation is refused; the numbering survives whenever the header did */
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(mv_backlog_decode(&b, data, cut, &err), -1);
        assert_non_null(err.message);
        mv_error_clear(&err);
        assert_int_equal(b.count, 0);
        assert_int_equal(b.floor, b.last);
        if (cut >= 28)
            assert_int_equal(b.last, 10);
    }
    data[0] = 'X';
    assert_int_equal(mv_backlog_decode(&b, data, len, &err), -1);
    assert_string_equal(err.message, "internal error: event backlog: not an event backlog");
    mv_error_clear(&err);
    free(data);
    mv_backlog_free(&a);
    mv_backlog_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbering_and_bound),
        cmocka_unit_test(since),
        cmocka_unit_test(file_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
