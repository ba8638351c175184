/* rpc.c: a framed stream multiplexed by serial — reader thread, keepalive, deadlines. */
#include "libclient/rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <modvirt/modvirt.h>
#include "common/frame.h"
#include "common/proc.h"

/* One caller waiting for its reply. Linked into rpc->pending while it waits; whoever
 * unlinks it (reader on reply/death, caller on timeout) does so under rpc->lock, and only
 * the caller frees it. */
typedef struct pending_call {
    uint32_t serial;
    uint32_t proc;
    bool done;
    Modvirt__Envelope *reply; /* FRAME_REPLY envelope, owned until unpacked */
    mv_error err;             /* FRAME_ERROR, or the stream's death */
    pthread_cond_t cond;
    struct pending_call *next;
} pending_call;

struct mvc_rpc {
    int fd;
    int wake[2]; /* pipe that interrupts the reader's poll */
    char *peer;
    pthread_t reader;

    pthread_mutex_t lock; /* everything below */
    pending_call *pending;
    uint32_t last_serial;
    bool dead;
    int dead_reason;
    mv_error dead_err;
    bool stopping;      /* mvc_rpc_free asked the reader to leave */
    bool free_on_exit;  /* mvc_rpc_free ran on the reader thread: the reader frees */
    mvc_keepalive ka;
    int call_timeout_ms;
    mvc_rpc_dead_fn on_dead;
    mvc_rpc_frame_fn on_frame;
    void *cb_opaque;

    pthread_mutex_t write_lock; /* whole frames go out one at a time */
};

static void rpc_destroy(mvc_rpc *rpc);

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake_reader(mvc_rpc *rpc)
{
    char c = 1;
    (void)!write(rpc->wake[1], &c, 1);
}

/* ---- writing ----------------------------------------------------------------------------- */

/* Writes all of buf; waits for room at most until deadline (-1: no limit). When the
 * stream dies, the reader shuts the socket down, which ends any wait here. -1 on
 * failure; -2 when the peer has closed the stream (its reason may still be unread). */
static int write_all(mvc_rpc *rpc, const uint8_t *buf, size_t len, long long deadline,
                     size_t *written, mv_error *err)
{
    size_t off = 0;
    *written = 0;
    while (off < len) {
        *written = off;
        ssize_t n = send(rpc->fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int wait = -1;
            if (deadline >= 0) {
                long long left = deadline - now_ms();
                if (left <= 0) {
                    mv_error_set(err, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_RPC,
                                 "%s did not accept the call in time", rpc->peer);
                    return -1;
                }
                wait = (int)left;
            }
            struct pollfd p = {rpc->fd, POLLOUT, 0};
            if (poll(&p, 1, wait) < 0 && errno != EINTR) {
                mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot write to %s", rpc->peer);
                return -1;
            }
            continue;
        }
        int gone = n < 0 && (errno == EPIPE || errno == ECONNRESET);
        mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC, "cannot send to %s: %s", rpc->peer,
                     n == 0 ? "connection closed" : strerror(errno));
        return gone ? -2 : -1;
    }
    *written = off;
    return 0;
}

/* ---- death ------------------------------------------------------------------------------- */

/* Marks the stream dead and fails every pending call with err's message. Called with
 * rpc->lock held. Returns true when this call did it (first death). */
static bool mark_dead_locked(mvc_rpc *rpc, int reason, const mv_error *err)
{
    if (rpc->dead)
        return false;
    rpc->dead = true;
    rpc->dead_reason = reason;
    mv_error_set_raw(&rpc->dead_err, err->code, err->domain, err->message);
    for (pending_call *c = rpc->pending; c; c = c->next) {
        mv_error_set_raw(&c->err, err->code, err->domain, err->message);
        c->done = true;
        pthread_cond_signal(&c->cond);
    }
    rpc->pending = NULL;
    /* Unblocks any writer stuck waiting for room, and tells the peer we are gone. */
    shutdown(rpc->fd, SHUT_RDWR);
    return true;
}

