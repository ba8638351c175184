/* test_vmctl_errors.c: vmctl's failures against the real daemons — usage errors, unknown
 * domains, names that must never become paths, read-only refusals, conflicting
 * definitions — each `error: ...` on stderr with exit status 1; and `edit` through
 * $EDITOR, run from an argument vector (no shell). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "harness_vmctl.h"

#define UUID_DEMO "5ed83087-3852-4e66-8805-134d287f4532"
#define UUID_OTHER "11111111-2222-3333-4444-555555555555"

/* No editor or temporary folder of the host's (or of an earlier test) leaks in. */
static void clear_editor_env(void)
{
    unsetenv("VISUAL");
    unsetenv("EDITOR");
    unsetenv("TMPDIR");
}

static int setup(void **state)
{
    clear_editor_env();
    return mvt_setup_state(state);
}

static int teardown(void **state)
{
    clear_editor_env();
    return mvt_teardown_state(state);
}

/* Writes <root>/<file> holding a definition; returns its path (malloc'd). */
static char *write_domain(const mvt_env *e, const char *file, const char *name, const char *uuid)
{
    char *xml = mvt_domain_xml_sized(name, uuid, 128, 0, 2);
    assert_non_null(xml);
    assert_int_equal(mvt_write(e, file, xml), 0);
    free(xml);
    return mvt_path(e, file);
}

/* Defines demo (write_domain's definition) with vmctl, checking virsh's message. */
static void define_demo(const mvt_env *e)
{
    char *xml = mvt_domain_xml_sized("demo", UUID_DEMO, 128, 0, 2);
    assert_non_null(xml);
    mvt_vmctl_define(e, NULL, "demo", xml);
    free(xml);
}

/* Asserts exit 1, exactly `err` on stderr and `out` on stdout. A command that ran and
 * failed prints virsh's blank line; one refused while parsing its arguments does not. */
static void expect_fail(mvt_result *r, const char *out, const char *err)
{
    mvt_expect(r, 1, out, err);
}

/* Writes <root>/<file> defining name and uuid and runs `vmctl [opt] define` on it, which
 * must fail with virsh's "Failed to define domain from FILE" line, then `reason`. */
static void define_refused(const mvt_env *e, const char *opt, const char *file, const char *name,
                           const char *uuid, const char *reason)
{
    char *path = write_domain(e, file, name, uuid);
    char want[1024];
    snprintf(want, sizeof(want), "error: Failed to define domain from %s\n%s", path, reason);
    mvt_result r;
    if (opt)
        assert_int_equal(mvt_vmctl(&r, opt, "define", path, NULL), 0);
    else
        assert_int_equal(mvt_vmctl(&r, "define", path, NULL), 0);
    expect_fail(&r, "\n", want);
    free(path);
}

static void test_usage_errors(void **state)
{
    static const mvt_vmctl_case cases[] = {
        {{"nosuch"}, "", "error: unknown command: 'nosuch'\n", 1},
        {{"list", "--foo"}, "", "error: command 'list' doesn't support option --foo\n", 1},
        {{"dominfo"}, "", "error: command 'dominfo' requires <domain> option\n", 1},
        {{"define"}, "", "error: command 'define' requires <file> option\n", 1},
        {{"dominfo", "demo", "extra"}, "", "error: unexpected data 'extra'\n", 1},
        {{"--bogus", "list"}, "", "error: unsupported option '--bogus'. See --help.\n", 1},
        {{"-c"}, "", "error: option '-c' requires an argument\n", 1},
        {{"--json", "nosuch"}, "", "error: unknown command: 'nosuch'\n", 1},
        {{"define", "/nonexistent/demo.xml"},
         "\n",
         "error: Failed to open file '/nonexistent/demo.xml': No such file or directory\n",
         1},
    };
    mvt_vmctl_cases(cases, sizeof(cases) / sizeof(cases[0]));
    /* -c after the command with no URI behind it: refused (the words are not pinned) */
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "list", "-c", NULL), 0);
    assert_int_equal(r.status, 1);
    mvt_result_free(&r);
}

static void test_unknown_domain(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    define_demo(e);
    const char *cmds[] = {"dominfo", "domstate", "domuuid",   "domid", "domname",
                          "dumpxml", "undefine", "autostart", "edit"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        assert_int_equal(mvt_vmctl(&r, cmds[i], "nosuch", NULL), 0);
        expect_fail(&r, "\n",
                    "error: failed to get domain 'nosuch'\n"
                    "error: Domain not found: no domain with matching name 'nosuch'\n");
    }
    /* a number is tried as an id, a UUID as a UUID, then each as a name */
    assert_int_equal(mvt_vmctl(&r, "dominfo", "7", NULL), 0);
    expect_fail(&r, "\n",
                "error: failed to get domain '7'\n"
                "error: Domain not found: no domain with matching name '7'\n");
    assert_int_equal(mvt_vmctl(&r, "dominfo", UUID_OTHER, NULL), 0);
    expect_fail(&r, "\n",
                "error: failed to get domain '" UUID_OTHER "'\n"
                "error: Domain not found: no domain with matching name '" UUID_OTHER "'\n");
    /* the domain that exists is untouched by all of that */
    assert_int_equal(mvt_vmctl(&r, "-q", "list", "--all", "--name", NULL), 0);
    assert_string_equal(r.out, "demo\n");
    mvt_result_free(&r);
}

