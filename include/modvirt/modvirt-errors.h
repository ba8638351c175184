/* modvirt-errors.h: libvirt's error codes and domains, declared once as X-macro lists.
 *
 * The public enums (virErrorNumber, virErrorDomain) and the library's message table
 * are both expanded from these lists, so a code and its text cannot drift apart.
 * Numbers are libvirt's, so programs written for libvirt see the values they expect.
 *
 * VIR_ERROR_CODE_MAP(XX): XX(NAME, number, "message when a detail is given") where the
 * message holds one %s for the detail. */
#ifndef MODVIRT_ERRORS_H
#define MODVIRT_ERRORS_H

#define VIR_ERROR_CODE_MAP(XX)                                                              \
    XX(VIR_ERR_OK, 0, "%s")                                                                 \
    XX(VIR_ERR_INTERNAL_ERROR, 1, "internal error: %s")                                     \
    XX(VIR_ERR_NO_MEMORY, 2, "out of memory: %s")                                           \
    XX(VIR_ERR_NO_SUPPORT, 3, "this function is not supported by the connection driver: %s") \
    XX(VIR_ERR_UNKNOWN_HOST, 4, "unknown host %s")                                          \
    XX(VIR_ERR_NO_CONNECT, 5, "no connection driver available for %s")                      \
    XX(VIR_ERR_INVALID_CONN, 6, "invalid connection pointer in %s")                         \
    XX(VIR_ERR_INVALID_DOMAIN, 7, "invalid domain pointer in %s")                           \
    XX(VIR_ERR_INVALID_ARG, 8, "invalid argument: %s")                                      \
    XX(VIR_ERR_OPERATION_FAILED, 9, "operation failed: %s")                                 \
    XX(VIR_ERR_GET_FAILED, 10, "GET operation failed: %s")                                  \
    XX(VIR_ERR_POST_FAILED, 11, "POST operation failed: %s")                                \
    XX(VIR_ERR_HTTP_ERROR, 12, "got unknown HTTP error code %s")                            \
    XX(VIR_ERR_SEXPR_SERIAL, 13, "failed to serialize S-Expr: %s")                          \
    XX(VIR_ERR_NO_XEN, 14, "could not use Xen hypervisor entry %s")                         \
    XX(VIR_ERR_XEN_CALL, 15, "failed Xen syscall %s")                                       \
    XX(VIR_ERR_OS_TYPE, 16, "unknown OS type %s")                                           \
    XX(VIR_ERR_NO_KERNEL, 17, "missing kernel information: %s")                             \
    XX(VIR_ERR_NO_ROOT, 18, "missing root device information in %s")                        \
    XX(VIR_ERR_NO_SOURCE, 19, "missing source information for device %s")                   \
    XX(VIR_ERR_NO_TARGET, 20, "missing target information for device %s")                   \
    XX(VIR_ERR_NO_NAME, 21, "missing name information in %s")                               \
    XX(VIR_ERR_NO_OS, 22, "missing operating system information for %s")                    \
    XX(VIR_ERR_NO_DEVICE, 23, "missing devices information for %s")                         \
    XX(VIR_ERR_NO_XENSTORE, 24, "could not connect to Xen Store %s")                        \
    XX(VIR_ERR_DRIVER_FULL, 25, "too many drivers registered in %s")                        \
    XX(VIR_ERR_CALL_FAILED, 26, "library call failed: %s")                                  \
    XX(VIR_ERR_XML_ERROR, 27, "XML error: %s")                                              \
    XX(VIR_ERR_DOM_EXIST, 28, "domain %s exists already")                                   \
    XX(VIR_ERR_OPERATION_DENIED, 29, "operation forbidden: %s")                             \
    XX(VIR_ERR_OPEN_FAILED, 30, "failed to open configuration file %s")                     \
    XX(VIR_ERR_READ_FAILED, 31, "failed to read configuration file %s")                     \
    XX(VIR_ERR_PARSE_FAILED, 32, "failed to parse configuration file %s")                   \
    XX(VIR_ERR_CONF_SYNTAX, 33, "configuration file syntax error: %s")                      \
    XX(VIR_ERR_WRITE_FAILED, 34, "failed to write configuration file: %s")                  \
    XX(VIR_ERR_XML_DETAIL, 35, "%s")                                                        \
    XX(VIR_ERR_INVALID_NETWORK, 36, "invalid network pointer in %s")                        \
    XX(VIR_ERR_NETWORK_EXIST, 37, "network %s exists already")                              \
    XX(VIR_ERR_SYSTEM_ERROR, 38, "%s")                                                      \
    XX(VIR_ERR_RPC, 39, "%s")                                                               \
    XX(VIR_ERR_GNUTLS_ERROR, 40, "%s")                                                      \
    XX(VIR_WAR_NO_NETWORK, 41, "Failed to find the network: %s")                            \
    XX(VIR_ERR_NO_DOMAIN, 42, "Domain not found: %s")                                       \
    XX(VIR_ERR_NO_NETWORK, 43, "Network not found: %s")                                     \
    XX(VIR_ERR_INVALID_MAC, 44, "invalid MAC address: %s")                                  \
    XX(VIR_ERR_AUTH_FAILED, 45, "authentication failed: %s")                                \
    XX(VIR_ERR_INVALID_STORAGE_POOL, 46, "invalid storage pool pointer in %s")              \
    XX(VIR_ERR_INVALID_STORAGE_VOL, 47, "invalid storage volume pointer in %s")             \
    XX(VIR_WAR_NO_STORAGE, 48, "Failed to find a storage driver: %s")                       \
    XX(VIR_ERR_NO_STORAGE_POOL, 49, "Storage pool not found: %s")                           \
    XX(VIR_ERR_NO_STORAGE_VOL, 50, "Storage volume not found: %s")                          \
    XX(VIR_WAR_NO_NODE, 51, "Failed to find a node driver: %s")                             \
    XX(VIR_ERR_INVALID_NODE_DEVICE, 52, "invalid node device pointer in %s")                \
    XX(VIR_ERR_NO_NODE_DEVICE, 53, "Node device not found: %s")                             \
    XX(VIR_ERR_NO_SECURITY_MODEL, 54, "Security model not found: %s")                       \
    XX(VIR_ERR_OPERATION_INVALID, 55, "Requested operation is not valid: %s")               \
    XX(VIR_WAR_NO_INTERFACE, 56, "Failed to find the interface: %s")                        \
    XX(VIR_ERR_NO_INTERFACE, 57, "Interface not found: %s")                                 \
    XX(VIR_ERR_INVALID_INTERFACE, 58, "invalid interface pointer in %s")                    \
    XX(VIR_ERR_MULTIPLE_INTERFACES, 59, "multiple matching interfaces found: %s")           \
    XX(VIR_WAR_NO_NWFILTER, 60, "Failed to start the nwfilter driver: %s")                  \
    XX(VIR_ERR_INVALID_NWFILTER, 61, "Invalid network filter: %s")                          \
    XX(VIR_ERR_NO_NWFILTER, 62, "Network filter not found: %s")                             \
    XX(VIR_ERR_BUILD_FIREWALL, 63, "Error while building firewall: %s")                     \
    XX(VIR_WAR_NO_SECRET, 64, "Failed to find a secret storage driver: %s")                 \
    XX(VIR_ERR_INVALID_SECRET, 65, "Invalid secret: %s")                                    \
    XX(VIR_ERR_NO_SECRET, 66, "Secret not found: %s")                                       \
    XX(VIR_ERR_CONFIG_UNSUPPORTED, 67, "unsupported configuration: %s")                     \
    XX(VIR_ERR_OPERATION_TIMEOUT, 68, "Timed out during operation: %s")                     \
    XX(VIR_ERR_MIGRATE_PERSIST_FAILED, 69, "Failed to make domain persistent after migration: %s") \
    XX(VIR_ERR_HOOK_SCRIPT_FAILED, 70, "Hook script execution failed: %s")                  \
    XX(VIR_ERR_INVALID_DOMAIN_SNAPSHOT, 71, "Invalid domain snapshot: %s")                  \
    XX(VIR_ERR_NO_DOMAIN_SNAPSHOT, 72, "Domain snapshot not found: %s")                     \
    XX(VIR_ERR_INVALID_STREAM, 73, "invalid stream pointer in %s")                          \
    XX(VIR_ERR_ARGUMENT_UNSUPPORTED, 74, "argument unsupported: %s")                        \
    XX(VIR_ERR_STORAGE_PROBE_FAILED, 75, "Storage pool probe failed: %s")                   \
    XX(VIR_ERR_STORAGE_POOL_BUILT, 76, "Storage pool already built: %s")                    \
    XX(VIR_ERR_SNAPSHOT_REVERT_RISKY, 77, "revert requires force: %s")                      \
    XX(VIR_ERR_OPERATION_ABORTED, 78, "operation aborted: %s")                              \
    XX(VIR_ERR_AUTH_CANCELLED, 79, "authentication cancelled: %s")                          \
    XX(VIR_ERR_NO_DOMAIN_METADATA, 80, "metadata not found: %s")                            \
    XX(VIR_ERR_MIGRATE_UNSAFE, 81, "Unsafe migration: %s")                                  \
    XX(VIR_ERR_OVERFLOW, 82, "numerical overflow: %s")                                      \
    XX(VIR_ERR_BLOCK_COPY_ACTIVE, 83, "block copy still active: %s")                        \
    XX(VIR_ERR_OPERATION_UNSUPPORTED, 84, "Operation not supported: %s")                    \
    XX(VIR_ERR_SSH, 85, "SSH transport error: %s")                                          \
    XX(VIR_ERR_AGENT_UNRESPONSIVE, 86, "Guest agent is not responding: %s")                 \
    XX(VIR_ERR_RESOURCE_BUSY, 87, "resource busy: %s")                                      \
    XX(VIR_ERR_ACCESS_DENIED, 88, "access denied: %s")                                      \
    XX(VIR_ERR_DBUS_SERVICE, 89, "error from service: %s")                                  \
    XX(VIR_ERR_STORAGE_VOL_EXIST, 90, "storage volume %s exists already")                   \
    XX(VIR_ERR_CPU_INCOMPATIBLE, 91, "the CPU is incompatible with host CPU: %s")           \
    XX(VIR_ERR_XML_INVALID_SCHEMA, 92, "XML document failed to validate against schema: %s") \
    XX(VIR_ERR_MIGRATE_FINISH_OK, 93, "migration successfully aborted: %s")                 \
    XX(VIR_ERR_AUTH_UNAVAILABLE, 94, "authentication unavailable: %s")                      \
    XX(VIR_ERR_NO_SERVER, 95, "Server not found: %s")                                       \
    XX(VIR_ERR_NO_CLIENT, 96, "Client not found: %s")                                       \
    XX(VIR_ERR_AGENT_UNSYNCED, 97, "guest agent replied with wrong id to guest-sync command: %s") \
    XX(VIR_ERR_LIBSSH, 98, "libssh transport error: %s")                                    \
    XX(VIR_ERR_DEVICE_MISSING, 99, "device not found: %s")                                  \
    XX(VIR_ERR_INVALID_NWFILTER_BINDING, 100, "Invalid network filter binding: %s")         \
    XX(VIR_ERR_NO_NWFILTER_BINDING, 101, "Network filter binding not found: %s")            \
    XX(VIR_ERR_INVALID_DOMAIN_CHECKPOINT, 102, "Invalid domain checkpoint: %s")             \
    XX(VIR_ERR_NO_DOMAIN_CHECKPOINT, 103, "Domain checkpoint not found: %s")                \
    XX(VIR_ERR_NO_DOMAIN_BACKUP, 104, "Domain backup job id not found: %s")                 \
    XX(VIR_ERR_INVALID_NETWORK_PORT, 105, "Invalid network port pointer: %s")               \
    XX(VIR_ERR_NETWORK_PORT_EXIST, 106, "network port %s exists already")                   \
    XX(VIR_ERR_NO_NETWORK_PORT, 107, "network port not found: %s")                          \
    XX(VIR_ERR_NO_HOSTNAME, 108, "no hostname found: %s")                                   \
    XX(VIR_ERR_CHECKPOINT_INCONSISTENT, 109, "checkpoint inconsistent: %s")                 \
    XX(VIR_ERR_MULTIPLE_DOMAINS, 110, "multiple matching domains found: %s")

