/* qemu_command_chardev.c: serials, parallels, consoles and channels — a -chardev for the
 * host side and a -device for the guest side; pty chardevs are reported to the caller,
 * which reads their paths after start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "virtqemud/qemu_command_internal.h"
#include "common/str.h"

static int note_pty(qcmd *c, const char *id, qemu_chr_kind kind, size_t index)
{
    qemu_command *cmd = c->cmd;
    qemu_command_pty *v = realloc(cmd->ptys, (cmd->nptys + 1) * sizeof(*v));

    if (!v) {
        c->oom = true;
        return -1;
    }
    cmd->ptys = v;
    if (!(v[cmd->nptys].chardev_id = strdup(id))) {
        c->oom = true;
        return -1;
    }
    v[cmd->nptys].kind = kind;
    v[cmd->nptys].index = index;
    cmd->nptys++;
    return 0;
}

/* index (size_t)-1: a chardev that no caller looks up (rng egd, redirdev). */
int qcmd_chardev(qcmd *c, mv_domain_chr *chr, const char *id, qemu_chr_kind kind, size_t index)
{
    const char *t = chr->type ? chr->type : "pty";
    char *path = NULL, log[512] = "";
    int ret = -1;

    if (chr->log_file)
        snprintf(log, sizeof(log), ",logfile=%s%s", chr->log_file,
                 chr->log_append == MV_TRISTATE_YES ? ",logappend=on" : "");
    if (chr->source_path && !(path = qcmd_escape(c, chr->source_path)))
        goto cleanup;
    if (mv_streq(t, "pty")) {
        qcmd_opt(c, "-chardev", "pty,id=%s%s", id, log);
        if (index != (size_t)-1 && note_pty(c, id, kind, index) < 0)
            goto cleanup;
    } else if (mv_streq(t, "null") || mv_streq(t, "vc") || mv_streq(t, "qemu-vdagent")) {
        qcmd_opt(c, "-chardev", "%s,id=%s%s", t, id, log);
    } else if (mv_streq(t, "unix")) {
        bool server = !chr->source_mode || mv_streq(chr->source_mode, "bind");
        char def_path[256];

        if (!path) {
            /* libvirt names an unnamed channel socket after its target; ours stays
             * short (sun_path) in the per-guest folder. */
            snprintf(def_path, sizeof(def_path), "%s/%s.sock", c->p->sock_dir, id);
            if (!(path = qcmd_escape(c, def_path)))
                goto cleanup;
            /* The live XML tells users (and guest agents' clients) where it is. */
            if (!(chr->source_path = strdup(def_path))) {
                c->oom = true;
                goto cleanup;
            }
        }
        if (strlen(path) >= 108) {
            mv_error_set(c->err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                         "UNIX socket path '%s' is too long (108 bytes at most)", path);
            goto cleanup;
        }
        char reconnect[32] = "";

        if (chr->reconnect_enabled == MV_TRISTATE_YES && !server)
            snprintf(reconnect, sizeof(reconnect), ",reconnect=%d",
                     chr->reconnect_timeout > 0 ? chr->reconnect_timeout : 1);
        qcmd_opt(c, "-chardev", "socket,id=%s,path=%s%s%s%s", id, path,
                 server ? ",server=on,wait=off" : "", reconnect, log);
    } else if (mv_streq(t, "file")) {
        qcmd_opt(c, "-chardev", "file,id=%s,path=%s%s%s", id, path ? path : "",
                 chr->source_append == MV_TRISTATE_YES ? ",append=on" : "", log);
    } else if (mv_streq(t, "pipe")) {
        qcmd_opt(c, "-chardev", "pipe,id=%s,path=%s%s", id, path ? path : "", log);
    } else if (mv_streq(t, "dev")) {
        qcmd_opt(c, "-chardev", "%s,id=%s,path=%s%s",
                 kind == QEMU_CHR_PARALLEL ? "parallel" : "serial", id, path ? path : "", log);
    } else if (mv_streq(t, "tcp")) {
        bool server = mv_streq(chr->source_mode, "bind");

        qcmd_opt(c, "-chardev", "socket,id=%s,host=%s,port=%s%s%s%s", id,
                 chr->source_host ? chr->source_host : "127.0.0.1",
                 chr->source_service ? chr->source_service : "0",
                 mv_streq(chr->protocol, "telnet") ? ",telnet=on" : "",
                 server ? ",server=on,wait=off" : "", log);
    } else if (mv_streq(t, "udp")) {
        qcmd_opt(c, "-chardev", "udp,id=%s,host=%s,port=%s%s", id,
                 chr->source_host ? chr->source_host : "127.0.0.1",
                 chr->source_service ? chr->source_service : "0", log);
    } else if (mv_streq(t, "spicevmc")) {
        qcmd_opt(c, "-chardev", "spicevmc,id=%s,name=%s", id,
                 kind == QEMU_CHR_CHANNEL && index != (size_t)-1 ? "vdagent" : "usbredir");
    } else if (mv_streq(t, "spiceport")) {
        qcmd_opt(c, "-chardev", "spiceport,id=%s,name=%s", id,
                 chr->source_channel ? chr->source_channel : "");
    } else {
        qcmd_refuse(c, "character device type '%s' cannot be used by a daemon-run QEMU", t);
        goto cleanup;
    }
    ret = 0;

cleanup:
    free(path);
    return ret;
}

