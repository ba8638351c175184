/* qemu_caps.c: the capabilities model, built from QMP replies or the cache file, and the
 * process-wide cache that makes every caller share one probe per binary. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/hash.h"
#include "common/log.h"
#include "common/paths.h"
#include "virtqemud/qemu_caps.h"

/* Bumped whenever the cache file's shape changes, so stale files are re-probed. */
#define QEMU_CAPS_CACHE_FORMAT 2

static void caps_free(qemu_caps *caps)
{
    if (!caps)
        return;
    for (size_t i = 0; i < caps->nmachines; i++) {
        free(caps->machines[i].name);
        free(caps->machines[i].alias);
    }
    free(caps->machines);
    for (size_t i = 0; i < caps->ndevices; i++)
        free(caps->devices[i]);
    free(caps->devices);
    for (size_t i = 0; i < caps->ncpu_props; i++)
        free(caps->cpu_props[i]);
    free(caps->cpu_props);
    free(caps->binary);
    free(caps->package);
    free(caps->arch);
    free(caps);
}

qemu_caps *qemu_caps_ref(qemu_caps *caps)
{
    if (caps)
        __atomic_add_fetch(&caps->refs, 1, __ATOMIC_SEQ_CST);
    return caps;
}

void qemu_caps_unref(qemu_caps *caps)
{
    if (caps && __atomic_sub_fetch(&caps->refs, 1, __ATOMIC_SEQ_CST) == 0)
        caps_free(caps);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool qemu_caps_has_device(const qemu_caps *caps, const char *type)
{
    return caps && type &&
           bsearch(&type, caps->devices, caps->ndevices, sizeof(char *), cmp_str) != NULL;
}

const qemu_caps_machine *qemu_caps_machine_find(const qemu_caps *caps, const char *name)
{
    if (!caps)
        return NULL;
    for (size_t i = 0; i < caps->nmachines; i++) {
        const qemu_caps_machine *m = &caps->machines[i];

        if (name ? (strcmp(m->name, name) == 0 || (m->alias && strcmp(m->alias, name) == 0))
                 : m->is_default)
            return m;
    }
    return NULL;
}

static const char *jstr(json_object *obj, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static long long jint(json_object *obj, const char *key, long long dflt)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(obj, key, &v) || !v)
        return dflt;
    return json_object_get_int64(v);
}

static bool jbool(json_object *obj, const char *key)
{
    json_object *v = NULL;

    return json_object_object_get_ex(obj, key, &v) && v && json_object_get_boolean(v);
}

/* Fills machines from an array of query-machines entries (also the cache's form). */
static int parse_machines(qemu_caps *caps, json_object *arr, mv_error *err)
{
    size_t n;

    if (!json_object_is_type(arr, json_type_array)) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "query-machines of %s did not return an array", caps->binary);
        return -1;
    }
    n = json_object_array_length(arr);
    if (n && !(caps->machines = calloc(n, sizeof(*caps->machines))))
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(arr, i);
        qemu_caps_machine *cm = &caps->machines[caps->nmachines];
        const char *name = jstr(m, "name");

        if (!name)
            continue;
        if (!(cm->name = strdup(name)))
            goto nomem;
        caps->nmachines++;
        if (jstr(m, "alias") && !(cm->alias = strdup(jstr(m, "alias"))))
            goto nomem;
        cm->max_cpus = (int)jint(m, "cpu-max", 1);
        cm->is_default = jbool(m, "is-default");
        cm->deprecated = jbool(m, "deprecated");
    }
    return 0;

nomem:
    mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot record machines of %s", caps->binary);
    return -1;
}

