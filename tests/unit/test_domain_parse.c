/* test_domain_parse.c: our own domain XML fixtures, data-driven.
 *
 * tests/data/domain/good/NAME.xml must parse (with VALIDATE) and format exactly as
 * NAME.out.xml, which itself must format back unchanged (stable), as must a copy.
 * tests/data/domain/bad/NAME.xml ends with a comment
 *   <!-- expect: VIR_ERR_CODE | part of the message -->
 * and, for rules only VALIDATE applies, <!-- flags: validate --> (then it must parse
 * without the flag). ../shared/fixtures/virt-install-debian11.xml must round-trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/domain/domain_conf.h"
#include "fixture_files.h"

#define DATA MODVIRT_SOURCE_DIR "/tests/data/domain"

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Sorted names of the files in dir that end with suffix and not with skip. */
static size_t list(const char *dir, const char *suffix, const char *skip, char ***out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;

    assert_non_null(d);
    while ((e = readdir(d))) {
        if (!ends_with(e->d_name, suffix) || (skip && ends_with(e->d_name, skip)))
            continue;
        names = realloc(names, (n + 1) * sizeof(*names));
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) /* insertion sort: a handful of names */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    *out = names;
    return n;
}

static int check_good(const char *name)
{
    char path[512], outpath[512];
    size_t len = 0, outlen = 0;
    char *xml, *want, *got = NULL, *again = NULL, *copied = NULL;
    mv_error err = MV_ERROR_INIT;
    mv_domain_def *def = NULL, *def2 = NULL, *copy = NULL;
    int bad = 1;

    snprintf(path, sizeof(path), DATA "/good/%s", name);
    snprintf(outpath, sizeof(outpath), DATA "/good/%.*s.out.xml", (int)(strlen(name) - 4), name);
    xml = fx_slurp(path, &len);
    want = fx_slurp(outpath, &outlen);
    if (!xml || !want) {
        printf("%s: missing input or %s\n", name, outpath);
        goto cleanup;
    }
    def = mv_domain_def_parse(xml, len, MV_DOMAIN_DEF_PARSE_VALIDATE, &err);
    if (!def) {
        printf("%s: %s\n", name, err.message);
        goto cleanup;
    }
    got = mv_domain_def_format(def, -1, 0, &err);
    if (!got || strcmp(got, want) != 0) {
        printf("%s: formatted output differs from %s:\n%s\n", name, outpath, got ? got : "");
        goto cleanup;
    }
    def2 = mv_domain_def_parse(want, outlen, MV_DOMAIN_DEF_PARSE_VALIDATE, &err);
    again = def2 ? mv_domain_def_format(def2, -1, 0, &err) : NULL;
    copy = mv_domain_def_copy(def, &err);
    copied = copy ? mv_domain_def_format(copy, -1, 0, &err) : NULL;
    if (!again || strcmp(again, want) != 0 || !copied || strcmp(copied, want) != 0) {
        printf("%s: not stable through parse/format/copy\n", name);
        goto cleanup;
    }
    bad = 0;
cleanup:
    mv_error_clear(&err);
    mv_domain_def_free(def);
    mv_domain_def_free(def2);
    mv_domain_def_free(copy);
    free(xml);
    free(want);
    free(got);
    free(again);
    free(copied);
    return bad;
}

static void test_good(void **state)
{
    char **names;
    size_t n = list(DATA "/good", ".xml", ".out.xml", &names);
    int bad = 0;

    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        bad += check_good(names[i]);
        free(names[i]);
    }
    free(names);
    fflush(stdout);
    assert_int_equal(bad, 0);
}

/* Reads "<!-- key: value -->" from the document; NULL when absent. Caller frees. */
static char *comment_value(const char *xml, const char *key)
{
    char pattern[64];
    const char *p, *end;

    snprintf(pattern, sizeof(pattern), "<!-- %s: ", key);
    p = strstr(xml, pattern);
    if (!p)
        return NULL;
    p += strlen(pattern);
    end = strstr(p, " -->");
    return end ? strndup(p, (size_t)(end - p)) : NULL;
}

