/* stream.c: streams — an fd (a guest's pty, a UNIX socket) bridged to FRAME_STREAM frames
 * carrying the serial of the call that opened it, both ways, on the loop, with flow
 * control: data sent to the client is limited by the credit it grants (stream_window.h),
 * so the fd is not read while the client has a window's worth unread; the client's data
 * is credited as the fd takes it. Neither side ever holds more than a window, and the
 * connection itself is never held back for a stream. */
#include "common/daemon/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/log.h"
#include "common/stream_window.h"

/* Bytes read from the fd per frame. */
#define STREAM_READ_MAX (64u * 1024u)

typedef struct takeover takeover;

struct mv_stream {
    takeover *waiter; /* told when this stream's fd is closed (a takeover waits) */
    mv_conn *c;       /* a reference until the poll handle is closed */
    uint32_t serial;
    uint32_t proc;
    int fd;
    bool tty; /* a pty: EIO says its other side is gone (see source_gone) */
    uv_poll_t poll;
    int events; /* what the poll watches now */
    mv_stream_window win;
    uint8_t *obuf; /* from the client, for the fd: at most a window */
    size_t olen, ocap;
    bool client_finished; /* FINISH received: finish once obuf is written */
    bool closing;
    mv_stream *next;
};

static void stream_watch(mv_stream *s);

static void send_frame(mv_stream *s, uint8_t *buf, size_t len)
{
    mv_conn_send(s->c, buf, len);
    mv_conn_flush(s->c);
}

void mv_conn_send_stream_status(mv_conn *c, uint32_t serial, uint32_t proc,
                                Modvirt__StreamStatus st, const mv_error *e)
{
    mv_frame_spec spec = {.serial = serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                          .proc = proc,
                          .stream_status = st,
                          .error = e};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mv_frame_build(&spec, &buf, &len, NULL) == 0)
        mv_conn_send(c, buf, len);
}

static void send_status(mv_stream *s, Modvirt__StreamStatus st, const mv_error *e)
{
    mv_conn_send_stream_status(s->c, s->serial, s->proc, st, e);
    mv_conn_flush(s->c);
}

/* A handler waiting for other sessions' fds to close (mv_daemon_abort_streams_on). */
struct takeover {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct stat st;
    const mv_error *why;
    int pending; /* fds still open */
    int aborted;
    bool scanned;
};

