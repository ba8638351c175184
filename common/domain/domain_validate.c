/* domain_validate.c: rules about a whole definition — always (mv_domain_def_check, what
 * libvirt refuses on every define) and on request (mv_domain_def_validate, what libvirt's
 * QEMU driver refuses before it would start the guest). */
#include "common/domain/domain_validate.h"

#include "common/hash.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/str.h"

#define UNLIMITED_KIB 9007199254740991ULL /* libvirt's VIR_DOMAIN_MEMORY_PARAM_UNLIMITED */

int mv_validate_fail(mv_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    mv_error_set(err, msg ? code : VIR_ERR_NO_MEMORY, VIR_FROM_DOMAIN, "%s",
                 msg ? msg : "validating a domain");
    free(msg);
    return -1;
}

#define fail mv_validate_fail

#define EACH(ARR, N, KIND, USB)                                                              \
    for (size_t i = 0; i < def->N; i++) {                                                    \
        device_ref d = {.kind = KIND, .index = i, .info = &def->ARR[i].info};                \
        d.on_usb = USB;                                                                      \
        if (fn(def, &d, opaque, err) < 0)                                                    \
            return -1;                                                                       \
    }

int mv_for_each_device(const mv_domain_def *def, device_fn fn, void *opaque, mv_error *err)
{
    for (size_t i = 0; i < def->ndisks; i++) {
        device_ref d = {.kind = "disk", .index = i, .info = &def->disks[i].info,
                        .target = def->disks[i].target_dev,
                        .on_usb = mv_streq(def->disks[i].target_bus, "usb")};
        if (fn(def, &d, opaque, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < def->ncontrollers; i++) {
        device_ref d = {.kind = "controller", .index = i, .info = &def->controllers[i].info,
                        .controller = &def->controllers[i]};
        if (fn(def, &d, opaque, err) < 0)
            return -1;
    }
    EACH(filesystems, nfilesystems, "filesystem", false)
    EACH(nets, nnets, "interface", mv_streq(def->nets[i].model, "usb-net"))
    EACH(serials, nserials, "serial", mv_streq(def->serials[i].target_type, "usb-serial"))
    EACH(parallels, nparallels, "parallel", false)
    EACH(consoles, nconsoles, "console", false)
    EACH(channels, nchannels, "channel", false)
    EACH(inputs, ninputs, "input", mv_streq(def->inputs[i].bus, "usb"))
    EACH(sounds, nsounds, "sound", mv_streq(def->sounds[i].model, "usb"))
    EACH(videos, nvideos, "video", false)
    EACH(redirdevs, nredirdevs, "redirdev", true)
    EACH(hubs, nhubs, "hub", true)
    EACH(watchdogs, nwatchdogs, "watchdog", false)
    EACH(rngs, nrngs, "rng", false)
    EACH(panics, npanics, "panic", false)
    if (def->memballoon) {
        device_ref d = {.kind = "memballoon", .info = &def->memballoon->info};
        if (fn(def, &d, opaque, err) < 0)
            return -1;
    }
    if (def->iommu) {
        device_ref d = {.kind = "iommu", .info = &def->iommu->info};
        if (fn(def, &d, opaque, err) < 0)
            return -1;
    }
    if (def->vsock) {
        device_ref d = {.kind = "vsock", .info = &def->vsock->info};
        if (fn(def, &d, opaque, err) < 0)
            return -1;
    }
    return 0;
}
#undef EACH

void mv_device_name(const device_ref *d, char *buf, size_t n)
{
    if (d->target)
        snprintf(buf, n, "%s '%s'", d->kind, d->target);
    else if (d->controller)
        snprintf(buf, n, "controller type='%s' index='%d'", d->controller->type,
                 d->controller->index);
    else
        snprintf(buf, n, "%s #%zu", d->kind, d->index + 1);
}

/* ---- number lists ("0-3,^2,8") as libvirt's bitmaps ---- */

/* Calls fn for each number set; -1 on a syntax error. */
int mv_bitmap_walk_all(const char *s, void (*fn)(long n, bool negated, void *opaque),
                      void *opaque)
{
    const char *p = s;

    if (!*p)
        return -1;
    while (*p) {
        bool neg = false;
        char *end;
        long lo, hi;

        while (isspace((unsigned char)*p))
            p++;
        if (*p == '^') {
            neg = true;
            p++;
        }
        if (!isdigit((unsigned char)*p))
            return -1;
        lo = strtol(p, &end, 10);
        hi = lo;
        p = end;
        if (*p == '-' && !neg) {
            p++;
            if (!isdigit((unsigned char)*p))
                return -1;
            hi = strtol(p, &end, 10);
            p = end;
            if (hi < lo)
                return -1;
        }
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
        for (long n = lo; fn && n <= hi && n - lo < 65536; n++)
            fn(n, neg, opaque);
    }
    return 0;
}

typedef struct positive_walk {
    void (*fn)(long n, void *opaque);
    void *opaque;
} positive_walk;

static void call_positive(long n, bool negated, void *opaque)
{
    positive_walk *w = opaque;

    if (!negated && w->fn)
        w->fn(n, w->opaque);
}

int mv_bitmap_walk(const char *s, void (*fn)(long n, void *opaque), void *opaque)
{
    positive_walk w = {fn, opaque};

    return mv_bitmap_walk_all(s, call_positive, &w);
}

#define BITMAP_BITS 65536

static void bitmap_apply(long n, bool negated, void *opaque)
{
    unsigned char *bits = opaque;

    if (n < 0 || n >= BITMAP_BITS)
        return;
    if (negated)
        bits[n / 8] &= (unsigned char)~(1u << (n % 8));
    else
        bits[n / 8] |= (unsigned char)(1u << (n % 8));
}

/* Numbers in s once its ^exclusions are applied ("0,^0" has none); -1 on bad syntax. */
static long bitmap_count(const char *s)
{
    unsigned char *bits = calloc(BITMAP_BITS / 8, 1);
    long n = 0;

    if (!bits || mv_bitmap_walk_all(s, bitmap_apply, bits) < 0) {
        free(bits);
        return -1;
    }
    for (size_t i = 0; i < BITMAP_BITS / 8; i++)
        n += __builtin_popcount(bits[i]);
    free(bits);
    return n;
}

static void track_max(long n, void *opaque)
{
    if (n > *(long *)opaque)
        *(long *)opaque = n;
}

int mv_check_bitmap(const char *what, const char *s, long *max, mv_error *err)
{
    long m = -1;

    if (s && mv_bitmap_walk(s, track_max, &m) < 0)
        return fail(err, VIR_ERR_XML_ERROR, "invalid %s '%s': expected a list like '0-3,^2,8'",
                    what, s);
    if (max)
        *max = m;
    return 0;
}

/* ---- always ---- */

mv_hash *mv_keyset_new(void)
{
    return mv_hash_new(free);
}

int mv_keyset_add(mv_hash *set, const char *key, const char *holder, const char **prev)
{
    const char *there = mv_hash_get(set, key);
    char *copy;

    if (there) {
        if (prev)
            *prev = there;
        return 1;
    }
    copy = strdup(holder ? holder : "");
    if (!copy || mv_hash_put(set, key, copy) < 0) {
        free(copy);
        return -1;
    }
    return 0;
}

static int oom(mv_error *err)
{
    return fail(err, VIR_ERR_NO_MEMORY, "checking a domain definition");
}

/* Boot orders once each, and never with <os><boot>; aliases once each. */
typedef struct unique_state {
    mv_hash *boot, *alias;
} unique_state;

static int unique_device_keys(const mv_domain_def *def, const device_ref *d, void *opaque,
                              mv_error *err)
{
    unique_state *st = opaque;
    int order = d->info->boot_order;
    const char *prev = NULL;
    char key[32], name[96];
    int rc;

    mv_device_name(d, name, sizeof(name));
    if (order != 0) {
        if (def->os.nboot_devs)
            return fail(err, VIR_ERR_XML_ERROR,
                        "per-device boot elements cannot be used together with os/boot "
                        "elements");
        snprintf(key, sizeof(key), "%d", order);
        rc = mv_keyset_add(st->boot, key, name, &prev);
        if (rc < 0)
            return oom(err);
        if (rc > 0)
            return fail(err, VIR_ERR_XML_ERROR,
                        "boot order %d is used for more than one device (%s and %s)", order,
                        prev, name);
    }
    if (d->info->alias) {
        rc = mv_keyset_add(st->alias, d->info->alias, name, NULL);
        if (rc < 0)
            return oom(err);
        if (rc > 0)
            return fail(err, VIR_ERR_XML_ERROR, "non unique alias detected: %s",
                        d->info->alias);
    }
    return 0;
}

/* The drive address libvirt gives a disk without one, from its target name ("sdc" is
 * index 2), for the buses where that does not depend on the controller model. */
static bool default_drive_address(const mv_domain_disk *d, mv_domain_address *out)
{
    static const char *const prefixes[] = {"hd", "sd", "vd", "xvd", "ubd", "fd", NULL};
    const char *p = d->target_dev;
    long idx = 0;

    for (size_t i = 0; prefixes[i]; i++) {
        if (!strncmp(p, prefixes[i], strlen(prefixes[i]))) {
            p += strlen(prefixes[i]);
            break;
        }
    }
    if (!*p)
        return false;
    for (; *p; p++) {
        if (*p < 'a' || *p > 'z' || idx > 100000)
            return false;
        idx = idx * 26 + (*p - 'a' + 1);
    }
    idx--;
    memset(out, 0, sizeof(*out));
    out->type = "drive";
    if (mv_streq(d->target_bus, "ide")) {
        out->controller = (int)(idx / 4);
        out->bus = (int)(idx % 4 / 2);
        out->unit = (int)(idx % 2);
    } else if (mv_streq(d->target_bus, "sata")) {
        out->controller = (int)(idx / 6);
        out->unit = (int)(idx % 6);
    } else if (mv_streq(d->target_bus, "fdc")) {
        out->unit = (int)idx;
    } else {
        return false;
    }
    return true;
}

static const mv_domain_address *drive_address(const mv_domain_disk *d, mv_domain_address *buf)
{
    if (d->info.address)
        return mv_streq(d->info.address->type, "drive") ? d->info.address : NULL;
    return default_drive_address(d, buf) ? buf : NULL;
}

static int check_disks(const mv_domain_def *def, mv_error *err)
{
    mv_hash *targets = mv_keyset_new(), *drives = mv_keyset_new();
    int ret = -1;

    if (!targets || !drives) {
        oom(err);
        goto cleanup;
    }
    for (size_t i = 0; i < def->ndisks; i++) {
        const mv_domain_disk *d = &def->disks[i];
        const char *src = d->src_file ? d->src_file : d->src_dev ? d->src_dev : "";
        mv_domain_address buf;
        const mv_domain_address *a = drive_address(d, &buf);
        const char *prev = NULL;
        char key[128];
        int rc;

        if ((d->vendor || d->product) && !mv_streq(d->target_bus, "scsi")) {
            fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                 "only scsi disks support vendor and product (disk '%s')", d->target_dev);
            goto cleanup;
        }
        rc = mv_keyset_add(targets, d->target_dev, src, &prev);
        if (rc > 0)
            fail(err, VIR_ERR_XML_ERROR, "target '%s' duplicated for disk sources '%s' and '%s'",
                 d->target_dev, prev, src);
        if (rc != 0)
            goto cleanup_rc;
        if (!a)
            continue;
        snprintf(key, sizeof(key), "%s %d %d %d %d", d->target_bus ? d->target_bus : "",
                 a->controller, a->bus, a->target, a->unit);
        rc = mv_keyset_add(drives, key, d->target_dev, NULL);
        if (rc > 0)
            fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                 "Found duplicate drive address for disk with target name '%s' "
                 "controller='%d' bus='%d' target='%d' unit='%d'",
                 d->target_dev, a->controller, a->bus, a->target, a->unit);
        if (rc != 0)
            goto cleanup_rc;
    }
    ret = 0;
    goto cleanup;
cleanup_rc:
    if (!mv_error_is_set(err))
        oom(err);
cleanup:
    mv_hash_free(targets);
    mv_hash_free(drives);
    return ret;
}

