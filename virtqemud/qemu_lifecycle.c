/* qemu_lifecycle.c: the lifecycle procedures — create, create XML, shutdown, destroy,
 * reboot, reset, suspend, resume — as jobs on the domain, with libvirt's semantics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <modvirt/modvirt-events.h>
#include "virtqemud/qemu_driver.h"
#include "virtqemud/qemu_process.h"

#define QEMU_CREATE_FLAGS                                                                          \
    (VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_AUTODESTROY | VIR_DOMAIN_START_BYPASS_CACHE |      \
     VIR_DOMAIN_START_FORCE_BOOT)
#define QEMU_CREATE_XML_FLAGS (QEMU_CREATE_FLAGS | VIR_DOMAIN_START_VALIDATE)

/* A job on the domain a call names: the object with its job held and its current
 * snapshot, or -1 with the call's error set. */
typedef struct lc_job {
    qemu_state *s;
    qemu_domobj *obj;
    qemu_domsnap *snap;
} lc_job;

static int job_begin(mv_call *call, const Modvirt__Domain *dom, const char *name, lc_job *j)
{
    const unsigned char *uuid = qemu_handler_uuid(call, dom);
    mv_error *err = mv_call_error(call);

    memset(j, 0, sizeof(*j));
    if (!uuid)
        return -1;
    j->s = qemu_state_of(call);
    if (!(j->obj = qemu_domlist_find_uuid(j->s->doms, uuid))) {
        char str[MV_UUID_STRING_BUFLEN];
        mv_uuid_format(uuid, str);
        mv_error_set(err, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU,
                     "no domain with matching uuid '%s' (%s)", str, dom->name ? dom->name : "");
        return -1;
    }
    if (qemu_domobj_begin_job(j->obj, name, QEMU_JOB_WAIT_MS, err) < 0) {
        qemu_domobj_unref(j->obj);
        j->obj = NULL;
        return -1;
    }
    if (!(j->snap = qemu_domobj_snapshot(j->obj))) {
        mv_error_set(err, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, "domain '%s' is being defined",
                     dom->name ? dom->name : "");
        qemu_domobj_end_job(j->obj);
        qemu_domobj_unref(j->obj);
        j->obj = NULL;
        return -1;
    }
    return 0;
}

static void job_end(lc_job *j)
{
    if (j->obj)
        qemu_domobj_end_job(j->obj);
    qemu_domsnap_unref(j->snap);
    qemu_domobj_unref(j->obj);
}

/* libvirt's check before anything that needs a live guest. */
static int require_active(lc_job *j, mv_error *err)
{
    if (qemu_domsnap_is_active(j->snap))
        return 0;
    mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, "domain is not running");
    return -1;
}

/* ---- start ----------------------------------------------------------------------------- */

/* VIR_DOMAIN_START_AUTODESTROY: the guest just started goes when the calling connection
 * closes; should that fail, so does the start (the guest is destroyed again). */
static int start_autodestroy(mv_call *call, qemu_state *s, qemu_domobj *obj, unsigned int flags)
{
    mv_error *err = mv_call_error(call);
    mv_error ignored = MV_ERROR_INIT;

    if (!(flags & VIR_DOMAIN_START_AUTODESTROY) ||
        qemu_process_set_autodestroy(s, obj, qemu_connect_id(call), err) == 0)
        return 0;
    qemu_process_destroy(s, obj, false, &ignored);
    mv_error_clear(&ignored);
    return -1;
}

int qemu_proc_domain_create(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                            Modvirt__DomainRet *ret)
{
    mv_error *err = mv_call_error(call);
    lc_job j;
    int rc = -1;

    if (qemu_check_flags(args->flags, QEMU_CREATE_FLAGS, "virDomainCreateWithFlags", err) < 0 ||
        job_begin(call, args->dom, "start", &j) < 0)
        return -1;
    if (qemu_domsnap_is_active(j.snap)) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, "domain is already running");
        goto cleanup;
    }
    if (qemu_process_start(j.s, j.obj, j.snap, qemu_domsnap_inactive_def(j.snap), args->flags,
                           err) < 0 ||
        start_autodestroy(call, j.s, j.obj, args->flags) < 0)
        goto cleanup;
    rc = qemu_handler_reply_domain(call, qemu_domobj_snapshot(j.obj), ret);

cleanup:
    job_end(&j);
    return rc;
}

