/* test_uuid.c: UUID generation, the text forms libvirt accepts, and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "common/uuid.h"

static const unsigned char EXPECTED[MV_UUID_BUFLEN] = {0xc7, 0xa5, 0xfd, 0xbd, 0xed, 0xaf,
                                                       0x9c, 0x45, 0x52, 0x1d, 0x5c, 0x25,
                                                       0x8b, 0x1e, 0x0f, 0xc3};

/* All spell the same UUID. */
static const char *const good[] = {
    "c7a5fdbd-edaf-9c45-521d-5c258b1e0fc3",
    "C7A5FDBD-EDAF-9C45-521D-5C258B1E0FC3",
    "c7a5fdbdedaf9c45521d5c258b1e0fc3",
    "  c7a5fdbd-edaf-9c45-521d-5c258b1e0fc3\n",
    "\tc7a5fdbdedaf9c45521d5c258b1e0fc3 ",
    "c7-a5-fd-bd-ed-af-9c-45-52-1d-5c-25-8b-1e-0f-c3",
    "c7a5 fdbd edaf 9c45 521d 5c25 8b1e 0fc3",
    "c7a5fdbd--edaf-9c45-521d-5c258b1e0fc3",
    "-c7a5fdbd-edaf-9c45-521d-5c258b1e0fc3",
};

static const char *const bad[] = {
    "",
    "   ",
    "c7a5fdbd-edaf-9c45-521d-5c258b1e0fc",     /* 31 digits */
    "c7a5fdbd-edaf-9c45-521d-5c258b1e0fc3a",   /* 33 digits */
    "c7a5fdbd-edaf-9c45-521d-5c258b1e0fc3-00", /* 34 */
    "c-7a5fdbd-edaf-9c45-521d-5c258b1e0fc3",   /* separator inside a pair */
    "c7a5fdbd-edaf-9c45-521d-5c258b1e0fcg",
    "g7a5fdbd-edaf-9c45-521d-5c258b1e0fc3",
    "c7a5fdbd-edaf-9c45-521d-5c258b1e0fc3-",
    "c7a5fdbd_edaf_9c45_521d_5c258b1e0fc3",
    "c7a5fdbd-edaf-9c45-521d-5c258b1e0fc3 x",
    "{c7a5fdbd-edaf-9c45-521d-5c258b1e0fc3}",
    "0x c7a5fdbd-edaf-9c45-521d-5c258b1e0fc3",
};

static void test_parse_good(void **state)
{
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        unsigned char u[MV_UUID_BUFLEN];
        if (mv_uuid_parse(good[i], u) < 0)
            fail_msg("'%s' refused", good[i]);
        assert_memory_equal(u, EXPECTED, MV_UUID_BUFLEN);
    }
}

static void test_parse_bad(void **state)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char u[MV_UUID_BUFLEN];
        memset(u, 0xab, sizeof(u));
        if (mv_uuid_parse(bad[i], u) == 0)
            fail_msg("'%s' accepted", bad[i]);
        /* a failed parse leaves the output alone */
        for (size_t k = 0; k < MV_UUID_BUFLEN; k++)
            assert_int_equal(u[k], 0xab);
    }
    unsigned char u[MV_UUID_BUFLEN];
    assert_int_equal(mv_uuid_parse(NULL, u), -1);
}

static void test_format(void **state)
{
    char s[MV_UUID_STRING_BUFLEN];
    mv_uuid_format(EXPECTED, s);
    assert_string_equal(s, "c7a5fdbd-edaf-9c45-521d-5c258b1e0fc3");
    unsigned char zero[MV_UUID_BUFLEN] = {0};
    mv_uuid_format(zero, s);
    assert_string_equal(s, "00000000-0000-0000-0000-000000000000");
    assert_true(mv_uuid_is_null(zero));
    assert_false(mv_uuid_is_null(EXPECTED));
    zero[15] = 1;
    assert_false(mv_uuid_is_null(zero));
}

static void test_generate(void **state)
{
    enum { N = 2000 };
    static unsigned char seen[N][MV_UUID_BUFLEN];
    for (size_t i = 0; i < N; i++) {
        unsigned char *u = seen[i];
        assert_int_equal(mv_uuid_generate(u), 0);
        assert_int_equal(u[6] >> 4, 4);      /* version 4 */
        assert_int_equal(u[8] & 0xc0, 0x80); /* RFC 4122 variant */
        assert_false(mv_uuid_is_null(u));
        /* format -> parse round trip */
        char s[MV_UUID_STRING_BUFLEN];
        unsigned char back[MV_UUID_BUFLEN];
        mv_uuid_format(u, s);
        assert_int_equal(strlen(s), 36);
        assert_int_equal(s[14], '4');
        assert_int_equal(mv_uuid_parse(s, back), 0);
        assert_memory_equal(back, u, MV_UUID_BUFLEN);
        for (size_t k = 0; k < i; k++)
            assert_true(memcmp(seen[k], u, MV_UUID_BUFLEN) != 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_generate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
