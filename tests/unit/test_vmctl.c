/* test_vmctl.c: vmctl without a daemon — virsh's table and record layouts, list order and
 * modes, the --json shapes, argument parsing and its messages, global options, words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli/vmctl.h"

/* ---- capturing output ------------------------------------------------------------------ */

typedef struct capture {
    char *out, *err;
    size_t out_len, err_len;
    FILE *fo, *fe;
} capture;

static void cap_open(capture *c)
{
    memset(c, 0, sizeof(*c));
    c->fo = open_memstream(&c->out, &c->out_len);
    c->fe = open_memstream(&c->err, &c->err_len);
}

static void cap_close(capture *c)
{
    fclose(c->fo);
    fclose(c->fe);
}

static void cap_free(capture *c)
{
    free(c->out);
    free(c->err);
}

/* Runs vmctl with a NULL-terminated argument list; returns the exit status. */
static int run(capture *c, ...)
{
    char *argv[32] = {"vmctl"};
    int argc = 1;
    va_list ap;
    va_start(ap, c);
    for (char *a; (a = va_arg(ap, char *));)
        argv[argc++] = a;
    va_end(ap);
    cap_open(c);
    int rc = vmctl_run(argc, argv, c->fo, c->fe);
    cap_close(c);
    return rc;
}

/* ---- tables ------------------------------------------------------------------------------ */

static void test_table_layout(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    /* An empty list is virsh's header and 20 dashes. */
    vmctl_list_print_text(f, NULL, 0, false, false, false);
    fclose(f);
    assert_string_equal(buf, " Id   Name   State\n--------------------\n");
    free(buf);

    vmctl_dom_row rows[] = {
        {.id = -1, .name = "zeta", .state = VIR_DOMAIN_SHUTOFF},
        {.id = 12, .name = "web-frontend", .state = VIR_DOMAIN_RUNNING},
        {.id = -1, .name = "Alpha", .state = VIR_DOMAIN_SHUTOFF},
        {.id = 3, .name = "db", .state = VIR_DOMAIN_PAUSED},
    };
    vmctl_rows_sort(rows, 4);
    /* running ones by id, then the rest by name ignoring case */
    assert_string_equal(rows[0].name, "db");
    assert_string_equal(rows[1].name, "web-frontend");
    assert_string_equal(rows[2].name, "Alpha");
    assert_string_equal(rows[3].name, "zeta");
    f = open_memstream(&buf, &len);
    vmctl_list_print_text(f, rows, 4, false, false, false);
    fclose(f);
    assert_string_equal(buf, " Id   Name           State\n"
                             "-------------------------------\n"
                             " 3    db             paused\n"
                             " 12   web-frontend   running\n"
                             " -    Alpha          shut off\n"
                             " -    zeta           shut off\n");
    free(buf);
}

static void test_table_escapes_control_characters(void **state)
{
    (void)state;
    static const char *const h[] = {"A", "B"};
    vmctl_table *t = vmctl_table_new(2, h);
    static const char *const r1[] = {"a\tb", "x"};
    static const char *const r2[] = {"\xc3\xa9t\xc3\xa9", "y"}; /* "été": 3 columns */
    vmctl_table_add(t, r1);
    vmctl_table_add(t, r2);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    vmctl_table_print(t, f);
    fclose(f);
    vmctl_table_free(t);
    assert_string_equal(buf, " A        B\n"
                             "-------------\n"
                             " a\\x09b   x\n"
                             " \xc3\xa9t\xc3\xa9      y\n");
    free(buf);
}

