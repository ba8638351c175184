/* test_capi.c: libmodvirt's C API (libvirt's names, through <libvirt/libvirt.h>) against
 * the real daemons — definitions, lookups, lists, info, errors as virGetLastError shows
 * them, read-only connections, default and bad URIs, one connection shared by threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "harness.h"

#define UUID_DEMO "5ed83087-3852-4e66-8805-134d287f4532"
#define UUID_OTHER "11111111-2222-3333-4444-555555555555"

static int teardown(void **state)
{
    virResetLastError();
    return mvt_teardown_state(state);
}

/* 128 MiB of which 96 in use and 2 vCPUs: what GetInfo reports is not a default. */
static char *domain_xml(const char *name, const char *uuid)
{
    char *xml = mvt_domain_xml_sized(name, uuid, 128, 96, 2);
    assert_non_null(xml);
    return xml;
}

static virDomainPtr define(virConnectPtr conn, const char *name, const char *uuid)
{
    char *xml = domain_xml(name, uuid);
    virDomainPtr dom = virDomainDefineXML(conn, xml);
    free(xml);
    if (!dom)
        fprintf(stderr, "define %s: %s\n", name, virGetLastErrorMessage());
    assert_non_null(dom);
    return dom;
}

/* Asserts the thread's last error. */
static void expect_error(int code, int domain, const char *message)
{
    virErrorPtr err = virGetLastError();
    assert_non_null(err);
    if (err->code != code || strcmp(err->message, message) != 0)
        fprintf(stderr, "got code %d domain %d: %s\n", err->code, err->domain, err->message);
    assert_int_equal(err->code, code);
    if (domain >= 0)
        assert_int_equal(err->domain, domain);
    assert_string_equal(err->message, message);
    assert_int_equal(err->level, VIR_ERR_ERROR);
    assert_string_equal(virGetLastErrorMessage(), message);
}

static void test_connection(void **state)
{
    (void)state;
    virConnectPtr conn = virConnectOpen(NULL);
    assert_non_null(conn);
    char *uri = virConnectGetURI(conn);
    assert_string_equal(uri, geteuid() == 0 ? "qemu:///system" : "qemu:///session");
    free(uri);
    assert_string_equal(virConnectGetType(conn), "QEMU");
    char host[256];
    gethostname(host, sizeof(host));
    char *h = virConnectGetHostname(conn);
    assert_string_equal(h, host);
    free(h);
    unsigned long lib = 0, hv = 0;
    assert_int_equal(virConnectGetLibVersion(conn, &lib), 0);
    assert_int_equal(lib, 9000000);
    if (access("/usr/bin/qemu-system-x86_64", X_OK) == 0) {
        assert_int_equal(virConnectGetVersion(conn, &hv), 0);
        assert_true(hv >= 1000000);
    }
    assert_int_equal(virConnectIsAlive(conn), 1);
    virNodeInfo ni;
    assert_int_equal(virNodeGetInfo(conn, &ni), 0);
    assert_int_equal(ni.cpus, sysconf(_SC_NPROCESSORS_ONLN));
    assert_true(ni.memory > 0);
    assert_true(ni.nodes * ni.sockets * ni.cores * ni.threads == ni.cpus);

    /* a domain handle holds a reference: close says how many remain */
    virDomainPtr dom = define(conn, "demo", UUID_DEMO);
    assert_int_equal(virConnectClose(conn), 1);
    assert_string_equal(virDomainGetName(dom), "demo");
    assert_int_equal(virDomainIsPersistent(dom), 1);
    assert_int_equal(virDomainFree(dom), 0);
}

