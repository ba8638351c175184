/* spawn.h: finding, starting and reaching daemons — "a first command on a bare machine
 * just works". Used by libmodvirt (to start virtproxyd) and by virtproxyd (to start a
 * driver daemon, from a worker thread). Everything here blocks; never call it on an
 * event loop thread.
 *
 * Readiness uses the systemd notify protocol: the starter binds a datagram socket, passes
 * it as NOTIFY_SOCKET, and waits for "READY=1". A daemon that fails during start-up sends
 * "STOPPING=1\nSTATUS=<its error message>" before exiting, which the starter reports at
 * once instead of waiting out the timeout. */
#ifndef MV_SPAWN_H
#define MV_SPAWN_H

#include "common/error.h"
#include "common/paths.h"

/* Seconds of idleness after which a daemon started on demand exits (DESIGN.md). */
#define MV_ONDEMAND_IDLE_TIMEOUT 120

/* The executable of daemon `name`: $MODVIRT_DAEMON_DIR, else next to the running
 * executable, else next to libmodvirt (its ../bin), else the install directory.
 * malloc'd path, or NULL + err naming every place looked at. */
char *mv_daemon_find(const char *name, mv_error *err);

/* Connects to a UNIX stream socket (blocking, close-on-exec). fd, or -1 + err. */
int mv_socket_connect(const char *path, mv_error *err);

/* Returns a connected fd to the daemon `name` listening at sock_path; when nothing
 * answers there, starts it first: detached (own session, stdio on /dev/null, its log
 * in log_dir), with "--timeout MV_ONDEMAND_IDLE_TIMEOUT", then waits up to timeout_ms
 * for READY=1. Concurrent starters (threads or processes) are serialised by an flock on
 * "<run_dir>/<name>.start.lock", so exactly one daemon is started. */
int mv_daemon_connect_or_start(const mv_paths *paths, const char *name, const char *sock_path,
                               int timeout_ms, mv_error *err);

#endif
