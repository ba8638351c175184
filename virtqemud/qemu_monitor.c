/* qemu_monitor.c: the QMP client — a blocking handshake on the caller's thread, then
 * replies and events read on the daemon's libuv loop, commands waited for by workers. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include "virtqemud/qemu_monitor.h"

/* One command in flight. It lives on the waiting worker's stack; the loop touches it
 * only under the monitor's lock and while it is on the list. */
typedef struct mon_cmd {
    struct mon_cmd *next;
    unsigned long long id;
    const char *name;
    char *wire;
    bool sent, done;
    json_object *reply;
    mv_error err;
} mon_cmd;

struct qemu_mon {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a command finished */
    unsigned int refs;   /* owner, loop (while the pipe is open), pending posts */
    qemu_mon_loop loop;
    qemu_mon_callbacks cb;
    void *opaque;
    int fd;         /* until the loop takes it */
    uv_pipe_t pipe; /* loop thread only */
    bool pipe_open, pipe_closing;
    qmp_parser *parser; /* loop thread only, once attached */
    bool gone;          /* EOF, error or close: no new commands */
    bool closed;        /* the owner closed it: no more callbacks */
    unsigned long long next_id;
    mon_cmd *cmds;
};

typedef struct mon_write {
    uv_write_t req;
    qemu_mon *mon;
    char *data;
} mon_write;

static void mon_unref(qemu_mon *mon)
{
    bool last;

    pthread_mutex_lock(&mon->lock);
    last = --mon->refs == 0;
    pthread_mutex_unlock(&mon->lock);
    if (!last)
        return;
    if (mon->fd >= 0)
        close(mon->fd);
    qmp_parser_free(mon->parser);
    pthread_cond_destroy(&mon->cond);
    pthread_mutex_destroy(&mon->lock);
    free(mon);
}

static void mon_ref(qemu_mon *mon)
{
    pthread_mutex_lock(&mon->lock);
    mon->refs++;
    pthread_mutex_unlock(&mon->lock);
}

/* Posts fn(mon) with a reference that fn drops; false when the loop is stopping. */
static bool mon_post(qemu_mon *mon, void (*fn)(void *))
{
    mon_ref(mon);
    if (mon->loop.post(mon->loop.ctx, fn, mon) == 0)
        return true;
    mon_unref(mon);
    return false;
}

/* Marks the monitor gone and fails every waiting command with why. Caller holds lock. */
static void fail_all_locked(qemu_mon *mon, const mv_error *why)
{
    mon->gone = true;
    for (mon_cmd *c = mon->cmds; c; c = c->next) {
        if (c->done)
            continue;
        c->done = true;
        mv_error_set_raw(&c->err, why->code, why->domain, why->message);
    }
    pthread_cond_broadcast(&mon->cond);
}

/* ---- loop side -------------------------------------------------------------------------- */

static void on_pipe_closed(uv_handle_t *h)
{
    mon_unref(h->data);
}

static void close_pipe(qemu_mon *mon)
{
    if (mon->pipe_open && !mon->pipe_closing) {
        mon->pipe_closing = true;
        uv_close((uv_handle_t *)&mon->pipe, on_pipe_closed);
    }
}

/* The monitor died under us: fail commands, tell the owner once, close the socket. */
static void mon_lost(qemu_mon *mon, const mv_error *why)
{
    bool tell;

    pthread_mutex_lock(&mon->lock);
    tell = !mon->gone && !mon->closed;
    fail_all_locked(mon, why);
    pthread_mutex_unlock(&mon->lock);
    close_pipe(mon);
    if (tell && mon->cb.eof)
        mon->cb.eof(mon, why, mon->opaque);
}

static void dispatch(qemu_mon *mon, json_object *msg)
{
    qmp_kind kind = qmp_message_kind(msg);
    unsigned long long id;
    json_object *v = NULL;
    bool closed;

    if (kind == QMP_KIND_EVENT) {
        pthread_mutex_lock(&mon->lock);
        closed = mon->closed;
        pthread_mutex_unlock(&mon->lock);
        json_object_object_get_ex(msg, "data", &v);
        if (!closed && mon->cb.event) {
            json_object *name = NULL;
            json_object_object_get_ex(msg, "event", &name);
            mon->cb.event(mon, json_object_get_string(name), v, mon->opaque);
        }
        return;
    }
    if (kind != QMP_KIND_RETURN && kind != QMP_KIND_ERROR)
        return; /* a stray greeting or an unknown message: nothing waits for it */
    id = qmp_message_id(msg);
    pthread_mutex_lock(&mon->lock);
    for (mon_cmd *c = mon->cmds; c; c = c->next) {
        if (c->id != id || c->done)
            continue;
        if (kind == QMP_KIND_RETURN) {
            json_object_object_get_ex(msg, "return", &v);
            c->reply = json_object_get(v);
        } else {
            qmp_message_error(msg, c->name, &c->err);
        }
        c->done = true;
        pthread_cond_broadcast(&mon->cond);
        break;
    }
    pthread_mutex_unlock(&mon->lock);
}

