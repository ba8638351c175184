/* harness_wait.c: waiting on what a test holds in flight — bytes queued toward a stopped
 * daemon (sock_diag), threads that make a blocking call, the clock (see harness.h). */
#include "harness.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* TCP_ESTABLISHED, the state sock_diag reports for a connected UNIX stream socket */
#define DIAG_ESTABLISHED 1

long long mvt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Adds up the receive queues of one dump message's socket when it is bound at path. */
static void add_if_ours(const struct nlmsghdr *h, const char *path, long *total)
{
    const struct unix_diag_msg *m = NLMSG_DATA(h);
    int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
    bool named = false;
    long queued = 0;
    for (const struct rtattr *a = (const struct rtattr *)(m + 1); RTA_OK(a, len);
         a = RTA_NEXT(a, len)) {
        if (a->rta_type == UNIX_DIAG_NAME) {
            /* the kernel's copy of sun_path, with its terminating NUL for a path name */
            size_t n = strnlen(RTA_DATA(a), RTA_PAYLOAD(a));
            named = n == strlen(path) && memcmp(RTA_DATA(a), path, n) == 0;
        } else if (a->rta_type == UNIX_DIAG_RQLEN) {
            const struct unix_diag_rqlen *q = RTA_DATA(a);
            queued = (long)q->udiag_rqueue;
        }
    }
    if (named)
        *total += queued;
}

long mvt_unix_queued(const char *path)
{
    long total = 0;
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -1;
    struct {
        struct nlmsghdr nlh;
        struct unix_diag_req req;
    } msg = {
        .nlh = {.nlmsg_len = sizeof(msg),
                .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
        .req = {.sdiag_family = AF_UNIX,
                .udiag_states = 1u << DIAG_ESTABLISHED,
                .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN},
    };
    if (send(fd, &msg, sizeof(msg), 0) < 0)
        goto fail;
    /* the kernel's dump messages are aligned for struct nlmsghdr */
    static __thread uint32_t buf[8192];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE)
                goto done;
            if (h->nlmsg_type == NLMSG_ERROR)
                goto fail;
            add_if_ours(h, path, &total);
        }
    }
done:
    close(fd);
    return total;
fail:
    close(fd);
    return -1;
}

int mvt_wait_unix_queued(const char *path, long min_bytes, int timeout_ms)
{
    long long deadline = mvt_now_ms() + timeout_ms;
    for (;;) {
        long q = mvt_unix_queued(path);
        if (q >= min_bytes)
            return 0;
        if (q < 0 || mvt_now_ms() >= deadline)
            return -1;
        struct timespec step = {0, 1000000};
        nanosleep(&step, NULL);
    }
}

/* ---- threads ------------------------------------------------------------------------------ */

struct mvt_thread {
    pthread_t tid;
    int done_fd; /* eventfd, written when fn returns */
    void (*fn)(void *);
    void *arg;
};

static void *thread_main(void *opaque)
{
    mvt_thread *t = opaque;
    t->fn(t->arg);
    uint64_t one = 1;
    ssize_t n = write(t->done_fd, &one, sizeof(one));
    (void)n;
    return NULL;
}

mvt_thread *mvt_thread_start(void (*fn)(void *arg), void *arg)
{
    mvt_thread *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    t->done_fd = eventfd(0, EFD_CLOEXEC);
    if (t->done_fd < 0)
        goto fail;
    if (pthread_create(&t->tid, NULL, thread_main, t) != 0)
        goto fail;
    return t;
fail:
    if (t->done_fd >= 0)
        close(t->done_fd);
    free(t);
    return NULL;
}

int mvt_thread_join(mvt_thread *t, int timeout_ms)
{
    struct pollfd p = {.fd = t->done_fd, .events = POLLIN};
    int rc;
    do {
        rc = poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc != 1)
        return -1;
    pthread_join(t->tid, NULL);
    close(t->done_fd);
    free(t);
    return 0;
}

mvt_thread *mvt_thread_in_flight(void (*fn)(void *arg), void *arg, const char *path, long *queued,
                                 int timeout_ms)
{
    mvt_thread *t = mvt_thread_start(fn, arg);
    if (!t)
        return NULL;
    if (mvt_wait_unix_queued(path, *queued + 1, timeout_ms) < 0)
        return NULL;
    *queued = mvt_unix_queued(path);
    /* answered after all: the call was never held */
    if (mvt_thread_join(t, 0) == 0)
        return NULL;
    return t;
}

/* ---- stopped processes ------------------------------------------------------------------------
 */

/* The state letter of /proc/<pid>/stat ('R', 'S', 'T'…), or 0. */
static char proc_state(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *s = mvt_read_file(path);
    char state = 0;
    /* "pid (comm) S ...": comm may hold spaces and parentheses, so look after the last ')' */
    const char *p = s ? strrchr(s, ')') : NULL;
    if (p && p[1] == ' ')
        state = p[2];
    free(s);
    return state;
}

int mvt_stop_wait(pid_t pid, int timeout_ms)
{
    if (kill(pid, SIGSTOP) < 0)
        return -1;
    long long deadline = mvt_now_ms() + timeout_ms;
    for (;;) {
        char st = proc_state(pid);
        if (st == 'T' || st == 't')
            return 0;
        if (st == 0 || mvt_now_ms() >= deadline)
            return -1;
        struct timespec step = {0, 1000000};
        nanosleep(&step, NULL);
    }
}
