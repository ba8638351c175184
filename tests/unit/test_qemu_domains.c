/* test_qemu_domains.c: virtqemud's domain definitions — define/update/conflicts/undefine,
 * lookups by each key, list filters, autostart, 1,000 domains, concurrent jobs and
 * readers, and the store across a simulated restart — with the real parser and store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/store.h"
#include "virtqemud/qemu_driver.h"
#include "fixture_qemu.h"

typedef fx_qemu fixture;

/* ---- helpers ---------------------------------------------------------------------------- */

static char *domain_xml(const char *name, const char *uuid, const char *type, const char *title)
{
    char *xml = NULL;
    char uuid_el[80] = "", title_el[256] = "";

    if (uuid)
        snprintf(uuid_el, sizeof(uuid_el), "  <uuid>%s</uuid>\n", uuid);
    if (title)
        snprintf(title_el, sizeof(title_el), "  <title>%s</title>\n", title);
    assert_true(asprintf(&xml,
                         "<domain type='%s'>\n"
                         "  <name>%s</name>\n%s%s"
                         "  <memory unit='KiB'>1048576</memory>\n"
                         "  <currentMemory unit='KiB'>524288</currentMemory>\n"
                         "  <vcpu>2</vcpu>\n"
                         "  <os>\n"
                         "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                         "  </os>\n"
                         "</domain>\n",
                         type, name, uuid_el, title_el) > 0);
    return xml;
}

/* Defines and drops the snapshot; asserts success. */
static void define_ok(qemu_state *s, const char *name, const char *uuid, const char *title)
{
    mv_error err = MV_ERROR_INIT;
    char *xml = domain_xml(name, uuid, "qemu", title);
    qemu_domsnap *snap = qemu_domain_define(s, xml, 0, &err);
    if (!snap)
        fail_msg("define %s: %s", name, err.message);
    qemu_domsnap_unref(snap);
    free(xml);
}

static int define_err(qemu_state *s, const char *xml, unsigned int flags, mv_error *err)
{
    qemu_domsnap *snap = qemu_domain_define(s, xml, flags, err);
    if (snap) {
        qemu_domsnap_unref(snap);
        return 0;
    }
    return -1;
}

static char *config_path(fixture *f, const char *rel)
{
    char *dir = mv_path_join(f->paths.config_dir, "qemu");
    char *path = mv_path_join(dir, rel);
    free(dir);
    return path;
}

static bool file_exists(fixture *f, const char *rel)
{
    char *path = config_path(f, rel);
    struct stat st;
    bool yes = lstat(path, &st) == 0;
    free(path);
    return yes;
}

static void write_config_file(fixture *f, const char *rel, const char *content)
{
    char *path = config_path(f, rel);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
    free(path);
}

static size_t list_count(qemu_state *s, unsigned int flags)
{
    qemu_domsnap **snaps = NULL;
    size_t n = 0;
    mv_error err = MV_ERROR_INIT;
    if (qemu_query_list_all(s, flags, &snaps, &n, &err) < 0)
        fail_msg("list 0x%x: %s", flags, err.message);
    qemu_domsnap_list_free(snaps, n);
    return n;
}

static int setup(void **state)
{
    fixture *f = fx_qemu_new("mvqdom");
    if (!f)
        return -1;
    /* A fake qemu keeps start-up fast and independent of the host's packages. */
    char bin[128];
    snprintf(bin, sizeof(bin), "%s/qemu-fake", f->root);
    FILE *fp = fopen(bin, "w");
    fputs("#!/bin/sh\necho 'QEMU emulator version 7.2.22 (fake)'\n", fp);
    fclose(fp);
    chmod(bin, 0755);
    f->cfg.qemu_binary = strdup(bin);
    fx_qemu_open(f);
    *state = f;
    return 0;
}

#define UUID_A "c7a5fdbd-edaf-9455-926a-d65c16db1809"
#define UUID_B "c7a5fdbd-edaf-9455-926a-d65c16db180a"
#define UUID_C "c7a5fdbd-edaf-9455-926a-d65c16db180b"

/* ---- define ----------------------------------------------------------------------------- */

