/* qemu_process.c: the runs — one qemu_vm per running guest: start, death seen through a
 * pidfd and the monitor's EOF, stop with its reason, QMP events, destroy, commands. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include <modvirt/modvirt-events.h>
#include "common/daemon/daemon.h"
#include "common/log.h"
#include "common/store.h"
#include "virtqemud/qemu_command.h"
#include "virtqemud/qemu_driver.h"
#include "virtqemud/qemu_monitor.h"
#include "virtqemud/qemu_process.h"
#include "virtqemud/qemu_process_internal.h"

/* ---- small helpers --------------------------------------------------------------------- */

qemu_vm *qemu_vm_ref(qemu_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    vm->refs++;
    pthread_mutex_unlock(&vm->lock);
    return vm;
}

void qemu_vm_unref(qemu_vm *vm)
{
    bool last;

    if (!vm)
        return;
    pthread_mutex_lock(&vm->lock);
    last = --vm->refs == 0;
    pthread_mutex_unlock(&vm->lock);
    if (!last)
        return;
    if (vm->pidfd >= 0)
        close(vm->pidfd);
    qemu_domobj_unref(vm->obj);
    free(vm->name);
    free(vm->mon_path);
    free(vm->status_path);
    free(vm->pid_path);
    free(vm->sock_dir);
    free(vm->ports);
    mv_domain_def_free(vm->boot_def);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
}

qemu_vm *qemu_vm_new(qemu_runs *runs, qemu_domobj *obj, const char *name, int id)
{
    qemu_vm *vm = calloc(1, sizeof(*vm));

    if (!vm)
        return NULL;
    pthread_mutex_init(&vm->lock, NULL);
    vm->refs = 1;
    vm->runs = runs;
    vm->pidfd = -1;
    vm->id = id;
    vm->obj = qemu_domobj_ref(obj);
    memcpy(vm->uuid, qemu_domobj_uuid(obj), MV_UUID_BUFLEN);
    if (!(vm->name = strdup(name)) ||
        asprintf(&vm->mon_path, "%s/%s.monitor", runs->dir, name) < 0 ||
        asprintf(&vm->status_path, "%s/%s.xml", runs->dir, name) < 0 ||
        asprintf(&vm->pid_path, "%s/%s.pid", runs->dir, name) < 0 ||
        asprintf(&vm->sock_dir, "%s/domain-%d", runs->dir, id) < 0) {
        qemu_vm_unref(vm);
        return NULL;
    }
    return vm;
}

/* The running guest of obj, with a reference, or NULL. */
qemu_vm *qemu_runs_find(qemu_runs *runs, const unsigned char *uuid)
{
    qemu_vm *vm;

    pthread_mutex_lock(&runs->lock);
    for (vm = runs->vms; vm; vm = vm->next)
        if (memcmp(vm->uuid, uuid, MV_UUID_BUFLEN) == 0)
            break;
    if (vm)
        qemu_vm_ref(vm);
    pthread_mutex_unlock(&runs->lock);
    return vm;
}

void qemu_runs_add(qemu_runs *runs, qemu_vm *vm)
{
    pthread_mutex_lock(&runs->lock);
    vm->next = runs->vms;
    runs->vms = qemu_vm_ref(vm);
    pthread_mutex_unlock(&runs->lock);
}

