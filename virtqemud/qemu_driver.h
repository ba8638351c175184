/* qemu_driver.h: the QEMU driver daemon's state, and the map of its files.
 *
 * virtqemud is a driver table (qemu_driver.c) run by the shared daemon runtime
 * (common/daemon). Calls enter through the qemu_proc_* handlers, which only translate
 * between wire messages and the functions below:
 *   qemu_connect.c   connection handlers: open, type, version, hostname, URI, node info
 *   qemu_handlers.c  domain handlers (wire <-> qemu_domain_* / qemu_query_*)
 *   qemu_domain.c    jobs that change definitions: define, undefine, set autostart
 *   qemu_query.c     reads from published snapshots: lookups, lists, info, XML
 *   qemu_state.c     the driver's state: loading definitions, the qemu binary probe
 *   qemu_conf.c      virtqemud.conf keys
 *   qemu_monitor*.c  QMP (qemu_monitor.h); qemu_process*.c, qemu_lifecycle.c running
 *                    guests and the lifecycle jobs (qemu_process.h)
 *   qemu_host.c      host facts (qemu_host.h); domain_list.c objects (domain_list.h)
 * Reads (LOOP procedures) never wait for a job; see domain_list.h for why they can't. */
#ifndef QEMU_DRIVER_H
#define QEMU_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/conf.h"
#include "common/daemon/driver.h"
#include "common/error.h"
#include "common/paths.h"
#include "common/store.h"
#include "virtqemud/domain_list.h"
#include "virtqemud/qemu_api.h"

/* The largest definition file loaded at start (DESIGN.md's XML limit). */
#define QEMU_XML_MAX (10u << 20)
/* How long `qemu --version` may take before the probe gives up. */
#define QEMU_PROBE_TIMEOUT_MS 10000

/* ---- qemu_conf.c -------------------------------------------------------------------- */

typedef struct qemu_config {
    char *qemu_binary; /* NULL: search for qemu-system-x86_64 */
} qemu_config;

extern const mv_conf_key qemu_conf_keys[];
void qemu_config_clear(qemu_config *cfg);

/* ---- qemu_state.c ------------------------------------------------------------------- */

typedef struct qemu_state {
    mv_store store;          /* <config_dir>/qemu: NAME.xml and autostart/ links */
    qemu_domlist *doms;
    char *binary;            /* the qemu binary, or NULL when none was found */
    unsigned long version;   /* its version in libvirt's encoding; 0 when unknown */
    mv_error probe_err;      /* why binary or version is unknown */
    mv_daemon *daemon;       /* where events are emitted; NULL outside a daemon (tests) */
    struct qemu_runs *runs;  /* running guests (qemu_process.h); NULL outside a daemon */
} qemu_state;

/* Opens the store under paths->config_dir, loads every definition (a broken file is
 * logged and skipped), finds the qemu binary and probes its version once (a missing
 * binary is logged: definitions still work). Blocks; runs in the driver's init. */
int qemu_state_open(const mv_paths *paths, const qemu_config *cfg, qemu_state **out,
                    mv_error *err);
void qemu_state_free(qemu_state *s);

/* The state a handler's daemon holds. */
qemu_state *qemu_state_of(mv_call *call);

/* ---- qemu_domain.c: jobs (worker threads) ------------------------------------------- */

/* Fails, naming the type, unless def is a domain this driver runs (type qemu or kvm,
 * OS type hvm). */
int qemu_domain_check_served(const mv_domain_def *def, mv_error *err);
/* Parses a definition (MV_DOMAIN_DEF_PARSE_* flags) and checks it is served and its
 * name is usable as a file name. */
mv_domain_def *qemu_domain_parse(const char *xml, unsigned int parse_flags, mv_error *err);
/* libvirt's define-time checks of a parsed definition (also for create XML): a given
 * <emulator> is an absolute path to an executable, VNC passwords fit RFB's 8 bytes, the
 * lifecycle actions are ones the QEMU driver has a meaning for. */
int qemu_domain_validate(const mv_domain_def *def, mv_error *err);

/* virDomainDefineXMLFlags: a new definition or an update of one (same name and UUID).
 * Returns the published snapshot (a reference for the caller). */
