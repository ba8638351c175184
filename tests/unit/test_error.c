/* test_error.c: building, prefixing and moving structured errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/error.h"

typedef struct message_case {
    int code;
    const char *detail;
    const char *message;
} message_case;

/* The code's fixed text with the detail substituted, as libvirt prints them. */
static const message_case messages[] = {
    {VIR_ERR_NO_DOMAIN, "no domain with matching name 'foo'",
     "Domain not found: no domain with matching name 'foo'"},
    {VIR_ERR_XML_ERROR, "unsupported element 'foo' at line 3",
     "XML error: unsupported element 'foo' at line 3"},
    {VIR_ERR_OPERATION_DENIED, "read-only connection",
     "operation forbidden: read-only connection"},
    {VIR_ERR_OPERATION_INVALID, "domain is not running",
     "Requested operation is not valid: domain is not running"},
    {VIR_ERR_NO_SUPPORT, "virDomainSuspend",
     "this function is not supported by the connection driver: virDomainSuspend"},
    {VIR_ERR_INVALID_ARG, "bad flags", "invalid argument: bad flags"},
    {VIR_ERR_CONF_SYNTAX, "a.conf:3: unknown key 'x'",
     "configuration file syntax error: a.conf:3: unknown key 'x'"},
    {VIR_ERR_DOM_EXIST, "'vm1'", "domain 'vm1' exists already"},
    {VIR_ERR_INTERNAL_ERROR, "oops", "internal error: oops"},
    {VIR_ERR_RPC, "frame too big", "frame too big"},
    {VIR_ERR_SYSTEM_ERROR, "plain", "plain"},
    {9999, "code nobody knows", "code nobody knows"},
    {-3, "negative code", "negative code"},
};

static void test_messages(void **state)
{
    for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
        mv_error err = MV_ERROR_INIT;
        mv_error_set(&err, messages[i].code, VIR_FROM_QEMU, "%s", messages[i].detail);
        assert_int_equal(err.code, messages[i].code);
        assert_int_equal(err.domain, VIR_FROM_QEMU);
        assert_string_equal(err.message, messages[i].message);
        mv_error_clear(&err);
    }
}

static void test_set_replaces_and_formats(void **state)
{
    mv_error err = MV_ERROR_INIT;
    assert_false(mv_error_is_set(&err));
    assert_false(mv_error_is_set(NULL));
    mv_error_set(&err, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, "no domain with id %d", 42);
    assert_true(mv_error_is_set(&err));
    assert_string_equal(err.message, "Domain not found: no domain with id 42");
    /* the detail may quote the old message: it is formatted before the old one is freed */
    mv_error_set(&err, VIR_ERR_OPERATION_FAILED, VIR_FROM_RPC, "after: %s", err.message);
    assert_string_equal(err.message,
                        "operation failed: after: Domain not found: no domain with id 42");
    assert_int_equal(err.domain, VIR_FROM_RPC);
    mv_error_clear(&err);
    assert_null(err.message);
    assert_int_equal(err.code, VIR_ERR_OK);
    assert_int_equal(err.domain, VIR_FROM_NONE);
    mv_error_clear(&err); /* twice is fine */
    mv_error_clear(NULL);
    /* a NULL error is allowed everywhere */
    mv_error_set(NULL, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, "x");
    mv_error_set_errno(NULL, ENOENT, VIR_FROM_QEMU, "x");
    mv_error_set_raw(NULL, 1, 1, "x");
    mv_error_prefix(NULL, "x");
}

static void test_errno(void **state)
{
    mv_error err = MV_ERROR_INIT;
    mv_error_set_errno(&err, ENOENT, VIR_FROM_CONF, "cannot open '%s'", "/nowhere");
    assert_int_equal(err.code, VIR_ERR_SYSTEM_ERROR);
    assert_int_equal(err.domain, VIR_FROM_CONF);
    assert_string_equal(err.message, "cannot open '/nowhere': No such file or directory");
    mv_error_clear(&err);
}

