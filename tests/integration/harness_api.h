/* harness_api.h: small helpers for integration tests that drive libmodvirt directly —
 * capturing a thread's last error, listing or defining domains in one line, and
 * counting a connection's close callbacks. */
#ifndef MVT_HARNESS_API_H
#define MVT_HARNESS_API_H

#include <modvirt/modvirt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "harness.h"

/* The calling thread's last libmodvirt error, copied (it is per thread). */
typedef struct mvt_api_error {
    int code;
    int domain;
    char message[1024];
} mvt_api_error;

static inline void mvt_api_error_take(mvt_api_error *e)
{
    virErrorPtr err = virGetLastError();
    e->code = err ? err->code : 0;
    e->domain = err ? err->domain : 0;
    snprintf(e->message, sizeof(e->message), "%s", err && err->message ? err->message : "");
}

static inline int mvt_api_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every domain's name (ListAllDomains), sorted, each followed by '\n'; "" when there are
 * none; NULL on failure (the thread's last error says why). malloc'd. */
static inline char *mvt_api_names(virConnectPtr conn)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, 0);
    if (n < 0)
        return NULL;
    const char **names = calloc((size_t)n + 1, sizeof(*names));
    size_t len = 1;
    for (int i = 0; i < n && names; i++) {
        names[i] = virDomainGetName(doms[i]);
        len += strlen(names[i]) + 1;
    }
    char *out = names ? malloc(len) : NULL;
    if (out) {
        qsort(names, (size_t)n, sizeof(*names), mvt_api_cmp_str);
        out[0] = '\0';
        for (int i = 0; i < n; i++) {
            strcat(out, names[i]);
            strcat(out, "\n");
        }
    }
    free(names);
    for (int i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
    return out;
}

/* Defines mvt_domain_xml(name); 0 or -1 (the thread's last error says why). */
static inline int mvt_api_define(virConnectPtr conn, const char *name)
{
    char *xml = mvt_domain_xml(name, NULL);
    virDomainPtr d = xml ? virDomainDefineXML(conn, xml) : NULL;
    free(xml);
    if (!d)
        return -1;
    virDomainFree(d);
    return 0;
}


/* A connection's close callback as something a test can wait on: each call counts one
 * on an eventfd (the callback runs on the library's reader thread). */
typedef struct mvt_close_seen {
    int fd;
    int reason; /* the last call's, -1 before any */
} mvt_close_seen;

static inline void mvt_on_close(virConnectPtr conn, int reason, void *opaque)
{
    mvt_close_seen *cs = opaque;
    (void)conn;
    cs->reason = reason;
    uint64_t one = 1;
    ssize_t n = write(cs->fd, &one, sizeof(one));
    (void)n;
}

/* Registers mvt_on_close on conn, counting into cs (close cs->fd when done). 0 or -1. */
static inline int mvt_close_watch(virConnectPtr conn, mvt_close_seen *cs)
{
    cs->reason = -1;
    cs->fd = eventfd(0, EFD_CLOEXEC);
    if (cs->fd < 0)
        return -1;
    if (virConnectRegisterCloseCallback(conn, mvt_on_close, cs, NULL) < 0) {
        close(cs->fd);
        cs->fd = -1;
        return -1;
    }
    return 0;
}

/* Waits up to timeout_ms for the callback: how many times it ran since the last wait
 * (0 when it did not run in time), or -1 on an error. */
static inline int mvt_close_wait(mvt_close_seen *cs, int timeout_ms)
{
    struct pollfd p = {.fd = cs->fd, .events = POLLIN};
    int rc = poll(&p, 1, timeout_ms);
    if (rc <= 0)
        return rc;
    uint64_t count = 0;
    if (read(cs->fd, &count, sizeof(count)) != (ssize_t)sizeof(count))
        return -1;
    return (int)count;
}

#endif
