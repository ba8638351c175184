/* stream.c: streams — an fd (a guest's pty, a UNIX socket) bridged to FRAME_STREAM frames
 * carrying the serial of the call that opened it, both ways, on the loop, with flow
 * control: the fd is not read while the client's queue is full, and the client's frames
 * are not taken while the fd has not taken what came before. */
#include "common/daemon/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/log.h"

/* Bytes read from the fd per frame. */
#define STREAM_READ_MAX (64u * 1024u)
/* Bytes from the client waiting for the fd before we stop reading the client. */
#define STREAM_OUT_HIGH (1u << 20)

typedef struct takeover takeover;

struct mv_stream {
    takeover *waiter; /* told when this stream's fd is closed (a takeover waits) */
    mv_conn *c;       /* a reference until the poll handle is closed */
    uint32_t serial;
    uint32_t proc;
    int fd;
    uv_poll_t poll;
    int events;    /* what the poll watches now */
    uint8_t *obuf; /* from the client, for the fd */
    size_t olen, ocap;
    bool client_finished; /* FINISH received: finish once obuf is written */
    bool closing;
    mv_stream *next;
};

static void stream_watch(mv_stream *s);

static void send_status(mv_stream *s, Modvirt__StreamStatus st, const mv_error *e)
{
    mv_frame_spec spec = {.serial = s->serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                          .proc = s->proc,
                          .stream_status = st,
                          .error = e};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mv_frame_build(&spec, &buf, &len, NULL) == 0) {
        mv_conn_send(s->c, buf, len);
        mv_conn_flush(s->c);
    }
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
    for (mv_stream **pp = &s->c->streams; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    uv_close((uv_handle_t *)&s->poll, on_poll_closed);
}

static void stream_fail(mv_stream *s, int errnum, const char *what)
{
    mv_error e = MV_ERROR_INIT;
    mv_error_set_errno(&e, errnum, VIR_FROM_STREAMS, "%s", what);
    MV_DEBUG("stream %u: %s", s->serial, e.message);
    send_status(s, MODVIRT__STREAM_STATUS__STREAM_ABORT, &e);
    mv_error_clear(&e);
    stream_close(s);
}

static void do_read(mv_stream *s)
{
    uint8_t buf[STREAM_READ_MAX];
    ssize_t n = read(s->fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    /* a pty master reads EIO once the other side is gone (the guest's qemu exited) */
    if (n == 0 || (n < 0 && errno == EIO)) {
        send_status(s, MODVIRT__STREAM_STATUS__STREAM_FINISH, NULL);
        stream_close(s);
        return;
    }
    if (n < 0) {
        stream_fail(s, errno, "cannot read from the stream's source");
        return;
    }
    mv_frame_spec spec = {.serial = s->serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                          .proc = s->proc,
                          .stream_status = MODVIRT__STREAM_STATUS__STREAM_CONTINUE,
                          .raw_body = buf,
                          .raw_body_len = (size_t)n};
    uint8_t *frame = NULL;
    size_t len = 0;
    if (mv_frame_build(&spec, &frame, &len, NULL) == 0) {
        mv_conn_send(s->c, frame, len);
        mv_conn_flush(s->c);
    }
}

static void do_write(mv_stream *s)
{
    bool was_high = s->olen >= STREAM_OUT_HIGH;
    while (s->olen) {
        ssize_t n = write(s->fd, s->obuf, s->olen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            stream_fail(s, errno, "cannot write to the stream's target");
            return;
        }
        memmove(s->obuf, s->obuf + n, s->olen - (size_t)n);
        s->olen -= (size_t)n;
    }
    if (!s->olen && s->client_finished) {
        send_status(s, MODVIRT__STREAM_STATUS__STREAM_FINISH, NULL);
        stream_close(s);
        return;
    }
    if (was_high && s->olen < STREAM_OUT_HIGH)
        mv_conn_resume(s->c);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    mv_stream *s = h->data;
    if (s->closing)
        return;
    if (status < 0) {
        /* POLLERR: a pty whose other side closed (qemu exited) reads EIO, which is the
         * stream's normal end; anything else is a failure */
        do_read(s);
        if (!s->closing)
            stream_fail(s, EIO, "the stream's source failed");
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

/* Watches for what the stream can use now. */
static void stream_watch(mv_stream *s)
{
    int want = 0;
    if (!s->c->wq.full && !s->client_finished)
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

int mv_stream_open(mv_conn *c, uint32_t serial, uint32_t proc, int fd)
{
    mv_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        uv_poll_init(c->pipe.loop, &s->poll, fd) < 0) {
        free(s);
        return -1;
    }
    s->poll.data = s;
    s->c = c;
    s->serial = serial;
    s->proc = proc;
    s->fd = fd;
    mv_conn_ref(c);
    s->next = c->streams;
    c->streams = s;
    stream_watch(s);
    MV_DEBUG("client pid %d: stream %u open", (int)c->ident.pid, serial);
    return 0;
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
        if (s->client_finished || !env->body.len)
            break;
        if (s->olen + env->body.len > s->ocap) {
            size_t cap = s->ocap ? s->ocap : 4096;
            while (cap < s->olen + env->body.len)
                cap *= 2;
            uint8_t *nb = realloc(s->obuf, cap);
            if (!nb) {
                stream_fail(s, ENOMEM, "stream buffer");
                return 0;
            }
            s->obuf = nb;
            s->ocap = cap;
        }
        memcpy(s->obuf + s->olen, env->body.data, env->body.len);
        s->olen += env->body.len;
        do_write(s);
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

bool mv_streams_backlogged(const mv_conn *c)
{
    for (const mv_stream *s = c->streams; s; s = s->next)
        if (s->olen >= STREAM_OUT_HIGH)
            return true;
    return false;
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
