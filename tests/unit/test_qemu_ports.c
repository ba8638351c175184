/* test_qemu_ports.c: the display port allocator never hands a port out twice, even to
 * threads asking at once, skips ports someone else is bound to, and reuses released ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "virtqemud/qemu_command.h"

/* A range high enough that nothing on a test host listens there. */
#define BASE 47100
#define SPAN 64
#define THREADS 8

static void test_sequence_release_reserve(void **state)
{
    mv_error err = MV_ERROR_INIT;
    qemu_ports *p = qemu_ports_new(BASE, BASE + 2, &err);

    (void)state;
    assert_non_null(p);
    assert_int_equal(qemu_ports_acquire(p, &err), BASE);
    assert_int_equal(qemu_ports_acquire(p, &err), BASE + 1);
    assert_int_equal(qemu_ports_reserve(p, BASE + 2, &err), 0);
    assert_int_equal(qemu_ports_acquire(p, &err), -1);
    assert_non_null(strstr(err.message, "no free port"));
    mv_error_clear(&err);
    assert_int_equal(qemu_ports_reserve(p, BASE + 1, &err), -1);
    mv_error_clear(&err);
    assert_int_equal(qemu_ports_reserve(p, BASE + 9, &err), -1);
    mv_error_clear(&err);
    qemu_ports_release(p, BASE + 1);
    qemu_ports_release(p, 1); /* never acquired: ignored */
    assert_int_equal(qemu_ports_acquire(p, &err), BASE + 1);
    qemu_ports_free(p);
    qemu_ports_free(NULL);
    assert_null(qemu_ports_new(10, 5, &err));
    mv_error_clear(&err);
}

static void test_skips_bound_port(void **state)
{
    mv_error err = MV_ERROR_INIT;
    qemu_ports *p = qemu_ports_new(BASE + 10, BASE + 12, &err);
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    (void)state;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(BASE + 10);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(qemu_ports_acquire(p, &err), BASE + 11);
    close(fd);
    assert_int_equal(qemu_ports_acquire(p, &err), BASE + 10);
    qemu_ports_free(p);
}

typedef struct worker {
    qemu_ports *p;
    int got[SPAN];
    int n;
} worker;

/* Takes ports until none is left, releasing and re-taking some on the way. */
static void *grab(void *arg)
{
    worker *w = arg;
    int port;

    while ((port = qemu_ports_acquire(w->p, NULL)) >= 0) {
        if (w->n % 3 == 1) {
            qemu_ports_release(w->p, port);
            if ((port = qemu_ports_acquire(w->p, NULL)) < 0)
                break;
        }
        w->got[w->n++] = port;
    }
    return NULL;
}

static void test_concurrent_never_twice(void **state)
{
    mv_error err = MV_ERROR_INIT;
    qemu_ports *p = qemu_ports_new(BASE + 100, BASE + 100 + SPAN - 1, &err);
    pthread_t th[THREADS];
    worker *w = calloc(THREADS, sizeof(*w));
    char seen[SPAN] = {0};
    int total = 0;

    (void)state;
    for (int i = 0; i < THREADS; i++) {
        w[i].p = p;
        assert_int_equal(pthread_create(&th[i], NULL, grab, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < w[i].n; k++) {
            int off = w[i].got[k] - (BASE + 100);

            assert_in_range(off, 0, SPAN - 1);
            assert_int_equal(seen[off], 0);
            seen[off] = 1;
            total++;
        }
    assert_int_equal(total, SPAN);
    free(w);
    qemu_ports_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_release_reserve),
        cmocka_unit_test(test_skips_bound_port),
        cmocka_unit_test(test_concurrent_never_twice),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
