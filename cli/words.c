/* words.c: the words virsh prints for domain states and their reasons. */
#include "cli/vmctl.h"

#include <stddef.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const states[] = {
    "no state", "running", "idle", "paused", "in shutdown", "shut off", "crashed", "pmsuspended",
};

static const char *const running_reasons[] = {
    "unknown", "booted", "migrated", "restored", "from snapshot", "unpaused",
    "migration canceled", "save canceled", "event wakeup", "crashed", "post-copy",
    "post-copy failed",
};

static const char *const paused_reasons[] = {
    "unknown", "user", "migrating", "saving", "dumping", "I/O error", "watchdog",
    "from snapshot", "shutting down", "creating snapshot", "crashed", "starting up",
    "post-copy", "post-copy failed", "api error",
};

static const char *const shutdown_reasons[] = {"unknown", "user"};

static const char *const shutoff_reasons[] = {
    "unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed",
    "from snapshot", "daemon",
};

static const char *const crashed_reasons[] = {"unknown", "panicked"};

const char *vmctl_state_word(int state)
{
    if (state < 0 || (size_t)state >= N(states))
        return "no state"; /* as virsh, for a state newer than this table */
    return states[state];
}

const char *vmctl_reason_word(int state, int reason)
{
    const char *const *table = NULL;
    size_t n = 0;
    switch (state) {
    case VIR_DOMAIN_RUNNING: table = running_reasons; n = N(running_reasons); break;
    case VIR_DOMAIN_PAUSED: table = paused_reasons; n = N(paused_reasons); break;
    case VIR_DOMAIN_SHUTDOWN: table = shutdown_reasons; n = N(shutdown_reasons); break;
    case VIR_DOMAIN_SHUTOFF: table = shutoff_reasons; n = N(shutoff_reasons); break;
    case VIR_DOMAIN_CRASHED: table = crashed_reasons; n = N(crashed_reasons); break;
    default: break; /* no state, blocked, pmsuspended: only "unknown" */
    }
    if (!table || reason < 0 || (size_t)reason >= n)
        return "unknown";
    return table[reason];
}
