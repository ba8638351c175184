/* keepalive.c: the keepalive decision and serial numbering, as pure functions. */
#include "libclient/rpc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

uint32_t mvc_serial_next(uint32_t prev)
{
    return prev >= MVC_SERIAL_MAX ? 1 : prev + 1;
}

static int clamp_ms(long long v)
{
    if (v < 0)
        return 0;
    return v > INT_MAX ? INT_MAX : (int)v;
}

enum mvc_keepalive_action mvc_keepalive_check(const mvc_keepalive *ka, long long now, int *wait_ms)
{
    if (ka->interval_ms <= 0) {
        *wait_ms = -1;
        return MVC_KA_WAIT;
    }
    /* count 0 would mean "dead at once"; treat it as one probe's worth of patience. */
    long long dead_after = (long long)ka->interval_ms * (ka->count ? ka->count : 1);
    long long dead_at = ka->last_rx + dead_after;
    if (now >= dead_at) {
        *wait_ms = 0;
        return MVC_KA_DEAD;
    }
    /* Probe after a quiet interval, counted from whichever came last: traffic from the
     * peer or our previous probe. */
    long long quiet_since = ka->last_rx > ka->last_ping ? ka->last_rx : ka->last_ping;
    long long ping_at = quiet_since + ka->interval_ms;
    if (now >= ping_at) {
        long long next = now + ka->interval_ms;
        *wait_ms = clamp_ms((next < dead_at ? next : dead_at) - now);
        return MVC_KA_PING;
    }
    *wait_ms = clamp_ms((ping_at < dead_at ? ping_at : dead_at) - now);
    return MVC_KA_WAIT;
}

int mvc_keepalive_parse(const char *s, int *interval_ms, unsigned int *count, mv_error *err)
{
    char *end = NULL;
    errno = 0;
    long iv = strtol(s, &end, 10);
    if (errno || end == s || *end != ',' || iv < 0 || iv > INT_MAX)
        goto bad;
    const char *c = end + 1;
    errno = 0;
    long n = strtol(c, &end, 10);
    if (errno || end == c || *end != '\0' || n < 0 || n > INT_MAX)
        goto bad;
    *interval_ms = (int)iv;
    *count = (unsigned int)n;
    return 0;
bad:
    mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_RPC,
                 "MODVIRT_KEEPALIVE='%s' must be 'interval_ms,count' (e.g. '5000,5')", s);
    return -1;
}
