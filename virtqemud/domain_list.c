/* domain_list.c: domain objects (job + published snapshot) and their name/UUID/id index. */
#include "virtqemud/domain_list.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/hash.h"

struct qemu_domobj {
    unsigned int refs;                   /* atomic */
    char *name;                          /* immutable */
    unsigned char uuid[MV_UUID_BUFLEN];  /* immutable */
    char uuidstr[MV_UUID_STRING_BUFLEN];

    pthread_mutex_t lock; /* guards the fields below; held only for pointer work */
    pthread_cond_t job_done;
    const char *job;      /* the running job's name (a string literal), or NULL */
    qemu_domsnap *snap;   /* NULL until the first publish */
    int indexed_id;       /* the id under which the list indexes it, or -1 */
    bool removed;
};

struct qemu_domlist {
    pthread_mutex_t lock;
    mv_hash *by_name; /* name -> obj; the list holds one reference per object */
    mv_hash *by_uuid; /* uuid string -> obj */
    mv_hash *by_id;   /* decimal id -> obj, active domains only */
    int last_id;
};

/* ---- snapshots ---------------------------------------------------------------------- */

qemu_domsnap *qemu_domsnap_new(mv_domain_def *def)
{
    qemu_domsnap *snap = calloc(1, sizeof(*snap));

    if (!snap)
        return NULL;
    snap->refs = 1;
    snap->def = def;
    snap->state = VIR_DOMAIN_SHUTOFF;
    snap->reason = VIR_DOMAIN_SHUTOFF_UNKNOWN;
    snap->id = -1;
    return snap;
}

qemu_domsnap *qemu_domsnap_copy(const qemu_domsnap *src, mv_error *err)
{
    mv_domain_def *def = NULL, *newdef = NULL;
    qemu_domsnap *snap = NULL;

    if (!(def = mv_domain_def_copy(src->def, err)))
        goto cleanup;
    if (src->newdef && !(newdef = mv_domain_def_copy(src->newdef, err)))
        goto cleanup;
    if (!(snap = qemu_domsnap_new(def))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot copy domain state");
        goto cleanup;
    }
    def = NULL;
    snap->newdef = newdef;
    newdef = NULL;
    snap->state = src->state;
    snap->reason = src->reason;
    snap->id = src->id;
    snap->pid = src->pid;
    snap->persistent = src->persistent;
    snap->autostart = src->autostart;

cleanup:
    mv_domain_def_free(def);
    mv_domain_def_free(newdef);
    return snap;
}

qemu_domsnap *qemu_domsnap_ref(qemu_domsnap *snap)
{
    if (snap)
        __atomic_add_fetch(&snap->refs, 1, __ATOMIC_RELAXED);
    return snap;
}

