/* test_vmctl.c: vmctl against the real daemons — define, list and its filters, dumpxml,
 * undefine, the one-domain queries, autostart and the host commands, in virsh's exact
 * text and in --json. (Errors and edit: test_vmctl_errors.c.) */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "harness_vmctl.h"

#define UUID_DEMO "5ed83087-3852-4e66-8805-134d287f4532"
#define UUID_ALPHA "4b9ef4d4-08b7-4c70-8c5b-aee72b2af161"
#define UUID_BETA "d76abde3-383b-453f-a4c1-3915783c68c9"
#define UUID_GAMMA "d069d305-dbe3-4ce9-882d-65e74dcf0ece"

/* Writes <root>/<name>.xml, a definition with 2 vCPUs and 128 MiB (so that what vmctl
 * shows is not a default); returns its path (malloc'd). */
static char *write_domain(const mvt_env *e, const char *name, const char *uuid)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "%s.xml", name);
    char *xml = mvt_domain_xml_sized(name, uuid, 128, 0, 2);
    assert_non_null(xml);
    assert_int_equal(mvt_write(e, rel, xml), 0);
    free(xml);
    return mvt_path(e, rel);
}

/* Defines `name` (write_domain's definition) with vmctl, checking virsh's message. */
static void define_ok(const mvt_env *e, const char *name, const char *uuid)
{
    char *xml = mvt_domain_xml_sized(name, uuid, 128, 0, 2);
    assert_non_null(xml);
    mvt_vmctl_define(e, NULL, name, xml);
    free(xml);
}

static void define_four(const mvt_env *e)
{
    define_ok(e, "demo", UUID_DEMO);
    define_ok(e, "alpha", UUID_ALPHA);
    define_ok(e, "Beta", UUID_BETA);
    define_ok(e, "gamma", UUID_GAMMA);
}

static void test_define_list_dumpxml_undefine(void **state)
{
    mvt_env *e = *state;
    mvt_result r;

    /* a bare root: the first command starts virtproxyd, which starts virtqemud */
    assert_int_equal(mvt_vmctl(&r, "list", "--all", NULL), 0);
    mvt_expect_ok(&r, " Id   Name   State\n--------------------\n\n");
    assert_true(mvt_daemon_pid(e, "virtproxyd") > 0);
    assert_true(mvt_daemon_pid(e, "virtqemud") > 0);

    define_ok(e, "demo", UUID_DEMO);
    char *stored = mvt_path(e, "etc/modvirt/qemu/demo.xml");
    struct stat st;
    assert_int_equal(stat(stored, &st), 0);

    /* list alone shows running domains only */
    assert_int_equal(mvt_vmctl(&r, "list", NULL), 0);
    mvt_expect_ok(&r, " Id   Name   State\n--------------------\n\n");
    assert_int_equal(mvt_vmctl(&r, "list", "--all", NULL), 0);
    mvt_expect_ok(&r, " Id   Name   State\n"
                      "-----------------------\n"
                      " -    demo   shut off\n"
                      "\n");
    assert_int_equal(mvt_vmctl(&r, "-q", "list", "--inactive", NULL), 0);
    mvt_expect_ok(&r, " Id   Name   State\n"
                      "-----------------------\n"
                      " -    demo   shut off\n");

    assert_int_equal(mvt_vmctl(&r, "dumpxml", "demo", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_true(strncmp(r.out, "<domain type='qemu'>\n", 21) == 0);
    assert_int_equal(mvt_count_lines_with(r.out, "  <name>demo</name>"), 1);
    assert_int_equal(mvt_count_lines_with(r.out, "  <uuid>" UUID_DEMO "</uuid>"), 1);
    assert_int_equal(mvt_count_lines_with(r.out, "<memory unit='KiB'>131072</memory>"), 1);
    assert_int_equal(mvt_count_lines_with(r.out, ">2</vcpu>"), 1);
    assert_int_equal(mvt_count_lines_with(r.out, "machine='pc'>hvm</type>"), 1);
    size_t n = strlen(r.out);
    assert_true(n > 11 && strcmp(r.out + n - 11, "</domain>\n\n") == 0);
    /* an inactive domain's live and next-boot XML are one and the same */
    char *live = strdup(r.out);
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "dumpxml", "--inactive", "demo", NULL), 0);
    mvt_expect_ok(&r, live);
    /* what dumpxml prints defines the same domain again, unchanged */
    live[strlen(live) - 1] = '\0';
    assert_int_equal(mvt_write(e, "again.xml", live), 0);
    char *again = mvt_path(e, "again.xml");
    char want[512];
    snprintf(want, sizeof(want), "Domain 'demo' defined from %s\n\n", again);
    assert_int_equal(mvt_vmctl(&r, "define", again, NULL), 0);
    mvt_expect_ok(&r, want);
    assert_int_equal(mvt_vmctl(&r, "-q", "dumpxml", "demo", NULL), 0);
    mvt_expect_ok(&r, live);

    assert_int_equal(mvt_vmctl(&r, "undefine", "demo", NULL), 0);
    mvt_expect_ok(&r, "Domain 'demo' has been undefined\n\n");
    assert_int_equal(stat(stored, &st), -1);
    assert_int_equal(mvt_vmctl(&r, "list", "--all", NULL), 0);
    mvt_expect_ok(&r, " Id   Name   State\n--------------------\n\n");
    free(again);
    free(live);
    free(stored);
}