/* VIR_ERROR_DOMAIN_MAP(XX): XX(NAME, number) — where an error was raised. */
#define VIR_ERROR_DOMAIN_MAP(XX)                                                            \
    XX(VIR_FROM_NONE, 0) XX(VIR_FROM_XEN, 1) XX(VIR_FROM_XEND, 2) XX(VIR_FROM_XENSTORE, 3)  \
    XX(VIR_FROM_SEXPR, 4) XX(VIR_FROM_XML, 5) XX(VIR_FROM_DOM, 6) XX(VIR_FROM_RPC, 7)       \
    XX(VIR_FROM_PROXY, 8) XX(VIR_FROM_CONF, 9) XX(VIR_FROM_QEMU, 10) XX(VIR_FROM_NET, 11)  \
    XX(VIR_FROM_TEST, 12) XX(VIR_FROM_REMOTE, 13) XX(VIR_FROM_OPENVZ, 14)                   \
    XX(VIR_FROM_XENXM, 15) XX(VIR_FROM_STATS_LINUX, 16) XX(VIR_FROM_LXC, 17)                \
    XX(VIR_FROM_STORAGE, 18) XX(VIR_FROM_NETWORK, 19) XX(VIR_FROM_DOMAIN, 20)               \
    XX(VIR_FROM_UML, 21) XX(VIR_FROM_NODEDEV, 22) XX(VIR_FROM_XEN_INOTIFY, 23)              \
    XX(VIR_FROM_SECURITY, 24) XX(VIR_FROM_VBOX, 25) XX(VIR_FROM_INTERFACE, 26)              \
    XX(VIR_FROM_ONE, 27) XX(VIR_FROM_ESX, 28) XX(VIR_FROM_PHYP, 29) XX(VIR_FROM_SECRET, 30) \
    XX(VIR_FROM_CPU, 31) XX(VIR_FROM_XENAPI, 32) XX(VIR_FROM_NWFILTER, 33)                  \
    XX(VIR_FROM_HOOK, 34) XX(VIR_FROM_DOMAIN_SNAPSHOT, 35) XX(VIR_FROM_AUDIT, 36)           \
    XX(VIR_FROM_SYSINFO, 37) XX(VIR_FROM_STREAMS, 38) XX(VIR_FROM_VMWARE, 39)               \
    XX(VIR_FROM_EVENT, 40) XX(VIR_FROM_LIBXL, 41) XX(VIR_FROM_LOCKING, 42)                  \
    XX(VIR_FROM_HYPERV, 43) XX(VIR_FROM_CAPABILITIES, 44) XX(VIR_FROM_URI, 45)              \
    XX(VIR_FROM_AUTH, 46) XX(VIR_FROM_DBUS, 47) XX(VIR_FROM_PARALLELS, 48)                  \
    XX(VIR_FROM_DEVICE, 49) XX(VIR_FROM_SSH, 50) XX(VIR_FROM_LOCKSPACE, 51)                 \
    XX(VIR_FROM_INITCTL, 52) XX(VIR_FROM_IDENTITY, 53) XX(VIR_FROM_CGROUP, 54)              \
    XX(VIR_FROM_ACCESS, 55) XX(VIR_FROM_SYSTEMD, 56) XX(VIR_FROM_BHYVE, 57)                 \
    XX(VIR_FROM_CRYPTO, 58) XX(VIR_FROM_FIREWALL, 59) XX(VIR_FROM_POLKIT, 60)               \
    XX(VIR_FROM_THREAD, 61) XX(VIR_FROM_ADMIN, 62) XX(VIR_FROM_LOGGING, 63)                 \
    XX(VIR_FROM_XENXL, 64) XX(VIR_FROM_PERF, 65) XX(VIR_FROM_LIBSSH, 66)                    \
    XX(VIR_FROM_RESCTRL, 67) XX(VIR_FROM_FIREWALLD, 68) XX(VIR_FROM_DOMAIN_CHECKPOINT, 69)  \
    XX(VIR_FROM_TPM, 70) XX(VIR_FROM_BPF, 71) XX(VIR_FROM_CH, 72)

#define VIR__ERR_ENUM(name, num, msg) name = num,
#define VIR__FROM_ENUM(name, num) name = num,

/* virErrorNumber: what went wrong. */
typedef enum { VIR_ERROR_CODE_MAP(VIR__ERR_ENUM) VIR_ERR_NUMBER_LAST } virErrorNumber;

/* virErrorDomain: which part raised it. */
typedef enum { VIR_ERROR_DOMAIN_MAP(VIR__FROM_ENUM) VIR_ERR_DOMAIN_LAST } virErrorDomain;

/* virErrorLevel: how serious it is. */
typedef enum {
    VIR_ERR_NONE = 0,
    VIR_ERR_WARNING = 1,
    VIR_ERR_ERROR = 2,
} virErrorLevel;

#undef VIR__ERR_ENUM
#undef VIR__FROM_ENUM

#endif /* MODVIRT_ERRORS_H */