/* Hands every complete buffered message to dispatch; -1 + err when the stream broke. */
static int drain(qemu_mon *mon, mv_error *err)
{
    json_object *msg;
    int r;

    while ((r = qmp_parser_next(mon->parser, &msg, err)) > 0) {
        dispatch(mon, msg);
        json_object_put(msg);
        if (mon->pipe_closing)
            return 0;
    }
    return r;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static __thread char chunk[65536];

    (void)h;
    (void)suggested;
    *buf = uv_buf_init(chunk, sizeof(chunk));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    qemu_mon *mon = s->data;
    mv_error err = MV_ERROR_INIT;

    if (n == 0)
        return;
    if (n < 0) {
        if (n == UV_EOF)
            mv_error_set(&err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                         "QEMU monitor closed (qemu exited)");
        else
            mv_error_set(&err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                         "cannot read from QEMU monitor: %s", uv_strerror((int)n));
        mon_lost(mon, &err);
    } else if (qmp_parser_feed(mon->parser, buf->base, (size_t)n, &err) < 0 ||
               drain(mon, &err) < 0) {
        mon_lost(mon, &err);
    }
    mv_error_clear(&err);
}

static void on_written(uv_write_t *req, int status)
{
    mon_write *w = (mon_write *)req;
    mv_error err = MV_ERROR_INIT;

    if (status < 0 && status != UV_ECANCELED) {
        mv_error_set(&err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                     "cannot write to QEMU monitor: %s", uv_strerror(status));
        mon_lost(w->mon, &err);
        mv_error_clear(&err);
    }
    mon_unref(w->mon);
    free(w->data);
    free(w);
}

/* Writes every queued command not yet sent. */
static void flush_on_loop(void *arg)
{
    qemu_mon *mon = arg;

    for (;;) {
        mon_write *w = NULL;
        uv_buf_t b;

        pthread_mutex_lock(&mon->lock);
        if (!mon->gone && mon->pipe_open && !mon->pipe_closing) {
            for (mon_cmd *c = mon->cmds; c; c = c->next) {
                if (c->sent || c->done)
                    continue;
                c->sent = true;
                if ((w = calloc(1, sizeof(*w))) && (w->data = strdup(c->wire))) {
                    w->mon = mon;
                    mon->refs++;
                } else {
                    free(w);
                    w = NULL;
                    c->done = true;
                    mv_error_set_errno(&c->err, ENOMEM, VIR_FROM_QEMU,
                                       "cannot send QEMU command '%s'", c->name);
                    pthread_cond_broadcast(&mon->cond);
                    continue;
                }
                break;
            }
        }
        pthread_mutex_unlock(&mon->lock);
        if (!w)
            break;
        b = uv_buf_init(w->data, (unsigned int)strlen(w->data));
        if (uv_write(&w->req, (uv_stream_t *)&mon->pipe, &b, 1, on_written) < 0)
            on_written(&w->req, UV_EPIPE);
    }
    mon_unref(mon);
}