/* True when vm was registered and is no longer (the caller inherits the list's ref). */
static bool runs_remove(qemu_runs *runs, qemu_vm *vm)
{
    bool found = false;

    pthread_mutex_lock(&runs->lock);
    for (qemu_vm **pp = &runs->vms; *pp; pp = &(*pp)->next) {
        if (*pp == vm) {
            *pp = vm->next;
            vm->next = NULL;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&runs->lock);
    return found;
}

void qemu_process_emit(qemu_state *s, const mv_domain_def *def, int id, int event, int detail)
{
    if (s->daemon)
        mv_daemon_emit_lifecycle(s->daemon, def->name, def->uuid, id, event, detail);
}

static qemu_runs *runs_of(qemu_state *s)
{
    return s->runs;
}

/* Removes a folder of sockets qemu made, and the folder. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
    rmdir(dir);
}

/* ---- the loop side: pidfd watcher, monitor callbacks ----------------------------------- */

static void trigger_stop(qemu_vm *vm);

static void on_poll_closed(uv_handle_t *h)
{
    qemu_vm *vm = h->data;

    /* Under the lock: qemu_process_destroy_begin signals through it without a job. */
    pthread_mutex_lock(&vm->lock);
    close(vm->pidfd);
    vm->pidfd = -1;
    pthread_mutex_unlock(&vm->lock);
    qemu_vm_unref(vm);
}

static void on_pidfd(uv_poll_t *p, int status, int events)
{
    qemu_vm *vm = p->data;

    /* The process exited (the fd is readable, or polling it failed: treat as exit). */
    uv_poll_stop(p);
    trigger_stop(vm);
}

void qemu_vm_watch(void *arg)
{
    qemu_vm *vm = arg;

    if (!vm->poll_started && vm->pidfd >= 0 &&
        uv_poll_init(vm->runs->ml.loop, &vm->poll, vm->pidfd) == 0) {
        vm->poll.data = qemu_vm_ref(vm);
        vm->poll_started = true;
        uv_unref((uv_handle_t *)&vm->poll);
        if (uv_poll_start(&vm->poll, UV_READABLE, on_pidfd) < 0)
            trigger_stop(vm);
    }
    qemu_vm_unref(vm);
}

void qemu_vm_unwatch(void *arg)
{
    qemu_vm *vm = arg;

    if (vm->poll_started && !uv_is_closing((uv_handle_t *)&vm->poll))
        uv_close((uv_handle_t *)&vm->poll, on_poll_closed);
    qemu_vm_unref(vm);
}

/* Does nothing on the loop but drop the reference qemu_vm_post took. */
static void keep_until_loop(void *arg)
{
    qemu_vm_unref(arg);
}

/* Posts fn(vm) with a reference fn drops; when the loop is stopping, fn does not run
 * and the reference is dropped here. */
void qemu_vm_post(qemu_vm *vm, void (*fn)(void *))
{
    qemu_runs *runs = vm->runs;

    qemu_vm_ref(vm);
    if (runs->ml.post(runs->ml.ctx, fn, vm) < 0)
        qemu_vm_unref(vm);
}

typedef struct daemon_post {
    void (*fn)(void *);
    void *arg;
} daemon_post;

static void run_daemon_post(mv_daemon *d, void *opaque)
{
    daemon_post *p = opaque;

    p->fn(p->arg);
    free(p);
}

int qemu_post_to_daemon(void *ctx, void (*fn)(void *), void *arg)
{
    daemon_post *p = malloc(sizeof(*p));

    if (!p)
        return -1;
    p->fn = fn;
    p->arg = arg;
    if (mv_daemon_post(ctx, run_daemon_post, p) < 0) {
        free(p);
        return -1;
    }
    return 0;
}

/* ---- async work that needs the domain's job: a thread each ----------------------------- */

typedef enum vm_work { WORK_STOP, WORK_SYNC, WORK_PANIC, WORK_ATTACH } vm_work;

typedef struct work_arg {
    qemu_vm *vm;
    vm_work what;
} work_arg;

static void sync_state(qemu_vm *vm);
static void handle_panic(qemu_vm *vm);

/* on_poweroff='restart' (or rename-restart): a guest that powered off boots again, as
 * libvirt does. Persistent domains only: a transient one is gone once stopped. Caller
 * holds the job. */
static void restart_after_poweroff(qemu_vm *vm)
{
    qemu_state *s = vm->runs->s;
    qemu_domsnap *snap = qemu_domobj_snapshot(vm->obj);
    const char *action;
    mv_error err = MV_ERROR_INIT;

    if (!snap || qemu_domsnap_is_active(snap) || !snap->persistent)
        goto cleanup;
    action = snap->def->on_poweroff ? snap->def->on_poweroff : "destroy";
    if (strcmp(action, "restart") != 0 && strcmp(action, "rename-restart") != 0)
        goto cleanup;
    if (qemu_process_start(s, vm->obj, snap, qemu_domsnap_inactive_def(snap), 0, &err) < 0)
        MV_ERROR("domain '%s': cannot restart after poweroff: %s", vm->name, err.message);

cleanup:
    mv_error_clear(&err);
    qemu_domsnap_unref(snap);
}

/* Re-attach's monitor half, under the job: a hung monitor delays only this domain's
 * jobs, never the daemon's start or other guests. Then QEMU's word on the state. */
static void attach_monitor(qemu_vm *vm)
{
    mv_error err = MV_ERROR_INIT;

    if (!(vm->mon = qemu_mon_open(&vm->runs->ml, vm->mon_path, QEMU_REATTACH_MS, qemu_vm_alive, vm,
                                  &qemu_vm_mon_callbacks, vm, &err))) {
        /* Still listed and watched: destroy works through the pidfd. */
        MV_ERROR("domain '%s': cannot re-attach to its monitor: %s", vm->name, err.message);
        mv_error_clear(&err);
        return;
    }
    MV_DEBUG("domain '%s': monitor re-attached", vm->name);
    sync_state(vm);
}

static void *work_main(void *opaque)
{
    work_arg *w = opaque;
    qemu_vm *vm = w->vm;
    mv_error err = MV_ERROR_INIT;
    qemu_vm *cur;

    /* Jobs on this domain may be long (a start waiting for its monitor); keep waiting
     * while the domain exists. */
    while (qemu_domobj_begin_job(vm->obj, "event", QEMU_JOB_WAIT_MS, &err) < 0) {
        bool gone = err.code == VIR_ERR_NO_DOMAIN;
        mv_error_clear(&err);
        if (gone)
            goto cleanup;
    }
    /* Only if this run is still the domain's (a destroy may have finished it). */
    if ((cur = qemu_runs_find(vm->runs, vm->uuid)) == vm) {
        if (w->what == WORK_STOP && vm->destroying) {
            qemu_pidfd_wait(vm->pidfd, QEMU_KILL_TERM_MS);
            qemu_vm_stop(vm, VIR_DOMAIN_SHUTOFF_DESTROYED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
        } else if (w->what == WORK_STOP) {
            /* The monitor's EOF comes a moment before the exit; a qemu that closed its
             * monitor and lingers is of no use to anyone. */
            if (!qemu_pidfd_wait(vm->pidfd, 2000)) {
                MV_WARN("domain '%s': monitor lost but qemu %d still runs; killing it", vm->name,
                        (int)vm->pid);
                qemu_pidfd_kill(vm->pidfd, SIGKILL);
                qemu_pidfd_wait(vm->pidfd, QEMU_KILL_KILL_MS);
            }
            qemu_vm_stop(
                vm, vm->guest_shutdown ? VIR_DOMAIN_SHUTOFF_SHUTDOWN : VIR_DOMAIN_SHUTOFF_CRASHED,
                vm->guest_shutdown ? VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN
                                   : VIR_DOMAIN_EVENT_STOPPED_CRASHED);
            if (vm->guest_shutdown)
                restart_after_poweroff(vm);
        } else if (w->what == WORK_SYNC) {
            sync_state(vm);
        } else if (w->what == WORK_ATTACH) {
            attach_monitor(vm);
        } else {
            handle_panic(vm);
        }
    }
    qemu_vm_unref(cur);
    qemu_domobj_end_job(vm->obj);
cleanup:
    pthread_mutex_lock(&vm->runs->lock);
    if (--vm->runs->workers == 0)
        pthread_cond_broadcast(&vm->runs->idle);
    pthread_mutex_unlock(&vm->runs->lock);
    qemu_vm_unref(vm);
    free(w);
    return NULL;
}

static void start_work(qemu_vm *vm, vm_work what)
{
    work_arg *w = malloc(sizeof(*w));
    pthread_attr_t attr;
    pthread_t t;

    if (!w) {
        MV_ERROR("cannot handle an event of domain '%s': out of memory", vm->name);
        return;
    }
    w->vm = qemu_vm_ref(vm);
    w->what = what;
    pthread_mutex_lock(&vm->runs->lock);
    vm->runs->workers++;
    pthread_mutex_unlock(&vm->runs->lock);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, work_main, w) != 0) {
        MV_ERROR("cannot handle an event of domain '%s': no thread", vm->name);
        pthread_mutex_lock(&vm->runs->lock);
        vm->runs->workers--;
        pthread_mutex_unlock(&vm->runs->lock);
        qemu_vm_unref(vm);
        free(w);
    }
    pthread_attr_destroy(&attr);
}