/* Every file under <root>/etc, as one sorted-by-discovery listing (for "nothing new"). */
static void list_tree(const char *dir, char *buf, size_t len)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s\n", path);
        if (de->d_type == DT_DIR)
            list_tree(path, buf, len);
    }
    closedir(d);
}

static void test_bad_names(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    define_demo(e);
    char before[8192] = "", after[8192] = "";
    char *etc = mvt_path(e, "etc");
    list_tree(etc, before, sizeof(before));

    char long_name[202];
    memset(long_name, 'a', 201);
    long_name[201] = '\0';
    struct {
        const char *name;
        const char *why; /* a fragment the reason must hold */
    } cases[] = {
        {"a/b", "'/'"}, {"../escape", "'.'"}, {"x/../../escape", "'/'"},
        {"..", "'.'"},  {".hidden", "'.'"},   {long_name, "200"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = write_domain(e, "bad.xml", cases[i].name, UUID_OTHER);
        assert_int_equal(mvt_vmctl(&r, "define", path, NULL), 0);
        assert_int_equal(r.status, 1);
        assert_string_equal(r.out, "\n");
        char first[512];
        snprintf(first, sizeof(first),
                 "error: Failed to define domain from %s\nerror: XML error: ", path);
        assert_true(strncmp(r.err, first, strlen(first)) == 0);
        /* one reason line, naming the offending name and the rule */
        assert_int_equal(mvt_count_lines_with(r.err, "error: "), 2);
        assert_non_null(strstr(r.err, cases[i].why));
        char shown[64];
        snprintf(shown, sizeof(shown), "'%.40s", cases[i].name);
        assert_non_null(strstr(r.err, shown));
        mvt_result_free(&r);
        /* looking such a name up is just "not found" */
        assert_int_equal(mvt_vmctl(&r, "dominfo", cases[i].name, NULL), 0);
        assert_int_equal(r.status, 1);
        assert_int_equal(mvt_count_lines_with(r.err, "error: Domain not found: "), 1);
        mvt_result_free(&r);
        free(path);
    }
    /* a control character that XML allows in text (a tab) is refused as a name */
    char *path = write_domain(e, "bad.xml", "tab\tname", UUID_OTHER);
    assert_int_equal(mvt_vmctl(&r, "define", path, NULL), 0);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "control character"));
    mvt_result_free(&r);
    free(path);

    /* nothing was written anywhere under etc/ (no "escape.xml" one level up) */
    list_tree(etc, after, sizeof(after));
    assert_string_equal(after, before);
    assert_int_equal(mvt_vmctl(&r, "-q", "list", "--all", "--name", NULL), 0);
    assert_string_equal(r.out, "demo\n");
    mvt_result_free(&r);
    free(etc);
}

static void test_readonly_refused(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    define_demo(e);
    define_refused(e, "-r", "other.xml", "other", UUID_OTHER,
                   "error: operation forbidden: read only access prevents "
                   "virDomainDefineXMLFlags\n");
    assert_int_equal(mvt_vmctl(&r, "--readonly", "undefine", "demo", NULL), 0);
    expect_fail(&r, "\n",
                "error: Failed to undefine domain 'demo'\n"
                "error: operation forbidden: read only access prevents virDomainUndefine\n");
    assert_int_equal(mvt_vmctl(&r, "-r", "autostart", "demo", NULL), 0);
    expect_fail(&r, "\n",
                "error: Failed to mark domain 'demo' as autostarted\n"
                "error: operation forbidden: read only access prevents virDomainSetAutostart\n");
    assert_int_equal(mvt_vmctl(&r, "-r", "autostart", "--disable", "demo", NULL), 0);
    expect_fail(&r, "\n",
                "error: Failed to unmark domain 'demo' as autostarted\n"
                "error: operation forbidden: read only access prevents virDomainSetAutostart\n");
    assert_int_equal(mvt_vmctl(&r, "-r", "dumpxml", "--security-info", "demo", NULL), 0);
    expect_fail(&r, "\n", "error: operation forbidden: virDomainGetXMLDesc with secure flag\n");

    /* reads work, and nothing changed */
    assert_int_equal(mvt_vmctl(&r, "-r", "-q", "list", "--all", "--name", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "demo\n");
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "-r", "-q", "domstate", "demo", NULL), 0);
    assert_string_equal(r.out, "shut off\n");
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "-r", "dominfo", "demo", NULL), 0);
    assert_int_equal(mvt_count_lines_with(r.out, "Autostart:      disable"), 1);
    mvt_result_free(&r);
}