static void test_raw(void **state)
{
    mv_error err = MV_ERROR_INIT;
    mv_error_set_raw(&err, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, "Domain not found: as sent");
    assert_string_equal(err.message, "Domain not found: as sent"); /* no second prefix */
    mv_error_set_raw(&err, VIR_ERR_RPC, VIR_FROM_RPC, NULL);
    assert_string_equal(err.message, "");
    assert_int_equal(err.code, VIR_ERR_RPC);
    /* raw with a message that is err's own */
    mv_error_set_raw(&err, VIR_ERR_RPC, VIR_FROM_RPC, "abc");
    mv_error_set_raw(&err, VIR_ERR_RPC, VIR_FROM_RPC, err.message);
    assert_string_equal(err.message, "abc");
    mv_error_clear(&err);
}

static void test_prefix(void **state)
{
    mv_error err = MV_ERROR_INIT;
    mv_error_prefix(&err, "ignored: "); /* no error, nothing to prefix */
    assert_null(err.message);
    mv_error_set(&err, VIR_ERR_CONF_SYNTAX, VIR_FROM_CONF, "unknown key 'x'");
    mv_error_prefix(&err, "%s:%d: ", "virtqemud.conf", 3);
    assert_string_equal(err.message,
                        "virtqemud.conf:3: configuration file syntax error: unknown key 'x'");
    assert_int_equal(err.code, VIR_ERR_CONF_SYNTAX);
    mv_error_prefix(&err, "outer: ");
    assert_string_equal(err.message,
                        "outer: virtqemud.conf:3: configuration file syntax error: unknown key 'x'");
    mv_error_clear(&err);
}

static void test_move(void **state)
{
    mv_error a = MV_ERROR_INIT, b = MV_ERROR_INIT;
    mv_error_set(&a, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, "a");
    mv_error_set(&b, VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC, "b");
    mv_error_move(&b, &a); /* b's old message is freed (ASan would see a leak) */
    assert_int_equal(b.code, VIR_ERR_NO_DOMAIN);
    assert_int_equal(b.domain, VIR_FROM_QEMU);
    assert_string_equal(b.message, "Domain not found: a");
    assert_false(mv_error_is_set(&a));
    assert_null(a.message);
    assert_int_equal(a.domain, VIR_FROM_NONE);

    mv_error_move(&b, &b); /* onto itself: unchanged */
    assert_string_equal(b.message, "Domain not found: a");
    mv_error_move(NULL, &b); /* nowhere to go: dropped */
    assert_false(mv_error_is_set(&b));
    assert_null(b.message);
    mv_error_move(&a, NULL);
    assert_false(mv_error_is_set(&a));

    /* moving an unset error unsets the destination */
    mv_error_set(&a, VIR_ERR_RPC, VIR_FROM_RPC, "x");
    mv_error_move(&a, &b);
    assert_false(mv_error_is_set(&a));
}

static void test_tables(void **state)
{
    assert_string_equal(mv_error_code_name(VIR_ERR_NO_DOMAIN), "VIR_ERR_NO_DOMAIN");
    assert_string_equal(mv_error_code_name(VIR_ERR_OK), "VIR_ERR_OK");
    assert_string_equal(mv_error_code_name(VIR_ERR_MULTIPLE_DOMAINS), "VIR_ERR_MULTIPLE_DOMAINS");
    assert_string_equal(mv_error_format_for(VIR_ERR_NO_DOMAIN), "Domain not found: %s");
    assert_null(mv_error_code_name(-1));
    assert_null(mv_error_code_name(VIR_ERR_NUMBER_LAST + 100));
    assert_null(mv_error_format_for(-1));
    assert_null(mv_error_format_for(100000));
    /* every named code has a format with exactly one %s, so set() can never misformat */
    for (int c = 0; c < VIR_ERR_NUMBER_LAST; c++) {
        const char *f = mv_error_format_for(c);
        if (!f)
            continue;
        const char *s = strstr(f, "%s");
        assert_non_null(s);
        assert_null(strchr(s + 2, '%'));
        assert_ptr_equal(strchr(f, '%'), s);
        assert_non_null(mv_error_code_name(c));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages), cmocka_unit_test(test_set_replaces_and_formats),
        cmocka_unit_test(test_errno),    cmocka_unit_test(test_raw),
        cmocka_unit_test(test_prefix),   cmocka_unit_test(test_move),
        cmocka_unit_test(test_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
