/* qemu_console.c: virDomainOpenConsole — the guest's console or serial pty, opened and
 * handed to the call's stream (the runtime bridges it to the client). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>
#include "common/daemon/daemon.h"
#include "virtqemud/qemu_driver.h"

#define QEMU_CONSOLE_FLAGS (VIR_DOMAIN_CONSOLE_FORCE | VIR_DOMAIN_CONSOLE_SAFE)

/* The device dev_name names by alias ("serial0", "console0"), or for "" the first
 * console, else the first serial port, as libvirt picks. */
static const mv_domain_chr *find_chr(const mv_domain_def *def, const char *dev_name)
{
    if (!dev_name || !dev_name[0]) {
        if (def->nconsoles)
            return &def->consoles[0];
        return def->nserials ? &def->serials[0] : NULL;
    }
    for (size_t i = 0; i < def->nconsoles; i++)
        if (def->consoles[i].info.alias && strcmp(def->consoles[i].info.alias, dev_name) == 0)
            return &def->consoles[i];
    for (size_t i = 0; i < def->nserials; i++)
        if (def->serials[i].info.alias && strcmp(def->serials[i].info.alias, dev_name) == 0)
            return &def->serials[i];
    /* a live definition without aliases: serialN / consoleN by position */
    for (size_t i = 0; i < def->nconsoles; i++) {
        char name[32];
        snprintf(name, sizeof(name), "console%zu", i);
        if (strcmp(name, dev_name) == 0)
            return &def->consoles[i];
    }
    for (size_t i = 0; i < def->nserials; i++) {
        char name[32];
        snprintf(name, sizeof(name), "serial%zu", i);
        if (strcmp(name, dev_name) == 0)
            return &def->serials[i];
    }
    return NULL;
}

int qemu_proc_domain_open_console(mv_call *call, const Modvirt__DomainOpenConsoleArgs *args,
                                  Modvirt__Empty *ret)
{
    mv_error *err = mv_call_error(call);
    qemu_domsnap *snap = NULL;
    const mv_domain_chr *chr;
    const char *path;
    int fd = -1, rc = -1;

    if (qemu_check_flags(args->flags, QEMU_CONSOLE_FLAGS, "virDomainOpenConsole", err) < 0)
        goto cleanup;
    if (!args->dom || args->dom->uuid.len != MV_UUID_BUFLEN) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU,
                     "a domain handle needs a %d-byte UUID", MV_UUID_BUFLEN);
        goto cleanup;
    }
    if (!(snap =
              qemu_query_domain(qemu_state_of(call), args->dom->uuid.data, args->dom->name, err)))
        goto cleanup;
    if (!qemu_domsnap_is_active(snap)) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, "domain is not running");
        goto cleanup;
    }
    if (!(chr = find_chr(snap->def, args->dev_name))) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "cannot find character device %s",
                     args->dev_name && args->dev_name[0] ? args->dev_name : "<null>");
        goto cleanup;
    }
    path = chr->tty ? chr->tty : chr->source_path;
    if (!chr->type || strcmp(chr->type, "pty") != 0 || !path) {
        mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                     "character device %s is not using a PTY",
                     args->dev_name && args->dev_name[0] ? args->dev_name : "console");
        goto cleanup;
    }
    if ((fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot open the console pty '%s'", path);
        goto cleanup;
    }
    /* One session at a time, as libvirt: the lock lives as long as the stream's fd (the
     * runtime closes it when the stream ends). FORCE ends the other session first. */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (!(args->flags & VIR_DOMAIN_CONSOLE_FORCE)) {
            mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                         "Active console session exists for this domain");
            goto cleanup;
        }
        /* FORCE: the other session ends (told why), and this one takes the lock */
        mv_error why = MV_ERROR_INIT;
        mv_error_set(&why, VIR_ERR_OPERATION_ABORTED, VIR_FROM_STREAMS,
                     "the console of domain '%s' was taken over by another session",
                     snap->def->name);
        int n = mv_daemon_abort_streams_on(mv_call_daemon(call), fd, &why);
        mv_error_clear(&why);
        if (n < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
            mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                         "cannot take over the console session of domain '%s'", snap->def->name);
            goto cleanup;
        }
    }
    /* raw, as QEMU leaves it: no echo of guest output back into the guest, no line
     * buffering (a console may be opened before qemu set the mode, or after a reset) */
    struct termios tio;
    if (tcgetattr(fd, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(fd, TCSANOW, &tio);
    }
    rc = mv_call_attach_stream_fd(call, fd);
    fd = -1; /* the runtime owns it now, even on failure */

cleanup:
    if (fd >= 0)
        close(fd);
    qemu_domsnap_unref(snap);
    (void)ret;
    return rc;
}
