/* qemu_command_disk.c: disks (-blockdev storage and format nodes, then the -device on
 * their bus) and 9p filesystems. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "virtqemud/qemu_command_internal.h"
#include "common/str.h"

#define ADDR_LEN 128

/* ---- disks ------------------------------------------------------------------------------ */

/* "vdb" -> 1, "sdaa" -> 26: libvirt's disk index of a target name. */
static int disk_index(const char *dev)
{
    size_t skip = strncmp(dev, "xvd", 3) == 0 ? 3 : 2;
    int idx = 0;

    if (strlen(dev) <= skip)
        return 0;
    for (const char *p = dev + skip; *p >= 'a' && *p <= 'z'; p++)
        idx = (idx + (p == dev + skip ? 0 : 1)) * 26 + (*p - 'a');
    return idx;
}

static int disk_source(qcmd *c, const mv_domain_disk *d, const char *node, bool ro)
{
    const char *fmt = d->driver_format ? d->driver_format : "raw";
    char cache[64] = "";
    char *path = NULL;
    int ret = -1;

    if (mv_streq(d->driver_cache, "none") || mv_streq(d->driver_cache, "directsync"))
        strcpy(cache, ",cache.direct=on");
    else if (mv_streq(d->driver_cache, "unsafe"))
        strcpy(cache, ",cache.no-flush=on");
    if (mv_streq(d->driver_io, "native") || mv_streq(d->driver_io, "io_uring"))
        snprintf(cache + strlen(cache), sizeof(cache) - strlen(cache), ",aio=%s", d->driver_io);
    if (mv_streq(d->type, "file") || mv_streq(d->type, "block")) {
        const char *drv = mv_streq(d->type, "file")      ? "file"
                          : mv_streq(d->device, "cdrom") ? "host_cdrom"
                                                   : "host_device";
        if (!(path = qcmd_escape(c, mv_streq(d->type, "file") ? d->src_file : d->src_dev)))
            goto cleanup;
        qcmd_opt(c, "-blockdev", "driver=%s,filename=%s,node-name=%s-storage%s%s%s", drv, path,
                 node, cache, ro ? ",read-only=on" : ",auto-read-only=on",
                 mv_streq(d->driver_discard, "unmap") ? ",discard=unmap" : "");
    } else if (mv_streq(d->type, "network")) {
        const mv_domain_disk_host *h = d->nsrc_hosts ? &d->src_hosts[0] : NULL;

        if (mv_streq(d->src_protocol, "nbd") && h) {
            if (mv_streq(h->transport, "unix"))
                qcmd_opt(c, "-blockdev",
                         "driver=nbd,server.type=unix,server.path=%s,%s%s,node-name=%s-storage%s",
                         h->socket ? h->socket : "", d->src_name ? "export=" : "",
                         d->src_name ? d->src_name : "", node, ro ? ",read-only=on" : "");
            else
                qcmd_opt(c, "-blockdev",
                         "driver=nbd,server.type=inet,server.host=%s,server.port=%s%s%s,"
                         "node-name=%s-storage%s",
                         h->name ? h->name : "", h->port ? h->port : "10809",
                         d->src_name ? ",export=" : "", d->src_name ? d->src_name : "", node,
                         ro ? ",read-only=on" : "");
        } else if ((mv_streq(d->src_protocol, "http") || mv_streq(d->src_protocol, "https") ||
                    mv_streq(d->src_protocol, "ftp") || mv_streq(d->src_protocol, "ftps")) &&
                   h) {
            qcmd_opt(c, "-blockdev", "driver=%s,url=%s://%s%s%s/%s%s%s,node-name=%s-storage%s",
                     d->src_protocol, d->src_protocol, h->name, h->port ? ":" : "",
                     h->port ? h->port : "", d->src_name ? d->src_name : "",
                     d->src_query ? "?" : "", d->src_query ? d->src_query : "", node,
                     ro ? ",read-only=on" : ",read-only=on");
        } else {
            qcmd_refuse(c, "disk '%s': network protocol '%s' is not supported by modvirt",
                        d->target_dev, d->src_protocol ? d->src_protocol : "?");
            goto cleanup;
        }
    } else {
        qcmd_refuse(c, "disk '%s': source type '%s' is not supported", d->target_dev, d->type);
        goto cleanup;
    }
    qcmd_opt(c, "-blockdev", "driver=%s,file=%s-storage,node-name=%s-format%s", fmt, node, node,
             ro ? ",read-only=on" : ",read-only=off");
    ret = 0;

cleanup:
    free(path);
    return ret;
}

