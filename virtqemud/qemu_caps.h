/* qemu_caps.h: what the installed QEMU binary can do — probed once, cached, reported.
 *
 *   qemu_caps.c         the model, the QMP reply parser (no I/O), the process-wide cache
 *   qemu_caps_probe.c   running the binary with -qmp stdio (blocking, argv, no shell)
 *   qemu_caps_format.c  capabilities and domain capabilities XML as libvirt writes them
 *
 * A probe runs `BINARY -S -no-user-config -nodefaults -display none -machine none
 * -qmp stdio` and asks query-version, query-target, query-machines and qom-list-types;
 * a second, short run with `-accel kvm` asks query-kvm: KVM is usable only when it
 * answers enabled and present. Results are kept on disk under
 * <cache_dir>/qemu/capabilities/, keyed by the binary's path, mtime and size, so a new
 * daemon does not probe again until the binary changes. */
#ifndef QEMU_CAPS_H
#define QEMU_CAPS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include "common/error.h"

/* How long one probe run of QEMU may take. */
#define QEMU_CAPS_PROBE_TIMEOUT_MS 15000

typedef struct qemu_caps_machine {
    char *name;  /* "pc-i440fx-7.2" */
    char *alias; /* "pc", or NULL */
    int max_cpus;
    bool is_default; /* the machine used when none is named */
    bool deprecated;
} qemu_caps_machine;

/* Immutable once returned; shared by reference. */
typedef struct qemu_caps {
    char *binary;          /* absolute path */
    unsigned long version; /* libvirt's encoding: 7002022 for 7.2.22 */
    char *package;         /* "Debian 1:7.2+dfsg-..." or "" */
    char *arch;            /* target arch, "x86_64" */
    qemu_caps_machine *machines;
    size_t nmachines;
    char **devices; /* qom-list-types names, sorted (bsearch) */
    size_t ndevices;
    bool kvm_usable;  /* query-kvm under -accel kvm said enabled */
    char **cpu_props; /* boolean properties of the x86 CPU (its feature flags),
                       * sorted; none when unknown */
    size_t ncpu_props;
    long long mtime, size; /* of the binary when probed: the cache key */
    int refs;              /* atomic */
} qemu_caps;

/* The capabilities of `binary` (an absolute path): from memory, else from the disk
 * cache under cache_dir (may be NULL: no disk cache) when the binary's mtime and size
 * still match, else probed now. Thread-safe; concurrent callers for the same binary
 * wait for one probe. BLOCKS (seconds on a first probe): call from a worker thread or
 * the driver's init, never the event loop. Returns a reference (qemu_caps_unref). */
qemu_caps *qemu_caps_get(const char *binary, const char *cache_dir, mv_error *err);
void qemu_caps_unref(qemu_caps *caps); /* NULL tolerated */
qemu_caps *qemu_caps_ref(qemu_caps *caps);
/* Drops the in-memory cache (daemon shutdown; tests). */
void qemu_caps_cache_clear(void);

/* Whether QOM type `type` ("virtio-net-pci") exists in this binary. */
bool qemu_caps_has_device(const qemu_caps *caps, const char *type);
/* The machine named `name` or aliased by it; NULL for NULL name means the default. */
const qemu_caps_machine *qemu_caps_machine_find(const qemu_caps *caps, const char *name);

/* ---- parsing (no I/O): build caps from recorded QMP "return" values --------------- */

/* version: query-version's return; target: query-target's; machines: query-machines';
 * types: qom-list-types'; kvm: query-kvm's (NULL: KVM not usable). */
qemu_caps *qemu_caps_from_replies(const char *binary, json_object *version, json_object *target,
                                  json_object *machines, json_object *types, json_object *kvm,
                                  mv_error *err);
/* Records qom-list-properties' reply for the CPU type (before the caps are shared). */
int qemu_caps_set_cpu_props(qemu_caps *caps, json_object *props, mv_error *err);
/* Whether QEMU knows CPU feature `name` (libvirt's spelling: '_' is read as '-', as
 * QEMU's -cpu parser does). true when the probe could not tell. */
bool qemu_caps_has_cpu_feature(const qemu_caps *caps, const char *name);
/* The cache file form and back. */
json_object *qemu_caps_to_json(const qemu_caps *caps);
qemu_caps *qemu_caps_from_json(json_object *obj, mv_error *err);

/* ---- qemu_caps_probe.c ---------------------------------------------------------------- */

/* Runs the binary as described above and returns fresh caps (refs = 1). Blocks. */
qemu_caps *qemu_caps_probe(const char *binary, mv_error *err);

/* ---- qemu_caps_format.c --------------------------------------------------------------- */

/* virConnectGetCapabilities' XML: <host> (uuid-less cpu arch, topology from nodeinfo
 * when given) and one <guest> hvm/<arch> with the machines, domain qemu and, when KVM
 * is usable, kvm. host_arch: uname machine. malloc'd, or NULL + err. */
char *qemu_caps_format_capabilities(const qemu_caps *caps, const char *host_arch, mv_error *err);

/* virConnectGetDomainCapabilities' XML for (arch, machine, virttype), each NULL or ""
 * for the default. Fails (VIR_ERR_INVALID_ARG) for an arch, machine or virttype the
 * binary cannot run, e.g. kvm when it is not usable. */
char *qemu_caps_format_domain_caps(const qemu_caps *caps, const char *arch, const char *machine,
                                   const char *virttype, mv_error *err);

#endif
