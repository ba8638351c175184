/* qemu_process.h: running guests — detached qemu processes, their live status on disk,
 * and the lifecycle jobs built on them.
 *
 *   qemu_process_spawn.c  spawning qemu detached (no loop, no driver state): double fork
 *                         + setsid, stdio to the log, a clean environment; pidfds;
 *                         /proc/<pid>/stat; the live status file
 *   qemu_process.c        the runs: start (argv from qemu_command.h, -S, QMP, cont),
 *                         stop with its reason, destroy, reboot, reset, auto-destroy
 *   qemu_process_events.c QMP events and deaths (pidfd, monitor EOF): a guest's power-off
 *                         ends QEMU (it runs with -no-shutdown) or, when a reboot is due,
 *                         resets it in place (libvirt's fake reboot); pauses, panics
 *   qemu_process_attach.c re-attach after a daemon restart, autostart
 *   qemu_lifecycle.c      the jobs and handlers: create, create XML, shutdown, destroy,
 *                         reboot, reset, suspend, resume
 *
 * Files, in <run_dir>/qemu/: NAME.xml (live status: <domstatus> with pid, id, start
 * time, monitor path, state, whether the guest powered off or a reboot is due, and the
 * live <domain>; written atomically), NAME.pid,
 * NAME.monitor (the QMP socket), domain-ID/ (the guest's other sockets); `autostarted`
 * once autostart ran since the host booted. The log is <log_dir>/qemu/NAME.log. */
#ifndef QEMU_PROCESS_H
#define QEMU_PROCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/domain/domain_conf.h"
#include "common/error.h"

/* How long a qemu may take from exec to answering QMP, and a command to answer. */
#define QEMU_MONITOR_OPEN_MS 30000
#define QEMU_MONITOR_COMMAND_MS 30000
/* How long destroy waits after SIGTERM before SIGKILL, and after SIGKILL (libvirt: 10 s
 * then 5 s more). */
#define QEMU_KILL_TERM_MS 10000
#define QEMU_KILL_KILL_MS 5000

/* ---- qemu_process_spawn.c -------------------------------------------------------------- */

/* Starts argv[0] (an absolute path) detached: in its own session, not our child (its
 * parent exits at once), stdin from /dev/null, stdout and stderr appended to log_path
 * (created 0600), no other descriptor inherited, environment ours minus NOTIFY_SOCKET and
 * LISTEN_* plus env_add ("NAME=VALUE", may be NULL). *pid is qemu's. Fails with exec's
 * errno when the binary could not run. */
int qemu_spawn_detached(char *const *argv, char *const *env_add, const char *log_path, pid_t *pid,
                        mv_error *err);

/* A pidfd for pid (readable once the process has exited), or -1 + err. */
int qemu_pidfd_open(pid_t pid, mv_error *err);
/* True while the process behind pidfd has not exited. */
bool qemu_pidfd_alive(int pidfd);
/* Waits at most timeout_ms for the process to exit: true when it has. */
bool qemu_pidfd_wait(int pidfd, int timeout_ms);
/* Sends sig; 0 or -1 with errno (ESRCH once it has exited). */
int qemu_pidfd_kill(int pidfd, int sig);

/* From /proc/<pid>/stat: CPU time used (user + system, ns) and the start time in clock
 * ticks since boot (with the pid, it identifies a process across pid reuse). */
int qemu_proc_stat(pid_t pid, unsigned long long *cpu_ns, unsigned long long *start_ticks);

/* The live status of a running guest. */
typedef struct qemu_status {
    pid_t pid;
    int id;
    unsigned long long start_ticks;
    char *monitor;     /* QMP socket path */
    int state, reason; /* virDomainState and its reason */
    bool persistent;
    bool guest_shutdown; /* the guest powered off (a death now is a shutdown) */
    bool fake_reboot;    /* virDomainReboot pressed the button: its power-off is a reboot */
    mv_domain_def *def;  /* the live definition (runtime values included) */
} qemu_status;

int qemu_status_write(const char *path, const qemu_status *st, mv_error *err);
int qemu_status_read(const char *path, qemu_status *st, mv_error *err);
void qemu_status_clear(qemu_status *st);

/* ---- qemu_process.c -------------------------------------------------------------------- */