static void test_define_new(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    char *xml = domain_xml("alpha", UUID_A, "qemu", "first");
    qemu_domsnap *snap = qemu_domain_define(f->s, xml, 0, &err);
    char uuidstr[MV_UUID_STRING_BUFLEN];

    assert_non_null(snap);
    assert_string_equal(snap->def->name, "alpha");
    mv_uuid_format(snap->def->uuid, uuidstr);
    assert_string_equal(uuidstr, UUID_A);
    assert_int_equal(snap->state, VIR_DOMAIN_SHUTOFF);
    assert_int_equal(snap->reason, VIR_DOMAIN_SHUTOFF_UNKNOWN);
    assert_int_equal(snap->id, -1);
    assert_true(snap->persistent);
    assert_false(snap->autostart);
    assert_true(file_exists(f, "alpha.xml"));
    qemu_domsnap_unref(snap);
    free(xml);

    /* No UUID: the parser makes one, and it sticks. */
    xml = domain_xml("beta", NULL, "kvm", NULL);
    assert_non_null(snap = qemu_domain_define(f->s, xml, 0, &err));
    assert_false(mv_uuid_is_null(snap->def->uuid));
    qemu_domsnap_unref(snap);
    free(xml);
    assert_int_equal(list_count(f->s, 0), 2);
}

static void test_define_update(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    qemu_domsnap *snap;
    char *xml;

    define_ok(f->s, "alpha", UUID_A, "first");
    define_ok(f->s, "alpha", UUID_A, "second");
    assert_int_equal(list_count(f->s, 0), 1);
    assert_non_null(snap = qemu_query_by_name(f->s, "alpha", &err));
    assert_string_equal(snap->def->title, "second");
    assert_non_null(xml = qemu_query_xml(snap, 0, false, &err));
    assert_non_null(strstr(xml, "<title>second</title>"));
    free(xml);
    qemu_domsnap_unref(snap);

    /* The file holds the update too. */
    char *path = config_path(f, "alpha.xml"), *text = NULL;
    size_t len;
    assert_int_equal(mv_file_read(path, 1 << 20, &text, &len, &err), 0);
    assert_non_null(strstr(text, "<title>second</title>"));
    free(text);
    free(path);
}

static void test_define_conflicts(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    char *xml;

    define_ok(f->s, "alpha", UUID_A, NULL);

    /* Same name, another UUID. */
    xml = domain_xml("alpha", UUID_B, "qemu", NULL);
    assert_int_equal(define_err(f->s, xml, 0, &err), -1);
    assert_int_equal(err.code, VIR_ERR_OPERATION_FAILED);
    assert_int_equal(err.domain, VIR_FROM_QEMU);
    assert_string_equal(err.message, "operation failed: domain 'alpha' already exists with uuid " UUID_A);
    free(xml);

    /* Same UUID, another name. */
    xml = domain_xml("gamma", UUID_A, "qemu", NULL);
    assert_int_equal(define_err(f->s, xml, 0, &err), -1);
    assert_int_equal(err.code, VIR_ERR_OPERATION_FAILED);
    assert_string_equal(err.message, "operation failed: domain 'alpha' is already defined with uuid " UUID_A);
    free(xml);

    /* Neither conflict left anything behind. */
    assert_int_equal(list_count(f->s, 0), 1);
    assert_false(file_exists(f, "gamma.xml"));
    mv_error_clear(&err);
}

static void test_define_rejects(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    char *xml;

    /* A type this driver does not run, named in the error (by the parser, which knows
     * only qemu and kvm today, or by the driver once it knows more). */
    xml = domain_xml("box", UUID_A, "lxc", NULL);
    assert_int_equal(define_err(f->s, xml, 0, &err), -1);
    assert_true(err.code == VIR_ERR_XML_ERROR || err.code == VIR_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(err.message, "'lxc'"));
    free(xml);

    /* Unknown flags. */
    xml = domain_xml("box", UUID_A, "qemu", NULL);
    assert_int_equal(define_err(f->s, xml, 0x2, &err), -1);
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "unsupported flags (0x2)"));
    /* VALIDATE is accepted. */
    assert_int_equal(define_err(f->s, xml, VIR_DOMAIN_DEFINE_VALIDATE, &err), 0);
    free(xml);

    /* Garbage, and names that cannot be file names. */
    assert_int_equal(define_err(f->s, "<domain", 0, &err), -1);
    assert_int_equal(err.code, VIR_ERR_XML_ERROR);
    xml = domain_xml("a/b", UUID_B, "qemu", NULL);
    assert_int_equal(define_err(f->s, xml, 0, &err), -1);
    assert_non_null(strstr(err.message, "a/b"));
    free(xml);
    xml = domain_xml(".hidden", UUID_B, "qemu", NULL);
    assert_int_equal(define_err(f->s, xml, 0, &err), -1);
    free(xml);

    assert_int_equal(list_count(f->s, 0), 1);
    mv_error_clear(&err);
}

