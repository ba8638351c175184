/* qemu_process_events.c: what happens to a run between start and stop — the pidfd
 * watcher, QMP events (SHUTDOWN and libvirt's fake reboot, STOP/RESUME, GUEST_PANICKED,
 * and RESET, RTC_CHANGE, WATCHDOG, BALLOON_CHANGE as libvirt's domain events), and the
 * threads that act on them under the domain's job. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <modvirt/modvirt-events.h>
#include "common/daemon/daemon.h"
#include "common/log.h"
#include "common/proc.h"
#include "virtqemud/qemu_process_internal.h"

/* ---- the loop side: pidfd watcher, posting to the loop --------------------------------- */

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

void qemu_vm_keep_until_loop(void *arg)
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

/* ---- what QEMU's state says, and the actions libvirt takes on it ----------------------- */

/* The live definition's on_poweroff is restart: a power-off is a reboot (libvirt). */
static bool restarts_on_poweroff(qemu_vm *vm)
{
    qemu_domsnap *snap = qemu_domobj_snapshot(vm->obj);
    bool restart = snap && snap->def->on_poweroff && strcmp(snap->def->on_poweroff, "restart") == 0;

    qemu_domsnap_unref(snap);
    return restart;
}

/* After STOP/RESUME events: publish what QEMU says, when it differs (pauses we did not
 * ask for: I/O errors, the watchdog; or a resume by someone else). The STOP that
 * -no-shutdown makes after a SHUTDOWN is no pause: the guest is on its way off or back. */
static void sync_state(qemu_vm *vm)
{
    qemu_state *s = vm->runs->s;
    qemu_domsnap *snap = qemu_domobj_snapshot(vm->obj);
    json_object *reply = NULL, *running = NULL, *status = NULL;
    mv_error err = MV_ERROR_INIT;
    bool is_running, shutting;

    if (!snap || !vm->mon ||
        qemu_mon_command(vm->mon, "query-status", NULL, QEMU_MONITOR_COMMAND_MS, &reply, &err) <
            0 ||
        !json_object_object_get_ex(reply, "running", &running))
        goto cleanup;
    is_running = json_object_get_boolean(running);
    pthread_mutex_lock(&vm->lock);
    shutting = vm->guest_shutdown || vm->paused_shutdown;
    pthread_mutex_unlock(&vm->lock);
    /* A panic's stop is GUEST_PANICKED's business (on_crash), not a pause either. */
    if (json_object_object_get_ex(reply, "status", &status) &&
        strcmp(json_object_get_string(status), "guest-panicked") == 0)
        shutting = true;
    if (is_running && snap->state == VIR_DOMAIN_PAUSED) {
        if (qemu_process_set_state(s, vm->obj, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_UNPAUSED,
                                   &err) == 0)
            qemu_process_emit(s, snap->def, vm->id, VIR_DOMAIN_EVENT_RESUMED,
                              VIR_DOMAIN_EVENT_RESUMED_UNPAUSED);
    } else if (!is_running && snap->state == VIR_DOMAIN_RUNNING && !shutting) {
        /* QEMU's run state says why, where libvirt has a reason and detail for it */
        const char *why = status ? json_object_get_string(status) : NULL;
        bool wd = why && strcmp(why, "watchdog") == 0, io = why && strcmp(why, "io-error") == 0;
        if (qemu_process_set_state(s, vm->obj, VIR_DOMAIN_PAUSED,
                                   wd   ? VIR_DOMAIN_PAUSED_WATCHDOG
                                   : io ? VIR_DOMAIN_PAUSED_IOERROR
                                        : VIR_DOMAIN_PAUSED_UNKNOWN,
                                   &err) == 0)
            qemu_process_emit(s, snap->def, vm->id, VIR_DOMAIN_EVENT_SUSPENDED,
                              wd   ? VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG
                              : io ? VIR_DOMAIN_EVENT_SUSPENDED_IOERROR
                                   : VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
    }

cleanup:
    if (mv_error_is_set(&err))
        MV_DEBUG("domain '%s': state not synced: %s", vm->name, err.message);
    mv_error_clear(&err);
    json_object_put(reply);
    qemu_domsnap_unref(snap);
}

static void fake_reboot(qemu_vm *vm);

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
        /* As libvirt: crashed, then its fake reboot — running again, reason crashed. */
        if (qemu_process_set_state(s, vm->obj, VIR_DOMAIN_CRASHED, VIR_DOMAIN_CRASHED_PANICKED,
                                   &err) == 0) {
            pthread_mutex_lock(&vm->lock);
            vm->paused_shutdown = true;
            pthread_mutex_unlock(&vm->lock);
            fake_reboot(vm);
        }
    } else {
        pthread_mutex_lock(&vm->lock);
        vm->death_seen = true; /* this stop is ours */
        pthread_mutex_unlock(&vm->lock);
        if (qemu_vm_kill(vm, false, &err) == 0)
            qemu_vm_stop(vm, VIR_DOMAIN_SHUTOFF_CRASHED, VIR_DOMAIN_EVENT_STOPPED_CRASHED);
    }
    if (mv_error_is_set(&err))
        MV_ERROR("domain '%s' panicked: %s", vm->name, err.message);
    mv_error_clear(&err);
    qemu_domsnap_unref(snap);
}