void qemu_vm_attach_later(qemu_vm *vm)
{
    start_work(vm, WORK_ATTACH);
}

/* The process is gone (pidfd) or its monitor is (EOF): shut the domain off, once. */
static void trigger_stop(qemu_vm *vm)
{
    bool first;

    pthread_mutex_lock(&vm->lock);
    first = !vm->death_seen;
    vm->death_seen = true;
    pthread_mutex_unlock(&vm->lock);
    if (first)
        start_work(vm, WORK_STOP);
}

static void on_mon_event(qemu_mon *mon, const char *name, json_object *data, void *opaque)
{
    qemu_vm *vm = opaque;
    qemu_domsnap *snap;
    json_object *guest = NULL;

    MV_DEBUG("domain '%s': QMP event %s", vm->name, name);
    if (strcmp(name, "SHUTDOWN") == 0) {
        bool by_guest = data && json_object_object_get_ex(data, "guest", &guest) &&
                        json_object_get_boolean(guest),
             ours;
        pthread_mutex_lock(&vm->lock);
        /* A destroy's SIGTERM also makes QEMU say SHUTDOWN: that stop is ours. */
        ours = vm->death_seen || vm->destroying;
        if (!ours)
            vm->guest_shutdown = true;
        pthread_mutex_unlock(&vm->lock);
        if (!ours && (snap = qemu_domobj_snapshot(vm->obj))) {
            qemu_process_emit(vm->runs->s, snap->def, vm->id, VIR_DOMAIN_EVENT_SHUTDOWN,
                              by_guest ? VIR_DOMAIN_EVENT_SHUTDOWN_GUEST
                                       : VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED);
            qemu_domsnap_unref(snap);
        }
        /* QEMU exits by itself after SHUTDOWN (we never pass -no-shutdown); the pidfd
         * then reports the stop. */
    } else if (strcmp(name, "STOP") == 0 || strcmp(name, "RESUME") == 0) {
        start_work(vm, WORK_SYNC);
    } else if (strcmp(name, "GUEST_PANICKED") == 0) {
        start_work(vm, WORK_PANIC);
    }
}

