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

/* The daemon's event loop, for watchers the driver adds itself (a pidfd per guest, a
 * monitor socket). Use it from the loop thread only (in init, LOOP handlers, or posted
 * functions). Watchers that live as long as the driver must be uv_unref()'d: a stop
 * ends the loop once every connection is closed, and only referenced handles would keep
 * it running. Close them in the driver's shutdown(): the runtime runs the loop once more
 * after shutdown, so their close callbacks still fire. */
struct uv_loop_s *mv_daemon_loop(mv_daemon *d);

#endif
