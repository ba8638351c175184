/* qemu_host.h: facts about the host the QEMU driver reports — node info, hostname, and
 * the installed qemu binary and its version.
 *
 * The node-info reader takes the sysfs and proc roots as arguments so tests can point
 * it at a fake tree; the version parser does no I/O. */
#ifndef QEMU_HOST_H
#define QEMU_HOST_H

#include <stdbool.h>
#include "common/error.h"

/* virNodeInfo, computed the way libvirt computes it on Linux. */
typedef struct qemu_nodeinfo {
    char model[32];              /* uname machine, e.g. "x86_64" */
    unsigned long long memory;   /* KiB (MemTotal) */
    unsigned int cpus;           /* online CPUs */
    unsigned int mhz;
    unsigned int nodes, sockets, cores, threads;
} qemu_nodeinfo;

#define QEMU_HOST_SYSFS_CPU_ROOT "/sys/devices/system"
#define QEMU_HOST_PROC_ROOT "/proc"

/* sys_root is the folder holding cpu/ and node/ (normally /sys/devices/system);
 * proc_root holds cpuinfo and meminfo (normally /proc). Reads pseudo files only. */
int qemu_host_nodeinfo(const char *sys_root, const char *proc_root, qemu_nodeinfo *info,
                       mv_error *err);

/* The host name as gethostname() gives it (no resolver lookup: callers run on the
 * event loop). malloc'd, or NULL + err. */
char *qemu_host_hostname(mv_error *err);

/* The qemu binary to run: `configured` when set (a bare name is searched on PATH),
 * else qemu-system-x86_64 from PATH, else /usr/bin/qemu-system-x86_64.
 * malloc'd absolute path of an executable file, or NULL + err naming what was tried. */
char *qemu_binary_find(const char *configured, mv_error *err);

/* Parses `qemu --version` output ("QEMU emulator version 7.2.22 (Debian ...)") into
 * libvirt's encoding, major * 1,000,000 + minor * 1,000 + micro. */
int qemu_version_parse(const char *text, unsigned long *version, mv_error *err);

/* Runs `binary --version` (argv, no shell; stdin and stderr on /dev/null), waits at
 * most timeout_ms, and parses its output. Blocks: never call on the event loop. */
int qemu_version_probe(const char *binary, int timeout_ms, unsigned long *version,
                       mv_error *err);

#endif