static void test_define_conflicts(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    define_demo(e);
    /* the same name with another UUID */
    define_refused(e, NULL, "dup.xml", "demo", UUID_OTHER,
                   "error: operation failed: domain 'demo' already exists with uuid " UUID_DEMO
                   "\n");
    /* the same UUID with another name */
    define_refused(e, NULL, "dup.xml", "renamed", UUID_DEMO,
                   "error: operation failed: domain 'demo' is already defined with uuid " UUID_DEMO
                   "\n");

    assert_int_equal(mvt_vmctl(&r, "-q", "list", "--all", "--uuid", "--name", NULL), 0);
    assert_string_equal(r.out, UUID_DEMO " demo\n");
    mvt_result_free(&r);
}

/* The stored definition, to show that a failed edit changed nothing. */
static char *stored(const mvt_env *e)
{
    char *path = mvt_path(e, "etc/modvirt/qemu/demo.xml");
    char *s = mvt_read_file(path);
    free(path);
    assert_non_null(s);
    return s;
}

static void test_edit(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    define_demo(e);
    char *tmp = mvt_path(e, "tmp");
    assert_int_equal(mkdir(tmp, 0700), 0);
    setenv("TMPDIR", tmp, 1);

    /* an editor that changes something (an argument vector: quotes kept, no shell) */
    setenv("EDITOR", "sed -i -e 's|>2</vcpu>|>3</vcpu>|'", 1);
    assert_int_equal(mvt_vmctl(&r, "edit", "demo", NULL), 0);
    assert_string_equal(r.err, "");
    assert_string_equal(r.out, "Domain 'demo' XML configuration edited.\n\n");
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "dominfo", "demo", NULL), 0);
    assert_int_equal(mvt_count_lines_with(r.out, "CPU(s):         3"), 1);
    mvt_result_free(&r);

    /* an editor that changes nothing; VISUAL wins over EDITOR */
    setenv("EDITOR", "false", 1);
    setenv("VISUAL", "true", 1);
    char *before = stored(e);
    assert_int_equal(mvt_vmctl(&r, "--json", "edit", "demo", NULL), 0);
    assert_string_equal(r.err, "");
    assert_string_equal(r.out, "{\n  \"name\": \"demo\",\n  \"changed\": false\n}\n");
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "edit", "demo", NULL), 0);
    assert_string_equal(r.out, "Domain 'demo' XML configuration not changed.\n\n");
    assert_int_equal(r.status, 0);
    mvt_result_free(&r);
    unsetenv("VISUAL");

    /* an editor that breaks the XML: the library's reason, exit 1, nothing changed */
    setenv("EDITOR", "sed -i -e s|</domain>||", 1);
    assert_int_equal(mvt_vmctl(&r, "edit", "demo", NULL), 0);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "\n");
    assert_true(strncmp(r.err, "error: XML error: ", 18) == 0);
    assert_int_equal(mvt_count_lines_with(r.err, "not changed"), 1);
    mvt_result_free(&r);
    char *after = stored(e);
    assert_string_equal(after, before);
    free(after);

    /* an edit that renames keeps the UUID: libvirt's "already defined" */
    setenv("EDITOR", "sed -i -e s|<name>demo<|<name>demo2<|", 1);
    assert_int_equal(mvt_vmctl(&r, "edit", "demo", NULL), 0);
    assert_int_equal(r.status, 1);
    assert_true(
        strncmp(r.err,
                "error: operation failed: domain 'demo' is already defined with uuid " UUID_DEMO
                "\n",
                strlen("error: operation failed: domain 'demo' is already defined "
                       "with uuid " UUID_DEMO "\n")) == 0);
    mvt_result_free(&r);

    /* an editor that fails, or is missing */
    setenv("EDITOR", "false", 1);
    assert_int_equal(mvt_vmctl(&r, "edit", "demo", NULL), 0);
    assert_int_equal(r.status, 1);
    assert_int_equal(mvt_count_lines_with(r.err, "error: editor 'false' exited with status 1"), 1);
    mvt_result_free(&r);
    setenv("EDITOR", "/nonexistent/editor", 1);
    assert_int_equal(mvt_vmctl(&r, "edit", "demo", NULL), 0);
    assert_int_equal(r.status, 1);
    assert_int_equal(
        mvt_count_lines_with(r.err, "error: cannot run editor '/nonexistent/editor': No such file"),
        1);
    mvt_result_free(&r);

    after = stored(e);
    assert_string_equal(after, before);
    free(after);
    free(before);
    /* every temporary file was removed */
    char left[1024] = "";
    list_tree(tmp, left, sizeof(left));
    assert_string_equal(left, "");
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_define_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
