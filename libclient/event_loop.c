/* event_loop.c: libvirt's event loop API and its default poll(2) implementation — the
 * thread that calls virEventRunDefaultImpl runs every watch and timer callback — or the
 * application's own loop, registered with virEventRegisterImpl. */
#include "libclient/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct watch {
    int id;
    int fd;
    int events;
    virEventHandleCallback cb;
    void *opaque;
    virFreeCallback ff;
    bool deleted;
} watch;

typedef struct timer {
    int id;
    int interval; /* ms; -1 disabled */
    long long due;
    virEventTimeoutCallback cb;
    void *opaque;
    virFreeCallback ff;
    bool deleted;
} timer;

static struct {
    pthread_mutex_t lock;
    bool registered;
    int wake[2]; /* a byte written to wake[1] interrupts poll() */
    watch *watches;
    size_t nwatches, capwatches;
    timer *timers;
    size_t ntimers, captimers;
    int next_id;
    bool running; /* a thread is inside virEventRunDefaultImpl */
} loop = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = {-1, -1}, .next_id = 1};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake_locked(void)
{
    if (loop.running && loop.wake[1] >= 0) {
        char c = 0;
        ssize_t r = write(loop.wake[1], &c, 1);
        (void)r; /* a full pipe already wakes the loop */
    }
}

/* An application's loop, when it registered one (virEventRegisterImpl). */
static struct {
    virEventAddHandleFunc add_handle;
    virEventUpdateHandleFunc update_handle;
    virEventRemoveHandleFunc remove_handle;
    virEventAddTimeoutFunc add_timeout;
    virEventUpdateTimeoutFunc update_timeout;
    virEventRemoveTimeoutFunc remove_timeout;
} app;

void virEventRegisterImpl(virEventAddHandleFunc addHandle, virEventUpdateHandleFunc updateHandle,
                          virEventRemoveHandleFunc removeHandle, virEventAddTimeoutFunc addTimeout,
                          virEventUpdateTimeoutFunc updateTimeout,
                          virEventRemoveTimeoutFunc removeTimeout)
{
    pthread_mutex_lock(&loop.lock);
    app.add_handle = addHandle;
    app.update_handle = updateHandle;
    app.remove_handle = removeHandle;
    app.add_timeout = addTimeout;
    app.update_timeout = updateTimeout;
    app.remove_timeout = removeTimeout;
    pthread_mutex_unlock(&loop.lock);
}

bool mvc_event_loop_registered(void)
{
    pthread_mutex_lock(&loop.lock);
    bool r = loop.registered || app.add_handle;
    pthread_mutex_unlock(&loop.lock);
    return r;
}

int virEventRegisterDefaultImpl(void)
{
    int rc = 0;
    virResetLastError();
    pthread_mutex_lock(&loop.lock);
    if (!loop.registered) {
        if (pipe2(loop.wake, O_CLOEXEC | O_NONBLOCK) < 0) {
            mv_error err = MV_ERROR_INIT;
            mv_error_set_errno(&err, errno, VIR_FROM_EVENT, "cannot create the event loop's pipe");
            pthread_mutex_unlock(&loop.lock);
            mvc_dispatch_error(NULL, &err);
            return -1;
        }
        loop.registered = true;
    }
    pthread_mutex_unlock(&loop.lock);
    return rc;
}

static int to_poll(int events)
{
    int p = 0;
    if (events & VIR_EVENT_HANDLE_READABLE)
        p |= POLLIN;
    if (events & VIR_EVENT_HANDLE_WRITABLE)
        p |= POLLOUT;
    return p;
}

static int from_poll(short revents)
{
    int e = 0;
    if (revents & POLLIN)
        e |= VIR_EVENT_HANDLE_READABLE;
    if (revents & POLLOUT)
        e |= VIR_EVENT_HANDLE_WRITABLE;
    if (revents & (POLLERR | POLLNVAL))
        e |= VIR_EVENT_HANDLE_ERROR;
    if (revents & POLLHUP)
        e |= VIR_EVENT_HANDLE_HANGUP;
    return e;
}

/* Frees deleted entries (lock held); their free callbacks are collected to run unlocked. */
typedef struct doomed {
    virFreeCallback ff;
    void *opaque;
} doomed;