static void test_define_lookup_info(void **state)
{
    mvt_env *e = *state;
    virConnectPtr conn = virConnectOpen("qemu:///system");
    assert_non_null(conn);
    virDomainPtr dom = define(conn, "demo", UUID_DEMO);
    assert_string_equal(virDomainGetName(dom), "demo");
    assert_int_equal(virDomainGetID(dom), (unsigned int)-1);
    char uuid[VIR_UUID_STRING_BUFLEN];
    unsigned char raw[VIR_UUID_BUFLEN];
    assert_int_equal(virDomainGetUUIDString(dom, uuid), 0);
    assert_string_equal(uuid, UUID_DEMO);
    assert_int_equal(virDomainGetUUID(dom, raw), 0);
    assert_int_equal(raw[0], 0x5e);
    assert_int_equal(raw[15], 0x32);
    assert_true(virDomainGetConnect(dom) == conn);

    virDomainPtr by_name = virDomainLookupByName(conn, "demo");
    virDomainPtr by_uuid = virDomainLookupByUUID(conn, raw);
    virDomainPtr by_str = virDomainLookupByUUIDString(conn, UUID_DEMO);
    assert_non_null(by_name);
    assert_non_null(by_uuid);
    assert_non_null(by_str);
    assert_string_equal(virDomainGetName(by_uuid), "demo");
    assert_string_equal(virDomainGetName(by_str), "demo");
    virDomainFree(by_name);
    virDomainFree(by_uuid);
    virDomainFree(by_str);
    /* an inactive domain has no id */
    assert_null(virDomainLookupByID(conn, 1));
    expect_error(VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, "Domain not found: no domain with matching id 1");

    virDomainInfo info;
    assert_int_equal(virDomainGetInfo(dom, &info), 0);
    assert_int_equal(info.state, VIR_DOMAIN_SHUTOFF);
    assert_int_equal(info.maxMem, 131072);
    assert_int_equal(info.memory, 98304);
    assert_int_equal(info.nrVirtCpu, 2);
    assert_int_equal(info.cpuTime, 0);
    int st = -1, reason = -1;
    assert_int_equal(virDomainGetState(dom, &st, &reason, 0), 0);
    assert_int_equal(st, VIR_DOMAIN_SHUTOFF);
    assert_int_equal(reason, VIR_DOMAIN_SHUTOFF_UNKNOWN);
    assert_int_equal(virDomainIsActive(dom), 0);
    assert_int_equal(virDomainIsPersistent(dom), 1);

    char *xml = virDomainGetXMLDesc(dom, 0);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "<name>demo</name>"));
    assert_non_null(strstr(xml, "<uuid>" UUID_DEMO "</uuid>"));
    char *inactive = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    assert_string_equal(inactive, xml);
    free(inactive);
    /* the XML defines the same domain again: an update, not a new one */
    virDomainPtr again = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    assert_non_null(again);
    virDomainFree(again);
    free(xml);

    int autostart = -1;
    assert_int_equal(virDomainGetAutostart(dom, &autostart), 0);
    assert_int_equal(autostart, 0);
    assert_int_equal(virDomainSetAutostart(dom, 1), 0);
    assert_int_equal(virDomainGetAutostart(dom, &autostart), 0);
    assert_int_equal(autostart, 1);

    /* same name, other UUID; same UUID, other name: libvirt's refusals */
    char *dup = domain_xml("demo", UUID_OTHER);
    assert_null(virDomainDefineXML(conn, dup));
    expect_error(VIR_ERR_OPERATION_FAILED, -1,
                 "operation failed: domain 'demo' already exists with uuid " UUID_DEMO);
    free(dup);
    dup = domain_xml("renamed", UUID_DEMO);
    assert_null(virDomainDefineXML(conn, dup));
    expect_error(VIR_ERR_OPERATION_FAILED, -1,
                 "operation failed: domain 'demo' is already defined with uuid " UUID_DEMO);
    free(dup);

    char *path = mvt_path(e, "etc/modvirt/qemu/demo.xml");
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(virDomainUndefine(dom), 0);
    assert_int_equal(access(path, F_OK), -1);
    free(path);
    /* the handle outlives the domain; calls on it find nothing, by UUID */
    assert_int_equal(virDomainGetInfo(dom, &info), -1);
    expect_error(VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU,
                 "Domain not found: no domain with matching uuid '" UUID_DEMO "' (demo)");
    assert_null(virDomainLookupByName(conn, "demo"));
    expect_error(VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU,
                 "Domain not found: no domain with matching name 'demo'");
    assert_null(virDomainLookupByUUIDString(conn, UUID_DEMO));
    expect_error(VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU,
                 "Domain not found: no domain with matching uuid '" UUID_DEMO "'");
    virDomainFree(dom);
    assert_int_equal(virConnectClose(conn), 0);
}

/* The names of a ListAllDomains answer, comma-separated, freeing the list. */
static void list_names(virConnectPtr conn, unsigned int flags, char *out, size_t len)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, flags);
    assert_true(n >= 0);
    /* the count alone, without the list, agrees */
    assert_int_equal(virConnectListAllDomains(conn, NULL, flags), n);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", i ? "," : "", virDomainGetName(doms[i]));
        virDomainFree(doms[i]);
    }
    free(doms);
}

