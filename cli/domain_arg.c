/* domain_arg.c: a DOMAIN argument resolved as virsh resolves it — a non-negative number
 * is tried as an id, a 36-character string as a UUID, and then anything as a name. */
#include "cli/vmctl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A whole-string decimal number in 0..INT_MAX, as virsh's virStrToLong_i check. */
static bool parse_id(const char *s, int *id)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > INT_MAX)
        return false;
    *id = (int)v;
    return true;
}

virDomainPtr vmctl_domain(vmctl_ctx *ctx, const char *ref)
{
    virConnectPtr conn = vmctl_conn(ctx);
    if (!conn)
        return NULL;
    virDomainPtr dom = NULL;
    int id;
    if (parse_id(ref, &id))
        dom = virDomainLookupByID(conn, id);
    if (!dom && strlen(ref) == VIR_UUID_STRING_BUFLEN - 1)
        dom = virDomainLookupByUUIDString(conn, ref);
    if (!dom)
        dom = virDomainLookupByName(conn, ref);
    if (!dom) {
        /* The name lookup's error is the one worth showing (e.g. "Domain not found"). */
        vmctl_error(ctx, "failed to get domain '%s'", ref);
        vmctl_lib_error(ctx); /* reported: the runner must not print it again */
    } else {
        vmctl_forget_lib_error(ctx); /* an id or UUID attempt that missed is no failure */
    }
    return dom;
}

virDomainPtr vmctl_domain_arg(vmctl_ctx *ctx, const vmctl_args *args)
{
    return vmctl_domain(ctx, vmctl_arg_str(args, "domain"));
}
