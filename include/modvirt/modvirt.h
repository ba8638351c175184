/* modvirt.h: the public C API of libmodvirt — libvirt's names, types and semantics.
 *
 * A program written against libvirt's <libvirt/libvirt.h> builds unchanged against this
 * header (through the compatibility headers <libvirt/libvirt.h> and <libvirt/virterror.h>)
 * for every call declared here. Names, enum values, struct layouts and signatures follow
 * libvirt 9.0.0 (the release Debian 12 ships), so LIBVIR_VERSION_NUMBER says 9000000:
 * feature checks written as LIBVIR_CHECK_VERSION(x, y, z) see that API level.
 *
 * Differences from libvirt, all documented in docs/client-library.md:
 *   - the library never prints: with no error function set, errors are only stored
 *     (libvirt prints them to stderr by default); virDefaultErrorFunc prints when called;
 *   - modvirtConnectSetCallTimeout() is a modvirt extension (call deadlines).
 *   - modvirtConnectSetEventsLostCallback() (modvirt-events.h) tells a program which events
 *     could not be delivered (libvirt loses them silently across a reconnect).
 *
 * Thread safety: every function may be called from any thread; one connection may be
 * used by many threads at once. The last error is kept per thread. */
#ifndef MODVIRT_H
#define MODVIRT_H

#include <stddef.h>
#include <modvirt/modvirt-errors.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions ---------------------------------------------------------------------- */

/* The libvirt API level whose names and semantics this header follows:
 * major * 1,000,000 + minor * 1,000 + micro (libvirt 9.0.0). */
#define LIBVIR_VERSION_NUMBER 9000000

/* True when the API level above is at least major.minor.micro. */
#define LIBVIR_CHECK_VERSION(major, minor, micro)                                           \
    ((major) * 1000000 + (minor) * 1000 + (micro) <= LIBVIR_VERSION_NUMBER)

/* modvirt's own release, same encoding. */
#define MODVIRT_VERSION_MAJOR 0
#define MODVIRT_VERSION_MINOR 1
#define MODVIRT_VERSION_MICRO 0

#define VIR_UUID_BUFLEN 16        /* raw UUID bytes */
#define VIR_UUID_STRING_BUFLEN 37 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */

/* ---- objects --------------------------------------------------------------------------- */

typedef struct _virConnect virConnect;
typedef virConnect *virConnectPtr;

typedef struct _virDomain virDomain;
typedef virDomain *virDomainPtr;

/* Declared for virError's deprecated field only: no network calls exist yet. */
typedef struct _virNetwork virNetwork;
typedef virNetwork *virNetworkPtr;

/* ---- errors (virterror.h in libvirt) ------------------------------------------------------ */

typedef struct _virError virError;
typedef virError *virErrorPtr;
struct _virError {
    int code;            /* virErrorNumber */
    int domain;          /* virErrorDomain */
    char *message;       /* complete, human-readable message */
    virErrorLevel level; /* VIR_ERR_ERROR for every error modvirt raises */
    virConnectPtr conn;  /* deprecated in libvirt; always NULL here */
    virDomainPtr dom;    /* deprecated in libvirt; always NULL here */
    char *str1;          /* extra information, as the daemon gave it */
    char *str2;
    char *str3;
    int int1;
    int int2;
    virNetworkPtr net; /* deprecated in libvirt; always NULL here */
};

typedef void (*virErrorFunc)(void *userData, virErrorPtr error);

virErrorPtr virGetLastError(void);
int virGetLastErrorCode(void);
int virGetLastErrorDomain(void);
const char *virGetLastErrorMessage(void);
void virResetLastError(void);
virErrorPtr virSaveLastError(void);
int virCopyLastError(virErrorPtr to);
void virResetError(virErrorPtr err);
void virFreeError(virErrorPtr err);
virErrorPtr virConnGetLastError(virConnectPtr conn);
int virConnCopyLastError(virConnectPtr conn, virErrorPtr to);
void virConnResetLastError(virConnectPtr conn);
void virSetErrorFunc(void *userData, virErrorFunc handler);
void virConnSetErrorFunc(virConnectPtr conn, void *userData, virErrorFunc handler);
void virDefaultErrorFunc(virErrorPtr err);