struct qemu_state;
struct qemu_domobj;
struct qemu_domsnap;
typedef struct mv_daemon mv_daemon;
typedef struct mv_paths mv_paths;
typedef struct json_object json_object;

typedef struct qemu_runs qemu_runs;

/* In the driver's init (on the loop thread, before it runs): sets up the run and log
 * folders, re-attaches to every guest whose live status is in the run folder (those that
 * died meanwhile are shut off, transient ones removed), and, on the first start since
 * the host booted, starts the autostart domains on a thread of their own. */
int qemu_runs_open(struct qemu_state *s, mv_daemon *d, const mv_paths *paths, mv_error *err);
/* In the driver's shutdown (loop thread, loop stopped): waits for autostart, closes
 * monitors and watchers. Guests keep running; the next daemon re-attaches. */
void qemu_runs_close(struct qemu_state *s);

/* Jobs: the caller holds obj's job. */

/* libvirt's refusals of on_poweroff/on_reboot/on_crash actions its QEMU driver has no
 * meaning for ('preserve' on power-off and reboot, 'rename-restart', on_poweroff restart
 * with on_reboot destroy), in libvirt's words (VIR_ERR_CONFIG_UNSUPPORTED). Checked at
 * every start; a define-time caller may use it too. */
int qemu_process_check_lifecycle(const mv_domain_def *def, mv_error *err);
/* Starts def (borrowed; copied) as obj's running guest and publishes the running
 * snapshot. old is obj's current snapshot (NULL for a new transient domain); persistent
 * tells whether obj has a definition file. flags: VIR_DOMAIN_START_PAUSED. */
int qemu_process_start(struct qemu_state *s, struct qemu_domobj *obj,
                       const struct qemu_domsnap *old, const mv_domain_def *def, unsigned int flags,
                       mv_error *err);
/* A destroy's first step, before it waits for the domain's job: SIGTERM now, so a job
 * stuck on a hung monitor ends (its monitor closes) instead of delaying the destroy, as
 * libvirt does; the death counts as destroyed. No job needed. False when not running. */
bool qemu_process_destroy_begin(struct qemu_state *s, const unsigned char *uuid);
/* Kills the guest (SIGTERM, then SIGKILL unless graceful) and shuts it off, reason
 * destroyed. */
int qemu_process_destroy(struct qemu_state *s, struct qemu_domobj *obj, bool graceful,
                         mv_error *err);
/* VIR_DOMAIN_DESTROY_REMOVE_LOGS: removes <log_dir>/qemu/NAME.log (missing is fine). */
void qemu_process_remove_log(struct qemu_state *s, const char *name);
/* Runs a QMP command on obj's running guest (reply may be NULL). Fails with
 * VIR_ERR_OPERATION_INVALID when it is not running. */
int qemu_process_command(struct qemu_state *s, struct qemu_domobj *obj, const char *cmd,
                         json_object *args, json_object **reply, mv_error *err);
/* Publishes obj's running guest in a new state (and rewrites its live status). */
int qemu_process_set_state(struct qemu_state *s, struct qemu_domobj *obj, int state, int reason,
                           mv_error *err);
/* Presses the ACPI power button. reboot: libvirt's fake reboot — the guest's power-off
 * that follows resets it in place (recorded in the live status first, so a daemon
 * restarted in between still does); otherwise a reboot due is cancelled. */
int qemu_process_powerdown(struct qemu_state *s, struct qemu_domobj *obj, bool reboot,
                           mv_error *err);
/* QMP system_reset; cancels a reboot that was due. */
int qemu_process_reset(struct qemu_state *s, struct qemu_domobj *obj, mv_error *err);
/* VIR_DOMAIN_START_AUTODESTROY: the guest is destroyed when connection conn (an id from
 * qemu_connect.c) closes. Kept in memory only, as libvirt does: a restarted daemon
 * forgets it. */
int qemu_process_set_autodestroy(struct qemu_state *s, struct qemu_domobj *obj, uint64_t conn,
                                 mv_error *err);
/* Connection conn closed (loop thread): destroys, on threads of their own, the guests it
 * started with VIR_DOMAIN_START_AUTODESTROY. */
void qemu_process_conn_closed(struct qemu_state *s, uint64_t conn);
/* Emits a lifecycle event about obj (no-op outside a daemon). */
void qemu_process_emit(struct qemu_state *s, const mv_domain_def *def, int id, int event,
                       int detail);

#endif