int qemu_proc_domain_create_xml(mv_call *call, const Modvirt__DomainDefineArgs *args,
                                Modvirt__DomainRet *ret)
{
    mv_error *err = mv_call_error(call);
    qemu_state *s = qemu_state_of(call);
    mv_domain_def *def = NULL;
    qemu_domobj *obj = NULL;
    qemu_domsnap *old = NULL;
    bool created = false, started = false;
    int rc = -1;

    if (qemu_check_flags(args->flags, QEMU_CREATE_XML_FLAGS, "virDomainCreateXML", err) < 0)
        return -1;
    if (!(def = qemu_domain_parse(
              args->xml,
              (args->flags & VIR_DOMAIN_START_VALIDATE) ? MV_DOMAIN_DEF_PARSE_VALIDATE : 0, err)) ||
        qemu_domain_validate(def, err) < 0)
        goto cleanup;
    if (!(obj = qemu_domlist_add_job(s->doms, def->name, def->uuid, "start", QEMU_JOB_WAIT_MS,
                                     &created, err)))
        goto cleanup;
    old = qemu_domobj_snapshot(obj);
    /* An existing inactive domain runs the given XML; its definition waits for the next
     * boot. A running one is libvirt's "already active". */
    if (old && qemu_domsnap_is_active(old)) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, "domain '%s' is already active",
                     def->name);
        goto cleanup;
    }
    if (qemu_process_start(s, obj, old, def, args->flags & ~VIR_DOMAIN_START_VALIDATE, err) < 0)
        goto cleanup;
    started = true;
    if (start_autodestroy(call, s, obj, args->flags) < 0)
        goto cleanup;
    rc = qemu_handler_reply_domain(call, qemu_domobj_snapshot(obj), ret);

cleanup:
    if (obj) {
        if (created && !started)
            qemu_domlist_remove(s->doms, obj);
        qemu_domobj_end_job(obj);
    }
    qemu_domsnap_unref(old);
    qemu_domobj_unref(obj);
    mv_domain_def_free(def);
    return rc;
}

/* ---- stop ------------------------------------------------------------------------------ */

/* The modes of a shutdown or reboot, as libvirt's QEMU driver takes them: the ACPI power
 * button and the guest agent (the two calls' flags have the same values). There is no
 * agent here: asking for it alone fails as libvirt does without one; with the button too
 * it falls back to the button. Checked in two steps, as libvirt: the flags before
 * anything, the agent once the domain is known to run. */
_Static_assert((int)VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN == (int)VIR_DOMAIN_REBOOT_ACPI_POWER_BTN &&
                   (int)VIR_DOMAIN_SHUTDOWN_GUEST_AGENT == (int)VIR_DOMAIN_REBOOT_GUEST_AGENT,
               "shutdown and reboot modes share their values");
#define QEMU_ACPI_MODES (VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN | VIR_DOMAIN_SHUTDOWN_GUEST_AGENT)

static int agent_only(unsigned int flags, mv_error *err)
{
    if (flags != VIR_DOMAIN_SHUTDOWN_GUEST_AGENT)
        return 0;
    mv_error_set(err, VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_FROM_QEMU,
                 "QEMU guest agent is not configured");
    return -1;
}

int qemu_proc_domain_shutdown(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                              Modvirt__Empty *ret)
{
    mv_error *err = mv_call_error(call);
    lc_job j;
    int rc = -1;

    if (qemu_check_flags(args->flags, QEMU_ACPI_MODES, "virDomainShutdownFlags", err) < 0 ||
        job_begin(call, args->dom, "shutdown", &j) < 0)
        return -1;
    if (require_active(&j, err) < 0 || agent_only(args->flags, err) < 0)
        goto cleanup;
    /* Returns once the button is pressed, as libvirt does; the guest decides. A reboot
     * that was due is not any more (on_poweroff='restart' still makes it one). */
    rc = qemu_process_powerdown(j.s, j.obj, false, err);

cleanup:
    job_end(&j);
    return rc;
}

int qemu_proc_domain_destroy(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                             Modvirt__Empty *ret)
{
    mv_error *err = mv_call_error(call);
    const unsigned char *uuid = qemu_handler_uuid(call, args->dom);
    bool killed;
    lc_job j;
    int rc = -1;

    if (!uuid ||
        qemu_check_flags(args->flags, VIR_DOMAIN_DESTROY_GRACEFUL | VIR_DOMAIN_DESTROY_REMOVE_LOGS,
                         "virDomainDestroyFlags", err) < 0)
        return -1;
    killed = qemu_process_destroy_begin(qemu_state_of(call), uuid);
    if (job_begin(call, args->dom, "destroy", &j) < 0)
        return -1;
    if (qemu_domsnap_is_active(j.snap))
        rc = qemu_process_destroy(j.s, j.obj, args->flags & VIR_DOMAIN_DESTROY_GRACEFUL, err);
    else if (killed)
        rc = 0; /* the death we caused was handled while we waited for the job */
    else
        require_active(&j, err);
    if (rc == 0 && (args->flags & VIR_DOMAIN_DESTROY_REMOVE_LOGS))
        qemu_process_remove_log(j.s, j.snap->def->name);
    job_end(&j);
    return rc;
}