/* Fills devices from qom-list-types' array of {"name": ...} or the cache's strings. */
static int parse_types(qemu_caps *caps, json_object *arr, mv_error *err)
{
    size_t n;

    if (!json_object_is_type(arr, json_type_array)) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "qom-list-types of %s did not return an array", caps->binary);
        return -1;
    }
    n = json_object_array_length(arr);
    if (n && !(caps->devices = calloc(n, sizeof(char *))))
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        json_object *t = json_object_array_get_idx(arr, i);
        const char *name =
            json_object_is_type(t, json_type_string) ? json_object_get_string(t) : jstr(t, "name");

        if (!name)
            continue;
        if (!(caps->devices[caps->ndevices] = strdup(name)))
            goto nomem;
        caps->ndevices++;
    }
    qsort(caps->devices, caps->ndevices, sizeof(char *), cmp_str);
    return 0;

nomem:
    mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot record device types of %s",
                       caps->binary);
    return -1;
}

int qemu_caps_set_cpu_props(qemu_caps *caps, json_object *props, mv_error *err)
{
    size_t n = json_object_is_type(props, json_type_array) ? json_object_array_length(props) : 0;

    if (n && !(caps->cpu_props = calloc(n, sizeof(char *))))
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(props, i);
        bool plain = json_object_is_type(p, json_type_string); /* the cache's form */
        const char *name = plain ? json_object_get_string(p) : jstr(p, "name");
        const char *type = plain ? "bool" : jstr(p, "type");

        if (!name || !type || strcmp(type, "bool") != 0)
            continue;
        if (!(caps->cpu_props[caps->ncpu_props] = strdup(name)))
            goto nomem;
        caps->ncpu_props++;
    }
    qsort(caps->cpu_props, caps->ncpu_props, sizeof(char *), cmp_str);
    return 0;

nomem:
    mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot record CPU features of %s",
                       caps->binary);
    return -1;
}

bool qemu_caps_has_cpu_feature(const qemu_caps *caps, const char *name)
{
    char prop[128];
    const char *key = prop;

    if (!caps || !caps->ncpu_props)
        return true;
    snprintf(prop, sizeof(prop), "%s", name);
    for (char *p = prop; *p; p++)
        if (*p == '_')
            *p = '-';
    return bsearch(&key, caps->cpu_props, caps->ncpu_props, sizeof(char *), cmp_str) ||
           bsearch(&name, caps->cpu_props, caps->ncpu_props, sizeof(char *), cmp_str);
}

qemu_caps *qemu_caps_from_replies(const char *binary, json_object *version, json_object *target,
                                  json_object *machines, json_object *types, json_object *kvm,
                                  mv_error *err)
{
    qemu_caps *caps = NULL, *ret = NULL;
    json_object *q = NULL;
    const char *arch = target ? jstr(target, "arch") : NULL;

    if (!(caps = calloc(1, sizeof(*caps))) || !(caps->binary = strdup(binary))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot record capabilities");
        goto cleanup;
    }
    caps->refs = 1;
    if (!version || !json_object_object_get_ex(version, "qemu", &q) || !q) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "query-version of %s has no 'qemu' member", binary);
        goto cleanup;
    }
    caps->version = (unsigned long)(jint(q, "major", 0) * 1000000 + jint(q, "minor", 0) * 1000 +
                                    jint(q, "micro", 0));
    if (!arch) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "query-target of %s has no 'arch'",
                     binary);
        goto cleanup;
    }
    if (!(caps->arch = strdup(arch)) ||
        !(caps->package = strdup(jstr(version, "package") ? jstr(version, "package") : ""))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot record capabilities");
        goto cleanup;
    }
    if (parse_machines(caps, machines, err) < 0 || parse_types(caps, types, err) < 0)
        goto cleanup;
    caps->kvm_usable = kvm && jbool(kvm, "enabled") && jbool(kvm, "present");
    ret = caps;
    caps = NULL;

cleanup:
    caps_free(caps);
    return ret;
}

