/* test_uri.c: the URI parser over tables of good and bad URIs, and format round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/uri.h"

typedef struct good_case {
    const char *uri;
    const char *driver, *transport, *user, *host;
    int port;
    const char *path;
    const char *params; /* "name=value&..." after decoding, or NULL for none */
    int local;
    const char *formatted; /* mv_uri_format(u, 1); NULL: the input itself */
    const char *remote;    /* mv_uri_format(u, 0) */
} good_case;

static const good_case good[] = {
    {"qemu:///system", "qemu", NULL, NULL, NULL, 0, "/system", NULL, 1, NULL, "qemu:///system"},
    {"qemu:///session", "qemu", NULL, NULL, NULL, 0, "/session", NULL, 1, NULL,
     "qemu:///session"},
    {"lxc:///system", "lxc", NULL, NULL, NULL, 0, "/system", NULL, 1, NULL, "lxc:///system"},
    {"xen:///system", "xen", NULL, NULL, NULL, 0, "/system", NULL, 1, NULL, "xen:///system"},
    {"test:///default", "test", NULL, NULL, NULL, 0, "/default", NULL, 1, NULL,
     "test:///default"},
    {"qemu+ssh://root@host/system", "qemu", "ssh", "root", "host", 0, "/system", NULL, 0, NULL,
     "qemu:///system"},
    {"qemu+ssh://host:2222/system?keyfile=/x", "qemu", "ssh", NULL, "host", 2222, "/system",
     "keyfile=/x", 0, NULL, "qemu:///system"},
    {"qemu+tls://h/system", "qemu", "tls", NULL, "h", 0, "/system", NULL, 0, NULL,
     "qemu:///system"},
    {"qemu+tcp://[::1]:16509/system", "qemu", "tcp", NULL, "::1", 16509, "/system", NULL, 0,
     NULL, "qemu:///system"},
    {"qemu+unix:///system?socket=/path", "qemu", "unix", NULL, NULL, 0, "/system",
     "socket=/path", 1, NULL, "qemu:///system"},
    /* every known transport */
    {"qemu+libssh://h/system", "qemu", "libssh", NULL, "h", 0, "/system", NULL, 0, NULL, NULL},
    {"qemu+libssh2://u@h:22/system", "qemu", "libssh2", "u", "h", 22, "/system", NULL, 0, NULL,
     NULL},
    {"qemu+ext:///system?command=/bin/x", "qemu", "ext", NULL, NULL, 0, "/system",
     "command=/bin/x", 0, NULL, "qemu:///system"},
    /* case-insensitive scheme, kept in lower case */
    {"QEMU+SSH://h/system", "qemu", "ssh", NULL, "h", 0, "/system", NULL, 0,
     "qemu+ssh://h/system", NULL},
    /* percent-decoding everywhere it is allowed */
    {"qemu+ssh://j%40doe@h/sys%20tem?a%26b=c%3Dd", "qemu", "ssh", "j@doe", "h", 0, "/sys tem",
     "a&b=c=d", 0, "qemu+ssh://j%40doe@h/sys%20tem?a%26b=c%3Dd", "qemu:///sys%20tem?a%26b=c%3Dd"},
    {"qemu+ssh://h/system?x=%2b", "qemu", "ssh", NULL, "h", 0, "/system", "x=+", 0,
     "qemu+ssh://h/system?x=+", NULL},
    /* '+' is not a space; ';' separates like '&'; empty pieces vanish; bare names */
    {"qemu+ssh://h/system?a=1+2;b&&c=", "qemu", "ssh", NULL, "h", 0, "/system", "a=1+2&b=&c=", 0,
     "qemu+ssh://h/system?a=1+2&b&c", NULL},
    /* IPv6 with a zone, IPv4, bare host, no path */
    {"qemu+tcp://[fe80::1%25eth0]:1/system", "qemu", "tcp", NULL, "fe80::1%eth0", 1, "/system",
     NULL, 0, NULL, NULL},
    {"qemu+tcp://192.168.0.1:65535/system", "qemu", "tcp", NULL, "192.168.0.1", 65535,
     "/system", NULL, 0, NULL, NULL},
    {"qemu+ssh://host", "qemu", "ssh", NULL, "host", 0, "", NULL, 0, NULL, "qemu://"},
    {"qemu://host/system", "qemu", NULL, NULL, "host", 0, "/system", NULL, 0, NULL, NULL},
    {"qemu://", "qemu", NULL, NULL, NULL, 0, "", NULL, 1, NULL, "qemu://"},
    {"test:///", "test", NULL, NULL, NULL, 0, "/", NULL, 1, NULL, NULL},
    {"test:///tmp/a%2Fb.xml", "test", NULL, NULL, NULL, 0, "/tmp/a/b.xml", NULL, 1,
     "test:///tmp/a/b.xml", NULL},
    /* a user with a password part is kept whole */
    {"qemu+ssh://u:pw@h/system", "qemu", "ssh", "u:pw", "h", 0, "/system", NULL, 0, NULL, NULL},
    /* the remote form keeps parameters meant for the far end */
    {"qemu+ssh://h/system?no_tty=1&mode=legacy&x=1", "qemu", "ssh", NULL, "h", 0, "/system",
     "no_tty=1&mode=legacy&x=1", 0, NULL, "qemu:///system?x=1"},
    /* a user without a host (ssh to this machine) */
    {"qemu+ssh://root@/system", "qemu", "ssh", "root", NULL, 0, "/system", NULL, 0, NULL, NULL},
};

