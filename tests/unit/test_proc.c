/* test_proc.c: the procedure table agrees with procedures.def, line by line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "common/proc.h"

/* procedures.def expanded a second time, independently of proc.c, as plain strings. */
typedef struct declared {
    uint32_t num;
    const char *NAME, *name, *Args, *Ret, *access, *route, *run;
} declared;

static const declared decl[] = {
#define PROC(num, NAME, name, Args, args, Ret, ret, access, route, run)                         \
    {num, #NAME, #name, #Args, #Ret, #access, #route, #run},
#include "proto/procedures.def"
#undef PROC
};
#define NDECL (sizeof(decl) / sizeof(decl[0]))

static const char *access_word(enum mv_proc_access a)
{
    return a == MV_ACCESS_RO ? "RO" : a == MV_ACCESS_RW ? "RW" : "?";
}

static const char *route_word(enum mv_proc_route r)
{
    switch (r) {
    case MV_ROUTE_PROXY: return "PROXY";
    case MV_ROUTE_OPEN: return "OPEN";
    case MV_ROUTE_INTERNAL: return "INTERNAL";
    case MV_ROUTE_CONN: return "CONN";
    case MV_ROUTE_DOMAIN: return "DOMAIN";
    case MV_ROUTE_EVENT: return "EVENT";
    }
    return "?";
}

static const char *run_word(enum mv_proc_run r)
{
    return r == MV_RUN_LOOP ? "LOOP" : r == MV_RUN_JOB ? "JOB" : "?";
}

static void test_every_declared_procedure_resolves(void **state)
{
    assert_true(NDECL > 0);
    for (size_t i = 0; i < NDECL; i++) {
        const declared *d = &decl[i];
        const mv_proc_info *p = mv_proc_lookup(d->num);
        if (!p)
            fail_msg("procedure %u (%s) does not resolve", d->num, d->name);
        assert_int_equal(p->num, d->num);
        assert_string_equal(p->name, d->name);
        assert_string_equal(mv_proc_name(d->num), d->name);
        /* the descriptors are the declared messages */
        assert_non_null(p->args);
        assert_non_null(p->ret);
        assert_string_equal(p->args->short_name, d->Args);
        assert_string_equal(p->ret->short_name, d->Ret);
        assert_string_equal(access_word(p->access), d->access);
        assert_string_equal(route_word(p->route), d->route);
        assert_string_equal(run_word(p->run), d->run);
    }
}

/* NAME is name in upper case, and MV_PROC_<NAME> is its number. */
static void test_names_and_constants(void **state)
{
    for (size_t i = 0; i < NDECL; i++) {
        const char *u = decl[i].NAME, *l = decl[i].name;
        assert_int_equal(strlen(u), strlen(l));
        for (size_t k = 0; u[k]; k++) {
            char c = l[k];
            assert_int_equal(u[k], (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c);
        }
    }
    assert_int_equal(MV_PROC_CONNECT_OPEN, 1);
    assert_int_equal(MV_PROC_DOMAIN_DEFINE_XML, 15);
    assert_int_equal(mv_proc_lookup(MV_PROC_DOMAIN_LOOKUP_BY_NAME)->num,
                     MV_PROC_DOMAIN_LOOKUP_BY_NAME);
}

/* Numbers and names are unique: a duplicate would make one row shadow another. */
static void test_unique(void **state)
{
    for (size_t i = 0; i < NDECL; i++) {
        for (size_t k = i + 1; k < NDECL; k++) {
            if (decl[i].num == decl[k].num)
                fail_msg("number %u declared twice", decl[i].num);
            if (strcmp(decl[i].name, decl[k].name) == 0)
                fail_msg("name %s declared twice", decl[i].name);
        }
    }
}

/* What the proxy's read-only check relies on. */
static void test_access_policy(void **state)
{
    const mv_proc_info *p;
    assert_non_null(p = mv_proc_lookup(MV_PROC_CONNECT_OPEN));
    assert_int_equal(p->access, MV_ACCESS_RO);
    assert_int_equal(p->route, MV_ROUTE_OPEN);
    assert_non_null(p = mv_proc_lookup(MV_PROC_DOMAIN_DEFINE_XML));
    assert_int_equal(p->access, MV_ACCESS_RW);
    assert_int_equal(p->route, MV_ROUTE_DOMAIN);
    assert_int_equal(p->run, MV_RUN_JOB);
    assert_non_null(p = mv_proc_lookup(MV_PROC_DOMAIN_UNDEFINE));
    assert_int_equal(p->access, MV_ACCESS_RW);
    assert_non_null(p = mv_proc_lookup(MV_PROC_DOMAIN_SET_AUTOSTART));
    assert_int_equal(p->access, MV_ACCESS_RW);
    assert_non_null(p = mv_proc_lookup(MV_PROC_PROXY_IDENTIFY));
    assert_int_equal(p->route, MV_ROUTE_INTERNAL);
    assert_non_null(p = mv_proc_lookup(MV_PROC_DOMAIN_GET_XML_DESC));
    assert_int_equal(p->access, MV_ACCESS_RO);
    assert_int_equal(p->run, MV_RUN_LOOP);
}

static void test_unknown_numbers(void **state)
{
    uint32_t max = 0;
    for (size_t i = 0; i < NDECL; i++)
        if (decl[i].num > max)
            max = decl[i].num;
    const uint32_t unknown[] = {0, max + 1, max + 1000, 0x7fffffffu, UINT32_MAX};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_null(mv_proc_lookup(unknown[i]));
        assert_string_equal(mv_proc_name(unknown[i]), "unknown");
    }
    /* gaps inside the range, if the list ever has any, are unknown too */
    for (uint32_t n = 1; n <= max; n++) {
        int found = 0;
        for (size_t i = 0; i < NDECL; i++)
            found |= decl[i].num == n;
        if (!found)
            assert_null(mv_proc_lookup(n));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_declared_procedure_resolves),
        cmocka_unit_test(test_names_and_constants),
        cmocka_unit_test(test_unique),
        cmocka_unit_test(test_access_policy),
        cmocka_unit_test(test_unknown_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
