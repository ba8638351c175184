/* driver.h: what a driver daemon is — a table of handlers, one slot per procedure.
 *
 * A driver daemon's main() hands its mv_driver to mv_daemon_main() (daemon.h); the
 * runtime owns the loop, the sockets, framing, the read-only check and dispatch. A NULL
 * slot answers VIR_ERR_NO_SUPPORT in one place. Fill tables with designated initializers.
 *
 * Handler contract, for every slot generated from proto/procedures.def:
 *   int handler(mv_call *call, const Modvirt__Args *args, Modvirt__Ret *ret);
 * - args is borrowed (freed by the runtime after the handler returns).
 * - ret is an initialised, empty message owned by the runtime; the handler fills it with
 *   malloc'd strings, byte buffers, arrays and sub-messages, which the runtime frees with
 *   protobuf_c_message_free_unpacked() after sending (so never point into shared state).
 * - return 0 on success; on failure return -1 after setting mv_call_error(call).
 * - LOOP procedures run on the event loop thread and must not block; JOB procedures run
 *   on a worker thread, many at once, so driver state needs its own locking. */
#ifndef MV_DRIVER_H
#define MV_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include "common/conf.h"
#include "common/error.h"
#include "common/paths.h"
#include "proto/modvirt.pb-c.h"

typedef struct mv_call mv_call;
typedef struct mv_daemon mv_daemon;

/* Who is calling: SO_PEERCRED of the real client (passed on by virtproxyd). */
typedef struct mv_identity {
    uint32_t uid;
    uint32_t gid;
    int32_t pid;
    bool readonly;
} mv_identity;

typedef struct mv_driver {
    const char *name;          /* connection type, as virConnectGetType: "QEMU" */
    const char *daemon_name;   /* "virtqemud": sockets, pid file, log and config names */
    const char *const *schemes;/* URI schemes served, NULL-terminated: {"qemu", NULL} */
    int error_domain;          /* VIR_FROM_QEMU */

    /* Driver-specific config keys, parsed from <config_dir>/<daemon_name>.conf together
     * with the runtime's own keys (log_level, idle_timeout, max_clients). */
    const mv_conf_key *conf_keys;
    void *conf_target;

    /* Called once after config and logging are set up, before the sockets listen:
     * load definitions, re-attach to live objects. -1 + err aborts start-up. */
    int (*init)(mv_daemon *d, mv_error *err);
    /* Called once on the way out (SIGTERM, idle exit), after the loop stopped. */
    void (*shutdown)(mv_daemon *d);
    /* True while the driver must not exit for idleness (e.g. guests are running). */
    bool (*busy)(mv_daemon *d);

#define PROC(num, NAME, name, Args, args_, Ret, ret_, access, route, run)                      \
    int (*name)(mv_call * call, const Modvirt__##Args *args, Modvirt__##Ret *ret);
#include "proto/procedures.def"
#undef PROC
} mv_driver;

/* ---- what a handler may ask of its call (all borrowed, valid during the handler) ---- */

const mv_identity *mv_call_identity(const mv_call *call);
mv_daemon *mv_call_daemon(const mv_call *call);
/* Where a failing handler puts its error. */
mv_error *mv_call_error(mv_call *call);
/* The URI this call's connection opened (CONNECT_OPEN), or NULL before the open. */
const char *mv_call_uri(const mv_call *call);

/* Per-connection driver state: set in connect_open, read by later calls on the same
 * connection, freed with free_fn when the connection closes. */
void *mv_call_conn_data(const mv_call *call);
void mv_call_set_conn_data(mv_call *call, void *data, void (*free_fn)(void *));

/* ---- what the driver may ask of its daemon ---- */

const mv_paths *mv_daemon_paths(const mv_daemon *d);
const mv_driver *mv_daemon_driver(const mv_daemon *d);
/* The driver's private state, set once in init. */
void *mv_daemon_driver_data(const mv_daemon *d);
void mv_daemon_set_driver_data(mv_daemon *d, void *data);

#endif