/* ---- lookups and reads -------------------------------------------------------------- */

static void test_lookups(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    unsigned char uuid[MV_UUID_BUFLEN], other[MV_UUID_BUFLEN];
    qemu_domsnap *snap;

    define_ok(f->s, "alpha", UUID_A, NULL);
    mv_uuid_parse(UUID_A, uuid);
    mv_uuid_parse(UUID_C, other);

    assert_non_null(snap = qemu_query_by_name(f->s, "alpha", &err));
    qemu_domsnap_unref(snap);
    assert_non_null(snap = qemu_query_by_uuid(f->s, uuid, &err));
    assert_string_equal(snap->def->name, "alpha");
    qemu_domsnap_unref(snap);
    assert_non_null(snap = qemu_query_domain(f->s, uuid, "alpha", &err));
    qemu_domsnap_unref(snap);

    assert_null(qemu_query_by_name(f->s, "nope", &err));
    assert_int_equal(err.code, VIR_ERR_NO_DOMAIN);
    assert_string_equal(err.message, "Domain not found: no domain with matching name 'nope'");
    assert_null(qemu_query_by_uuid(f->s, other, &err));
    assert_string_equal(err.message, "Domain not found: no domain with matching uuid '" UUID_C "'");
    assert_null(qemu_query_domain(f->s, other, "ghost", &err));
    assert_string_equal(err.message,
                        "Domain not found: no domain with matching uuid '" UUID_C "' (ghost)");
    /* Inactive domains have no id. */
    assert_null(qemu_query_by_id(f->s, 1, &err));
    assert_string_equal(err.message, "Domain not found: no domain with matching id 1");
    assert_null(qemu_query_by_id(f->s, -1, &err));
    mv_error_clear(&err);
}

static void test_info_state_xml(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    qemu_domsnap *snap;
    unsigned long long max_mem, mem, cpu_time;
    unsigned int vcpus;
    int st;
    char *xml;

    define_ok(f->s, "alpha", UUID_A, NULL);
    assert_non_null(snap = qemu_query_by_name(f->s, "alpha", &err));
    qemu_query_info(snap, &st, &max_mem, &mem, &vcpus, &cpu_time);
    assert_int_equal(st, VIR_DOMAIN_SHUTOFF);
    assert_int_equal(max_mem, 1048576);
    assert_int_equal(mem, 524288);
    assert_int_equal(vcpus, 2);
    assert_int_equal(cpu_time, 0);
    assert_false(qemu_domsnap_is_active(snap));

    assert_non_null(xml = qemu_query_xml(snap, VIR_DOMAIN_XML_INACTIVE, true, &err));
    assert_non_null(strstr(xml, "<name>alpha</name>"));
    assert_null(strstr(xml, " id="));
    free(xml);
    assert_non_null(xml = qemu_query_xml(snap, VIR_DOMAIN_XML_SECURE, false, &err));
    free(xml);
    assert_non_null(xml = qemu_query_xml(snap, VIR_DOMAIN_XML_MIGRATABLE, true, &err));
    free(xml);
    /* Secrets are not for read-only connections. */
    assert_null(qemu_query_xml(snap, VIR_DOMAIN_XML_SECURE, true, &err));
    assert_int_equal(err.code, VIR_ERR_OPERATION_DENIED);
    assert_null(qemu_query_xml(snap, 0x100, false, &err));
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "virDomainGetXMLDesc"));
    qemu_domsnap_unref(snap);
    mv_error_clear(&err);
}

/* ---- lists ---------------------------------------------------------------------------- */