static bool is_companion(const mv_domain_controller *c)
{
    return c->master_startport != MV_UNSET || mv_streq(c->model, "ich9-uhci1") ||
           mv_streq(c->model, "ich9-uhci2") || mv_streq(c->model, "ich9-uhci3");
}

static int check_controllers(const mv_domain_def *def, mv_error *err)
{
    mv_hash *seen = mv_keyset_new();
    char key[64];
    int rc, ret = -1;

    if (!seen)
        return oom(err);
    for (size_t i = 0; i < def->ncontrollers; i++) {
        const mv_domain_controller *a = &def->controllers[i];

        if (mv_streq(a->type, "pci") &&
            (mv_streq(a->model, "pci-root") || mv_streq(a->model, "pcie-root")) && a->info.address) {
            fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                 "pci-root and pcie-root controllers should not have an address");
            goto cleanup;
        }
        /* USB companion controllers share their master's index */
        if (a->index == MV_UNSET || (mv_streq(a->type, "usb") && is_companion(a)))
            continue;
        snprintf(key, sizeof(key), "%s %d", a->type, a->index);
        rc = mv_keyset_add(seen, key, "", NULL);
        if (rc != 0) {
            if (rc > 0)
                fail(err, VIR_ERR_XML_ERROR, "multiple '%s' controllers with index '%d'",
                     a->type, a->index);
            else
                oom(err);
            goto cleanup;
        }
    }
    ret = 0;
