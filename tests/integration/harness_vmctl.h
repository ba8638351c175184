/* harness_vmctl.h: checking what vmctl does — one run against its exact exit status,
 * stdout and stderr, a table of runs, or a domain defined from a file. Header-only
 * (cmocka assertions), like harness_guest.h. */
#ifndef MVT_HARNESS_VMCTL_H
#define MVT_HARNESS_VMCTL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Asserts that r exited with status and printed exactly out and err (the failure shows
 * both sides of all three); frees r. */
static inline void mvt_expect(mvt_result *r, int status, const char *out, const char *err)
{
    if (r->status != status || strcmp(r->out, out) != 0 || strcmp(r->err, err) != 0)
        fail_msg("status %d, out:\n%s\nerr:\n%s\nexpected %d, out:\n%s\nerr:\n%s", r->status,
                 r->out, r->err, status, out, err);
    mvt_result_free(r);
}

/* r succeeded, printing exactly out and nothing on stderr; frees r. */
static inline void mvt_expect_ok(mvt_result *r, const char *out)
{
    mvt_expect(r, 0, out, "");
}

/* A vmctl run (its arguments) and what it must print. Fields left out mean nothing on
 * stderr and exit 0. */
typedef struct mvt_vmctl_case {
    const char *args[8];
    const char *out;
    const char *err;
    int status;
} mvt_vmctl_case;

/* Runs each case in turn (30 s each), naming the one that fails. */
static inline void mvt_vmctl_cases(const mvt_vmctl_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *argv[10] = {"vmctl"};
        char line[256] = "vmctl";
        mvt_result r;
        for (size_t k = 0; k < 8 && cases[i].args[k]; k++) {
            argv[k + 1] = cases[i].args[k];
            snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s", cases[i].args[k]);
        }
        assert_int_equal(mvt_run(&r, argv, NULL, 30000), 0);
        const char *err = cases[i].err ? cases[i].err : "";
        if (r.status != cases[i].status || strcmp(r.out, cases[i].out) != 0 ||
            strcmp(r.err, err) != 0)
            fprintf(stderr, "case %zu: %s\n", i, line);
        mvt_expect(&r, cases[i].status, cases[i].out, err);
    }
}


/* Writes xml to <root>/<name>.xml and runs `vmctl [-c uri] define` on it (uri NULL: the
 * default URI), which must print exactly virsh's "Domain 'NAME' defined from FILE" and
 * nothing on stderr. */
static inline void mvt_vmctl_define(const mvt_env *e, const char *uri, const char *name,
                                    const char *xml)
{
    char rel[128], want[512];
    snprintf(rel, sizeof(rel), "%s.xml", name);
    assert_int_equal(mvt_write(e, rel, xml), 0);
    char *path = mvt_path(e, rel);
    assert_non_null(path);
    snprintf(want, sizeof(want), "Domain '%s' defined from %s\n\n", name, path);
    mvt_result r;
    if (uri)
        assert_int_equal(mvt_vmctl(&r, "-c", uri, "define", path, NULL), 0);
    else
        assert_int_equal(mvt_vmctl(&r, "define", path, NULL), 0);
    mvt_expect(&r, 0, want, "");
    free(path);
}

#endif