/* Marks the stream dead from the reader thread; the reader tells the owner on its way
 * out, whoever noticed the death first. */
static void die(mvc_rpc *rpc, int reason, mv_error *err)
{
    pthread_mutex_lock(&rpc->lock);
    mark_dead_locked(rpc, reason, err);
    pthread_mutex_unlock(&rpc->lock);
}

/* ---- reading ----------------------------------------------------------------------------- */

static pending_call *take_pending_locked(mvc_rpc *rpc, uint32_t serial)
{
    for (pending_call **pp = &rpc->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->serial == serial) {
            pending_call *c = *pp;
            *pp = c->next;
            c->next = NULL;
            return c;
        }
    }
    return NULL;
}

/* Sends a small frame from the reader thread without ever blocking on a busy writer:
 * when someone else is writing, the stream is in use and the frame can be skipped. */
static void reader_send_small(mvc_rpc *rpc, uint32_t serial, Modvirt__FrameKind kind,
                              uint32_t proc, int wait_ms)
{
    if (pthread_mutex_trylock(&rpc->write_lock) != 0)
        return;
    mv_frame_spec spec = {.serial = serial, .kind = kind, .proc = proc};
    uint8_t *frame = NULL;
    size_t len = 0;
    mv_error err = MV_ERROR_INIT;
    if (mv_frame_build(&spec, &frame, &len, &err) == 0) {
        size_t written;
        /* a peer that closed (-2) is left for the read that follows: it reports the
         * peer's last words, or its end of file */
        if (write_all(rpc, frame, len, now_ms() + wait_ms, &written, &err) == -1) {
            pthread_mutex_unlock(&rpc->write_lock);
            free(frame);
            die(rpc, VIR_CONNECT_CLOSE_REASON_ERROR, &err);
            mv_error_clear(&err);
            return;
        }
    }
    pthread_mutex_unlock(&rpc->write_lock);
    free(frame);
    mv_error_clear(&err);
}

/* Handles one whole frame. -1 when the stream can no longer be trusted. */
static int handle_frame(mvc_rpc *rpc, const uint8_t *data, size_t len, mv_error *err)
{
    Modvirt__Envelope *env = mv_envelope_unpack(data, len, err);
    if (!env) {
        mv_error_prefix(err, "malformed frame from %s: ", rpc->peer);
        return -1;
    }
    if (env->kind == MODVIRT__FRAME_KIND__FRAME_ERROR && env->serial == 0) {
        /* Serial 0 answers no call: the peer is closing the stream and says why (too
         * many clients, a frame it could not read). That reason, not the reset or end
         * of file that follows, is what every pending call must report. */
        mv_error_from_wire(err, env->error);
        mv_envelope_free(env);
        return -1;
    }
    switch (env->kind) {
    case MODVIRT__FRAME_KIND__FRAME_REPLY:
    case MODVIRT__FRAME_KIND__FRAME_ERROR: {
        pthread_mutex_lock(&rpc->lock);
        pending_call *c = take_pending_locked(rpc, env->serial);
        if (c) {
            if (env->kind == MODVIRT__FRAME_KIND__FRAME_ERROR) {
                mv_error_from_wire(&c->err, env->error);
            } else {
                c->reply = env;
                env = NULL;
            }
            c->done = true;
            pthread_cond_signal(&c->cond);
        }
        /* No waiter: a keepalive answer, or a reply to a call that timed out. */
        pthread_mutex_unlock(&rpc->lock);
        break;
    }
    case MODVIRT__FRAME_KIND__FRAME_CALL:
        /* The only call a peer may make to a client is a keepalive probe. */
        if (env->proc == MV_PROC_CONNECT_KEEPALIVE)
            reader_send_small(rpc, env->serial, MODVIRT__FRAME_KIND__FRAME_REPLY, env->proc,
                              1000);
        break;
    default: {
        pthread_mutex_lock(&rpc->lock);
        mvc_rpc_frame_fn cb = rpc->on_frame;
        void *opaque = rpc->cb_opaque;
        pthread_mutex_unlock(&rpc->lock);
        if (cb)
            cb(opaque, env);
        break;
    }
    }
    mv_envelope_free(env);
    return 0;
}