cleanup:
    mv_hash_free(seen);
    return ret;
}

static int check_cpu(const mv_domain_def *def, mv_error *err)
{
    const mv_domain_cpu *cpu = def->cpu;
    bool *seen;
    int ret = -1;

    if (mv_check_bitmap("vcpu cpuset", def->vcpu_cpuset, NULL, err) < 0)
        return -1;
    if (!cpu)
        return 0;
    seen = calloc(cpu->ncells + 1, sizeof(*seen));
    if (!seen)
        return oom(err);
    for (size_t i = 0; i < cpu->ncells; i++) {
        const mv_domain_numa_cell *c = &cpu->cells[i];

        if (mv_check_bitmap("NUMA cell cpus", c->cpus, NULL, err) < 0)
            goto cleanup;
        if (c->id == MV_UNSET)
            continue;
        if ((size_t)c->id >= cpu->ncells || seen[c->id]) {
            fail(err, VIR_ERR_XML_ERROR,
                 "Exactly one 'cell' element per guest NUMA cell allowed, non-contiguous "
                 "ranges or ranges not starting from 0 are not allowed");
            goto cleanup;
        }
        seen[c->id] = true;
    }
    ret = 0;
cleanup:
    free(seen);
    return ret;
}

int mv_graphics_valid_to(const char *text, time_t *out, mv_error *err)
{
    struct tm tm = {0};
    const char *end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);

    if (!end || *end)
        return fail(err, VIR_ERR_XML_ERROR,
                    "graphics passwdValidTo '%s' is not a time like '2024-01-31T12:00:00'", text);
    if (out)
        *out = timegm(&tm);
    return 0;
}

