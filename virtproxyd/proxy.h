/* proxy.h: virtproxyd's map — its structures and every cross-file function, by file.
 *
 * virtproxyd accepts client connections on virtproxyd-sock (read-write) and
 * virtproxyd-sock-ro (read-only), and gives each one its own upstream connection to the
 * driver daemon that the client's CONNECT_OPEN names by URI scheme. It looks only at
 * each frame's envelope scalars (mv_envelope_peek) and forwards the bytes unchanged,
 * except for what it answers itself: keepalives, PROXY_IDENTIFY from a client (refused),
 * read-write procedures on read-only connections (refused), and CONNECT_OPEN, which it
 * decodes to pick the daemon.
 *
 *   main.c      main(): proxy_main()
 *   proxyd.c    config, the service callbacks, the client list
 *   route.c     pure decisions: scheme -> daemon, what to do with a client's frame
 *   client.c    client connections: frames in, local answers, forwarding, drain/close
 *   upstream.c  the connection to a driver daemon: handshake (identify, open, replay),
 *               calls in flight, keepalive, death
 *   starter.c   starting a driver daemon off the loop, one start per daemon at a time
 *
 * Serials: clients use 1..0x7fffffff; the proxy's own calls on an upstream (identify,
 * a replayed open, keepalives) use 0x80000000 | n, so their replies never reach a client. */
#ifndef MV_PROXY_H
#define MV_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "common/daemon/driver.h"
#include "common/daemon/service.h"
#include "common/frame.h"
#include "common/proc.h"

#define PROXY_SERIAL_BIT 0x80000000u
/* VIR_CONNECT_RO in CONNECT_OPEN's flags. */
#define PROXY_CONNECT_RO 1u

/* Bytes queued toward one peer before we stop reading the side that feeds it. */
#define PROXY_WQ_HIGH (4u << 20)
/* Calls of one client waiting for its upstream (reconnect, daemon start) before we stop
 * reading that client. */
#define PROXY_QUEUE_MAX 64
/* Calls of one client in flight before we stop reading it. Kept under the driver
 * runtime's per-connection limit (CONN_MAX_PENDING, 256), so a daemon never stops reading
 * an upstream because of a busy client — it must keep answering our keepalives. */
#define PROXY_CALLS_MAX 128
/* How long a driver daemon may take to start and say READY. */
#define PROXY_START_TIMEOUT_MS 30000

/* ---- route.c ---- */

typedef struct proxy_route {
    const char *scheme; /* URI scheme: "qemu" */
    const char *daemon; /* "virtqemud", or NULL while that driver has no daemon */
} proxy_route;

size_t proxy_route_count(void);
const proxy_route *proxy_route_at(size_t i);
/* The route for an OPEN's URI: parses it, requires a local URI and a scheme with a
 * daemon. -1 + err (VIR_ERR_NO_CONNECT "...: no driver for scheme 'lxc'", or the URI
 * parser's error). */
int proxy_route_open(const char *uri, size_t *route_index, mv_error *err);

enum proxy_open_state {
    OPEN_NONE,    /* no CONNECT_OPEN yet (or it failed) */
    OPEN_PENDING, /* the client's CONNECT_OPEN is on its way to the daemon */
    OPEN_DONE,    /* open: later calls go to the daemon */
};

enum proxy_action {
    PROXY_FORWARD,   /* to the upstream (starting or reconnecting it when needed) */
    PROXY_KEEPALIVE, /* answer with an empty reply */
    PROXY_OPEN,      /* decode and route */
    PROXY_CLOSE,     /* CONNECT_CLOSE with no daemon behind: reply, then close */
    PROXY_REFUSE,    /* answer with err */
};

/* What to do with a client's CALL frame, from its envelope head alone. */
enum proxy_action proxy_classify(const mv_envelope_head *h, enum proxy_open_state open,
                                 bool readonly, bool has_upstream, mv_error *err);

/* ---- proxyd.c ---- */

typedef struct pclient pclient;
typedef struct upstream upstream;
typedef struct proxy_evreg proxy_evreg;

typedef struct proxy_starter {
    bool running;
    char *sock_path;       /* <run_dir>/<daemon>-sock */
    upstream *head, *tail; /* waiting for this start */
} proxy_starter;

typedef struct proxy {
    mv_service *svc;
    uv_loop_t *loop;
    long ka_interval; /* config: keepalive_interval (seconds) */
    long ka_count;    /* config: keepalive_count */
    uint64_t ka_interval_ms;
    pclient *clients;
    size_t nclients;
    proxy_starter *starters; /* one per route */
} proxy;

/* Runs virtproxyd (the whole process: see mv_service_main for the exit status). */
int proxy_main(int argc, char **argv);

/* ---- client.c ---- */

struct pclient {
    proxy *px;
    uv_pipe_t pipe;
    mv_frame_reader reader;
    mv_wq wq;
    mv_identity ident; /* SO_PEERCRED; readonly from the -ro socket or the open flags */
    bool ro_socket;    /* came in on virtproxyd-sock-ro */
    enum proxy_open_state open;
    size_t route;       /* which daemon (valid once open is not OPEN_NONE) */
    uint8_t *open_body; /* the ConnectOpenArgs bytes, replayed after a reconnect */
    size_t open_body_len;
    mv_sertab calls; /* client serial -> proc, for every call not yet answered */
    uint8_t **queue; /* whole frames waiting for the upstream to be ready */
    size_t *queue_len;
    size_t nqueued;
    upstream *up; /* NULL: none (not opened, or the daemon died) */
    proxy_evreg *evregs; /* event registrations to replay after a reconnect (events.c) */
    uint64_t event_seq;  /* the highest event number the daemon sent this client */
    bool events_reconnecting; /* reconnecting on our own for the registrations' sake */
    mv_sertab streams;        /* open streams: opening call's serial -> proc (streams.c) */
    bool reading, pumping, repump;
    bool draining; /* close once every call is answered and written */
    bool closing;
    pclient *prev, *next;
};