static void test_lists(void **state)
{
    (void)state;
    virConnectPtr conn = virConnectOpen(NULL);
    assert_non_null(conn);
    const char *names[] = {"gamma", "alpha", "beta"};
    for (size_t i = 0; i < 3; i++) {
        virDomainPtr d = define(conn, names[i], NULL);
        if (strcmp(names[i], "beta") == 0)
            assert_int_equal(virDomainSetAutostart(d, 1), 0);
        virDomainFree(d);
    }
    /* each filter and the names it lets through, in order */
    static const struct {
        unsigned int flags;
        const char *names;
    } filters[] = {
        {0, "alpha,beta,gamma"},
        {VIR_CONNECT_LIST_DOMAINS_INACTIVE, "alpha,beta,gamma"},
        {VIR_CONNECT_LIST_DOMAINS_ACTIVE, ""},
        {VIR_CONNECT_LIST_DOMAINS_PERSISTENT, "alpha,beta,gamma"},
        {VIR_CONNECT_LIST_DOMAINS_TRANSIENT, ""},
        {VIR_CONNECT_LIST_DOMAINS_AUTOSTART, "beta"},
        {VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART, "alpha,gamma"},
        {VIR_CONNECT_LIST_DOMAINS_SHUTOFF, "alpha,beta,gamma"},
        {VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_PAUSED, ""},
        {VIR_CONNECT_LIST_DOMAINS_INACTIVE | VIR_CONNECT_LIST_DOMAINS_AUTOSTART, "beta"},
        {VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE | VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT,
         "alpha,beta,gamma"},
        {VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT, ""},
    };
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        char got[256];
        list_names(conn, filters[i].flags, got, sizeof(got));
        if (strcmp(got, filters[i].names) != 0)
            fail_msg("flags 0x%x: got '%s', want '%s'", filters[i].flags, got, filters[i].names);
    }

    /* the old calls */
    assert_int_equal(virConnectNumOfDomains(conn), 0);
    assert_int_equal(virConnectNumOfDefinedDomains(conn), 3);
    int ids[8];
    assert_int_equal(virConnectListDomains(conn, ids, 8), 0);
    char *defined[8] = {NULL};
    int n = virConnectListDefinedDomains(conn, defined, 8);
    assert_int_equal(n, 3);
    int seen = 0;
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < 3; j++)
            seen += strcmp(defined[i], names[j]) == 0;
        free(defined[i]);
    }
    assert_int_equal(seen, 3);
    /* maxnames bounds the answer */
    n = virConnectListDefinedDomains(conn, defined, 2);
    assert_int_equal(n, 2);
    free(defined[0]);
    free(defined[1]);
    assert_int_equal(virConnectClose(conn), 0);
}

static int handler_calls;
static int handler_code;
static void on_error(void *opaque, virErrorPtr err)
{
    (void)opaque;
    handler_calls++;
    handler_code = err->code;
}

static void test_errors(void **state)
{
    (void)state;
    virConnectPtr conn = virConnectOpen(NULL);
    assert_non_null(conn);
    assert_null(virDomainLookupByName(conn, "nosuch"));
    expect_error(VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU,
                 "Domain not found: no domain with matching name 'nosuch'");
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_NO_DOMAIN);
    assert_int_equal(virGetLastErrorDomain(), VIR_FROM_QEMU);
    /* the connection keeps its own copy */
    virErrorPtr ce = virConnGetLastError(conn);
    assert_non_null(ce);
    assert_int_equal(ce->code, VIR_ERR_NO_DOMAIN);
    assert_string_equal(ce->message, "Domain not found: no domain with matching name 'nosuch'");
    /* a successful call clears the thread's error */
    assert_string_equal(virConnectGetType(conn), "QEMU");
    assert_null(virGetLastError());
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_OK);

    /* argument checks name the public function, as libvirt's do */
    assert_null(virDomainLookupByName(conn, NULL));
    expect_error(VIR_ERR_INVALID_ARG, -1,
                 "invalid argument: name in virDomainLookupByName must not be NULL");
    assert_null(virConnectGetType(NULL));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_INVALID_CONN);
    assert_null(virDomainLookupByUUIDString(conn, "not-a-uuid"));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_INVALID_ARG);

    /* XML errors */
    assert_null(virDomainDefineXML(conn, "<domain type='qemu'><name>x</name>"));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_XML_ERROR);
    assert_null(virDomainDefineXML(conn, "<domain type='qemu'><name>x</name><memory>1024</memory>"
                                         "<os><type>hvm</type></os><bogus/></domain>"));
    assert_non_null(strstr(virGetLastErrorMessage(), "bogus"));
    assert_null(virDomainDefineXML(conn, "<domain type='lxc'><name>x</name><memory>1024</memory>"
                                         "<os><type>exe</type></os></domain>"));
    /* refused by the parser today, by the driver once the XML knows containers */
    assert_true(virGetLastErrorCode() == VIR_ERR_XML_ERROR ||
                virGetLastErrorCode() == VIR_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(virGetLastErrorMessage(), "'lxc'"));
    assert_null(virDomainDefineXMLFlags(conn, "<domain/>", 1u << 30));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_INVALID_ARG);

    /* an error function sees every error, once */
    virSetErrorFunc(NULL, on_error);
    handler_calls = 0;
    assert_null(virDomainLookupByName(conn, "nosuch"));
    assert_int_equal(handler_calls, 1);
    assert_int_equal(handler_code, VIR_ERR_NO_DOMAIN);
    virSetErrorFunc(NULL, NULL);
    virResetLastError();
    assert_null(virGetLastError());
    assert_int_equal(virConnectClose(conn), 0);
}

