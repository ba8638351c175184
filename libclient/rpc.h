/* rpc.h: one framed stream to virtproxyd, shared by every thread using a connection.
 *
 * Callers send whole frames under a write lock and sleep on their own condition
 * variable; one reader thread per stream reads frames, hands each reply to the caller
 * waiting on its serial, answers nothing itself, and runs the keepalive: when the peer
 * has been silent for interval * count, the stream is dead, every pending call fails at
 * once and later calls fail fast. A call with a deadline gives up on its own; a reply
 * that arrives after that is dropped. */
#ifndef MV_CLIENT_RPC_H
#define MV_CLIENT_RPC_H

#include <stdbool.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include "common/error.h"
#include "proto/modvirt.pb-c.h"

/* ---- pure pieces (keepalive.c), unit-tested on their own ----------------------------- */

#define MV_SERIAL_MAX 0x7fffffffu /* the proxy owns serials with the top bit set */

/* The serial after prev: 1..MV_SERIAL_MAX, wrapping, never 0. */
uint32_t mv_serial_next(uint32_t prev);

typedef struct mv_keepalive {
    int interval_ms;    /* <= 0: keepalive off */
    unsigned int count; /* probes without an answer before the peer counts as dead */
    long long last_rx;  /* monotonic ms of the last byte received */
    long long last_ping; /* monotonic ms of the last probe sent */
} mv_keepalive;

enum mv_keepalive_action {
    MV_KA_WAIT, /* nothing to do yet */
    MV_KA_PING, /* send a probe now */
    MV_KA_DEAD, /* the peer has been silent for interval * count */
};

/* What the keepalive wants at `now`; *wait_ms is how long until it next needs looking
 * at (-1: never, keepalive off). */
enum mv_keepalive_action mv_keepalive_check(const mv_keepalive *ka, long long now,
                                            int *wait_ms);

/* libvirt's defaults: a probe every 5 s, dead after 5 unanswered. */
#define MV_KEEPALIVE_INTERVAL_MS 5000
#define MV_KEEPALIVE_COUNT 5

/* Parses MODVIRT_KEEPALIVE's "interval_ms,count". -1 + err naming the variable. */
int mv_keepalive_parse(const char *s, int *interval_ms, unsigned int *count, mv_error *err);

/* ---- the stream (rpc.c) -------------------------------------------------------------- */

typedef struct mv_rpc mv_rpc;

/* Called once, from the reader thread, when the stream dies on its own (reason is a
 * virConnectCloseReason: ERROR, EOF or KEEPALIVE). Not called by mv_rpc_free. */
typedef void (*mv_rpc_dead_fn)(void *opaque, int reason);
/* Unsolicited frames (events, stream data), from the reader thread. */
typedef void (*mv_rpc_frame_fn)(void *opaque, const Modvirt__Envelope *env);

/* Takes ownership of fd (a connected stream socket) and starts the reader thread.
 * peer names the other end in messages ("virtproxyd"). */
mv_rpc *mv_rpc_new(int fd, const char *peer, mv_error *err);

/* Destroys the stream: stops the reader, closes the fd. Calls still pending fail.
 * Safe to call from within a dead/frame callback (the reader then finishes the job). */
void mv_rpc_free(mv_rpc *rpc);

void mv_rpc_set_callbacks(mv_rpc *rpc, mv_rpc_dead_fn dead, mv_rpc_frame_fn frame,
                          void *opaque);
void mv_rpc_set_keepalive(mv_rpc *rpc, int interval_ms, unsigned int count);
void mv_rpc_set_call_timeout(mv_rpc *rpc, int ms); /* 0: no deadline */

/* Sends procedure `proc` with args (NULL means an empty message) and waits for its
 * reply: *ret is the unpacked reply message (free with protobuf_c_message_free_unpacked),
 * or -1 + err (the daemon's error, a timeout, or the stream's death). The message types
 * come from the procedure table, so one function serves every procedure. */
int mv_rpc_call(mv_rpc *rpc, uint32_t proc, const ProtobufCMessage *args,
                ProtobufCMessage **ret, mv_error *err);

bool mv_rpc_is_alive(mv_rpc *rpc);

#endif
