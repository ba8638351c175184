/* cmd_event.c: event — waits for domain events and prints them as virsh does
 * ("event 'lifecycle' for domain 'vm': Started Booted", "event 'reboot' for domain 'vm'",
 * "event 'balloon-change' for domain 'vm': 98304KiB"), once or with --loop, until
 * --timeout, Ctrl-C or the connection's end. --json prints one object per line. */
#include "cli/vmctl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* virsh's event names, by virDomainEventID. */
static const char *const event_names[] = {
    "lifecycle",       "reboot",          "rtc-change",          "watchdog",
    "io-error",        "graphics",        "io-error-reason",     "control-error",
    "block-job",       "disk-change",     "tray-change",         "pm-wakeup",
    "pm-suspend",      "balloon-change",  "pm-suspend-disk",     "device-removed",
    "block-job-2",     "tunable",         "agent-lifecycle",     "device-added",
    "migration-iteration", "job-completed", "device-removal-failed", "metadata-change",
    "block-threshold", "memory-failure",  "memory-device-size-change"};
#define N_EVENT_NAMES (sizeof(event_names) / sizeof(event_names[0]))

static const char *const type_words[] = {"Defined",   "Undefined",   "Started",
                                         "Suspended", "Resumed",     "Stopped",
                                         "Shutdown",  "PMSuspended", "Crashed"};

static const char *const *const detail_words[] = {
    (const char *const[]){"Added", "Updated", "Renamed", "Snapshot", NULL},
    (const char *const[]){"Removed", "Renamed", NULL},
    (const char *const[]){"Booted", "Migrated", "Restored", "Snapshot", "Event wakeup", "Recreated",
                          NULL},
    (const char *const[]){"Paused", "Migrated", "I/O Error", "Watchdog", "Restored", "Snapshot",
                          "API error", "Post-copy", "Post-copy Error", NULL},
    (const char *const[]){"Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error", NULL},
    (const char *const[]){"Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed",
                          "Snapshot", NULL},
    (const char *const[]){"Finished", "Finished after guest request", "Finished after host request",
                          NULL},
    (const char *const[]){"Memory", "Disk", NULL},
    (const char *const[]){"Panicked", "Crashloaded", NULL},
};

const char *vmctl_event_type_word(int event)
{
    if (event < 0 || (size_t)event >= sizeof(type_words) / sizeof(type_words[0]))
        return "unknown";
    return type_words[event];
}

const char *vmctl_event_detail_word(int event, int detail)
{
    if (event < 0 || (size_t)event >= sizeof(detail_words) / sizeof(detail_words[0]) || detail < 0)
        return "unknown";
    for (int i = 0; detail_words[event][i]; i++)
        if (i == detail)
            return detail_words[event][i];
    return "unknown";
}

typedef struct event_run {
    vmctl_ctx *ctx;
    bool loop;
    bool timestamp;
    int count;
    bool done;
    bool timed_out;
} event_run;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void print_prefix(event_run *r)
{
    if (!r->timestamp)
        return;
    struct timeval tv;
    struct tm tm;
    char when[64], zone[16];
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    strftime(zone, sizeof(zone), "%z", &tm);
    fprintf(r->ctx->out, "%s.%03d%s: ", when, (int)(tv.tv_usec / 1000), zone);
}

/* Without --loop only the first event counts, as in virsh: several may be run in one turn
 * of the loop (a reset is often two or three). */