void qemu_domsnap_unref(qemu_domsnap *snap)
{
    if (!snap || __atomic_sub_fetch(&snap->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    mv_domain_def_free(snap->def);
    mv_domain_def_free(snap->newdef);
    free(snap);
}

const mv_domain_def *qemu_domsnap_inactive_def(const qemu_domsnap *snap)
{
    return snap->newdef ? snap->newdef : snap->def;
}

void qemu_domsnap_list_free(qemu_domsnap **snaps, size_t count)
{
    if (!snaps)
        return;
    for (size_t i = 0; i < count; i++)
        qemu_domsnap_unref(snaps[i]);
    free(snaps);
}

/* ---- objects ------------------------------------------------------------------------ */

static qemu_domobj *domobj_new(const char *name, const unsigned char uuid[MV_UUID_BUFLEN])
{
    qemu_domobj *obj = calloc(1, sizeof(*obj));

    if (!obj)
        return NULL;
    if (!(obj->name = strdup(name))) {
        free(obj);
        return NULL;
    }
    obj->refs = 1;
    memcpy(obj->uuid, uuid, MV_UUID_BUFLEN);
    mv_uuid_format(uuid, obj->uuidstr);
    obj->indexed_id = -1;
    pthread_mutex_init(&obj->lock, NULL);
    pthread_cond_init(&obj->job_done, NULL);
    return obj;
}

qemu_domobj *qemu_domobj_ref(qemu_domobj *obj)
{
    if (obj)
        __atomic_add_fetch(&obj->refs, 1, __ATOMIC_RELAXED);
    return obj;
}

void qemu_domobj_unref(qemu_domobj *obj)
{
    if (!obj || __atomic_sub_fetch(&obj->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    qemu_domsnap_unref(obj->snap);
    pthread_cond_destroy(&obj->job_done);
    pthread_mutex_destroy(&obj->lock);
    free(obj->name);
    free(obj);
}

const char *qemu_domobj_name(const qemu_domobj *obj)
{
    return obj->name;
}

const unsigned char *qemu_domobj_uuid(const qemu_domobj *obj)
{
    return obj->uuid;
}

qemu_domsnap *qemu_domobj_snapshot(qemu_domobj *obj)
{
    qemu_domsnap *snap;

    pthread_mutex_lock(&obj->lock);
    snap = qemu_domsnap_ref(obj->snap);
    pthread_mutex_unlock(&obj->lock);
    return snap;
}

/* Removed objects are reported as libvirt reports a domain that vanished under a call. */
static void set_no_domain(const qemu_domobj *obj, mv_error *err)
{
    mv_error_set(err, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, "no domain with matching uuid '%s' (%s)",
                 obj->uuidstr, obj->name);
}

int qemu_domobj_begin_job(qemu_domobj *obj, const char *job, int timeout_ms, mv_error *err)
{
    struct timespec deadline;
    int rc = 0, ret = -1;

    /* job_done is a CLOCK_REALTIME condvar: fine for a bound counted in seconds. */
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&obj->lock);
    while (obj->job && !obj->removed && rc == 0)
        rc = pthread_cond_timedwait(&obj->job_done, &obj->lock, &deadline);
    if (obj->removed) {
        set_no_domain(obj, err);
    } else if (obj->job) {
        mv_error_set(err, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_QEMU,
                     "cannot acquire state change lock for domain '%s' (held by %s)",
                     obj->name, obj->job);
    } else {
        obj->job = job;
        ret = 0;
    }
    pthread_mutex_unlock(&obj->lock);
    return ret;
}

void qemu_domobj_end_job(qemu_domobj *obj)
{
    pthread_mutex_lock(&obj->lock);
    obj->job = NULL;
    pthread_cond_signal(&obj->job_done);
    pthread_mutex_unlock(&obj->lock);
}

const char *qemu_domobj_job(qemu_domobj *obj)
{
    const char *job;

    pthread_mutex_lock(&obj->lock);
    job = obj->job;
    pthread_mutex_unlock(&obj->lock);
    return job;
}

/* ---- the list ----------------------------------------------------------------------- */

qemu_domlist *qemu_domlist_new(void)
{
    qemu_domlist *list = calloc(1, sizeof(*list));

    if (!list)
        return NULL;
    list->by_name = mv_hash_new(NULL);
    list->by_uuid = mv_hash_new(NULL);
    list->by_id = mv_hash_new(NULL);
    if (!list->by_name || !list->by_uuid || !list->by_id) {
        mv_hash_free(list->by_name);
        mv_hash_free(list->by_uuid);
        mv_hash_free(list->by_id);
        free(list);
        return NULL;
    }
    pthread_mutex_init(&list->lock, NULL);
    return list;
}

static int unref_entry(const char *key, void *value, void *opaque)
{
    qemu_domobj_unref(value);
    return 0;
}

void qemu_domlist_free(qemu_domlist *list)
{
    if (!list)
        return;
    /* by_name holds exactly the list's references. */
    mv_hash_foreach(list->by_name, unref_entry, NULL);
    mv_hash_free(list->by_name);
    mv_hash_free(list->by_uuid);
    mv_hash_free(list->by_id);
    pthread_mutex_destroy(&list->lock);
    free(list);
}

static void id_key(int id, char buf[16])
{
    snprintf(buf, 16, "%d", id);
}

/* Under list->lock: the object for this name and uuid, a new one, or NULL + err. */
static qemu_domobj *add_locked(qemu_domlist *list, const char *name,
                               const unsigned char uuid[MV_UUID_BUFLEN], bool *created,
                               mv_error *err)
{
    char uuidstr[MV_UUID_STRING_BUFLEN];
    qemu_domobj *obj;

    mv_uuid_format(uuid, uuidstr);
    *created = false;
    if ((obj = mv_hash_get(list->by_uuid, uuidstr))) {
        if (strcmp(obj->name, name) != 0) {
            mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                         "domain '%s' is already defined with uuid %s", obj->name, uuidstr);
            return NULL;
        }
        return qemu_domobj_ref(obj);
    }
    if ((obj = mv_hash_get(list->by_name, name))) {
        mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                     "domain '%s' already exists with uuid %s", name, obj->uuidstr);
        return NULL;
    }
    if (!(obj = domobj_new(name, uuid)))
        goto nomem;
    if (mv_hash_put(list->by_name, name, obj) < 0)
        goto nomem;
    if (mv_hash_put(list->by_uuid, uuidstr, obj) < 0) {
        mv_hash_take(list->by_name, name);
        goto nomem;
    }
    *created = true;
    return qemu_domobj_ref(obj); /* the list keeps the first reference */

nomem:
    qemu_domobj_unref(obj);
    mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot add domain '%s'", name);
    return NULL;
}

qemu_domobj *qemu_domlist_add_job(qemu_domlist *list, const char *name,
                                  const unsigned char uuid[MV_UUID_BUFLEN], const char *job,
                                  int timeout_ms, bool *created, mv_error *err)
{
    qemu_domobj *obj;
    mv_error waited = MV_ERROR_INIT;

    for (;;) {
        pthread_mutex_lock(&list->lock);
        obj = add_locked(list, name, uuid, created, err);
        if (obj && *created)
            obj->job = job; /* nobody else can have seen it yet */
        pthread_mutex_unlock(&list->lock);
        if (!obj || *created)
            return obj;
        if (qemu_domobj_begin_job(obj, job, timeout_ms, &waited) == 0)
            return obj;
        qemu_domobj_unref(obj);
        /* Removed while we waited (an undefine, or a failed first define): start over,
         * the name may be free now. Any other failure is the caller's. */
        if (waited.code != VIR_ERR_NO_DOMAIN) {
            mv_error_move(err, &waited);
            return NULL;
        }
        mv_error_clear(&waited);
    }
}

qemu_domobj *qemu_domlist_find_uuid(qemu_domlist *list, const unsigned char uuid[MV_UUID_BUFLEN])
{
    char uuidstr[MV_UUID_STRING_BUFLEN];
    qemu_domobj *obj;

    mv_uuid_format(uuid, uuidstr);
    pthread_mutex_lock(&list->lock);
    obj = qemu_domobj_ref(mv_hash_get(list->by_uuid, uuidstr));
    pthread_mutex_unlock(&list->lock);
    return obj;
}

qemu_domobj *qemu_domlist_find_name(qemu_domlist *list, const char *name)
{
    qemu_domobj *obj;

    pthread_mutex_lock(&list->lock);
    obj = qemu_domobj_ref(mv_hash_get(list->by_name, name));
    pthread_mutex_unlock(&list->lock);
    return obj;
}

/* Under list->lock: the snapshot of obj (may be NULL), referenced. */
static qemu_domsnap *snap_of(qemu_domobj *obj)
{
    return obj ? qemu_domobj_snapshot(obj) : NULL;
}

qemu_domsnap *qemu_domlist_snap_uuid(qemu_domlist *list, const unsigned char uuid[MV_UUID_BUFLEN])
{
    char uuidstr[MV_UUID_STRING_BUFLEN];
    qemu_domsnap *snap;

    mv_uuid_format(uuid, uuidstr);
    pthread_mutex_lock(&list->lock);
    snap = snap_of(mv_hash_get(list->by_uuid, uuidstr));
    pthread_mutex_unlock(&list->lock);
    return snap;
}

qemu_domsnap *qemu_domlist_snap_name(qemu_domlist *list, const char *name)
{
    qemu_domsnap *snap;

    pthread_mutex_lock(&list->lock);
    snap = snap_of(mv_hash_get(list->by_name, name));
    pthread_mutex_unlock(&list->lock);
    return snap;
}

qemu_domsnap *qemu_domlist_snap_id(qemu_domlist *list, int id)
{
    char key[16];
    qemu_domsnap *snap;

    id_key(id, key);
    pthread_mutex_lock(&list->lock);
    snap = snap_of(mv_hash_get(list->by_id, key));
    pthread_mutex_unlock(&list->lock);
    return snap;
}

void qemu_domlist_publish(qemu_domlist *list, qemu_domobj *obj, qemu_domsnap *snap)
{
    qemu_domsnap *old;
    char key[16];

    pthread_mutex_lock(&list->lock);
    pthread_mutex_lock(&obj->lock);
    if (!obj->removed && obj->indexed_id != snap->id) {
        if (obj->indexed_id > 0) {
            id_key(obj->indexed_id, key);
            mv_hash_take(list->by_id, key);
            obj->indexed_id = -1;
        }
        /* An allocation failure here leaves the domain unindexed by id, not wrong:
         * lookups by id fail until the next publish. */
        id_key(snap->id, key);
        if (snap->id > 0 && mv_hash_put(list->by_id, key, obj) == 0)
            obj->indexed_id = snap->id;
    }
    old = obj->snap;
    obj->snap = snap;
    pthread_mutex_unlock(&obj->lock);
    pthread_mutex_unlock(&list->lock);
    qemu_domsnap_unref(old);
}

void qemu_domlist_remove(qemu_domlist *list, qemu_domobj *obj)
{
    char key[16];
    bool was_listed = false;

    pthread_mutex_lock(&list->lock);
    pthread_mutex_lock(&obj->lock);
    if (!obj->removed) {
        obj->removed = true;
        was_listed = true;
        mv_hash_take(list->by_name, obj->name);
        mv_hash_take(list->by_uuid, obj->uuidstr);
        if (obj->indexed_id > 0) {
            id_key(obj->indexed_id, key);
            mv_hash_take(list->by_id, key);
            obj->indexed_id = -1;
        }
        /* Jobs queued behind ours must learn the object is gone. */
        pthread_cond_broadcast(&obj->job_done);
    }
    pthread_mutex_unlock(&obj->lock);
    pthread_mutex_unlock(&list->lock);
    if (was_listed)
        qemu_domobj_unref(obj); /* the list's reference */
}

typedef struct collect_ctx {
    qemu_domsnap **snaps;
    size_t count;
} collect_ctx;

static int collect_one(const char *key, void *value, void *opaque)
{
    collect_ctx *ctx = opaque;
    qemu_domsnap *snap = qemu_domobj_snapshot(value);

    if (snap)
        ctx->snaps[ctx->count++] = snap;
    return 0;
}

static int compare_by_name(const void *a, const void *b)
{
    const qemu_domsnap *x = *(qemu_domsnap *const *)a, *y = *(qemu_domsnap *const *)b;
    return strcmp(x->def->name, y->def->name);
}

int qemu_domlist_collect(qemu_domlist *list, qemu_domsnap ***snaps, size_t *count, mv_error *err)
{
    collect_ctx ctx = {NULL, 0};

    pthread_mutex_lock(&list->lock);
    ctx.snaps = calloc(mv_hash_count(list->by_name) + 1, sizeof(*ctx.snaps));
    if (ctx.snaps)
        mv_hash_foreach(list->by_name, collect_one, &ctx);
    pthread_mutex_unlock(&list->lock);
    if (!ctx.snaps) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot list domains");
        return -1;
    }
    /* Sorting happens outside the lock: the snapshots are ours now. */
    qsort(ctx.snaps, ctx.count, sizeof(*ctx.snaps), compare_by_name);
    *snaps = ctx.snaps;
    *count = ctx.count;
    return 0;
}

size_t qemu_domlist_count(qemu_domlist *list)
{
    size_t n;

    pthread_mutex_lock(&list->lock);
    n = mv_hash_count(list->by_name);
    pthread_mutex_unlock(&list->lock);
    return n;
}

int qemu_domlist_next_id(qemu_domlist *list)
{
    char key[16];
    int id;

    pthread_mutex_lock(&list->lock);
    do {
        list->last_id = list->last_id == INT_MAX ? 1 : list->last_id + 1;
        id = list->last_id;
        id_key(id, key);
    } while (mv_hash_get(list->by_id, key));
    pthread_mutex_unlock(&list->lock);
    return id;
}
