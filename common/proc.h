/* proc.h: the procedure table, expanded from proto/procedures.def.
 *
 * Everything that needs to know about a procedure — the proxy's read-only check and
 * routing, the daemons' dispatch, the client stubs, the log names — asks here. */
#ifndef MV_PROC_H
#define MV_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include "proto/modvirt.pb-c.h"

enum mv_proc_num {
#define PROC(num, NAME, name, Args, args, Ret, ret, access, route, run) MV_PROC_##NAME = num,
#include "proto/procedures.def"
#undef PROC
};

enum mv_proc_access { MV_ACCESS_RO, MV_ACCESS_RW };
enum mv_proc_route {
    MV_ROUTE_PROXY,    /* answered by whoever receives it */
    MV_ROUTE_OPEN,     /* connection open: proxy chooses the driver */
    MV_ROUTE_INTERNAL, /* proxy -> driver only */
    MV_ROUTE_CONN,     /* the connection's hypervisor driver */
    MV_ROUTE_DOMAIN,   /* the connection's hypervisor driver, about one domain */
    MV_ROUTE_EVENT,    /* not a call: names the body of a FRAME_EVENT */
};
enum mv_proc_run { MV_RUN_LOOP, MV_RUN_JOB };

typedef struct mv_proc_info {
    uint32_t num;
    const char *name; /* "domain_define_xml" */
    const ProtobufCMessageDescriptor *args;
    const ProtobufCMessageDescriptor *ret;
    enum mv_proc_access access;
    enum mv_proc_route route;
    enum mv_proc_run run;
} mv_proc_info;

/* The procedure with this number, or NULL when there is none. O(1). */
const mv_proc_info *mv_proc_lookup(uint32_t num);

/* Name for logs: the procedure's name, or "unknown". */
const char *mv_proc_name(uint32_t num);

#endif
