/* test_examples.c: libvirt's own example programs (Debian's libvirt-doc), compiled
 * unchanged with the system cc against our compatibility headers and libmodvirt.so, then
 * run against the real daemons. Skipped (77) without libvirt-doc or cc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "harness_vmctl.h"

#define EXAMPLES "/usr/share/doc/libvirt-doc/examples/c"
#define HELLO_SRC EXAMPLES "/misc/hellolibvirt.c"
#define INFO1_SRC EXAMPLES "/domain/info1.c"
#define CC "/usr/bin/cc"

/* Where the compiled examples live for this run (removed at the end). */
static char bin_dir[64];
static char hello[128], info1[128];

static int unlink_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* cc -Wall <src> -I include -L build/lib -lmodvirt (+ the library's sanitizers). */
static int compile(const char *src, const char *out)
{
    char inc[512], libdir[512], rpath[600];
    snprintf(inc, sizeof(inc), "-I%s/include", MODVIRT_SOURCE_DIR);
    snprintf(libdir, sizeof(libdir), "-L%s/lib", MODVIRT_BUILD_DIR);
    snprintf(rpath, sizeof(rpath), "-Wl,-rpath,%s/lib", MODVIRT_BUILD_DIR);
    const char *argv[16];
    int n = 0;
    argv[n++] = CC;
    argv[n++] = "-Wall";
    argv[n++] = inc;
    argv[n++] = "-o";
    argv[n++] = out;
    argv[n++] = src;
    argv[n++] = libdir;
    argv[n++] = "-lmodvirt";
    argv[n++] = rpath;
    if (MVT_APP_CFLAGS[0])
        argv[n++] = MVT_APP_CFLAGS;
    argv[n] = NULL;
    mvt_result r;
    if (mvt_run(&r, argv, NULL, 120000) < 0)
        return -1;
    int ok = r.status == 0 && r.err[0] == '\0';
    if (!ok)
        fprintf(stderr, "compiling %s (status %d):\n%s", src, r.status, r.err);
    mvt_result_free(&r);
    return ok ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(bin_dir, sizeof(bin_dir), "/tmp/mvt-ex.XXXXXX");
    if (!mkdtemp(bin_dir))
        return -1;
    snprintf(hello, sizeof(hello), "%s/hellolibvirt", bin_dir);
    snprintf(info1, sizeof(info1), "%s/info1", bin_dir);
    return compile(HELLO_SRC, hello) == 0 && compile(INFO1_SRC, info1) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (bin_dir[0])
        nftw(bin_dir, unlink_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static int setup(void **state)
{
    if (mvt_setup_state(state) < 0)
        return -1;
    /* the stand-in qemu makes the reported version known: 8.1.3 */
    char conf[512];
    snprintf(conf, sizeof(conf), "qemu_binary = \"%s\"\n", MVT_FAKE_QEMU);
    if (mvt_write(*state, "etc/modvirt/virtqemud.conf", conf) < 0) {
        mvt_teardown_state(state);
        return -1;
    }
    return 0;
}

static void define(const mvt_env *e, const char *name, unsigned vcpus)
{
    char *xml = mvt_domain_xml_sized(name, NULL, 64, 0, vcpus);
    assert_non_null(xml);
    mvt_vmctl_define(e, NULL, name, xml);
    free(xml);
}

static void run(mvt_result *r, const char *prog, const char *arg1, const char *arg2)
{
    const char *argv[] = {prog, arg1, arg2, NULL};
    assert_int_equal(mvt_run(r, argv, NULL, 30000), 0);
}

static void test_hellolibvirt(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    const char *uri = geteuid() == 0 ? "qemu:///system" : "qemu:///session";
    char want[1024];

    /* no argument: the default URI; a bare root: the library starts the daemons */
    run(&r, hello, NULL, NULL);
    snprintf(want, sizeof(want),
             "Attempting to connect to hypervisor\n"
             "Connected to hypervisor at \"%s\"\n"
             "Hypervisor: \"QEMU\" version: 8.1.3\n"
             "There are 0 active and 0 inactive domains\n"
             "Disconnected from hypervisor\n",
             uri);
    assert_string_equal(r.err, "");
    assert_string_equal(r.out, want);
    assert_int_equal(r.status, 0);
    mvt_result_free(&r);

    define(e, "demo", 2);
    define(e, "a-longer-name", 1);
    run(&r, hello, "qemu:///session", NULL);
    assert_string_equal(r.err, "");
    assert_string_equal(r.out, "Attempting to connect to hypervisor\n"
                               "Connected to hypervisor at \"qemu:///session\"\n"
                               "Hypervisor: \"QEMU\" version: 8.1.3\n"
                               "There are 0 active and 2 inactive domains\n"
                               "  a-longer-name (non-active)\n"
                               "      demo (non-active)\n"
                               "Disconnected from hypervisor\n");
    assert_int_equal(r.status, 0);
    mvt_result_free(&r);

    /* a URI with no driver behind it: the example prints the library's reason */
    run(&r, hello, "lxc:///system", NULL);
    assert_int_equal(r.status, 1);
    assert_true(strncmp(r.out, "Attempting to connect to hypervisor\nNo connection to hypervisor: ",
                        65) == 0);
    assert_non_null(strstr(r.out, "no driver for scheme 'lxc'"));
    mvt_result_free(&r);
}

static void test_info1(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    define(e, "demo", 3);
    define(e, "other", 1);

    /* info1 opens its URI read-only: the proxy's read-only socket */
    run(&r, info1, "qemu:///system", "demo");
    assert_string_equal(r.err, "");
    assert_string_equal(r.out, "Domain demo: 3 CPUs\n");
    assert_int_equal(r.status, 0);
    mvt_result_free(&r);
    run(&r, info1, "qemu:///system", "other");
    assert_string_equal(r.out, "Domain other: 1 CPUs\n");
    mvt_result_free(&r);

    run(&r, info1, "qemu:///system", "nosuch");
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "Failed to find Domain nosuch\n");
    assert_int_equal(r.status, 0); /* the example reports and returns 0 */
    mvt_result_free(&r);

    run(&r, info1, "lxc:///system", "demo");
    assert_string_equal(r.err, "Failed to connect to hypervisor\n");
    mvt_result_free(&r);

    run(&r, info1, NULL, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "syntax: "));
    mvt_result_free(&r);
}

int main(void)
{
    if (access(HELLO_SRC, R_OK) != 0 || access(INFO1_SRC, R_OK) != 0) {
        fprintf(stderr, "skipped: libvirt's examples are not installed (%s; apt-get install "
                        "libvirt-doc)\n",
                EXAMPLES);
        return 77;
    }
    if (access(CC, X_OK) != 0) {
        fprintf(stderr, "skipped: no C compiler at %s\n", CC);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hellolibvirt, setup, mvt_teardown_state),
        cmocka_unit_test_setup_teardown(test_info1, setup, mvt_teardown_state),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
