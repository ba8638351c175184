/* harness.h: what integration tests share — a fresh MODVIRT_ROOT per test, running
 * programs with captured output, and cleaning up every daemon started under that root.
 *
 * Each test gets its own short root under /tmp (UNIX socket paths must fit in 108 bytes),
 * points MODVIRT_ROOT and MODVIRT_DAEMON_DIR at it and at the build's bin/ folder, and
 * at teardown stops the daemons whose pid files are in <root>/run/modvirt (by pid,
 * SIGTERM then SIGKILL) and removes the root. Nothing touches the host's state. */
#ifndef MVT_HARNESS_H
#define MVT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct mvt_env {
    char root[64];      /* /tmp/mvt.XXXXXX */
    char run_dir[128];  /* <root>/run/modvirt */
    char etc_dir[128];  /* <root>/etc/modvirt */
} mvt_env;

/* Creates the root and exports MODVIRT_ROOT, MODVIRT_DAEMON_DIR; clears variables that
 * would leak the host's (or an earlier test's) choices (MODVIRT_DEFAULT_URI,
 * LIBVIRT_DEFAULT_URI, NOTIFY_SOCKET, LISTEN_*, the keepalive and deadline settings).
 * Returns 0 or -1. */
int mvt_setup(mvt_env *e);
/* Stops every daemon of this root by pid (resuming any a test left SIGSTOPped) and
 * removes the root. */
void mvt_teardown(mvt_env *e);

/* cmocka set-up and tear-down around the two: a new mvt_env in *state, then gone. */
int mvt_setup_state(void **state);
int mvt_teardown_state(void **state);
/* A cmocka test run between those two, for the tests[] table of main(). */
#define MVT_TEST(fn) cmocka_unit_test_setup_teardown(fn, mvt_setup_state, mvt_teardown_state)

/* Absolute path of a program built into bin/ ("vmctl", "virtproxyd"…). Static buffer. */
const char *mvt_bin(const char *name);

typedef struct mvt_result {
    int status; /* exit code, or 128 + signal, or -1 when it could not run / timed out */
    char *out;  /* captured stdout, NUL-terminated */
    char *err;  /* captured stderr */
} mvt_result;

/* Runs argv (argv[0] without '/' is looked up in bin/), feeding stdin_data (may be NULL),
 * capturing both outputs; kills it after timeout_ms. 0 when it ran (see status). */
int mvt_run(mvt_result *r, const char *const *argv, const char *stdin_data, int timeout_ms);
/* vmctl with a NULL-terminated list of arguments, 30 s timeout. */
int mvt_vmctl(mvt_result *r, ...) __attribute__((sentinel));
void mvt_result_free(mvt_result *r);

/* malloc'd "<run_dir>/<daemon>-sock", the socket daemon listens on; NULL on failure. */
char *mvt_daemon_sock(const mvt_env *e, const char *daemon);
/* The pid recorded in <run_dir>/<daemon>.pid when that process is alive, else -1. */
pid_t mvt_daemon_pid(const mvt_env *e, const char *daemon);
/* Sends sig and waits (pidfd, no polling sleeps) up to timeout_ms for the process to go.
 * 0 when it is gone. Works for processes that are not our children. */
int mvt_kill_wait(pid_t pid, int sig, int timeout_ms);
/* Waits until the process exits, up to timeout_ms; 0 when it did. */
int mvt_wait_gone(pid_t pid, int timeout_ms);
/* What both do: sends sig (0: none) and waits on a pidfd up to timeout_ms for pid to
 * end. status NULL: 0 when it is gone (reaped if it is our child). Otherwise pid must be
 * our child, reaped into *status. -1 at the deadline or on an error. */
int mvt_pid_wait(pid_t pid, int sig, int timeout_ms, int *status);

/* Writes content to <root>/<rel> (creating folders). 0 or -1. */
int mvt_write(const mvt_env *e, const char *rel, const char *content);
/* malloc'd "<root>/<rel>". */
char *mvt_path(const mvt_env *e, const char *rel);
/* Reads a whole file; malloc'd, NULL when missing. */
char *mvt_read_file(const char *path);