/* ---- library and connections ------------------------------------------------------------ */

int virInitialize(void);
int virGetVersion(unsigned long *libVer, const char *type, unsigned long *typeVer);

typedef enum {
    VIR_CONNECT_RO = (1 << 0),         /* a read-only connection */
    VIR_CONNECT_NO_ALIASES = (1 << 1), /* do not resolve URI aliases */
} virConnectFlags;

typedef enum {
    VIR_CRED_USERNAME = 1,     /* identity to act as */
    VIR_CRED_AUTHNAME = 2,     /* identity to authorize as */
    VIR_CRED_LANGUAGE = 3,     /* RFC 1766 languages, comma separated */
    VIR_CRED_CNONCE = 4,       /* client supplies a nonce */
    VIR_CRED_PASSPHRASE = 5,   /* passphrase secret */
    VIR_CRED_ECHOPROMPT = 6,   /* challenge response */
    VIR_CRED_NOECHOPROMPT = 7, /* challenge response */
    VIR_CRED_REALM = 8,        /* authentication realm */
    VIR_CRED_EXTERNAL = 9,     /* externally managed credential */
} virConnectCredentialType;

typedef struct _virConnectCredential virConnectCredential;
typedef virConnectCredential *virConnectCredentialPtr;
struct _virConnectCredential {
    int type;              /* virConnectCredentialType */
    const char *prompt;    /* prompt to show to user */
    const char *challenge; /* additional challenge to show */
    const char *defresult; /* optional default result */
    char *result;          /* result to be filled with user response (or defresult) */
    unsigned int resultlen; /* length of result */
};

typedef int (*virConnectAuthCallbackPtr)(virConnectCredentialPtr cred, unsigned int ncred,
                                         void *cbdata);

typedef struct _virConnectAuth virConnectAuth;
typedef virConnectAuth *virConnectAuthPtr;
struct _virConnectAuth {
    int *credtype;              /* list of supported virConnectCredentialType values */
    unsigned int ncredtype;
    virConnectAuthCallbackPtr cb; /* callback used to collect credentials */
    void *cbdata;
};

/* Prompts on the controlling terminal. modvirt's local and ssh transports need no
 * credentials from the library (ssh asks for its own), so it is never called today. */
extern virConnectAuthPtr virConnectAuthPtrDefault;

virConnectPtr virConnectOpen(const char *name);
virConnectPtr virConnectOpenReadOnly(const char *name);
virConnectPtr virConnectOpenAuth(const char *name, virConnectAuthPtr auth, unsigned int flags);
int virConnectClose(virConnectPtr conn); /* remaining references, or -1 */
int virConnectRef(virConnectPtr conn);

char *virConnectGetURI(virConnectPtr conn);       /* caller frees */
const char *virConnectGetType(virConnectPtr conn); /* owned by the connection */
char *virConnectGetHostname(virConnectPtr conn);  /* caller frees */
int virConnectGetVersion(virConnectPtr conn, unsigned long *hvVer);
int virConnectGetLibVersion(virConnectPtr conn, unsigned long *libVer);
int virConnectIsAlive(virConnectPtr conn);
int virConnectIsSecure(virConnectPtr conn);
int virConnectIsEncrypted(virConnectPtr conn);

/* interval in seconds (<= 0 disables); the connection is declared dead after `count`
 * unanswered probes. */
int virConnectSetKeepAlive(virConnectPtr conn, int interval, unsigned int count);

typedef enum {
    VIR_CONNECT_CLOSE_REASON_ERROR = 0,     /* misc I/O error */
    VIR_CONNECT_CLOSE_REASON_EOF = 1,       /* end-of-file from server */
    VIR_CONNECT_CLOSE_REASON_KEEPALIVE = 2, /* keepalive timer triggered */
    VIR_CONNECT_CLOSE_REASON_CLIENT = 3,    /* client requested it */
} virConnectCloseReason;

typedef void (*virConnectCloseFunc)(virConnectPtr conn, int reason, void *opaque);
typedef void (*virFreeCallback)(void *opaque);