static int check_bad(const char *name)
{
    char path[512];
    size_t len = 0;
    char *xml, *expect = NULL, *flags = NULL, *sep;
    mv_error err = MV_ERROR_INIT;
    mv_domain_def *def = NULL;
    bool validate_only;
    int bad = 1;

    snprintf(path, sizeof(path), DATA "/bad/%s", name);
    xml = fx_slurp(path, &len);
    expect = xml ? comment_value(xml, "expect") : NULL;
    if (!expect || !(sep = strstr(expect, " | "))) {
        printf("%s: no '<!-- expect: CODE | message -->' comment\n", name);
        goto cleanup;
    }
    *sep = '\0';
    flags = comment_value(xml, "flags");
    validate_only = flags && strcmp(flags, "validate") == 0;

    def = mv_domain_def_parse(xml, len, validate_only ? MV_DOMAIN_DEF_PARSE_VALIDATE : 0, &err);
    if (def) {
        printf("%s: parsed, but should fail with %s\n", name, sep + 3);
        goto cleanup;
    }
    if (!mv_error_code_name(err.code) || strcmp(mv_error_code_name(err.code), expect) != 0 ||
        !err.message || !strstr(err.message, sep + 3)) {
        printf("%s: got %s '%s'\n     want %s '...%s...'\n", name,
               mv_error_code_name(err.code), err.message ? err.message : "", expect, sep + 3);
        goto cleanup;
    }
    if (validate_only) { /* what VALIDATE adds: without it, the definition is accepted */
        mv_error_clear(&err);
        def = mv_domain_def_parse(xml, len, 0, &err);
        if (!def) {
            printf("%s: fails without VALIDATE too: %s\n", name, err.message);
            goto cleanup;
        }
    }
    bad = 0;
cleanup:
    mv_error_clear(&err);
    mv_domain_def_free(def);
    free(xml);
    free(expect);
    free(flags);
    return bad;
}

static void test_bad(void **state)
{
    char **names;
    size_t n = list(DATA "/bad", ".xml", NULL, &names);
    int bad = 0;

    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        bad += check_bad(names[i]);
        free(names[i]);
    }
    free(names);
    fflush(stdout);
    assert_int_equal(bad, 0);
}

/* What virt-install writes for a Debian guest, which issue 3 boots. */
static void test_virt_install(void **state)
{
    const char *path = MODVIRT_SOURCE_DIR "/../shared/fixtures/virt-install-debian11.xml";
    size_t len = 0;
    char *xml = fx_slurp(path, &len);
    mv_error err = MV_ERROR_INIT;
    mv_domain_def *def, *def2;
    char *out, *out2;
    char uuid[MV_UUID_STRING_BUFLEN];

    if (!xml)
        skip();
    def = mv_domain_def_parse(xml, len, MV_DOMAIN_DEF_PARSE_VALIDATE, &err);
    assert_non_null(def);
    assert_string_equal(def->name, "demo-linux");
    mv_uuid_format(def->uuid, uuid);
    assert_string_equal(uuid, "185f527b-3a89-4c26-938b-7002b664c066");
    assert_string_equal(def->virt_type, "kvm");
    assert_int_equal(def->memory_kib, 1048576);
    assert_int_equal(def->current_memory_kib, 1048576);
    assert_int_equal(def->vcpus, 2);
    assert_string_equal(def->os.type, "hvm");
    assert_string_equal(def->os.machine, "q35");
    assert_int_equal(def->os.nboot_devs, 1);
    assert_string_equal(def->os.boot_devs[0], "hd");
    assert_int_equal(def->ncontrollers, 16);
    assert_int_equal(def->controllers[1].index, MV_UNSET); /* the driver numbers them */
    assert_int_equal(def->nnets, 1);
    assert_string_equal(def->nets[0].type, "user");
    assert_string_equal(def->nets[0].mac, "52:54:00:b3:02:92");
    assert_string_equal(def->nets[0].model, "virtio");
    assert_int_equal(def->nchannels, 1);
    assert_string_equal(def->channels[0].target_name, "org.qemu.guest_agent.0");
    assert_null(def->channels[0].source_path); /* libvirt generates it at start */
    assert_int_equal(def->ngraphics, 1);
    assert_int_equal(def->graphics[0].port, -1);
    assert_string_equal(def->rngs[0].backend_random, "/dev/urandom");
    assert_string_equal(def->cpu->mode, "host-passthrough");
    assert_int_equal(def->clock->ntimers, 3);
    assert_int_equal(def->pm_suspend_to_mem, MV_TRISTATE_NO);
    out = mv_domain_def_format(def, -1, 0, &err);
    assert_non_null(out);
    def2 = mv_domain_def_parse(out, strlen(out), MV_DOMAIN_DEF_PARSE_VALIDATE, &err);
    assert_non_null(def2);
    out2 = mv_domain_def_format(def2, -1, 0, &err);
    assert_string_equal(out, out2);
    assert_non_null(strstr(out, "<libosinfo:os id=\"http://debian.org/debian/11\"/>"));
    mv_domain_def_free(def);
    mv_domain_def_free(def2);
    free(out);
    free(out2);
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_virt_install),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