static void test_list_modes(void **state)
{
    (void)state;
    vmctl_dom_row rows[] = {
        {.id = 1, .name = "on", .uuid = "11111111-1111-1111-1111-111111111111"},
        {.id = -1, .name = "off", .uuid = "22222222-2222-2222-2222-222222222222"},
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    vmctl_list_print_text(f, rows, 2, true, false, false);
    vmctl_list_print_text(f, rows, 2, false, false, true); /* --id: running ones only */
    vmctl_list_print_text(f, rows, 2, true, true, true);
    fclose(f);
    assert_string_equal(buf, "on\noff\n"
                             "1\n"
                             "11111111-1111-1111-1111-111111111111 1 on\n"
                             "22222222-2222-2222-2222-222222222222 - off\n");
    free(buf);
}

static void test_list_json_shape(void **state)
{
    (void)state;
    vmctl_dom_row rows[] = {
        {.id = 4, .name = "on", .uuid = "11111111-1111-1111-1111-111111111111",
         .state = VIR_DOMAIN_RUNNING, .persistent = true, .autostart = true},
        {.id = -1, .name = "off", .uuid = "22222222-2222-2222-2222-222222222222",
         .state = VIR_DOMAIN_SHUTOFF, .persistent = false, .autostart = false},
    };
    json_object *arr = vmctl_list_json(rows, 2);
    assert_int_equal(json_object_array_length(arr), 2);
    json_object *a = json_object_array_get_idx(arr, 0), *b = json_object_array_get_idx(arr, 1), *v;
    assert_true(json_object_object_get_ex(a, "id", &v));
    assert_int_equal(json_object_get_type(v), json_type_int);
    assert_int_equal(json_object_get_int(v), 4);
    assert_true(json_object_object_get_ex(b, "id", &v));
    assert_null(v); /* inactive: null, not -1 */
    assert_true(json_object_object_get_ex(a, "state", &v));
    assert_string_equal(json_object_get_string(v), "running");
    assert_true(json_object_object_get_ex(b, "state", &v));
    assert_string_equal(json_object_get_string(v), "shut off");
    assert_true(json_object_object_get_ex(a, "persistent", &v));
    assert_int_equal(json_object_get_type(v), json_type_boolean);
    assert_true(json_object_object_get_ex(b, "autostart", &v));
    assert_false(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(a, "uuid", &v));
    assert_string_equal(json_object_get_string(v), rows[0].uuid);
    assert_int_equal(json_object_object_length(a), 6);
    json_object_put(arr);
}

/* ---- records ------------------------------------------------------------------------------ */

static void fill_record(vmctl_rec *r)
{
    vmctl_rec_null(r, "Id:", "id", "-");
    vmctl_rec_str(r, "Name:", "name", "demo");
    vmctl_rec_uint(r, "CPU(s):", "cpus", 2, NULL);
    vmctl_rec_double(r, "CPU time:", "cpu_time", 12.3456, "%.1lfs");
    vmctl_rec_uint(r, "Max memory:", "max_memory", 262144, " KiB");
    vmctl_rec_bool(r, "Autostart:", "autostart", false, "enable", "disable");
}

static void test_record_text_and_json(void **state)
{
    (void)state;
    capture c;
    cap_open(&c);
    vmctl_ctx ctx = {.out = c.fo, .err = c.fe};
    vmctl_rec *r = vmctl_rec_new(15);
    fill_record(r);
    vmctl_rec_emit(&ctx, r);
    cap_close(&c);
    assert_string_equal(c.out, "Id:             -\n"
                               "Name:           demo\n"
                               "CPU(s):         2\n"
                               "CPU time:       12.3s\n"
                               "Max memory:     262144 KiB\n"
                               "Autostart:      disable\n");
    cap_free(&c);

    cap_open(&c);
    ctx = (vmctl_ctx){.out = c.fo, .err = c.fe, .json = true};
    r = vmctl_rec_new(15);
    fill_record(r);
    vmctl_rec_emit(&ctx, r);
    cap_close(&c);
    json_object *doc = json_tokener_parse(c.out), *v;
    assert_non_null(doc);
    assert_true(json_object_object_get_ex(doc, "id", &v));
    assert_null(v);
    assert_true(json_object_object_get_ex(doc, "cpus", &v));
    assert_int_equal(json_object_get_int(v), 2);
    assert_true(json_object_object_get_ex(doc, "cpu_time", &v));
    assert_int_equal(json_object_get_type(v), json_type_double);
    assert_true(json_object_get_double(v) > 12.34 && json_object_get_double(v) < 12.35);
    assert_true(json_object_object_get_ex(doc, "max_memory", &v));
    assert_int_equal(json_object_get_int64(v), 262144);
    assert_true(json_object_object_get_ex(doc, "autostart", &v));
    assert_int_equal(json_object_get_type(v), json_type_boolean);
    json_object_put(doc);
    cap_free(&c);
}

/* ---- arguments ------------------------------------------------------------------------------ */

static void test_parse_args(void **state)
{
    (void)state;
    capture c;
    cap_open(&c);
    vmctl_ctx ctx = {.out = c.fo, .err = c.fe};
    vmctl_args a;
    const vmctl_cmd *domstate = vmctl_find_command("domstate");
    char *ok1[] = {"demo", "--reason"};
    assert_int_equal(vmctl_parse_args(&ctx, domstate, 2, ok1, &a), 0);
    assert_string_equal(vmctl_arg_str(&a, "domain"), "demo");
    assert_true(vmctl_arg_bool(&a, "reason"));
    char *ok2[] = {"--domain=demo"};
    assert_int_equal(vmctl_parse_args(&ctx, domstate, 1, ok2, &a), 0);
    assert_string_equal(vmctl_arg_str(&a, "domain"), "demo");
    assert_false(vmctl_arg_bool(&a, "reason"));
    char *ok3[] = {"--", "--odd-name"};
    assert_int_equal(vmctl_parse_args(&ctx, domstate, 2, ok3, &a), 0);
    assert_string_equal(vmctl_arg_str(&a, "domain"), "--odd-name");

    char *bad1[] = {"demo", "--frobnicate"};
    assert_int_equal(vmctl_parse_args(&ctx, domstate, 2, bad1, &a), -1);
    char *bad2[] = {"--reason"};
    assert_int_equal(vmctl_parse_args(&ctx, domstate, 1, bad2, &a), -1);
    char *bad3[] = {"demo", "extra"};
    assert_int_equal(vmctl_parse_args(&ctx, domstate, 2, bad3, &a), -1);
    char *bad4[] = {"demo", "--reason=yes"};
    assert_int_equal(vmctl_parse_args(&ctx, domstate, 2, bad4, &a), -1);
    char *bad5[] = {"--domain"};
    assert_int_equal(vmctl_parse_args(&ctx, domstate, 1, bad5, &a), -1);
    cap_close(&c);
    assert_string_equal(c.err, "error: command 'domstate' doesn't support option --frobnicate\n"
                               "error: command 'domstate' requires <domain> option\n"
                               "error: unexpected data 'extra'\n"
                               "error: invalid '=' after option --reason\n"
                               "error: expected syntax: --domain <string>\n");
    cap_free(&c);
}

static void test_global_options(void **state)
{
    (void)state;
    capture c;
    assert_int_equal(run(&c, "-v", NULL), 0);
    assert_string_equal(c.out, MODVIRT_VERSION_STRING "\n");
    cap_free(&c);

    assert_int_equal(run(&c, "frobnicate", NULL), 1);
    assert_string_equal(c.err, "error: unknown command: 'frobnicate'\n");
    cap_free(&c);

    assert_int_equal(run(&c, "--bogus", NULL), 1);
    assert_string_equal(c.err, "error: unsupported option '--bogus'. See --help.\n");
    cap_free(&c);

    /* Text mode ends with virsh's blank line; -q drops it. */
    assert_int_equal(run(&c, "help", "vmctl", NULL), 0);
    assert_string_equal(c.out, " Vmctl itself (help keyword 'vmctl'):\n"
                               "    help                           print help\n\n\n");
    cap_free(&c);
    assert_int_equal(run(&c, "-q", "help", "vmctl", NULL), 0);
    assert_string_equal(c.out, " Vmctl itself (help keyword 'vmctl'):\n"
                               "    help                           print help\n\n");
    cap_free(&c);

    /* --json in any position gives one JSON document and no blank line. */
    const char *where[][3] = {{"--json", "help", "help"}, {"help", "--json", "help"},
                              {"help", "help", "--json"}};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(run(&c, where[i][0], where[i][1], where[i][2], NULL), 0);
        json_object *doc = json_tokener_parse(c.out), *v;
        assert_non_null(doc);
        assert_true(json_object_object_get_ex(doc, "name", &v));
        assert_string_equal(json_object_get_string(v), "help");
        json_object_put(doc);
        assert_int_equal(c.out[c.out_len - 1], '\n');
        assert_int_not_equal(c.out[c.out_len - 2], '\n');
        cap_free(&c);
    }
    assert_int_equal(run(&c, "help", "nosuch", NULL), 1);
    assert_string_equal(c.err, "error: command or command group 'nosuch' doesn't exist\n");
    cap_free(&c);
}