int virConnectRegisterCloseCallback(virConnectPtr conn, virConnectCloseFunc cb, void *opaque,
                                    virFreeCallback freecb);
int virConnectUnregisterCloseCallback(virConnectPtr conn, virConnectCloseFunc cb);

/* modvirt extension: every later call on conn fails with VIR_ERR_OPERATION_TIMEOUT when
 * no reply came within ms milliseconds (0: no deadline, the default unless the
 * environment sets MODVIRT_CALL_TIMEOUT_MS). 0, or -1 on a bad argument. */
int modvirtConnectSetCallTimeout(virConnectPtr conn, int ms);

/* ---- the host ----------------------------------------------------------------------------- */

typedef struct _virNodeInfo virNodeInfo;
typedef virNodeInfo *virNodeInfoPtr;
struct _virNodeInfo {
    char model[32];       /* CPU model */
    unsigned long memory; /* memory size in kilobytes */
    unsigned int cpus;    /* number of active CPUs */
    unsigned int mhz;     /* expected CPU frequency */
    unsigned int nodes;   /* NUMA cells */
    unsigned int sockets; /* CPU sockets per node */
    unsigned int cores;   /* cores per socket */
    unsigned int threads; /* threads per core */
};

int virNodeGetInfo(virConnectPtr conn, virNodeInfoPtr info);

typedef enum {
    VIR_CONNECT_GET_DOMAIN_CAPABILITIES_DISABLE_DEPRECATED_FEATURES = (1 << 0),
} virConnectGetDomainCapabilitiesFlags;

char *virConnectGetCapabilities(virConnectPtr conn); /* caller frees */
/* Any of emulatorbin, arch, machine, virttype may be NULL (the default). Caller frees. */
char *virConnectGetDomainCapabilities(virConnectPtr conn, const char *emulatorbin,
                                      const char *arch, const char *machine,
                                      const char *virttype, unsigned int flags);
/* nativeFormat "qemu-argv". Caller frees. */
char *virConnectDomainXMLToNative(virConnectPtr conn, const char *nativeFormat,
                                  const char *domainXml, unsigned int flags);

/* ---- domains ----------------------------------------------------------------------------- */

typedef enum {
    VIR_DOMAIN_NOSTATE = 0,     /* no state */
    VIR_DOMAIN_RUNNING = 1,     /* the domain is running */
    VIR_DOMAIN_BLOCKED = 2,     /* the domain is blocked on resource */
    VIR_DOMAIN_PAUSED = 3,      /* the domain is paused by user */
    VIR_DOMAIN_SHUTDOWN = 4,    /* the domain is being shut down */
    VIR_DOMAIN_SHUTOFF = 5,     /* the domain is shut off */
    VIR_DOMAIN_CRASHED = 6,     /* the domain is crashed */
    VIR_DOMAIN_PMSUSPENDED = 7, /* suspended by guest power management */
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_LAST
#endif
} virDomainState;

typedef enum {
    VIR_DOMAIN_NOSTATE_UNKNOWN = 0,
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_NOSTATE_LAST
#endif
} virDomainNostateReason;

typedef enum {
    VIR_DOMAIN_RUNNING_UNKNOWN = 0,
    VIR_DOMAIN_RUNNING_BOOTED = 1,             /* normal startup from boot */
    VIR_DOMAIN_RUNNING_MIGRATED = 2,           /* migrated from another host */
    VIR_DOMAIN_RUNNING_RESTORED = 3,           /* restored from a state file */
    VIR_DOMAIN_RUNNING_FROM_SNAPSHOT = 4,      /* restored from snapshot */
    VIR_DOMAIN_RUNNING_UNPAUSED = 5,           /* returned from paused state */
    VIR_DOMAIN_RUNNING_MIGRATION_CANCELED = 6, /* returned from migration */
    VIR_DOMAIN_RUNNING_SAVE_CANCELED = 7,      /* returned from failed save process */
    VIR_DOMAIN_RUNNING_WAKEUP = 8,             /* returned from pmsuspended on wakeup */
    VIR_DOMAIN_RUNNING_CRASHED = 9,            /* resumed from crashed */
    VIR_DOMAIN_RUNNING_POSTCOPY = 10,          /* running in post-copy migration mode */
    VIR_DOMAIN_RUNNING_POSTCOPY_FAILED = 11,   /* running after failed post-copy */
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_RUNNING_LAST
#endif
} virDomainRunningReason;