int qcmd_disk(qcmd *c, const mv_domain_disk *d, size_t n)
{
    const char *bus = d->target_bus ? d->target_bus : "ide";
    bool cdrom = mv_streq(d->device, "cdrom"), floppy = mv_streq(d->device, "floppy");
    bool ro = d->readonly || cdrom;
    bool has_src = d->has_source && (d->src_file || d->src_dev || d->src_protocol);
    int idx = disk_index(d->target_dev);
    const mv_domain_address *a = d->info.address;
    char node[32], addr[ADDR_LEN], boot[32], extra[512] = "", drive[64] = "";

    snprintf(node, sizeof(node), "drive%zu", n);
    qcmd_bootindex(&d->info, boot, sizeof(boot));
    if (d->has_iotune)
        return qcmd_refuse(c, "disk '%s': iotune is not supported by modvirt yet", d->target_dev);
    if (d->transient)
        return qcmd_refuse(c, "disk '%s': <transient/> is not supported by modvirt", d->target_dev);
    if (mv_streq(d->device, "lun"))
        return qcmd_refuse(c, "disk '%s': device='lun' is not supported by modvirt", d->target_dev);
    if (has_src) {
        if (disk_source(c, d, node, ro) < 0)
            return -1;
        snprintf(drive, sizeof(drive), ",drive=%s-format", node);
    }
    if (d->serial)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",serial=%s", d->serial);
    if (d->shareable)
        strcat(extra, ",share-rw=on");
    if (mv_streq(d->driver_cache, "writethrough") || mv_streq(d->driver_cache, "directsync"))
        strcat(extra, ",write-cache=off");
    if (d->logical_block_size > 0)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",logical_block_size=%d",
                 d->logical_block_size);
    if (d->physical_block_size > 0)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",physical_block_size=%d",
                 d->physical_block_size);

    if (mv_streq(bus, "virtio")) {
        if (cdrom || floppy)
            return qcmd_refuse(c, "disk '%s': a %s cannot sit on the virtio bus", d->target_dev,
                               d->device);
        if (qcmd_pci_addr(c, &d->info, "virtio disk", addr, sizeof(addr)) < 0)
            return -1;
        if (d->driver_iothread > 0)
            snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",iothread=iothread%d",
                     d->driver_iothread);
        if (d->driver_queues > 0)
            snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",num-queues=%d",
                     d->driver_queues);
        qcmd_opt(c, "-device", "virtio-blk-pci%s%s,id=virtio-disk%d%s%s", addr, drive, idx, boot,
                 extra);
    } else if (mv_streq(bus, "ide") || mv_streq(bus, "sata")) {
        int ctl = a && mv_streq(a->type, "drive") ? a->controller : 0;
        int b = a && mv_streq(a->type, "drive") ? a->bus : mv_streq(bus, "ide") ? idx / 2 : idx;
        int unit = a && mv_streq(a->type, "drive") ? a->unit : mv_streq(bus, "ide") ? idx % 2 : 0;

        if (d->readonly && !cdrom)
            return qcmd_refuse(c, "disk '%s': readonly ide/sata disks are not supported by QEMU",
                               d->target_dev);
        if (mv_streq(bus, "ide") && c->q35)
            return qcmd_refuse(c, "disk '%s': the q35 machine has no IDE bus (use sata)",
                               d->target_dev);
        if (mv_streq(bus, "ide"))
            qcmd_opt(c, "-device", "%s,bus=ide.%d,unit=%d%s,id=ide%d-%d-%d%s%s",
                     cdrom ? "ide-cd" : "ide-hd", b, unit, drive, ctl, b, unit, boot, extra);
        else if (c->q35 && ctl == 0)
            qcmd_opt(c, "-device", "%s,bus=ide.%d%s,id=sata%d-0-%d%s%s",
                     cdrom ? "ide-cd" : "ide-hd", b, drive, ctl, b, boot, extra);
        else
            qcmd_opt(c, "-device", "%s,bus=sata%d.%d%s,id=sata%d-0-%d%s%s",
                     cdrom ? "ide-cd" : "ide-hd", ctl, b, drive, ctl, b, boot, extra);
    } else if (mv_streq(bus, "scsi")) {
        int ctl = a && mv_streq(a->type, "drive") ? a->controller : idx / 7;
        int target = a && mv_streq(a->type, "drive") ? a->target : 0;
        int unit = a && mv_streq(a->type, "drive") ? a->unit : idx % 7;

        qcmd_opt(c, "-device",
                 "%s,bus=scsi%d.0,channel=0,scsi-id=%d,lun=%d%s,id=scsi%d-0-%d-%d%s%s",
                 cdrom ? "scsi-cd" : "scsi-hd", ctl, target, unit, drive, ctl, target, unit, boot,
                 extra);
    } else if (mv_streq(bus, "usb")) {
        if (!c->has_usb)
            return qcmd_refuse(c, "disk '%s' on the usb bus needs a USB controller", d->target_dev);
        char usb[64];

        qcmd_opt(c, "-device", "usb-storage%s%s,id=usb-disk%d%s%s%s",
                 qcmd_usb_addr(&d->info, usb, sizeof(usb)), drive, idx, boot,
                 cdrom ? ",removable=on" : "", extra);
    } else if (mv_streq(bus, "fdc")) {
        qcmd_opt(c, "-device", "floppy,unit=%d%s,id=fdc0-0-%d%s", idx, drive, idx, boot);
    } else {
        return qcmd_refuse(c, "disk '%s': bus '%s' is not supported by QEMU on x86_64",
                           d->target_dev, bus);
    }
    return 0;
}