static void test_connection_failure_message(void **state)
{
    (void)state;
    capture c;
    assert_int_equal(run(&c, "-c", "qemu:///system?socket=/nonexistent/vmctl-sock", "list", NULL),
                     1);
    assert_non_null(strstr(c.err, "error: failed to connect to the hypervisor\n"
                                  "error: Failed to connect socket to '/nonexistent/vmctl-sock'"));
    cap_free(&c);
    assert_int_equal(run(&c, "--connect=qemu+tls://h/system", "dominfo", "x", NULL), 1);
    assert_non_null(strstr(c.err, "transport 'tls'"));
    cap_free(&c);
}

/* ---- words and editor commands ---------------------------------------------------------------- */

static void test_words(void **state)
{
    (void)state;
    assert_string_equal(vmctl_state_word(VIR_DOMAIN_SHUTOFF), "shut off");
    assert_string_equal(vmctl_state_word(VIR_DOMAIN_BLOCKED), "idle");
    assert_string_equal(vmctl_state_word(VIR_DOMAIN_SHUTDOWN), "in shutdown");
    assert_string_equal(vmctl_state_word(99), "no state");
    assert_string_equal(vmctl_reason_word(VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_CRASHED),
                        "crashed");
    assert_string_equal(vmctl_reason_word(VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED),
                        "destroyed");
    assert_string_equal(vmctl_reason_word(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED),
                        "booted");
    assert_string_equal(vmctl_reason_word(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_IOERROR),
                        "I/O error");
    assert_string_equal(vmctl_reason_word(VIR_DOMAIN_PAUSED, 999), "unknown");
    assert_string_equal(vmctl_reason_word(VIR_DOMAIN_PMSUSPENDED, 0), "unknown");
}

static void test_split_command(void **state)
{
    (void)state;
    char **a = vmctl_split_command("  emacs -nw  ");
    assert_string_equal(a[0], "emacs");
    assert_string_equal(a[1], "-nw");
    assert_null(a[2]);
    for (size_t i = 0; a[i]; i++)
        free(a[i]);
    free(a);
    a = vmctl_split_command("'/opt/my editor/bin/ed' --flag=\"a b\" c\\ d");
    assert_string_equal(a[0], "/opt/my editor/bin/ed");
    assert_string_equal(a[1], "--flag=a b");
    assert_string_equal(a[2], "c d");
    assert_null(a[3]);
    for (size_t i = 0; a[i]; i++)
        free(a[i]);
    free(a);
    assert_null(vmctl_split_command("vi 'unbalanced"));
    assert_null(vmctl_split_command("   "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_layout),
        cmocka_unit_test(test_table_escapes_control_characters),
        cmocka_unit_test(test_list_modes),
        cmocka_unit_test(test_list_json_shape),
        cmocka_unit_test(test_record_text_and_json),
        cmocka_unit_test(test_parse_args),
        cmocka_unit_test(test_global_options),
        cmocka_unit_test(test_connection_failure_message),
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_split_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
