/* modvirt-events.h: libvirt's domain events, event loop and stream APIs (included by
 * <modvirt/modvirt.h>, which it includes itself). Names, values and signatures are
 * libvirt 9.0.0's.
 *
 * Events reach callbacks from the event loop: register one first (the default one,
 * virEventRegisterDefaultImpl, then call virEventRunDefaultImpl in a loop), as libvirt
 * requires. Beyond libvirt: a connection whose daemon restarts does not lose its
 * registrations, and events missed meanwhile are delivered late rather than lost. */
#ifndef MODVIRT_EVENTS_H
#define MODVIRT_EVENTS_H

#include <modvirt/modvirt.h>

/* ---- the event loop ------------------------------------------------------------------- */

typedef enum {
    VIR_EVENT_HANDLE_READABLE = (1 << 0),
    VIR_EVENT_HANDLE_WRITABLE = (1 << 1),
    VIR_EVENT_HANDLE_ERROR = (1 << 2),
    VIR_EVENT_HANDLE_HANGUP = (1 << 3),
} virEventHandleType;

typedef void (*virEventHandleCallback)(int watch, int fd, int events, void *opaque);
typedef void (*virEventTimeoutCallback)(int timer, void *opaque);

/* An application's own loop (glib, libuv, ...): these six functions then serve every
 * virEventAdd/Update/Remove call, and the library's own watches. */
typedef int (*virEventAddHandleFunc)(int fd, int event, virEventHandleCallback cb, void *opaque,
                                     virFreeCallback ff);
typedef void (*virEventUpdateHandleFunc)(int watch, int event);
typedef int (*virEventRemoveHandleFunc)(int watch);
typedef int (*virEventAddTimeoutFunc)(int timeout, virEventTimeoutCallback cb, void *opaque,
                                      virFreeCallback ff);
typedef void (*virEventUpdateTimeoutFunc)(int timer, int timeout);
typedef int (*virEventRemoveTimeoutFunc)(int timer);
void virEventRegisterImpl(virEventAddHandleFunc addHandle, virEventUpdateHandleFunc updateHandle,
                          virEventRemoveHandleFunc removeHandle, virEventAddTimeoutFunc addTimeout,
                          virEventUpdateTimeoutFunc updateTimeout,
                          virEventRemoveTimeoutFunc removeTimeout);

/* The built-in poll(2) loop. Register once, then run it: each virEventRunDefaultImpl
 * waits for one round of activity and runs the callbacks due. */
int virEventRegisterDefaultImpl(void);
int virEventRunDefaultImpl(void);

/* Watches and timers on the registered loop (any thread). A timeout of -1 disables a
 * timer, 0 fires it on every iteration; watches and timers are ids > 0, or -1. */
int virEventAddHandle(int fd, int events, virEventHandleCallback cb, void *opaque,
                      virFreeCallback ff);
void virEventUpdateHandle(int watch, int events);
int virEventRemoveHandle(int watch);
int virEventAddTimeout(int timeout, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff);
void virEventUpdateTimeout(int timer, int timeout);
int virEventRemoveTimeout(int timer);

/* ---- domain events ---------------------------------------------------------------------- */

typedef enum {
    VIR_DOMAIN_EVENT_DEFINED = 0,
    VIR_DOMAIN_EVENT_UNDEFINED = 1,
    VIR_DOMAIN_EVENT_STARTED = 2,
    VIR_DOMAIN_EVENT_SUSPENDED = 3,
    VIR_DOMAIN_EVENT_RESUMED = 4,
    VIR_DOMAIN_EVENT_STOPPED = 5,
    VIR_DOMAIN_EVENT_SHUTDOWN = 6,
    VIR_DOMAIN_EVENT_PMSUSPENDED = 7,
    VIR_DOMAIN_EVENT_CRASHED = 8,
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_EVENT_LAST
#endif
} virDomainEventType;

typedef enum {
    VIR_DOMAIN_EVENT_DEFINED_ADDED = 0,
    VIR_DOMAIN_EVENT_DEFINED_UPDATED = 1,
    VIR_DOMAIN_EVENT_DEFINED_RENAMED = 2,
    VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT = 3,
} virDomainEventDefinedDetailType;

typedef enum {
    VIR_DOMAIN_EVENT_UNDEFINED_REMOVED = 0,
    VIR_DOMAIN_EVENT_UNDEFINED_RENAMED = 1,
} virDomainEventUndefinedDetailType;

typedef enum {
    VIR_DOMAIN_EVENT_STARTED_BOOTED = 0,
    VIR_DOMAIN_EVENT_STARTED_MIGRATED = 1,
    VIR_DOMAIN_EVENT_STARTED_RESTORED = 2,
    VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT = 3,
    VIR_DOMAIN_EVENT_STARTED_WAKEUP = 4,
    VIR_DOMAIN_EVENT_STARTED_RECREATED = 5,
} virDomainEventStartedDetailType;