static void test_list_filters(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    unsigned char uuid[MV_UUID_BUFLEN];
    qemu_domsnap **snaps = NULL;
    size_t n = 0;

    define_ok(f->s, "charlie", UUID_C, NULL);
    define_ok(f->s, "alpha", UUID_A, NULL);
    define_ok(f->s, "bravo", UUID_B, NULL);
    mv_uuid_parse(UUID_B, uuid);
    assert_int_equal(qemu_domain_set_autostart(f->s, uuid, "bravo", true, &err), 0);

    /* Sorted by name. */
    assert_int_equal(qemu_query_list_all(f->s, 0, &snaps, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(snaps[0]->def->name, "alpha");
    assert_string_equal(snaps[1]->def->name, "bravo");
    assert_string_equal(snaps[2]->def->name, "charlie");
    qemu_domsnap_list_free(snaps, n);

    static const struct {
        unsigned int flags;
        size_t expect;
    } cases[] = {
        {VIR_CONNECT_LIST_DOMAINS_ACTIVE, 0},
        {VIR_CONNECT_LIST_DOMAINS_INACTIVE, 3},
        {VIR_CONNECT_LIST_DOMAINS_ACTIVE | VIR_CONNECT_LIST_DOMAINS_INACTIVE, 3},
        {VIR_CONNECT_LIST_DOMAINS_PERSISTENT, 3},
        {VIR_CONNECT_LIST_DOMAINS_TRANSIENT, 0},
        {VIR_CONNECT_LIST_DOMAINS_RUNNING, 0},
        {VIR_CONNECT_LIST_DOMAINS_PAUSED, 0},
        {VIR_CONNECT_LIST_DOMAINS_OTHER, 0},
        {VIR_CONNECT_LIST_DOMAINS_SHUTOFF, 3},
        {VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_SHUTOFF, 3},
        {VIR_CONNECT_LIST_DOMAINS_AUTOSTART, 1},
        {VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART, 2},
        {VIR_CONNECT_LIST_DOMAINS_AUTOSTART | VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART, 3},
        {VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE, 0},
        {VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE, 3},
        {VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT, 0},
        {VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT, 3},
        {VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT, 0},
        {VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT, 3},
        {VIR_CONNECT_LIST_DOMAINS_INACTIVE | VIR_CONNECT_LIST_DOMAINS_AUTOSTART, 1},
        {VIR_CONNECT_LIST_DOMAINS_PERSISTENT | VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART |
             VIR_CONNECT_LIST_DOMAINS_SHUTOFF | VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT,
         2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t got = list_count(f->s, cases[i].flags);
        if (got != cases[i].expect)
            fail_msg("flags 0x%x: %zu domains, expected %zu", cases[i].flags, got, cases[i].expect);
    }

    assert_int_equal(qemu_query_list_all(f->s, 1u << 16, &snaps, &n, &err), -1);
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "unsupported flags (0x10000)"));

    /* Defined (inactive) names, capped; active ids: none. */
    assert_int_equal(qemu_query_list_state(f->s, false, 2, &snaps, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(snaps[0]->def->name, "alpha");
    qemu_domsnap_list_free(snaps, n);
    assert_int_equal(qemu_query_list_state(f->s, false, 100, &snaps, &n, &err), 0);
    assert_int_equal(n, 3);
    qemu_domsnap_list_free(snaps, n);
    assert_int_equal(qemu_query_list_state(f->s, true, 100, &snaps, &n, &err), 0);
    assert_int_equal(n, 0);
    qemu_domsnap_list_free(snaps, n);
    assert_int_equal(qemu_query_count(f->s, true), 0);
    assert_int_equal(qemu_query_count(f->s, false), 3);
    mv_error_clear(&err);
}

/* ---- undefine and autostart --------------------------------------------------------- */

static void test_undefine(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    unsigned char uuid[MV_UUID_BUFLEN];

    define_ok(f->s, "alpha", UUID_A, NULL);
    mv_uuid_parse(UUID_A, uuid);
    assert_int_equal(qemu_domain_set_autostart(f->s, uuid, "alpha", true, &err), 0);
    assert_true(file_exists(f, "autostart/alpha.xml"));

    assert_int_equal(qemu_domain_undefine(f->s, uuid, "alpha", 1u << 10, &err), -1);
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    assert_int_equal(qemu_domain_undefine(f->s, uuid, "alpha",
                                          VIR_DOMAIN_UNDEFINE_NVRAM |
                                              VIR_DOMAIN_UNDEFINE_KEEP_NVRAM, &err), -1);
    assert_int_equal(err.code, VIR_ERR_OPERATION_INVALID);
    assert_int_equal(list_count(f->s, 0), 1);

    /* libvirt's harmless flags are accepted: there is nothing of theirs to remove. */
    assert_int_equal(qemu_domain_undefine(f->s, uuid, "alpha",
                                          VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                              VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA, &err), 0);
    assert_int_equal(list_count(f->s, 0), 0);
    assert_false(file_exists(f, "alpha.xml"));
    assert_false(file_exists(f, "autostart/alpha.xml"));
    assert_null(qemu_query_by_name(f->s, "alpha", &err));

    /* Gone: a second undefine and set autostart say so. */
    assert_int_equal(qemu_domain_undefine(f->s, uuid, "alpha", 0, &err), -1);
    assert_int_equal(err.code, VIR_ERR_NO_DOMAIN);
    assert_string_equal(err.message,
                        "Domain not found: no domain with matching uuid '" UUID_A "' (alpha)");
    assert_int_equal(qemu_domain_set_autostart(f->s, uuid, "alpha", true, &err), -1);
    assert_int_equal(err.code, VIR_ERR_NO_DOMAIN);

    /* The name and UUID are free again. */
    define_ok(f->s, "alpha", UUID_B, NULL);
    define_ok(f->s, "other", UUID_A, NULL);
    mv_error_clear(&err);
}

static void test_undefine_nvram(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    unsigned char uuid[MV_UUID_BUFLEN];
    char nvram[128], *xml;
    FILE *fp;

    snprintf(nvram, sizeof(nvram), "%s/VARS.fd", f->root);
    assert_non_null(fp = fopen(nvram, "w"));
    fclose(fp);
    assert_true(asprintf(&xml,
                         "<domain type='qemu'><name>efi</name><uuid>%s</uuid>"
                         "<memory>65536</memory><os><type>hvm</type>"
                         "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"
                         "<nvram>%s</nvram></os></domain>",
                         UUID_A, nvram) > 0);
    assert_int_equal(define_err(f->s, xml, 0, &err), 0);
    free(xml);
    mv_uuid_parse(UUID_A, uuid);

    assert_int_equal(qemu_domain_undefine(f->s, uuid, "efi", 0, &err), -1);
    assert_int_equal(err.code, VIR_ERR_OPERATION_INVALID);
    assert_non_null(strstr(err.message, "nvram"));
    assert_int_equal(qemu_domain_undefine(f->s, uuid, "efi", VIR_DOMAIN_UNDEFINE_NVRAM, &err), 0);
    assert_int_equal(access(nvram, F_OK), -1);
    mv_error_clear(&err);
}

static void test_autostart(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    unsigned char uuid[MV_UUID_BUFLEN];
    qemu_domsnap *snap;

    define_ok(f->s, "alpha", UUID_A, NULL);
    mv_uuid_parse(UUID_A, uuid);
    assert_int_equal(qemu_domain_set_autostart(f->s, uuid, "alpha", true, &err), 0);
    assert_int_equal(qemu_domain_set_autostart(f->s, uuid, "alpha", true, &err), 0);
    assert_true(file_exists(f, "autostart/alpha.xml"));
    assert_non_null(snap = qemu_query_by_name(f->s, "alpha", &err));
    assert_true(snap->autostart);
    qemu_domsnap_unref(snap);

    /* An update keeps the flag. */
    define_ok(f->s, "alpha", UUID_A, "updated");
    assert_non_null(snap = qemu_query_by_name(f->s, "alpha", &err));
    assert_true(snap->autostart);
    qemu_domsnap_unref(snap);

    fx_qemu_restart(f);
    assert_non_null(snap = qemu_query_by_name(f->s, "alpha", &err));
    assert_true(snap->autostart);
    assert_string_equal(snap->def->title, "updated");
    qemu_domsnap_unref(snap);

    assert_int_equal(qemu_domain_set_autostart(f->s, uuid, "alpha", false, &err), 0);
    assert_false(file_exists(f, "autostart/alpha.xml"));
    fx_qemu_restart(f);
    assert_non_null(snap = qemu_query_by_name(f->s, "alpha", &err));
    assert_false(snap->autostart);
    qemu_domsnap_unref(snap);
    mv_error_clear(&err);
}

/* ---- the store across restarts ------------------------------------------------------ */

static void test_restart_loads_and_skips_broken(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    qemu_domsnap *snap;
    char *xml;

    define_ok(f->s, "alpha", UUID_A, "kept");
    define_ok(f->s, "bravo", UUID_B, NULL);

    /* Files the loader must skip, each for its own reason, without failing. */
    write_config_file(f, "broken.xml", "<domain type='qemu'><name>broken</name");
    xml = domain_xml("realname", UUID_C, "qemu", NULL);
    write_config_file(f, "wrongname.xml", xml);
    free(xml);
    xml = domain_xml("box", "c7a5fdbd-edaf-9455-926a-d65c16db180c", "lxc", NULL);
    write_config_file(f, "box.xml", xml);
    free(xml);
    xml = domain_xml("dupe", UUID_A, "qemu", NULL); /* alpha's UUID */
    write_config_file(f, "dupe.xml", xml);
    free(xml);
    write_config_file(f, "unknown.xml",
                      "<domain type='qemu'><name>unknown</name><memory>1</memory>"
                      "<os><type>hvm</type></os><frobnicate/></domain>");

    fx_qemu_restart(f);
    assert_int_equal(list_count(f->s, 0), 2);
    assert_non_null(snap = qemu_query_by_name(f->s, "alpha", &err));
    assert_string_equal(snap->def->title, "kept");
    assert_true(snap->persistent);
    assert_int_equal(snap->state, VIR_DOMAIN_SHUTOFF);
    qemu_domsnap_unref(snap);
    assert_non_null(snap = qemu_query_by_name(f->s, "bravo", &err));
    qemu_domsnap_unref(snap);
    /* Skipped files stay for the user to fix. */
    assert_true(file_exists(f, "broken.xml"));

    /* A broken file's name can be defined over. */
    define_ok(f->s, "broken", "c7a5fdbd-edaf-9455-926a-d65c16db180d", NULL);
    fx_qemu_restart(f);
    assert_int_equal(list_count(f->s, 0), 3);
    mv_error_clear(&err);
}

static void test_qemu_binary_config(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    mv_conf_section section = {qemu_conf_keys, &f->cfg};
    const char *text = "# test\nqemu_binary = \"/nonexistent/qemu-system-x86_64\"\n";

    assert_int_equal(f->s->version, 7002022);
    assert_int_equal(mv_conf_parse(text, strlen(text), "virtqemud.conf", &section, 1, &err), 0);
    assert_string_equal(f->cfg.qemu_binary, "/nonexistent/qemu-system-x86_64");
    fx_qemu_restart(f);
    /* A missing binary does not stop the driver; the version call explains it. */
    assert_null(f->s->binary);
    assert_int_equal(f->s->version, 0);
    assert_non_null(strstr(f->s->probe_err.message, "/nonexistent/qemu-system-x86_64"));

    text = "qemu_binary = 7\n";
    assert_int_equal(mv_conf_parse(text, strlen(text), "virtqemud.conf", &section, 1, &err), -1);
    assert_non_null(strstr(err.message, "virtqemud.conf:1"));
    text = "qemu_binray = \"x\"\n";
    assert_int_equal(mv_conf_parse(text, strlen(text), "virtqemud.conf", &section, 1, &err), -1);
    assert_non_null(strstr(err.message, "qemu_binray"));
    mv_error_clear(&err);
}

/* ---- scale -------------------------------------------------------------------------- */

static void test_thousand_domains(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    char name[32], uuid[MV_UUID_STRING_BUFLEN];
    unsigned char raw[MV_UUID_BUFLEN];
    qemu_domsnap *snap;

    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "dom%04d", i);
        snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012d", i);
        define_ok(f->s, name, uuid, NULL);
    }
    assert_int_equal(list_count(f->s, 0), 1000);
    assert_int_equal(qemu_query_count(f->s, false), 1000);
    fx_qemu_restart(f);
    assert_int_equal(list_count(f->s, VIR_CONNECT_LIST_DOMAINS_PERSISTENT), 1000);
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "dom%04d", i);
        snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012d", i);
        mv_uuid_parse(uuid, raw);
        assert_non_null(snap = qemu_query_by_uuid(f->s, raw, &err));
        assert_string_equal(snap->def->name, name);
        qemu_domsnap_unref(snap);
        assert_non_null(snap = qemu_query_by_name(f->s, name, &err));
        qemu_domsnap_unref(snap);
    }
}