typedef enum {
    VIR_DOMAIN_BLOCKED_UNKNOWN = 0,
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_BLOCKED_LAST
#endif
} virDomainBlockedReason;

typedef enum {
    VIR_DOMAIN_PAUSED_UNKNOWN = 0,           /* the reason is unknown */
    VIR_DOMAIN_PAUSED_USER = 1,              /* paused on user request */
    VIR_DOMAIN_PAUSED_MIGRATION = 2,         /* paused for offline migration */
    VIR_DOMAIN_PAUSED_SAVE = 3,              /* paused for save */
    VIR_DOMAIN_PAUSED_DUMP = 4,              /* paused for offline core dump */
    VIR_DOMAIN_PAUSED_IOERROR = 5,           /* paused due to a disk I/O error */
    VIR_DOMAIN_PAUSED_WATCHDOG = 6,          /* paused due to a watchdog event */
    VIR_DOMAIN_PAUSED_FROM_SNAPSHOT = 7,     /* paused after restoring from snapshot */
    VIR_DOMAIN_PAUSED_SHUTTING_DOWN = 8,     /* paused during shutdown process */
    VIR_DOMAIN_PAUSED_SNAPSHOT = 9,          /* paused while creating a snapshot */
    VIR_DOMAIN_PAUSED_CRASHED = 10,          /* paused due to a guest crash */
    VIR_DOMAIN_PAUSED_STARTING_UP = 11,      /* the domain is being started */
    VIR_DOMAIN_PAUSED_POSTCOPY = 12,         /* paused for post-copy migration */
    VIR_DOMAIN_PAUSED_POSTCOPY_FAILED = 13,  /* paused after failed post-copy */
    VIR_DOMAIN_PAUSED_API_ERROR = 14,        /* paused after a failed API call */
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_PAUSED_LAST
#endif
} virDomainPausedReason;

typedef enum {
    VIR_DOMAIN_SHUTDOWN_UNKNOWN = 0, /* the reason is unknown */
    VIR_DOMAIN_SHUTDOWN_USER = 1,    /* shutting down on user request */
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_SHUTDOWN_LAST
#endif
} virDomainShutdownReason;

typedef enum {
    VIR_DOMAIN_SHUTOFF_UNKNOWN = 0,       /* the reason is unknown */
    VIR_DOMAIN_SHUTOFF_SHUTDOWN = 1,      /* normal shutdown */
    VIR_DOMAIN_SHUTOFF_DESTROYED = 2,     /* forced poweroff */
    VIR_DOMAIN_SHUTOFF_CRASHED = 3,       /* domain crashed */
    VIR_DOMAIN_SHUTOFF_MIGRATED = 4,      /* migrated to another host */
    VIR_DOMAIN_SHUTOFF_SAVED = 5,         /* saved to a file */
    VIR_DOMAIN_SHUTOFF_FAILED = 6,        /* domain failed to start */
    VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT = 7, /* restored from a snapshot taken while shut off */
    VIR_DOMAIN_SHUTOFF_DAEMON = 8,        /* daemon decided to kill the domain */
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_SHUTOFF_LAST
#endif
} virDomainShutoffReason;

typedef enum {
    VIR_DOMAIN_CRASHED_UNKNOWN = 0,  /* crashed for unknown reason */
    VIR_DOMAIN_CRASHED_PANICKED = 1, /* domain panicked */
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_CRASHED_LAST
#endif
} virDomainCrashedReason;

typedef enum {
    VIR_DOMAIN_PMSUSPENDED_UNKNOWN = 0,
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_PMSUSPENDED_LAST
#endif
} virDomainPMSuspendedReason;

typedef enum {
    VIR_DOMAIN_PMSUSPENDED_DISK_UNKNOWN = 0,
#ifdef VIR_ENUM_SENTINELS
    VIR_DOMAIN_PMSUSPENDED_DISK_LAST
#endif
} virDomainPMSuspendedDiskReason;