typedef enum {
    VIR_DOMAIN_EVENT_SUSPENDED_PAUSED = 0,
    VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED = 1,
    VIR_DOMAIN_EVENT_SUSPENDED_IOERROR = 2,
    VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG = 3,
    VIR_DOMAIN_EVENT_SUSPENDED_RESTORED = 4,
    VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT = 5,
    VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR = 6,
    VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY = 7,
    VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED = 8,
} virDomainEventSuspendedDetailType;

typedef enum {
    VIR_DOMAIN_EVENT_RESUMED_UNPAUSED = 0,
    VIR_DOMAIN_EVENT_RESUMED_MIGRATED = 1,
    VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT = 2,
    VIR_DOMAIN_EVENT_RESUMED_POSTCOPY = 3,
    VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED = 4,
} virDomainEventResumedDetailType;

typedef enum {
    VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN = 0,
    VIR_DOMAIN_EVENT_STOPPED_DESTROYED = 1,
    VIR_DOMAIN_EVENT_STOPPED_CRASHED = 2,
    VIR_DOMAIN_EVENT_STOPPED_MIGRATED = 3,
    VIR_DOMAIN_EVENT_STOPPED_SAVED = 4,
    VIR_DOMAIN_EVENT_STOPPED_FAILED = 5,
    VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT = 6,
} virDomainEventStoppedDetailType;

typedef enum {
    VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED = 0,
    VIR_DOMAIN_EVENT_SHUTDOWN_GUEST = 1,
    VIR_DOMAIN_EVENT_SHUTDOWN_HOST = 2,
} virDomainEventShutdownDetailType;

typedef enum {
    VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY = 0,
    VIR_DOMAIN_EVENT_PMSUSPENDED_DISK = 1,
} virDomainEventPMSuspendedDetailType;

typedef enum {
    VIR_DOMAIN_EVENT_CRASHED_PANICKED = 0,
    VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED = 1,
} virDomainEventCrashedDetailType;

/* Which event a registration wants. virtqemud emits LIFECYCLE, REBOOT, RTC_CHANGE,
 * WATCHDOG and BALLOON_CHANGE; registering for another is accepted and simply receives
 * nothing yet. */
typedef enum {
    VIR_DOMAIN_EVENT_ID_LIFECYCLE = 0,
    VIR_DOMAIN_EVENT_ID_REBOOT = 1,
    VIR_DOMAIN_EVENT_ID_RTC_CHANGE = 2,
    VIR_DOMAIN_EVENT_ID_WATCHDOG = 3,
    VIR_DOMAIN_EVENT_ID_IO_ERROR = 4,
    VIR_DOMAIN_EVENT_ID_GRAPHICS = 5,
    VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON = 6,
    VIR_DOMAIN_EVENT_ID_CONTROL_ERROR = 7,
    VIR_DOMAIN_EVENT_ID_BLOCK_JOB = 8,
    VIR_DOMAIN_EVENT_ID_DISK_CHANGE = 9,
    VIR_DOMAIN_EVENT_ID_TRAY_CHANGE = 10,
    VIR_DOMAIN_EVENT_ID_PMWAKEUP = 11,
    VIR_DOMAIN_EVENT_ID_PMSUSPEND = 12,
    VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE = 13,
    VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK = 14,
    VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED = 15,
    VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2 = 16,
    VIR_DOMAIN_EVENT_ID_TUNABLE = 17,
    VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE = 18,
    VIR_DOMAIN_EVENT_ID_DEVICE_ADDED = 19,
    VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION = 20,
    VIR_DOMAIN_EVENT_ID_JOB_COMPLETED = 21,
    VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED = 22,
    VIR_DOMAIN_EVENT_ID_METADATA_CHANGE = 23,
    VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD = 24,
    VIR_DOMAIN_EVENT_ID_MEMORY_FAILURE = 25,
    VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE = 26,
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_EVENT_ID_LAST
#endif
} virDomainEventID;

/* The lifecycle callback; dom is valid during the call (virDomainRef to keep it). */
typedef int (*virConnectDomainEventCallback)(virConnectPtr conn, virDomainPtr dom, int event,
                                             int detail, void *opaque);
typedef void (*virConnectDomainEventGenericCallback)(virConnectPtr conn, virDomainPtr dom,
                                                     void *opaque);
/* VIR_DOMAIN_EVENT_ID_REBOOT runs the generic callback above. The others' callbacks, to be
 * passed through VIR_DOMAIN_EVENT_CALLBACK(): */
/* VIR_DOMAIN_EVENT_ID_RTC_CHANGE: utcoffset is how many seconds the guest's clock now runs
 * ahead of UTC. */
typedef void (*virConnectDomainEventRTCChangeCallback)(virConnectPtr conn, virDomainPtr dom,
                                                       long long utcoffset, void *opaque);

