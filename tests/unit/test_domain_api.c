/* test_domain_api.c: the domain definition API — units, generated UUIDs, copies that
 * share nothing, format flags and ids, runtime state in live XML, escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/domain/domain_conf.h"

#define UUID "<uuid>6b7c1a2e-5f3d-4e1a-9c8b-0d1e2f3a4b5c</uuid>\n"

static mv_domain_def *parse(const char *xml, unsigned int flags)
{
    mv_error err = MV_ERROR_INIT;
    mv_domain_def *def = mv_domain_def_parse(xml, strlen(xml), flags, &err);

    if (!def)
        fail_msg("parse failed: %s", err.message);
    return def;
}

static char *domain_with(const char *inside, const char *devices)
{
    char *xml = NULL;

    assert_true(asprintf(&xml,
                         "<domain type='kvm'>\n<name>api</name>\n" UUID "%s"
                         "<os><type arch='x86_64' machine='q35'>hvm</type></os>\n"
                         "<devices>\n%s</devices>\n</domain>\n",
                         inside, devices) > 0);
    return xml;
}

static void test_memory_units(void **state)
{
    static const struct {
        const char *value, *unit;
        unsigned long long kib;
    } cases[] = {
        {"1048576", NULL, 1048576},        {"1073741824", "b", 1048576},
        {"1073741824", "bytes", 1048576},  {"2048", "KiB", 2048},
        {"2048", "k", 2048},               {"1024000", "KB", 1000000},
        {"512", "MiB", 524288},            {"512", "M", 524288},
        {"1000", "MB", 976563},            {"2", "GiB", 2097152},
        {"2", "G", 2097152},               {"2", "GB", 1953125},
        {"1", "TiB", 1073741824ULL},       {"1", "T", 1073741824ULL},
        {"1", "TB", 976562500ULL},         {"1", "PiB", 1099511627776ULL},
        {"1", "P", 1099511627776ULL},      {"1", "PB", 976562500000ULL},
        {"1", "EiB", 1125899906842624ULL}, {"1", "E", 1125899906842624ULL},
        {"1", "EB", 976562500000000ULL},   {"1", "b", 1}, /* rounded up to a KiB */
        {"1025", "bytes", 2},              {"3", "gib", 3145728}, /* case-insensitive */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char inside[256];
        char *xml;
        mv_domain_def *def;

        if (cases[i].unit)
            snprintf(inside, sizeof(inside), "<memory unit='%s'>%s</memory>\n", cases[i].unit,
                     cases[i].value);
        else
            snprintf(inside, sizeof(inside), "<memory>%s</memory>\n", cases[i].value);
        xml = domain_with(inside, "");
        def = parse(xml, 0);
        if (def->memory_kib != cases[i].kib)
            fail_msg("%s %s: got %llu KiB, want %llu", cases[i].value,
                     cases[i].unit ? cases[i].unit : "(none)", def->memory_kib, cases[i].kib);
        mv_domain_def_free(def);
        free(xml);
    }
}

static void test_generated_uuid(void **state)
{
    const char *xml = "<domain type='qemu'><name>u</name><memory>1024</memory>"
                      "<os><type>hvm</type></os></domain>";
    mv_domain_def *a = parse(xml, 0), *b = parse(xml, 0);
    char sa[MV_UUID_STRING_BUFLEN], want[64];
    char *out;

    assert_false(mv_uuid_is_null(a->uuid));
    assert_memory_not_equal(a->uuid, b->uuid, MV_UUID_BUFLEN);
    mv_uuid_format(a->uuid, sa);
    out = mv_domain_def_format(a, -1, 0, NULL);
    snprintf(want, sizeof(want), "<uuid>%s</uuid>", sa);
    assert_non_null(strstr(out, want)); /* the generated UUID is part of the definition */
    free(out);
    mv_domain_def_free(a);
    mv_domain_def_free(b);
}

static void test_copy_shares_nothing(void **state)
{
    char *xml = domain_with("<memory>1024</memory>\n<cpu><numa><cell id='0' cpus='0' "
                            "memory='1024'/></numa></cpu>\n",
                            "<disk type='file'><source file='/a.img'/>"
                            "<target dev='vda' bus='virtio'/></disk>\n");
    mv_domain_def *def = parse(xml, 0);
    mv_error err = MV_ERROR_INIT;
    mv_domain_def *copy = mv_domain_def_copy(def, &err);
    char *before = mv_domain_def_format(def, -1, 0, NULL);
    char *after;

    assert_non_null(copy);
    assert_ptr_not_equal(copy->name, def->name);
    assert_ptr_not_equal(copy->disks, def->disks);
    assert_ptr_not_equal(copy->disks[0].src_file, def->disks[0].src_file);
    assert_ptr_not_equal(copy->cpu, def->cpu);
    assert_ptr_not_equal(copy->cpu->cells, def->cpu->cells);
    free(copy->disks[0].src_file);
    copy->disks[0].src_file = strdup("/b.img");
    copy->cpu->cells[0].memory_kib = 4096;
    mv_domain_def_free(copy); /* and the original is untouched */
    after = mv_domain_def_format(def, -1, 0, NULL);
    assert_string_equal(before, after);
    assert_string_equal(def->disks[0].src_file, "/a.img");
    free(before);
    free(after);
    mv_domain_def_free(def);
    free(xml);
}

