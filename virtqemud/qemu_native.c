/* qemu_native.c: the handlers of virConnectGetCapabilities,
 * virConnectGetDomainCapabilities and virConnectDomainXMLToNative (procedures 27-29).
 * All three are JOB procedures: a first capability probe may take a second or two. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "virtqemud/qemu_command.h"
#include "virtqemud/qemu_driver.h"

/* The format name virsh passes for a QEMU command line. */
#define QEMU_NATIVE_ARGV "qemu-argv"

int qemu_emulator_check(const char *path, mv_error *err)
{
    struct stat st;

    if (path[0] != '/') {
        mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                     "emulator '%s' is not an absolute path", path);
        return -1;
    }
    /* libvirt's words for the same two checks. */
    if (stat(path, &st) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "Cannot check QEMU binary %s", path);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
        mv_error_set_errno(err, S_ISREG(st.st_mode) ? errno : EACCES, VIR_FROM_QEMU,
                           "QEMU binary %s is not executable", path);
        return -1;
    }
    return 0;
}

qemu_caps *qemu_emulator_caps(const qemu_state *s, const char *emulator, const char *cache_dir,
                              mv_error *err)
{
    const char *binary = emulator && *emulator ? emulator : s->binary;

    if (!binary) {
        mv_error_set(err, s->probe_err.code ? s->probe_err.code : VIR_ERR_CONFIG_UNSUPPORTED,
                     VIR_FROM_QEMU, "no QEMU binary is available: %s",
                     s->probe_err.message ? s->probe_err.message : "none found");
        return NULL;
    }
    /* The probe names the binary in its own errors. */
    if (qemu_emulator_check(binary, err) < 0)
        return NULL;
    return qemu_caps_get(binary, cache_dir, err);
}

qemu_caps *qemu_native_caps(mv_call *call, const char *emulator, mv_error *err)
{
    const mv_paths *paths = mv_daemon_paths(mv_call_daemon(call));

    return qemu_emulator_caps(qemu_state_of(call), emulator, paths->cache_dir, err);
}

int qemu_proc_connect_get_capabilities(mv_call *call, const Modvirt__Empty *args,
                                       Modvirt__StringRet *ret)
{
    mv_error *err = mv_call_error(call);
    qemu_caps *caps = NULL;
    struct utsname u;

    (void)args;
    if (!(caps = qemu_native_caps(call, NULL, err)))
        return -1;
    uname(&u);
    ret->value = qemu_caps_format_capabilities(caps, u.machine, err);
    qemu_caps_unref(caps);
    return ret->value ? 0 : -1;
}

int qemu_proc_connect_get_domain_capabilities(mv_call *call, const Modvirt__DomainCapsArgs *args,
                                              Modvirt__StringRet *ret)
{
    mv_error *err = mv_call_error(call);
    qemu_caps *caps = NULL;

    if (qemu_check_flags(args->flags, 0, "virConnectGetDomainCapabilities", err) < 0 ||
        !(caps = qemu_native_caps(call, args->emulatorbin, err)))
        return -1;
    ret->value = qemu_caps_format_domain_caps(caps, args->arch, args->machine, args->virttype, err);
    qemu_caps_unref(caps);
    return ret->value ? 0 : -1;
}

int qemu_proc_connect_domain_xml_to_native(mv_call *call, const Modvirt__XmlToNativeArgs *args,
                                           Modvirt__StringRet *ret)
{
    mv_error *err = mv_call_error(call);
    const mv_paths *paths = mv_daemon_paths(mv_call_daemon(call));
    mv_domain_def *def = NULL;
    qemu_caps *caps = NULL;
    qemu_command *cmd = NULL;
    char *mon = NULL, *sockdir = NULL, *nvram_dir = NULL;
    int rc = -1;

    if (qemu_check_flags(args->flags, 0, "virConnectDomainXMLToNative", err) < 0)
        goto cleanup;
    if (!args->format || strcmp(args->format, QEMU_NATIVE_ARGV) != 0) {
        mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, "unsupported config type %s",
                     args->format ? args->format : "");
        goto cleanup;
    }
    if (!(def = qemu_domain_parse(args->xml, 0, err)) ||
        !(caps = qemu_native_caps(call, def->emulator, err)))
        goto cleanup;
    /* Where a start would put them; nothing is created. */
    if (asprintf(&sockdir, "%s/qemu/dom-%s", paths->run_dir, def->name) < 0 ||
        asprintf(&mon, "%s/monitor.sock", sockdir) < 0 ||
        asprintf(&nvram_dir, "%s/qemu/nvram", paths->state_dir) < 0) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot format the command line");
        goto cleanup;
    }
    {
        qemu_command_params p = {caps, mon, -1, sockdir, NULL, QEMU_COMMAND_DRY_RUN, nvram_dir};

        if (qemu_command_build(def, &p, &cmd, err) < 0)
            goto cleanup;
    }
    if (!(ret->value = qemu_command_to_string(cmd))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot format the command line");
        goto cleanup;
    }
    rc = 0;

cleanup:
    qemu_command_free(cmd);
    qemu_caps_unref(caps);
    mv_domain_def_free(def);
    free(mon);
    free(sockdir);
    free(nvram_dir);
    return rc;
}