static void *reader_main(void *arg)
{
    mvc_rpc *rpc = arg;
    mv_frame_reader fr;
    mv_frame_reader_init(&fr, 0);
    mv_error err = MV_ERROR_INIT;

    for (;;) {
        long long now = now_ms();
        int wait = -1;
        pthread_mutex_lock(&rpc->lock);
        if (rpc->stopping || rpc->dead) {
            pthread_mutex_unlock(&rpc->lock);
            break;
        }
        enum mvc_keepalive_action act = mvc_keepalive_check(&rpc->ka, now, &wait);
        uint32_t ping_serial = 0;
        if (act == MVC_KA_PING) {
            rpc->ka.last_ping = now;
            rpc->last_serial = mvc_serial_next(rpc->last_serial);
            ping_serial = rpc->last_serial;
        }
        int silent_ms = (int)(now - rpc->ka.last_rx);
        int ping_wait = rpc->ka.interval_ms; /* a probe must not outstay its interval */
        pthread_mutex_unlock(&rpc->lock);

        if (act == MVC_KA_DEAD) {
            mv_error_set(&err, VIR_ERR_RPC, VIR_FROM_RPC,
                         "connection to %s lost: no answer to keepalive for %d ms", rpc->peer,
                         silent_ms);
            die(rpc, VIR_CONNECT_CLOSE_REASON_KEEPALIVE, &err);
            break;
        }
        if (act == MVC_KA_PING)
            reader_send_small(rpc, ping_serial, MODVIRT__FRAME_KIND__FRAME_CALL,
                              MV_PROC_CONNECT_KEEPALIVE, ping_wait);

        struct pollfd fds[2] = {{rpc->fd, POLLIN, 0}, {rpc->wake[0], POLLIN, 0}};
        int n = poll(fds, 2, wait);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            mv_error_set_errno(&err, errno, VIR_FROM_RPC, "waiting for %s", rpc->peer);
            die(rpc, VIR_CONNECT_CLOSE_REASON_ERROR, &err);
            break;
        }
        if (fds[1].revents) {
            char buf[64];
            (void)!read(rpc->wake[0], buf, sizeof(buf));
            continue; /* re-check stopping and the keepalive settings */
        }
        if (!fds[0].revents)
            continue;

        size_t avail = 0;
        uint8_t *space = mv_frame_reader_space(&fr, 0, &avail);
        if (!space) {
            mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "reading from %s", rpc->peer);
            die(rpc, VIR_CONNECT_CLOSE_REASON_ERROR, &err);
            break;
        }
        ssize_t got = recv(rpc->fd, space, avail, MSG_DONTWAIT);
        if (got < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (got <= 0) {
            int rerr = got < 0 ? errno : 0;
            if (got == 0)
                mv_error_set(&err, VIR_ERR_RPC, VIR_FROM_RPC,
                             "connection to %s lost: end of file", rpc->peer);
            else
                mv_error_set(&err, VIR_ERR_RPC, VIR_FROM_RPC, "connection to %s lost: %s",
                             rpc->peer, strerror(rerr));
            /* A reset is the peer going away too (it died with our data unread). */
            bool eof = got == 0 || rerr == ECONNRESET;
            die(rpc, eof ? VIR_CONNECT_CLOSE_REASON_EOF : VIR_CONNECT_CLOSE_REASON_ERROR, &err);
            break;
        }
        mv_frame_reader_commit(&fr, (size_t)got);
        pthread_mutex_lock(&rpc->lock);
        rpc->ka.last_rx = now_ms();
        pthread_mutex_unlock(&rpc->lock);

        const uint8_t *payload;
        size_t plen;
        int rc;
        while ((rc = mv_frame_reader_next(&fr, &payload, &plen, &err)) == 1) {
            if (handle_frame(rpc, payload, plen, &err) < 0) {
                rc = -1;
                break;
            }
        }
        if (rc < 0) {
            mv_error_prefix(&err, "connection to %s lost: ", rpc->peer);
            die(rpc, VIR_CONNECT_CLOSE_REASON_ERROR, &err);
            break;
        }
    }

    mv_frame_reader_free(&fr);
    mv_error_clear(&err);

    pthread_mutex_lock(&rpc->lock);
    bool tell = rpc->dead && !rpc->stopping;
    int reason = rpc->dead_reason;
    mvc_rpc_dead_fn cb = rpc->on_dead;
    void *opaque = rpc->cb_opaque;
    pthread_mutex_unlock(&rpc->lock);
    if (tell && cb)
        cb(opaque, reason);

    pthread_mutex_lock(&rpc->lock);
    bool free_self = rpc->free_on_exit;
    pthread_mutex_unlock(&rpc->lock);
    if (free_self) {
        /* mvc_rpc_free was called from one of our callbacks: finish it here. */
        pthread_detach(pthread_self());
        rpc_destroy(rpc);
    }
    return NULL;
}

