/* cmd_life.c: start, create, shutdown, destroy, reboot, reset, suspend, resume — the
 * lifecycle commands, with virsh's messages. */
#include "cli/vmctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The success line, or in JSON mode {"name": ..., key: true}. */
static void report(vmctl_ctx *ctx, const char *name, const char *key, const char *fmt)
{
    if (ctx->json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "name", json_object_new_string(name));
        json_object_object_add(doc, key, json_object_new_boolean(1));
        vmctl_json_emit(ctx, doc);
    } else {
        fprintf(ctx->out, fmt, name);
        fputc('\n', ctx->out);
    }
}

/* virsh's --mode words for shutdown and reboot, in the order of the flag bits. */
static const char *const mode_words[] = {"acpi", "agent", "initctl", "signal", "paravirt"};

/* "acpi,agent" -> flag bits (bit i for mode_words[i]); -1 after printing virsh's error. */
static int parse_modes(vmctl_ctx *ctx, const char *modes, unsigned int *flags)
{
    *flags = 0;
    if (!modes)
        return 0;
    char *copy = strdup(modes);
    int rc = 0;
    if (!copy) {
        vmctl_error(ctx, "out of memory");
        return -1;
    }
    char *save = NULL;
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < sizeof(mode_words) / sizeof(mode_words[0]) && strcmp(w, mode_words[i]) != 0)
            i++;
        if (i == sizeof(mode_words) / sizeof(mode_words[0])) {
            vmctl_error(ctx, "Unknown mode %s value, expecting 'acpi', 'agent', 'initctl', "
                             "'signal' or 'paravirt'", w);
            rc = -1;
            break;
        }
        *flags |= 1u << i;
    }
    free(copy);
    return rc;
}

int vmctl_cmd_start(vmctl_ctx *ctx, const vmctl_args *args)
{
    unsigned int flags = 0;
    if (vmctl_arg_bool(args, "paused"))
        flags |= VIR_DOMAIN_START_PAUSED;
    if (vmctl_arg_bool(args, "autodestroy"))
        flags |= VIR_DOMAIN_START_AUTODESTROY;
    if (vmctl_arg_bool(args, "bypass-cache"))
        flags |= VIR_DOMAIN_START_BYPASS_CACHE;
    if (vmctl_arg_bool(args, "force-boot"))
        flags |= VIR_DOMAIN_START_FORCE_BOOT;
    if (vmctl_arg_bool(args, "reset-nvram"))
        flags |= VIR_DOMAIN_START_RESET_NVRAM;
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    if (!dom)
        return -1;
    const char *name = virDomainGetName(dom);
    int rc = -1;
    /* virsh refuses a running domain itself, before asking the hypervisor. */
    if (virDomainGetID(dom) != (unsigned int)-1) {
        vmctl_error(ctx, "Domain is already active");
        goto cleanup;
    }
    if ((flags ? virDomainCreateWithFlags(dom, flags) : virDomainCreate(dom)) < 0) {
        vmctl_error(ctx, "Failed to start domain '%s'", name);
        goto cleanup;
    }
    report(ctx, name, "started", "Domain '%s' started");
    fflush(ctx->out);
    rc = 0;
    if (vmctl_arg_bool(args, "console") && vmctl_console_run(ctx, dom, NULL, 0) != 0)
        rc = -1;
cleanup:
    virDomainFree(dom);
    return rc;
}

int vmctl_cmd_create(vmctl_ctx *ctx, const vmctl_args *args)
{
    const char *file = vmctl_arg_str(args, "file");
    unsigned int flags = 0;
    if (vmctl_arg_bool(args, "paused"))
        flags |= VIR_DOMAIN_START_PAUSED;
    if (vmctl_arg_bool(args, "autodestroy"))
        flags |= VIR_DOMAIN_START_AUTODESTROY;
    if (vmctl_arg_bool(args, "validate"))
        flags |= VIR_DOMAIN_START_VALIDATE;
    virDomainPtr dom = vmctl_domain_from_file(ctx, file, flags, true);
    if (!dom)
        return -1;
    fflush(ctx->out);
    int rc = 0;
    if (vmctl_arg_bool(args, "console") && vmctl_console_run(ctx, dom, NULL, 0) != 0)
        rc = -1;
    virDomainFree(dom);
    return rc;
}

/* One call on the domain with flags, then virsh's line: the shape of shutdown, reboot,
 * destroy, reset, suspend and resume. */
typedef int (*domain_call)(virDomainPtr dom, unsigned int flags);

static int act(vmctl_ctx *ctx, const vmctl_args *args, domain_call call, unsigned int flags,
               const char *fail_fmt, const char *key, const char *ok_fmt)
{
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    if (!dom)
        return -1;
    const char *name = virDomainGetName(dom);
    int rc = call(dom, flags);
    if (rc < 0)
        vmctl_error(ctx, fail_fmt, name);
    else
        report(ctx, name, key, ok_fmt);
    virDomainFree(dom);
    return rc;
}

/* The plain libvirt call when no flag is given, as virsh does. */
static int shutdown_call(virDomainPtr dom, unsigned int flags)
{
    return flags ? virDomainShutdownFlags(dom, flags) : virDomainShutdown(dom);
}

static int destroy_call(virDomainPtr dom, unsigned int flags)
{
    return flags ? virDomainDestroyFlags(dom, flags) : virDomainDestroy(dom);
}

static int suspend_call(virDomainPtr dom, unsigned int flags)
{
    (void)flags;
    return virDomainSuspend(dom);
}

static int resume_call(virDomainPtr dom, unsigned int flags)
{
    (void)flags;
    return virDomainResume(dom);
}

int vmctl_cmd_shutdown(vmctl_ctx *ctx, const vmctl_args *args)
{
    unsigned int flags;
    if (parse_modes(ctx, vmctl_arg_str(args, "mode"), &flags) < 0)
        return -1;
    return act(ctx, args, shutdown_call, flags, "Failed to shutdown domain '%s'", "shutdown",
               "Domain '%s' is being shutdown");
}

int vmctl_cmd_reboot(vmctl_ctx *ctx, const vmctl_args *args)
{
    unsigned int flags;
    if (parse_modes(ctx, vmctl_arg_str(args, "mode"), &flags) < 0)
        return -1;
    return act(ctx, args, virDomainReboot, flags, "Failed to reboot domain '%s'", "rebooted",
               "Domain '%s' is being rebooted");
}

int vmctl_cmd_destroy(vmctl_ctx *ctx, const vmctl_args *args)
{
    unsigned int flags = 0;
    if (vmctl_arg_bool(args, "graceful"))
        flags |= VIR_DOMAIN_DESTROY_GRACEFUL;
    if (vmctl_arg_bool(args, "remove-logs"))
        flags |= VIR_DOMAIN_DESTROY_REMOVE_LOGS;
    return act(ctx, args, destroy_call, flags, "Failed to destroy domain '%s'", "destroyed",
               "Domain '%s' destroyed");
}

int vmctl_cmd_reset(vmctl_ctx *ctx, const vmctl_args *args)
{
    return act(ctx, args, virDomainReset, 0, "Failed to reset domain '%s'", "reset",
               "Domain '%s' was reset");
}

int vmctl_cmd_suspend(vmctl_ctx *ctx, const vmctl_args *args)
{
    return act(ctx, args, suspend_call, 0, "Failed to suspend domain '%s'", "suspended",
               "Domain '%s' suspended");
}

int vmctl_cmd_resume(vmctl_ctx *ctx, const vmctl_args *args)
{
    return act(ctx, args, resume_call, 0, "Failed to resume domain '%s'", "resumed",
               "Domain '%s' resumed");
}
