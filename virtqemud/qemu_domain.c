/* qemu_domain.c: jobs that change definitions — define, undefine, set autostart. Each
 * holds the object's job for its disk I/O and publishes a new snapshot at the end, so
 * reads of the same domain keep answering from the previous one meanwhile. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include "common/names.h"
#include "virtqemud/qemu_command.h"
#include "virtqemud/qemu_driver.h"
#include "virtqemud/qemu_process.h"
#include "common/daemon/daemon.h"

#define QEMU_DEFINE_FLAGS VIR_DOMAIN_DEFINE_VALIDATE
#define QEMU_UNDEFINE_FLAGS                                                                        \
    (VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |                   \
     VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_KEEP_NVRAM |                                  \
     VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_TPM |                          \
     VIR_DOMAIN_UNDEFINE_KEEP_TPM)

int qemu_domain_check_served(const mv_domain_def *def, mv_error *err)
{
    const char *type = def->virt_type ? def->virt_type : "";

    if (strcmp(type, "qemu") != 0 && strcmp(type, "kvm") != 0) {
        mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                     "domain type '%s' is not served by the QEMU driver (use 'qemu' or 'kvm')",
                     type);
        return -1;
    }
    if (def->os.type && strcmp(def->os.type, "hvm") != 0) {
        mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                     "OS type '%s' is not served by the QEMU driver (use 'hvm')", def->os.type);
        return -1;
    }
    return 0;
}

mv_domain_def *qemu_domain_parse(const char *xml, unsigned int parse_flags, mv_error *err)
{
    mv_domain_def *def = mv_domain_def_parse(xml, strlen(xml), parse_flags, err);

    if (!def)
        return NULL;
    /* The name becomes a file name: check it here even if the parser did. */
    if (qemu_domain_check_served(def, err) < 0 ||
        mv_name_check("domain name", def->name, err) < 0) {
        mv_domain_def_free(def);
        return NULL;
    }
    return def;
}

/* A MAC with libvirt's QEMU prefix 52:54:00 and three random bytes. */
static int random_mac(char **out, mv_error *err)
{
    unsigned char b[3];

    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot generate a MAC address");
        return -1;
    }
    if (asprintf(out, "52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]) < 0) {
        *out = NULL;
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot generate a MAC address");
        return -1;
    }
    return 0;
}

int qemu_domain_validate(const mv_domain_def *def, mv_error *err)
{
    if (def->emulator && qemu_emulator_check(def->emulator, err) < 0)
        return -1;
    /* RFB's VNC authentication keys DES with 8 bytes: libvirt refuses longer passwords
     * rather than let the rest be silently ignored. */
    for (size_t i = 0; i < def->ngraphics; i++) {
        const mv_domain_graphics *g = &def->graphics[i];

        if (g->type && strcmp(g->type, "vnc") == 0 && g->passwd && strlen(g->passwd) > 8) {
            mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                         "VNC password is %zu characters long, only 8 permitted",
                         strlen(g->passwd));
            return -1;
        }
    }
    return qemu_process_check_lifecycle(def, err);
}

/* What libvirt fills into a definition when it is defined, so that dumpxml shows it and
 * every boot uses the same: the emulator (the configured binary) and a MAC for each
 * interface without one. */
static int define_defaults(const qemu_state *s, mv_domain_def *def, mv_error *err)
{
    if (qemu_domain_validate(def, err) < 0)
        return -1;
    if (!def->emulator && s->binary && !(def->emulator = strdup(s->binary))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot define domain '%s'", def->name);
        return -1;
    }
    for (size_t i = 0; i < def->nnets; i++)
        if (!def->nets[i].mac && random_mac(&def->nets[i].mac, err) < 0)
            return -1;
    return 0;
}

/* The object a job names by handle, with a reference, held by the job `job` and with its
 * snapshot in *snap; NULL + VIR_ERR_NO_DOMAIN, or the job's own error. */
