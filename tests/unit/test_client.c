/* test_client.c: libmodvirt's parts that need no daemon — default URI, ssh command line,
 * keepalive timing, serials, argument checks and error dispatch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "libclient/client.h"

/* ---- default URI -------------------------------------------------------------------- */

static void test_default_uri(void **state)
{
    (void)state;
    assert_string_equal(mvc_default_uri(NULL, NULL, 0), "qemu:///system");
    assert_string_equal(mvc_default_uri(NULL, NULL, 1000), "qemu:///session");
    assert_string_equal(mvc_default_uri("", "", 1000), "qemu:///session");
    assert_string_equal(mvc_default_uri(NULL, "lxc:///system", 0), "lxc:///system");
    assert_string_equal(mvc_default_uri("qemu:///session", "lxc:///system", 0),
                        "qemu:///session");
    assert_string_equal(mvc_default_uri("", "xen:///system", 1000), "xen:///system");
}

/* ---- ssh -------------------------------------------------------------------------------- */

static char *joined(char **argv)
{
    size_t len = 1;
    for (size_t i = 0; argv[i]; i++)
        len += strlen(argv[i]) + 1;
    char *s = calloc(1, len);
    for (size_t i = 0; argv[i]; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

static void test_ssh_argv(void **state)
{
    (void)state;
    mv_error err = MV_ERROR_INIT;
    mv_uri *u = NULL;
    assert_int_equal(mv_uri_parse("qemu+ssh://root@example.org:2222/system?keyfile=/k&no_tty=1",
                                  &u, &err),
                     0);
    char *remote = mv_uri_format(u, 0);
    assert_string_equal(remote, "qemu:///system");
    char *cmd = mvc_ssh_remote_command("modvirt-ssh-helper", remote, true, &err);
    assert_string_equal(cmd, "'modvirt-ssh-helper' --readonly 'qemu:///system'");
    char **argv = mvc_ssh_argv(u, cmd, &err);
    assert_non_null(argv);
    char *all = joined(argv);
    assert_string_equal(all, "ssh -p 2222 -l root -i /k -o BatchMode=yes -T -e none -- "
                             "example.org 'modvirt-ssh-helper' --readonly 'qemu:///system'");
    free(all);
    mvc_argv_free(argv);
    free(cmd);
    free(remote);
    mv_uri_free(u);

    /* A quote cannot travel safely through the remote shell. */
    assert_null(mvc_ssh_remote_command("modvirt-ssh-helper", "qemu:///sys'tem", false, &err));
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    mv_error_clear(&err);

    /* Neither can a host that ssh would read as an option (the URI parser refuses such
     * hosts already; this is the second line of defence). */
    mv_uri crafted = {.driver = "qemu", .transport = "ssh", .host = "-oProxyCommand=x",
                      .path = "/system"};
    assert_null(mvc_ssh_argv(&crafted, "cmd", &err));
    assert_non_null(strstr(err.message, "must not start with '-'"));
    mv_error_clear(&err);
}

/* ---- keepalive and serials ----------------------------------------------------------------- */

static void test_keepalive_timing(void **state)
{
    (void)state;
    mvc_keepalive ka = {.interval_ms = 100, .count = 3, .last_rx = 1000, .last_ping = 1000};
    int wait;
    assert_int_equal(mvc_keepalive_check(&ka, 1050, &wait), MVC_KA_WAIT);
    assert_int_equal(wait, 50);
    /* quiet for an interval: probe, and look again an interval later */
    assert_int_equal(mvc_keepalive_check(&ka, 1100, &wait), MVC_KA_PING);
    assert_int_equal(wait, 100);
    ka.last_ping = 1100;
    assert_int_equal(mvc_keepalive_check(&ka, 1150, &wait), MVC_KA_WAIT);
    assert_int_equal(wait, 50);
    ka.last_ping = 1200;
    /* the next decision is due at the death line, not past it */
    assert_int_equal(mvc_keepalive_check(&ka, 1250, &wait), MVC_KA_WAIT);
    assert_int_equal(wait, 50);
    /* silent for interval * count: dead */
    assert_int_equal(mvc_keepalive_check(&ka, 1300, &wait), MVC_KA_DEAD);
    /* any traffic pushes both lines back */
    ka.last_rx = 1290;
    assert_int_equal(mvc_keepalive_check(&ka, 1300, &wait), MVC_KA_WAIT);
    assert_int_equal(wait, 90);
    /* off */
    ka.interval_ms = 0;
    assert_int_equal(mvc_keepalive_check(&ka, 999999, &wait), MVC_KA_WAIT);
    assert_int_equal(wait, -1);
    /* count 0 still allows one interval of silence */
    ka = (mvc_keepalive){.interval_ms = 100, .count = 0, .last_rx = 0, .last_ping = 0};
    assert_int_equal(mvc_keepalive_check(&ka, 99, &wait), MVC_KA_WAIT);
    assert_int_equal(mvc_keepalive_check(&ka, 100, &wait), MVC_KA_DEAD);
}

static void test_keepalive_parse(void **state)
{
    (void)state;
    int iv = 0;
    unsigned int count = 0;
    mv_error err = MV_ERROR_INIT;
    assert_int_equal(mvc_keepalive_parse("250,4", &iv, &count, &err), 0);
    assert_int_equal(iv, 250);
    assert_int_equal(count, 4);
    const char *bad[] = {"", "250", "250,", ",4", "a,4", "250,4x", "-1,4", "250;4"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(mvc_keepalive_parse(bad[i], &iv, &count, &err), -1);
        assert_non_null(strstr(err.message, "MODVIRT_KEEPALIVE"));
        mv_error_clear(&err);
    }
}

static void test_serial_next(void **state)
{
    (void)state;
    assert_int_equal(mvc_serial_next(0), 1);
    assert_int_equal(mvc_serial_next(1), 2);
    assert_int_equal(mvc_serial_next(0x7ffffffe), 0x7fffffff);
    /* the top bit belongs to the proxy: wrap to 1, never 0 */
    assert_int_equal(mvc_serial_next(0x7fffffff), 1);
    assert_int_equal(mvc_serial_next(0xffffffff), 1);
}

/* ---- argument checks and error dispatch -------------------------------------------------- */

static int handler_calls;
static int handler_code;
static void *handler_data;
static void record_error(void *data, virErrorPtr e)
{
    handler_calls++;
    handler_code = e->code;
    handler_data = data;
}

static void test_invalid_pointers(void **state)
{
    (void)state;
    assert_null(virConnectGetType(NULL));
    virErrorPtr e = virGetLastError();
    assert_non_null(e);
    assert_int_equal(e->code, VIR_ERR_INVALID_CONN);
    assert_int_equal(e->level, VIR_ERR_ERROR);
    assert_string_equal(e->message, "invalid connection pointer in virConnectGetType");
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_INVALID_CONN);

    assert_null(virDomainGetName(NULL));
    assert_string_equal(virGetLastErrorMessage(), "invalid domain pointer in virDomainGetName");
    assert_int_equal(virGetLastErrorDomain(), VIR_FROM_DOMAIN);
    assert_int_equal(virDomainGetID(NULL), (unsigned int)-1);
    assert_int_equal(virDomainFree(NULL), -1);
    assert_int_equal(virConnectClose(NULL), -1);
    assert_int_equal(virConnectIsAlive(NULL), -1);

    /* A pointer to something that is not a connection is refused, not used. */
    char junk[sizeof(virConnect)] = {0};
    assert_int_equal(virConnectNumOfDomains((virConnectPtr)junk), -1);
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_INVALID_CONN);

    /* A successful call resets the thread's error. */
    unsigned long v = 0;
    assert_int_equal(virGetVersion(&v, NULL, NULL), 0);
    assert_int_equal(v, LIBVIR_VERSION_NUMBER);
    assert_null(virGetLastError());
    assert_string_equal(virGetLastErrorMessage(), "no error");
    assert_int_equal(virGetVersion(NULL, NULL, NULL), -1);
    assert_string_equal(virGetLastErrorMessage(),
                        "invalid argument: libVer in virGetVersion must not be NULL");
}

