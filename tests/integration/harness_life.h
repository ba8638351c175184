/* harness_life.h: what real-guest tests assert about a guest's life — its state and
 * reason now or within a deadline, the lifecycle events received (libvirt's default event
 * loop), and a (re)boot seen on the serial console.
 *
 * Header-only (static functions, cmocka assertions); include after <cmocka.h> and
 * harness_guest.h. */
#ifndef MVT_HARNESS_LIFE_H
#define MVT_HARNESS_LIFE_H

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <modvirt/modvirt.h>
#include "harness.h"
#include "harness_guest.h"

/* Fails the test unless dom is in `state` (and `reason`, when >= 0). */
static inline void mvt_life_assert_state(virDomainPtr dom, int state, int reason)
{
    int s = -1, r = -1;
    assert_int_equal(virDomainGetState(dom, &s, &r, 0), 0);
    if (s != state || (reason >= 0 && r != reason))
        fail_msg("%s: state %d reason %d, expected %d reason %d", virDomainGetName(dom), s, r,
                 state, reason);
}

/* Fails the test unless dom reaches `state` (and `reason`) within timeout_ms. */
static inline void mvt_life_wait_state(virDomainPtr dom, int state, int reason, int timeout_ms)
{
    int s = -1, r = -1;
    if (mvt_guest_wait_state(dom, state, reason, timeout_ms, &s, &r) < 0)
        fail_msg("%s: state %d reason %d after %d ms, expected %d reason %d",
                 virDomainGetName(dom), s, r, timeout_ms, state, reason);
}

/* Lifecycle events received, in order (register mvt_life_on_event with a pointer to one). */
typedef struct mvt_life_seen {
    int n;
    int event[32];
    int detail[32];
} mvt_life_seen;

static inline int mvt_life_on_event(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                                    void *opaque)
{
    mvt_life_seen *s = opaque;
    (void)conn, (void)dom;
    if (s->n < 32) {
        s->event[s->n] = event;
        s->detail[s->n] = detail;
        s->n++;
    }
    return 0;
}

static inline void mvt_life_tick(int timer, void *opaque)
{
    (void)timer, (void)opaque;
}

/* Runs the default event loop until s holds (event, detail) or timeout_ms pass. 0 or -1. */
static inline int mvt_life_wait_event(mvt_life_seen *s, int event, int detail, int timeout_ms)
{
    /* a timer wakes the loop so the deadline is checked even when nothing arrives */
    int timer = virEventAddTimeout(50, mvt_life_tick, NULL, NULL);
    long long deadline = mvt_now_ms() + timeout_ms;
    int rc = -1;
    while (rc < 0 && mvt_now_ms() < deadline) {
        for (int i = 0; i < s->n; i++)
            if (s->event[i] == event && s->detail[i] == detail)
                rc = 0;
        if (rc < 0 && virEventRunDefaultImpl() < 0)
            break;
    }
    virEventRemoveTimeout(timer);
    return rc;
}

/* Waits for the marker the guest's init prints by itself when it (re)boots: reads the
 * console without typing anything, so the guest has no other reason to print it. 0, or
 * -1 at the deadline. */
static inline int mvt_life_wait_boot(const char *pty, int timeout_ms)
{
    int fd = mvt_guest_pty_open(pty);
    if (fd < 0)
        return -1;
    long long deadline = mvt_now_ms() + timeout_ms;
    char buf[4096];
    size_t len = 0;
    int rc = -1;
    while (rc < 0 && mvt_now_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(deadline - mvt_now_ms())) <= 0)
            break;
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EAGAIN)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, MVT_GUEST_MARKER))
            rc = 0;
        else if (len > sizeof(buf) / 2) { /* keep the tail: the marker may straddle */
            memmove(buf, buf + len - 64, 64);
            len = 64;
        }
    }
    close(fd);
    return rc;
}

#endif