static void test_null_and_flags(void **state)
{
    mv_error err = MV_ERROR_INIT;
    char *xml = domain_with("<memory>1024</memory>\n", "");
    mv_domain_def *def = parse(xml, 0);

    mv_domain_def_free(NULL);
    assert_null(mv_domain_def_copy(NULL, &err));
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    mv_error_clear(&err);
    assert_null(mv_domain_def_format(NULL, -1, 0, &err));
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    mv_error_clear(&err);
    assert_null(mv_domain_def_format(def, -1, 1u << 20, &err));
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    mv_error_clear(&err);
    mv_domain_def_free(def);
    def = mv_domain_def_parse(xml, strlen(xml), 0, NULL); /* err may be NULL */
    assert_non_null(def);
    assert_null(mv_domain_def_parse("<domain/>", 9, 0, NULL));
    mv_domain_def_free(def);
    free(xml);
}

static void test_domain_id(void **state)
{
    char *xml = domain_with("<memory>1024</memory>\n", "");
    mv_domain_def *def = parse(xml, 0);
    char *live = mv_domain_def_format(def, 5, 0, NULL);
    char *inactive = mv_domain_def_format(def, 5, MV_DOMAIN_DEF_FORMAT_INACTIVE, NULL);
    char *none = mv_domain_def_format(def, -1, 0, NULL);
    mv_domain_def *again;

    assert_true(strncmp(live, "<domain type='kvm' id='5'>\n", 27) == 0);
    assert_true(strncmp(inactive, "<domain type='kvm'>\n", 20) == 0);
    assert_string_equal(inactive, none);
    again = parse(live, 0); /* a running guest's XML defines the same domain */
    mv_domain_def_free(again);
    free(live);
    free(inactive);
    free(none);
    mv_domain_def_free(def);
    free(xml);
}

/* What issue 3's driver does: copy the definition, fill in what the started guest got,
 * and show it in live XML, never in the inactive definition. */
static void test_runtime_state(void **state)
{
    char *xml = domain_with("<memory>1024</memory>\n",
                            "<serial type='pty'><target port='0'/></serial>\n"
                            "<graphics type='vnc' autoport='yes'/>\n"
                            "<memballoon model='virtio'><alias name='ua-balloon'/></memballoon>\n");
    mv_domain_def *def = parse(xml, 0);
    mv_domain_def *live = mv_domain_def_copy(def, NULL);
    char *out, *inactive, *persistent;
    mv_domain_def *status, *defined;

    live->serials[0].source_path = strdup("/dev/pts/7");
    live->serials[0].tty = strdup("/dev/pts/7");
    live->serials[0].info.alias = strdup("serial0");
    live->graphics[0].port = 5901;
    out = mv_domain_def_format(live, 3, 0, NULL);
    assert_non_null(strstr(out, "<serial type='pty' tty='/dev/pts/7'>"));
    assert_non_null(strstr(out, "<source path='/dev/pts/7'/>"));
    assert_non_null(strstr(out, "<alias name='serial0'/>"));
    assert_non_null(strstr(out, "<graphics type='vnc' port='5901' autoport='yes'/>"));
    inactive = mv_domain_def_format(live, 3, MV_DOMAIN_DEF_FORMAT_INACTIVE, NULL);
    persistent = mv_domain_def_format(def, -1, MV_DOMAIN_DEF_FORMAT_INACTIVE, NULL);
    assert_string_equal(inactive, persistent);
    assert_null(strstr(inactive, "/dev/pts/7"));
    assert_null(strstr(inactive, "serial0"));
    assert_null(strstr(inactive, "5901"));
    assert_non_null(strstr(inactive, "<alias name='ua-balloon'/>")); /* the user's alias */

    /* the driver re-reads its status XML with LIVE and keeps it all */
    status = parse(out, MV_DOMAIN_DEF_PARSE_LIVE);
    assert_string_equal(status->serials[0].source_path, "/dev/pts/7");
    assert_string_equal(status->serials[0].info.alias, "serial0");
    /* a user defining that same XML gets libvirt's behaviour: runtime values ignored */
    defined = parse(out, 0);
    assert_null(defined->serials[0].source_path);
    assert_null(defined->serials[0].tty);
    assert_null(defined->serials[0].info.alias);
    assert_string_equal(defined->memballoon->info.alias, "ua-balloon");
    mv_domain_def_free(status);
    mv_domain_def_free(defined);
    free(out);
    free(inactive);
    free(persistent);
    mv_domain_def_free(live);
    mv_domain_def_free(def);
    free(xml);
}

