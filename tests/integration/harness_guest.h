/* harness_guest.h: what the real-guest tests share — the tiny guest (built once into a
 * cache by tests/guest/build-tiny-guest.sh), its domain XML, waiting for a state, the
 * serial console's marker, and killing every qemu a test's root left behind.
 *
 * Header-only (static functions) so it needs no change to the harness library. */
#ifndef MVT_HARNESS_GUEST_H
#define MVT_HARNESS_GUEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <modvirt/modvirt.h>
#include "harness.h"

/* What the guest's init prints on ttyS0, and again for every line it reads there. */
#define MVT_GUEST_MARKER "MODVIRT-TINY-GUEST-READY"

typedef struct mvt_guest {
    char kernel[512];
    char initrd[512];
} mvt_guest;

/* Builds (or finds in the cache) the tiny guest. 0, or -1 after printing why on stderr
 * (the caller then exits 77: skipped). The cache is $MODVIRT_TEST_CACHE, else the build
 * dir's test-cache/. */
static inline int mvt_guest_prepare(mvt_guest *g)
{
    const char *cache = getenv("MODVIRT_TEST_CACHE");
    char def[512];
    snprintf(def, sizeof(def), "%s/test-cache", MODVIRT_BUILD_DIR);
    const char *argv[] = {MODVIRT_SOURCE_DIR "/tests/guest/build-tiny-guest.sh",
                          cache && *cache ? cache : def, NULL};
    mvt_result r;
    int rc = -1;
    if (mvt_run(&r, argv, NULL, 600000) < 0) {
        fprintf(stderr, "skipped: could not run %s\n", argv[0]);
        return -1;
    }
    if (r.status == 0 && sscanf(r.out, "kernel %511s initrd %511s", g->kernel, g->initrd) == 2)
        rc = 0;
    else
        fprintf(stderr, "skipped: the tiny guest cannot be built here:\n%s", r.err);
    if (rc == 0 && access("/usr/bin/qemu-system-x86_64", X_OK) < 0) {
        fprintf(stderr, "skipped: no /usr/bin/qemu-system-x86_64\n");
        rc = -1;
    }
    mvt_result_free(&r);
    return rc;
}

/* s with every `from` replaced by `to` (malloc'd). */
static inline char *mvt_guest_subst(const char *s, const char *from, const char *to)
{
    size_t n = 0, fl = strlen(from), tl = strlen(to);
    for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
        n++;
    char *out = malloc(strlen(s) + n * tl + 1);
    if (!out)
        return NULL;
    char *w = out;
    for (const char *p = s;;) {
        const char *q = strstr(p, from);
        if (!q) {
            strcpy(w, p);
            break;
        }
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        memcpy(w, to, tl);
        w += tl;
        p = q + fl;
    }
    return out;
}

/* The tiny guest's domain XML (tests/guest/tiny-guest.xml.in) named `name`; malloc'd. */
static inline char *mvt_guest_xml(const mvt_guest *g, const char *name)
{
    char *t = mvt_read_file(MODVIRT_SOURCE_DIR "/tests/guest/tiny-guest.xml.in");
    char *a = t ? mvt_guest_subst(t, "@NAME@", name) : NULL;
    char *b = a ? mvt_guest_subst(a, "@KERNEL@", g->kernel) : NULL;
    char *c = b ? mvt_guest_subst(b, "@INITRD@", g->initrd) : NULL;
    free(t);
    free(a);
    free(b);
    return c;
}

/* Defines the tiny guest `name` on conn; the handle or NULL. */
static inline virDomainPtr mvt_guest_define(virConnectPtr conn, const mvt_guest *g,
                                            const char *name)
{
    char *xml = mvt_guest_xml(g, name);
    virDomainPtr dom = xml ? virDomainDefineXML(conn, xml) : NULL;
    free(xml);
    return dom;
}

/* Waits until dom is in `state` (and, when reason >= 0, that reason), up to timeout_ms.
 * The state is asked every 10 ms: a test that registers for lifecycle events waits on
 * those instead. 0, or -1 at the deadline (*got_state / *got_reason say where it was). */
static inline int mvt_guest_wait_state(virDomainPtr dom, int state, int reason, int timeout_ms,
                                       int *got_state, int *got_reason)
{
    long long deadline = mvt_now_ms() + timeout_ms;
    int s = -1, r = -1;
    for (;;) {
        if (virDomainGetState(dom, &s, &r, 0) == 0 && s == state && (reason < 0 || r == reason))
            break;
        if (mvt_now_ms() >= deadline) {
            if (got_state)
                *got_state = s;
            if (got_reason)
                *got_reason = r;
            return -1;
        }
        poll(NULL, 0, 10);
    }
    if (got_state)
        *got_state = s;
    if (got_reason)
        *got_reason = r;
    return 0;
}

/* The pty of the first serial port from dom's live XML (malloc'd), or NULL. */
static inline char *mvt_guest_pty(virDomainPtr dom)
{
    char *xml = virDomainGetXMLDesc(dom, 0);
    char *path = NULL;
    const char *ser = xml ? strstr(xml, "<serial type='pty'") : NULL;
    const char *end = ser ? strstr(ser, "</serial>") : NULL;
    const char *p = ser ? strstr(ser, "path='") : NULL;
    if (p && end && p < end) {
        p += strlen("path='");
        const char *q = strchr(p, '\'');
        if (q)
            path = strndup(p, (size_t)(q - p));
    }
    free(xml);
    return path;
}