static void on_mon_eof(qemu_mon *mon, const mv_error *why, void *opaque)
{
    qemu_vm *vm = opaque;

    MV_DEBUG("domain '%s': %s", vm->name, why->message);
    trigger_stop(vm);
}

const qemu_mon_callbacks qemu_vm_mon_callbacks = {on_mon_event, on_mon_eof};

bool qemu_vm_alive(void *opaque)
{
    qemu_vm *vm = opaque;

    return qemu_pidfd_alive(vm->pidfd);
}

/* ---- publishing ------------------------------------------------------------------------ */

static int write_status(qemu_vm *vm, const qemu_domsnap *snap, mv_error *err)
{
    qemu_status st = {
        .pid = vm->pid,
        .id = vm->id,
        .monitor = vm->mon_path,
        .state = snap->state,
        .reason = snap->reason,
        .persistent = snap->persistent,
        .guest_shutdown = vm->guest_shutdown,
        .def = snap->def,
    };

    qemu_proc_stat(vm->pid, NULL, &st.start_ticks);
    return qemu_status_write(vm->status_path, &st, err);
}

int qemu_process_set_state(qemu_state *s, qemu_domobj *obj, int state, int reason, mv_error *err)
{
    qemu_vm *vm = qemu_runs_find(runs_of(s), qemu_domobj_uuid(obj));
    qemu_domsnap *old = qemu_domobj_snapshot(obj), *snap = NULL;
    int ret = -1;

    if (!vm || !old) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, "domain is not running");
        goto cleanup;
    }
    if (!(snap = qemu_domsnap_copy(old, err)))
        goto cleanup;
    snap->state = state;
    snap->reason = reason;
    /* The file follows; a failure to write it only costs a restart the new state. */
    if (write_status(vm, snap, err) < 0) {
        MV_WARN("domain '%s': %s", vm->name, err->message);
        mv_error_clear(err);
    }
    qemu_domlist_publish(s->doms, obj, snap);
    ret = 0;

cleanup:
    qemu_domsnap_unref(old);
    qemu_vm_unref(vm);
    return ret;
}

/* Shuts the run off (caller holds the job): monitor and watcher closed, ports back,
 * files gone, the shut-off snapshot published (or a transient domain removed), event. */
void qemu_vm_stop(qemu_vm *vm, int reason, int detail)
{
    qemu_runs *runs = vm->runs;
    qemu_state *s = runs->s;
    qemu_domsnap *old = qemu_domobj_snapshot(vm->obj), *snap = NULL;
    mv_domain_def *next = NULL;
    mv_error err = MV_ERROR_INIT;

    if (!runs_remove(runs, vm)) {
        qemu_domsnap_unref(old);
        return;
    }
    MV_INFO("domain '%s' (id %d, pid %d) stopped: %s", vm->name, vm->id, (int)vm->pid,
            reason == VIR_DOMAIN_SHUTOFF_SHUTDOWN    ? "shutdown"
            : reason == VIR_DOMAIN_SHUTOFF_DESTROYED ? "destroyed"
                                                     : "crashed");
    qemu_mon_close(vm->mon, false);
    vm->mon = NULL;
    qemu_vm_post(vm, qemu_vm_unwatch);
    /* A monitor callback may be running on the loop right now: the run stays alive
     * until the loop has passed this point. */
    qemu_vm_post(vm, keep_until_loop);
    for (size_t i = 0; i < vm->nports; i++)
        qemu_ports_release(runs->ports, vm->ports[i]);
    vm->nports = 0;
    unlink(vm->status_path);
    unlink(vm->pid_path);
    unlink(vm->mon_path);
    remove_dir(vm->sock_dir);
    /* The taps of bridge interfaces outlive QEMU unless deleted: the running guest's
     * definition names them. */
    if (old && old->def)
        qemu_command_cleanup_host(old->def);

    if (old && old->persistent) {
        /* The next boot's definition if one was defined meanwhile, else the one it
         * started from. */
        if (old->newdef)
            next = mv_domain_def_copy(old->newdef, &err);
        else if (vm->boot_def) {
            next = vm->boot_def;
            vm->boot_def = NULL;
        } else {
            next = mv_domain_def_copy(old->def, &err);
        }
        if (next && (snap = qemu_domsnap_new(next))) {
            next = NULL;
            snap->state = VIR_DOMAIN_SHUTOFF;
            snap->reason = reason;
            snap->persistent = true;
            snap->autostart = old->autostart;
            qemu_domlist_publish(s->doms, vm->obj, qemu_domsnap_ref(snap));
        } else {
            MV_ERROR("domain '%s': cannot publish its shut-off state: %s", vm->name,
                     err.message ? err.message : "out of memory");
        }
    } else {
        qemu_domlist_remove(s->doms, vm->obj);
    }
    if (old)
        qemu_process_emit(s, old->def, -1, VIR_DOMAIN_EVENT_STOPPED, detail);
    mv_error_clear(&err);
    mv_domain_def_free(next);
    qemu_domsnap_unref(snap);
    qemu_domsnap_unref(old);
    qemu_vm_unref(vm); /* the list's */
}

