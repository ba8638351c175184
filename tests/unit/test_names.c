/* test_names.c: the object-name rules, over tables of good and bad names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/names.h"

static const char *const good[] = {
    "vm1",
    "a",
    "my-guest_01.test",
    "caf\xc3\xa9",               /* é: two-byte UTF-8 */
    "\xe6\x97\xa5\xe6\x9c\xac",  /* 日本 */
    "\xf0\x9f\x90\xa7-penguin",  /* four-byte UTF-8 */
    "with space",
    "dots.in.the..middle.",
    "trailing-dot.",
    "back\\slash",
    "tab-free~!@#$%^&*()[]{}",
    "\xef\xbf\xbd",              /* U+FFFD is a character like any other */
};

typedef struct bad_case {
    const char *name;
    const char *message; /* the whole message */
} bad_case;

static const bad_case bad[] = {
    {"", "invalid argument: domain name must not be empty"},
    {"a/b", "invalid argument: domain name 'a/b' must not contain '/'"},
    {"/", "invalid argument: domain name '/' must not contain '/'"},
    {"../../etc/passwd", "invalid argument: domain name '../../etc/passwd' must not start with '.'"},
    {".", "invalid argument: domain name '.' must not start with '.'"},
    {"..", "invalid argument: domain name '..' must not start with '.'"},
    {".hidden", "invalid argument: domain name '.hidden' must not start with '.'"},
    {"bad\x01name", "invalid argument: domain name 'bad\\x01name' must not contain control "
                    "characters (U+0001 at byte 3)"},
    {"new\nline", "invalid argument: domain name 'new\\x0aline' must not contain control "
                  "characters (U+000A at byte 3)"},
    {"tab\there", "invalid argument: domain name 'tab\\x09here' must not contain control "
                  "characters (U+0009 at byte 3)"},
    {"del\x7f", "invalid argument: domain name 'del\\x7f' must not contain control characters "
                "(U+007F at byte 3)"},
    {"c1\xc2\x85", "invalid argument: domain name 'c1\\xc2\\x85' must not contain control "
                   "characters (U+0085 at byte 2)"},
    {"\xff\xfe", "invalid argument: domain name '\\xff\\xfe' is not valid UTF-8 (byte 0)"},
    {"ab\xc3", "invalid argument: domain name 'ab\\xc3' is not valid UTF-8 (byte 2)"},
    {"over\xc0\xaflong", "invalid argument: domain name 'over\\xc0\\xaflong' is not valid UTF-8 "
                         "(byte 4)"},
    {"sur\xed\xa0\x80", "invalid argument: domain name 'sur\\xed\\xa0\\x80' is not valid UTF-8 "
                        "(byte 3)"},
    {"big\xf4\x90\x80\x80", "invalid argument: domain name 'big\\xf4\\x90\\x80\\x80' is not valid "
                            "UTF-8 (byte 3)"},
    {"cont\x80", "invalid argument: domain name 'cont\\x80' is not valid UTF-8 (byte 4)"},
};

static void test_good(void **state)
{
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        mv_error err = MV_ERROR_INIT;
        if (mv_name_check("domain name", good[i], &err) < 0)
            fail_msg("'%s' refused: %s", good[i], err.message);
        assert_false(mv_error_is_set(&err));
    }
}

static void test_bad(void **state)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mv_error err = MV_ERROR_INIT;
        if (mv_name_check("domain name", bad[i].name, &err) == 0)
            fail_msg("case %zu accepted", i);
        assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
        assert_string_equal(err.message, bad[i].message);
        mv_error_clear(&err);
    }
    /* NULL, and a NULL error */
    mv_error err = MV_ERROR_INIT;
    assert_int_equal(mv_name_check("network name", NULL, &err), -1);
    assert_string_equal(err.message, "invalid argument: network name must not be empty");
    assert_int_equal(mv_name_check("x", "a/b", NULL), -1);
    mv_error_clear(&err);
}

static void test_length(void **state)
{
    char name[MV_NAME_MAX + 2];
    mv_error err = MV_ERROR_INIT;
    memset(name, 'n', sizeof(name));
    name[MV_NAME_MAX] = '\0';
    assert_int_equal(mv_name_check("domain name", name, &err), 0);
    name[MV_NAME_MAX] = 'n';
    name[MV_NAME_MAX + 1] = '\0';
    assert_int_equal(mv_name_check("domain name", name, &err), -1);
    /* the message quotes a bounded prefix, then says how long the name is */
    assert_non_null(strstr(err.message, "is 201 bytes long; the limit is 200 bytes"));
    assert_non_null(strstr(err.message, "nnnn...'"));
    assert_true(strlen(err.message) < 160);

    /* 200 bytes of multi-byte characters are fine; the limit is in bytes */
    for (size_t i = 0; i + 2 <= MV_NAME_MAX; i += 2)
        memcpy(name + i, "\xc3\xa9", 2);
    name[MV_NAME_MAX] = '\0';
    assert_int_equal(mv_name_check("domain name", name, NULL), 0);
    /* a long bad name is cut on a character boundary in the message */
    name[MV_NAME_MAX] = 'x';
    name[MV_NAME_MAX + 1] = '\0';
    assert_int_equal(mv_name_check("domain name", name, &err), -1);
    const char *quote = strchr(err.message, '\'');
    const char *dots = strstr(err.message, "...'");
    assert_non_null(quote);
    assert_non_null(dots);
    assert_int_equal((dots - quote - 1) % 2, 0);
    mv_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