/* ---- concurrency -------------------------------------------------------------------- */

typedef struct writer_arg {
    qemu_state *s;
    int base, count;
    int failures;
} writer_arg;

static void *writer_main(void *opaque)
{
    writer_arg *w = opaque;
    char name[32], uuid[MV_UUID_STRING_BUFLEN];

    for (int i = 0; i < w->count; i++) {
        mv_error err = MV_ERROR_INIT;
        int n = w->base + i;
        snprintf(name, sizeof(name), "w%05d", n);
        snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012d", n);
        char *xml = domain_xml(name, uuid, "qemu", NULL);
        if (define_err(w->s, xml, 0, &err) < 0)
            w->failures++;
        free(xml);
        mv_error_clear(&err);
    }
    return NULL;
}

typedef struct reader_arg {
    qemu_state *s;
    const int *stop; /* read with __atomic */
    long rounds;
    int problems;
} reader_arg;

static void *reader_main(void *opaque)
{
    reader_arg *r = opaque;

    while (!__atomic_load_n(r->stop, __ATOMIC_ACQUIRE) || r->rounds == 0) {
        qemu_domsnap **snaps = NULL;
        size_t n = 0;
        if (qemu_query_list_all(r->s, 0, &snaps, &n, NULL) < 0) {
            r->problems++;
            break;
        }
        /* Everything listed can be looked up: domains are never half-defined. */
        for (size_t i = 0; i < n; i += 7) {
            qemu_domsnap *snap = qemu_query_by_name(r->s, snaps[i]->def->name, NULL);
            if (!snap || memcmp(snap->def->uuid, snaps[i]->def->uuid, MV_UUID_BUFLEN) != 0)
                r->problems++;
            qemu_domsnap_unref(snap);
        }
        qemu_domsnap_list_free(snaps, n);
        r->rounds++;
    }
    return NULL;
}

