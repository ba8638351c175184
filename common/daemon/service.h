/* service.h: the process shell every modvirt daemon shares (driver daemons and virtproxyd),
 * and the small pieces it is built from. This header is the map of common/daemon/: each
 * section names the file that implements it.
 *
 * A daemon describes itself (name, sockets, extra config keys) and hands four callbacks
 * to mv_service_main(), which does options, config, logging, the pid file, the listening
 * sockets (bound or claimed from systemd), signals, idle exit and READY notification, and
 * runs one libuv loop until a clean stop. The driver runtime (daemon.c) and virtproxyd
 * both sit on top of it. */
#ifndef MV_SERVICE_H
#define MV_SERVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>
#include "common/conf.h"
#include "common/error.h"
#include "common/paths.h"

/* ---- options.c: the command line of every daemon ---------------------------------------- */

typedef enum { MV_OPTS_RUN, MV_OPTS_HELP, MV_OPTS_VERSION } mv_opts_action;

typedef struct mv_daemon_opts {
    mv_opts_action action;
    long timeout;       /* --timeout seconds; -1 when not given */
    const char *config; /* -f/--config (borrowed from argv), or NULL for the default */
    bool verbose;       /* -v: log at debug level */
} mv_daemon_opts;

/* Parses argv[1..]: -t/--timeout SECONDS, -f/--config FILE, -v/--verbose, --version,
 * -h/--help ("--opt=value" and "-tVALUE" forms too). -1 + VIR_ERR_INVALID_ARG naming the
 * bad option or value. A pure function: no globals, no output. */
int mv_opts_parse(int argc, char *const argv[], mv_daemon_opts *o, mv_error *err);

/* The --help text for daemon `name`, described by `summary`. malloc'd. */
char *mv_opts_usage(const char *name, const char *summary);

/* ---- activation.c: sockets passed by systemd -------------------------------------------- */

/* Matches the fds systemd passed (fd 3+i is named names[i], as LISTEN_FDNAMES gives
 * them) to the sockets we want, by name. fds_out[j] receives the fd for wanted[j], or -1.
 * An fd systemd left unnamed ("unknown" or "") goes to the first wanted socket that no
 * name matched, so `systemd-socket-activate -l PATH` without --fdname works for a daemon
 * with one socket. Returns how many fds were claimed; the caller closes the others. */
int mv_activation_match(char *const *names, int n, const char *const *wanted, size_t nwanted,
                        int *fds_out);

/* Asks libsystemd for the fds passed to this process (LISTEN_PID/LISTEN_FDS/
 * LISTEN_FDNAMES, which it then removes from the environment) and matches them as above,
 * closing fds nobody claimed. Returns the number of fds systemd passed (0 when not
 * socket-activated), or -1 + err when one we claimed is not a listening stream socket. */
int mv_activation_claim(const char *const *wanted, size_t nwanted, int *fds_out, mv_error *err);

/* ---- pidfile.c: one instance per daemon and root ------------------------------------------ */

typedef struct mv_pidfile {
    int fd; /* holds the flock for the process's life; -1 when not held */
    char *path;
} mv_pidfile;

/* Creates and locks path, then writes our pid. When another live process holds it:
 * -1 + "already running (pid N)". */
int mv_pidfile_acquire(mv_pidfile *pf, const char *path, mv_error *err);
/* Removes the file (still holding the lock, so no one else can be fooled) and unlocks. */
void mv_pidfile_release(mv_pidfile *pf);

/* ---- listen.c: binding our own UNIX sockets ------------------------------------------------ */

/* A listening UNIX stream socket at path, with that mode (never more open than that, even
 * for an instant). A socket file already there is stale and removed — call this only while
 * holding the pid file — but anything else at path is refused. fd, or -1 + err. */
int mv_listen_unix(const char *path, mode_t mode, mv_error *err);

/* ---- mailbox.c: running a function on the loop thread, from any thread --------------------- */

typedef struct mv_mail mv_mail;
typedef struct mv_mailbox {
    uv_async_t async;
    pthread_mutex_t lock;
    mv_mail *head, *tail;
    bool closed;
} mv_mailbox;

int mv_mailbox_init(mv_mailbox *mb, uv_loop_t *loop, mv_error *err);
/* Queues fn(ctx, opaque) to run on the loop thread. Any thread. -1 when closed (or out of
 * memory): fn will not run and the caller keeps opaque. */
int mv_mailbox_post(mv_mailbox *mb, void (*fn)(void *ctx, void *opaque), void *ctx, void *opaque);
/* Loop thread: refuses further posts, runs what is queued, closes the async handle. */
void mv_mailbox_close(mv_mailbox *mb);

/* ---- wqueue.c: a stream's write queue, batched and bounded ----------------------------------- */

