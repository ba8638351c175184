/* test_qemu_define.c: what virtqemud fills into a definition at define, as libvirt does
 * (the configured emulator, a MAC per interface), the <emulator> checks it makes there,
 * and what a start fills into the live definition — on a driver state under a temporary
 * MODVIRT_ROOT, no daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/domain/domain_conf.h"
#include "virtqemud/qemu_driver.h"
#include "virtqemud/qemu_process_internal.h"
#include "fixture_qemu.h"

typedef fx_qemu fixture;

static int setup(void **state)
{
    fixture *f = fx_qemu_new("mvqdef");
    if (!f)
        return -1;
    /* Any executable serves as the configured binary: define never runs it. */
    f->cfg.qemu_binary = strdup("/bin/sh");
    fx_qemu_open(f);
    *state = f;
    return 0;
}

/* A domain with `devices` inside <devices>. */
static char *domain(const char *name, const char *devices)
{
    char *xml = NULL;
    if (asprintf(&xml,
                 "<domain type='qemu'>\n"
                 "  <name>%s</name>\n"
                 "  <memory unit='MiB'>64</memory>\n"
                 "  <os><type arch='x86_64' machine='pc'>hvm</type></os>\n"
                 "  <devices>\n%s  </devices>\n"
                 "</domain>\n",
                 name, devices) < 0)
        return NULL;
    return xml;
}

/* Defines; the published definition (a copy the caller frees), or NULL with err set. */
static mv_domain_def *define(fixture *f, const char *name, const char *devices, mv_error *err)
{
    char *xml = domain(name, devices);
    qemu_domsnap *snap = xml ? qemu_domain_define(f->s, xml, 0, err) : NULL;
    mv_domain_def *def = snap ? mv_domain_def_copy(snap->def, err) : NULL;
    qemu_domsnap_unref(snap);
    free(xml);
    return def;
}

static bool is_qemu_mac(const char *mac)
{
    if (!mac || strlen(mac) != 17 || strncmp(mac, "52:54:00:", 9) != 0)
        return false;
    for (size_t i = 9; i < 17; i++)
        if (i % 3 == 2 ? mac[i] != ':' : !isxdigit((unsigned char)mac[i]))
            return false;
    return true;
}

/* No <emulator>: the configured binary is written in; interfaces without a MAC get one
 * with libvirt's prefix, and keep it in the file (a restart loads the same); a MAC
 * given stays. */
static void test_defaults_filled(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    mv_domain_def *def = define(f, "filled",
                                "    <interface type='user'/>\n"
                                "    <interface type='user'><mac address='52:54:00:aa:bb:cc'/>"
                                "</interface>\n"
                                "    <interface type='user'/>\n",
                                &err);
    if (!def)
        fail_msg("define: %s", err.message);
    assert_non_null(f->s->binary);
    assert_non_null(def->emulator);
    assert_string_equal(def->emulator, f->s->binary);
    assert_int_equal(def->nnets, 3);
    assert_true(is_qemu_mac(def->nets[0].mac));
    assert_string_equal(def->nets[1].mac, "52:54:00:aa:bb:cc");
    assert_true(is_qemu_mac(def->nets[2].mac));
    assert_string_not_equal(def->nets[0].mac, def->nets[2].mac);

    fx_qemu_restart(f);
    qemu_domsnap *snap = qemu_query_by_name(f->s, "filled", &err);
    assert_non_null(snap);
    assert_string_equal(snap->def->emulator, def->emulator);
    assert_string_equal(snap->def->nets[0].mac, def->nets[0].mac);
    assert_string_equal(snap->def->nets[2].mac, def->nets[2].mac);
    qemu_domsnap_unref(snap);
    mv_domain_def_free(def);
}

/* An <emulator> given is kept when it is an absolute path to an executable file, and
 * refused naming it otherwise, with libvirt's words; nothing is defined then. */
