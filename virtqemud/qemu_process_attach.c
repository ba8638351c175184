/* qemu_process_attach.c: the runs' life with the daemon — re-attaching to guests that
 * outlived the previous daemon (or noticing they died), autostart once per host boot,
 * and opening and closing the runs in the driver's init and shutdown. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <modvirt/modvirt-events.h>
#include "common/daemon/daemon.h"
#include "common/log.h"
#include "common/store.h"
#include "virtqemud/qemu_process_internal.h"

/* ---- re-attach after a daemon restart ------------------------------------------------- */

/* The snapshot a status file describes, taking st->def; persistent (with the definition
 * file's next-boot definition and autostart) when `defined`, the object's snapshot from
 * before, says so. pid 0 for a guest that died. NULL on failure (err set when not ENOMEM). */
static qemu_domsnap *status_snapshot(qemu_status *st, int pid, const qemu_domsnap *defined,
                                     mv_error *err)
{
    qemu_domsnap *snap = qemu_domsnap_new(st->def);

    if (!snap)
        return NULL;
    st->def = NULL;
    snap->id = st->id;
    snap->pid = pid;
    snap->state = st->state;
    snap->reason = st->reason;
    snap->persistent = defined && defined->persistent;
    snap->autostart = snap->persistent && defined->autostart;
    if (snap->persistent && !(snap->newdef = mv_domain_def_copy(defined->def, err))) {
        qemu_domsnap_unref(snap);
        return NULL;
    }
    return snap;
}

/* One NAME.xml of the run folder: the guest runs on (re-attach) or died meanwhile. */
static void reattach_one(qemu_runs *runs, const char *name, const char *path)
{
    qemu_state *s = runs->s;
    qemu_status st;
    mv_error err = MV_ERROR_INIT;
    qemu_domobj *obj = NULL;
    qemu_domsnap *old = NULL, *snap = NULL;
    qemu_vm *vm = NULL;
    bool created = false, job = false, alive = false;
    unsigned long long ticks = 0;

    if (qemu_status_read(path, &st, &err) < 0) {
        MV_ERROR("ignoring live status: %s", err.message);
        goto cleanup;
    }
    if (!(obj = qemu_domlist_add_job(s->doms, st.def->name, st.def->uuid, "attach", 0, &created,
                                     &err)))
        goto cleanup;
    job = true;
    old = qemu_domobj_snapshot(obj);
    if (!(vm = qemu_vm_new(runs, obj, st.def->name, st.id))) {
        mv_error_set_errno(&err, ENOMEM, VIR_FROM_QEMU, "cannot re-attach '%s'", name);
        goto cleanup;
    }
    free(vm->mon_path);
    if (!(vm->mon_path = strdup(st.monitor))) {
        mv_error_set_errno(&err, ENOMEM, VIR_FROM_QEMU, "cannot re-attach '%s'", name);
        goto cleanup;
    }
    vm->pid = st.pid;
    vm->start_ticks = st.start_ticks;
    vm->guest_shutdown = st.guest_shutdown;
    vm->fake_reboot = st.fake_reboot;
    /* Same pid and same start time, or it is another process that reused the pid. */
    if ((vm->pidfd = qemu_pidfd_open(st.pid, NULL)) >= 0 &&
        qemu_proc_stat(st.pid, NULL, &ticks) == 0 && ticks == st.start_ticks &&
        qemu_pidfd_alive(vm->pidfd))
        alive = true;
    qemu_runs_add(runs, vm);
    if (!alive) {
        /* It died while no daemon watched: shut it off now, as a crash unless the
         * guest had powered off. */
        MV_INFO("domain '%s' (pid %d) ended while the daemon was away", name, (int)st.pid);
        if (!(snap = status_snapshot(&st, 0, created ? NULL : old, &err)))
            goto cleanup;
        qemu_domlist_publish(s->doms, obj, qemu_domsnap_ref(snap));
        qemu_vm_stop(vm,
                     st.guest_shutdown ? VIR_DOMAIN_SHUTOFF_SHUTDOWN : VIR_DOMAIN_SHUTOFF_CRASHED,
                     st.guest_shutdown ? VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN
                                       : VIR_DOMAIN_EVENT_STOPPED_CRASHED);
        goto cleanup;
    }
    /* Display ports stay taken. */
    for (size_t i = 0; i < st.def->ngraphics; i++) {
        int ports[2] = {st.def->graphics[i].port, st.def->graphics[i].tls_port};
        for (int k = 0; k < 2; k++) {
            int *np;
            if (ports[k] <= 0 || qemu_ports_reserve(runs->ports, ports[k], NULL) < 0 ||
                !(np = realloc(vm->ports, (vm->nports + 1) * sizeof(*np))))
                continue;
            vm->ports = np;
            vm->ports[vm->nports++] = ports[k];
        }
    }
    if (!(snap = status_snapshot(&st, st.pid, created ? NULL : old, &err)))
        goto cleanup;
    qemu_domlist_publish(s->doms, obj, qemu_domsnap_ref(snap));
    qemu_vm_post(vm, qemu_vm_watch);
    /* The monitor on a thread of its own (it waits for our job to end). */
    qemu_vm_attach_later(vm);
    MV_INFO("re-attached to domain '%s': id %d, pid %d", name, st.id, (int)st.pid);

cleanup:
    if (mv_error_is_set(&err))
        MV_ERROR("domain '%s': %s", name, err.message);
    if (created && !snap && obj)
        qemu_domlist_remove(s->doms, obj);
    if (job)
        qemu_domobj_end_job(obj);
    mv_error_clear(&err);
    qemu_status_clear(&st);
    qemu_domsnap_unref(snap);
    qemu_domsnap_unref(old);
    qemu_domobj_unref(obj);
    qemu_vm_unref(vm);
}