json_object *qemu_caps_to_json(const qemu_caps *caps)
{
    json_object *o = json_object_new_object();
    json_object *ms = json_object_new_array();
    json_object *ds = json_object_new_array();

    json_object_object_add(o, "format", json_object_new_int(QEMU_CAPS_CACHE_FORMAT));
    json_object_object_add(o, "binary", json_object_new_string(caps->binary));
    json_object_object_add(o, "version", json_object_new_int64((long long)caps->version));
    json_object_object_add(o, "package", json_object_new_string(caps->package));
    json_object_object_add(o, "arch", json_object_new_string(caps->arch));
    json_object_object_add(o, "mtime", json_object_new_int64(caps->mtime));
    json_object_object_add(o, "size", json_object_new_int64(caps->size));
    json_object_object_add(o, "kvm", json_object_new_boolean(caps->kvm_usable));
    for (size_t i = 0; i < caps->nmachines; i++) {
        const qemu_caps_machine *m = &caps->machines[i];
        json_object *jm = json_object_new_object();

        json_object_object_add(jm, "name", json_object_new_string(m->name));
        if (m->alias)
            json_object_object_add(jm, "alias", json_object_new_string(m->alias));
        json_object_object_add(jm, "cpu-max", json_object_new_int(m->max_cpus));
        json_object_object_add(jm, "is-default", json_object_new_boolean(m->is_default));
        json_object_object_add(jm, "deprecated", json_object_new_boolean(m->deprecated));
        json_object_array_add(ms, jm);
    }
    for (size_t i = 0; i < caps->ndevices; i++)
        json_object_array_add(ds, json_object_new_string(caps->devices[i]));
    {
        json_object *cp = json_object_new_array();

        for (size_t i = 0; i < caps->ncpu_props; i++)
            json_object_array_add(cp, json_object_new_string(caps->cpu_props[i]));
        json_object_object_add(o, "cpu-props", cp);
    }
    json_object_object_add(o, "machines", ms);
    json_object_object_add(o, "devices", ds);
    return o;
}

qemu_caps *qemu_caps_from_json(json_object *obj, mv_error *err)
{
    qemu_caps *caps = NULL, *ret = NULL;
    json_object *ms = NULL, *ds = NULL, *cp = NULL;

    if (jint(obj, "format", 0) != QEMU_CAPS_CACHE_FORMAT || !jstr(obj, "binary") ||
        !jstr(obj, "arch") || !json_object_object_get_ex(obj, "machines", &ms) ||
        !json_object_object_get_ex(obj, "devices", &ds)) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "capabilities cache entry is not in the current format");
        goto cleanup;
    }
    if (!(caps = calloc(1, sizeof(*caps))) || !(caps->binary = strdup(jstr(obj, "binary"))) ||
        !(caps->arch = strdup(jstr(obj, "arch"))) ||
        !(caps->package = strdup(jstr(obj, "package") ? jstr(obj, "package") : ""))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot read capabilities cache");
        goto cleanup;
    }
    caps->refs = 1;
    caps->version = (unsigned long)jint(obj, "version", 0);
    caps->mtime = jint(obj, "mtime", 0);
    caps->size = jint(obj, "size", 0);
    caps->kvm_usable = jbool(obj, "kvm");
    if (parse_machines(caps, ms, err) < 0 || parse_types(caps, ds, err) < 0 ||
        (json_object_object_get_ex(obj, "cpu-props", &cp) &&
         qemu_caps_set_cpu_props(caps, cp, err) < 0))
        goto cleanup;
    ret = caps;
    caps = NULL;

cleanup:
    caps_free(caps);
    return ret;
}

/* ---- the cache ------------------------------------------------------------------------ */

/* One entry per binary path. `probing` makes later callers wait for the first one's
 * probe instead of starting their own. */
typedef struct cache_entry {
    char *binary;
    qemu_caps *caps;
    bool probing;
    struct cache_entry *next;
} cache_entry;