static void test_emulator_checked(void **state)
{
    fixture *f = *state;
    char notexec[128], dir[128];
    snprintf(notexec, sizeof(notexec), "%s/not-exec", f->root);
    snprintf(dir, sizeof(dir), "%s/a-dir", f->root);
    FILE *fp = fopen(notexec, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(mkdir(dir, 0755), 0);

    static const struct {
        const char *path, *message;
    } bad[] = {
        {"qemu-system-x86_64", "emulator 'qemu-system-x86_64' is not an absolute path"},
        {"/nonexistent/qemu", "Cannot check QEMU binary /nonexistent/qemu: No such file"},
        {NULL, "is not executable"}, /* notexec */
        {"", "is not executable"},   /* dir */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *path = bad[i].path ? (*bad[i].path ? bad[i].path : dir) : notexec;
        char devices[256];
        mv_error err = MV_ERROR_INIT;
        snprintf(devices, sizeof(devices), "    <emulator>%s</emulator>\n", path);
        mv_domain_def *def = define(f, "bad", devices, &err);
        assert_null(def);
        if (!strstr(err.message, bad[i].message) || !strstr(err.message, path))
            fail_msg("%s: %s", path, err.message);
        mv_error_clear(&err);
        assert_null(qemu_query_by_name(f->s, "bad", &err));
        mv_error_clear(&err);
    }

    mv_error err = MV_ERROR_INIT;
    mv_domain_def *def = define(f, "given", "    <emulator>/bin/cat</emulator>\n", &err);
    if (!def)
        fail_msg("define: %s", err.message);
    assert_string_equal(def->emulator, "/bin/cat");
    mv_domain_def_free(def);
}

/* RFB keys its DES with 8 bytes: a longer VNC password is refused at define, in
 * libvirt's words; 8 are fine, and SPICE has no such limit. */
static void test_vnc_password_length(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    assert_null(define(f, "long", "    <graphics type='vnc' passwd='123456789'/>\n", &err));
    assert_string_equal(err.message, "unsupported configuration: VNC password is 9 characters "
                                     "long, only 8 permitted");
    assert_int_equal(err.code, VIR_ERR_CONFIG_UNSUPPORTED);
    mv_error_clear(&err);
    mv_domain_def *def = define(f, "eight",
                                "    <graphics type='vnc' passwd='12345678'/>\n"
                                "    <graphics type='spice' passwd='a-long-spice-password'/>\n",
                                &err);
    if (!def)
        fail_msg("define: %s", err.message);
    mv_domain_def_free(def);
}

/* A start's live definition: the emulator that runs when none is named (a transient
 * domain, a definition from before define filled it in), and without a balloon all of
 * the RAM as current memory; a balloon keeps <currentMemory>, a named emulator stays. */
static void test_live_filled(void **state)
{
    (void)state;
    mv_error err = MV_ERROR_INIT;
    qemu_caps caps = {.binary = "/usr/bin/qemu-system-x86_64"};
    char *xml = domain("live", "");
    char *with_balloon = domain("live", "    <emulator>/opt/qemu</emulator>\n"
                                        "    <memballoon model='virtio'/>\n");
    char *none = domain("live", "    <memballoon model='none'/>\n");
    const char *cur = "  <currentMemory unit='MiB'>32</currentMemory>\n  <os>";
    char *docs[] = {xml, with_balloon, none};
    mv_domain_def *defs[3] = {NULL, NULL, NULL};

    for (size_t i = 0; i < 3; i++) {
        char *p = strstr(docs[i], "  <os>"), *doc = NULL;
        assert_non_null(p);
        assert_true(asprintf(&doc, "%.*s%s%s", (int)(p - docs[i]), docs[i], cur, p + 6) > 0);
        defs[i] = mv_domain_def_parse(doc, strlen(doc), 0, &err);
        if (!defs[i])
            fail_msg("parse: %s", err.message);
        assert_int_equal(defs[i]->current_memory_kib, 32 * 1024);
        assert_int_equal(qemu_process_setup_def(&caps, defs[i], &err), 0);
        free(doc);
        free(docs[i]);
    }
    assert_string_equal(defs[0]->emulator, caps.binary);
    assert_int_equal(defs[0]->current_memory_kib, 64 * 1024);
    assert_string_equal(defs[1]->emulator, "/opt/qemu");
    assert_int_equal(defs[1]->current_memory_kib, 32 * 1024);
    assert_int_equal(defs[2]->current_memory_kib, 64 * 1024);
    for (size_t i = 0; i < 3; i++)
        mv_domain_def_free(defs[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_filled, setup, fx_qemu_teardown),
        cmocka_unit_test_setup_teardown(test_emulator_checked, setup, fx_qemu_teardown),
        cmocka_unit_test_setup_teardown(test_vnc_password_length, setup, fx_qemu_teardown),
        cmocka_unit_test(test_live_filled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
