/* internal.h: the driver runtime's own structures and cross-file functions (daemon.c,
 * conn.c, dispatch.c). Not for drivers: they see driver.h and daemon.h only.
 *
 * Threads: everything here belongs to the loop thread, except that a JOB call's handler
 * runs on a worker thread with the call (and its args/ret) to itself; the connection it
 * points to is kept alive by a reference until the job's completion runs on the loop.
 *
 * Where issue 3 plugs in: pushed events are packed once on the emitting thread, stamped
 * with the daemon's sequence number under a lock, and handed to the loop through
 * mv_daemon_post(); there they are written with mv_conn_send() to every connection
 * registered for them (a registration set per connection, filled by the register calls).
 * Stream frames arrive in mv_dispatch_frame() as FRAME_STREAM with the serial of the
 * call that opened the stream, and go to a per-connection stream table keyed by that
 * serial (an mv_sertab); outgoing stream data uses mv_conn_send() like replies; each stream
 * sends only what its client credited (common/stream_window.h), and the write queue's
 * high-water mark pauses every stream of a connection whose peer does not read. */
#ifndef MV_DAEMON_INTERNAL_H
#define MV_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>
#include "common/daemon/daemon.h"
#include "common/daemon/service.h"
#include "common/frame.h"
#include "common/proc.h"

/* JOB calls one connection may have running at once; more wait in its queue, so one
 * busy client cannot take every worker thread. */
#define CONN_MAX_RUNNING 16
/* Calls one connection may have pending (running + waiting) before we stop reading it. */
#define CONN_MAX_PENDING 256
/* Bytes of replies waiting for a client that does not read before we stop reading it. */
#define CONN_WQ_HIGH (4u << 20)
/* A closing connection whose replies cannot be written for this long is cut off. */
#define CONN_DRAIN_MS 5000

typedef struct mv_conn mv_conn;
typedef struct mv_events mv_events; /* events.c */
typedef struct mv_evreg mv_evreg;   /* one event registration of a connection */
typedef struct mv_stream mv_stream; /* stream.c */

struct mv_daemon {
    const mv_driver *driver;
    mv_service *svc;
    void *driver_data;
    mv_conn *conns; /* open connections (not yet closing), doubly linked */
    size_t nconns;
    unsigned jobs; /* JOB calls on worker threads, all connections */
    unsigned ndraining;
    uv_timer_t reaper; /* cuts off draining connections that cannot be written */
    bool reaper_ok;
    bool stopping;
    mv_events *events; /* numbering, backlog and its file */
};

struct mv_conn {
    mv_daemon *d;
    uv_pipe_t pipe;
    mv_frame_reader reader;
    mv_wq wq;
    unsigned refs;     /* 1 while the handle is open, +1 per JOB call (running or waiting) */
    uid_t peer_uid;    /* SO_PEERCRED: decides whether PROXY_IDENTIFY is allowed */
    mv_identity ident; /* the peer's credentials, or who virtproxyd says the caller is */
    bool identified;   /* PROXY_IDENTIFY accepted */
    bool opened;       /* CONNECT_OPEN succeeded */
    char *uri;         /* as opened */
    void *data;        /* the driver's per-connection state (mv_call_set_conn_data) */
    void (*data_free)(void *);
    bool reading;
    bool pumping, repump;
    bool draining;                  /* no more frames: close once calls are done and written */
    bool closing;                   /* uv_close called */
    uint64_t stuck_since;           /* draining with only unwritten replies left, since (loop ms) */
    unsigned running;               /* JOB calls on worker threads */
    mv_call *wait_head, *wait_tail; /* JOB calls waiting for a running slot */
    unsigned nwaiting;
    mv_evreg *evregs;   /* event registrations (events.c) */
    mv_stream *streams; /* open streams (stream.c) */
    mv_conn *prev, *next;
};