/* ---- filesystems ------------------------------------------------------------------------ */

int qcmd_filesystem(qcmd *c, const mv_domain_fs *fs, size_t i)
{
    char addr[ADDR_LEN];
    char *src = NULL, *tag = NULL;

    if (mv_streq(fs->driver_type, "virtiofs"))
        return qcmd_refuse(c, "filesystem driver 'virtiofs' needs virtiofsd, which modvirt "
                              "does not run yet");
    if ((fs->type && !mv_streq(fs->type, "mount")) || !fs->source_dir || !fs->target_dir)
        return qcmd_refuse(c, "filesystem: only type='mount' with a source dir and a target "
                              "is supported");
    if (qcmd_pci_addr(c, &fs->info, "filesystem", addr, sizeof(addr)) < 0)
        return -1;
    src = qcmd_escape(c, fs->source_dir);
    tag = qcmd_escape(c, fs->target_dir);
    qcmd_opt(c, "-fsdev", "local,security_model=%s,id=fsdev-fs%zu,path=%s%s",
             fs->accessmode ? fs->accessmode : "passthrough", i, src ? src : "",
             fs->readonly ? ",readonly=on" : "");
    qcmd_opt(c, "-device", "virtio-9p-pci,id=fs%zu,fsdev=fsdev-fs%zu,mount_tag=%s%s", i, i,
             tag ? tag : "", addr);
    free(src);
    free(tag);
    return 0;
}