static size_t purge_locked(doomed **out)
{
    size_t n = 0, cap = 0;
    doomed *d = NULL;
    size_t j = 0;
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < (pass ? loop.ntimers : loop.nwatches); i++) {
            bool del = pass ? loop.timers[i].deleted : loop.watches[i].deleted;
            virFreeCallback ff = pass ? loop.timers[i].ff : loop.watches[i].ff;
            void *op = pass ? loop.timers[i].opaque : loop.watches[i].opaque;
            if (del && ff) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 8;
                    doomed *nd = realloc(d, cap * sizeof(*d));
                    if (!nd)
                        continue; /* the free callback is skipped rather than crash */
                    d = nd;
                }
                d[n++] = (doomed){ff, op};
            }
        }
    }
    j = 0;
    for (size_t i = 0; i < loop.nwatches; i++)
        if (!loop.watches[i].deleted)
            loop.watches[j++] = loop.watches[i];
    loop.nwatches = j;
    j = 0;
    for (size_t i = 0; i < loop.ntimers; i++)
        if (!loop.timers[i].deleted)
            loop.timers[j++] = loop.timers[i];
    loop.ntimers = j;
    *out = d;
    return n;
}

int virEventRunDefaultImpl(void)
{
    mv_error err = MV_ERROR_INIT;
    struct pollfd *pfds = NULL;
    int *ids = NULL;
    size_t n = 0;
    int timeout = -1, rc = -1;
    long long now;

    virResetLastError();
    pthread_mutex_lock(&loop.lock);
    if (!loop.registered) {
        pthread_mutex_unlock(&loop.lock);
        mv_error_set(&err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_EVENT,
                     "no event loop: call virEventRegisterDefaultImpl first");
        goto cleanup;
    }
    pfds = calloc(loop.nwatches + 1, sizeof(*pfds));
    ids = calloc(loop.nwatches + 1, sizeof(*ids));
    if (!pfds || !ids) {
        pthread_mutex_unlock(&loop.lock);
        mv_error_set(&err, VIR_ERR_NO_MEMORY, VIR_FROM_EVENT, "event loop");
        goto cleanup;
    }
    pfds[n].fd = loop.wake[0];
    pfds[n++].events = POLLIN;
    for (size_t i = 0; i < loop.nwatches; i++) {
        watch *w = &loop.watches[i];
        if (w->deleted)
            continue;
        pfds[n].fd = w->fd;
        pfds[n].events = (short)to_poll(w->events);
        ids[n++] = w->id;
    }
    now = now_ms();
    for (size_t i = 0; i < loop.ntimers; i++) {
        timer *t = &loop.timers[i];
        if (t->deleted || t->interval < 0)
            continue;
        long long left = t->due - now;
        if (left < 0)
            left = 0;
        if (timeout < 0 || left < timeout)
            timeout = (int)left;
    }
    loop.running = true;
    pthread_mutex_unlock(&loop.lock);

    int pr = poll(pfds, n, timeout);
    if (pr < 0 && errno != EINTR) {
        mv_error_set_errno(&err, errno, VIR_FROM_EVENT, "poll in the event loop");
        pthread_mutex_lock(&loop.lock);
        loop.running = false;
        pthread_mutex_unlock(&loop.lock);
        goto cleanup;
    }
    if (pr > 0 && pfds[0].revents) {
        char buf[64];
        while (read(loop.wake[0], buf, sizeof(buf)) > 0)
            ;
    }

    /* timers due: each runs unlocked, found again by id afterwards (the list may change) */
    now = now_ms();
    pthread_mutex_lock(&loop.lock);
    for (size_t i = 0; i < loop.ntimers; i++) {
        timer *t = &loop.timers[i];
        if (t->deleted || t->interval < 0 || t->due > now)
            continue;
        t->due = now + t->interval;
        int id = t->id;
        virEventTimeoutCallback cb = t->cb;
        void *op = t->opaque;
        pthread_mutex_unlock(&loop.lock);
        cb(id, op);
        pthread_mutex_lock(&loop.lock);
    }
    /* watches with activity */
    for (size_t k = 1; pr > 0 && k < n; k++) {
        if (!pfds[k].revents)
            continue;
        for (size_t i = 0; i < loop.nwatches; i++) {
            watch *w = &loop.watches[i];
            if (w->id != ids[k] || w->deleted)
                continue;
            int ev = from_poll(pfds[k].revents) &
                     (w->events | VIR_EVENT_HANDLE_ERROR | VIR_EVENT_HANDLE_HANGUP);
            if (!ev)
                break;
            virEventHandleCallback cb = w->cb;
            void *op = w->opaque;
            int fd = w->fd;
            pthread_mutex_unlock(&loop.lock);
            cb(ids[k], fd, ev, op);
            pthread_mutex_lock(&loop.lock);
            break;
        }
    }
    doomed *d = NULL;
    size_t nd = purge_locked(&d);
    loop.running = false;
    pthread_mutex_unlock(&loop.lock);
    for (size_t i = 0; i < nd; i++)
        d[i].ff(d[i].opaque);
    free(d);
    rc = 0;

cleanup:
    free(pfds);
    free(ids);
    if (rc < 0)
        mvc_dispatch_error(NULL, &err);
    return rc;
}

