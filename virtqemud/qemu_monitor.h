/* qemu_monitor.h: QMP, the QEMU Machine Protocol — a parser with no I/O and a client
 * that runs on the daemon's libuv loop.
 *
 *   qemu_monitor_parse.c  bytes in, JSON messages out (qmp_parser); message kinds
 *   qemu_monitor.c        the client (qemu_mon): handshake, commands, events, EOF
 *
 * Threads: the handshake (greeting, qmp_capabilities) runs blocking on the caller's
 * thread, so a worker or the daemon's init can open a monitor without the loop; then the
 * socket moves to the loop, which reads replies and events. qemu_mon_command() is called
 * from worker threads: it queues the command, asks the loop to write it and waits on a
 * condition for the reply or the timeout. Each monitor has its own lock, so a monitor that
 * hangs or dies only fails the calls made on it. */
#ifndef QEMU_MONITOR_H
#define QEMU_MONITOR_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include "common/error.h"

struct uv_loop_s;

/* ---- the parser (qemu_monitor_parse.c) ------------------------------------------------ */

/* The largest QMP message accepted (query replies are small; a flood is an error). */
#define QMP_MESSAGE_MAX (4u << 20)

typedef struct qmp_parser qmp_parser;

qmp_parser *qmp_parser_new(void);
void qmp_parser_free(qmp_parser *p); /* NULL tolerated */

/* Appends bytes read from the monitor. */
int qmp_parser_feed(qmp_parser *p, const char *buf, size_t len, mv_error *err);

/* Takes the next complete message: 1 and *msg (a reference for the caller), 0 when the
 * bytes so far end inside a message, -1 + err when the stream is not QMP (not JSON, not
 * an object, too large). After -1 the parser stays failed. */
int qmp_parser_next(qmp_parser *p, json_object **msg, mv_error *err);

typedef enum qmp_kind {
    QMP_KIND_INVALID = 0,
    QMP_KIND_GREETING, /* {"QMP": {...}} */
    QMP_KIND_RETURN,   /* {"return": ..., "id": ...} */
    QMP_KIND_ERROR,    /* {"error": {"class": ..., "desc": ...}, "id": ...} */
    QMP_KIND_EVENT,    /* {"event": "NAME", "data": {...}, "timestamp": {...}} */
} qmp_kind;

qmp_kind qmp_message_kind(json_object *msg);
/* The message's "id" as a number, or 0 when absent or not one of ours. */
unsigned long long qmp_message_id(json_object *msg);
/* Sets err from an error message's class and desc (libvirt's wording: "internal error:
 * unable to execute QEMU command 'CMD': DESC"). */
void qmp_message_error(json_object *msg, const char *cmd, mv_error *err);
/* One command as it goes on the wire, CRLF-terminated (malloc'd), or NULL on ENOMEM. */
char *qmp_format_command(const char *cmd, json_object *args, unsigned long long id);

/* ---- the client (qemu_monitor.c) ------------------------------------------------------ */

typedef struct qemu_mon qemu_mon;

/* How the client reaches the loop: post(ctx, fn, arg) runs fn(arg) on the loop thread
 * soon, from any thread; -1 when the loop is stopping (fn will not run). */
typedef struct qemu_mon_loop {
    struct uv_loop_s *loop;
    int (*post)(void *ctx, void (*fn)(void *arg), void *arg);
    void *ctx;
} qemu_mon_loop;

/* Called on the loop thread. event: a QMP event by name with its data (borrowed; may be
 * NULL). eof: the monitor is gone (qemu exited, closed it, or sent garbage); called once,
 * and never after qemu_mon_close(). */
typedef struct qemu_mon_callbacks {
    void (*event)(qemu_mon *mon, const char *name, json_object *data, void *opaque);
    void (*eof)(qemu_mon *mon, const mv_error *why, void *opaque);
} qemu_mon_callbacks;

/* Connects to the QMP socket at path, retrying while it does not exist yet or refuses
 * (qemu creating it) and alive(alive_opaque) says the process still runs, reads the
 * greeting and negotiates capabilities, all within timeout_ms on the calling thread
 * (never the running loop's). Then hands the socket to the loop. The callbacks' opaque
 * must outlive the monitor's close. NULL + err on failure. */
qemu_mon *qemu_mon_open(const qemu_mon_loop *loop, const char *path, int timeout_ms,
                        bool (*alive)(void *alive_opaque), void *alive_opaque,
                        const qemu_mon_callbacks *cb, void *opaque, mv_error *err);

/* Runs a command (args may be NULL; borrowed) and waits at most timeout_ms for its
 * reply. From any thread but the loop's. 0 and *reply (the "return" value, a reference
 * for the caller, or NULL when reply is NULL) or -1 + err: QEMU's error, a timeout
 * (VIR_ERR_OPERATION_TIMEOUT; the command may still run), or the monitor gone. */
int qemu_mon_command(qemu_mon *mon, const char *cmd, json_object *args, int timeout_ms,
                     json_object **reply, mv_error *err);

/* Stops callbacks and fails waiting commands, then releases the caller's reference;
 * the socket closes on the loop. From any thread; on the loop thread itself (such as the
 * driver's shutdown, after the loop stopped) pass on_loop = true to close at once. */
void qemu_mon_close(qemu_mon *mon, bool on_loop);

/* True once the monitor is gone (EOF, error or close). */
bool qemu_mon_is_gone(qemu_mon *mon);

#endif