/* ---- life cycle -------------------------------------------------------------------------- */

mvc_rpc *mvc_rpc_new(int fd, const char *peer, mv_error *err)
{
    mvc_rpc *rpc = calloc(1, sizeof(*rpc));
    if (!rpc) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "connecting to %s", peer);
        close(fd);
        return NULL;
    }
    rpc->fd = fd;
    rpc->wake[0] = rpc->wake[1] = -1;
    rpc->peer = strdup(peer);
    pthread_mutex_init(&rpc->lock, NULL);
    pthread_mutex_init(&rpc->write_lock, NULL);
    rpc->ka.interval_ms = MVC_KEEPALIVE_INTERVAL_MS;
    rpc->ka.count = MVC_KEEPALIVE_COUNT;
    rpc->ka.last_rx = rpc->ka.last_ping = now_ms();
    if (!rpc->peer || pipe2(rpc->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        mv_error_set_errno(err, errno ? errno : ENOMEM, VIR_FROM_RPC, "connecting to %s", peer);
        goto fail;
    }
    int rc = pthread_create(&rpc->reader, NULL, reader_main, rpc);
    if (rc != 0) {
        mv_error_set_errno(err, rc, VIR_FROM_RPC, "cannot start the reader thread for %s", peer);
        goto fail;
    }
    return rpc;

fail:
    if (rpc->wake[0] >= 0) {
        close(rpc->wake[0]);
        close(rpc->wake[1]);
    }
    close(fd);
    pthread_mutex_destroy(&rpc->lock);
    pthread_mutex_destroy(&rpc->write_lock);
    free(rpc->peer);
    free(rpc);
    return NULL;
}

/* The last step of freeing, once the reader is gone (or by the reader itself, when the
 * owner freed the stream from inside a callback). */
static void rpc_destroy(mvc_rpc *rpc)
{
    close(rpc->fd);
    close(rpc->wake[0]);
    close(rpc->wake[1]);
    mv_error_clear(&rpc->dead_err);
    pthread_mutex_destroy(&rpc->lock);
    pthread_mutex_destroy(&rpc->write_lock);
    free(rpc->peer);
    free(rpc);
}

void mvc_rpc_free(mvc_rpc *rpc)
{
    if (!rpc)
        return;
    mv_error gone = MV_ERROR_INIT;
    mv_error_set(&gone, VIR_ERR_RPC, VIR_FROM_RPC, "connection to %s closed", rpc->peer);
    pthread_mutex_lock(&rpc->lock);
    rpc->stopping = true;
    mark_dead_locked(rpc, VIR_CONNECT_CLOSE_REASON_CLIENT, &gone);
    bool on_reader = pthread_equal(pthread_self(), rpc->reader);
    if (on_reader)
        rpc->free_on_exit = true;
    pthread_mutex_unlock(&rpc->lock);
    mv_error_clear(&gone);
    if (on_reader)
        return;
    wake_reader(rpc);
    pthread_join(rpc->reader, NULL);
    rpc_destroy(rpc);
}

