/* rpc.h: one framed stream to virtproxyd, shared by every thread using a connection.
 *
 * Callers send whole frames under a write lock and sleep on their own condition
 * variable; one reader thread per stream reads frames, hands each reply to the caller
 * waiting on its serial, answers nothing itself, and runs the keepalive: when the peer
 * has been silent for interval * count, the stream is dead, every pending call fails at
 * once and later calls fail fast. A call with a deadline gives up on its own; a reply
 * that arrives after that is dropped. */
#ifndef MVC_CLIENT_RPC_H
#define MVC_CLIENT_RPC_H

#include <stdbool.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include "common/error.h"
#include "common/frame.h"
#include "proto/modvirt.pb-c.h"

/* ---- pure pieces (keepalive.c), unit-tested on their own ----------------------------- */

#define MVC_SERIAL_MAX 0x7fffffffu /* the proxy owns serials with the top bit set */

/* The serial after prev: 1..MVC_SERIAL_MAX, wrapping, never 0. */
uint32_t mvc_serial_next(uint32_t prev);

typedef struct mvc_keepalive {
    int interval_ms;    /* <= 0: keepalive off */
    unsigned int count; /* probes without an answer before the peer counts as dead */
    long long last_rx;  /* monotonic ms of the last byte received */
    long long last_ping; /* monotonic ms of the last probe sent */
} mvc_keepalive;

enum mvc_keepalive_action {
    MVC_KA_WAIT, /* nothing to do yet */
    MVC_KA_PING, /* send a probe now */
    MVC_KA_DEAD, /* the peer has been silent for interval * count */
};

/* What the keepalive wants at `now`; *wait_ms is how long until it next needs looking
 * at (-1: never, keepalive off). */
enum mvc_keepalive_action mvc_keepalive_check(const mvc_keepalive *ka, long long now,
                                            int *wait_ms);

/* libvirt's defaults: a probe every 5 s, dead after 5 unanswered. */
#define MVC_KEEPALIVE_INTERVAL_MS 5000
#define MVC_KEEPALIVE_COUNT 5

/* Parses MODVIRT_KEEPALIVE's "interval_ms,count". -1 + err naming the variable. */
int mvc_keepalive_parse(const char *s, int *interval_ms, unsigned int *count, mv_error *err);

/* ---- the stream (rpc.c) -------------------------------------------------------------- */

typedef struct mvc_rpc mvc_rpc;

/* Called once, from the reader thread, when the stream dies on its own (reason is a
 * virConnectCloseReason: ERROR, EOF or KEEPALIVE). Not called by mvc_rpc_free. */
typedef void (*mvc_rpc_dead_fn)(void *opaque, int reason);
/* Unsolicited frames (events, stream data), from the reader thread. */
typedef void (*mvc_rpc_frame_fn)(void *opaque, const Modvirt__Envelope *env);

/* Takes ownership of fd (a connected stream socket) and starts the reader thread.
 * peer names the other end in messages ("virtproxyd"). */
mvc_rpc *mvc_rpc_new(int fd, const char *peer, mv_error *err);

/* Destroys the stream: stops the reader, closes the fd. Calls still pending fail.
 * Safe to call from within a dead/frame callback (the reader then finishes the job). */
void mvc_rpc_free(mvc_rpc *rpc);

void mvc_rpc_set_callbacks(mvc_rpc *rpc, mvc_rpc_dead_fn dead, mvc_rpc_frame_fn frame,
                          void *opaque);
void mvc_rpc_set_keepalive(mvc_rpc *rpc, int interval_ms, unsigned int count);
void mvc_rpc_set_call_timeout(mvc_rpc *rpc, int ms); /* 0: no deadline */

/* Sends procedure `proc` with args (NULL means an empty message) and waits for its
 * reply: *ret is the unpacked reply message (free with protobuf_c_message_free_unpacked),
 * or -1 + err (the daemon's error, a timeout, or the stream's death). The message types
 * come from the procedure table, so one function serves every procedure. */
int mvc_rpc_call(mvc_rpc *rpc, uint32_t proc, const ProtobufCMessage *args,
                ProtobufCMessage **ret, mv_error *err);

/* The same, telling on_serial (under the stream's lock, before the call is sent) which
 * serial the call got: a call that opens a stream routes the stream's frames by it. */
typedef void (*mvc_rpc_serial_fn)(void *opaque, uint32_t serial);
int mvc_rpc_call_ex(mvc_rpc *rpc, uint32_t proc, const ProtobufCMessage *args,
                   ProtobufCMessage **ret, mvc_rpc_serial_fn on_serial, void *opaque,
                   mv_error *err);

/* Sends one frame that expects no reply (stream data). -1 + err when the stream is dead
 * or the write failed. */
int mvc_rpc_send(mvc_rpc *rpc, const mv_frame_spec *spec, mv_error *err);

bool mvc_rpc_is_alive(mvc_rpc *rpc);

#endif