/* Takes over the negotiated socket. */
static void attach_on_loop(void *arg)
{
    qemu_mon *mon = arg;
    mv_error err = MV_ERROR_INIT;
    bool closed;
    int r;

    pthread_mutex_lock(&mon->lock);
    closed = mon->closed;
    pthread_mutex_unlock(&mon->lock);
    if (closed)
        goto cleanup;
    if ((r = uv_pipe_init(mon->loop.loop, &mon->pipe, 0)) < 0) {
        mv_error_set(&err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "cannot watch QEMU monitor: %s",
                     uv_strerror(r));
        mon_lost(mon, &err);
        goto cleanup;
    }
    mon->pipe.data = mon;
    mon->pipe_open = true;
    mon_ref(mon); /* the loop's, dropped when the pipe closes */
    if ((r = uv_pipe_open(&mon->pipe, mon->fd)) < 0) {
        mv_error_set(&err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "cannot watch QEMU monitor: %s",
                     uv_strerror(r));
        mon_lost(mon, &err);
        goto cleanup;
    }
    mon->fd = -1;
    /* Guests must not keep a stopping daemon's loop alive (daemon.h). */
    uv_unref((uv_handle_t *)&mon->pipe);
    if ((r = uv_read_start((uv_stream_t *)&mon->pipe, on_alloc, on_read)) < 0) {
        mv_error_set(&err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "cannot read QEMU monitor: %s",
                     uv_strerror(r));
        mon_lost(mon, &err);
        goto cleanup;
    }
    /* Events that came with the handshake's last reply. */
    if (drain(mon, &err) < 0)
        mon_lost(mon, &err);
    mon_ref(mon);
    flush_on_loop(mon); /* commands queued before the attach ran */

cleanup:
    mv_error_clear(&err);
    mon_unref(mon);
}

static void close_on_loop(void *arg)
{
    qemu_mon *mon = arg;

    close_pipe(mon);
    mon_unref(mon);
}

/* ---- caller side ---------------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects, retrying while qemu has not created or not started listening on the socket. */
static int connect_retry(const char *path, long long deadline, bool (*alive)(void *),
                         void *alive_opaque, mv_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = -1;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "monitor socket path '%s' too long", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    for (;;) {
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
            mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot create monitor socket");
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        int e = errno;
        close(fd);
        if (e != ENOENT && e != ECONNREFUSED) {
            mv_error_set_errno(err, e, VIR_FROM_QEMU, "cannot connect to monitor '%s'", path);
            return -1;
        }
        if (alive && !alive(alive_opaque)) {
            mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                         "qemu exited before its monitor '%s' answered", path);
            return -1;
        }
        if (now_ms() >= deadline) {
            mv_error_set(err, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_QEMU,
                         "timed out waiting for monitor socket '%s'", path);
            return -1;
        }
        /* Nothing to wait on until the file exists: qemu creates it shortly after exec. */
        struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

/* Reads until a message of the wanted kind (and id, for replies) arrives. Returns the
 * message (a reference) or NULL + err. */
static json_object *read_until(int fd, qmp_parser *p, qmp_kind want, unsigned long long id,
                               long long deadline, mv_error *err)
{
    char buf[4096];

    for (;;) {
        json_object *msg = NULL;
        int r = qmp_parser_next(p, &msg, err);

        if (r < 0)
            return NULL;
        if (r > 0) {
            qmp_kind k = qmp_message_kind(msg);
            if (k == want ||
                (want == QMP_KIND_RETURN && k == QMP_KIND_ERROR && qmp_message_id(msg) == id)) {
                if (k != QMP_KIND_RETURN || qmp_message_id(msg) == id)
                    return msg;
            }
            json_object_put(msg);
            continue;
        }
        long long left = deadline - now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || (r = poll(&pfd, 1, (int)left)) == 0) {
            mv_error_set(err, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_QEMU,
                         "timed out waiting for the QEMU monitor's %s",
                         want == QMP_KIND_GREETING ? "greeting" : "capabilities reply");
            return NULL;
        }
        if (r < 0 && errno == EINTR)
            continue;
        ssize_t n = r < 0 ? -1 : read(fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            if (n == 0)
                mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                             "QEMU monitor closed during the handshake");
            else
                mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot read QEMU monitor");
            return NULL;
        }
        if (qmp_parser_feed(p, buf, (size_t)n, err) < 0)
            return NULL;
    }
}