/* libvirt's fake reboot: the guest powered off (-no-shutdown keeps QEMU, paused) while a
 * reboot was due or on_poweroff says restart; reset the machine and let it run again —
 * same process, same id, no lifecycle event, running (booted) after. If QEMU will not,
 * the guest is ended as a shutdown, as libvirt does. */
static void fake_reboot(qemu_vm *vm)
{
    qemu_state *s = vm->runs->s;
    qemu_domsnap *snap = qemu_domobj_snapshot(vm->obj);
    mv_error err = MV_ERROR_INIT;
    int reason;

    if (!snap)
        return;
    reason =
        snap->state == VIR_DOMAIN_CRASHED ? VIR_DOMAIN_RUNNING_CRASHED : VIR_DOMAIN_RUNNING_BOOTED;
    if (vm->mon &&
        qemu_mon_command(vm->mon, "system_reset", NULL, QEMU_MONITOR_COMMAND_MS, NULL, &err) == 0 &&
        qemu_mon_command(vm->mon, "cont", NULL, QEMU_MONITOR_COMMAND_MS, NULL, &err) == 0) {
        pthread_mutex_lock(&vm->lock);
        vm->fake_reboot = false;
        vm->paused_shutdown = false;
        pthread_mutex_unlock(&vm->lock);
        /* Also rewrites the live status, which no longer says a reboot is due. */
        if (qemu_process_set_state(s, vm->obj, VIR_DOMAIN_RUNNING, reason, &err) == 0)
            MV_INFO("domain '%s' rebooted", vm->name);
        goto cleanup;
    }
    MV_ERROR("domain '%s': cannot reboot: %s", vm->name,
             err.message ? err.message : "monitor not connected");
    mv_error_clear(&err);
    pthread_mutex_lock(&vm->lock);
    vm->fake_reboot = false;
    vm->paused_shutdown = false;
    vm->guest_shutdown = true;
    vm->death_seen = true; /* this stop is ours */
    pthread_mutex_unlock(&vm->lock);
    if (qemu_vm_kill(vm, false, &err) == 0)
        qemu_vm_stop(vm, VIR_DOMAIN_SHUTOFF_SHUTDOWN, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);

cleanup:
    if (mv_error_is_set(&err))
        MV_ERROR("domain '%s': %s", vm->name, err.message);
    mv_error_clear(&err);
    qemu_domsnap_unref(snap);
}

/* The guest powered off: QEMU waits (-no-shutdown) and the daemon ends it, as libvirt
 * does — SIGTERM, then SIGKILL after a grace period. No job: a job stuck on this guest
 * must not keep it alive. The pidfd then reports the death, a shutdown. */
static void poweroff(qemu_vm *vm)
{
    qemu_vm *cur = qemu_runs_find(vm->runs, vm->uuid);
    qemu_domsnap *snap = qemu_domobj_snapshot(vm->obj);
    mv_error err = MV_ERROR_INIT;
    int fd = -1;

    /* Recorded first: a daemon killed from here on finds a shutdown, not a crash. */
    if (cur == vm && snap && qemu_vm_write_status(vm, snap, &err) < 0)
        MV_WARN("domain '%s': %s", vm->name, err.message);
    pthread_mutex_lock(&vm->lock);
    if (vm->pidfd >= 0)
        fd = fcntl(vm->pidfd, F_DUPFD_CLOEXEC, 0);
    pthread_mutex_unlock(&vm->lock);
    if (fd >= 0) {
        qemu_pidfd_kill(fd, SIGTERM);
        qemu_pidfd_kill(fd, SIGCONT);
        if (!qemu_pidfd_wait(fd, QEMU_KILL_TERM_MS)) {
            MV_WARN("domain '%s': qemu %d ignored SIGTERM after the guest's shutdown; killing it",
                    vm->name, (int)vm->pid);
            qemu_pidfd_kill(fd, SIGKILL);
        }
        close(fd);
    }
    mv_error_clear(&err);
    qemu_domsnap_unref(snap);
    qemu_vm_unref(cur);
}