void mvc_rpc_set_callbacks(mvc_rpc *rpc, mvc_rpc_dead_fn dead, mvc_rpc_frame_fn frame,
                          void *opaque)
{
    pthread_mutex_lock(&rpc->lock);
    rpc->on_dead = dead;
    rpc->on_frame = frame;
    rpc->cb_opaque = opaque;
    pthread_mutex_unlock(&rpc->lock);
}

void mvc_rpc_set_keepalive(mvc_rpc *rpc, int interval_ms, unsigned int count)
{
    pthread_mutex_lock(&rpc->lock);
    rpc->ka.interval_ms = interval_ms;
    rpc->ka.count = count;
    /* Counting starts afresh: silence from before the change must not kill at once. */
    rpc->ka.last_ping = rpc->ka.last_rx = now_ms();
    pthread_mutex_unlock(&rpc->lock);
    wake_reader(rpc); /* the reader may be sleeping on the old interval */
}

void mvc_rpc_set_call_timeout(mvc_rpc *rpc, int ms)
{
    pthread_mutex_lock(&rpc->lock);
    rpc->call_timeout_ms = ms > 0 ? ms : 0;
    pthread_mutex_unlock(&rpc->lock);
}

bool mvc_rpc_is_alive(mvc_rpc *rpc)
{
    pthread_mutex_lock(&rpc->lock);
    bool alive = !rpc->dead;
    pthread_mutex_unlock(&rpc->lock);
    return alive;
}

/* ---- calls ------------------------------------------------------------------------------- */

static bool serial_in_use_locked(mvc_rpc *rpc, uint32_t serial)
{
    for (pending_call *c = rpc->pending; c; c = c->next)
        if (c->serial == serial)
            return true;
    return false;
}

static void abstime_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int mvc_rpc_call(mvc_rpc *rpc, uint32_t proc, const ProtobufCMessage *args,
                ProtobufCMessage **ret, mv_error *err)
{
    return mvc_rpc_call_ex(rpc, proc, args, ret, NULL, NULL, err);
}