static qemu_domobj *begin_job_on(qemu_state *s, const unsigned char uuid[MV_UUID_BUFLEN],
                                 const char *name, const char *job, qemu_domsnap **snap,
                                 mv_error *err)
{
    qemu_domobj *obj = qemu_domlist_find_uuid(s->doms, uuid);
    qemu_domsnap *found = obj ? qemu_domobj_snapshot(obj) : NULL;

    if (!found) {
        char uuidstr[MV_UUID_STRING_BUFLEN];
        mv_uuid_format(uuid, uuidstr);
        mv_error_set(err, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU,
                     name && *name ? "no domain with matching uuid '%s' (%s)"
                                   : "no domain with matching uuid '%s'%s",
                     uuidstr, name ? name : "");
        qemu_domobj_unref(obj);
        return NULL;
    }
    qemu_domsnap_unref(found);
    if (qemu_domobj_begin_job(obj, job, QEMU_JOB_WAIT_MS, err) < 0) {
        qemu_domobj_unref(obj);
        return NULL;
    }
    *snap = qemu_domobj_snapshot(obj);
    return obj;
}

/* Undoes begin_job_on (NULL obj: nothing was begun) and drops the snapshots' references. */
static void end_job_on(qemu_domobj *obj, qemu_domsnap *snap, qemu_domsnap *next)
{
    if (obj)
        qemu_domobj_end_job(obj);
    qemu_domsnap_unref(next);
    qemu_domsnap_unref(snap);
    qemu_domobj_unref(obj);
}

/* The snapshot a define publishes: def becomes the persistent definition. */
static qemu_domsnap *defined_snapshot(qemu_state *s, const qemu_domsnap *old, mv_domain_def *def,
                                      mv_error *err)
{
    qemu_domsnap *snap;

    if (old && qemu_domsnap_is_active(old)) {
        /* A running guest keeps its live definition; the new one waits for the next
         * boot (issue 3), as in libvirt. */
        if (!(snap = qemu_domsnap_copy(old, err)))
            return NULL;
        mv_domain_def_free(snap->newdef);
        snap->newdef = def;
    } else {
        if (!(snap = qemu_domsnap_new(def))) {
            mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot define domain '%s'", def->name);
            return NULL;
        }
        /* A new object follows the link on disk, so what a restart would load is what
         * we show now. */
        snap->autostart = old ? old->autostart : mv_store_get_autostart(&s->store, def->name);
    }
    snap->persistent = true;
    return snap;
}

qemu_domsnap *qemu_domain_define(qemu_state *s, const char *xml, unsigned int flags, mv_error *err)
{
    mv_domain_def *def = NULL;
    qemu_domobj *obj = NULL;
    qemu_domsnap *old = NULL, *snap = NULL;
    char *stored = NULL;
    bool created = false, saved = false;

    if (qemu_check_flags(flags, QEMU_DEFINE_FLAGS, "virDomainDefineXMLFlags", err) < 0)
        goto cleanup;
    if (!(def = qemu_domain_parse(
              xml, (flags & VIR_DOMAIN_DEFINE_VALIDATE) ? MV_DOMAIN_DEF_PARSE_VALIDATE : 0, err)) ||
        define_defaults(s, def, err) < 0)
        goto cleanup;
    if (!(obj = qemu_domlist_add_job(s->doms, def->name, def->uuid, "define", QEMU_JOB_WAIT_MS,
                                     &created, err)))
        goto cleanup;
    old = qemu_domobj_snapshot(obj);

    /* The file keeps secrets (graphics passwords) and never runtime values. */
    if (!(stored = mv_domain_def_format(
              def, -1, MV_DOMAIN_DEF_FORMAT_SECURE | MV_DOMAIN_DEF_FORMAT_INACTIVE, err)) ||
        mv_store_save(&s->store, def->name, stored, err) < 0)
        goto cleanup;
    saved = true;
    if (!(snap = defined_snapshot(s, old, def, err)))
        goto cleanup;
    def = NULL;
    qemu_domlist_publish(s->doms, obj, qemu_domsnap_ref(snap));
    qemu_process_emit(s, snap->def, -1, VIR_DOMAIN_EVENT_DEFINED,
                      created ? VIR_DOMAIN_EVENT_DEFINED_ADDED : VIR_DOMAIN_EVENT_DEFINED_UPDATED);

cleanup:
    if (obj) {
        /* A new object that never got a snapshot must not linger, nor the file we wrote
         * for it, so that disk and list agree. */
        if (created && !snap) {
            if (saved)
                mv_store_delete(&s->store, qemu_domobj_name(obj), NULL);
            qemu_domlist_remove(s->doms, obj);
        }
        qemu_domobj_end_job(obj);
    }
    free(stored);
    mv_domain_def_free(def);
    qemu_domsnap_unref(old);
    qemu_domobj_unref(obj);
    return snap;
}