static void test_json_anywhere(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    define_ok(e, "demo", UUID_DEMO);
    const char *list_doc = "[\n"
                           "  {\n"
                           "    \"id\": null,\n"
                           "    \"name\": \"demo\",\n"
                           "    \"uuid\": \"" UUID_DEMO "\",\n"
                           "    \"state\": \"shut off\",\n"
                           "    \"persistent\": true,\n"
                           "    \"autostart\": false\n"
                           "  }\n"
                           "]\n";
    assert_int_equal(mvt_vmctl(&r, "--json", "list", "--all", NULL), 0);
    mvt_expect_ok(&r, list_doc);
    assert_int_equal(mvt_vmctl(&r, "list", "--json", "--all", NULL), 0);
    mvt_expect_ok(&r, list_doc);
    assert_int_equal(mvt_vmctl(&r, "list", "--all", "--json", NULL), 0);
    mvt_expect_ok(&r, list_doc);
    /* --name changes the text, not the document */
    assert_int_equal(mvt_vmctl(&r, "list", "--all", "--name", "--json", NULL), 0);
    mvt_expect_ok(&r, list_doc);
    assert_int_equal(mvt_vmctl(&r, "--json", "list", NULL), 0);
    mvt_expect_ok(&r, "[\n]\n");

    assert_int_equal(mvt_vmctl(&r, "dominfo", "demo", "--json", NULL), 0);
    mvt_expect_ok(&r, "{\n"
                      "  \"id\": null,\n"
                      "  \"name\": \"demo\",\n"
                      "  \"uuid\": \"" UUID_DEMO "\",\n"
                      "  \"os_type\": \"hvm\",\n"
                      "  \"state\": \"shut off\",\n"
                      "  \"cpus\": 2,\n"
                      "  \"max_memory\": 131072,\n"
                      "  \"used_memory\": 131072,\n"
                      "  \"persistent\": true,\n"
                      "  \"autostart\": false,\n"
                      "  \"managed_save\": false\n"
                      "}\n");
    assert_int_equal(mvt_vmctl(&r, "--json", "domstate", "demo", NULL), 0);
    mvt_expect_ok(&r, "{\n  \"state\": \"shut off\",\n  \"reason\": \"unknown\"\n}\n");
    assert_int_equal(mvt_vmctl(&r, "--json", "domuuid", "demo", NULL), 0);
    mvt_expect_ok(&r, "{\n  \"uuid\": \"" UUID_DEMO "\"\n}\n");
    assert_int_equal(mvt_vmctl(&r, "--json", "domid", "demo", NULL), 0);
    mvt_expect_ok(&r, "{\n  \"id\": null\n}\n");
    assert_int_equal(mvt_vmctl(&r, "--json", "domname", UUID_DEMO, NULL), 0);
    mvt_expect_ok(&r, "{\n  \"name\": \"demo\"\n}\n");
    assert_int_equal(mvt_vmctl(&r, "--json", "autostart", "demo", NULL), 0);
    mvt_expect_ok(&r, "{\n  \"name\": \"demo\",\n  \"autostart\": true\n}\n");
    assert_int_equal(mvt_vmctl(&r, "--json", "uri", NULL), 0);
    mvt_expect_ok(&r, geteuid() == 0 ? "{\n  \"uri\": \"qemu:///system\"\n}\n"
                                     : "{\n  \"uri\": \"qemu:///session\"\n}\n");
    assert_int_equal(mvt_vmctl(&r, "--json", "-v", NULL), 0);
    mvt_expect_ok(&r, "{\n  \"version\": \"0.1.0\"\n}\n");

    /* dumpxml's document carries the very text the plain command prints */
    assert_int_equal(mvt_vmctl(&r, "-q", "dumpxml", "demo", NULL), 0);
    char *xml = strdup(r.out);
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "dumpxml", "--json", "demo", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_true(
        strncmp(r.out, "{\n  \"name\": \"demo\",\n  \"xml\": \"<domain type='qemu'>\\n", 52) == 0);
    assert_int_equal(mvt_count_lines_with(r.out, "<uuid>" UUID_DEMO "</uuid>\\n"), 1);
    mvt_result_free(&r);
    free(xml);

    /* errors never print to stdout in JSON mode */
    assert_int_equal(mvt_vmctl(&r, "--json", "dominfo", "nosuch", NULL), 0);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "error: failed to get domain 'nosuch'\n"
                               "error: Domain not found: no domain with matching name 'nosuch'\n");
    mvt_result_free(&r);

    char *path = write_domain(e, "json2", UUID_ALPHA);
    assert_int_equal(mvt_vmctl(&r, "define", "--json", path, NULL), 0);
    char want[512];
    snprintf(want, sizeof(want),
             "{\n  \"name\": \"json2\",\n  \"uuid\": \"" UUID_ALPHA "\",\n  \"file\": \"%s\"\n}\n",
             path);
    mvt_expect_ok(&r, want);
    assert_int_equal(mvt_vmctl(&r, "undefine", "json2", "--json", NULL), 0);
    mvt_expect_ok(&r, "{\n  \"name\": \"json2\",\n  \"undefined\": true\n}\n");
    free(path);
}

