/* qemu_process_internal.h: what qemu_process.c (start, stop, destroy),
 * qemu_process_events.c (QMP events, the pidfd, work threads) and qemu_process_attach.c
 * (re-attach, autostart, open/close) share — a run and the runs. Nothing outside those
 * files includes it; the interface is qemu_process.h.
 *
 * Locking: runs->lock guards the list and the worker count (taken before a vm->lock);
 * vm->status_lock the live status file (taken before vm->lock); vm->lock guards refs and the
 * flags the loop and workers both touch (death_seen, guest_shutdown, destroying,
 * fake_reboot, paused_shutdown, autodestroy, pidfd's closing). Everything else of a run is
 * used under its domain's job, or on the loop. */
#ifndef QEMU_PROCESS_INTERNAL_H
#define QEMU_PROCESS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>
#include "virtqemud/qemu_command.h"
#include "virtqemud/qemu_driver.h"
#include "virtqemud/qemu_monitor.h"
#include "virtqemud/qemu_process.h"

/* How long a re-attach waits for a running guest's monitor. */
#define QEMU_REATTACH_MS 5000

typedef struct qemu_vm qemu_vm;

struct qemu_runs {
    pthread_mutex_t lock;
    qemu_vm *vms; /* running guests */
    qemu_state *s;
    mv_daemon *d;
    qemu_mon_loop ml;
    char *dir;     /* <run_dir>/qemu */
    char *log_dir; /* <log_dir>/qemu */
    char *cache_dir;
    char *nvram_dir;   /* <state_dir>/qemu/nvram: UEFI variable stores */
    qemu_ports *ports; /* VNC/SPICE autoports */
    pthread_t autostarter;
    bool autostarting;
    pthread_cond_t idle;  /* workers reached 0 */
    unsigned int workers; /* event threads running (close waits for them) */
};

struct qemu_vm {
    qemu_vm *next; /* runs->vms, under runs->lock */
    pthread_mutex_t lock;
    unsigned int refs;
    qemu_runs *runs;
    qemu_domobj *obj;
    char *name;
    unsigned char uuid[MV_UUID_BUFLEN];
    int id;
    pid_t pid;
    unsigned long long start_ticks; /* the process's start time: tells it from a pid reuser */
    int pidfd; /* owned by the poll watcher once it started */
    char *mon_path, *status_path, *pid_path, *sock_dir;
    pthread_mutex_t status_lock; /* the status file's writes and its removal */
    bool status_gone;            /* stopped: the file is not written again */
    qemu_mon *mon;
    uv_poll_t poll; /* loop thread only */
    bool poll_started;
    bool death_seen;      /* a stop was triggered (pidfd or EOF) */
    bool guest_shutdown;  /* SHUTDOWN seen: a death now is a shutdown */
    bool destroying;      /* a destroy sent SIGTERM: a death now is destroyed */
    bool fake_reboot;     /* virDomainReboot pressed the button: the next SHUTDOWN resets */
    bool paused_shutdown; /* SHUTDOWN seen, a reset on its way: QEMU's STOP is no pause */
    uint64_t autodestroy; /* the connection whose close destroys the guest; 0: none */
    int *ports;           /* display ports to give back at stop */
    size_t nports;
    unsigned long long balloon_kib; /* a BALLOON_CHANGE not yet published (lock); 0: none */
};

/* A new run of obj as domain id (one reference); its paths under runs->dir. */
qemu_vm *qemu_vm_new(qemu_runs *runs, qemu_domobj *obj, const char *name, int id);
qemu_vm *qemu_vm_ref(qemu_vm *vm);
void qemu_vm_unref(qemu_vm *vm); /* NULL tolerated */

/* The registered run of a domain (a reference), or NULL; registering takes a reference. */
qemu_vm *qemu_runs_find(qemu_runs *runs, const unsigned char *uuid);
void qemu_runs_add(qemu_runs *runs, qemu_vm *vm);

/* Runs fn(vm) on the loop with a reference fn drops (dropped here when the loop is
 * stopping). The loop-side functions: start / stop watching the pidfd. */
void qemu_vm_post(qemu_vm *vm, void (*fn)(void *));
void qemu_vm_watch(void *vm);
void qemu_vm_unwatch(void *vm);
/* qemu_mon_loop.post for a daemon (ctx is the mv_daemon). */
int qemu_post_to_daemon(void *ctx, void (*fn)(void *), void *arg);

/* Does nothing on the loop but drop the reference qemu_vm_post took: keeps a run alive
 * until the loop has passed the point where a monitor callback may use it. */
void qemu_vm_keep_until_loop(void *vm);

/* Shuts the run off with a reason (caller holds the domain's job); a run no longer
 * registered is left alone. */
void qemu_vm_stop(qemu_vm *vm, int reason, int detail);
/* Waits for the process to end: SIGTERM, then SIGKILL unless graceful (caller holds the
 * job). */
int qemu_vm_kill(qemu_vm *vm, bool graceful, mv_error *err);
/* Rewrites the live status file from snap and the run's flags. */
int qemu_vm_write_status(qemu_vm *vm, const qemu_domsnap *snap, mv_error *err);

/* ---- qemu_process_events.c ---- */

/* What a run's thread does. All but POWEROFF first take the domain's job and act only
 * while the run is still the domain's. */
typedef enum qemu_vm_work {
    QEMU_WORK_STOP,        /* the process or its monitor is gone: shut off */
    QEMU_WORK_SYNC,        /* STOP/RESUME: publish what QEMU says */
    QEMU_WORK_PANIC,       /* GUEST_PANICKED: on_crash */
    QEMU_WORK_ATTACH,      /* re-attach's monitor, then QEMU's word on the state */
    QEMU_WORK_FAKE_REBOOT, /* SHUTDOWN while a reboot is due: system_reset + cont */
    QEMU_WORK_POWEROFF,    /* SHUTDOWN: end the process (no job: SIGTERM, then SIGKILL) */
    QEMU_WORK_AUTODESTROY, /* the connection that started it closed: destroy */
    QEMU_WORK_BALLOON,     /* BALLOON_CHANGE: publish balloon_kib as the memory, event */
} qemu_vm_work;

void qemu_vm_start_work(qemu_vm *vm, qemu_vm_work what);
/* Connects vm's monitor (vm->mon_path) on a thread that takes the domain's job. */
void qemu_vm_attach_later(qemu_vm *vm);

/* qemu_process_setup.c: what a start adds around the command builder. The emulator a
 * definition runs on, with its capabilities (a reference). */
qemu_caps *qemu_process_setup_caps(qemu_runs *runs, const mv_domain_def *def, mv_error *err);
/* Fills the builder's host-side parameters (nvram folder, what the caller applies). */
void qemu_process_setup_params(qemu_runs *runs, qemu_command_params *p);
/* Before the build, what a start decides into the live definition, as libvirt's live XML
 * shows it: the emulator that runs (caps' binary) when the definition names none, and
 * <currentMemory> as the whole RAM when no balloon can lower it. */
int qemu_process_setup_def(const qemu_caps *caps, mv_domain_def *live, mv_error *err);
/* After the QMP handshake, before the first 'cont': host CPU pinning and whatever else
 * the live definition asks of a started QEMU. */
int qemu_process_setup_live(qemu_vm *vm, const mv_domain_def *live, mv_error *err);

/* Monitor callbacks (opaque: the run) and the liveness check for qemu_mon_open. */
extern const qemu_mon_callbacks qemu_vm_mon_callbacks;
bool qemu_vm_alive(void *vm);

#endif
