/* qemu_command.h: a domain definition turned into the argv of qemu-system (QEMU 7.2),
 * and the TCP ports its displays listen on.
 *
 *   qemu_command.c          the builder: machine, accel, memory, cpus, boot, misc;
 *                           the result object; shell-quoted text for XML-to-native
 *   qemu_command_memory.c   guest RAM: -m, memory backends, NUMA cells
 *   qemu_command_devices.c  controllers, NICs, displays, sound, watchdog, balloon,
 *                           rng, input, video, ...
 *   qemu_command_disk.c     disks (-blockdev) and filesystems
 *   qemu_command_chardev.c  serials, consoles, channels, parallels
 *   qemu_ports.c            the VNC/SPICE port allocator
 *   qemu_tap.c              tap devices of bridge interfaces
 *   qemu_firmware.c         UEFI firmware selection and per-guest variable stores
 *   qemu_affinity.c         <vcpu cpuset> applied to the running QEMU's threads
 *   qemu_native.c           the capabilities, domain capabilities and XML-to-native
 *                           handlers (procedures 27, 28, 29)
 *
 * The argv always starts with -S -no-user-config -nodefaults and a -chardev socket +
 * -mon for QMP at the given monitor path; QEMU is spawned from it directly (no shell).
 * Disks use -blockdev (file/host_device + format node) and -device, as QEMU 7.2 prefers.
 * Anything the definition asks for that QEMU 7.2 cannot do is refused with an error
 * naming the element — never silently dropped. */
#ifndef QEMU_COMMAND_H
#define QEMU_COMMAND_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "common/domain/domain_conf.h"
#include "common/error.h"
#include "virtqemud/qemu_caps.h"

/* ---- qemu_ports.c ---------------------------------------------------------------------- */

#define QEMU_VNC_PORT_MIN 5900
#define QEMU_VNC_PORT_MAX 65535

typedef struct qemu_ports qemu_ports;

/* An allocator of ports in [min, max]. Thread-safe. */
qemu_ports *qemu_ports_new(int min, int max, mv_error *err);
void qemu_ports_free(qemu_ports *p); /* NULL tolerated */
/* The lowest port that is neither handed out nor bound by anyone on the host (checked
 * by binding it); it stays taken until released. -1 + err when none is left. */
int qemu_ports_acquire(qemu_ports *p, mv_error *err);
/* Marks a port taken that a running guest already uses (re-attach after a restart).
 * -1 + err when it is outside the range or already taken. */
int qemu_ports_reserve(qemu_ports *p, int port, mv_error *err);
/* Gives a port back (the guest stopped). Ports never acquired are ignored. */
void qemu_ports_release(qemu_ports *p, int port);

/* ---- qemu_command.c -------------------------------------------------------------------- */

enum {
    /* For XML-to-native: allocate nothing; autoport displays show port 5900 (VNC
     * display :0) as libvirt's domxml-to-native does. */
    QEMU_COMMAND_DRY_RUN = 1u << 0,
    /* The caller calls qemu_command_apply_affinity() once QEMU is up (after the QMP
     * handshake, when every vCPU thread exists). Without it, <vcpu cpuset> is refused
     * rather than silently ignored. */
    QEMU_COMMAND_APPLIES_AFFINITY = 1u << 1,
};

typedef struct qemu_command_params {
    const qemu_caps *caps;    /* required: binary, machines, devices, KVM */
    const char *monitor_path; /* QMP unix socket */
    int id;                   /* the domain id this run gets */
    const char *sock_dir;     /* folder for per-guest unix sockets (unix chardevs with
                               * no path, SPICE/VNC sockets): short, see DESIGN.md */
    qemu_ports *ports;        /* autoport VNC/SPICE ports; NULL only with DRY_RUN */
    unsigned int flags;       /* QEMU_COMMAND_* */
    const char *nvram_dir;    /* where <os firmware='efi'> guests keep their UEFI
                               * variables (NAME_VARS.fd), e.g. <state_dir>/qemu/nvram;
                               * NULL: such guests need an explicit <nvram> */
} qemu_command_params;

/* Which character device of the definition a chardev id belongs to. */
typedef enum qemu_chr_kind {
    QEMU_CHR_SERIAL,
    QEMU_CHR_CONSOLE,
    QEMU_CHR_CHANNEL,
    QEMU_CHR_PARALLEL,
} qemu_chr_kind;

/* A pty chardev: after start, the caller reads its path from query-chardev
 * ("filename": "pty:/dev/pts/N") and stores it in the live definition's
 * tty/source_path of def-><kind>s[index]. */