/* Opens a pty in raw mode for reading and writing; fd or -1. */
static inline int mvt_guest_pty_open(const char *pty)
{
    int fd = open(pty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    struct termios t;
    if (fd >= 0 && tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

/* Reads and drops what the pty says until it has been quiet for quiet_ms (at most
 * max_ms in all). */
static inline void mvt_guest_drain(int fd, int quiet_ms, int max_ms)
{
    long long deadline = mvt_now_ms() + max_ms;
    char buf[512];
    while (mvt_now_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, quiet_ms) <= 0)
            return;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EAGAIN))
            return;
    }
}

/* Reads the guest's serial pty until the marker comes: 0, or -1 at the deadline or when
 * the pty fails. With nudge, a newline is typed every 300 ms (the guest answers each line
 * with the marker; what it printed before anyone listened is gone, as on any pty);
 * without, nothing is typed, so only the guest's own boot prints it. */
static inline int mvt_guest_read_marker(const char *pty, int timeout_ms, bool nudge)
{
    int fd = mvt_guest_pty_open(pty);
    if (fd < 0)
        return -1;
    long long deadline = mvt_now_ms() + timeout_ms, next_nudge = mvt_now_ms();
    char buf[4096];
    size_t len = 0;
    int rc = -1;
    while (rc < 0 && mvt_now_ms() < deadline) {
        if (nudge && mvt_now_ms() >= next_nudge) {
            if (write(fd, "\n", 1) < 0 && errno != EAGAIN)
                break;
            next_nudge = mvt_now_ms() + 300;
        }
        long long until = nudge && next_nudge < deadline ? next_nudge : deadline;
        struct pollfd p = {fd, POLLIN, 0};
        int ready = poll(&p, 1, (int)(until > mvt_now_ms() ? until - mvt_now_ms() : 0));
        if (ready < 0 && errno != EINTR)
            break;
        if (ready <= 0)
            continue;
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
    /* the guest answers every newline typed, also those it read only once its init ran:
     * their markers are taken now, so that a later read (mvt_life_wait_boot) sees only
     * what comes after */
    if (rc == 0 && nudge)
        mvt_guest_drain(fd, 500, 5000);
    close(fd);
    return rc;
}

/* The marker, asked for: mvt_guest_read_marker with a newline typed every 300 ms. */
static inline int mvt_guest_wait_marker(const char *pty, int timeout_ms)
{
    return mvt_guest_read_marker(pty, timeout_ms, true);
}

/* Types a line on the guest's serial pty and waits for `expect` after the guest's echo
 * of it: qemu may drop what it has not read when the last opener of the pty goes, so the
 * line is typed again every second until echoed (then never again: a command runs once).
 * 0, or -1 when the echo or `expect` has not come within timeout_ms. */
static inline int mvt_guest_send_expect(const char *pty, const char *line, const char *expect,
                                        int timeout_ms)
{
    int fd = mvt_guest_pty_open(pty);
    if (fd < 0)
        return -1;
    char out[128], buf[4096];
    int n = snprintf(out, sizeof(out), "%s\n", line);
    size_t len = 0;
    bool echoed = false;
    int rc = -1;
    long long deadline = mvt_now_ms() + timeout_ms;
    while (rc < 0 && mvt_now_ms() < deadline) {
        if (!echoed && write(fd, out, (size_t)n) != n && errno != EAGAIN)
            break;
        long long until = echoed ? deadline : mvt_now_ms() + 1000;
        struct pollfd p = {fd, POLLIN, 0};
        while (rc < 0 && mvt_now_ms() < until && poll(&p, 1, (int)(until - mvt_now_ms())) > 0) {
            ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
            if (k <= 0)
                break;
            len += (size_t)k;
            buf[len] = '\0';
            char *echo = echoed ? buf : strstr(buf, line);
            if (echo && !echoed) {
                echoed = true;
                /* what follows the echo is the answer */
                len -= (size_t)(echo + strlen(line) - buf);
                memmove(buf, echo + strlen(line), len + 1);
            }
            if (echoed && strstr(buf, expect))
                rc = 0;
            if (len > sizeof(buf) / 2) { /* keep the tail: `expect` may straddle */
                memmove(buf, buf + len - 128, 128);
                len = 128;
                buf[len] = '\0';
            }
        }
    }
    close(fd);
    return rc;
}

/* Types "poweroff", "reboot", "panic" and the like: done once the guest echoed it. */
static inline int mvt_guest_send(const char *pty, const char *line)
{
    return mvt_guest_send_expect(pty, line, "", 10000);
}

/* The pid of the qemu running guest `name` under this root: run/modvirt/qemu/NAME.pid
 * (DESIGN.md's layout), or -1. */
static inline pid_t mvt_guest_qemu_pid(const mvt_env *e, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/qemu/%s.pid", e->run_dir, name);
    char *s = mvt_read_file(path);
    pid_t pid = s ? (pid_t)atoi(s) : -1;
    free(s);
    return pid > 0 && kill(pid, 0) == 0 ? pid : -1;
}

/* Kills (SIGKILL) every qemu whose command line mentions this test's root — guests are
 * detached from the daemon and would outlive the test. Call before mvt_teardown. */
static inline void mvt_guest_kill_all(const mvt_env *e)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid <= 0)
            continue;
        char path[64], cmd[8192];
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
        close(fd);
        if (n <= 0)
            continue;
        for (ssize_t i = 0; i < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[n] = '\0';
        if (strstr(cmd, "qemu-system") && strstr(cmd, e->root))
            mvt_kill_wait(pid, SIGKILL, 5000);
    }
    if (d)
        closedir(d);
}

#endif
