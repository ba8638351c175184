/* test_event_loop: libvirt's default event loop in libmodvirt (libclient/event_loop.c) —
 * watches, timers, updates, removal from inside callbacks with their free functions run
 * afterwards, and a watch added from another thread waking a loop blocked in poll. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <modvirt/modvirt.h>

typedef struct counts {
    int fired;
    int last_events;
    int last_id;
    int freed;
    bool remove_self;
} counts;

static void on_fd(int watch, int fd, int events, void *opaque)
{
    counts *c = opaque;
    char buf[64];
    c->fired++;
    c->last_events = events;
    c->last_id = watch;
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    if (c->remove_self)
        assert_int_equal(virEventRemoveHandle(watch), 0);
}

static void on_timer(int timer, void *opaque)
{
    counts *c = opaque;
    c->fired++;
    c->last_id = timer;
    if (c->remove_self)
        assert_int_equal(virEventRemoveTimeout(timer), 0);
}

static void on_free(void *opaque)
{
    ((counts *)opaque)->freed++;
}

static void test_unregistered(void **state)
{
    (void)state;
    /* nothing registered yet in this process: adding fails, running fails plainly */
    assert_int_equal(virEventAddTimeout(0, on_timer, NULL, NULL), -1);
    assert_int_equal(virEventRunDefaultImpl(), -1);
    assert_non_null(strstr(virGetLastErrorMessage(), "virEventRegisterDefaultImpl"));
    assert_int_equal(virEventRegisterDefaultImpl(), 0);
    assert_int_equal(virEventRegisterDefaultImpl(), 0); /* twice is fine */
}

static void test_watch(void **state)
{
    int p[2];
    counts c = {0};
    (void)state;
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    int w = virEventAddHandle(p[0], VIR_EVENT_HANDLE_READABLE, on_fd, &c, on_free);
    assert_true(w > 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_int_equal(c.fired, 1);
    assert_int_equal(c.last_events, VIR_EVENT_HANDLE_READABLE);
    assert_int_equal(c.last_id, w);

    /* not watched for anything: data waits, a timer bounds the round */
    counts t = {0};
    int tm = virEventAddTimeout(20, on_timer, &t, NULL);
    virEventUpdateHandle(w, 0);
    assert_int_equal(write(p[1], "y", 1), 1);
    assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_int_equal(c.fired, 1);
    assert_int_equal(t.fired, 1);
    assert_int_equal(virEventRemoveTimeout(tm), 0);

    /* watched again, and removed from inside its own callback */
    virEventUpdateHandle(w, VIR_EVENT_HANDLE_READABLE);
    c.remove_self = true;
    assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_int_equal(c.fired, 2);
    assert_int_equal(c.freed, 1); /* after the callback, by the same round */
    assert_int_equal(virEventRemoveHandle(w), -1);

    /* the write end closing is a hang-up for a watch on the read end */
    counts h = {0};
    w = virEventAddHandle(p[0], VIR_EVENT_HANDLE_READABLE, on_fd, &h, NULL);
    close(p[1]);
    assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_true(h.last_events & VIR_EVENT_HANDLE_HANGUP);
    assert_int_equal(virEventRemoveHandle(w), 0);
    close(p[0]);
}

static void test_timers(void **state)
{
    counts a = {0}, b = {0};
    (void)state;
    int ta = virEventAddTimeout(0, on_timer, &a, on_free);  /* every round */
    int tb = virEventAddTimeout(-1, on_timer, &b, on_free); /* disabled */
    assert_true(ta > 0 && tb > 0 && ta != tb);
    for (int i = 0; i < 3; i++)
        assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_int_equal(a.fired, 3);
    assert_int_equal(b.fired, 0);
    virEventUpdateTimeout(ta, -1);
    virEventUpdateTimeout(tb, 10);
    assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_int_equal(a.fired, 3);
    assert_int_equal(b.fired, 1);
    b.remove_self = true;
    assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_int_equal(b.fired, 2);
    assert_int_equal(b.freed, 1);
    assert_int_equal(virEventRemoveTimeout(ta), 0);
    assert_int_equal(virEventRemoveTimeout(ta), -1);
    virEventUpdateTimeout(tb, 0); /* gone: ignored */
    /* the removed timers' free functions run at the end of the next round */
    counts c = {0};
    int tc = virEventAddTimeout(0, on_timer, &c, NULL);
    assert_int_equal(virEventRunDefaultImpl(), 0);
    assert_int_equal(a.freed, 1);
    assert_int_equal(virEventRemoveTimeout(tc), 0);
}

static void *add_later(void *arg)
{
    counts *c = arg;
    usleep(50 * 1000); /* the main thread is blocked in poll() with nothing to wait for */
    virEventAddTimeout(0, on_timer, c, NULL);
    return NULL;
}

static void test_wakeup_from_other_thread(void **state)
{
    counts c = {0};
    pthread_t t;
    (void)state;
    assert_int_equal(pthread_create(&t, NULL, add_later, &c), 0);
    /* nothing is registered: only the other thread's addition can end this round */
    while (c.fired == 0)
        assert_int_equal(virEventRunDefaultImpl(), 0);
    pthread_join(t, NULL);
    assert_int_equal(virEventRemoveTimeout(c.last_id), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unregistered),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_timers),
        cmocka_unit_test(test_wakeup_from_other_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
