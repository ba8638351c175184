/* harness_api.h: small helpers for integration tests that drive libmodvirt directly —
 * capturing a thread's last error and listing or defining domains in one line. */
#ifndef MVT_HARNESS_API_H
#define MVT_HARNESS_API_H

#include <modvirt/modvirt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#endif
