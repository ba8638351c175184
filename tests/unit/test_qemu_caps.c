/* test_qemu_caps.c: the capabilities model from recorded QMP replies (QEMU 7.2), its
 * cache form, the capabilities XML, and — when qemu-system-x86_64 is installed — one
 * real probe shared by concurrent callers and served from the disk cache after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture_qemu_command.h"

#define QEMU_BIN "/usr/bin/qemu-system-x86_64"

static void test_parse_replies(void **state)
{
    qemu_caps *caps = fx_recorded_caps(true);
    const qemu_caps_machine *m;

    (void)state;
    assert_int_equal(caps->version, 7002022);
    assert_string_equal(caps->arch, "x86_64");
    assert_true(caps->kvm_usable);
    /* The default machine and the aliases libvirt resolves. */
    assert_non_null(m = qemu_caps_machine_find(caps, NULL));
    assert_string_equal(m->name, "pc-i440fx-7.2");
    assert_string_equal(qemu_caps_machine_find(caps, "pc")->name, "pc-i440fx-7.2");
    assert_string_equal(qemu_caps_machine_find(caps, "q35")->name, "pc-q35-7.2");
    assert_null(qemu_caps_machine_find(caps, "virt"));
    assert_true(qemu_caps_has_device(caps, "virtio-blk-pci"));
    assert_true(qemu_caps_has_device(caps, "qemu-xhci"));
    assert_false(qemu_caps_has_device(caps, "no-such-device"));
    /* CPU features as libvirt spells them; QEMU 7.2 predates pconfig. */
    assert_true(qemu_caps_has_cpu_feature(caps, "vmx"));
    assert_true(qemu_caps_has_cpu_feature(caps, "lahf_lm"));
    assert_false(qemu_caps_has_cpu_feature(caps, "pconfig"));
    qemu_caps_unref(caps);

    caps = fx_recorded_caps(false);
    assert_false(caps->kvm_usable);
    qemu_caps_unref(caps);
}

static void test_parse_errors(void **state)
{
    mv_error err = MV_ERROR_INIT;
    json_object *v = json_tokener_parse("{\"qemu\":{\"major\":7,\"minor\":2,\"micro\":0}}");
    json_object *t = json_tokener_parse("{}");
    json_object *arr = json_tokener_parse("[]");
    json_object *notarr = json_tokener_parse("{}");

    (void)state;
    assert_null(qemu_caps_from_replies(QEMU_BIN, v, t, arr, arr, NULL, &err));
    assert_non_null(strstr(err.message, "query-target"));
    mv_error_clear(&err);
    json_object_put(t);
    t = json_tokener_parse("{\"arch\":\"x86_64\"}");
    assert_null(qemu_caps_from_replies(QEMU_BIN, v, t, notarr, arr, NULL, &err));
    assert_non_null(strstr(err.message, "query-machines"));
    mv_error_clear(&err);
    assert_null(qemu_caps_from_replies(QEMU_BIN, NULL, t, arr, arr, NULL, &err));
    mv_error_clear(&err);
    json_object_put(v);
    json_object_put(t);
    json_object_put(arr);
    json_object_put(notarr);
}

static void test_cache_form_round_trip(void **state)
{
    qemu_caps *caps = fx_recorded_caps(true), *back;
    json_object *j, *bad;
    mv_error err = MV_ERROR_INIT;

    (void)state;
    caps->mtime = 1234;
    caps->size = 5678;
    j = qemu_caps_to_json(caps);
    assert_non_null(back = qemu_caps_from_json(j, &err));
    assert_int_equal(back->version, caps->version);
    assert_int_equal(back->nmachines, caps->nmachines);
    assert_int_equal(back->ndevices, caps->ndevices);
    assert_int_equal(back->mtime, 1234);
    assert_int_equal(back->size, 5678);
    assert_true(back->kvm_usable);
    assert_int_equal(back->ncpu_props, caps->ncpu_props);
    assert_false(qemu_caps_has_cpu_feature(back, "pconfig"));
    assert_string_equal(qemu_caps_machine_find(back, "pc")->name, "pc-i440fx-7.2");
    /* A file of another format version is not trusted. */
    bad = json_tokener_parse("{\"format\":99}");
    assert_null(qemu_caps_from_json(bad, &err));
    mv_error_clear(&err);
    json_object_put(bad);
    json_object_put(j);
    qemu_caps_unref(back);
    qemu_caps_unref(caps);
}