static bool first_only_done(const event_run *r)
{
    return !r->loop && r->count > 0;
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    event_run *r = opaque;
    (void)conn;
    if (first_only_done(r))
        return 0;
    if (r->ctx->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "event", json_object_new_string("lifecycle"));
        json_object_object_add(o, "domain", json_object_new_string(virDomainGetName(dom)));
        json_object_object_add(o, "type", json_object_new_string(vmctl_event_type_word(event)));
        json_object_object_add(o, "detail",
                               json_object_new_string(vmctl_event_detail_word(event, detail)));
        fprintf(r->ctx->out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else {
        print_prefix(r);
        fprintf(r->ctx->out, "event 'lifecycle' for domain '%s': %s %s\n", virDomainGetName(dom),
                vmctl_event_type_word(event), vmctl_event_detail_word(event, detail));
    }
    fflush(r->ctx->out);
    r->count++;
    if (!r->loop)
        r->done = true;
    return 0;
}

/* The other events' lines: virsh's text, or one JSON object with the same values. */
static void print_event(event_run *r, virDomainPtr dom, const char *event, const char *key,
                        json_object *value, const char *text)
{
    if (first_only_done(r)) {
        json_object_put(value);
        return;
    }
    if (r->ctx->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "event", json_object_new_string(event));
        json_object_object_add(o, "domain", json_object_new_string(virDomainGetName(dom)));
        if (key)
            json_object_object_add(o, key, value);
        fprintf(r->ctx->out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else {
        json_object_put(value);
        print_prefix(r);
        fprintf(r->ctx->out, "event '%s' for domain '%s'%s%s\n", event, virDomainGetName(dom),
                text ? ": " : "", text ? text : "");
    }
    fflush(r->ctx->out);
    r->count++;
    if (!r->loop)
        r->done = true;
}

static void on_reboot(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
    (void)conn;
    print_event(opaque, dom, "reboot", NULL, NULL, NULL);
}

static void on_rtc_change(virConnectPtr conn, virDomainPtr dom, long long utcoffset, void *opaque)
{
    char text[32];
    (void)conn;
    snprintf(text, sizeof(text), "%lld", utcoffset);
    print_event(opaque, dom, "rtc-change", "utc_offset", json_object_new_int64(utcoffset), text);
}

static void on_watchdog(virConnectPtr conn, virDomainPtr dom, int action, void *opaque)
{
    static const char *const words[] = {"none",     "pause", "reset",     "poweroff",
                                        "shutdown", "debug", "inject-nmi"};
    const char *word =
        action >= 0 && (size_t)action < sizeof(words) / sizeof(words[0]) ? words[action] : "unknown";
    (void)conn;
    print_event(opaque, dom, "watchdog", "action", json_object_new_string(word), word);
}

static void on_balloon_change(virConnectPtr conn, virDomainPtr dom, unsigned long long actual,
                              void *opaque)
{
    char text[32];
    (void)conn;
    snprintf(text, sizeof(text), "%lluKiB", actual);
    print_event(opaque, dom, "balloon-change", "actual_kib",
                json_object_new_int64((int64_t)actual), text);
}

/* The events vmctl prints, by id; others are accepted by name and stay quiet. */
static virConnectDomainEventGenericCallback printer(int id)
{
    switch (id) {
    case VIR_DOMAIN_EVENT_ID_LIFECYCLE:
        return VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle);
    case VIR_DOMAIN_EVENT_ID_REBOOT:
        return on_reboot;
    case VIR_DOMAIN_EVENT_ID_RTC_CHANGE:
        return VIR_DOMAIN_EVENT_CALLBACK(on_rtc_change);
    case VIR_DOMAIN_EVENT_ID_WATCHDOG:
        return VIR_DOMAIN_EVENT_CALLBACK(on_watchdog);
    case VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE:
        return VIR_DOMAIN_EVENT_CALLBACK(on_balloon_change);
    }
    return NULL;
}

/* modvirt's extension: events that could not be delivered are said so, in sequence */
static void on_lost(virConnectPtr conn, int id, unsigned long long first, unsigned long long last,
                    void *opaque)
{
    event_run *r = opaque;
    (void)conn;
    (void)id;
    if (r->ctx->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "events_lost_first", json_object_new_int64((int64_t)first));
        json_object_object_add(o, "events_lost_last", json_object_new_int64((int64_t)last));
        fprintf(r->ctx->out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else {
        print_prefix(r);
        fprintf(r->ctx->out, "events lost: %llu..%llu\n", first, last);
    }
    fflush(r->ctx->out);
}

static void on_timeout(int timer, void *opaque)
{
    (void)timer;
    event_run *r = opaque;
    r->done = true;
    r->timed_out = true;
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
    (void)conn;
    (void)reason;
    event_run *r = opaque;
    r->done = true;
}

int vmctl_cmd_event(vmctl_ctx *ctx, const vmctl_args *args)
{
    const char *name = vmctl_arg_str(args, "event");
    const char *tmo = vmctl_arg_str(args, "timeout");
    const char *domref = vmctl_arg_str(args, "domain");
    bool all = vmctl_arg_bool(args, "all");
    event_run r = {.ctx = ctx,
                   .loop = vmctl_arg_bool(args, "loop"),
                   .timestamp = vmctl_arg_bool(args, "timestamp")};
    virDomainPtr dom = NULL;
    virConnectPtr conn = NULL;
    int ids[N_EVENT_NAMES];
    size_t nids = 0;
    int timer = -1, rc = -1;
    long timeout = 0;
    bool timed_out = false, closecb = false;
    struct sigaction sa = {.sa_handler = on_sigint}, old_sa;

    if (vmctl_arg_bool(args, "list")) {
        for (size_t i = 0; i < N_EVENT_NAMES; i++)
            fprintf(ctx->out, "%s\n", event_names[i]);
        return 0;
    }
    if (!name && !all) {
        vmctl_error(ctx, "either --list or --event <type> or --all is required");
        return -1;
    }
    if (name && all) {
        vmctl_error(ctx, "Options --event and --all are mutually exclusive");
        return -1;
    }
    if (tmo) {
        char *end = NULL;
        errno = 0;
        timeout = strtol(tmo, &end, 10);
        if (errno || !end || *end || timeout <= 0 || timeout > 2147483) {
            vmctl_error(ctx, "invalid timeout");
            return -1;
        }
    }
    for (size_t i = 0; i < N_EVENT_NAMES; i++)
        ids[i] = -1;
    if (name) {
        size_t i = 0;
        while (i < N_EVENT_NAMES && strcmp(event_names[i], name) != 0)
            i++;
        if (i == N_EVENT_NAMES) {
            vmctl_error(ctx, "unknown event type %s", name);
            return -1;
        }
    }
    if (virEventRegisterDefaultImpl() < 0)
        return -1;
    if (!(conn = vmctl_conn(ctx)))
        return -1;
    if (domref && !(dom = vmctl_domain(ctx, domref)))
        return -1;
    /* each event vmctl can print, or the one named (which stays quiet if none) */
    for (size_t i = 0; i < N_EVENT_NAMES; i++) {
        virConnectDomainEventGenericCallback cb = printer((int)i);
        if (!cb || (name && strcmp(name, event_names[i]) != 0))
            continue;
        ids[nids] = virConnectDomainEventRegisterAny(conn, dom, (int)i, cb, &r, NULL);
        if (ids[nids] < 0)
            goto cleanup;
        nids++;
    }
    if (virConnectRegisterCloseCallback(conn, on_close, &r, NULL) == 0)
        closecb = true;
    modvirtConnectSetEventsLostCallback(conn, on_lost, &r, NULL);
    if (timeout && (timer = virEventAddTimeout((int)(timeout * 1000), on_timeout, &r, NULL)) < 0)
        goto cleanup;
    interrupted = 0;
    sigaction(SIGINT, &sa, &old_sa);
    while (!r.done && !interrupted) {
        if (virEventRunDefaultImpl() < 0) {
            sigaction(SIGINT, &old_sa, NULL);
            goto cleanup;
        }
    }
    sigaction(SIGINT, &old_sa, NULL);
    timed_out = r.timed_out;
    if (ctx->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "events_received", json_object_new_int(r.count));
        json_object_object_add(o, "end",
                               json_object_new_string(timed_out     ? "timeout"
                                                      : interrupted ? "interrupted"
                                                                    : "done"));
        fprintf(ctx->out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else {
        if (timed_out)
            fprintf(ctx->out, "event loop timed out\n");
        else if (interrupted)
            fprintf(ctx->out, "event loop interrupted\n");
        fprintf(ctx->out, "events received: %d\n", r.count);
    }
    rc = 0;

cleanup:
    if (timer >= 0)
        virEventRemoveTimeout(timer);
    if (closecb)
        virConnectUnregisterCloseCallback(conn, on_close);
    if (conn)
        modvirtConnectSetEventsLostCallback(conn, NULL, NULL, NULL);
    for (size_t i = 0; i < nids; i++)
        virConnectDomainEventDeregisterAny(conn, ids[i]);
    if (dom)
        virDomainFree(dom);
    return rc;
}