static int serial(qcmd *c, mv_domain_chr *chr, size_t i)
{
    char id[48];
    const char *tt = chr->target_model ? chr->target_model : chr->target_type;
    int port = chr->target_port >= 0 ? chr->target_port : (int)i;
    char usb[64];

    snprintf(id, sizeof(id), "charserial%zu", i);
    if (qcmd_chardev(c, chr, id, QEMU_CHR_SERIAL, i) < 0)
        return -1;
    if (!tt || mv_streq(tt, "isa-serial"))
        qcmd_opt(c, "-device", "isa-serial,chardev=%s,id=serial%zu,index=%d", id, i, port);
    else if (mv_streq(tt, "usb-serial"))
        qcmd_opt(c, "-device", "usb-serial,chardev=%s,id=serial%zu%s", id, i,
                 qcmd_usb_addr(&chr->info, usb, sizeof(usb)));
    else if (mv_streq(tt, "isa-debug"))
        qcmd_opt(c, "-device", "isa-debugcon,chardev=%s,id=serial%zu,iobase=0x%x", id, i,
                 chr->info.address && chr->info.address->iobase > 0
                     ? (unsigned)chr->info.address->iobase
                     : 0x402u);
    else if (mv_streq(tt, "pci-serial"))
        qcmd_opt(c, "-device", "pci-serial,chardev=%s,id=serial%zu", id, i);
    else
        return qcmd_refuse(c, "serial target '%s' is not supported on x86_64", tt);
    return 0;
}

/* virtio consoles and channels sit on a virtio-serial bus; add one if none was given. */
static int need_virtio_serial(qcmd *c)
{
    char addr[128];

    if (c->has_virtio_serial)
        return 0;
    if (qcmd_pci_addr(c, NULL, "virtio-serial controller", addr, sizeof(addr)) < 0)
        return -1;
    qcmd_opt(c, "-device", "virtio-serial-pci,id=virtio-serial0%s", addr);
    c->has_virtio_serial = true;
    return 0;
}

int qcmd_chardevs(qcmd *c)
{
    mv_domain_def *def = c->def;
    int vport = 1; /* virtio-serial port 0 is reserved for a console */

    for (size_t i = 0; i < def->nserials; i++)
        if (serial(c, &def->serials[i], i) < 0)
            return -1;
    for (size_t i = 0; i < def->nparallels; i++) {
        char id[48];

        snprintf(id, sizeof(id), "charparallel%zu", i);
        if (qcmd_chardev(c, &def->parallels[i], id, QEMU_CHR_PARALLEL, i) < 0)
            return -1;
        qcmd_opt(c, "-device", "isa-parallel,chardev=%s,id=parallel%zu", id, i);
    }
    for (size_t i = 0; i < def->nconsoles; i++) {
        mv_domain_chr *con = &def->consoles[i];
        char id[48];

        /* A serial-type console is libvirt's alias of the first serial port: when
         * there is no <serial>, it makes that port itself. */
        if (!con->target_type || mv_streq(con->target_type, "serial")) {
            if (i == 0 && def->nserials)
                continue;
            if (i == 0) {
                snprintf(id, sizeof(id), "charconsole%zu", i);
                if (qcmd_chardev(c, con, id, QEMU_CHR_CONSOLE, i) < 0)
                    return -1;
                qcmd_opt(c, "-device", "isa-serial,chardev=%s,id=serial0,index=0", id);
                continue;
            }
            return qcmd_refuse(c, "console %zu of target type 'serial' has no serial port", i);
        }
        if (!mv_streq(con->target_type, "virtio"))
            return qcmd_refuse(c, "console target type '%s' is not supported on x86_64",
                               con->target_type);
        if (need_virtio_serial(c) < 0)
            return -1;
        snprintf(id, sizeof(id), "charconsole%zu", i);
        if (qcmd_chardev(c, con, id, QEMU_CHR_CONSOLE, i) < 0)
            return -1;
        qcmd_opt(c, "-device", "virtconsole,chardev=%s,id=console%zu", id, i);
    }
    for (size_t i = 0; i < def->nchannels; i++) {
        mv_domain_chr *ch = &def->channels[i];
        char id[48];
        int nr = vport++;

        if (!mv_streq(ch->target_type, "virtio"))
            return qcmd_refuse(c, "channel target type '%s' is not supported by modvirt",
                               ch->target_type ? ch->target_type : "(none)");
        if (ch->info.address && mv_streq(ch->info.address->type, "virtio-serial") &&
            ch->info.address->port)
            nr = atoi(ch->info.address->port);
        if (need_virtio_serial(c) < 0)
            return -1;
        snprintf(id, sizeof(id), "charchannel%zu", i);
        if (qcmd_chardev(c, ch, id, QEMU_CHR_CHANNEL, i) < 0)
            return -1;
        qcmd_opt(c, "-device",
                 "virtserialport,bus=virtio-serial0.0,nr=%d,chardev=%s,id=channel%zu%s%s", nr, id,
                 i, ch->target_name ? ",name=" : "", ch->target_name ? ch->target_name : "");
    }
    return 0;
}