static void test_capabilities_xml(void **state)
{
    qemu_caps *caps = fx_recorded_caps(false);
    mv_error err = MV_ERROR_INIT;
    char *xml;

    (void)state;
    assert_non_null(xml = qemu_caps_format_capabilities(caps, "x86_64", &err));
    assert_non_null(strstr(xml, "<arch>x86_64</arch>"));
    assert_non_null(strstr(xml, "<os_type>hvm</os_type>"));
    assert_non_null(strstr(xml, "<arch name='x86_64'>"));
    assert_non_null(strstr(xml, "<emulator>/usr/bin/qemu-system-x86_64</emulator>"));
    assert_non_null(strstr(xml, "<machine maxCpus='255'>pc-i440fx-7.2</machine>"));
    assert_non_null(strstr(xml, "<machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>"));
    assert_non_null(strstr(xml, "<domain type='qemu'/>"));
    /* No KVM: no kvm domain type. */
    assert_null(strstr(xml, "<domain type='kvm'/>"));
    free(xml);
    qemu_caps_unref(caps);

    caps = fx_recorded_caps(true);
    assert_non_null(xml = qemu_caps_format_capabilities(caps, "x86_64", &err));
    assert_non_null(strstr(xml, "<domain type='kvm'/>"));
    free(xml);
    qemu_caps_unref(caps);
}

static void test_domain_capabilities_xml(void **state)
{
    qemu_caps *caps = fx_recorded_caps(false);
    mv_error err = MV_ERROR_INIT;
    char *xml;

    (void)state;
    assert_non_null(xml = qemu_caps_format_domain_caps(caps, "x86_64", "q35", "qemu", &err));
    assert_non_null(strstr(xml, "<domain>qemu</domain>"));
    assert_non_null(strstr(xml, "<machine>pc-q35-7.2</machine>"));
    assert_non_null(strstr(xml, "<vcpu max='288'/>"));
    assert_non_null(strstr(xml, "<model usable='unknown'>Haswell</model>"));
    assert_non_null(strstr(xml, "<value>virtio</value>"));
    free(xml);
    /* Defaults: the default machine, qemu without KVM. */
    assert_non_null(xml = qemu_caps_format_domain_caps(caps, NULL, "", NULL, &err));
    assert_non_null(strstr(xml, "<machine>pc-i440fx-7.2</machine>"));
    assert_non_null(strstr(xml, "<domain>qemu</domain>"));
    free(xml);
    assert_null(qemu_caps_format_domain_caps(caps, NULL, NULL, "kvm", &err));
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "KVM"));
    mv_error_clear(&err);
    assert_null(qemu_caps_format_domain_caps(caps, "aarch64", NULL, NULL, &err));
    assert_non_null(strstr(err.message, "aarch64"));
    mv_error_clear(&err);
    assert_null(qemu_caps_format_domain_caps(caps, NULL, "virt", NULL, &err));
    assert_non_null(strstr(err.message, "'virt'"));
    mv_error_clear(&err);
    qemu_caps_unref(caps);
}

static char cache_root[64];

static void *get_caps(void *arg)
{
    mv_error err = MV_ERROR_INIT;
    qemu_caps *caps = qemu_caps_get(QEMU_BIN, cache_root, &err);

    (void)arg;
    return caps;
}

/* Eight threads ask at once: all get the same object (one probe), and a cleared
 * in-memory cache is refilled from the disk cache. */
static void test_real_probe_shared_and_cached(void **state)
{
    pthread_t th[8];
    qemu_caps *got[8];
    qemu_caps *again;
    mv_error err = MV_ERROR_INIT;

    (void)state;
    if (access(QEMU_BIN, X_OK) != 0)
        skip();
    snprintf(cache_root, sizeof(cache_root), "/tmp/mvcaps.XXXXXX");
    assert_non_null(mkdtemp(cache_root));
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, get_caps, NULL), 0);
    for (int i = 0; i < 8; i++) {
        void *r;

        pthread_join(th[i], &r);
        got[i] = r;
        assert_non_null(got[i]);
        assert_ptr_equal(got[i], got[0]);
    }
    assert_true(got[0]->version >= 7000000);
    assert_true(got[0]->nmachines > 0);
    assert_true(got[0]->ncpu_props > 100);
    qemu_caps_cache_clear();
    assert_non_null(again = qemu_caps_get(QEMU_BIN, cache_root, &err));
    assert_ptr_not_equal(again, got[0]);
    assert_int_equal(again->version, got[0]->version);
    assert_int_equal(again->ndevices, got[0]->ndevices);
    assert_int_equal(again->ncpu_props, got[0]->ncpu_props);
    qemu_caps_unref(again);
    for (int i = 0; i < 8; i++)
        qemu_caps_unref(got[i]);
    qemu_caps_cache_clear();
    assert_null(qemu_caps_get("/nonexistent/qemu", cache_root, &err));
    assert_non_null(strstr(err.message, "/nonexistent/qemu"));
    mv_error_clear(&err);
    fx_remove_tree(cache_root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_replies),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_cache_form_round_trip),
        cmocka_unit_test(test_capabilities_xml),
        cmocka_unit_test(test_domain_capabilities_xml),
        cmocka_unit_test(test_real_probe_shared_and_cached),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
