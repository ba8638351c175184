/* test_other_users.c: another user on the host reaches the 0666 read-only socket (and only
 * that one): `vmctl -r` lists, reads and is refused changes; the 0600 read-write socket
 * stays closed to them. The test runs vmctl as uid/gid 65534 through setpriv. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "harness_vmctl.h"

#define SETPRIV "/usr/bin/setpriv"

static int setup(void **state)
{
    if (mvt_setup_state(state) < 0)
        return -1;
    mvt_env *e = *state;
    /* mkdtemp made the root 0700; a host's /run is open to everyone. */
    chmod(e->root, 0755);
    return 0;
}

/* vmctl as the unprivileged user, with the test's root. */
static void vmctl_as_nobody(mvt_result *r, const mvt_env *e, const char *a1, const char *a2,
                            const char *a3)
{
    char root_env[128];
    snprintf(root_env, sizeof(root_env), "MODVIRT_ROOT=%s", e->root);
    const char *argv[] = {SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups",
                          "/usr/bin/env", root_env, mvt_bin("vmctl"), a1, a2, a3, NULL};
    assert_int_equal(mvt_run(r, argv, NULL, 30000), 0);
}

static void test_readonly_socket_for_other_users(void **state)
{
    mvt_env *e = *state;
    if (geteuid() != 0 || access(SETPRIV, X_OK) != 0) {
        print_message("needs root and %s\n", SETPRIV);
        skip();
    }
    mvt_result r;
    char *xml = mvt_domain_xml("shared", NULL);
    assert_non_null(xml);
    mvt_vmctl_define(e, NULL, "shared", xml);
    free(xml);

    struct stat st;
    assert_int_equal(stat(e->run_dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);

    vmctl_as_nobody(&r, e, "-r", "list", "--all");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, " -    shared   shut off"));
    mvt_result_free(&r);

    vmctl_as_nobody(&r, e, "-r", "domstate", "shared");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "shut off\n\n");
    mvt_result_free(&r);

    vmctl_as_nobody(&r, e, "-r", "undefine", "shared");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "read only access prevents virDomainUndefine"));
    mvt_result_free(&r);

    /* Without -r the library goes to the read-write socket, which is root's alone. */
    vmctl_as_nobody(&r, e, "list", "--all", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "Permission denied"));
    mvt_result_free(&r);

    mvt_vmctl(&r, "list", "--all", "--name", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "shared\n\n"); /* nothing was changed */
    mvt_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readonly_socket_for_other_users, setup,
                                        mvt_teardown_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
