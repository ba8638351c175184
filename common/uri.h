/* uri.h: connection URIs, driver[+transport]://[user@][host][:port]/path[?params].
 *
 * A pure parser: no lookups, no I/O. Errors name the part that is wrong
 * ("invalid URI 'qemu+foo:///system': unknown transport 'foo'"). */
#ifndef MV_URI_H
#define MV_URI_H

#include <stddef.h>
#include "common/error.h"

typedef struct mv_uri_param {
    char *name;  /* percent-decoded */
    char *value; /* percent-decoded, "" when given without '=' */
} mv_uri_param;

typedef struct mv_uri {
    char *driver;    /* "qemu", "lxc", "xen", "test": lower case letters, digits */
    char *transport; /* "unix", "ssh", "libssh", "libssh2", "tls", "tcp", "ext", or NULL */
    char *user;      /* percent-decoded, or NULL */
    char *host;      /* without brackets for IPv6 literals, or NULL for local */
    int port;        /* 1..65535, 0 when absent */
    char *path;      /* "/system", "/session", "/" or "" when absent; percent-decoded */
    mv_uri_param *params;
    size_t nparams;
} mv_uri;

/* Parses s into a new mv_uri owned by the caller. -1 and VIR_ERR_INVALID_ARG
 * (domain VIR_FROM_URI) naming the bad part. */
int mv_uri_parse(const char *s, mv_uri **out, mv_error *err);
void mv_uri_free(mv_uri *u);

/* The value of a query parameter (last one wins), or NULL. */
const char *mv_uri_param_get(const mv_uri *u, const char *name);

/* Formats back to a string (percent-encoding where needed). malloc'd; NULL on ENOMEM.
 * with_transport/with_host false gives the form sent to a remote daemon
 * ("qemu+ssh://h/system" -> "qemu:///system"). */
char *mv_uri_format(const mv_uri *u, int with_transport_and_host);

/* True when the URI names this machine's daemons (no host, or transport unix). */
int mv_uri_is_local(const mv_uri *u);

#endif