/* VIR_DOMAIN_UNDEFINE_NVRAM: the variable store goes with the definition. */
static int remove_nvram(const mv_domain_def *def, mv_error *err)
{
    if (!def->os.nvram || unlink(def->os.nvram) == 0 || errno == ENOENT)
        return 0;
    mv_error_set_errno(err, errno, VIR_FROM_QEMU, "failed to remove nvram '%s'", def->os.nvram);
    return -1;
}

int qemu_domain_undefine(qemu_state *s, const unsigned char uuid[MV_UUID_BUFLEN], const char *name,
                         unsigned int flags, mv_error *err)
{
    qemu_domobj *obj = NULL;
    qemu_domsnap *snap = NULL, *next = NULL;
    const mv_domain_def *def;
    int ret = -1;

    if (qemu_check_flags(flags, QEMU_UNDEFINE_FLAGS, "virDomainUndefineFlags", err) < 0)
        goto cleanup;
    if ((flags & VIR_DOMAIN_UNDEFINE_NVRAM) && (flags & VIR_DOMAIN_UNDEFINE_KEEP_NVRAM)) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU,
                     "cannot both keep and delete nvram");
        goto cleanup;
    }
    if ((flags & VIR_DOMAIN_UNDEFINE_TPM) && (flags & VIR_DOMAIN_UNDEFINE_KEEP_TPM)) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU,
                     "Flags 'VIR_DOMAIN_UNDEFINE_KEEP_TPM' and 'VIR_DOMAIN_UNDEFINE_TPM' "
                     "are mutually exclusive");
        goto cleanup;
    }
    if (!(obj = begin_job_on(s, uuid, name, "undefine", &snap, err)))
        goto cleanup;
    def = qemu_domsnap_inactive_def(snap);
    if (!snap->persistent) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU,
                     "cannot undefine transient domain");
        goto cleanup;
    }
    /* Managed save images, snapshots and checkpoints do not exist in this driver, so
     * their flags have nothing to remove; nvram does, and libvirt refuses to orphan it. */
    if (def->os.nvram && !(flags & (VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_KEEP_NVRAM))) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU,
                     "cannot undefine domain with nvram");
        goto cleanup;
    }
    /* A running guest stays, now transient: it disappears when it stops. */
    if (qemu_domsnap_is_active(snap) && !(next = qemu_domsnap_copy(snap, err)))
        goto cleanup;
    if ((flags & VIR_DOMAIN_UNDEFINE_NVRAM) && remove_nvram(def, err) < 0)
        goto cleanup;
    if (mv_store_delete(&s->store, snap->def->name, err) < 0)
        goto cleanup;

    if (next) {
        mv_domain_def_free(next->newdef);
        next->newdef = NULL;
        next->persistent = false;
        next->autostart = false;
        qemu_domlist_publish(s->doms, obj, next);
        next = NULL;
    } else {
        qemu_domlist_remove(s->doms, obj);
    }
    qemu_process_emit(s, snap->def, -1, VIR_DOMAIN_EVENT_UNDEFINED,
                      VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
    ret = 0;

cleanup:
    end_job_on(obj, snap, next);
    return ret;
}

int qemu_domain_set_autostart(qemu_state *s, const unsigned char uuid[MV_UUID_BUFLEN],
                              const char *name, bool autostart, mv_error *err)
{
    qemu_domobj *obj = NULL;
    qemu_domsnap *snap = NULL, *next = NULL;
    int ret = -1;

    if (!(obj = begin_job_on(s, uuid, name, "autostart", &snap, err)))
        goto cleanup;
    if (!snap->persistent) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU,
                     "cannot set autostart for transient domain");
        goto cleanup;
    }
    if (snap->autostart != autostart) {
        if (!(next = qemu_domsnap_copy(snap, err)) ||
            mv_store_set_autostart(&s->store, snap->def->name, autostart, err) < 0)
            goto cleanup;
        next->autostart = autostart;
        qemu_domlist_publish(s->doms, obj, next);
        next = NULL;
    }
    ret = 0;

cleanup:
    end_job_on(obj, snap, next);
    return ret;
}