/* After STOP/RESUME events: publish what QEMU says, when it differs (pauses we did not
 * ask for: I/O errors, the watchdog; or a resume by someone else). */
static void sync_state(qemu_vm *vm)
{
    qemu_state *s = vm->runs->s;
    qemu_domsnap *snap = qemu_domobj_snapshot(vm->obj);
    json_object *reply = NULL, *running = NULL;
    mv_error err = MV_ERROR_INIT;
    bool is_running;

    if (!snap || !vm->mon ||
        qemu_mon_command(vm->mon, "query-status", NULL, QEMU_MONITOR_COMMAND_MS, &reply, &err) <
            0 ||
        !json_object_object_get_ex(reply, "running", &running))
        goto cleanup;
    is_running = json_object_get_boolean(running);
    if (is_running && snap->state == VIR_DOMAIN_PAUSED) {
        if (qemu_process_set_state(s, vm->obj, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_UNPAUSED,
                                   &err) == 0)
            qemu_process_emit(s, snap->def, vm->id, VIR_DOMAIN_EVENT_RESUMED,
                              VIR_DOMAIN_EVENT_RESUMED_UNPAUSED);
    } else if (!is_running && snap->state == VIR_DOMAIN_RUNNING && !vm->guest_shutdown) {
        if (qemu_process_set_state(s, vm->obj, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_UNKNOWN,
                                   &err) == 0)
            qemu_process_emit(s, snap->def, vm->id, VIR_DOMAIN_EVENT_SUSPENDED,
                              VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
    }

cleanup:
    if (mv_error_is_set(&err))
        MV_DEBUG("domain '%s': state not synced: %s", vm->name, err.message);
    mv_error_clear(&err);
    json_object_put(reply);
    qemu_domsnap_unref(snap);
}

/* Waits for the process to end: SIGTERM, then SIGKILL unless graceful. */
static int kill_vm(qemu_vm *vm, bool graceful, mv_error *err)
{
    if (qemu_pidfd_kill(vm->pidfd, SIGTERM) < 0 && errno != ESRCH) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "failed to kill qemu process %d",
                           (int)vm->pid);
        return -1;
    }
    qemu_pidfd_kill(vm->pidfd, SIGCONT);
    if (qemu_pidfd_wait(vm->pidfd, QEMU_KILL_TERM_MS))
        return 0;
    if (graceful) {
        mv_error_set(err, VIR_ERR_SYSTEM_ERROR, VIR_FROM_QEMU,
                     "failed to terminate process %d with SIGTERM", (int)vm->pid);
        return -1;
    }
    qemu_pidfd_kill(vm->pidfd, SIGKILL);
    if (qemu_pidfd_wait(vm->pidfd, QEMU_KILL_KILL_MS))
        return 0;
    mv_error_set(err, VIR_ERR_SYSTEM_ERROR, VIR_FROM_QEMU,
                 "failed to terminate process %d with SIGKILL", (int)vm->pid);
    return -1;
}

/* GUEST_PANICKED: on_crash says what happens (libvirt's default: destroy). */
static void handle_panic(qemu_vm *vm)
{
    qemu_state *s = vm->runs->s;
    qemu_domsnap *snap = qemu_domobj_snapshot(vm->obj);
    const char *action = snap && snap->def->on_crash ? snap->def->on_crash : "destroy";
    mv_error err = MV_ERROR_INIT;

    if (!snap)
        return;
    qemu_process_emit(s, snap->def, vm->id, VIR_DOMAIN_EVENT_CRASHED,
                      VIR_DOMAIN_EVENT_CRASHED_PANICKED);
    if (strcmp(action, "preserve") == 0 || strcmp(action, "coredump-preserve") == 0) {
        qemu_process_set_state(s, vm->obj, VIR_DOMAIN_CRASHED, VIR_DOMAIN_CRASHED_PANICKED, &err);
    } else if (strcmp(action, "restart") == 0 || strcmp(action, "coredump-restart") == 0) {
        if (qemu_mon_command(vm->mon, "system_reset", NULL, QEMU_MONITOR_COMMAND_MS, NULL, &err) ==
            0)
            qemu_mon_command(vm->mon, "cont", NULL, QEMU_MONITOR_COMMAND_MS, NULL, &err);
    } else {
        pthread_mutex_lock(&vm->lock);
        vm->death_seen = true; /* this stop is ours */
        pthread_mutex_unlock(&vm->lock);
        if (kill_vm(vm, false, &err) == 0)
            qemu_vm_stop(vm, VIR_DOMAIN_SHUTOFF_CRASHED, VIR_DOMAIN_EVENT_STOPPED_CRASHED);
    }
    if (mv_error_is_set(&err))
        MV_ERROR("domain '%s' panicked: %s", vm->name, err.message);
    mv_error_clear(&err);
    qemu_domsnap_unref(snap);
}