/* ---- reboot and reset ------------------------------------------------------------------ */

/* An on_reboot action that ends the guest makes a reboot a shutdown (libvirt). */
static bool reboot_ends(const mv_domain_def *def)
{
    return def->on_reboot &&
           (strcmp(def->on_reboot, "destroy") == 0 || strcmp(def->on_reboot, "preserve") == 0);
}

/* libvirt's ACPI reboot: the power button, with a mark that turns the guest's power-off
 * into a reset in place (QEMU runs with -no-shutdown). The call returns once the button
 * is pressed; a guest that ignores it keeps running. No guest agent here: asking only
 * for it fails as libvirt does without one; initctl, signal and paravirt modes are not
 * the QEMU driver's. */
int qemu_proc_domain_reboot(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                            Modvirt__Empty *ret)
{
    mv_error *err = mv_call_error(call);
    lc_job j;
    int rc = -1;

    if (qemu_check_flags(args->flags, QEMU_ACPI_MODES, "virDomainReboot", err) < 0 ||
        job_begin(call, args->dom, "reboot", &j) < 0)
        return -1;
    if (require_active(&j, err) < 0 || agent_only(args->flags, err) < 0)
        goto cleanup;
    rc = qemu_process_powerdown(j.s, j.obj, !reboot_ends(j.snap->def), err);

cleanup:
    job_end(&j);
    return rc;
}

int qemu_proc_domain_reset(mv_call *call, const Modvirt__DomainFlagsArgs *args, Modvirt__Empty *ret)
{
    mv_error *err = mv_call_error(call);
    lc_job j;
    int rc = -1;

    if (qemu_check_flags(args->flags, 0, "virDomainReset", err) < 0 ||
        job_begin(call, args->dom, "reset", &j) < 0)
        return -1;
    if (require_active(&j, err) == 0)
        rc = qemu_process_reset(j.s, j.obj, err);
    job_end(&j);
    return rc;
}

/* ---- suspend and resume ---------------------------------------------------------------- */

int qemu_proc_domain_suspend(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                             Modvirt__Empty *ret)
{
    mv_error *err = mv_call_error(call);
    lc_job j;
    int rc = -1;

    if (qemu_check_flags(args->flags, 0, "virDomainSuspend", err) < 0 ||
        job_begin(call, args->dom, "suspend", &j) < 0)
        return -1;
    if (require_active(&j, err) < 0)
        goto cleanup;
    if (j.snap->state == VIR_DOMAIN_PAUSED) {
        rc = 0; /* already paused: nothing to do, as in libvirt */
        goto cleanup;
    }
    if (qemu_process_command(j.s, j.obj, "stop", NULL, NULL, err) < 0 ||
        qemu_process_set_state(j.s, j.obj, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER, err) < 0)
        goto cleanup;
    qemu_process_emit(j.s, j.snap->def, j.snap->id, VIR_DOMAIN_EVENT_SUSPENDED,
                      VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
    rc = 0;

cleanup:
    job_end(&j);
    return rc;
}

int qemu_proc_domain_resume(mv_call *call, const Modvirt__DomainFlagsArgs *args,
                            Modvirt__Empty *ret)
{
    mv_error *err = mv_call_error(call);
    lc_job j;
    int rc = -1;

    if (qemu_check_flags(args->flags, 0, "virDomainResume", err) < 0 ||
        job_begin(call, args->dom, "resume", &j) < 0)
        return -1;
    if (require_active(&j, err) < 0)
        goto cleanup;
    /* libvirt resumes paused guests and panicked ones kept by on_crash='preserve'. */
    if (j.snap->state != VIR_DOMAIN_PAUSED &&
        !(j.snap->state == VIR_DOMAIN_CRASHED && j.snap->reason == VIR_DOMAIN_CRASHED_PANICKED)) {
        rc = 0;
        goto cleanup;
    }
    if (qemu_process_command(j.s, j.obj, "cont", NULL, NULL, err) < 0 ||
        qemu_process_set_state(j.s, j.obj, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_UNPAUSED, err) <
            0)
        goto cleanup;
    qemu_process_emit(j.s, j.snap->def, j.snap->id, VIR_DOMAIN_EVENT_RESUMED,
                      VIR_DOMAIN_EVENT_RESUMED_UNPAUSED);
    rc = 0;

cleanup:
    job_end(&j);
    return rc;
}