struct mv_call {
    mv_conn *conn;
    const mv_proc_info *proc;
    uint32_t serial;
    mv_identity ident;      /* copied when the call arrived */
    ProtobufCMessage *args; /* unpacked request, owned */
    ProtobufCMessage *ret;  /* initialised reply, owned; filled by the handler */
    mv_error err;
    int rc;
    uv_work_t work;
    int stream_fd;  /* attached by the handler (mv_call_attach_stream_fd), or -1 */
    mv_call *next; /* in the connection's wait queue */
};

/* ---- conn.c: connections — bytes in, frames out, lifetime ---- */
int mv_conn_accept(mv_daemon *d, uv_stream_t *server);
void mv_conn_ref(mv_conn *c);
void mv_conn_unref(mv_conn *c);
/* Queues a whole frame (takes buf). Dropped when the connection is closing. */
void mv_conn_send(mv_conn *c, uint8_t *buf, size_t len);
/* An ERROR frame for serial (0: about the connection itself). */
void mv_conn_send_error(mv_conn *c, uint32_t serial, uint32_t proc, const mv_error *e);
void mv_conn_flush(mv_conn *c);
/* Stops reading; closes once every call received has been answered and written. */
void mv_conn_drain(mv_conn *c);
/* A broken stream: says why with an ERROR frame of serial 0, then drains. */
void mv_conn_fail(mv_conn *c, const mv_error *e);
/* A JOB call of c completed: take in more frames, or finish a drain. */
void mv_conn_job_done(mv_conn *c);
/* Every connection drains (clean stop). */
void mv_conns_drain_all(mv_daemon *d);

/* ---- dispatch.c: calls — from a frame to a reply, on the loop or a worker thread ---- */
/* Handles one frame (the envelope bytes, borrowed). */
void mv_dispatch_frame(mv_conn *c, const uint8_t *env, size_t len);
/* May a call to p be made on a connection in this state? The runtime's whole access
 * policy, as a pure function: 0, or -1 + the error to answer with. */
int mv_dispatch_gate(const mv_proc_info *p, bool opened, bool readonly, mv_error *err);
/* Frees the calls still waiting for a slot (the connection is closing). */
void mv_dispatch_drop_waiting(mv_conn *c);

/* ---- events.c: registrations, numbering, delivery, the backlog file ---- */
/* Loads the backlog (before the driver's init, which may emit). */
int mv_events_start(mv_daemon *d, mv_error *err);
/* Emitting fails from now on (stop requested). */
void mv_events_stopping(mv_daemon *d);
/* After the loop ended: writes what is unsaved, frees. */
void mv_events_finish(mv_daemon *d);
/* CONNECT_DOMAIN_EVENT_REGISTER_ANY / DEREGISTER_ANY, answered on the loop. The reply
 * envelope's seq is the last number handed out, so the caller knows where it stands. */
void mv_events_register(mv_conn *c, uint32_t serial, uint64_t resume_seq,
                        const Modvirt__EventRegisterArgs *a);
void mv_events_deregister(mv_conn *c, uint32_t serial, const Modvirt__EventDeregisterArgs *a);
/* Frees the connection's registrations. */
void mv_events_conn_gone(mv_conn *c);

/* ---- stream.c: fds bridged to stream frames ---- */
/* Starts bridging fd to the stream of call `serial` (the stream owns fd from then on).
 * 0, or -1 with err set: the caller still owns fd. */
int mv_stream_open(mv_conn *c, uint32_t serial, uint32_t proc, int fd, mv_error *err);
/* Sends a stream status frame (FINISH, ABORT with e, ...) for serial on c. */
void mv_conn_send_stream_status(mv_conn *c, uint32_t serial, uint32_t proc,
                                Modvirt__StreamStatus st, const mv_error *e);
/* A FRAME_STREAM from the client: 0 when a stream of c took it, -1 when none is open. */
int mv_stream_frame(mv_conn *c, const Modvirt__Envelope *env);
/* The client's queue changed: streams read their fds again, or stop. */
void mv_streams_update(mv_conn *c);
/* The connection closes: every stream ends (fds closed). */
void mv_streams_close_all(mv_conn *c);

#endif