/* Process-wide: every guest of the daemon runs the same few binaries, and a probe
 * costs seconds, so sharing one cache is the point. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cache_cond = PTHREAD_COND_INITIALIZER;
static cache_entry *cache_head;

void qemu_caps_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    while (cache_head) {
        cache_entry *e = cache_head;

        cache_head = e->next;
        qemu_caps_unref(e->caps);
        free(e->binary);
        free(e);
    }
    pthread_mutex_unlock(&cache_lock);
}

/* "<cache_dir>/qemu/capabilities/<fnv of path>.json": the path itself may be long. */
static char *cache_file(const char *cache_dir, const char *binary)
{
    char name[64];
    unsigned long long h = 1469598103934665603ULL;
    char *path = NULL;

    for (const unsigned char *p = (const unsigned char *)binary; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    snprintf(name, sizeof(name), "qemu/capabilities/%016llx.json", h);
    path = mv_path_join(cache_dir, name);
    return path;
}

static qemu_caps *cache_load(const char *cache_dir, const char *binary, const struct stat *st)
{
    char *path = NULL;
    json_object *obj = NULL;
    qemu_caps *caps = NULL;

    if (!cache_dir || !(path = cache_file(cache_dir, binary)))
        goto cleanup;
    if (!(obj = json_object_from_file(path)))
        goto cleanup;
    if (!(caps = qemu_caps_from_json(obj, NULL)))
        goto cleanup;
    if (strcmp(caps->binary, binary) != 0 || caps->mtime != (long long)st->st_mtime ||
        caps->size != (long long)st->st_size) {
        qemu_caps_unref(caps);
        caps = NULL;
    }

cleanup:
    json_object_put(obj);
    free(path);
    return caps;
}

/* Best effort: a cache that cannot be written only costs a probe next time. */
static void cache_store(const char *cache_dir, const qemu_caps *caps)
{
    char *path = NULL, *tmp = NULL, *slash;
    json_object *obj = NULL;

    if (!cache_dir || !(path = cache_file(cache_dir, caps->binary)) ||
        !(tmp = malloc(strlen(path) + 5)))
        goto cleanup;
    sprintf(tmp, "%s.tmp", path);
    slash = strrchr(tmp, '/');
    *slash = '\0';
    if (mv_mkdir_p(tmp, 0755, NULL) < 0)
        goto cleanup;
    *slash = '/';
    obj = qemu_caps_to_json(caps);
    if (json_object_to_file_ext(tmp, obj, JSON_C_TO_STRING_PLAIN) < 0 || rename(tmp, path) < 0) {
        MV_WARN("cannot write QEMU capabilities cache %s", path);
        unlink(tmp);
    }

cleanup:
    json_object_put(obj);
    free(tmp);
    free(path);
}

qemu_caps *qemu_caps_get(const char *binary, const char *cache_dir, mv_error *err)
{
    struct stat st;
    cache_entry *e;
    qemu_caps *caps = NULL;

    if (stat(binary, &st) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot find QEMU binary %s", binary);
        return NULL;
    }
    pthread_mutex_lock(&cache_lock);
    for (e = cache_head; e && strcmp(e->binary, binary) != 0; e = e->next)
        ;
    if (!e) {
        if (!(e = calloc(1, sizeof(*e))) || !(e->binary = strdup(binary))) {
            free(e);
            pthread_mutex_unlock(&cache_lock);
            mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot cache capabilities");
            return NULL;
        }
        e->next = cache_head;
        cache_head = e;
    }
    while (e->probing)
        pthread_cond_wait(&cache_cond, &cache_lock);
    if (e->caps && e->caps->mtime == (long long)st.st_mtime &&
        e->caps->size == (long long)st.st_size) {
        caps = qemu_caps_ref(e->caps);
        pthread_mutex_unlock(&cache_lock);
        return caps;
    }
    e->probing = true;
    pthread_mutex_unlock(&cache_lock);

    /* Probe outside the lock: other binaries' callers need not wait for this one. */
    if (!(caps = cache_load(cache_dir, binary, &st))) {
        if ((caps = qemu_caps_probe(binary, err))) {
            caps->mtime = (long long)st.st_mtime;
            caps->size = (long long)st.st_size;
            cache_store(cache_dir, caps);
        }
    }

    pthread_mutex_lock(&cache_lock);
    e->probing = false;
    if (caps) {
        qemu_caps_unref(e->caps);
        e->caps = qemu_caps_ref(caps);
    }
    pthread_cond_broadcast(&cache_cond);
    pthread_mutex_unlock(&cache_lock);
    return caps;
}