static void test_concurrent_defines_and_reads(void **state)
{
    fixture *f = *state;
    enum { WRITERS = 4, EACH = 60 };
    pthread_t wt[WRITERS], rt;
    writer_arg w[WRITERS];
    int stop = 0;
    reader_arg r = {f->s, &stop, 0, 0};

    assert_int_equal(pthread_create(&rt, NULL, reader_main, &r), 0);
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (writer_arg){f->s, i * EACH, EACH, 0};
        assert_int_equal(pthread_create(&wt[i], NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(wt[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(rt, NULL);
    assert_int_equal(r.problems, 0);
    assert_true(r.rounds > 0);
    assert_int_equal(list_count(f->s, 0), WRITERS * EACH);
    fx_qemu_restart(f);
    assert_int_equal(list_count(f->s, 0), WRITERS * EACH);
}

/* Many threads define the same name at once: with one UUID all succeed (updates); with
 * different UUIDs exactly one wins and the rest get libvirt's conflict error. */
typedef struct race_arg {
    qemu_state *s;
    char *xml;
    int rc;
    int code;
} race_arg;

static void *race_main(void *opaque)
{
    race_arg *a = opaque;
    mv_error err = MV_ERROR_INIT;
    a->rc = define_err(a->s, a->xml, 0, &err);
    a->code = err.code;
    mv_error_clear(&err);
    return NULL;
}

static void test_same_name_races(void **state)
{
    fixture *f = *state;
    enum { N = 8 };
    pthread_t t[N];
    race_arg a[N];
    char title[16], uuid[MV_UUID_STRING_BUFLEN];
    int wins = 0;

    for (int i = 0; i < N; i++) {
        snprintf(title, sizeof(title), "t%d", i);
        a[i] = (race_arg){f->s, domain_xml("same", UUID_A, "qemu", title), 0, 0};
        pthread_create(&t[i], NULL, race_main, &a[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].rc, 0);
        free(a[i].xml);
    }
    assert_int_equal(list_count(f->s, 0), 1);

    for (int i = 0; i < N; i++) {
        snprintf(uuid, sizeof(uuid), "11111111-0000-4000-8000-%012d", i);
        a[i] = (race_arg){f->s, domain_xml("contested", uuid, "qemu", NULL), 0, 0};
        pthread_create(&t[i], NULL, race_main, &a[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        if (a[i].rc == 0)
            wins++;
        else
            assert_int_equal(a[i].code, VIR_ERR_OPERATION_FAILED);
        free(a[i].xml);
    }
    assert_int_equal(wins, 1);
    assert_int_equal(list_count(f->s, 0), 2);
}

/* Reads of a domain never wait for a job on it: they run in another thread while this
 * one holds the job, and must finish while it is still held. */
typedef struct held_reader {
    qemu_state *s;
    int ok;
} held_reader;

static void *held_reader_main(void *opaque)
{
    held_reader *h = opaque;
    unsigned char uuid[MV_UUID_BUFLEN];

    mv_uuid_parse(UUID_A, uuid);
    for (int i = 0; i < 50; i++) {
        qemu_domsnap *snap = qemu_query_by_name(h->s, "alpha", NULL);
        qemu_domsnap *by_uuid = qemu_query_domain(h->s, uuid, "alpha", NULL);
        char *xml = snap ? qemu_query_xml(snap, 0, true, NULL) : NULL;
        if (!snap || !by_uuid || !xml || list_count(h->s, 0) != 1) {
            qemu_domsnap_unref(snap);
            qemu_domsnap_unref(by_uuid);
            free(xml);
            return NULL;
        }
        free(xml);
        qemu_domsnap_unref(snap);
        qemu_domsnap_unref(by_uuid);
    }
    h->ok = 1;
    return NULL;
}

typedef struct held_writer {
    qemu_state *s;
    int rc;
} held_writer;

static void *held_writer_main(void *opaque)
{
    held_writer *h = opaque;
    char *xml = domain_xml("alpha", UUID_A, "qemu", "after the job");
    h->rc = define_err(h->s, xml, 0, NULL);
    free(xml);
    return NULL;
}

static void test_reads_do_not_wait_for_jobs(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    qemu_domobj *obj;
    pthread_t reader, writer;
    held_reader hr = {f->s, 0};
    held_writer hw = {f->s, -1};
    struct timespec deadline;
    qemu_domsnap *snap;

    define_ok(f->s, "alpha", UUID_A, "before");
    assert_non_null(obj = qemu_domlist_find_name(f->s->doms, "alpha"));
    assert_int_equal(qemu_domobj_begin_job(obj, "test-job", 1000, &err), 0);
    assert_string_equal(qemu_domobj_job(obj), "test-job");

    /* A writer queues behind the job... */
    pthread_create(&writer, NULL, held_writer_main, &hw);
    /* ...while readers are served at once. */
    pthread_create(&reader, NULL, held_reader_main, &hr);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    assert_int_equal(pthread_timedjoin_np(reader, NULL, &deadline), 0);
    assert_int_equal(hr.ok, 1);

    /* Another job gives up with libvirt's complaint, naming the holder. */
    assert_int_equal(qemu_domobj_begin_job(obj, "other", 50, &err), -1);
    assert_int_equal(err.code, VIR_ERR_OPERATION_TIMEOUT);
    assert_non_null(strstr(err.message, "held by test-job"));

    /* Still the old state: the queued define has not run. */
    assert_non_null(snap = qemu_query_by_name(f->s, "alpha", &err));
    assert_string_equal(snap->def->title, "before");
    qemu_domsnap_unref(snap);

    qemu_domobj_end_job(obj);
    pthread_join(writer, NULL);
    assert_int_equal(hw.rc, 0);
    assert_non_null(snap = qemu_query_by_name(f->s, "alpha", &err));
    assert_string_equal(snap->def->title, "after the job");
    qemu_domsnap_unref(snap);
    qemu_domobj_unref(obj);
    mv_error_clear(&err);
}

/* A job waiting on an object that gets undefined learns it is gone. */
static void test_job_on_removed_object(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    unsigned char uuid[MV_UUID_BUFLEN];
    qemu_domobj *obj;

    define_ok(f->s, "alpha", UUID_A, NULL);
    mv_uuid_parse(UUID_A, uuid);
    assert_non_null(obj = qemu_domlist_find_uuid(f->s->doms, uuid));
    assert_int_equal(qemu_domain_undefine(f->s, uuid, "alpha", 0, &err), 0);
    assert_int_equal(qemu_domobj_begin_job(obj, "late", 1000, &err), -1);
    assert_int_equal(err.code, VIR_ERR_NO_DOMAIN);
    qemu_domobj_unref(obj);
    mv_error_clear(&err);
}

/* ---- connection helpers ------------------------------------------------------------- */

static void test_canonical_uri(void **state)
{
    mv_error err = MV_ERROR_INIT;
    char *uri;

    assert_non_null(uri = qemu_connect_canonical_uri("qemu:///system", &err));
    assert_string_equal(uri, "qemu:///system");
    free(uri);
    assert_non_null(uri = qemu_connect_canonical_uri("qemu:///session", &err));
    assert_string_equal(uri, "qemu:///session");
    free(uri);
    assert_non_null(uri = qemu_connect_canonical_uri("qemu+unix:///system?socket=/x", &err));
    assert_string_equal(uri, "qemu:///system");
    free(uri);

    assert_null(qemu_connect_canonical_uri("qemu:///embed", &err));
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "'/embed'"));
    assert_null(qemu_connect_canonical_uri("qemu://", &err));
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    assert_null(qemu_connect_canonical_uri("lxc:///system", &err));
    assert_non_null(strstr(err.message, "lxc"));
    assert_null(qemu_connect_canonical_uri("::not a uri", &err));
    mv_error_clear(&err);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_qemu_teardown)
    const struct CMUnitTest tests[] = {
        T(test_define_new),
        T(test_define_update),
        T(test_define_conflicts),
        T(test_define_rejects),
        T(test_lookups),
        T(test_info_state_xml),
        T(test_list_filters),
        T(test_undefine),
        T(test_undefine_nvram),
        T(test_autostart),
        T(test_restart_loads_and_skips_broken),
        T(test_qemu_binary_config),
        T(test_thousand_domains),
        T(test_concurrent_defines_and_reads),
        T(test_same_name_races),
        T(test_reads_do_not_wait_for_jobs),
        T(test_job_on_removed_object),
        cmocka_unit_test(test_canonical_uri),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