/* The process is gone or its monitor is: shut the domain off with the reason its flags
 * give (caller holds the job). */
static void stop_run(qemu_vm *vm)
{
    bool shutdown, destroying;

    /* vm->lock guards the flags: a destroy sets them from another thread. */
    pthread_mutex_lock(&vm->lock);
    destroying = vm->destroying;
    pthread_mutex_unlock(&vm->lock);
    if (destroying) {
        qemu_pidfd_wait(vm->pidfd, QEMU_KILL_TERM_MS);
        qemu_vm_stop(vm, VIR_DOMAIN_SHUTOFF_DESTROYED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
        return;
    }
    /* The monitor's EOF comes a moment before the exit; a qemu that closed its monitor
     * and lingers is of no use to anyone. */
    if (!qemu_pidfd_wait(vm->pidfd, 2000)) {
        MV_WARN("domain '%s': monitor lost but qemu %d still runs; killing it", vm->name,
                (int)vm->pid);
        qemu_pidfd_kill(vm->pidfd, SIGKILL);
        qemu_pidfd_wait(vm->pidfd, QEMU_KILL_KILL_MS);
    }
    /* A death in the middle of a fake reboot follows a guest's power-off too. */
    pthread_mutex_lock(&vm->lock);
    shutdown = vm->guest_shutdown || vm->paused_shutdown;
    pthread_mutex_unlock(&vm->lock);
    qemu_vm_stop(vm, shutdown ? VIR_DOMAIN_SHUTOFF_SHUTDOWN : VIR_DOMAIN_SHUTOFF_CRASHED,
                 shutdown ? VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN : VIR_DOMAIN_EVENT_STOPPED_CRASHED);
}

static bool reboot_due(qemu_vm *vm)
{
    bool due;

    pthread_mutex_lock(&vm->lock);
    due = vm->fake_reboot;
    pthread_mutex_unlock(&vm->lock);
    return due;
}

/* Re-attach found QEMU stopped where -no-shutdown left it while no daemon listened:
 * finish what the SHUTDOWN (or GUEST_PANICKED) event would have started. A guest that
 * powered off is rebooted (a reboot was due, or on_poweroff restart) or ended as a
 * shutdown; a panicked one gets its on_crash; one a fake reboot had reset but not yet
 * resumed is resumed. Other states are published as they are. */
static void attach_state(qemu_vm *vm)
{
    qemu_domsnap *snap = qemu_domobj_snapshot(vm->obj);
    json_object *reply = NULL, *status = NULL;
    mv_error err = MV_ERROR_INIT;
    const char *st = "";
    bool reboot;

    if (qemu_mon_command(vm->mon, "query-status", NULL, QEMU_MONITOR_COMMAND_MS, &reply, &err) ==
            0 &&
        json_object_object_get_ex(reply, "status", &status))
        st = json_object_get_string(status);
    if (strcmp(st, "shutdown") == 0) {
        reboot = restarts_on_poweroff(vm);
        pthread_mutex_lock(&vm->lock);
        reboot = reboot || vm->fake_reboot;
        if (reboot)
            vm->paused_shutdown = true;
        else
            vm->guest_shutdown = true;
        vm->death_seen = !reboot; /* a stop now is ours */
        pthread_mutex_unlock(&vm->lock);
        MV_INFO("domain '%s' powered off while the daemon was away: %s", vm->name,
                reboot ? "rebooting it" : "ending it");
        if (reboot) {
            fake_reboot(vm);
        } else if (qemu_vm_kill(vm, false, &err) == 0) {
            qemu_vm_stop(vm, VIR_DOMAIN_SHUTOFF_SHUTDOWN, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
        }
    } else if (strcmp(st, "guest-panicked") == 0) {
        /* Unless on_crash='preserve' already kept it as crashed. */
        if (!snap || snap->state != VIR_DOMAIN_CRASHED || !snap->def->on_crash ||
            !strstr(snap->def->on_crash, "preserve"))
            handle_panic(vm);
    } else if (strcmp(st, "prelaunch") == 0 && reboot_due(vm) && snap &&
               snap->state == VIR_DOMAIN_RUNNING) {
        /* The daemon died between a fake reboot's system_reset and its cont. */
        pthread_mutex_lock(&vm->lock);
        vm->paused_shutdown = true;
        pthread_mutex_unlock(&vm->lock);
        fake_reboot(vm);
    } else {
        sync_state(vm);
    }
    if (mv_error_is_set(&err))
        MV_ERROR("domain '%s': after re-attach: %s", vm->name, err.message);
    mv_error_clear(&err);
    json_object_put(reply);
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
    attach_state(vm);
}

/* VIR_DOMAIN_START_AUTODESTROY: the connection that started the guest closed. */
static void autodestroy(qemu_vm *vm)
{
    mv_error err = MV_ERROR_INIT;

    MV_INFO("domain '%s': the connection that started it closed; destroying it", vm->name);
    if (qemu_process_destroy(vm->runs->s, vm->obj, false, &err) < 0)
        MV_ERROR("domain '%s': cannot auto-destroy: %s", vm->name, err.message);
    mv_error_clear(&err);
}

/* ---- domain events other than lifecycle (proto/domain_events.def) --------------------- */

/* Emits one about vm; msg's domain is the run's. */
static void emit_event(qemu_vm *vm, int event_id, uint32_t proc, ProtobufCMessage *msg,
                       Modvirt__Domain **dom_field)
{
    Modvirt__Domain dom = MODVIRT__DOMAIN__INIT;
    mv_daemon *d = vm->runs->s->daemon;

    if (!d)
        return;
    dom.name = vm->name;
    dom.uuid.data = vm->uuid;
    dom.uuid.len = MV_UUID_BUFLEN;
    dom.id = vm->id;
    *dom_field = &dom;
    if (mv_daemon_emit_event(d, event_id, proc, vm->name, vm->uuid, msg) < 0)
        MV_DEBUG("domain '%s': event %s dropped (the daemon is stopping)", vm->name,
                 mv_proc_name(proc));
    *dom_field = NULL;
}

/* QMP RESET: the guest's machine was reset — it rebooted in place, virDomainReset, or the
 * fake reboot's system_reset. libvirt reports each as VIR_DOMAIN_EVENT_ID_REBOOT. */
static void on_reset(qemu_vm *vm)
{
    Modvirt__DomainEventRebootMsg msg = MODVIRT__DOMAIN_EVENT_REBOOT_MSG__INIT;

    /* The guest rebooted by itself: a reboot asked for is done (libvirt). */
    pthread_mutex_lock(&vm->lock);
    if (!vm->paused_shutdown)
        vm->fake_reboot = false;
    pthread_mutex_unlock(&vm->lock);
    emit_event(vm, VIR_DOMAIN_EVENT_ID_REBOOT, MV_PROC_DOMAIN_EVENT_REBOOT, &msg.base, &msg.dom);
}

/* QMP RTC_CHANGE: the guest set its clock; offset is its distance in seconds from the
 * RTC's base. With <clock offset='variable'> the base was UTC plus the adjustment the guest
 * started with (qemu_command.c's -rtc base=DATE), which libvirt adds back so the event says
 * how far from UTC the guest's clock now is. */
static void on_rtc_change(qemu_vm *vm, json_object *data)
{
    Modvirt__DomainEventRtcChangeMsg msg = MODVIRT__DOMAIN_EVENT_RTC_CHANGE_MSG__INIT;
    qemu_domsnap *snap;
    json_object *offset;

    if (!data || !json_object_object_get_ex(data, "offset", &offset))
        return;
    msg.utc_offset = json_object_get_int64(offset);
    if ((snap = qemu_domobj_snapshot(vm->obj))) {
        const mv_domain_clock *clk = snap->def->clock;
        if (clk && clk->offset && strcmp(clk->offset, "variable") == 0 && clk->adjustment &&
            strcmp(clk->adjustment, "reset") != 0)
            msg.utc_offset += strtoll(clk->adjustment, NULL, 10);
        qemu_domsnap_unref(snap);
    }
    emit_event(vm, VIR_DOMAIN_EVENT_ID_RTC_CHANGE, MV_PROC_DOMAIN_EVENT_RTC_CHANGE, &msg.base,
               &msg.dom);
}

/* QMP WATCHDOG: the action QEMU took, in libvirt's virDomainEventWatchdogAction. */
static void on_watchdog(qemu_vm *vm, json_object *data)
{
    static const char *const actions[] = {
        [VIR_DOMAIN_EVENT_WATCHDOG_NONE] = "none",
        [VIR_DOMAIN_EVENT_WATCHDOG_PAUSE] = "pause",
        [VIR_DOMAIN_EVENT_WATCHDOG_RESET] = "reset",
        [VIR_DOMAIN_EVENT_WATCHDOG_POWEROFF] = "poweroff",
        [VIR_DOMAIN_EVENT_WATCHDOG_SHUTDOWN] = "shutdown",
        [VIR_DOMAIN_EVENT_WATCHDOG_DEBUG] = "debug",
        [VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI] = "inject-nmi",
    };
    Modvirt__DomainEventWatchdogMsg msg = MODVIRT__DOMAIN_EVENT_WATCHDOG_MSG__INIT;
    json_object *action;
    const char *word;

    if (!data || !json_object_object_get_ex(data, "action", &action))
        return;
    word = json_object_get_string(action);
    /* an action this table does not know is none, as libvirt's monitor reads it */
    msg.action = VIR_DOMAIN_EVENT_WATCHDOG_NONE;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (word && strcmp(word, actions[i]) == 0)
            msg.action = (int32_t)i;
    emit_event(vm, VIR_DOMAIN_EVENT_ID_WATCHDOG, MV_PROC_DOMAIN_EVENT_WATCHDOG, &msg.base,
               &msg.dom);
}

/* QMP BALLOON_CHANGE (actual in bytes): remembered here, published by a thread that
 * takes the job (QEMU_WORK_BALLOON). */
static void on_balloon_change(qemu_vm *vm, json_object *data)
{
    json_object *actual;

    if (!data || !json_object_object_get_ex(data, "actual", &actual))
        return;
    pthread_mutex_lock(&vm->lock);
    vm->balloon_kib = (unsigned long long)json_object_get_int64(actual) / 1024;
    pthread_mutex_unlock(&vm->lock);
    qemu_vm_start_work(vm, QEMU_WORK_BALLOON);
}

/* Under the job: the guest's current memory becomes what the balloon left it, in the live
 * definition (GetInfo's memory, the live XML's currentMemory, the status file), then the
 * event — as libvirt does, so a program told of the change reads the new size. Each thread
 * claims the latest value, so threads that run in any order publish the last one last; one
 * that finds nothing left to claim has nothing to say. */
static void publish_balloon(qemu_vm *vm)
{
    qemu_state *s = vm->runs->s;
    qemu_domsnap *old = qemu_domobj_snapshot(vm->obj), *snap = NULL;
    Modvirt__DomainEventBalloonChangeMsg msg = MODVIRT__DOMAIN_EVENT_BALLOON_CHANGE_MSG__INIT;
    mv_error err = MV_ERROR_INIT;
    unsigned long long kib;

    pthread_mutex_lock(&vm->lock);
    kib = vm->balloon_kib;
    vm->balloon_kib = 0;
    pthread_mutex_unlock(&vm->lock);
    if (!old || !kib)
        goto cleanup;
    if (!(snap = qemu_domsnap_copy(old, &err)))
        goto cleanup;
    snap->def->current_memory_kib = kib;
    if (qemu_vm_write_status(vm, snap, &err) < 0) {
        MV_WARN("domain '%s': %s", vm->name, err.message);
        mv_error_clear(&err);
    }
    qemu_domlist_publish(s->doms, vm->obj, snap);
    MV_DEBUG("domain '%s': balloon now leaves it %llu KiB", vm->name, kib);
    msg.actual = kib;
    emit_event(vm, VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE, MV_PROC_DOMAIN_EVENT_BALLOON_CHANGE,
               &msg.base, &msg.dom);

cleanup:
    if (mv_error_is_set(&err))
        MV_WARN("domain '%s': balloon change not published: %s", vm->name, err.message);
    mv_error_clear(&err);
    qemu_domsnap_unref(old);
}

/* ---- a thread per piece of work -------------------------------------------------------- */

typedef struct work_arg {
    qemu_vm *vm;
    qemu_vm_work what;
} work_arg;

static void *work_main(void *opaque)
{
    work_arg *w = opaque;
    qemu_vm *vm = w->vm;
    mv_error err = MV_ERROR_INIT;
    qemu_vm *cur;

    if (w->what == QEMU_WORK_POWEROFF) {
        poweroff(vm);
        goto cleanup;
    }
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
        switch (w->what) {
        case QEMU_WORK_STOP:
            stop_run(vm);
            break;
        case QEMU_WORK_SYNC:
            sync_state(vm);
            break;
        case QEMU_WORK_PANIC:
            handle_panic(vm);
            break;
        case QEMU_WORK_ATTACH:
            attach_monitor(vm);
            break;
        case QEMU_WORK_FAKE_REBOOT:
            fake_reboot(vm);
            break;
        case QEMU_WORK_AUTODESTROY:
            autodestroy(vm);
            break;
        case QEMU_WORK_BALLOON:
            publish_balloon(vm);
            break;
        case QEMU_WORK_POWEROFF:
            break;
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

void qemu_vm_start_work(qemu_vm *vm, qemu_vm_work what)
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

/* The process is gone (pidfd) or its monitor is (EOF): shut the domain off, once. */
static void trigger_stop(qemu_vm *vm)
{
    bool first;

    pthread_mutex_lock(&vm->lock);
    first = !vm->death_seen;
    vm->death_seen = true;
    pthread_mutex_unlock(&vm->lock);
    if (first)
        qemu_vm_start_work(vm, QEMU_WORK_STOP);
}

/* ---- monitor callbacks (loop thread) --------------------------------------------------- */

/* libvirt's SHUTDOWN event detail for QMP's SHUTDOWN "guest" member. */
static int shutdown_detail(json_object *data)
{
    json_object *guest;

    if (!data || !json_object_object_get_ex(data, "guest", &guest))
        return VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED;
    return json_object_get_boolean(guest) ? VIR_DOMAIN_EVENT_SHUTDOWN_GUEST
                                          : VIR_DOMAIN_EVENT_SHUTDOWN_HOST;
}

/* QMP SHUTDOWN: QEMU stopped the guest and waits (-no-shutdown). A reboot that is due
 * (or on_poweroff restart) becomes a reset in place without any event; otherwise the
 * SHUTDOWN lifecycle event, and the daemon ends the process. */
static void on_shutdown(qemu_vm *vm, json_object *data)
{
    json_object *why = NULL;
    qemu_domsnap *snap;
    bool reboot, ignore;

    /* A panic's power-off is GUEST_PANICKED's business (on_crash). */
    if (data && json_object_object_get_ex(data, "reason", &why) &&
        strcmp(json_object_get_string(why), "guest-panic") == 0)
        return;
    reboot = restarts_on_poweroff(vm);
    pthread_mutex_lock(&vm->lock);
    /* Ours (a destroy's or our own SIGTERM makes QEMU say SHUTDOWN too), or a repeat. */
    ignore = vm->death_seen || vm->destroying || vm->guest_shutdown || vm->paused_shutdown;
    if (!ignore) {
        reboot = reboot || vm->fake_reboot;
        if (reboot)
            vm->paused_shutdown = true;
        else
            vm->guest_shutdown = true;
    }
    pthread_mutex_unlock(&vm->lock);
    if (ignore)
        return;
    if (reboot) {
        qemu_vm_start_work(vm, QEMU_WORK_FAKE_REBOOT);
        return;
    }
    if ((snap = qemu_domobj_snapshot(vm->obj))) {
        qemu_process_emit(vm->runs->s, snap->def, vm->id, VIR_DOMAIN_EVENT_SHUTDOWN,
                          shutdown_detail(data));
        qemu_domsnap_unref(snap);
    }
    qemu_vm_start_work(vm, QEMU_WORK_POWEROFF);
}

static void on_mon_event(qemu_mon *mon, const char *name, json_object *data, void *opaque)
{
    qemu_vm *vm = opaque;

    MV_DEBUG("domain '%s': QMP event %s", vm->name, name);
    if (strcmp(name, "SHUTDOWN") == 0) {
        on_shutdown(vm, data);
    } else if (strcmp(name, "RESET") == 0) {
        on_reset(vm);
    } else if (strcmp(name, "RTC_CHANGE") == 0) {
        on_rtc_change(vm, data);
    } else if (strcmp(name, "WATCHDOG") == 0) {
        on_watchdog(vm, data);
    } else if (strcmp(name, "BALLOON_CHANGE") == 0) {
        on_balloon_change(vm, data);
    } else if (strcmp(name, "STOP") == 0 || strcmp(name, "RESUME") == 0) {
        qemu_vm_start_work(vm, QEMU_WORK_SYNC);
    } else if (strcmp(name, "GUEST_PANICKED") == 0) {
        qemu_vm_start_work(vm, QEMU_WORK_PANIC);
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

void qemu_vm_attach_later(qemu_vm *vm)
{
    qemu_vm_start_work(vm, QEMU_WORK_ATTACH);
}