typedef struct qemu_command_pty {
    char *chardev_id; /* "charserial0" */
    qemu_chr_kind kind;
    size_t index;
} qemu_command_pty;

typedef struct qemu_command {
    char **argv; /* NULL-terminated; argv[0] is the binary */
    char **env;  /* NULL-terminated "NAME=VALUE" to add (qemu:env) */
    qemu_command_pty *ptys;
    size_t nptys;
    int *ports; /* ports taken from params->ports: release at stop */
    size_t nports;
    qemu_ports *port_owner; /* where they came from (borrowed) */
} qemu_command;

/* Builds the command line for running `def`. def is the live copy the caller will
 * publish: autoport ports are written into def->graphics[i].port / tls_port, generated
 * MACs into def->nets[i].mac, tap names of bridge interfaces into target_dev. Unless
 * DRY_RUN, the taps of <interface type='bridge'> are created and added to their bridge
 * here (undo with qemu_command_cleanup_host at stop). On error, every port taken and
 * every tap created is given back. */
int qemu_command_build(mv_domain_def *def, const qemu_command_params *params, qemu_command **out,
                       mv_error *err);
/* Deletes what qemu_command_build set up on the host for the live definition (the taps
 * of bridge interfaces). Call when the guest has stopped; errors are ignored (a tap
 * already gone is fine). */
void qemu_command_cleanup_host(const mv_domain_def *live);

/* ---- qemu_tap.c ------------------------------------------------------------------------ */

/* Creates (or reuses) the persistent tap `ifname`, sets its MTU (mtu > 0), adds it to
 * `bridge` (NULL: none) and brings it up. Needs CAP_NET_ADMIN. */
int qemu_tap_create(const char *ifname, const char *bridge, int mtu, mv_error *err);
/* Deletes the tap; 0 when it does not exist. */
int qemu_tap_delete(const char *ifname, mv_error *err);

/* Frees cmd; does NOT release its ports (a running guest keeps them). */
void qemu_command_free(qemu_command *cmd);
/* Releases cmd's ports to their allocator (the guest stopped or never started). */
void qemu_command_release_ports(qemu_command *cmd);

/* The argv as one line for a human or a shell: env assignments first, each argument
 * single-quoted when it holds anything but [A-Za-z0-9_,.:/=+@%-]. malloc'd or NULL. */
char *qemu_command_to_string(const qemu_command *cmd);

/* ---- qemu_firmware.c ------------------------------------------------------------------- */

typedef struct qemu_firmware {
    char code[512];          /* the executable, read-only pflash unit 0 */
    char vars_template[512]; /* copied to the guest's nvram on first boot */
    char format[16];         /* "raw" */
    bool requires_smm, secure_boot;
} qemu_firmware;

/* The first UEFI firmware (by descriptor priority) for x86_64 `machine` with the
 * features def's <os><firmware> and <loader secure> ask for. -1 + err naming the
 * machine when none matches. Reads files: a worker or the builder only. */
int qemu_firmware_select(const mv_domain_def *def, const char *machine, qemu_firmware *fw,
                         mv_error *err);
/* Creates nvram from the template unless it exists already (a guest keeps its UEFI
 * variables across boots). */
int qemu_firmware_copy_vars(const char *template_path, const char *nvram, mv_error *err);

/* ---- qemu_affinity.c ------------------------------------------------------------------- */

/* libvirt's cpuset syntax ("0-3,8,^2") as a set; -1 + err when malformed or empty. */
int qemu_cpuset_parse(const char *text, cpu_set_t *set, mv_error *err);
/* Pins every thread of QEMU process pid to live's <vcpu cpuset> (no-op without one). */
int qemu_command_apply_affinity(const mv_domain_def *live, pid_t pid, mv_error *err);

/* ---- qemu_native.c --------------------------------------------------------------------- */

struct mv_call;
struct qemu_state;
/* What libvirt checks of an <emulator> at define: an absolute path to an existing
 * executable file. -1 + err naming the path. */
int qemu_emulator_check(const char *path, mv_error *err);
/* The capabilities of the QEMU a definition runs on: `emulator` when given (checked as
 * above, then it must probe as a QEMU), else the driver's configured binary; cached per
 * binary (path, mtime, size) under cache_dir. Blocks on a first probe: worker threads
 * only. A reference, or NULL + err naming the binary. */
qemu_caps *qemu_emulator_caps(const struct qemu_state *s, const char *emulator,
                              const char *cache_dir, mv_error *err);
/* qemu_emulator_caps for a call, under its daemon's cache dir. */
qemu_caps *qemu_native_caps(struct mv_call *call, const char *emulator, mv_error *err);

#endif