static void test_error_copies_and_handlers(void **state)
{
    (void)state;
    assert_null(virConnectGetURI(NULL));
    virErrorPtr saved = virSaveLastError();
    assert_non_null(saved);
    assert_int_equal(saved->code, VIR_ERR_INVALID_CONN);
    virError copy = {0};
    assert_int_equal(virCopyLastError(&copy), VIR_ERR_INVALID_CONN);
    assert_string_equal(copy.message, saved->message);
    virResetLastError();
    assert_null(virGetLastError());
    assert_int_equal(virCopyLastError(&copy), 0);
    assert_null(copy.message);
    virResetError(&copy);
    virFreeError(saved);
    virFreeError(NULL);

    /* The global error function sees every error, with its user data. */
    int tag;
    handler_calls = 0;
    virSetErrorFunc(&tag, record_error);
    assert_int_equal(virConnectNumOfDefinedDomains(NULL), -1);
    assert_int_equal(handler_calls, 1);
    assert_int_equal(handler_code, VIR_ERR_INVALID_CONN);
    assert_ptr_equal(handler_data, &tag);
    virSetErrorFunc(NULL, NULL);
    assert_int_equal(virConnectNumOfDefinedDomains(NULL), -1);
    assert_int_equal(handler_calls, 1);
}

/* ---- opening without a daemon ------------------------------------------------------------ */