static void test_readonly(void **state)
{
    mvt_env *e = *state;
    virConnectPtr rw = virConnectOpen(NULL);
    assert_non_null(rw);
    virDomainPtr d = define(rw, "demo", UUID_DEMO);
    virDomainFree(d);
    virConnectClose(rw);

    virConnectPtr ro = virConnectOpenReadOnly(NULL);
    assert_non_null(ro);
    char *xml = domain_xml("other", UUID_OTHER);
    assert_null(virDomainDefineXML(ro, xml));
    expect_error(VIR_ERR_OPERATION_DENIED, -1,
                 "operation forbidden: read only access prevents virDomainDefineXML");
    virDomainPtr dom = virDomainLookupByName(ro, "demo");
    assert_non_null(dom);
    assert_int_equal(virDomainSetAutostart(dom, 1), -1);
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_OPERATION_DENIED);
    assert_int_equal(virDomainUndefine(dom), -1);
    expect_error(VIR_ERR_OPERATION_DENIED, -1,
                 "operation forbidden: read only access prevents virDomainUndefine");
    assert_null(virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_SECURE));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_OPERATION_DENIED);
    char *desc = virDomainGetXMLDesc(dom, 0);
    assert_non_null(desc);
    free(desc);
    virDomainFree(dom);
    virConnectClose(ro);

    /* the proxy enforces it too: a client that did not ask for read-only access but
     * came in through the read-only socket is refused all the same */
    char *uri = NULL;
    assert_true(asprintf(&uri, "qemu:///system?socket=%s/virtproxyd-sock-ro", e->run_dir) > 0);
    virConnectPtr sneaky = virConnectOpen(uri);
    assert_non_null(sneaky);
    assert_null(virDomainDefineXML(sneaky, xml));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_OPERATION_DENIED);
    assert_non_null(strstr(virGetLastErrorMessage(), "read only access"));
    assert_int_equal(virConnectNumOfDefinedDomains(sneaky), 1);
    virConnectClose(sneaky);
    free(uri);
    free(xml);
}

static void expect_open_fails(const char *uri, int code, const char *fragment)
{
    virResetLastError();
    virConnectPtr c = virConnectOpen(uri);
    if (c)
        virConnectClose(c);
    assert_null(c);
    if (virGetLastErrorCode() != code || !strstr(virGetLastErrorMessage(), fragment))
        fprintf(stderr, "%s: code %d: %s\n", uri ? uri : "(null)", virGetLastErrorCode(),
                virGetLastErrorMessage());
    assert_int_equal(virGetLastErrorCode(), code);
    assert_non_null(strstr(virGetLastErrorMessage(), fragment));
}

static void expect_default(const char *want)
{
    virConnectPtr c = virConnectOpen(NULL);
    assert_non_null(c);
    char *uri = virConnectGetURI(c);
    assert_string_equal(uri, want);
    free(uri);
    virConnectClose(c);
}

