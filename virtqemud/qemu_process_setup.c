/* qemu_process_setup.c: what a start adds around the command builder — which emulator
 * runs the guest, the host-side builder parameters, and what a started QEMU is told or
 * given before its vCPUs first run (host CPU pinning). */
#include <stdlib.h>
#include "common/error.h"
#include "virtqemud/qemu_caps.h"
#include "virtqemud/qemu_process_internal.h"

qemu_caps *qemu_process_setup_caps(qemu_runs *runs, const mv_domain_def *def, mv_error *err)
{
    qemu_state *s = runs->s;

    (void)def;
    if (!s->binary) {
        mv_error_set_raw(err, s->probe_err.code ? s->probe_err.code : VIR_ERR_INTERNAL_ERROR,
                         VIR_FROM_QEMU,
                         s->probe_err.message ? s->probe_err.message : "no QEMU binary found");
        return NULL;
    }
    return qemu_caps_get(s->binary, runs->cache_dir, err);
}

void qemu_process_setup_params(qemu_runs *runs, qemu_command_params *p)
{
    p->nvram_dir = runs->nvram_dir;
    p->flags |= QEMU_COMMAND_APPLIES_AFFINITY;
}

int qemu_process_setup_live(qemu_vm *vm, const mv_domain_def *live, mv_error *err)
{
    /* Every vCPU thread exists once QMP answers, and none has run guest code yet. */
    if (qemu_command_apply_affinity(live, vm->pid, err) < 0) {
        mv_error_prefix(err, "domain '%s': ", vm->name);
        return -1;
    }
    return 0;
}