static void test_open_errors(void **state)
{
    (void)state;
    /* A bad URI: the parser's message names the bad part. */
    assert_null(virConnectOpen("qemu+foo:///system"));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_INVALID_ARG);
    assert_non_null(strstr(virGetLastErrorMessage(), "foo"));

    /* Transports other than local and ssh are refused by name. */
    assert_null(virConnectOpen("qemu+tls://host.example/system"));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_NO_CONNECT);
    assert_non_null(strstr(virGetLastErrorMessage(), "transport 'tls'"));
    assert_null(virConnectOpen("qemu://host.example/system"));
    assert_non_null(strstr(virGetLastErrorMessage(), "transport 'tls'"));
    assert_null(virConnectOpenReadOnly("qemu+tcp://host.example/system"));
    assert_non_null(strstr(virGetLastErrorMessage(), "transport 'tcp'"));

    /* Unknown flags. */
    assert_null(virConnectOpenAuth("qemu:///system", virConnectAuthPtrDefault, 0x100));
    assert_string_equal(virGetLastErrorMessage(),
                        "invalid argument: unsupported flags (0x100) in function "
                        "virConnectOpenAuth");

    /* A malformed MODVIRT_KEEPALIVE is an error, not silently ignored. */
    setenv("MODVIRT_KEEPALIVE", "fast", 1);
    assert_null(virConnectOpen("qemu:///system?socket=/nonexistent/sock"));
    assert_non_null(strstr(virGetLastErrorMessage(), "MODVIRT_KEEPALIVE='fast'"));
    unsetenv("MODVIRT_KEEPALIVE");
    setenv("MODVIRT_CALL_TIMEOUT_MS", "soon", 1);
    assert_null(virConnectOpen("qemu:///system?socket=/nonexistent/sock"));
    assert_non_null(strstr(virGetLastErrorMessage(), "MODVIRT_CALL_TIMEOUT_MS='soon'"));
    unsetenv("MODVIRT_CALL_TIMEOUT_MS");

    /* ?socket= names the proxy's socket; nothing there is a clear error. */
    assert_null(virConnectOpen("qemu:///system?socket=/nonexistent/sock"));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_SYSTEM_ERROR);
    assert_non_null(strstr(virGetLastErrorMessage(), "/nonexistent/sock"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_uri),
        cmocka_unit_test(test_ssh_argv),
        cmocka_unit_test(test_keepalive_timing),
        cmocka_unit_test(test_keepalive_parse),
        cmocka_unit_test(test_serial_next),
        cmocka_unit_test(test_invalid_pointers),
        cmocka_unit_test(test_error_copies_and_handlers),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