static void takeover_closed(takeover *t)
{
    pthread_mutex_lock(&t->lock);
    t->pending--;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

static void on_poll_closed(uv_handle_t *h)
{
    mv_stream *s = h->data;
    mv_conn *c = s->c;
    close(s->fd);
    if (s->waiter)
        takeover_closed(s->waiter);
    free(s->obuf);
    free(s);
    mv_conn_unref(c);
}

/* Ends the stream: unlinked at once, freed once libuv lets go of the handle. */
static void stream_close(mv_stream *s)
{
    if (s->closing)
        return;
    s->closing = true;
    /* a session lock a handler took on the fd (a console's) goes now, not when libuv's
     * close callback lets the fd go: the client's next open may already be on its way */
    flock(s->fd, LOCK_UN);
    for (mv_stream **pp = &s->c->streams; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    uv_close((uv_handle_t *)&s->poll, on_poll_closed);
}

static void stream_fail(mv_stream *s, mv_error *e)
{
    MV_DEBUG("stream %u: %s", s->serial, e->message);
    send_status(s, MODVIRT__STREAM_STATUS__STREAM_ABORT, e);
    mv_error_clear(e);
    stream_close(s);
}

static void stream_fail_errno(mv_stream *s, int errnum, const char *what)
{
    mv_error e = MV_ERROR_INIT;
    mv_error_set_errno(&e, errnum, VIR_FROM_STREAMS, "%s", what);
    stream_fail(s, &e);
}

/* The fd's normal end: the client reads everything sent so far, then EOF. */
static void stream_end(mv_stream *s)
{
    MV_DEBUG("stream %u: the source ended", s->serial);
    send_status(s, MODVIRT__STREAM_STATUS__STREAM_FINISH, NULL);
    stream_close(s);
}

/* Whether errno from the fd means its other side is gone — the stream's normal end, as
 * EOF is. A pty reads and writes EIO once the other side closed (qemu exited): the
 * kernel sets that error only for a hang-up. A socket whose peer left writes EPIPE. */
static bool source_gone(const mv_stream *s, int errnum)
{
    return (errnum == EIO && s->tty) || errnum == EPIPE;
}

/* Reads once, within the client's window. 1 data sent, 0 nothing to read now (or no
 * window left), -1 the stream ended. */
static int do_read(mv_stream *s)
{
    uint8_t buf[STREAM_READ_MAX];
    size_t want = s->win.can_send < sizeof(buf) ? (size_t)s->win.can_send : sizeof(buf);
    if (!want)
        return 0;
    ssize_t n = read(s->fd, buf, want);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n == 0 || (n < 0 && source_gone(s, errno))) {
        stream_end(s);
        return -1;
    }
    if (n < 0) {
        stream_fail_errno(s, errno, "cannot read from the stream's source");
        return -1;
    }
    mv_frame_spec spec = {.serial = s->serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                          .proc = s->proc,
                          .stream_status = MODVIRT__STREAM_STATUS__STREAM_CONTINUE,
                          .raw_body = buf,
                          .raw_body_len = (size_t)n};
    uint8_t *frame = NULL;
    size_t len = 0;
    if (mv_frame_build(&spec, &frame, &len, NULL) == 0)
        send_frame(s, frame, len);
    mv_stream_window_sent(&s->win, (size_t)n);
    return 1;
}

/* Writes what the client sent, crediting it as the fd takes it. */
static void do_write(mv_stream *s)
{
    size_t done = 0;
    while (done < s->olen) {
        ssize_t n = write(s->fd, s->obuf + done, s->olen - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0 && source_gone(s, errno)) {
            stream_end(s);
            return;
        }
        if (n < 0) {
            stream_fail_errno(s, errno, "cannot write to the stream's target");
            return;
        }
        done += (size_t)n;
    }
    memmove(s->obuf, s->obuf + done, s->olen - done);
    s->olen -= done;
    uint64_t credit = mv_stream_window_took(&s->win, done);
    if (credit) {
        mv_frame_spec spec;
        Modvirt__StreamCredit msg;
        uint8_t *frame = NULL;
        size_t len = 0;
        mv_stream_credit_spec(&spec, &msg, s->serial, s->proc, credit);
        if (mv_frame_build(&spec, &frame, &len, NULL) == 0)
            send_frame(s, frame, len);
    }
    if (!s->olen && s->client_finished)
        stream_end(s);
}

/* POLLERR on the fd (libuv has stopped watching it): whatever can still be read goes to
 * the client first. A hang-up is the normal end; anything else fails the stream. */
static void source_error(mv_stream *s)
{
    s->events = 0;
    if (s->olen)
        do_write(s);
    while (!s->closing && do_read(s) > 0)
        ;
    if (s->closing)
        return;
    if (!s->win.can_send) {
        stream_watch(s); /* the rest once the client has room for it */
        return;
    }
    /* nothing left to read: what does the fd say now? (a hung-up pty reports POLLERR
     * with POLLHUP; a socket's own error comes with POLLERR and SO_ERROR) */
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (poll(&p, 1, 0) != 1 || !(p.revents & (POLLHUP | POLLERR))) {
        stream_watch(s); /* the condition is gone: carry on */
        return;
    }
    if ((p.revents & POLLHUP) && (s->tty || !(p.revents & POLLERR))) {
        stream_end(s);
        return;
    }
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || !soerr)
        soerr = EIO;
    stream_fail_errno(s, soerr, "the stream's source failed");
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    mv_stream *s = h->data;
    if (s->closing)
        return;
    if (status < 0) {
        source_error(s);
        return;
    }
    if (events & UV_WRITABLE)
        do_write(s);
    /* a hang-up alone (the pty's other side closed) comes with no flag libuv passes on:
     * the read says what happened (EOF or EIO) */
    if (!s->closing && ((events & (UV_READABLE | UV_DISCONNECT)) || events == 0) &&
        (s->events & UV_READABLE))
        do_read(s);
    if (!s->closing)
        stream_watch(s);
}

/* Watches for what the stream can use now: the fd's data while the client has room for
 * it (and its connection's queue too), the fd's room while the client's data waits. */
static void stream_watch(mv_stream *s)
{
    int want = 0;
    if (!s->c->wq.full && !s->client_finished && s->win.can_send)
        want |= UV_READABLE;
    if (s->olen)
        want |= UV_WRITABLE;
    if (want == s->events)
        return;
    s->events = want;
    if (want)
        uv_poll_start(&s->poll, want, on_poll);
    else
        uv_poll_stop(&s->poll);
}

int mv_stream_open(mv_conn *c, uint32_t serial, uint32_t proc, int fd, mv_error *err)
{
    mv_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_STREAMS, "cannot open the stream");
        return -1;
    }
    int fl = fcntl(fd, F_GETFL), rc = 0;
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        (rc = uv_poll_init(c->pipe.loop, &s->poll, fd)) < 0) {
        mv_error_set_errno(err, rc < 0 ? -rc : errno, VIR_FROM_STREAMS,
                           "cannot watch the stream's source");
        free(s);
        return -1;
    }
    s->poll.data = s;
    s->c = c;
    s->serial = serial;
    s->proc = proc;
    s->fd = fd;
    s->tty = isatty(fd);
    mv_stream_window_init(&s->win);
    mv_conn_ref(c);
    s->next = c->streams;
    c->streams = s;
    stream_watch(s);
    MV_DEBUG("client pid %d: stream %u open", (int)c->ident.pid, serial);
    return 0;
}

