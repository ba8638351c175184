/* qemu_command_internal.h: what the builder's files share — the growing argv and the
 * build context. Not for other modules: they use qemu_command.h. */
#ifndef QEMU_COMMAND_INTERNAL_H
#define QEMU_COMMAND_INTERNAL_H

#include "virtqemud/qemu_command.h"

#define QCMD_MAX_BUS 256

/* One build: the command being filled and the facts devices need. Allocation failures
 * set `oom` and are reported once at the end, so adding an argument never branches. */
typedef struct qcmd {
    mv_domain_def *def;
    const qemu_command_params *p;
    qemu_command *cmd;
    size_t nargv, capargv;
    bool oom;
    bool q35;                 /* PCIe machine: bus pcie.0, built-in AHCI */
    bool has_virtio_serial;   /* a virtio-serial controller exists (or was added) */
    bool has_usb;             /* a USB controller exists */
    bool audio_added;         /* the default "-audiodev none" was emitted */
    bool serial_console_done; /* a <console type=serial> was folded into serial 0 */
    /* PCI placement: bus N (libvirt's controller index; its id is pci.N) takes devices
     * in slots bus_first[N]..bus_last[N] (bus_last -1: not a bus devices plug into). */
    bool slot_used[QCMD_MAX_BUS][32];
    bool slot_multi[QCMD_MAX_BUS][32]; /* a function > 0 of the slot is used */
    int bus_first[QCMD_MAX_BUS], bus_last[QCMD_MAX_BUS];
    int *ctl_index;             /* the index of each controller, given or assigned */
    bool ctl_bus[QCMD_MAX_BUS]; /* a pci controller with this index exists */
    size_t taps_made;           /* nets[0..taps_made) whose bridge taps this build created */
    mv_error *err;
} qcmd;

/* Appends one argument (copied). */
void qcmd_add(qcmd *c, const char *arg);
/* Appends one formatted argument. */
void qcmd_addf(qcmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends "opt" then a formatted value: qcmd_opt(c, "-device", "virtio-blk-pci,..."). */
void qcmd_opt(qcmd *c, const char *opt, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A value for a QEMU key=value list: commas doubled. malloc'd (NULL sets oom). */
char *qcmd_escape(qcmd *c, const char *value);

/* Sets err to "unsupported configuration: <what>" (VIR_ERR_CONFIG_UNSUPPORTED) and
 * returns -1: the single way the builder refuses something. */
int qcmd_refuse(qcmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ",bus=pci.N,addr=0xS[.0xF][,multifunction=on]" for a PCI address, "" otherwise, into
 * buf of size n. Fails for a non-PCI address on a PCI device. */
int qcmd_pci_addr(qcmd *c, const mv_domain_device_info *info, const char *what, char *buf,
                  size_t n);
/* ",bus=usbN.0,port=P" for a <address type='usb'/>, else "" (QEMU picks a free port,
 * through hubs when the root ports are taken). Returns buf. */
const char *qcmd_usb_addr(const mv_domain_device_info *info, char *buf, size_t n);
/* ",bootindex=N" or "" into buf. */
void qcmd_bootindex(const mv_domain_device_info *info, char *buf, size_t n);

/* Whether QEMU has device type `type`; otherwise refuses, naming the element. */
int qcmd_need_device(qcmd *c, const char *type, const char *element);

/* qemu_command_disk.c: one <disk> (n: its position, naming its nodes) or <filesystem>. */
int qcmd_disk(qcmd *c, const mv_domain_disk *d, size_t n);
int qcmd_filesystem(qcmd *c, const mv_domain_fs *fs, size_t i);
/* qemu_command_memory.c: -m, memory backends, NUMA cells, locking. */
int qcmd_memory(qcmd *c);
/* qemu_command_devices.c: the index of every controller (c->ctl_index) and the PCI
 * buses they make (bus_first/bus_last). */
int qcmd_controller_indexes(qcmd *c);
/* qemu_command_devices.c: every <devices> child, in libvirt's order. */
int qcmd_devices(qcmd *c);
/* qemu_command_chardev.c: serials, parallels, consoles, channels; and one chardev. */
int qcmd_chardevs(qcmd *c);
int qcmd_chardev(qcmd *c, mv_domain_chr *chr, const char *id, qemu_chr_kind kind, size_t index);

#endif
