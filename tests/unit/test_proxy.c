/* test_proxy.c: virtproxyd's decisions — which daemon a URI goes to, and what happens to
 * each frame a client sends — as the pure functions of virtproxyd/route.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "virtproxyd/proxy.h"

typedef struct open_case {
    const char *uri;
    const char *daemon; /* NULL: refused */
    int code;
    const char *message;
} open_case;

static const open_case open_cases[] = {
    {"qemu:///system", "virtqemud", 0, NULL},
    {"qemu:///session", "virtqemud", 0, NULL},
    {"qemu+unix:///system", "virtqemud", 0, NULL},
    {"lxc:///system", NULL, VIR_ERR_NO_CONNECT,
     "no connection driver available for lxc:///system: no driver for scheme 'lxc'"},
    {"xen:///system", NULL, VIR_ERR_NO_CONNECT,
     "no connection driver available for xen:///system: no driver for scheme 'xen'"},
    {"test:///default", NULL, VIR_ERR_NO_CONNECT, "no driver for scheme 'test'"},
    {"vbox:///session", NULL, VIR_ERR_NO_CONNECT, "no driver for scheme 'vbox'"},
    {"qemu+ssh://root@host/system", NULL, VIR_ERR_NO_CONNECT, "remote URI"},
    {"not a uri", NULL, VIR_ERR_INVALID_ARG, "not a uri"},
    {"", NULL, VIR_ERR_INVALID_ARG, NULL},
};

static void test_route_open(void **state)
{
    for (size_t i = 0; i < sizeof(open_cases) / sizeof(open_cases[0]); i++) {
        const open_case *c = &open_cases[i];
        mv_error err = MV_ERROR_INIT;
        size_t idx = 99;
        int rc = proxy_route_open(c->uri, &idx, &err);
        if (c->daemon) {
            if (rc != 0)
                fail_msg("%s: refused: %s", c->uri, err.message);
            assert_string_equal(proxy_route_at(idx)->daemon, c->daemon);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(err.code, c->code);
            if (c->message && !strstr(err.message, c->message))
                fail_msg("%s: '%s' lacks '%s'", c->uri, err.message, c->message);
        }
        mv_error_clear(&err);
    }
}

static void test_route_table(void **state)
{
    /* every scheme appears once; the table ends */
    for (size_t i = 0; i < proxy_route_count(); i++) {
        for (size_t j = i + 1; j < proxy_route_count(); j++)
            assert_true(strcmp(proxy_route_at(i)->scheme, proxy_route_at(j)->scheme) != 0);
    }
    assert_null(proxy_route_at(proxy_route_count()));
}

#define NONE OPEN_NONE
#define PEND OPEN_PENDING
#define DONE OPEN_DONE

typedef struct classify_case {
    uint32_t serial, proc;
    enum proxy_open_state open;
    bool readonly, upstream;
    enum proxy_action action;
    int code; /* for PROXY_REFUSE */
    const char *message;
} classify_case;