typedef struct bad_case {
    const char *uri;
    const char *fragment; /* must appear in the message */
} bad_case;

static const bad_case bad[] = {
    {"qemu+foo:///x", "invalid URI 'qemu+foo:///x': unknown transport 'foo'"},
    {"qemu+tcp://h:99999/system", ": port '99999' out of range"},
    {"qemu+tcp://h:0/system", "port '0' out of range"},
    {"qemu+tcp://h:65536/system", "port '65536' out of range"},
    {"qemu+tcp://h:123456789012345678901234567890/system", "out of range"},
    {"qemu+tcp://h:12ab/system", "port '12ab' is not a number"},
    {"qemu+tcp://h:/system", "missing port number after ':'"},
    {"qemu", "invalid URI 'qemu': missing '://'"},
    {"qemu:/system", "missing '://'"},
    {"qemu:system", "missing '://'"},
    {"/system", "missing '://'"},
    {"://system", "missing driver name"},
    {"+ssh://h/system", "missing driver name"},
    {"qemu+://h/system", "missing transport after '+'"},
    {"qe_mu:///system", "invalid driver name 'qe_mu'"},
    {"1qemu:///system", "invalid driver name '1qemu'"},
    {"qemu+ssh+tls://h/system", "unknown transport 'ssh+tls'"},
    {"qemu+tcp://[::1/system", "missing ']'"},
    {"qemu+tcp://[::g]/system", "invalid IPv6 address '::g'"},
    {"qemu+tcp://[]/system", "invalid IPv6 address ''"},
    {"qemu+tcp://[::1]x/system", "unexpected 'x' after IPv6 address"},
    {"qemu+tcp://[fe80::1%25]/system", "empty zone"},
    {"qemu+tcp://::1/system", "must be enclosed in '[' and ']'"},
    {"qemu+ssh://@h/system", "empty user name before '@'"},
    {"qemu+ssh://a@b@c/system", "invalid character '@' in host"},
    {"qemu+ssh://h!x/system", "invalid character '!' in host"},
    {"qemu+ssh://h%2Fx/system", "invalid encoded character '\\x2f' in host"},
    {"qemu+ssh://h/sys%zztem", "invalid percent-encoding '%zz' in path"},
    {"qemu+ssh://h/system%4", "invalid percent-encoding '%4' in path"},
    {"qemu+ssh://h/sys%00tem", "encoded NUL byte (%00) in path"},
    {"qemu+ssh://h/sys[tem", "invalid character '[' in path"},
    {"qemu+ssh://h/system?a=%G1", "invalid percent-encoding '%G1' in query"},
    {"qemu+ssh://h/system?=x", "empty parameter name in '=x'"},
    {"qemu+ssh://h/system?a=\"b\"", "invalid character '\"' in query"},
    {"qemu+ssh://h/system#frag", "unexpected fragment '#frag'"},
    {"qemu:///system#", "unexpected fragment '#'"},
    {"qemu+unix://host/system", "transport 'unix' does not take a host ('host')"},
    {"qemu:///sys tem", "invalid character '\\x20' at offset 11"},
    {"qemu:///sys\ttem", "invalid URI 'qemu:///sys\\x09tem': invalid character '\\x09'"},
    {"qemu:///caf\xc3\xa9", "invalid character '\\xc3' at offset 11"},
    {"", "empty URI"},
};

static void check_params(const mv_uri *u, const char *expected)
{
    char got[1024] = "";
    for (size_t i = 0; i < u->nparams; i++) {
        if (i)
            strcat(got, "&");
        strcat(got, u->params[i].name);
        strcat(got, "=");
        strcat(got, u->params[i].value);
    }
    assert_string_equal(got, expected ? expected : "");
}

static void expect_str(const char *got, const char *want, const char *what, const char *uri)
{
    if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
        fail_msg("%s: %s is '%s', expected '%s'", uri, what, got ? got : "(null)",
                 want ? want : "(null)");
}