/* ---- start ----------------------------------------------------------------------------- */

/* Fills the live definition's pty paths from query-chardev. */
static int read_ptys(qemu_vm *vm, const qemu_command *cmd, mv_domain_def *live, mv_error *err)
{
    json_object *reply = NULL;
    int ret = -1;

    if (cmd->nptys == 0)
        return 0;
    if (qemu_mon_command(vm->mon, "query-chardev", NULL, QEMU_MONITOR_COMMAND_MS, &reply, err) < 0)
        return -1;
    for (size_t i = 0; i < cmd->nptys; i++) {
        const qemu_command_pty *pty = &cmd->ptys[i];
        mv_domain_chr *chr = NULL;
        const char *path = NULL;

        for (size_t k = 0; k < json_object_array_length(reply); k++) {
            json_object *e = json_object_array_get_idx(reply, k), *label, *file;
            if (json_object_object_get_ex(e, "label", &label) &&
                strcmp(json_object_get_string(label), pty->chardev_id) == 0 &&
                json_object_object_get_ex(e, "filename", &file) &&
                strncmp(json_object_get_string(file), "pty:", 4) == 0)
                path = json_object_get_string(file) + 4;
        }
        switch (pty->kind) {
        case QEMU_CHR_SERIAL:
            chr = pty->index < live->nserials ? &live->serials[pty->index] : NULL;
            break;
        case QEMU_CHR_CONSOLE:
            chr = pty->index < live->nconsoles ? &live->consoles[pty->index] : NULL;
            break;
        case QEMU_CHR_CHANNEL:
            chr = pty->index < live->nchannels ? &live->channels[pty->index] : NULL;
            break;
        case QEMU_CHR_PARALLEL:
            chr = pty->index < live->nparallels ? &live->parallels[pty->index] : NULL;
            break;
        }
        if (!path || !chr) {
            mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                         "no pty path for character device '%s'", pty->chardev_id);
            goto cleanup;
        }
        free(chr->tty);
        free(chr->source_path);
        if (!(chr->tty = strdup(path)) || !(chr->source_path = strdup(path))) {
            mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot record pty path");
            goto cleanup;
        }
    }
    /* libvirt shows the first serial's pty on the console that mirrors it. */
    if (live->nconsoles && live->nserials && live->consoles[0].target_type &&
        strcmp(live->consoles[0].target_type, "serial") == 0 && live->serials[0].tty &&
        !live->consoles[0].tty) {
        if (!(live->consoles[0].tty = strdup(live->serials[0].tty)) ||
            !(live->consoles[0].source_path = strdup(live->serials[0].tty))) {
            mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot record pty path");
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    json_object_put(reply);
    return ret;
}

/* A line in the guest's log before qemu writes to it, as libvirt does. Returns where
 * qemu's own output will start (for error messages), or -1. */
static long log_start(const char *log_path, const qemu_command *cmd)
{
    char *line = qemu_command_to_string(cmd), stamp[64];
    time_t now = time(NULL);
    struct tm tm;
    long end = -1;
    FILE *f;

    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", gmtime_r(&now, &tm));
    if ((f = fopen(log_path, "ae"))) {
        fprintf(f, "%s UTC: starting up\n%s\n", stamp, line ? line : "");
        fflush(f);
        end = ftell(f);
        fclose(f);
    }
    free(line);
    return end;
}

/* Adds the last line qemu wrote to its log since `from` to err (qemu says why it quit:
 * "-runas 0: User "0" doesn't exist"), as libvirt's "qemu unexpectedly closed the
 * monitor: ..." does. */
static void add_log_reason(const char *log_path, long from, mv_error *err)
{
    char buf[1024], *last, *msg = NULL;
    size_t n = 0;
    FILE *f;

    if (from < 0 || !(f = fopen(log_path, "re")))
        return;
    if (fseek(f, from, SEEK_SET) == 0) {
        /* Only the tail matters; qemu's complaint is its last line. */
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, size - from > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : from,
              SEEK_SET);
        n = fread(buf, 1, sizeof(buf) - 1, f);
    }
    fclose(f);
    while (n > 0 && strchr(" \t\r\n", buf[n - 1]))
        n--;
    buf[n] = 0;
    if (n == 0)
        return;
    last = strrchr(buf, '\n');
    last = last ? last + 1 : buf;
    if (asprintf(&msg, "%s: %s", err->message, last) < 0)
        return;
    mv_error_set_raw(err, err->code, err->domain, msg);
    free(msg);
}