int virEventAddHandle(int fd, int events, virEventHandleCallback cb, void *opaque,
                      virFreeCallback ff)
{
    int id = -1;
    if (app.add_handle)
        return app.add_handle(fd, events, cb, opaque, ff);
    pthread_mutex_lock(&loop.lock);
    if (loop.registered && fd >= 0 && cb) {
        if (loop.nwatches == loop.capwatches) {
            size_t cap = loop.capwatches ? loop.capwatches * 2 : 16;
            watch *nw = realloc(loop.watches, cap * sizeof(*nw));
            if (!nw)
                goto out;
            loop.watches = nw;
            loop.capwatches = cap;
        }
        id = loop.next_id++;
        loop.watches[loop.nwatches++] =
            (watch){.id = id, .fd = fd, .events = events, .cb = cb, .opaque = opaque, .ff = ff};
        wake_locked();
    }
out:
    pthread_mutex_unlock(&loop.lock);
    return id;
}

void virEventUpdateHandle(int id, int events)
{
    if (app.update_handle) {
        app.update_handle(id, events);
        return;
    }
    pthread_mutex_lock(&loop.lock);
    for (size_t i = 0; i < loop.nwatches; i++) {
        if (loop.watches[i].id == id && !loop.watches[i].deleted) {
            loop.watches[i].events = events;
            wake_locked();
        }
    }
    pthread_mutex_unlock(&loop.lock);
}

int virEventRemoveHandle(int id)
{
    int rc = -1;
    if (app.remove_handle)
        return app.remove_handle(id);
    pthread_mutex_lock(&loop.lock);
    for (size_t i = 0; i < loop.nwatches; i++) {
        if (loop.watches[i].id == id && !loop.watches[i].deleted) {
            loop.watches[i].deleted = true;
            rc = 0;
            wake_locked();
        }
    }
    /* outside a run, nothing would purge it soon: the next run does */
    pthread_mutex_unlock(&loop.lock);
    return rc;
}

int virEventAddTimeout(int timeout, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff)
{
    int id = -1;
    if (app.add_timeout)
        return app.add_timeout(timeout, cb, opaque, ff);
    pthread_mutex_lock(&loop.lock);
    if (loop.registered && cb) {
        if (loop.ntimers == loop.captimers) {
            size_t cap = loop.captimers ? loop.captimers * 2 : 16;
            timer *nt = realloc(loop.timers, cap * sizeof(*nt));
            if (!nt)
                goto out;
            loop.timers = nt;
            loop.captimers = cap;
        }
        id = loop.next_id++;
        loop.timers[loop.ntimers++] = (timer){.id = id,
                                              .interval = timeout,
                                              .due = now_ms() + (timeout > 0 ? timeout : 0),
                                              .cb = cb,
                                              .opaque = opaque,
                                              .ff = ff};
        wake_locked();
    }
out:
    pthread_mutex_unlock(&loop.lock);
    return id;
}

void virEventUpdateTimeout(int id, int timeout)
{
    if (app.update_timeout) {
        app.update_timeout(id, timeout);
        return;
    }
    pthread_mutex_lock(&loop.lock);
    for (size_t i = 0; i < loop.ntimers; i++) {
        if (loop.timers[i].id == id && !loop.timers[i].deleted) {
            loop.timers[i].interval = timeout;
            loop.timers[i].due = now_ms() + (timeout > 0 ? timeout : 0);
            wake_locked();
        }
    }
    pthread_mutex_unlock(&loop.lock);
}

int virEventRemoveTimeout(int id)
{
    int rc = -1;
    if (app.remove_timeout)
        return app.remove_timeout(id);
    pthread_mutex_lock(&loop.lock);
    for (size_t i = 0; i < loop.ntimers; i++) {
        if (loop.timers[i].id == id && !loop.timers[i].deleted) {
            loop.timers[i].deleted = true;
            rc = 0;
            wake_locked();
        }
    }
    pthread_mutex_unlock(&loop.lock);
    return rc;
}
