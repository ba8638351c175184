/* proc.c: the procedure table itself, one row per line of proto/procedures.def. */
#include "common/proc.h"

#include <stddef.h>


static const mv_proc_info procs[] = {
#define PROC(num_, NAME, name_, Args, args_, Ret, ret_, access_, route_, run_)                  \
    [num_] = {.num = num_,                                                                     \
             .name = #name_,                                                                   \
             .args = &modvirt__##args_##__descriptor,                                          \
             .ret = &modvirt__##ret_##__descriptor,                                            \
             .access = MV_ACCESS_##access_,                                                    \
             .route = MV_ROUTE_##route_,                                                       \
             .run = MV_RUN_##run_},
#include "proto/procedures.def"
#undef PROC
};

const mv_proc_info *mv_proc_lookup(uint32_t num)
{
    if (num >= sizeof(procs) / sizeof(procs[0]) || procs[num].name == NULL)
        return NULL;
    return &procs[num];
}

const char *mv_proc_name(uint32_t num)
{
    const mv_proc_info *p = mv_proc_lookup(num);
    return p ? p->name : "unknown";
}