static void reattach_all(qemu_runs *runs)
{
    DIR *dir = opendir(runs->dir);
    struct dirent *e;

    if (!dir)
        return;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        char *name, *path;

        if (len <= 4 || strcmp(e->d_name + len - 4, ".xml") != 0 || e->d_name[0] == '.')
            continue;
        if (!(name = strndup(e->d_name, len - 4)))
            break;
        if (asprintf(&path, "%s/%s", runs->dir, e->d_name) >= 0) {
            reattach_one(runs, name, path);
            free(path);
        }
        free(name);
    }
    closedir(dir);
}

/* ---- autostart -------------------------------------------------------------------------- */

static void *autostart_main(void *opaque)
{
    qemu_runs *runs = opaque;
    qemu_state *s = runs->s;
    qemu_domsnap **snaps = NULL;
    size_t count = 0;

    if (qemu_domlist_collect(s->doms, &snaps, &count, NULL) < 0)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        qemu_domobj *obj;
        qemu_domsnap *cur;
        mv_error err = MV_ERROR_INIT;

        if (!snaps[i]->autostart || qemu_domsnap_is_active(snaps[i]))
            continue;
        if (!(obj = qemu_domlist_find_uuid(s->doms, snaps[i]->def->uuid)))
            continue;
        if (qemu_domobj_begin_job(obj, "autostart", QEMU_JOB_WAIT_MS, &err) == 0) {
            cur = qemu_domobj_snapshot(obj);
            if (cur && !qemu_domsnap_is_active(cur) &&
                qemu_process_start(s, obj, cur, qemu_domsnap_inactive_def(cur), 0, &err) < 0)
                MV_ERROR("cannot autostart domain '%s': %s", snaps[i]->def->name, err.message);
            qemu_domsnap_unref(cur);
            qemu_domobj_end_job(obj);
        }
        mv_error_clear(&err);
        qemu_domobj_unref(obj);
    }
    qemu_domsnap_list_free(snaps, count);
    return NULL;
}

/* Autostart runs once per host boot: the marker lives in the run folder, which a boot
 * empties (a tmpfs), as libvirt's does. */
static void autostart_once(qemu_runs *runs)
{
    char *marker = NULL;
    mv_error err = MV_ERROR_INIT;

    if (asprintf(&marker, "%s/autostarted", runs->dir) < 0)
        return;
    if (access(marker, F_OK) == 0) {
        free(marker);
        return;
    }
    if (mv_file_write_atomic(marker, "", 0, 0644, &err) < 0) {
        MV_ERROR("cannot write the autostart marker: %s", err.message);
        mv_error_clear(&err);
    }
    free(marker);
    if (pthread_create(&runs->autostarter, NULL, autostart_main, runs) == 0)
        runs->autostarting = true;
}

/* ---- open and close -------------------------------------------------------------------- */

int qemu_runs_open(qemu_state *s, mv_daemon *d, const mv_paths *paths, mv_error *err)
{
    qemu_runs *runs = calloc(1, sizeof(*runs));

    if (!runs) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot set up guests");
        return -1;
    }
    pthread_mutex_init(&runs->lock, NULL);
    pthread_cond_init(&runs->idle, NULL);
    runs->s = s;
    runs->d = d;
    runs->ml.loop = mv_daemon_loop(d);
    runs->ml.post = qemu_post_to_daemon;
    runs->ml.ctx = d;
    s->runs = runs;
    if (!(runs->dir = mv_path_join(paths->run_dir, "qemu")) ||
        !(runs->log_dir = mv_path_join(paths->log_dir, "qemu")) ||
        !(runs->cache_dir = strdup(paths->cache_dir)) ||
        asprintf(&runs->nvram_dir, "%s/qemu/nvram", paths->state_dir) < 0) {
        runs->nvram_dir = NULL;
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot set up guests");
        return -1;
    }
    if (mv_mkdir_p(runs->dir, 0700, err) < 0 || mv_mkdir_p(runs->log_dir, 0700, err) < 0 ||
        !(runs->ports = qemu_ports_new(QEMU_VNC_PORT_MIN, QEMU_VNC_PORT_MAX, err)))
        return -1;
    reattach_all(runs);
    autostart_once(runs);
    return 0;
}

void qemu_runs_close(qemu_state *s)
{
    qemu_runs *runs = s ? s->runs : NULL;

    if (!runs)
        return;
    if (runs->autostarting)
        pthread_join(runs->autostarter, NULL);
    pthread_mutex_lock(&runs->lock);
    while (runs->workers > 0)
        pthread_cond_wait(&runs->idle, &runs->lock);
    qemu_vm *vms = runs->vms;
    runs->vms = NULL;
    pthread_mutex_unlock(&runs->lock);
    /* On the loop thread, the loop stopped: close at once; the runtime runs the loop
     * once more for the close callbacks. Guests run on. */
    while (vms) {
        qemu_vm *vm = vms;
        vms = vm->next;
        pthread_mutex_lock(&vm->lock);
        vm->death_seen = true;
        pthread_mutex_unlock(&vm->lock);
        qemu_mon_close(vm->mon, true);
        vm->mon = NULL;
        qemu_vm_ref(vm);
        qemu_vm_unwatch(vm);
        qemu_vm_unref(vm);
    }
    qemu_ports_free(runs->ports);
    free(runs->dir);
    free(runs->log_dir);
    free(runs->cache_dir);
    free(runs->nvram_dir);
    pthread_cond_destroy(&runs->idle);
    pthread_mutex_destroy(&runs->lock);
    free(runs);
    s->runs = NULL;
}
