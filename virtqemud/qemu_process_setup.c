/* qemu_process_setup.c: what a start adds around the command builder — which emulator
 * runs the guest, the host-side builder parameters, and what a started QEMU is told or
 * given before its vCPUs first run (host CPU pinning, display passwords, the balloon). */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/domain/domain_validate.h"
#include "common/error.h"
#include "virtqemud/qemu_caps.h"
#include "virtqemud/qemu_process_internal.h"
#include "common/str.h"

/* The balloon device's QOM path: the builder names it balloon0. */
#define QEMU_BALLOON_PATH "/machine/peripheral/balloon0"

qemu_caps *qemu_process_setup_caps(qemu_runs *runs, const mv_domain_def *def, mv_error *err)
{
    /* The binary the definition names (libvirt runs exactly that), else the configured
     * one: definitions from before <emulator> was filled in at define, transient ones. */
    return qemu_emulator_caps(runs->s, def->emulator, runs->cache_dir, err);
}

void qemu_process_setup_params(qemu_runs *runs, qemu_command_params *p)
{
    p->nvram_dir = runs->nvram_dir;
    p->flags |= QEMU_COMMAND_APPLIES_AFFINITY;
}

/* Runs cmd with args (consumed) on vm's monitor, discarding the reply. */
static int command(qemu_vm *vm, const char *cmd, json_object *args, mv_error *err)
{
    int rc = -1;

    if (!args)
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot build QMP '%s'", cmd);
    else
        rc = qemu_mon_command(vm->mon, cmd, args, QEMU_MONITOR_COMMAND_MS, NULL, err);
    json_object_put(args);
    return rc;
}

/* A JSON object of string members: pairs of key and value, NULL values skipped, ending
 * at a NULL key. NULL when out of memory. */
static json_object *strings(const char *key, ...)
{
    json_object *o = json_object_new_object();
    va_list ap;

    va_start(ap, key);
    for (const char *k = key; o && k; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        json_object *jv = v ? json_object_new_string(v) : NULL;

        if (v && (!jv || json_object_object_add(o, k, jv) < 0)) {
            json_object_put(jv);
            json_object_put(o);
            o = NULL;
        }
    }
    va_end(ap);
    return o;
}

/* A VNC or SPICE password: libvirt hands it to QEMU over QMP once it runs (its command
 * line only says password=on, so `ps` never shows it), then says when it expires: at
 * passwdValidTo, at once when that has passed or the password is empty, else never. */
static int set_password(qemu_vm *vm, const mv_domain_graphics *g, mv_error *err)
{
    const char *proto = g->type;
    char when[32] = "never";
    time_t valid_to = 0;

    if (!g->passwd || (!mv_streq(proto, "vnc") && !mv_streq(proto, "spice")))
        return 0;
    if (g->passwd_valid_to && mv_graphics_valid_to(g->passwd_valid_to, &valid_to, err) < 0)
        return -1;
    if (command(vm, "set_password",
                strings("protocol", proto, "password", g->passwd, "connected", g->connected, NULL),
                err) < 0) {
        mv_error_prefix(err, "cannot set the %s password: ", proto);
        return -1;
    }
    if (!g->passwd[0] || (g->passwd_valid_to && valid_to <= time(NULL)))
        snprintf(when, sizeof(when), "now");
    else if (g->passwd_valid_to)
        snprintf(when, sizeof(when), "%lld", (long long)valid_to);
    if (command(vm, "expire_password", strings("protocol", proto, "time", when, NULL), err) < 0) {
        mv_error_prefix(err, "cannot set when the %s password expires: ", proto);
        return -1;
    }
    return 0;
}

/* The guest's RAM as libvirt counts it: with NUMA cells, their sum. */
static unsigned long long total_kib(const mv_domain_def *def)
{
    unsigned long long sum = 0;

    for (size_t i = 0; def->cpu && i < def->cpu->ncells; i++)
        sum += def->cpu->cells[i].memory_kib;
    return sum ? sum : def->memory_kib;
}

static bool has_balloon(const mv_domain_def *def)
{
    return def->memballoon && def->memballoon->model && !mv_streq(def->memballoon->model, "none");
}

int qemu_process_setup_def(const qemu_caps *caps, mv_domain_def *live, mv_error *err)
{
    if (!live->emulator && !(live->emulator = strdup(caps->binary))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot start domain '%s'", live->name);
        return -1;
    }
    /* libvirt: without a balloon the guest always has all of its memory. */
    if (!has_balloon(live))
        live->current_memory_kib = total_kib(live);
    return 0;
}

/* With a balloon, libvirt sets its target to <currentMemory> before the vCPUs run (so
 * the guest's driver gives the rest back as it loads), and the stats period. */
static int set_balloon(qemu_vm *vm, const mv_domain_def *live, mv_error *err)
{
    const mv_domain_memballoon *b = live->memballoon;
    unsigned long long total = total_kib(live), target = live->current_memory_kib;
    json_object *args;

    if (!has_balloon(live))
        return 0;
    if (b->stats_period > 0) {
        args = strings("path", QEMU_BALLOON_PATH, "property", "guest-stats-polling-interval", NULL);
        if (args && json_object_object_add(args, "value", json_object_new_int(b->stats_period)))
            args = (json_object_put(args), NULL);
        if (command(vm, "qom-set", args, err) < 0) {
            mv_error_prefix(err, "cannot set the memballoon stats period: ");
            return -1;
        }
    }
    if (!target || target > total)
        target = total;
    args = json_object_new_object();
    if (args &&
        json_object_object_add(args, "value", json_object_new_int64((int64_t)target * 1024)))
        args = (json_object_put(args), NULL);
    if (command(vm, "balloon", args, err) < 0) {
        mv_error_prefix(err, "cannot set the balloon to %llu KiB: ", target);
        return -1;
    }
    return 0;
}

int qemu_process_setup_live(qemu_vm *vm, const mv_domain_def *live, mv_error *err)
{
    /* Every vCPU thread exists once QMP answers, and none has run guest code yet. */
    int rc = qemu_command_apply_affinity(live, vm->pid, err);

    for (size_t i = 0; rc == 0 && i < live->ngraphics; i++)
        rc = set_password(vm, &live->graphics[i], err);
    if (rc == 0)
        rc = set_balloon(vm, live, err);
    if (rc < 0)
        mv_error_prefix(err, "domain '%s': ", vm->name);
    return rc;
}