static int write_pid_file(const char *path, pid_t pid, mv_error *err)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);

    return mv_file_write_atomic(path, buf, (size_t)n, 0644, err);
}

int qemu_process_start(qemu_state *s, qemu_domobj *obj, const qemu_domsnap *old,
                       const mv_domain_def *def, unsigned int flags, mv_error *err)
{
    qemu_runs *runs = runs_of(s);
    qemu_caps *caps = NULL;
    qemu_command *cmd = NULL;
    mv_domain_def *live = NULL;
    qemu_domsnap *snap = NULL;
    qemu_vm *vm = NULL, *running = NULL;
    char *log_path = NULL;
    bool paused = flags & VIR_DOMAIN_START_PAUSED, registered = false, spawned = false;
    long log_from = -1;
    int id, ret = -1;

    if ((running = qemu_runs_find(runs, def->uuid)) || (old && qemu_domsnap_is_active(old))) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU,
                     "domain '%s' is already running", def->name);
        goto cleanup;
    }
    if (!(caps = qemu_process_setup_caps(runs, def, err)))
        goto cleanup;
    id = qemu_domlist_next_id(s->doms);
    if (!(live = mv_domain_def_copy(def, err)) || !(vm = qemu_vm_new(runs, obj, def->name, id)) ||
        asprintf(&log_path, "%s/%s.log", runs->log_dir, def->name) < 0) {
        log_path = NULL;
        if (!mv_error_is_set(err))
            mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot start domain '%s'", def->name);
        goto cleanup;
    }
    if (old && old->persistent && !(vm->boot_def = mv_domain_def_copy(def, err)))
        goto cleanup;
    if (mv_check_socket_path(vm->mon_path, err) < 0)
        goto cleanup;
    unlink(vm->mon_path);
    remove_dir(vm->sock_dir);
    if (mkdir(vm->sock_dir, 0700) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot create '%s'", vm->sock_dir);
        goto cleanup;
    }
    qemu_command_params params = {
        .caps = caps,
        .monitor_path = vm->mon_path,
        .id = id,
        .sock_dir = vm->sock_dir,
        .ports = runs->ports,
    };
    qemu_process_setup_params(runs, &params);
    if (qemu_command_build(live, &params, &cmd, err) < 0)
        goto cleanup;
    /* The ports are the run's from here on. */
    vm->ports = cmd->ports;
    vm->nports = cmd->nports;
    cmd->ports = NULL;
    cmd->nports = 0;

    log_from = log_start(log_path, cmd);
    if (qemu_spawn_detached(cmd->argv, cmd->env, log_path, &vm->pid, err) < 0)
        goto cleanup;
    spawned = true;
    if ((vm->pidfd = qemu_pidfd_open(vm->pid, err)) < 0 ||
        write_pid_file(vm->pid_path, vm->pid, err) < 0)
        goto cleanup;
    qemu_runs_add(runs, vm);
    registered = true;
    if (!(vm->mon = qemu_mon_open(&runs->ml, vm->mon_path, QEMU_MONITOR_OPEN_MS, qemu_vm_alive, vm,
                                  &qemu_vm_mon_callbacks, vm, err))) {
        /* Let a dying qemu finish its last words first. */
        qemu_pidfd_wait(vm->pidfd, 1000);
        add_log_reason(log_path, log_from, err);
        mv_error_prefix(err, "domain '%s' (see %s): ", def->name, log_path);
        goto cleanup;
    }
    qemu_vm_post(vm, qemu_vm_watch);
    if (read_ptys(vm, cmd, live, err) < 0 || qemu_process_setup_live(vm, live, err) < 0)
        goto cleanup;
    if (!paused && qemu_mon_command(vm->mon, "cont", NULL, QEMU_MONITOR_COMMAND_MS, NULL, err) < 0)
        goto cleanup;

    if (!(snap = qemu_domsnap_new(live))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot start domain '%s'", def->name);
        goto cleanup;
    }
    live = NULL;
    snap->id = id;
    snap->pid = vm->pid;
    snap->state = paused ? VIR_DOMAIN_PAUSED : VIR_DOMAIN_RUNNING;
    snap->reason = paused ? VIR_DOMAIN_PAUSED_USER : VIR_DOMAIN_RUNNING_BOOTED;
    snap->persistent = old && old->persistent;
    snap->autostart = old && old->autostart;
    if (old && old->persistent && def != old->def &&
        !(snap->newdef = mv_domain_def_copy(old->def, err)))
        goto cleanup;
    if (write_status(vm, snap, err) < 0)
        goto cleanup;
    qemu_domlist_publish(s->doms, obj, qemu_domsnap_ref(snap));
    MV_INFO("domain '%s' started: id %d, pid %d", def->name, id, (int)vm->pid);
    qemu_process_emit(s, snap->def, id, VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED);
    if (paused)
        qemu_process_emit(s, snap->def, id, VIR_DOMAIN_EVENT_SUSPENDED,
                          VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
    ret = 0;

cleanup:
    if (ret < 0 && vm) {
        /* Nothing of a failed start survives: process, files, ports, registration. */
        pthread_mutex_lock(&vm->lock);
        vm->death_seen = true;
        pthread_mutex_unlock(&vm->lock);
        if (spawned && vm->pidfd >= 0) {
            qemu_pidfd_kill(vm->pidfd, SIGKILL);
            qemu_pidfd_wait(vm->pidfd, QEMU_KILL_KILL_MS);
        } else if (spawned) {
            kill(vm->pid, SIGKILL);
        }
        qemu_mon_close(vm->mon, false);
        vm->mon = NULL;
        qemu_vm_post(vm, keep_until_loop);
        if (registered && runs_remove(runs, vm)) {
            qemu_vm_post(vm, qemu_vm_unwatch);
            qemu_vm_unref(vm);
        }
        for (size_t i = 0; i < vm->nports; i++)
            qemu_ports_release(runs->ports, vm->ports[i]);
        vm->nports = 0;
        unlink(vm->status_path);
        unlink(vm->pid_path);
        unlink(vm->mon_path);
        remove_dir(vm->sock_dir);
        /* Taps the build created (only once it succeeded: before that it cleans up
         * after itself, and a tap it would merely have reused is not ours). */
        const mv_domain_def *built = live ? live : snap ? snap->def : NULL;
        if (cmd && built)
            qemu_command_cleanup_host(built);
    }
    free(log_path);
    qemu_command_free(cmd);
    qemu_caps_unref(caps);
    mv_domain_def_free(live);
    qemu_domsnap_unref(snap);
    qemu_vm_unref(vm);
    qemu_vm_unref(running);
    return ret;
}

