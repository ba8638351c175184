/* test_client_lifecycle.c: libmodvirt's lifecycle and capabilities entry points before
 * any call goes out — bad handles and arguments, read-only refusal naming the function,
 * as libvirt words them. (The calls themselves run in tests/integration/test_guest_*.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "libclient/client.h"

static void expect_error(int code, const char *message)
{
    virErrorPtr e = virGetLastError();
    assert_non_null(e);
    assert_int_equal(e->code, code);
    if (message)
        assert_string_equal(e->message, message);
}

static void test_null_handles(void **state)
{
    (void)state;
    assert_int_equal(virDomainCreate(NULL), -1);
    expect_error(VIR_ERR_INVALID_DOMAIN, "invalid domain pointer in virDomainCreate");
    assert_int_equal(virDomainCreateWithFlags(NULL, VIR_DOMAIN_START_PAUSED), -1);
    expect_error(VIR_ERR_INVALID_DOMAIN, "invalid domain pointer in virDomainCreateWithFlags");
    assert_int_equal(virDomainShutdown(NULL), -1);
    expect_error(VIR_ERR_INVALID_DOMAIN, "invalid domain pointer in virDomainShutdown");
    assert_int_equal(virDomainShutdownFlags(NULL, 0), -1);
    assert_int_equal(virDomainDestroy(NULL), -1);
    expect_error(VIR_ERR_INVALID_DOMAIN, "invalid domain pointer in virDomainDestroy");
    assert_int_equal(virDomainDestroyFlags(NULL, 0), -1);
    assert_int_equal(virDomainReboot(NULL, 0), -1);
    expect_error(VIR_ERR_INVALID_DOMAIN, "invalid domain pointer in virDomainReboot");
    assert_int_equal(virDomainReset(NULL, 0), -1);
    assert_int_equal(virDomainSuspend(NULL), -1);
    expect_error(VIR_ERR_INVALID_DOMAIN, "invalid domain pointer in virDomainSuspend");
    assert_int_equal(virDomainResume(NULL), -1);
    expect_error(VIR_ERR_INVALID_DOMAIN, "invalid domain pointer in virDomainResume");

    assert_null(virDomainCreateXML(NULL, "<domain/>", 0));
    expect_error(VIR_ERR_INVALID_CONN, "invalid connection pointer in virDomainCreateXML");
    assert_null(virConnectGetCapabilities(NULL));
    expect_error(VIR_ERR_INVALID_CONN, "invalid connection pointer in virConnectGetCapabilities");
    assert_null(virConnectGetDomainCapabilities(NULL, NULL, NULL, NULL, NULL, 0));
    expect_error(VIR_ERR_INVALID_CONN, NULL);
    assert_null(virConnectDomainXMLToNative(NULL, "qemu-argv", "<domain/>", 0));
    expect_error(VIR_ERR_INVALID_CONN, NULL);

    /* a pointer to something that is not a domain is refused, not used */
    char junk[sizeof(virDomain)] = {0};
    assert_int_equal(virDomainDestroy((virDomainPtr)junk), -1);
    expect_error(VIR_ERR_INVALID_DOMAIN, NULL);
}

/* A read-only connection with no stream: every check below must refuse before a call. */
typedef struct ro_fixture {
    virConnect conn;
    virDomainPtr dom;
} ro_fixture;

static int ro_setup(void **state)
{
    ro_fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->conn.magic = MVC_CONN_MAGIC;
    f->conn.refs = 1; /* ours: never destroyed through unref */
    f->conn.flags = VIR_CONNECT_RO;
    f->conn.child = -1;
    f->conn.child_stderr = -1;
    pthread_mutex_init(&f->conn.lock, NULL);
    static const unsigned char uuid[VIR_UUID_BUFLEN] = {1, 2, 3, 4, 5, 6, 7, 8,
                                                         9, 10, 11, 12, 13, 14, 15, 16};
    mv_error err = MV_ERROR_INIT;
    f->dom = mvc_domain_new(&f->conn, "ro", uuid, VIR_UUID_BUFLEN, 7, &err);
    if (!f->dom) {
        mv_error_clear(&err);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int ro_teardown(void **state)
{
    ro_fixture *f = *state;
    virDomainFree(f->dom);
    virResetError(&f->conn.last_error); /* the copy a refused call left on the connection */
    pthread_mutex_destroy(&f->conn.lock);
    free(f);
    return 0;
}

static void test_read_only_refused(void **state)
{
    ro_fixture *f = *state;
    virDomainPtr dom = f->dom;
    assert_int_equal(virDomainCreate(dom), -1);
    expect_error(VIR_ERR_OPERATION_DENIED,
                 "operation forbidden: read only access prevents virDomainCreate");
    assert_int_equal(virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN), -1);
    expect_error(VIR_ERR_OPERATION_DENIED,
                 "operation forbidden: read only access prevents virDomainShutdownFlags");
    assert_int_equal(virDomainDestroy(dom), -1);
    expect_error(VIR_ERR_OPERATION_DENIED, NULL);
    /* a refused destroy leaves the handle's id alone */
    assert_int_equal((int)virDomainGetID(dom), 7);
    assert_int_equal(virDomainReboot(dom, 0), -1);
    assert_int_equal(virDomainReset(dom, 0), -1);
    assert_int_equal(virDomainSuspend(dom), -1);
    expect_error(VIR_ERR_OPERATION_DENIED,
                 "operation forbidden: read only access prevents virDomainSuspend");
    assert_int_equal(virDomainResume(dom), -1);
    assert_null(virDomainCreateXML(&f->conn, "<domain/>", 0));
    expect_error(VIR_ERR_OPERATION_DENIED,
                 "operation forbidden: read only access prevents virDomainCreateXML");
    assert_null(virConnectDomainXMLToNative(&f->conn, "qemu-argv", "<domain/>", 0));
    expect_error(VIR_ERR_OPERATION_DENIED, NULL);
}

static void test_null_arguments(void **state)
{
    ro_fixture *f = *state;
    assert_null(virDomainCreateXML(&f->conn, NULL, 0));
    expect_error(VIR_ERR_INVALID_ARG, NULL);
    assert_non_null(strstr(virGetLastErrorMessage(), "xmlDesc"));
    assert_null(virConnectDomainXMLToNative(&f->conn, NULL, "<domain/>", 0));
    expect_error(VIR_ERR_INVALID_ARG, NULL);
    assert_non_null(strstr(virGetLastErrorMessage(), "nativeFormat"));
    assert_null(virConnectDomainXMLToNative(&f->conn, "qemu-argv", NULL, 0));
    assert_non_null(strstr(virGetLastErrorMessage(), "domainXml"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_handles),
        cmocka_unit_test_setup_teardown(test_read_only_refused, ro_setup, ro_teardown),
        cmocka_unit_test_setup_teardown(test_null_arguments, ro_setup, ro_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