static void test_uris(void **state)
{
    (void)state;
    setenv("LIBVIRT_DEFAULT_URI", "qemu:///session", 1);
    expect_default("qemu:///session");
    /* MODVIRT_DEFAULT_URI wins over libvirt's variable */
    setenv("MODVIRT_DEFAULT_URI", "qemu:///system", 1);
    expect_default("qemu:///system");
    setenv("MODVIRT_DEFAULT_URI", "qemu:///session", 1);
    setenv("LIBVIRT_DEFAULT_URI", "lxc:///system", 1);
    expect_default("qemu:///session");
    /* the variable is really what a NULL URI opens: this one has no driver */
    unsetenv("MODVIRT_DEFAULT_URI");
    expect_open_fails(NULL, VIR_ERR_NO_CONNECT, "no driver for scheme 'lxc'");
    unsetenv("LIBVIRT_DEFAULT_URI");
    /* an empty name is the default too */
    expect_default(geteuid() == 0 ? "qemu:///system" : "qemu:///session");

    expect_open_fails("lxc:///system", VIR_ERR_NO_CONNECT, "no driver for scheme 'lxc'");
    expect_open_fails("xen:///system", VIR_ERR_NO_CONNECT, "no driver for scheme 'xen'");
    expect_open_fails("bad uri", VIR_ERR_INVALID_ARG, "invalid character '\\x20' at offset 3");
    expect_open_fails("qemu:///bogus", VIR_ERR_INVALID_ARG, "'/bogus'");
    expect_open_fails("qemu+tls://host/system", VIR_ERR_NO_CONNECT, "tls");
    expect_open_fails("qemu:///system?socket=/nonexistent/sock", VIR_ERR_SYSTEM_ERROR,
                      "/nonexistent/sock");
}

/* ---- one connection, eight threads ---- */

#define NTHREADS 8
#define ROUNDS 60

typedef struct worker {
    virConnectPtr conn;
    int index;
    int failures;
    char why[256];
} worker;

static void worker_fail(worker *w, const char *what)
{
    if (!w->failures++)
        snprintf(w->why, sizeof(w->why), "thread %d: %s: %s", w->index, what,
                 virGetLastErrorMessage());
}

static void *work(void *arg)
{
    worker *w = arg;
    char name[32], missing[32], want[96];
    snprintf(name, sizeof(name), "t%d", w->index);
    snprintf(missing, sizeof(missing), "missing-%d", w->index);
    snprintf(want, sizeof(want), "Domain not found: no domain with matching name '%s'", missing);
    for (int i = 0; i < ROUNDS; i++) {
        char *xml = domain_xml(name, NULL);
        virDomainPtr d = virDomainDefineXML(w->conn, xml);
        free(xml);
        if (!d) {
            worker_fail(w, "define");
            continue;
        }
        virDomainInfo info;
        if (virDomainGetInfo(d, &info) < 0 || info.nrVirtCpu != 2)
            worker_fail(w, "info");
        char *desc = virDomainGetXMLDesc(d, 0);
        char tag[48];
        snprintf(tag, sizeof(tag), "<name>%s</name>", name);
        if (!desc || !strstr(desc, tag))
            worker_fail(w, "xml");
        free(desc);
        virDomainPtr *all = NULL;
        int n = virConnectListAllDomains(w->conn, &all, 0);
        if (n < 1)
            worker_fail(w, "list");
        for (int j = 0; j < n; j++)
            virDomainFree(all[j]);
        free(all);
        /* each thread's last error is its own */
        if (virDomainLookupByName(w->conn, missing) ||
            strcmp(virGetLastErrorMessage(), want) != 0)
            worker_fail(w, "missing lookup");
        if (virDomainUndefine(d) < 0)
            worker_fail(w, "undefine");
        virDomainFree(d);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    virConnectPtr conn = virConnectOpen(NULL);
    assert_non_null(conn);
    pthread_t th[NTHREADS];
    worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker){.conn = conn, .index = i};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        if (w[i].failures)
            fprintf(stderr, "%s (%d failures)\n", w[i].why, w[i].failures);
    }
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(w[i].failures, 0);
    assert_int_equal(virConnectNumOfDefinedDomains(conn), 0);
    assert_int_equal(virConnectIsAlive(conn), 1);
    assert_int_equal(virConnectClose(conn), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_connection, mvt_setup_state, teardown),
        cmocka_unit_test_setup_teardown(test_define_lookup_info, mvt_setup_state, teardown),
        cmocka_unit_test_setup_teardown(test_lists, mvt_setup_state, teardown),
        cmocka_unit_test_setup_teardown(test_errors, mvt_setup_state, teardown),
        cmocka_unit_test_setup_teardown(test_readonly, mvt_setup_state, teardown),
        cmocka_unit_test_setup_teardown(test_uris, mvt_setup_state, teardown),
        cmocka_unit_test_setup_teardown(test_threads, mvt_setup_state, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