static void test_list_filters(void **state)
{
    static const mvt_vmctl_case cases[] = {
        {{"autostart", "Beta"}, .out = "Domain 'Beta' marked as autostarted\n\n"},
        /* by name, case ignored */
        {{"list", "--all"},
         .out = " Id   Name    State\n"
                "------------------------\n"
                " -    alpha   shut off\n"
                " -    Beta    shut off\n"
                " -    demo    shut off\n"
                " -    gamma   shut off\n"
                "\n"},
        {{"list", "--all", "--name"}, .out = "alpha\nBeta\ndemo\ngamma\n\n"},
        {{"list", "--inactive", "--name"}, .out = "alpha\nBeta\ndemo\ngamma\n\n"},
        {{"list", "--name"}, .out = "\n"},
        {{"list", "--all", "--persistent", "--name"}, .out = "alpha\nBeta\ndemo\ngamma\n\n"},
        {{"list", "--all", "--transient", "--name"}, .out = "\n"},
        {{"list", "--all", "--transient"}, .out = " Id   Name   State\n--------------------\n\n"},
        {{"list", "--all", "--autostart", "--name"}, .out = "Beta\n\n"},
        {{"list", "--all", "--no-autostart", "--name"}, .out = "alpha\ndemo\ngamma\n\n"},
        /* without --all, --autostart filters the running domains: none */
        {{"list", "--autostart", "--name"}, .out = "\n"},
        {{"list", "--all", "--state-shutoff", "--name"}, .out = "alpha\nBeta\ndemo\ngamma\n\n"},
        {{"list", "--all", "--state-running", "--name"}, .out = "\n"},
        {{"list", "--all", "--uuid"},
         .out = UUID_ALPHA "\n" UUID_BETA "\n" UUID_DEMO "\n" UUID_GAMMA "\n\n"},
        {{"list", "--all", "--uuid", "--name"},
         .out =
             UUID_ALPHA " alpha\n" UUID_BETA " Beta\n" UUID_DEMO " demo\n" UUID_GAMMA " gamma\n\n"},
        {{"list", "--all", "--autostart", "--table"},
         .out = " Id   Name   State\n"
                "-----------------------\n"
                " -    Beta   shut off\n"
                "\n"},
        {{"--json", "list", "--all", "--autostart"},
         .out = "[\n"
                "  {\n"
                "    \"id\": null,\n"
                "    \"name\": \"Beta\",\n"
                "    \"uuid\": \"" UUID_BETA "\",\n"
                "    \"state\": \"shut off\",\n"
                "    \"persistent\": true,\n"
                "    \"autostart\": true\n"
                "  }\n"
                "]\n"},
    };
    define_four(*state);
    mvt_vmctl_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* What dominfo says of demo. */
static const char demo_info[] = "Id:             -\n"
                                "Name:           demo\n"
                                "UUID:           " UUID_DEMO "\n"
                                "OS Type:        hvm\n"
                                "State:          shut off\n"
                                "CPU(s):         2\n"
                                "Max memory:     131072 KiB\n"
                                "Used memory:    131072 KiB\n"
                                "Persistent:     yes\n"
                                "Autostart:      disable\n"
                                "Managed save:   no\n"
                                "\n";

static void test_domain_queries(void **state)
{
    static const mvt_vmctl_case cases[] = {
        {{"dominfo", "demo"}, .out = demo_info},
        /* a DOMAIN argument may be a UUID, or spelled as the option */
        {{"dominfo", UUID_DEMO}, .out = demo_info},
        {{"dominfo", "--domain", "demo"}, .out = demo_info},
        {{"dominfo", "--domain=demo"}, .out = demo_info},
        {{"domstate", "demo"}, .out = "shut off\n\n"},
        {{"domstate", "--reason", "demo"}, .out = "shut off (unknown)\n\n"},
        {{"domuuid", "demo"}, .out = UUID_DEMO "\n\n"},
        {{"domid", "demo"}, .out = "-\n\n"},
        {{"domid", UUID_DEMO}, .out = "-\n\n"},
        {{"domname", UUID_DEMO}, .out = "demo\n\n"},
        {{"-q", "domname", "demo"}, .out = "demo\n"},
    };
    define_ok(*state, "demo", UUID_DEMO);
    mvt_vmctl_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_autostart(void **state)
{
    mvt_env *e = *state;
    mvt_result r;
    struct stat st;
    define_ok(e, "demo", UUID_DEMO);
    char *link = mvt_path(e, "etc/modvirt/qemu/autostart/demo.xml");

    assert_int_equal(mvt_vmctl(&r, "autostart", "demo", NULL), 0);
    mvt_expect_ok(&r, "Domain 'demo' marked as autostarted\n\n");
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(mvt_vmctl(&r, "dominfo", "demo", NULL), 0);
    assert_int_equal(mvt_count_lines_with(r.out, "Autostart:      enable"), 1);
    mvt_result_free(&r);
    /* marking twice is no error */
    assert_int_equal(mvt_vmctl(&r, "autostart", "demo", NULL), 0);
    mvt_expect_ok(&r, "Domain 'demo' marked as autostarted\n\n");

    /* the flag is the daemon's state on disk: it survives a restart of virtqemud */
    pid_t qemud = mvt_daemon_pid(e, "virtqemud");
    assert_true(qemud > 0);
    assert_int_equal(mvt_kill_wait(qemud, SIGTERM, 10000), 0);
    assert_int_equal(mvt_vmctl(&r, "list", "--all", "--autostart", "--name", NULL), 0);
    mvt_expect_ok(&r, "demo\n\n");
    assert_true(mvt_daemon_pid(e, "virtqemud") != qemud);

    assert_int_equal(mvt_vmctl(&r, "autostart", "--disable", "demo", NULL), 0);
    mvt_expect_ok(&r, "Domain 'demo' unmarked as autostarted\n\n");
    assert_int_equal(lstat(link, &st), -1);
    assert_int_equal(mvt_vmctl(&r, "dominfo", "demo", NULL), 0);
    assert_int_equal(mvt_count_lines_with(r.out, "Autostart:      disable"), 1);
    mvt_result_free(&r);
    assert_int_equal(mvt_vmctl(&r, "list", "--all", "--autostart", "--name", NULL), 0);
    mvt_expect_ok(&r, "\n");
    free(link);
}

/* "QEMU 7.2.22" from `qemu-system-x86_64 --version`, or "" when it is not installed. */
static void host_qemu_version(char *buf, size_t len)
{
    buf[0] = '\0';
    const char *argv[] = {"/usr/bin/qemu-system-x86_64", "--version", NULL};
    mvt_result r;
    if (access(argv[0], X_OK) != 0 || mvt_run(&r, argv, NULL, 10000) < 0)
        return;
    unsigned a, b, c;
    if (sscanf(r.out, "QEMU emulator version %u.%u.%u", &a, &b, &c) == 3)
        snprintf(buf, len, "QEMU %u.%u.%u", a, b, c);
    mvt_result_free(&r);
}

static long long meminfo_total_kib(void)
{
    char *s = mvt_read_file("/proc/meminfo");
    long long kib = -1;
    const char *p = s ? strstr(s, "MemTotal:") : NULL;
    if (p)
        kib = strtoll(p + 9, NULL, 10);
    free(s);
    return kib;
}

static void test_host_commands(void **state)
{
    (void)state;
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "uri", NULL), 0);
    mvt_expect_ok(&r, geteuid() == 0 ? "qemu:///system\n\n" : "qemu:///session\n\n");
    assert_int_equal(mvt_vmctl(&r, "-c", "qemu:///system", "uri", NULL), 0);
    mvt_expect_ok(&r, "qemu:///system\n\n");
    assert_int_equal(mvt_vmctl(&r, "--connect=qemu+unix:///system", "uri", NULL), 0);
    mvt_expect_ok(&r, "qemu:///system\n\n");

    char host[256], want[512];
    assert_int_equal(gethostname(host, sizeof(host)), 0);
    snprintf(want, sizeof(want), "%s\n\n", host);
    assert_int_equal(mvt_vmctl(&r, "hostname", NULL), 0);
    mvt_expect_ok(&r, want);

    char qemu[64];
    host_qemu_version(qemu, sizeof(qemu));
    assert_int_equal(mvt_vmctl(&r, "version", NULL), 0);
    if (qemu[0]) {
        snprintf(want, sizeof(want),
                 "Compiled against library: libvirt 9.0.0\n"
                 "Using library: libvirt 9.0.0\n"
                 "Using API: QEMU 9.0.0\n"
                 "Running hypervisor: %s\n\n",
                 qemu);
        mvt_expect_ok(&r, want);
    } else {
        assert_int_equal(mvt_count_lines_with(r.out, "Using API: QEMU 9.0.0"), 1);
        mvt_result_free(&r);
    }

    assert_int_equal(mvt_vmctl(&r, "nodeinfo", NULL), 0);
    assert_int_equal(r.status, 0);
    struct utsname u;
    uname(&u);
    snprintf(want, sizeof(want), "CPU model:           %s\n", u.machine);
    assert_true(strncmp(r.out, want, strlen(want)) == 0);
    snprintf(want, sizeof(want), "CPU(s):              %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    assert_non_null(strstr(r.out, want));
    snprintf(want, sizeof(want), "Memory size:         %lld KiB\n\n", meminfo_total_kib());
    assert_non_null(strstr(r.out, want));
    const char *labels[] = {
        "CPU frequency:       ", "CPU socket(s):       ", "Core(s) per socket:  ",
        "Thread(s) per core:  ", "NUMA cell(s):        "};
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        assert_int_equal(mvt_count_lines_with(r.out, labels[i]), 1);
    assert_int_equal(mvt_count_lines_with(r.out, ":"), 8);
    mvt_result_free(&r);

    assert_int_equal(mvt_vmctl(&r, "-v", NULL), 0);
    mvt_expect_ok(&r, "0.1.0\n");
    assert_int_equal(mvt_vmctl(&r, "--version", NULL), 0);
    mvt_expect_ok(&r, "0.1.0\n");
}

static void test_help(void **state)
{
    (void)state;
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "help", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_true(strncmp(r.out, "Grouped commands:\n\n", 19) == 0);
    const char *cmds[] = {"autostart", "define",   "domid",   "domname",  "domuuid", "dumpxml",
                          "edit",      "undefine", "dominfo", "domstate", "list",    "hostname",
                          "nodeinfo",  "uri",      "version", "help"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char line[64];
        snprintf(line, sizeof(line), "    %-31s", cmds[i]);
        assert_int_equal(mvt_count_lines_with(r.out, line), 1);
    }
    mvt_result_free(&r);

    assert_int_equal(mvt_vmctl(&r, "help", "domstate", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "  NAME\n    domstate - domain state\n"));
    assert_non_null(strstr(r.out, "  SYNOPSIS\n    domstate <domain> [--reason]\n"));
    assert_int_equal(mvt_count_lines_with(r.out, "--reason"), 2);
    mvt_result_free(&r);

    /* a help keyword lists one group */
    assert_int_equal(mvt_vmctl(&r, "help", "host", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_int_equal(mvt_count_lines_with(r.out, "    nodeinfo "), 1);
    assert_int_equal(mvt_count_lines_with(r.out, "    dominfo "), 0);
    mvt_result_free(&r);

    assert_int_equal(mvt_vmctl(&r, "--json", "help", "list", NULL), 0);
    assert_int_equal(r.status, 0);
    assert_true(strncmp(r.out, "{\n  \"name\": \"list\",\n  \"group\": \"monitor\",\n", 42) == 0);
    mvt_result_free(&r);

    /* a command that ran and failed still ends with virsh's blank line */
    assert_int_equal(mvt_vmctl(&r, "help", "nosuch", NULL), 0);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "\n");
    assert_string_equal(r.err, "error: command or command group 'nosuch' doesn't exist\n");
    mvt_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_define_list_dumpxml_undefine, mvt_setup_state,
                                        mvt_teardown_state),
        cmocka_unit_test_setup_teardown(test_json_anywhere, mvt_setup_state, mvt_teardown_state),
        cmocka_unit_test_setup_teardown(test_list_filters, mvt_setup_state, mvt_teardown_state),
        cmocka_unit_test_setup_teardown(test_domain_queries, mvt_setup_state, mvt_teardown_state),
        cmocka_unit_test_setup_teardown(test_autostart, mvt_setup_state, mvt_teardown_state),
        cmocka_unit_test_setup_teardown(test_host_commands, mvt_setup_state, mvt_teardown_state),
        cmocka_unit_test_setup_teardown(test_help, mvt_setup_state, mvt_teardown_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