typedef struct _virDomainInfo virDomainInfo;
typedef virDomainInfo *virDomainInfoPtr;
struct _virDomainInfo {
    unsigned char state;        /* the running state, one of virDomainState */
    unsigned long maxMem;       /* the maximum memory in KBytes allowed */
    unsigned long memory;       /* the memory in KBytes used by the domain */
    unsigned short nrVirtCpu;   /* the number of virtual CPUs for the domain */
    unsigned long long cpuTime; /* the CPU time used in nanoseconds */
};

typedef enum {
    VIR_CONNECT_LIST_DOMAINS_ACTIVE = 1 << 0,
    VIR_CONNECT_LIST_DOMAINS_INACTIVE = 1 << 1,
    VIR_CONNECT_LIST_DOMAINS_PERSISTENT = 1 << 2,
    VIR_CONNECT_LIST_DOMAINS_TRANSIENT = 1 << 3,
    VIR_CONNECT_LIST_DOMAINS_RUNNING = 1 << 4,
    VIR_CONNECT_LIST_DOMAINS_PAUSED = 1 << 5,
    VIR_CONNECT_LIST_DOMAINS_SHUTOFF = 1 << 6,
    VIR_CONNECT_LIST_DOMAINS_OTHER = 1 << 7,
    VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE = 1 << 8,
    VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE = 1 << 9,
    VIR_CONNECT_LIST_DOMAINS_AUTOSTART = 1 << 10,
    VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART = 1 << 11,
    VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT = 1 << 12,
    VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT = 1 << 13,
    VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT = 1 << 14,
    VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT = 1 << 15,
} virConnectListAllDomainsFlags;

typedef enum {
    VIR_DOMAIN_XML_SECURE = (1 << 0),     /* dump security sensitive information too */
    VIR_DOMAIN_XML_INACTIVE = (1 << 1),   /* dump inactive domain information */
    VIR_DOMAIN_XML_UPDATE_CPU = (1 << 2), /* update guest CPU requirements per host CPU */
    VIR_DOMAIN_XML_MIGRATABLE = (1 << 3), /* dump XML suitable for migration */
} virDomainXMLFlags;

typedef enum {
    VIR_DOMAIN_DEFINE_VALIDATE = (1 << 0), /* validate the XML document against schema */
} virDomainDefineFlags;

typedef enum {
    VIR_DOMAIN_UNDEFINE_MANAGED_SAVE = (1 << 0),
    VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA = (1 << 1),
    VIR_DOMAIN_UNDEFINE_NVRAM = (1 << 2),
    VIR_DOMAIN_UNDEFINE_KEEP_NVRAM = (1 << 3),
    VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA = (1 << 4),
    VIR_DOMAIN_UNDEFINE_TPM = (1 << 5),
    VIR_DOMAIN_UNDEFINE_KEEP_TPM = (1 << 6),
} virDomainUndefineFlagsValues;

int virConnectListAllDomains(virConnectPtr conn, virDomainPtr **domains, unsigned int flags);
int virConnectNumOfDomains(virConnectPtr conn);
int virConnectListDomains(virConnectPtr conn, int *ids, int maxids);
int virConnectNumOfDefinedDomains(virConnectPtr conn);
int virConnectListDefinedDomains(virConnectPtr conn, char **const names, int maxnames);

virDomainPtr virDomainDefineXML(virConnectPtr conn, const char *xml);
virDomainPtr virDomainDefineXMLFlags(virConnectPtr conn, const char *xml, unsigned int flags);
int virDomainUndefine(virDomainPtr domain);
int virDomainUndefineFlags(virDomainPtr domain, unsigned int flags);

virDomainPtr virDomainLookupByName(virConnectPtr conn, const char *name);
virDomainPtr virDomainLookupByUUID(virConnectPtr conn, const unsigned char *uuid);
virDomainPtr virDomainLookupByUUIDString(virConnectPtr conn, const char *uuid);
virDomainPtr virDomainLookupByID(virConnectPtr conn, int id);