static void test_secure(void **state)
{
    char *xml = domain_with("<memory>1024</memory>\n",
                            "<graphics type='vnc' port='5900' passwd='s3cret'/>\n");
    mv_domain_def *def = parse(xml, 0);
    char *plain = mv_domain_def_format(def, -1, 0, NULL);
    char *secure = mv_domain_def_format(def, -1, MV_DOMAIN_DEF_FORMAT_SECURE, NULL);

    assert_null(strstr(plain, "s3cret"));
    assert_non_null(strstr(secure, "passwd='s3cret'"));
    assert_string_equal(def->graphics[0].passwd, "s3cret");
    free(plain);
    free(secure);
    mv_domain_def_free(def);
    free(xml);
}

static void test_escaping(void **state)
{
    char *xml = domain_with("<title>a &amp; b &lt;c&gt; 'd' \"e\"</title>\n"
                            "<memory>1024</memory>\n",
                            "<disk type='file'><source file='/x&apos;y&#10;z&#9;w'/>"
                            "<target dev='vda'/></disk>\n");
    mv_domain_def *def = parse(xml, 0);
    char *out = mv_domain_def_format(def, -1, 0, NULL);
    mv_domain_def *again = parse(out, 0);
    char *out2 = mv_domain_def_format(again, -1, 0, NULL);

    assert_string_equal(def->title, "a & b <c> 'd' \"e\"");
    assert_string_equal(def->disks[0].src_file, "/x'y\nz\tw");
    assert_non_null(strstr(out, "<title>a &amp; b &lt;c&gt; &apos;d&apos; &quot;e&quot;</title>"));
    assert_non_null(strstr(out, "file='/x&apos;y&#10;z&#9;w'"));
    assert_string_equal(again->disks[0].src_file, "/x'y\nz\tw");
    assert_string_equal(out, out2);
    free(out);
    free(out2);
    mv_domain_def_free(def);
    mv_domain_def_free(again);
    free(xml);
}

static void test_metadata_namespaces(void **state)
{
    const char *xml =
        "<domain type='kvm' xmlns:os='http://libosinfo.org/xmlns/libvirt/domain/1.0'>"
        "<name>m</name>" UUID "<metadata><os:libosinfo><os:os id='http://debian.org/debian/12'/>"
        "</os:libosinfo></metadata><memory>1024</memory><os><type>hvm</type></os></domain>";
    mv_domain_def *def = parse(xml, 0);
    char *out = mv_domain_def_format(def, -1, 0, NULL);

    /* the namespace declared on <domain> travels with the metadata */
    assert_non_null(strstr(out, "xmlns:os=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\""));
    assert_non_null(strstr(out, "<os:os id=\"http://debian.org/debian/12\"/>"));
    free(out);
    mv_domain_def_free(def);
}

static void test_listen_address(void **state)
{
    char *xml = domain_with("<memory>1024</memory>\n",
                            "<graphics type='vnc' listen='0.0.0.0'/>\n"
                            "<graphics type='spice'><listen type='network' network='n'/>"
                            "<listen type='address' address='::1'/></graphics>\n"
                            "<graphics type='egl-headless'/>\n");
    mv_domain_def *def = parse(xml, 0);

    assert_string_equal(mv_domain_graphics_listen_address(&def->graphics[0]), "0.0.0.0");
    assert_string_equal(mv_domain_graphics_listen_address(&def->graphics[1]), "::1");
    assert_null(mv_domain_graphics_listen_address(&def->graphics[2]));
    mv_domain_def_free(def);
    free(xml);
}

static void test_model_values(void **state)
{
    char *xml = domain_with("<memory>1024</memory>\n<vcpu current='1'>4</vcpu>\n",
                            "<controller type='pci' model='pcie-root-port'/>\n"
                            "<interface type='bridge'><mac address='52:54:00:AA:bb:0C'/>"
                            "<source bridge='br0'/><boot order='2'/></interface>\n");
    mv_domain_def *def = parse(xml, 0);

    assert_int_equal(def->vcpus, 4);
    assert_int_equal(def->vcpus_current, 1);
    assert_null(def->vcpu_placement);
    assert_null(def->on_poweroff); /* libvirt's defaults apply; nothing is invented */
    assert_int_equal(def->controllers[0].index, MV_UNSET);
    assert_int_equal(def->controllers[0].ports, MV_UNSET);
    assert_string_equal(def->nets[0].mac, "52:54:00:aa:bb:0c");
    assert_int_equal(def->nets[0].info.boot_order, 2);
    assert_null(def->nets[0].info.address);
    assert_int_equal(def->graphics ? 1 : 0, 0);
    mv_domain_def_free(def);
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_units),     cmocka_unit_test(test_generated_uuid),
        cmocka_unit_test(test_copy_shares_nothing), cmocka_unit_test(test_null_and_flags),
        cmocka_unit_test(test_domain_id),        cmocka_unit_test(test_runtime_state),
        cmocka_unit_test(test_secure),           cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_metadata_namespaces), cmocka_unit_test(test_listen_address),
        cmocka_unit_test(test_model_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