/* Data from the client: queued for the fd, within the window it was granted. */
static void take_data(mv_stream *s, const Modvirt__Envelope *env)
{
    if (s->client_finished || !env->body.len)
        return;
    if (mv_stream_window_arrived(&s->win, env->body.len) < 0) {
        mv_error e = MV_ERROR_INIT;
        mv_error_set(&e, VIR_ERR_RPC, VIR_FROM_STREAMS,
                     "the client sent more than the stream's window (%u bytes)", MV_STREAM_WINDOW);
        stream_fail(s, &e);
        return;
    }
    if (s->olen + env->body.len > s->ocap) {
        /* grows with what waits, never past the window (arrived() just checked) */
        size_t cap = s->ocap ? s->ocap : 4096;
        while (cap < s->olen + env->body.len)
            cap *= 2;
        if (cap > MV_STREAM_WINDOW)
            cap = MV_STREAM_WINDOW;
        uint8_t *nb = realloc(s->obuf, cap);
        if (!nb) {
            stream_fail_errno(s, ENOMEM, "stream buffer");
            return;
        }
        s->obuf = nb;
        s->ocap = cap;
    }
    memcpy(s->obuf + s->olen, env->body.data, env->body.len);
    s->olen += env->body.len;
    do_write(s);
}

static void take_credit(mv_stream *s, const Modvirt__Envelope *env)
{
    mv_error e = MV_ERROR_INIT;
    uint64_t bytes = 0;
    if (mv_stream_credit_parse(env, &bytes, &e) < 0) {
        stream_fail(s, &e);
        return;
    }
    if (mv_stream_window_credited(&s->win, bytes) < 0) {
        mv_error_set(&e, VIR_ERR_RPC, VIR_FROM_STREAMS,
                     "the client credited %llu bytes it was never sent", (unsigned long long)bytes);
        stream_fail(s, &e);
    }
}

int mv_stream_frame(mv_conn *c, const Modvirt__Envelope *env)
{
    mv_stream *s = c->streams;
    while (s && s->serial != env->serial)
        s = s->next;
    if (!s)
        return -1;
    switch (env->stream_status) {
    case MODVIRT__STREAM_STATUS__STREAM_CONTINUE:
        take_data(s, env);
        break;
    case MODVIRT__STREAM_STATUS__STREAM_CREDIT:
        take_credit(s, env);
        break;
    case MODVIRT__STREAM_STATUS__STREAM_FINISH:
        s->client_finished = true;
        do_write(s);
        break;
    default:
        MV_DEBUG("client pid %d: stream %u aborted", (int)c->ident.pid, s->serial);
        stream_close(s);
        return 0;
    }
    if (!s->closing)
        stream_watch(s);
    return 0;
}

void mv_streams_update(mv_conn *c)
{
    for (mv_stream *s = c->streams; s; s = s->next)
        stream_watch(s);
}

void mv_streams_close_all(mv_conn *c)
{
    while (c->streams)
        stream_close(c->streams);
}

/* On the loop: aborts the streams on the same file as t->st. */
static void takeover_scan(mv_daemon *d, void *opaque)
{
    takeover *t = opaque;
    int n = 0;
    for (mv_conn *c = d->conns; c; c = c->next) {
        for (mv_stream *s = c->streams, *next; s; s = next) {
            struct stat st;
            next = s->next;
            if (s->closing || fstat(s->fd, &st) < 0 || st.st_dev != t->st.st_dev ||
                st.st_ino != t->st.st_ino || st.st_rdev != t->st.st_rdev)
                continue;
            send_status(s, MODVIRT__STREAM_STATUS__STREAM_ABORT, t->why);
            s->waiter = t;
            n++;
            stream_close(s);
        }
    }
    pthread_mutex_lock(&t->lock);
    t->pending += n;
    t->aborted = n;
    t->scanned = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

int mv_daemon_abort_streams_on(mv_daemon *d, int fd, const mv_error *why)
{
    takeover t = {.why = why};
    int rc = -1;
    if (fstat(fd, &t.st) < 0)
        return 0;
    pthread_mutex_init(&t.lock, NULL);
    pthread_cond_init(&t.cond, NULL);
    if (mv_daemon_post(d, takeover_scan, &t) == 0) {
        pthread_mutex_lock(&t.lock);
        while (!t.scanned || t.pending > 0)
            pthread_cond_wait(&t.cond, &t.lock);
        rc = t.aborted;
        pthread_mutex_unlock(&t.lock);
    }
    pthread_cond_destroy(&t.cond);
    pthread_mutex_destroy(&t.lock);
    return rc;
}

/* ---- the handler's side ---- */

int mv_call_attach_stream_fd(mv_call *call, int fd)
{
    if (fd < 0) {
        mv_error_set(&call->err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_STREAMS, "no stream source");
        return -1;
    }
    if (call->stream_fd >= 0) {
        close(fd);
        mv_error_set(&call->err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_STREAMS,
                     "%s already opened a stream", call->proc->name);
        return -1;
    }
    call->stream_fd = fd;
    return 0;
}