const char *virDomainGetName(virDomainPtr domain);
int virDomainGetUUID(virDomainPtr domain, unsigned char *uuid);
int virDomainGetUUIDString(virDomainPtr domain, char *buf);
unsigned int virDomainGetID(virDomainPtr domain); /* (unsigned int)-1 when inactive */
virConnectPtr virDomainGetConnect(virDomainPtr domain);

char *virDomainGetXMLDesc(virDomainPtr domain, unsigned int flags); /* caller frees */
int virDomainGetInfo(virDomainPtr domain, virDomainInfoPtr info);
int virDomainGetState(virDomainPtr domain, int *state, int *reason, unsigned int flags);
int virDomainGetAutostart(virDomainPtr domain, int *autostart);
int virDomainSetAutostart(virDomainPtr domain, int autostart);
int virDomainIsActive(virDomainPtr domain);
int virDomainIsPersistent(virDomainPtr domain);

/* ---- the lifecycle of running domains -------------------------------------------------- */

typedef enum {
    VIR_DOMAIN_NONE = 0,
    VIR_DOMAIN_START_PAUSED = (1 << 0),
    VIR_DOMAIN_START_AUTODESTROY = (1 << 1),
    VIR_DOMAIN_START_BYPASS_CACHE = (1 << 2),
    VIR_DOMAIN_START_FORCE_BOOT = (1 << 3),
    VIR_DOMAIN_START_VALIDATE = (1 << 4),
    VIR_DOMAIN_START_RESET_NVRAM = (1 << 5),
} virDomainCreateFlags;

typedef enum {
    VIR_DOMAIN_SHUTDOWN_DEFAULT = 0,
    VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN = (1 << 0),
    VIR_DOMAIN_SHUTDOWN_GUEST_AGENT = (1 << 1),
    VIR_DOMAIN_SHUTDOWN_INITCTL = (1 << 2),
    VIR_DOMAIN_SHUTDOWN_SIGNAL = (1 << 3),
    VIR_DOMAIN_SHUTDOWN_PARAVIRT = (1 << 4),
} virDomainShutdownFlagValues;

typedef enum {
    VIR_DOMAIN_REBOOT_DEFAULT = 0,
    VIR_DOMAIN_REBOOT_ACPI_POWER_BTN = (1 << 0),
    VIR_DOMAIN_REBOOT_GUEST_AGENT = (1 << 1),
    VIR_DOMAIN_REBOOT_INITCTL = (1 << 2),
    VIR_DOMAIN_REBOOT_SIGNAL = (1 << 3),
    VIR_DOMAIN_REBOOT_PARAVIRT = (1 << 4),
} virDomainRebootFlagValues;

typedef enum {
    VIR_DOMAIN_DESTROY_DEFAULT = 0,
    VIR_DOMAIN_DESTROY_GRACEFUL = (1 << 0),
    VIR_DOMAIN_DESTROY_REMOVE_LOGS = (1 << 1),
} virDomainDestroyFlagsValues;

/* Start a defined domain; on success the handle carries the new id. */
int virDomainCreate(virDomainPtr domain);
int virDomainCreateWithFlags(virDomainPtr domain, unsigned int flags);
/* Start a transient domain from XML; a new handle (free it) or NULL. */
virDomainPtr virDomainCreateXML(virConnectPtr conn, const char *xmlDesc, unsigned int flags);
int virDomainShutdown(virDomainPtr domain);
int virDomainShutdownFlags(virDomainPtr domain, unsigned int flags);
/* Stop at once; on success the handle's id is -1 again. */
int virDomainDestroy(virDomainPtr domain);
int virDomainDestroyFlags(virDomainPtr domain, unsigned int flags);
int virDomainReboot(virDomainPtr domain, unsigned int flags);
int virDomainReset(virDomainPtr domain, unsigned int flags);
int virDomainSuspend(virDomainPtr domain);
int virDomainResume(virDomainPtr domain);

int virDomainRef(virDomainPtr domain);
int virDomainFree(virDomainPtr domain);

/* Domain events, the event loop, streams and consoles. */
#include <modvirt/modvirt-events.h>

#ifdef __cplusplus
}
#endif

#endif /* MODVIRT_H */