qemu_domsnap *qemu_domain_define(qemu_state *s, const char *xml, unsigned int flags,
                                 mv_error *err);
/* virDomainUndefineFlags. */
int qemu_domain_undefine(qemu_state *s, const unsigned char uuid[MV_UUID_BUFLEN],
                         const char *name, unsigned int flags, mv_error *err);
/* virDomainSetAutostart. */
int qemu_domain_set_autostart(qemu_state *s, const unsigned char uuid[MV_UUID_BUFLEN],
                              const char *name, bool autostart, mv_error *err);

/* ---- qemu_query.c: reads (event loop; never wait for a job) ------------------------- */

/* The domain a call names by handle (libvirt finds it by UUID); the name only improves
 * the error. A reference for the caller, or NULL + VIR_ERR_NO_DOMAIN. */
qemu_domsnap *qemu_query_domain(qemu_state *s, const unsigned char uuid[MV_UUID_BUFLEN],
                                const char *name, mv_error *err);
qemu_domsnap *qemu_query_by_name(qemu_state *s, const char *name, mv_error *err);
qemu_domsnap *qemu_query_by_uuid(qemu_state *s, const unsigned char uuid[MV_UUID_BUFLEN],
                                 mv_error *err);
qemu_domsnap *qemu_query_by_id(qemu_state *s, int id, mv_error *err);

/* virConnectListAllDomains: the snapshots matching libvirt's filter flags, by name. */
int qemu_query_list_all(qemu_state *s, unsigned int flags, qemu_domsnap ***snaps,
                        size_t *count, mv_error *err);
/* Active domains (virConnectListDomains / NumOfDomains) or inactive ones
 * (virConnectListDefinedDomains / NumOfDefinedDomains); at most max of them. */
int qemu_query_list_state(qemu_state *s, bool active, size_t max, qemu_domsnap ***snaps,
                          size_t *count, mv_error *err);
/* How many domains are active (or inactive); for the Num* calls and busy(). */
size_t qemu_query_count(qemu_state *s, bool active);

/* virDomainGetInfo's numbers for a snapshot. */
void qemu_query_info(const qemu_domsnap *snap, int *state, unsigned long long *max_mem_kib,
                     unsigned long long *mem_kib, unsigned int *vcpus,
                     unsigned long long *cpu_time_ns);

/* virDomainGetXMLDesc of a snapshot; readonly callers may not ask for secrets. */
char *qemu_query_xml(const qemu_domsnap *snap, unsigned int flags, bool readonly,
                     mv_error *err);

/* Fails with libvirt's "unsupported flags (0x..) in function ..." when flags has a bit
 * outside allowed. */
int qemu_check_flags(unsigned int flags, unsigned int allowed, const char *function,
                     mv_error *err);

/* ---- handlers: qemu_connect.c and qemu_handlers.c ----------------------------------- */

/* Every procedure's handler has this name; the table in qemu_driver.c lists the ones
 * this driver implements. */
#define PROC(num, NAME, name, Args, args_, Ret, ret_, access, route, run)                      \
    int qemu_proc_##name(mv_call *call, const Modvirt__##Args *args, Modvirt__##Ret *ret);
#include "proto/procedures.def"
#undef PROC

/* The UUID of a call's domain handle, or NULL with the call's error set. */
const unsigned char *qemu_handler_uuid(mv_call *call, const Modvirt__Domain *dom);
/* Fills a DomainRet from snap, dropping the caller's reference; -1 with the call's
 * error set when snap is NULL (its error already set) or on ENOMEM. */
int qemu_handler_reply_domain(mv_call *call, qemu_domsnap *snap, Modvirt__DomainRet *ret);

/* The canonical form of a URI this driver serves ("qemu:///system"), or NULL + err. */
char *qemu_connect_canonical_uri(const char *uri, mv_error *err);
/* The id of the call's connection (never reused; 0 before it was opened). */
uint64_t qemu_connect_id(mv_call *call);

/* ---- qemu_driver.c ------------------------------------------------------------------ */

extern const mv_driver qemu_driver;

#endif
