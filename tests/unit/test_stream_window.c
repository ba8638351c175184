/* test_stream_window.c: the accounting of stream flow control (common/stream_window.c) —
 * the window each side starts with, credit in batches, overruns refused, and the
 * STREAM_CREDIT frame built and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "common/stream_window.h"

static void test_sending_within_the_window(void **state)
{
    mv_stream_window w;
    (void)state;
    mv_stream_window_init(&w);
    assert_int_equal(w.can_send, MV_STREAM_WINDOW);
    mv_stream_window_sent(&w, MV_STREAM_WINDOW - 10);
    assert_int_equal(w.can_send, 10);
    mv_stream_window_sent(&w, 10);
    assert_int_equal(w.can_send, 0);
    /* credit reopens it, but never beyond the window */
    assert_int_equal(mv_stream_window_credited(&w, 100), 0);
    assert_int_equal(w.can_send, 100);
    assert_int_equal(mv_stream_window_credited(&w, MV_STREAM_WINDOW - 100), 0);
    assert_int_equal(w.can_send, MV_STREAM_WINDOW);
    assert_int_equal(mv_stream_window_credited(&w, 1), -1); /* never sent */
    assert_int_equal(w.can_send, MV_STREAM_WINDOW);
}

static void test_receiving_and_crediting(void **state)
{
    mv_stream_window w;
    (void)state;
    mv_stream_window_init(&w);
    /* the peer may send a window, not a byte more */
    assert_int_equal(mv_stream_window_arrived(&w, MV_STREAM_WINDOW - 1), 0);
    assert_int_equal(mv_stream_window_arrived(&w, 1), 0);
    assert_int_equal(mv_stream_window_arrived(&w, 1), -1);
    /* taking less than a batch credits nothing yet; the batch's end credits it all */
    assert_int_equal(mv_stream_window_took(&w, MV_STREAM_CREDIT_BATCH - 1), 0);
    assert_int_equal(mv_stream_window_arrived(&w, 1), -1);
    assert_int_equal(mv_stream_window_took(&w, 1), MV_STREAM_CREDIT_BATCH);
    assert_int_equal(mv_stream_window_arrived(&w, MV_STREAM_CREDIT_BATCH), 0);
    assert_int_equal(mv_stream_window_arrived(&w, 1), -1);
    /* a large take is one credit */
    assert_int_equal(mv_stream_window_took(&w, 3 * MV_STREAM_CREDIT_BATCH),
                     3 * MV_STREAM_CREDIT_BATCH);
    assert_int_equal(w.can_recv, 3 * MV_STREAM_CREDIT_BATCH);
}

/* Two windows in step: the sender never stalls for good while the receiver takes what
 * arrives, whatever the sizes, and the receiver never holds more than a window. */
static void test_no_deadlock(void **state)
{
    mv_stream_window tx, rx;
    (void)state;
    mv_stream_window_init(&tx);
    mv_stream_window_init(&rx);
    uint64_t held = 0, moved = 0;
    srand(7);
    for (int i = 0; i < 100000; i++) {
        size_t n = (size_t)(rand() % 70000) + 1;
        if (n > tx.can_send)
            n = (size_t)tx.can_send;
        if (n) {
            mv_stream_window_sent(&tx, n);
            assert_int_equal(mv_stream_window_arrived(&rx, n), 0);
            held += n;
        }
        assert_true(held <= MV_STREAM_WINDOW);
        size_t take = held ? (size_t)(rand() % held) + 1 : 0;
        held -= take;
        moved += take;
        uint64_t c = mv_stream_window_took(&rx, take);
        if (c)
            assert_int_equal(mv_stream_window_credited(&tx, c), 0);
        /* with nothing held, the sender has room */
        assert_true(held || tx.can_send > 0);
    }
    assert_true(moved > 100u * MV_STREAM_WINDOW);
}

static void test_credit_frame(void **state)
{
    mv_frame_spec spec;
    Modvirt__StreamCredit msg;
    uint8_t *frame = NULL;
    size_t len = 0;
    (void)state;
    mv_stream_credit_spec(&spec, &msg, 42, 7, 123456789);
    assert_int_equal(mv_frame_build(&spec, &frame, &len, NULL), 0);
    Modvirt__Envelope *env =
        mv_envelope_unpack(frame + MV_FRAME_HEADER_LEN, len - MV_FRAME_HEADER_LEN, NULL);
    assert_non_null(env);
    assert_int_equal(env->serial, 42);
    assert_int_equal(env->proc, 7);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_STREAM);
    assert_int_equal(env->stream_status, MODVIRT__STREAM_STATUS__STREAM_CREDIT);
    uint64_t bytes = 0;
    assert_int_equal(mv_stream_credit_parse(env, &bytes, NULL), 0);
    assert_int_equal(bytes, 123456789);
    /* a body that is not a StreamCredit */
    env->body.data[0] = 0xff;
    mv_error err = MV_ERROR_INIT;
    assert_int_equal(mv_stream_credit_parse(env, &bytes, &err), -1);
    assert_non_null(err.message);
    mv_error_clear(&err);
    mv_envelope_free(env);
    free(frame);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sending_within_the_window),
        cmocka_unit_test(test_receiving_and_crediting),
        cmocka_unit_test(test_no_deadlock),
        cmocka_unit_test(test_credit_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
