/* qemu_state.c: the driver's state — the definition store loaded at start, and the qemu
 * binary found and its version probed once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"
#include "virtqemud/qemu_driver.h"
#include "virtqemud/qemu_host.h"

typedef struct load_ctx {
    qemu_state *s;
    size_t loaded, skipped;
} load_ctx;

/* Adds one stored definition. Never fails the load: a file that does not make a valid
 * domain of this driver is logged and left on disk for the user to fix. */
static int load_one(const char *name, const char *xml, size_t len, const mv_error *problem,
                    void *opaque)
{
    load_ctx *ctx = opaque;
    qemu_state *s = ctx->s;
    mv_error err = MV_ERROR_INIT;
    mv_domain_def *def = NULL;
    qemu_domobj *obj = NULL;
    qemu_domsnap *snap = NULL;
    bool created = false;

    if (!xml) {
        mv_error_set_raw(&err, problem->code, problem->domain, problem->message);
        goto cleanup;
    }
    if (!(def = qemu_domain_parse(xml, 0, &err)))
        goto cleanup;
    if (strcmp(def->name, name) != 0) {
        mv_error_set(&err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "file name '%s.xml' does not match domain name '%s'", name, def->name);
        goto cleanup;
    }
    /* Names are unique per folder, so an existing object can only mean a UUID clash,
     * which add_job reports. */
    if (!(obj = qemu_domlist_add_job(s->doms, def->name, def->uuid, "load", 0, &created, &err)))
        goto cleanup;
    if (!(snap = qemu_domsnap_new(def))) {
        mv_error_set_errno(&err, ENOMEM, VIR_FROM_QEMU, "cannot load domain '%s'", name);
        qemu_domlist_remove(s->doms, obj);
        goto cleanup;
    }
    def = NULL;
    snap->persistent = true;
    snap->autostart = mv_store_get_autostart(&s->store, name);
    qemu_domlist_publish(s->doms, obj, snap);
    ctx->loaded++;

cleanup:
    if (mv_error_is_set(&err)) {
        MV_ERROR("skipping domain definition %s/%s.xml: %s", s->store.dir, name, err.message);
        ctx->skipped++;
    }
    if (obj)
        qemu_domobj_end_job(obj);
    mv_error_clear(&err);
    mv_domain_def_free(def);
    qemu_domobj_unref(obj);
    return 0;
}

/* Finds the binary and asks its version; failures are remembered, not fatal. */
static void probe_qemu(qemu_state *s, const qemu_config *cfg)
{
    if (!(s->binary = qemu_binary_find(cfg ? cfg->qemu_binary : NULL, &s->probe_err)) ||
        qemu_version_probe(s->binary, QEMU_PROBE_TIMEOUT_MS, &s->version, &s->probe_err) < 0) {
        s->version = 0;
        MV_ERROR("%s", s->probe_err.message);
        return;
    }
    MV_INFO("using %s, version %lu", s->binary, s->version);
}

int qemu_state_open(const mv_paths *paths, const qemu_config *cfg, qemu_state **out,
                    mv_error *err)
{
    qemu_state *s = NULL;
    char *dir = NULL;
    load_ctx ctx = {NULL, 0, 0};
    int ret = -1;

    if (!(s = calloc(1, sizeof(*s))) || !(dir = mv_path_join(paths->config_dir, "qemu")) ||
        !(s->doms = qemu_domlist_new())) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot set up the QEMU driver");
        goto cleanup;
    }
    s->probe_err = (mv_error)MV_ERROR_INIT;
    if (mv_store_open(&s->store, dir, err) < 0)
        goto cleanup;
    ctx.s = s;
    if (mv_store_load_all(&s->store, QEMU_XML_MAX, load_one, &ctx, err) < 0)
        goto cleanup;
    MV_INFO("loaded %zu domain definitions from %s (%zu skipped)", ctx.loaded, dir,
            ctx.skipped);
    probe_qemu(s, cfg);
    *out = s;
    s = NULL;
    ret = 0;

cleanup:
    qemu_state_free(s);
    free(dir);
    return ret;
}

void qemu_state_free(qemu_state *s)
{
    if (!s)
        return;
    qemu_domlist_free(s->doms);
    mv_store_close(&s->store);
    free(s->binary);
    mv_error_clear(&s->probe_err);
    free(s);
}