static void test_good(void **state)
{
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const good_case *c = &good[i];
        mv_error err = MV_ERROR_INIT;
        mv_uri *u = NULL;
        if (mv_uri_parse(c->uri, &u, &err) < 0)
            fail_msg("%s: %s", c->uri, err.message);
        expect_str(u->driver, c->driver, "driver", c->uri);
        expect_str(u->transport, c->transport, "transport", c->uri);
        expect_str(u->user, c->user, "user", c->uri);
        expect_str(u->host, c->host, "host", c->uri);
        expect_str(u->path, c->path, "path", c->uri);
        assert_int_equal(u->port, c->port);
        check_params(u, c->params);
        if (mv_uri_is_local(u) != c->local)
            fail_msg("%s: is_local %d", c->uri, mv_uri_is_local(u));

        char *f = mv_uri_format(u, 1);
        expect_str(f, c->formatted ? c->formatted : c->uri, "formatted", c->uri);
        /* the formatted form parses back to the same parts */
        mv_uri *again = NULL;
        if (mv_uri_parse(f, &again, &err) < 0)
            fail_msg("%s: reparse of '%s': %s", c->uri, f, err.message);
        char *f2 = mv_uri_format(again, 1);
        expect_str(f2, f, "re-formatted", c->uri);
        expect_str(again->host, u->host, "reparsed host", c->uri);
        expect_str(again->path, u->path, "reparsed path", c->uri);
        assert_int_equal(again->nparams, u->nparams);
        if (c->remote) {
            char *r = mv_uri_format(u, 0);
            expect_str(r, c->remote, "remote form", c->uri);
            free(r);
        }
        free(f);
        free(f2);
        mv_uri_free(again);
        mv_uri_free(u);
        mv_error_clear(&err);
    }
}

static void test_bad(void **state)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const bad_case *c = &bad[i];
        mv_error err = MV_ERROR_INIT;
        mv_uri *u = (mv_uri *)0x1;
        if (mv_uri_parse(c->uri, &u, &err) == 0)
            fail_msg("'%s' was accepted", c->uri);
        assert_null(u);
        assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
        assert_int_equal(err.domain, VIR_FROM_URI);
        if (!strstr(err.message, c->fragment))
            fail_msg("'%s': message '%s' lacks '%s'", c->uri, err.message, c->fragment);
        assert_non_null(strstr(err.message, "invalid argument: "));
        mv_error_clear(&err);
    }
}

static void test_oversized(void **state)
{
    size_t n = 5000;
    char *s = malloc(n + 1);
    memcpy(s, "qemu:///", 8);
    memset(s + 8, 'a', n - 8);
    s[n] = '\0';
    mv_error err = MV_ERROR_INIT;
    mv_uri *u = NULL;
    assert_int_equal(mv_uri_parse(s, &u, &err), -1);
    assert_non_null(strstr(err.message, "longer than the limit of 4096 bytes"));
    /* the message does not echo the whole input */
    assert_true(strlen(err.message) < 200);
    /* just at the limit is fine */
    s[4096] = '\0';
    assert_int_equal(mv_uri_parse(s, &u, &err), 0);
    assert_int_equal(strlen(u->path), 4096 - 7);
    mv_uri_free(u);
    mv_error_clear(&err);
    free(s);
}

static void test_params(void **state)
{
    mv_uri *u = NULL;
    assert_int_equal(mv_uri_parse("qemu+ssh://h/s?a=1&b=2&a=3&c", &u, NULL), 0);
    assert_string_equal(mv_uri_param_get(u, "a"), "3"); /* last one wins */
    assert_string_equal(mv_uri_param_get(u, "b"), "2");
    assert_string_equal(mv_uri_param_get(u, "c"), "");
    assert_null(mv_uri_param_get(u, "d"));
    mv_uri_free(u);
    mv_uri_free(NULL);
}

/* A URI built by hand (not parsed) formats with whatever encoding it needs. */
static void test_format_built(void **state)
{
    mv_uri_param params[] = {{(char *)"k y", (char *)"a&b=c#d"}, {(char *)"empty", (char *)""}};
    mv_uri u = {.driver = (char *)"qemu",
                .transport = (char *)"ssh",
                .user = (char *)"us@r",
                .host = (char *)"fe80::2%en0",
                .port = 22,
                .path = (char *)"system?#",
                .params = params,
                .nparams = 2};
    char *f = mv_uri_format(&u, 1);
    assert_string_equal(f, "qemu+ssh://us%40r@[fe80::2%25en0]:22/system%3F%23"
                           "?k%20y=a%26b%3Dc%23d&empty");
    mv_uri *back = NULL;
    assert_int_equal(mv_uri_parse(f, &back, NULL), 0);
    assert_string_equal(back->user, "us@r");
    assert_string_equal(back->host, "fe80::2%en0");
    assert_string_equal(back->path, "/system?#");
    assert_string_equal(mv_uri_param_get(back, "k y"), "a&b=c#d");
    mv_uri_free(back);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),          cmocka_unit_test(test_bad),
        cmocka_unit_test(test_oversized),     cmocka_unit_test(test_params),
        cmocka_unit_test(test_format_built),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