/* VIR_DOMAIN_EVENT_ID_WATCHDOG: what the guest's watchdog device did when it fired. */
typedef enum {
    VIR_DOMAIN_EVENT_WATCHDOG_NONE = 0,
    VIR_DOMAIN_EVENT_WATCHDOG_PAUSE = 1,
    VIR_DOMAIN_EVENT_WATCHDOG_RESET = 2,
    VIR_DOMAIN_EVENT_WATCHDOG_POWEROFF = 3,
    VIR_DOMAIN_EVENT_WATCHDOG_SHUTDOWN = 4,
    VIR_DOMAIN_EVENT_WATCHDOG_DEBUG = 5,
    VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI = 6,
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_EVENT_WATCHDOG_LAST
#endif
} virDomainEventWatchdogAction;
typedef void (*virConnectDomainEventWatchdogCallback)(virConnectPtr conn, virDomainPtr dom,
                                                      int action, void *opaque);

/* VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE: actual is the memory (KiB) the guest has now that
 * its balloon moved; virDomainGetInfo's memory says the same from then on. */
typedef void (*virConnectDomainEventBalloonChangeCallback)(virConnectPtr conn, virDomainPtr dom,
                                                           unsigned long long actual,
                                                           void *opaque);

/* through void (*)(void), so that -Wcast-function-type (in -Wextra) stays quiet */
#define VIR_DOMAIN_EVENT_CALLBACK(cb) ((virConnectDomainEventGenericCallback)(void (*)(void))(cb))

/* Returns the callback id (>= 0) for DeregisterAny, or -1. dom NULL: every domain. */
int virConnectDomainEventRegisterAny(virConnectPtr conn, virDomainPtr dom, int eventID,
                                     virConnectDomainEventGenericCallback cb, void *opaque,
                                     virFreeCallback freecb);
int virConnectDomainEventDeregisterAny(virConnectPtr conn, int callbackID);
/* The older lifecycle-only pair: 0 or -1. */
int virConnectDomainEventRegister(virConnectPtr conn, virConnectDomainEventCallback cb,
                                  void *opaque, virFreeCallback freecb);
int virConnectDomainEventDeregister(virConnectPtr conn, virConnectDomainEventCallback cb);

/* modvirt extension: told when events for a registration could not be delivered (the
 * daemon's backlog no longer reached back after a reconnect, or the client fell 16 MiB
 * behind). first..last are the daemon's event numbers; callbackID the registration's id
 * (or -1 for one made with virConnectDomainEventRegister). Runs from the event loop. One
 * callback per connection: a new one replaces the old (whose free function runs). cb NULL
 * removes it. 0, or -1. */
typedef void (*modvirtConnectEventsLostCallback)(virConnectPtr conn, int callbackID,
                                                 unsigned long long first, unsigned long long last,
                                                 void *opaque);
int modvirtConnectSetEventsLostCallback(virConnectPtr conn, modvirtConnectEventsLostCallback cb,
                                        void *opaque, virFreeCallback freecb);

/* ---- streams ------------------------------------------------------------------------------ */

typedef struct _virStream virStream;
typedef virStream *virStreamPtr;

typedef enum {
    VIR_STREAM_NONBLOCK = (1 << 0),
} virStreamFlags;

typedef enum {
    VIR_STREAM_EVENT_READABLE = (1 << 0),
    VIR_STREAM_EVENT_WRITABLE = (1 << 1),
    VIR_STREAM_EVENT_ERROR = (1 << 2),
    VIR_STREAM_EVENT_HANGUP = (1 << 3),
} virStreamEventType;

typedef void (*virStreamEventCallback)(virStreamPtr stream, int events, void *opaque);

virStreamPtr virStreamNew(virConnectPtr conn, unsigned int flags);
int virStreamRef(virStreamPtr st);
/* Send: bytes taken (> 0), -2 when a non-blocking stream cannot take more now, -1.
 * Recv: bytes read, 0 at the end of the stream, -2 when a non-blocking stream has
 * nothing now, -1. */
int virStreamSend(virStreamPtr st, const char *data, size_t nbytes);
int virStreamRecv(virStreamPtr st, char *data, size_t nbytes);
int virStreamFinish(virStreamPtr st);
int virStreamAbort(virStreamPtr st);
int virStreamFree(virStreamPtr st);
/* Callbacks run from the registered event loop. */
int virStreamEventAddCallback(virStreamPtr st, int events, virStreamEventCallback cb, void *opaque,
                              virFreeCallback ff);
int virStreamEventUpdateCallback(virStreamPtr st, int events);
int virStreamEventRemoveCallback(virStreamPtr st);

typedef enum {
    VIR_DOMAIN_CONSOLE_FORCE = (1 << 0),
    VIR_DOMAIN_CONSOLE_SAFE = (1 << 1),
} virDomainConsoleFlags;

/* Connects st to the domain's console (devname NULL: the first one). */
int virDomainOpenConsole(virDomainPtr dom, const char *dev_name, virStreamPtr st,
                         unsigned int flags);

#endif /* MODVIRT_EVENTS_H */