/* ---- destroy and commands -------------------------------------------------------------- */

static qemu_vm *running_vm(qemu_state *s, qemu_domobj *obj, mv_error *err)
{
    qemu_vm *vm = qemu_runs_find(runs_of(s), qemu_domobj_uuid(obj));

    if (!vm)
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, "domain is not running");
    return vm;
}

bool qemu_process_destroy_begin(qemu_state *s, const unsigned char *uuid)
{
    qemu_vm *vm = qemu_runs_find(runs_of(s), uuid);

    if (!vm)
        return false;
    pthread_mutex_lock(&vm->lock);
    vm->destroying = true;
    if (vm->pidfd >= 0) {
        /* SIGCONT too: a stopped qemu (the classic hung monitor) must see the SIGTERM. */
        qemu_pidfd_kill(vm->pidfd, SIGTERM);
        qemu_pidfd_kill(vm->pidfd, SIGCONT);
    }
    pthread_mutex_unlock(&vm->lock);
    qemu_vm_unref(vm);
    return true;
}

int qemu_process_destroy(qemu_state *s, qemu_domobj *obj, bool graceful, mv_error *err)
{
    qemu_vm *vm = running_vm(s, obj, err);
    int ret = -1;

    if (!vm)
        return -1;
    pthread_mutex_lock(&vm->lock);
    vm->death_seen = true; /* this stop is ours, with our reason */
    pthread_mutex_unlock(&vm->lock);
    if (kill_vm(vm, graceful, err) == 0) {
        qemu_vm_stop(vm, VIR_DOMAIN_SHUTOFF_DESTROYED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
        ret = 0;
    }
    qemu_vm_unref(vm);
    return ret;
}

void qemu_process_remove_log(qemu_state *s, const char *name)
{
    char *path = NULL;

    if (asprintf(&path, "%s/%s.log", runs_of(s)->log_dir, name) < 0)
        return;
    if (unlink(path) < 0 && errno != ENOENT)
        MV_WARN("cannot remove log '%s': %s", path, strerror(errno));
    free(path);
}

int qemu_process_command(qemu_state *s, qemu_domobj *obj, const char *cmd, json_object *args,
                         json_object **reply, mv_error *err)
{
    qemu_vm *vm = running_vm(s, obj, err);
    int ret = -1;

    if (!vm)
        return -1;
    if (!vm->mon)
        mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                     "QEMU monitor of domain '%s' is not connected", vm->name);
    else
        ret = qemu_mon_command(vm->mon, cmd, args, QEMU_MONITOR_COMMAND_MS, reply, err);
    qemu_vm_unref(vm);
    return ret;
}
