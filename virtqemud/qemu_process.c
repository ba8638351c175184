/* qemu_process.c: the runs — one qemu_vm per running guest: start, stop with its reason,
 * destroy, reboot and reset, commands. Events and deaths: qemu_process_events.c. */
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
    pthread_mutex_destroy(&vm->status_lock);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
}

qemu_vm *qemu_vm_new(qemu_runs *runs, qemu_domobj *obj, const char *name, int id)
{
    qemu_vm *vm = calloc(1, sizeof(*vm));

    if (!vm)
        return NULL;
    pthread_mutex_init(&vm->lock, NULL);
    pthread_mutex_init(&vm->status_lock, NULL);
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

/* ---- publishing ------------------------------------------------------------------------ */

int qemu_vm_write_status(qemu_vm *vm, const qemu_domsnap *snap, mv_error *err)
{
    qemu_status st = {
        .pid = vm->pid,
        .id = vm->id,
        .monitor = vm->mon_path,
        .state = snap->state,
        .reason = snap->reason,
        .persistent = snap->persistent,
        .def = snap->def,
    };
    int ret = 0;

    /* Writers without the job (a power-off's thread) must not bring back the file of a
     * run that stopped meanwhile. */
    pthread_mutex_lock(&vm->status_lock);
    if (!vm->status_gone) {
        pthread_mutex_lock(&vm->lock);
        st.guest_shutdown = vm->guest_shutdown;
        st.fake_reboot = vm->fake_reboot;
        pthread_mutex_unlock(&vm->lock);
        st.start_ticks = vm->start_ticks;
        ret = qemu_status_write(vm->status_path, &st, err);
    }
    pthread_mutex_unlock(&vm->status_lock);
    return ret;
}

/* The live status file goes, for good. */
static void remove_status(qemu_vm *vm)
{
    pthread_mutex_lock(&vm->status_lock);
    vm->status_gone = true;
    unlink(vm->status_path);
    pthread_mutex_unlock(&vm->status_lock);
}

/* What a run held on the host once it is over: its display ports, its files, its folder. */
static void release_run(qemu_runs *runs, qemu_vm *vm)
{
    for (size_t i = 0; i < vm->nports; i++)
        qemu_ports_release(runs->ports, vm->ports[i]);
    vm->nports = 0;
    remove_status(vm);
    unlink(vm->pid_path);
    unlink(vm->mon_path);
    remove_dir(vm->sock_dir);
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
    if (qemu_vm_write_status(vm, snap, err) < 0) {
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
    qemu_vm_post(vm, qemu_vm_keep_until_loop);
    release_run(runs, vm);
    /* The taps of bridge interfaces outlive QEMU unless deleted: the running guest's
     * definition names them. */
    if (old && old->def)
        qemu_command_cleanup_host(old->def);

    if (old && old->persistent) {
        /* The next boot's definition: a running persistent domain always has one (start
         * and re-attach keep it; a redefine replaces it). */
        next = mv_domain_def_copy(qemu_domsnap_inactive_def(old), &err);
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

int qemu_vm_kill(qemu_vm *vm, bool graceful, mv_error *err)
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

static bool action_is(const char *action, const char *what)
{
    return action && strcmp(action, what) == 0;
}

int qemu_process_check_lifecycle(const mv_domain_def *def, mv_error *err)
{
    /* libvirt's QEMU driver has no meaning for these, and says so with these words. */
    if (action_is(def->on_poweroff, "rename-restart") ||
        action_is(def->on_reboot, "rename-restart") || action_is(def->on_crash, "rename-restart")) {
        mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                     "qemu driver doesn't support the 'rename-restart' action for "
                     "'on_reboot'/'on_poweroff'/'on_crash'");
        return -1;
    }
    if (action_is(def->on_poweroff, "preserve") || action_is(def->on_reboot, "preserve")) {
        mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                     "qemu driver doesn't support the 'preserve' action for "
                     "'on_reboot'/'on_poweroff'");
        return -1;
    }
    if (action_is(def->on_poweroff, "restart") && action_is(def->on_reboot, "destroy")) {
        mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                     "qemu driver doesn't support 'onReboot' set to 'destroy and 'onPoweroff' "
                     "set to 'reboot'");
        return -1;
    }
    return 0;
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
    if (qemu_process_check_lifecycle(def, err) < 0 ||
        !(caps = qemu_process_setup_caps(runs, def, err)))
        goto cleanup;
    id = qemu_domlist_next_id(s->doms);
    if (!(live = mv_domain_def_copy(def, err)) || !(vm = qemu_vm_new(runs, obj, def->name, id)) ||
        asprintf(&log_path, "%s/%s.log", runs->log_dir, def->name) < 0) {
        log_path = NULL;
        if (!mv_error_is_set(err))
            mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot start domain '%s'", def->name);
        goto cleanup;
    }
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
    if (qemu_process_setup_def(caps, live, err) < 0)
        goto cleanup;
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
    /* Read once, right after the spawn: a later read (each status write) could be of a
     * stranger that reused the pid after qemu died, and re-attach would take it. */
    qemu_proc_stat(vm->pid, NULL, &vm->start_ticks);
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
    /* A persistent domain's next boot is its definition, never the live one (which has
     * runtime values: ids, ptys, ports, filled-in defaults). */
    if (old && old->persistent &&
        !(snap->newdef = mv_domain_def_copy(old->def, err)))
        goto cleanup;
    if (qemu_vm_write_status(vm, snap, err) < 0)
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
        qemu_vm_post(vm, qemu_vm_keep_until_loop);
        if (registered && runs_remove(runs, vm)) {
            qemu_vm_post(vm, qemu_vm_unwatch);
            qemu_vm_unref(vm);
        }
        release_run(runs, vm);
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
    if (qemu_vm_kill(vm, graceful, err) == 0) {
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

/* ---- reboot, reset, auto-destroy --------------------------------------------------------- */

int qemu_process_powerdown(qemu_state *s, qemu_domobj *obj, bool reboot, mv_error *err)
{
    qemu_vm *vm = running_vm(s, obj, err);
    qemu_domsnap *snap = NULL;
    bool was;
    int ret = -1;

    if (!vm)
        return -1;
    if (!vm->mon) {
        mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                     "QEMU monitor of domain '%s' is not connected", vm->name);
        goto cleanup;
    }
    pthread_mutex_lock(&vm->lock);
    was = vm->fake_reboot;
    vm->fake_reboot = reboot;
    pthread_mutex_unlock(&vm->lock);
    /* On disk before the button: a daemon restarted in between still reboots the guest. */
    if (was != reboot && (snap = qemu_domobj_snapshot(obj)) &&
        qemu_vm_write_status(vm, snap, err) < 0)
        goto undo;
    if (qemu_mon_command(vm->mon, "system_powerdown", NULL, QEMU_MONITOR_COMMAND_MS, NULL, err) ==
        0) {
        ret = 0;
        goto cleanup;
    }

undo:
    pthread_mutex_lock(&vm->lock);
    vm->fake_reboot = was;
    pthread_mutex_unlock(&vm->lock);

cleanup:
    qemu_domsnap_unref(snap);
    qemu_vm_unref(vm);
    return ret;
}

int qemu_process_reset(qemu_state *s, qemu_domobj *obj, mv_error *err)
{
    qemu_vm *vm = running_vm(s, obj, err);
    int ret;

    if (!vm)
        return -1;
    ret = qemu_process_command(s, obj, "system_reset", NULL, NULL, err);
    /* The machine restarted: a reboot asked for before is done (libvirt). */
    pthread_mutex_lock(&vm->lock);
    vm->fake_reboot = false;
    pthread_mutex_unlock(&vm->lock);
    qemu_vm_unref(vm);
    return ret;
}

int qemu_process_set_autodestroy(qemu_state *s, qemu_domobj *obj, uint64_t conn, mv_error *err)
{
    qemu_vm *vm = running_vm(s, obj, err);

    if (!vm)
        return -1;
    pthread_mutex_lock(&vm->lock);
    vm->autodestroy = conn;
    pthread_mutex_unlock(&vm->lock);
    qemu_vm_unref(vm);
    return 0;
}

void qemu_process_conn_closed(qemu_state *s, uint64_t conn)
{
    qemu_runs *runs = runs_of(s);
    qemu_vm **doomed = NULL;
    size_t n = 0, cap = 0;

    if (!runs || conn == 0)
        return;
    pthread_mutex_lock(&runs->lock);
    for (qemu_vm *vm = runs->vms; vm; vm = vm->next) {
        size_t want = cap ? 2 * cap : 4;
        qemu_vm **more;

        pthread_mutex_lock(&vm->lock);
        if (vm->autodestroy == conn && n == cap && (more = realloc(doomed, want * sizeof(*more)))) {
            doomed = more;
            cap = want;
        }
        if (vm->autodestroy == conn && n < cap) {
            vm->autodestroy = 0;
            doomed[n++] = vm;
        }
        pthread_mutex_unlock(&vm->lock);
        if (n && doomed[n - 1] == vm)
            qemu_vm_ref(vm);
    }
    pthread_mutex_unlock(&runs->lock);
    /* As a destroy does: SIGTERM at once (a job stuck on a hung monitor then ends), the
     * rest on a thread each — this runs on the loop, and a destroy waits. */
    for (size_t i = 0; i < n; i++) {
        qemu_process_destroy_begin(s, doomed[i]->uuid);
        qemu_vm_start_work(doomed[i], QEMU_WORK_AUTODESTROY);
        qemu_vm_unref(doomed[i]);
    }
    free(doomed);
}
