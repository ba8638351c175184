/* fixture_qemu_command.c: recorded QEMU capabilities and the dry-run build for the QEMU
 * unit tests (see fixture_qemu_command.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixture_qemu_command.h"

#define FX_CAPS_REPLIES MODVIRT_SOURCE_DIR "/tests/data/qemu/caps-x86_64-7.2.json"

qemu_caps *fx_recorded_caps(bool kvm)
{
    json_object *all = json_object_from_file(FX_CAPS_REPLIES), *v, *t, *m, *ty, *k;
    json_object *props = NULL;
    mv_error err = MV_ERROR_INIT;
    qemu_caps *caps;

    assert_non_null(all);
    assert_true(json_object_object_get_ex(all, "query-version", &v));
    assert_true(json_object_object_get_ex(all, "query-target", &t));
    assert_true(json_object_object_get_ex(all, "query-machines", &m));
    assert_true(json_object_object_get_ex(all, "qom-list-types", &ty));
    assert_true(json_object_object_get_ex(all, "query-kvm", &k));
    caps = qemu_caps_from_replies("/usr/bin/qemu-system-x86_64", v, t, m, ty, kvm ? k : NULL,
                                  &err);
    if (!caps)
        fail_msg("recorded caps: %s", err.message);
    /* The x86 CPU's properties: its feature flags (older recordings lack them). */
    if (json_object_object_get_ex(all, "qom-list-properties max-x86_64-cpu", &props))
        assert_int_equal(qemu_caps_set_cpu_props(caps, props, NULL), 0);
    json_object_put(all);
    return caps;
}

int fx_build_dry(mv_domain_def *def, const qemu_caps *caps, qemu_command **out, mv_error *err)
{
    qemu_command_params p = {caps, "/run/mon.sock", 1, "/run/g1", NULL, QEMU_COMMAND_DRY_RUN,
                             NULL};

    return qemu_command_build(def, &p, out, err);
}
