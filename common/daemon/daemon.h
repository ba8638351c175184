/* daemon.h: the driver daemon runtime — runs a driver table (driver.h) as a daemon.
 *
 * mv_daemon_main() owns everything that is not the driver: options, config file, logging,
 * pid file, the socket (bound, or claimed from systemd), one libuv loop for all socket
 * I/O, framing, the read-only check, dispatch (LOOP procedures inline on the loop, JOB
 * procedures on worker threads), keepalives, idle exit and clean shutdown. A driver
 * daemon's main() is one line:
 *
 *     int main(int argc, char **argv) { return mv_daemon_main(argc, argv, &qemu_driver); }
 */
#ifndef MV_DAEMON_H
#define MV_DAEMON_H

#include "common/daemon/driver.h"

struct uv_loop_s;

/* Runs the daemon until SIGTERM/SIGINT or idle exit. Returns the process exit status:
 * 0 after a clean stop, 1 when start-up failed (the reason goes to stderr, to the log
 * and, as "STOPPING=1\nSTATUS=...", to a starter listening on NOTIFY_SOCKET), 2 for bad
 * command-line options. */
int mv_daemon_main(int argc, char **argv, const mv_driver *driver);

/* Runs fn(d, opaque) soon on the event loop thread. Safe from any thread: it is how work
 * finishing off the loop (driver threads, monitors) reaches loop-owned state such as
 * connections; pushed events (issue 3) travel this way. Returns -1 once the daemon is
 * stopping: fn will not run and the caller keeps ownership of opaque. */
int mv_daemon_post(mv_daemon *d, void (*fn)(mv_daemon *d, void *opaque), void *opaque);

/* True once a stop (signal or idle exit) began: connections closing now are closed by
 * the daemon, not by their clients. Loop thread. */
bool mv_daemon_stopping(const mv_daemon *d);

/* The daemon's event loop, for watchers the driver adds itself (a pidfd per guest, a
 * monitor socket). Use it from the loop thread only (in init, LOOP handlers, or posted
 * functions). Watchers that live as long as the driver must be uv_unref()'d: a stop
 * ends the loop once every connection is closed, and only referenced handles would keep
 * it running. Close them in the driver's shutdown(): the runtime runs the loop once more
 * after shutdown, so their close callbacks still fire. */
struct uv_loop_s *mv_daemon_loop(mv_daemon *d);

/* ---- events: what a driver emits, from any thread -------------------------------------
 *
 * The runtime owns registrations (CONNECT_DOMAIN_EVENT_REGISTER_ANY / DEREGISTER_ANY never
 * reach the driver), stamps each event with the daemon's next sequence number, keeps it
 * in a bounded backlog that survives the daemon's restarts (a file in the run dir, written
 * off the loop), and pushes it as a FRAME_EVENT to every connection registered for
 * event_id and, when the registration names one, for that domain. Emitting never blocks
 * on a client. 0, or -1 once the daemon is stopping (the event is dropped). */

/* A VIR_DOMAIN_EVENT_ID_LIFECYCLE event: event is a virDomainEventType, detail its
 * detail enum (VIR_DOMAIN_EVENT_STARTED_BOOTED, ...). uuid is 16 raw bytes; id is the
 * domain's id, -1 when inactive. */
int mv_daemon_emit_lifecycle(mv_daemon *d, const char *name, const unsigned char *uuid, int id,
                             int event, int detail);

/* The generic form: body is the event's message, of the EVENT procedure `proc` in
 * procedures.def, whose field 1 is callback_id — leave it 0, the runtime sets it for each
 * registration. event_id is the virDomainEventID registrations ask for; name/uuid say
 * which domain it is about (for registrations that filter by domain). */
int mv_daemon_emit_event(mv_daemon *d, int event_id, uint32_t proc, const char *name,
                         const unsigned char *uuid, const ProtobufCMessage *body);

/* ---- streams: what a stream-opening handler (DOMAIN_OPEN_CONSOLE) does -----------------
 *
 * Hands fd (a pty master or a connected UNIX socket; the runtime makes it non-blocking)
 * to the call's stream. Once the handler's reply is sent, the runtime bridges fd and the
 * FRAME_STREAM frames carrying this call's serial, both ways, with flow control (fd is
 * read only as far as the client's credit goes, and the client's data is credited as fd
 * takes it; common/stream_window.h): EOF, or the other side of a pty or socket going
 * away, ends the stream with STREAM_FINISH; another error on fd with STREAM_ABORT.
 * The client's FINISH or ABORT, or its connection closing,
 * closes fd. The runtime owns fd from this call on, also when it fails or the handler
 * then fails (fd is closed). One stream per call; 0, or -1 + mv_call_error(call). */
int mv_call_attach_stream_fd(mv_call *call, int fd);

/* Aborts, with `why`, every open stream of this daemon whose fd is the same file as fd
 * (same device and inode: another session on a guest's console pty), and returns once
 * their fds are closed — so a lock they held is free. For VIR_DOMAIN_CONSOLE_FORCE. Any
 * thread but the loop's (a JOB handler). The number of streams aborted, or -1 once the
 * daemon is stopping. */
int mv_daemon_abort_streams_on(mv_daemon *d, int fd, const mv_error *why);

#endif