typedef struct mv_wq mv_wq;
struct mv_wq {
    uv_stream_t *stream;
    size_t queued;  /* bytes handed to libuv and not yet written, plus the batch */
    size_t high;    /* above this the owner should stop producing (see on_full) */
    bool full;      /* crossed high, not yet back under high / 4 */
    unsigned reqs;  /* writes in flight */
    uint8_t *batch; /* small frames gathered for one write per loop turn */
    size_t batch_len, batch_cap;
    /* Called when `full` changes (stop or resume reading whatever feeds this queue). */
    void (*on_full)(mv_wq *wq, bool full);
    /* Called when a write fails; the owner closes the stream. */
    void (*on_error)(mv_wq *wq, int status);
    /* Called when the last write in flight completed and nothing is queued. */
    void (*on_idle)(mv_wq *wq);
    void *owner;
};

void mv_wq_init(mv_wq *wq, uv_stream_t *stream, size_t high, void *owner);
/* Appends bytes to the batch (written at the next flush). -1 on ENOMEM. */
int mv_wq_put(mv_wq *wq, const void *data, size_t len);
/* Appends a whole frame: the 4-byte length, then payload. -1 on ENOMEM. */
int mv_wq_put_frame(mv_wq *wq, const uint8_t *payload, size_t len);
/* Takes ownership of buf (malloc'd): small buffers join the batch (written at the next
 * flush), large ones are written as they are, after the batch. -1 on failure (buf is
 * freed either way). */
int mv_wq_put_owned(mv_wq *wq, uint8_t *buf, size_t len);
/* Writes the batch now, or — behind a write still in flight — as soon as that completes.
 * -1 when libuv refused the write (on_error has been called). */
int mv_wq_flush(mv_wq *wq);
/* Nothing queued and nothing in flight. */
bool mv_wq_idle(const mv_wq *wq);
/* Frees the batch. Call after the stream's close callback (libuv has then finished every
 * write request, calling back with UV_ECANCELED). */
void mv_wq_free(mv_wq *wq);

/* ---- sertab.c: calls in flight by serial (open addressing, no tombstones) ----------------- */

typedef struct mv_sertab {
    uint32_t *keys; /* 0 marks a free slot: serial 0 is never a call */
    uint32_t *vals;
    size_t cap; /* power of two, or 0 before the first put */
    size_t count;
} mv_sertab;

void mv_sertab_init(mv_sertab *t);
void mv_sertab_free(mv_sertab *t);
/* 0 inserted, 1 already present (left unchanged), -1 ENOMEM or key 0. */
int mv_sertab_put(mv_sertab *t, uint32_t key, uint32_t val);
/* 1 and *val when present, else 0. take also removes it. val may be NULL. */
int mv_sertab_get(const mv_sertab *t, uint32_t key, uint32_t *val);
int mv_sertab_take(mv_sertab *t, uint32_t key, uint32_t *val);
/* Moves every entry out: calls fn for each (any order) and leaves the table empty. */
void mv_sertab_drain(mv_sertab *t, void (*fn)(uint32_t key, uint32_t val, void *opaque),
                     void *opaque);

/* ---- service.c: the process shell ---------------------------------------------------------- */

typedef struct mv_service mv_service;

typedef struct mv_service_ops {
    /* After options, config, logging and the pid file; before the sockets listen. */
    int (*start)(mv_service *s, void *opaque, mv_error *err);
    /* A client is waiting on `server`: uv_accept() it into your own handle. Return 0 when
     * accepted — then call mv_service_client_gone() once when it has closed — or -1. */
    int (*accept)(mv_service *s, uv_stream_t *server, bool readonly, void *opaque);
    /* Stop requested (signal or idle): the listeners are closed; finish and close every
     * connection. The loop ends when the last handle is closed. */
    void (*stop)(mv_service *s, void *opaque);
    /* True while an idle exit must wait (guests running, work in progress). May be NULL. */
    bool (*busy)(mv_service *s, void *opaque);
    /* After the loop ended (not called when start failed). May be NULL. */
    void (*finish)(mv_service *s, void *opaque);
} mv_service_ops;

typedef struct mv_service_desc {
    const char *name;            /* "virtqemud": sockets, pid file, log, config, activation names */
    const char *summary;         /* one line for --help */
    bool ro_socket;              /* also listen on <name>-sock-ro (0666, read-only) */
    const mv_conf_section *conf; /* the daemon's own config sections, or NULL */
    size_t nconf;
    const mv_service_ops *ops;
    void *opaque;
} mv_service_desc;

/* Runs the daemon; returns the exit status (0 clean stop, 1 start-up failure, 2 bad
 * options). See daemon.h for what start-up failure reports. */
int mv_service_main(int argc, char **argv, const mv_service_desc *desc);

uv_loop_t *mv_service_loop(mv_service *s);
const mv_paths *mv_service_paths(const mv_service *s);
const char *mv_service_name(const mv_service *s);
/* Runtime settings after config and options: */
long mv_service_max_clients(const mv_service *s);
bool mv_service_stopping(const mv_service *s);
/* Balances an accept that returned 0. */
void mv_service_client_gone(mv_service *s);
/* Starts a clean stop (as SIGTERM does), logging why. Loop thread. */
void mv_service_stop(mv_service *s, const char *why);
/* Runs fn(ctx, opaque) on the loop thread; any thread. -1 once stopping (see mailbox). */
int mv_service_post(mv_service *s, void (*fn)(void *ctx, void *opaque), void *ctx, void *opaque);

#endif