static int check_misc(const mv_domain_def *def, mv_error *err)
{
    bool audio_ids[256] = {false};
    int primaries = 0;

    for (size_t i = 0; i < def->ngraphics; i++)
        if (def->graphics[i].passwd_valid_to &&
            mv_graphics_valid_to(def->graphics[i].passwd_valid_to, NULL, err) < 0)
            return -1;

    for (size_t i = 0; i < def->nvideos; i++)
        if (def->videos[i].primary == MV_TRISTATE_YES && ++primaries > 1)
            return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                        "Only one primary video device is supported");
    for (size_t i = 0; i < def->naudios; i++) {
        int id = def->audios[i].id; /* 1-255 by the schema */

        if (audio_ids[id])
            return fail(err, VIR_ERR_XML_ERROR, "audio id '%d' is used more than once", id);
        audio_ids[id] = true;
    }
    if (def->os.loader_format && def->os.nvram_format &&
        !mv_streq(def->os.loader_format, def->os.nvram_format))
        return fail(err, VIR_ERR_XML_ERROR, "Format mismatch: loader.format='%s' nvram.format='%s'",
                    def->os.loader_format, def->os.nvram_format);
    if (def->os.nvram_template && def->os.loader_stateless == MV_TRISTATE_YES)
        return fail(err, VIR_ERR_XML_ERROR, "NVRAM template is not permitted when loader is stateless");
    if (def->memory_backing) {
        for (size_t i = 0; i < def->memory_backing->npages; i++)
            if (mv_check_bitmap("hugepage nodeset", def->memory_backing->pages[i].nodeset, NULL,
                             err) < 0)
                return -1;
    }
    return 0;
}