/* A minimal valid domain definition named `name` (malloc'd). */
char *mvt_domain_xml(const char *name, const char *uuid_or_null);
/* The same with mem_mib MiB of memory, current_mib MiB of it in use (0: no
 * <currentMemory>) and vcpus vCPUs, for tests that look at those figures. */
char *mvt_domain_xml_sized(const char *name, const char *uuid_or_null, unsigned mem_mib,
                           unsigned current_mib, unsigned vcpus);

/* Counts lines of s that contain needle. */
int mvt_count_lines_with(const char *s, const char *needle);

/* Bytes sent to, and not yet read by, the connections accepted on the UNIX socket at
 * path (the kernel's sock_diag), or -1. With the daemon that owns path stopped, this
 * tells a test that a peer has handed that daemon a frame: the call is in flight. */
long mvt_unix_queued(const char *path);
/* Waits until mvt_unix_queued(path) >= min_bytes. The kernel offers no event for this, so
 * it polls in 1 ms steps up to timeout_ms. 0, or -1 at the deadline. */
int mvt_wait_unix_queued(const char *path, long min_bytes, int timeout_ms);

/* A thread whose end can be awaited with a deadline (a call held in flight). */
typedef struct mvt_thread mvt_thread;
/* Runs fn(arg) on a new thread; NULL when it could not start. */
mvt_thread *mvt_thread_start(void (*fn)(void *arg), void *arg);
/* Waits up to timeout_ms (-1: forever) for fn to return: 0 when it did (the thread is
 * joined and t freed), -1 when it still runs (t stays valid; wait again later). */
int mvt_thread_join(mvt_thread *t, int timeout_ms);
/* Runs fn(arg) on a new thread and returns it once the call fn makes is held in flight:
 * more than *queued bytes wait unread on the UNIX socket at path (see mvt_unix_queued;
 * its daemon is stopped) and fn has not returned. *queued becomes the new count. NULL
 * when the thread cannot start, nothing arrives within timeout_ms (the thread is left
 * to end with its call) or fn has already returned. */
mvt_thread *mvt_thread_in_flight(void (*fn)(void *arg), void *arg, const char *path, long *queued,
                                 int timeout_ms);

/* Sends SIGSTOP and waits (polling /proc: a stop of a process that is not our child
 * raises no event we can wait on) until the kernel shows it stopped. 0, or -1. */
int mvt_stop_wait(pid_t pid, int timeout_ms);

/* Milliseconds on the monotonic clock. */
long long mvt_now_ms(void);

/* ---- harness_proc.c: processes started in the background ---- */

/* Starts argv (argv[0] without '/' is looked up in bin/) with the current environment,
 * stdin from /dev/null, stdout and stderr appended to log_path (NULL: /dev/null).
 * Its pid (our child), or -1. */
pid_t mvt_spawn(const char *const *argv, const char *log_path);
/* Waits up to timeout_ms for our child pid to exit and reaps it: its exit code (128 +
 * signal when killed), or -1 when it is still running at the deadline. */
int mvt_wait_exit(pid_t pid, int timeout_ms);
/* A datagram socket bound at <root>/<name> that receives sd_notify messages with the
 * sender's credentials (pass its path as NOTIFY_SOCKET). fd, or -1; *path_out malloc'd. */
int mvt_notify_open(const mvt_env *e, const char *name, char **path_out);
/* Waits up to timeout_ms for a notify message holding the line `line` ("READY=1");
 * earlier messages are skipped. 0 with the sender's pid and (when msg_out is not NULL)
 * the whole message (malloc'd); -1 at the deadline. */
int mvt_notify_wait(int fd, const char *line, int timeout_ms, pid_t *sender, char **msg_out);
/* Starts argv as mvt_spawn does, with NOTIFY_SOCKET set to a socket of ours (for that
 * process alone), and waits up to timeout_ms for READY=1 sent by that very process. Its
 * pid (our child), or -1 with the process, if it started, killed and reaped. */
pid_t mvt_spawn_ready(const mvt_env *e, const char *const *argv, const char *log_path,
                      int timeout_ms);
/* The resident memory (VmRSS) of process pid in KiB, or -1. */
long mvt_rss_kib(pid_t pid);
/* Waits up to timeout_ms (inotify on its folder, which must exist) for path to exist. */
int mvt_wait_path(const char *path, int timeout_ms);

#endif