int mvc_rpc_call_ex(mvc_rpc *rpc, uint32_t proc, const ProtobufCMessage *args,
                   ProtobufCMessage **ret, mvc_rpc_serial_fn on_serial, void *opaque,
                   mv_error *err)
{
    const mv_proc_info *info = mv_proc_lookup(proc);
    uint8_t *frame = NULL;
    size_t frame_len = 0;
    pending_call *call = NULL;
    int rc = -1;
    *ret = NULL;

    if (!info) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC, "no procedure number %u", proc);
        return -1;
    }
    if (args && args->descriptor != info->args) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC,
                     "%s takes a %s, not a %s", info->name, info->args->name,
                     args->descriptor->name);
        return -1;
    }
    if (!(call = calloc(1, sizeof(*call)))) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "calling %s", info->name);
        return -1;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&call->cond, &attr);
    pthread_condattr_destroy(&attr);
    call->proc = proc;

    pthread_mutex_lock(&rpc->lock);
    if (rpc->dead) {
        mv_error_set_raw(err, rpc->dead_err.code, rpc->dead_err.domain, rpc->dead_err.message);
        pthread_mutex_unlock(&rpc->lock);
        goto cleanup;
    }
    do {
        rpc->last_serial = mvc_serial_next(rpc->last_serial);
    } while (serial_in_use_locked(rpc, rpc->last_serial));
    call->serial = rpc->last_serial;
    if (on_serial)
        on_serial(opaque, call->serial);
    call->next = rpc->pending;
    rpc->pending = call;
    int timeout = rpc->call_timeout_ms;
    pthread_mutex_unlock(&rpc->lock);

    long long deadline = timeout > 0 ? now_ms() + timeout : -1;
    mv_frame_spec spec = {.serial = call->serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_CALL,
                          .proc = proc,
                          .timeout_ms = (uint32_t)timeout,
                          .body = args};
    mv_error werr = MV_ERROR_INIT;
    size_t written = 0;
    int wrc = mv_frame_build(&spec, &frame, &frame_len, &werr);
    bool broken = false; /* the failure leaves the stream unusable for everyone */
    if (wrc == 0) {
        pthread_mutex_lock(&rpc->write_lock);
        wrc = write_all(rpc, frame, frame_len, deadline, &written, &werr);
        pthread_mutex_unlock(&rpc->write_lock);
        /* Only a deadline that passed before the first byte leaves the stream intact. */
        broken = wrc < 0 && (werr.code != VIR_ERR_OPERATION_TIMEOUT || written > 0);
    }

    struct timespec until;
    if (timeout > 0)
        abstime_after(&until, timeout);
    pthread_mutex_lock(&rpc->lock);
    /* The peer closed the stream, maybe after saying why (a daemon refusing a client
     * over its limit does): the reader is about to read those words and the end of file
     * behind them, and fails this call with them. */
    bool peer_closed = wrc == -2 && !rpc->dead && !rpc->stopping;
    if (wrc < 0 && !call->done && !peer_closed) {
        take_pending_locked(rpc, call->serial);
        if (broken)
            mark_dead_locked(rpc, VIR_CONNECT_CLOSE_REASON_ERROR, &werr);
        mv_error_move(&call->err, &werr);
        call->done = true;
    }
    while (!call->done) {
        if (timeout <= 0) {
            pthread_cond_wait(&call->cond, &rpc->lock);
            continue;
        }
        if (pthread_cond_timedwait(&call->cond, &rpc->lock, &until) == ETIMEDOUT &&
            !call->done) {
            take_pending_locked(rpc, call->serial);
            mv_error_set(&call->err, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_RPC,
                         "no reply to %s from %s within %d ms", info->name, rpc->peer, timeout);
            call->done = true;
        }
    }
    pthread_mutex_unlock(&rpc->lock);
    mv_error_clear(&werr);

    if (mv_error_is_set(&call->err)) {
        mv_error_move(err, &call->err);
        goto cleanup;
    }
    const uint8_t *body = call->reply->body.data;
    size_t body_len = call->reply->body.len;
    *ret = mv_body_unpack(info->ret, body ? body : (const uint8_t *)"", body_len, err);
    if (!*ret) {
        mv_error_prefix(err, "reply to %s from %s: ", info->name, rpc->peer);
        goto cleanup;
    }
    rc = 0;

cleanup:
    free(frame);
    mv_envelope_free(call->reply);
    mv_error_clear(&call->err);
    pthread_cond_destroy(&call->cond);
    free(call);
    return rc;
}

int mvc_rpc_send(mvc_rpc *rpc, const mv_frame_spec *spec, mv_error *err)
{
    uint8_t *frame = NULL;
    size_t frame_len = 0, written = 0;
    int rc = -1;
    pthread_mutex_lock(&rpc->lock);
    if (rpc->dead) {
        mv_error_set_raw(err, rpc->dead_err.code, rpc->dead_err.domain, rpc->dead_err.message);
        pthread_mutex_unlock(&rpc->lock);
        return -1;
    }
    pthread_mutex_unlock(&rpc->lock);
    if (mv_frame_build(spec, &frame, &frame_len, err) < 0)
        return -1;
    pthread_mutex_lock(&rpc->write_lock);
    rc = write_all(rpc, frame, frame_len, -1, &written, err) < 0 ? -1 : 0;
    pthread_mutex_unlock(&rpc->write_lock);
    if (rc < 0 && written > 0) {
        pthread_mutex_lock(&rpc->lock);
        mark_dead_locked(rpc, VIR_CONNECT_CLOSE_REASON_ERROR, err);
        pthread_mutex_unlock(&rpc->lock);
    }
    free(frame);
    return rc;
}
