/* qemu_api.h: the public API constants the driver interprets (virDomainState, list
 * filters, XML, define and undefine flags), from <modvirt/modvirt.h>. */
#ifndef QEMU_API_H
#define QEMU_API_H

#if __has_include(<modvirt/modvirt.h>)
#include <modvirt/modvirt.h>
#else
/* Until the public header lands: libvirt's values, which modvirt.h must equal. */
typedef enum {
    VIR_DOMAIN_NOSTATE = 0,
    VIR_DOMAIN_RUNNING = 1,
    VIR_DOMAIN_BLOCKED = 2,
    VIR_DOMAIN_PAUSED = 3,
    VIR_DOMAIN_SHUTDOWN = 4,
    VIR_DOMAIN_SHUTOFF = 5,
    VIR_DOMAIN_CRASHED = 6,
    VIR_DOMAIN_PMSUSPENDED = 7,
} virDomainState;

typedef enum {
    VIR_DOMAIN_SHUTOFF_UNKNOWN = 0,
} virDomainShutoffReason;

typedef enum {
    VIR_CONNECT_RO = 1 << 0,
    VIR_CONNECT_NO_ALIASES = 1 << 1,
} virConnectFlags;

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
    VIR_DOMAIN_XML_SECURE = 1 << 0,
    VIR_DOMAIN_XML_INACTIVE = 1 << 1,
    VIR_DOMAIN_XML_UPDATE_CPU = 1 << 2,
    VIR_DOMAIN_XML_MIGRATABLE = 1 << 3,
} virDomainXMLFlags;

typedef enum {
    VIR_DOMAIN_DEFINE_VALIDATE = 1 << 0,
} virDomainDefineFlags;

typedef enum {
    VIR_DOMAIN_UNDEFINE_MANAGED_SAVE = 1 << 0,
    VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA = 1 << 1,
    VIR_DOMAIN_UNDEFINE_NVRAM = 1 << 2,
    VIR_DOMAIN_UNDEFINE_KEEP_NVRAM = 1 << 3,
    VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA = 1 << 4,
    VIR_DOMAIN_UNDEFINE_TPM = 1 << 5,
    VIR_DOMAIN_UNDEFINE_KEEP_TPM = 1 << 6,
} virDomainUndefineFlagsValues;
#endif

/* Every filter flag of virConnectListAllDomains (libvirt spells this one out only in
 * its own sources). */
#define QEMU_LIST_DOMAINS_FILTERS_ALL 0xffffu

#endif
