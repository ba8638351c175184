/* fuzz_uri.c: the URI parser on arbitrary text; whatever it accepts must format and parse
 * back to the same parts (mv_uri_format round-trips). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/uri.h"

#define URI_MAX 4096 /* uri.c's limit: longer formatted forms cannot be re-parsed */

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void check_same_parts(const mv_uri *a, const mv_uri *b)
{
    if (!same(a->driver, b->driver) || !same(a->transport, b->transport) ||
        !same(a->user, b->user) || !same(a->host, b->host) || a->port != b->port ||
        !same(a->path, b->path) || a->nparams != b->nparams)
        __builtin_trap();
    for (size_t i = 0; i < a->nparams; i++) {
        if (!same(a->params[i].name, b->params[i].name) ||
            !same(a->params[i].value, b->params[i].value))
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    mv_uri *u = NULL;
    mv_error err = MV_ERROR_INIT;
    if (mv_uri_parse(s, &u, &err) < 0) {
        /* a refusal always explains itself, in the URI domain */
        if (u || !err.message || err.domain != VIR_FROM_URI)
            __builtin_trap();
        goto cleanup;
    }
    if (mv_error_is_set(&err))
        __builtin_trap();
    (void)mv_uri_is_local(u);
    (void)mv_uri_param_get(u, "socket");

    char *full = mv_uri_format(u, 1);
    if (!full)
        __builtin_trap();
    if (strlen(full) <= URI_MAX) {
        mv_uri *again = NULL;
        if (mv_uri_parse(full, &again, &err) < 0)
            __builtin_trap();
        check_same_parts(u, again);
        /* formatting is a fixed point after one round */
        char *full2 = mv_uri_format(again, 1);
        if (!full2 || strcmp(full, full2) != 0)
            __builtin_trap();
        free(full2);
        mv_uri_free(again);
    }
    char *remote = mv_uri_format(u, 0);
    if (!remote)
        __builtin_trap();
    if (strlen(remote) <= URI_MAX) {
        mv_uri *r = NULL;
        if (mv_uri_parse(remote, &r, &err) < 0)
            __builtin_trap();
        if (r->transport || r->host || r->user || r->port || !same(r->path, u->path))
            __builtin_trap();
        mv_uri_free(r);
    }
    free(remote);
    free(full);
cleanup:
    mv_uri_free(u);
    mv_error_clear(&err);
    free(s);
    return 0;
}
