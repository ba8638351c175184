/* fixture_daemon.c: a daemon's main on a thread under a fresh root, and a frame-speaking
 * peer, for the unit tests of the daemon runtimes (see fixture_daemon.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/daemon/daemon.h"
#include "common/spawn.h"
#include "fixture_daemon.h"

/* ---- a daemon on a thread ---- */

int fx_daemon_root(fx_daemon *d, const char *name)
{
    memset(d, 0, sizeof(*d));
    d->notify_fd = -1;
    d->status = -1;
    snprintf(d->root, sizeof(d->root), "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(d->root))
        return -1;
    snprintf(d->run_dir, sizeof(d->run_dir), "%s/run/modvirt", d->root);
    setenv("MODVIRT_ROOT", d->root, 1);
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");

    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s/notify", d->root);
    d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (d->notify_fd < 0 || bind(d->notify_fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    setenv("NOTIFY_SOCKET", a.sun_path, 1);
    return 0;
}

static void *daemon_thread(void *arg)
{
    fx_daemon *d = arg;
    d->status = d->run(d->opaque);
    return NULL;
}

/* Waits for the daemon's READY=1 on the notify socket (no sleeping). */
static void wait_ready(fx_daemon *d)
{
    char buf[512];
    for (;;) {
        struct pollfd p = {.fd = d->notify_fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 20000), 1);
        ssize_t n = recv(d->notify_fd, buf, sizeof(buf) - 1, 0);
        assert_true(n > 0);
        buf[n] = '\0';
        if (strstr(buf, "READY=1"))
            return;
        if (strstr(buf, "STOPPING=1"))
            fail_msg("the daemon failed to start: %s", buf);
    }
}

int fx_daemon_start(fx_daemon *d, int (*run)(void *opaque), void *opaque)
{
    d->run = run;
    d->opaque = opaque;
    if (pthread_create(&d->thread, NULL, daemon_thread, d) != 0)
        return -1;
    d->started = true;
    wait_ready(d);
    return 0;
}

static int run_driver(void *opaque)
{
    const mv_driver *drv = opaque;
    char *argv[] = {(char *)drv->daemon_name, NULL};
    return mv_daemon_main(1, argv, drv);
}

int fx_daemon_start_driver(fx_daemon *d, const char *name, const mv_driver *drv)
{
    if (fx_daemon_root(d, name) < 0)
        return -1;
    snprintf(d->sock, sizeof(d->sock), "%s/%s-sock", d->run_dir, drv->daemon_name);
    return fx_daemon_start(d, run_driver, (void *)drv);
}

int fx_driver_connect_open(mv_call *call, const Modvirt__ConnectOpenArgs *a,
                           Modvirt__ConnectOpenRet *r)
{
    (void)call;
    r->uri = strdup(a->uri);
    return r->uri ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path) < 0 ? -1 : 0;
}

int fx_daemon_stop(fx_daemon *d)
{
    if (d->started) {
        kill(getpid(), SIGTERM);
        pthread_join(d->thread, NULL);
        d->started = false;
    }
    if (d->notify_fd >= 0)
        close(d->notify_fd);
    d->notify_fd = -1;
    int rc = d->root[0] && nftw(d->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -1 : 0;
    d->root[0] = '\0';
    return rc == 0 && d->status == 0 ? 0 : -1;
}

/* ---- a peer speaking frames ---- */

void fx_peer_init(fx_peer *p, int fd)
{
    p->fd = fd;
    p->last_len = 0;
    mv_frame_reader_init(&p->r, 0);
}

void fx_peer_connect(fx_peer *p, const char *path)
{
    mv_error err = MV_ERROR_INIT;
    int fd = mv_socket_connect(path, &err);
    if (fd < 0)
        fail_msg("connect %s: %s", path, err.message);
    fx_peer_init(p, fd);
}

void fx_peer_close(fx_peer *p)
{
    close(p->fd);
    p->fd = -1;
    mv_frame_reader_free(&p->r);
}

void fx_peer_send_raw(fx_peer *p, const void *data, size_t len)
{
    assert_int_equal(send(p->fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

void fx_peer_send_spec(fx_peer *p, const mv_frame_spec *spec)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mv_frame_build(spec, &buf, &len, NULL), 0);
    fx_peer_send_raw(p, buf, len);
    free(buf);
}

void fx_peer_send(fx_peer *p, uint32_t serial, Modvirt__FrameKind kind, uint32_t proc,
                  const ProtobufCMessage *body, const mv_error *e)
{
    mv_frame_spec spec = {.serial = serial, .kind = kind, .proc = proc, .body = body, .error = e};
    fx_peer_send_spec(p, &spec);
}

void fx_peer_call(fx_peer *p, uint32_t serial, uint32_t proc, const ProtobufCMessage *body)
{
    fx_peer_send(p, serial, MODVIRT__FRAME_KIND__FRAME_CALL, proc, body, NULL);
}

/* The next frame; NULL with *timed_out set when none comes within timeout_ms, NULL alone
 * when the other side closed. */
static Modvirt__Envelope *peer_read(fx_peer *p, int timeout_ms, bool *timed_out)
{
    *timed_out = false;
    for (;;) {
        const uint8_t *b = NULL;
        size_t len = 0;
        int r = mv_frame_reader_next(&p->r, &b, &len, NULL);
        assert_true(r >= 0);
        if (r == 1) {
            p->last_len = len < sizeof(p->last) ? len : sizeof(p->last);
            memcpy(p->last, b, p->last_len);
            Modvirt__Envelope *env = mv_envelope_unpack(b, len, NULL);
            assert_non_null(env);
            return env;
        }
        size_t avail = 0;
        uint8_t *space = mv_frame_reader_space(&p->r, 65536, &avail);
        struct pollfd pf = {.fd = p->fd, .events = POLLIN};
        if (poll(&pf, 1, timeout_ms) != 1) {
            *timed_out = true;
            return NULL;
        }
        ssize_t n = recv(p->fd, space, avail, 0);
        if (n <= 0)
            return NULL;
        mv_frame_reader_commit(&p->r, (size_t)n);
    }
}

Modvirt__Envelope *fx_peer_next(fx_peer *p, int timeout_ms)
{
    bool timed_out;
    Modvirt__Envelope *env = peer_read(p, timeout_ms, &timed_out);
    if (timed_out)
        fail_msg("no frame within %d ms", timeout_ms);
    return env;
}

Modvirt__Envelope *fx_peer_poll(fx_peer *p, int timeout_ms)
{
    bool timed_out;
    Modvirt__Envelope *env = peer_read(p, timeout_ms, &timed_out);
    if (!env && !timed_out)
        fail_msg("the other side closed");
    return env;
}

Modvirt__Envelope *fx_peer_expect_reply(fx_peer *p, uint32_t serial)
{
    Modvirt__Envelope *env = fx_peer_next(p, 20000);
    assert_non_null(env);
    if (env->kind != MODVIRT__FRAME_KIND__FRAME_REPLY || env->serial != serial)
        fail_msg("got kind %d serial %u (%s), want the reply to serial %u", env->kind, env->serial,
                 env->error && env->error->message ? env->error->message : "", serial);
    return env;
}

void fx_peer_expect_error(fx_peer *p, uint32_t serial, int code, const char *text)
{
    Modvirt__Envelope *env = fx_peer_next(p, 20000);
    assert_non_null(env);
    assert_int_equal(env->kind, MODVIRT__FRAME_KIND__FRAME_ERROR);
    assert_int_equal(env->serial, serial);
    assert_non_null(env->error);
    if (env->error->code != code || !strstr(env->error->message, text))
        fail_msg("serial %u: got %d '%s', want %d '%s'", serial, env->error->code,
                 env->error->message, code, text);
    mv_envelope_free(env);
}