static int write_all(int fd, const char *s, mv_error *err)
{
    size_t len = strlen(s), off = 0;

    while (off < len) {
        ssize_t n = write(fd, s + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot write to QEMU monitor");
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

qemu_mon *qemu_mon_open(const qemu_mon_loop *loop, const char *path, int timeout_ms,
                        bool (*alive)(void *alive_opaque), void *alive_opaque,
                        const qemu_mon_callbacks *cb, void *opaque, mv_error *err)
{
    long long deadline = now_ms() + timeout_ms;
    qemu_mon *mon = NULL;
    json_object *msg = NULL;
    char *wire = NULL;
    pthread_condattr_t ca;

    if (!(mon = calloc(1, sizeof(*mon))) || !(mon->parser = qmp_parser_new())) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot set up QEMU monitor");
        free(mon);
        return NULL;
    }
    pthread_mutex_init(&mon->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&mon->cond, &ca);
    pthread_condattr_destroy(&ca);
    mon->refs = 1;
    mon->loop = *loop;
    mon->cb = *cb;
    mon->opaque = opaque;
    mon->next_id = 1; /* id 1 is the handshake's */
    if ((mon->fd = connect_retry(path, deadline, alive, alive_opaque, err)) < 0)
        goto fail;
    if (!(msg = read_until(mon->fd, mon->parser, QMP_KIND_GREETING, 0, deadline, err)))
        goto fail;
    json_object_put(msg);
    if (!(wire = qmp_format_command("qmp_capabilities", NULL, 1))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot set up QEMU monitor");
        goto fail;
    }
    if (write_all(mon->fd, wire, err) < 0 ||
        !(msg = read_until(mon->fd, mon->parser, QMP_KIND_RETURN, 1, deadline, err)))
        goto fail;
    if (qmp_message_kind(msg) == QMP_KIND_ERROR) {
        qmp_message_error(msg, "qmp_capabilities", err);
        goto fail;
    }
    json_object_put(msg);
    msg = NULL;
    free(wire);
    if (!mon_post(mon, attach_on_loop)) {
        mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU, "the daemon is stopping");
        mon_unref(mon);
        return NULL;
    }
    return mon;

fail:
    json_object_put(msg);
    free(wire);
    mon_unref(mon);
    return NULL;
}

int qemu_mon_command(qemu_mon *mon, const char *cmd, json_object *args, int timeout_ms,
                     json_object **reply, mv_error *err)
{
    mon_cmd c = {.name = cmd, .err = MV_ERROR_INIT};
    struct timespec deadline;
    bool posted;
    int ret = -1;

    if (reply)
        *reply = NULL;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&mon->lock);
    if (mon->gone) {
        pthread_mutex_unlock(&mon->lock);
        mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                     "QEMU monitor is gone (command '%s')", cmd);
        return -1;
    }
    c.id = ++mon->next_id;
    pthread_mutex_unlock(&mon->lock);
    if (!(c.wire = qmp_format_command(cmd, args, c.id))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot send QEMU command '%s'", cmd);
        return -1;
    }
    pthread_mutex_lock(&mon->lock);
    /* Gone meanwhile: nobody would ever answer or fail it. */
    if (mon->gone) {
        pthread_mutex_unlock(&mon->lock);
        free(c.wire);
        mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                     "QEMU monitor is gone (command '%s')", cmd);
        return -1;
    }
    c.next = mon->cmds;
    mon->cmds = &c;
    pthread_mutex_unlock(&mon->lock);

    posted = mon_post(mon, flush_on_loop);
    pthread_mutex_lock(&mon->lock);
    if (!posted && !c.done) {
        c.done = true;
        mv_error_set(&c.err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU, "the daemon is stopping");
    }
    while (!c.done) {
        if (pthread_cond_timedwait(&mon->cond, &mon->lock, &deadline) == ETIMEDOUT && !c.done) {
            c.done = true;
            mv_error_set(&c.err, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_QEMU,
                         "QEMU monitor did not answer '%s' within %d ms", cmd, timeout_ms);
        }
    }
    for (mon_cmd **pp = &mon->cmds; *pp; pp = &(*pp)->next) {
        if (*pp == &c) {
            *pp = c.next;
            break;
        }
    }
    pthread_mutex_unlock(&mon->lock);

    if (mv_error_is_set(&c.err)) {
        mv_error_move(err, &c.err);
        json_object_put(c.reply);
    } else {
        if (reply)
            *reply = c.reply;
        else
            json_object_put(c.reply);
        ret = 0;
    }
    free(c.wire);
    return ret;
}

void qemu_mon_close(qemu_mon *mon, bool on_loop)
{
    mv_error why = MV_ERROR_INIT;

    if (!mon)
        return;
    mv_error_set(&why, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU, "QEMU monitor was closed");
    pthread_mutex_lock(&mon->lock);
    mon->closed = true;
    fail_all_locked(mon, &why);
    pthread_mutex_unlock(&mon->lock);
    mv_error_clear(&why);
    if (on_loop)
        close_pipe(mon);
    else
        mon_post(mon, close_on_loop);
    mon_unref(mon);
}

bool qemu_mon_is_gone(qemu_mon *mon)
{
    bool gone;

    pthread_mutex_lock(&mon->lock);
    gone = mon->gone;
    pthread_mutex_unlock(&mon->lock);
    return gone;
}