static const classify_case classify_cases[] = {
    /* answered here, in any state */
    {1, MV_PROC_CONNECT_KEEPALIVE, NONE, false, false, PROXY_KEEPALIVE, 0, NULL},
    {1, MV_PROC_CONNECT_KEEPALIVE, DONE, true, true, PROXY_KEEPALIVE, 0, NULL},
    /* identify is the proxy's to send, never a client's */
    {2, MV_PROC_PROXY_IDENTIFY, NONE, false, false, PROXY_REFUSE, VIR_ERR_ACCESS_DENIED,
     "proxy_identify is reserved for virtproxyd"},
    {2, MV_PROC_PROXY_IDENTIFY, DONE, false, true, PROXY_REFUSE, VIR_ERR_ACCESS_DENIED, NULL},
    /* open: once */
    {3, MV_PROC_CONNECT_OPEN, NONE, true, false, PROXY_OPEN, 0, NULL},
    {3, MV_PROC_CONNECT_OPEN, PEND, false, true, PROXY_REFUSE, VIR_ERR_OPERATION_INVALID,
     "already open"},
    {3, MV_PROC_CONNECT_OPEN, DONE, false, false, PROXY_REFUSE, VIR_ERR_OPERATION_INVALID,
     "already open"},
    /* nothing else before an open */
    {4, MV_PROC_CONNECT_GET_TYPE, NONE, false, false, PROXY_REFUSE, VIR_ERR_OPERATION_INVALID,
     "connect_get_type needs connect_open first"},
    {4, 999, NONE, false, false, PROXY_REFUSE, VIR_ERR_OPERATION_INVALID, "unknown"},
    /* calls behind a pending open travel with it */
    {5, MV_PROC_CONNECT_GET_TYPE, PEND, false, true, PROXY_FORWARD, 0, NULL},
    /* read-only: reads pass, writes stop here, unknown calls go on (the daemon knows) */
    {6, MV_PROC_DOMAIN_GET_XML_DESC, DONE, true, true, PROXY_FORWARD, 0, NULL},
    {6, MV_PROC_DOMAIN_DEFINE_XML, DONE, true, true, PROXY_REFUSE, VIR_ERR_OPERATION_DENIED,
     "operation forbidden: read only access prevents domain_define_xml"},
    {6, MV_PROC_DOMAIN_SET_AUTOSTART, DONE, true, false, PROXY_REFUSE, VIR_ERR_OPERATION_DENIED,
     "domain_set_autostart"},
    {6, MV_PROC_DOMAIN_DEFINE_XML, DONE, false, true, PROXY_FORWARD, 0, NULL},
    {7, 999, DONE, true, true, PROXY_FORWARD, 0, NULL},
    {7, 999, DONE, false, false, PROXY_FORWARD, 0, NULL},
    /* the daemon died: a call brings it back (forward), a close needs nobody */
    {8, MV_PROC_NODE_GET_INFO, DONE, false, false, PROXY_FORWARD, 0, NULL},
    {8, MV_PROC_CONNECT_CLOSE, DONE, false, false, PROXY_CLOSE, 0, NULL},
    {8, MV_PROC_CONNECT_CLOSE, DONE, false, true, PROXY_FORWARD, 0, NULL},
    {8, MV_PROC_CONNECT_CLOSE, PEND, false, true, PROXY_FORWARD, 0, NULL},
    {8, MV_PROC_CONNECT_CLOSE, NONE, false, false, PROXY_CLOSE, 0, NULL},
    /* serials with the top bit are the proxy's own; 0 means "the connection" */
    {0x80000001u, MV_PROC_CONNECT_GET_TYPE, DONE, false, true, PROXY_REFUSE, VIR_ERR_RPC,
     "serial 2147483649 is not a client serial"},
    {0, MV_PROC_CONNECT_KEEPALIVE, DONE, false, true, PROXY_REFUSE, VIR_ERR_RPC,
     "serial 0 is not a client serial"},
    {0x7fffffffu, MV_PROC_CONNECT_GET_TYPE, DONE, false, true, PROXY_FORWARD, 0, NULL},
};

static void test_classify(void **state)
{
    for (size_t i = 0; i < sizeof(classify_cases) / sizeof(classify_cases[0]); i++) {
        const classify_case *c = &classify_cases[i];
        mv_envelope_head h = {.serial = c->serial, .kind = 0, .proc = c->proc};
        mv_error err = MV_ERROR_INIT;
        enum proxy_action a = proxy_classify(&h, c->open, c->readonly, c->upstream, &err);
        if (a != c->action)
            fail_msg("case %zu (proc %u): action %d, expected %d (%s)", i, c->proc, a, c->action,
                     err.message ? err.message : "");
        if (a == PROXY_REFUSE) {
            assert_int_equal(err.code, c->code);
            if (c->message && !strstr(err.message, c->message))
                fail_msg("case %zu: '%s' lacks '%s'", i, err.message, c->message);
        } else {
            assert_false(mv_error_is_set(&err));
        }
        mv_error_clear(&err);
    }
}

/* The proxy refuses exactly the RW procedures on read-only connections, following
 * procedures.def with no list of its own. */
static void test_classify_follows_declarations(void **state)
{
    for (uint32_t n = 1; n < 1000; n++) {
        const mv_proc_info *p = mv_proc_lookup(n);
        if (!p || p->route == MV_ROUTE_OPEN || p->route == MV_ROUTE_INTERNAL ||
            p->route == MV_ROUTE_PROXY || p->num == MV_PROC_CONNECT_CLOSE)
            continue;
        mv_envelope_head h = {.serial = 10, .proc = n};
        mv_error err = MV_ERROR_INIT;
        enum proxy_action a = proxy_classify(&h, OPEN_DONE, true, true, &err);
        assert_int_equal(a, p->access == MV_ACCESS_RW ? PROXY_REFUSE : PROXY_FORWARD);
        mv_error_clear(&err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_open),
        cmocka_unit_test(test_route_table),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_classify_follows_declarations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