int proxy_client_accept(proxy *px, uv_stream_t *server, bool readonly);
/* Stop: every client drains. */
void proxy_clients_drain(proxy *px);
/* Sends an ERROR frame for serial to the client. */
void proxy_client_error(pclient *cl, uint32_t serial, uint32_t proc, const mv_error *e);
/* Reading resumes or pauses as the client's and its upstream's queues allow. */
void proxy_client_update(pclient *cl);
/* A frame from the upstream for the client (serial already looked up). */
void proxy_client_forward(pclient *cl, const uint8_t *payload, size_t len);
/* The upstream answered the client's call `serial` (a REPLY or ERROR just forwarded). */
void proxy_client_answered(pclient *cl, uint32_t serial, uint32_t proc, bool ok);
/* The upstream is ready: queued frames go out. */
void proxy_client_upstream_ready(pclient *cl);
/* The upstream is gone (died, or could not be made): every call not yet answered fails
 * with err, and a pending open is undone. cl->up is already NULL. */
void proxy_client_upstream_lost(pclient *cl, const mv_error *err);
/* Flush what was forwarded to the client during this loop turn. */
void proxy_client_flush(pclient *cl);

/* ---- upstream.c ---- */

enum upstream_state {
    UP_STARTING,  /* waiting for a connected fd (starter) */
    UP_HANDSHAKE, /* replaying identify + open; client calls wait */
    UP_READY,
};

struct upstream {
    proxy *px;
    pclient *cl; /* NULL once the client is gone */
    size_t route;
    enum upstream_state state;
    bool replay;  /* reconnecting an open connection (vs. the client's first open) */
    bool retried; /* a second attempt after losing the daemon mid-handshake */
    uv_pipe_t pipe;
    bool pipe_ok;
    uv_timer_t ka_timer;
    mv_frame_reader reader;
    mv_wq wq;
    mv_sertab own; /* proxy serial -> proc of the proxy's own calls */
    uint32_t next_serial;
    unsigned ka_missed;
    bool ka_outstanding;
    bool reading, pumping, repump;
    bool closing;
    unsigned handles;                /* open libuv handles; freed at 0 */
    mv_error last_error;             /* a connection-level error the daemon sent before closing */
    upstream *wait_prev, *wait_next; /* in a starter's waiting list */
    bool waiting;
};

/* A new upstream for cl (sets cl->up): connects now, or has the daemon started. The
 * handshake sends PROXY_IDENTIFY and waits for its reply; a replay then sends the saved
 * open (with a proxy serial) and waits for that too. Only then do the client's queued
 * frames go out — for a first open, the client's own OPEN is the first of them. On a
 * failure (possibly before returning) cl->up is NULL again and the client was told. */
void proxy_upstream_new(pclient *cl, bool replay);
/* Queues a client frame toward the daemon (the upstream is READY): payload is the
 * envelope, or with_header a whole frame. -1 when it could not be queued. */
int proxy_upstream_send(upstream *up, const uint8_t *bytes, size_t len, bool with_header);
void proxy_upstream_flush(upstream *up);
/* Detaches from the client and closes (client gone, or open failed). */
void proxy_upstream_close(upstream *up);
/* Reading from the daemon resumes or pauses as the client's queue allows. */
void proxy_upstream_update(upstream *up);
/* Given the fd to a freshly started daemon (fd >= 0), or the start's failure. */
void proxy_upstream_started(upstream *up, int fd, const mv_error *err);
const char *proxy_upstream_daemon(const upstream *up);

/* ---- events.c ---- */

/* A client's call on its way to the daemon: registrations are remembered (confirmed when
 * answered), deregistrations forget theirs. */
void proxy_events_call(pclient *cl, const mv_envelope_head *h, const uint8_t *payload,
                       size_t len);
void proxy_events_answered(pclient *cl, uint32_t serial, uint32_t proc, bool ok);
/* An event frame, or a registration's reply (whose seq is the daemon's last number). */
void proxy_events_seen(pclient *cl, uint64_t seq);
/* Re-sends every confirmed registration through send (body, resume_seq); the count. */
size_t proxy_events_replay(pclient *cl,
                           int (*send)(void *ctx, const uint8_t *body, size_t len, uint64_t resume),
                           void *ctx);
/* True when the client has registrations and an open connection, and no reconnect made
 * for them is under way. */
bool proxy_events_want_reconnect(const pclient *cl);
void proxy_events_free(pclient *cl);

/* ---- streams.c ---- */

/* A call that opens a stream was answered (ok: the stream is open). */
void proxy_streams_answered(pclient *cl, uint32_t serial, uint32_t proc, bool ok);
/* A stream frame passing through (from the daemon, or from the client). */
void proxy_streams_frame(pclient *cl, const mv_envelope_head *h, bool from_daemon);
/* The daemon is lost: every open stream is aborted toward the client with err. */
void proxy_streams_lost(pclient *cl, const mv_error *err);

/* ---- starter.c ---- */

/* Makes the daemon of up->route answer: up gets proxy_upstream_started() later. One
 * start per daemon runs at a time; the others wait for it. */
void proxy_starter_request(proxy *px, upstream *up);
/* Takes up off a waiting list (it is closing). */
void proxy_starter_cancel(proxy *px, upstream *up);
/* A connected, non-blocking fd to the daemon's socket, or -1 when nothing answers. */
int proxy_connect_now(const char *sock_path);

#endif