/* libvirt's rules for <numatune>. */
static int check_memnodes(const mv_domain_numatune *nt, size_t cells, mv_error *err)
{
    bool restrictive = mv_streq(nt->memory_mode, "restrictive");
    bool *seen = calloc(cells + 1, sizeof(*seen));
    int ret = -1;

    if (!seen)
        return oom(err);
    for (size_t i = 0; i < nt->nmemnodes; i++) {
        const mv_domain_memnode *m = &nt->memnodes[i];

        if (m->cellid == MV_UNSET || (size_t)m->cellid >= cells) {
            fail(err, VIR_ERR_XML_ERROR, "memnode cellid must be a guest NUMA cell (0 to %zu)",
                 cells - 1);
            goto cleanup;
        }
        if (seen[m->cellid]) {
            fail(err, VIR_ERR_XML_ERROR, "Multiple memnode elements with cellid %d",
                 m->cellid);
            goto cleanup;
        }
        seen[m->cellid] = true;
        if (!m->nodeset || bitmap_count(m->nodeset) <= 0) {
            fail(err, VIR_ERR_XML_ERROR, "memnode %d needs a valid nodeset", m->cellid);
            goto cleanup;
        }
        if (restrictive != mv_streq(m->mode, "restrictive")) {
            fail(err, VIR_ERR_XML_ERROR,
                 restrictive ? "'restrictive' mode is required in memnode element when mode "
                               "is 'restrictive' in memory element"
                             : "'restrictive' mode is required in memory element when mode is "
                               "'restrictive' in memnode element");
            goto cleanup;
        }
    }
    ret = 0;
cleanup:
    free(seen);
    return ret;
}

static int check_numatune(const mv_domain_def *def, mv_error *err)
{
    const mv_domain_numatune *nt = def->numatune;
    size_t cells = def->cpu ? def->cpu->ncells : 0;

    if (!nt)
        return 0;
    if (nt->memory_nodeset && bitmap_count(nt->memory_nodeset) <= 0)
        return fail(err, VIR_ERR_CONFIG_UNSUPPORTED, "Invalid value of 'nodeset': %s",
                    nt->memory_nodeset);
    if (mv_streq(nt->memory_placement, "static") && !nt->memory_nodeset)
        return fail(err, VIR_ERR_CONFIG_UNSUPPORTED,
                    "nodeset for NUMA memory tuning must be set if 'placement' is 'static'");
    if (nt->nmemnodes && !cells)
        return fail(err, VIR_ERR_XML_ERROR,
                    "Element 'memnode' is invalid without any guest NUMA cells");
    return check_memnodes(nt, cells, err);
}

int mv_domain_def_check(const mv_domain_def *def, mv_error *err)
{
    unique_state st = {mv_keyset_new(), mv_keyset_new()};
    int ret = -1;

    if (!st.boot || !st.alias) {
        oom(err);
        goto cleanup;
    }
    if (mv_for_each_device(def, unique_device_keys, &st, err) < 0 || check_disks(def, err) < 0 ||
        check_controllers(def, err) < 0 || check_cpu(def, err) < 0 || check_misc(def, err) < 0 ||
        check_numatune(def, err) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    mv_hash_free(st.boot);
    mv_hash_free(st.alias);
    return ret;
}
