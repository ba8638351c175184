/* domain_list.h: the QEMU driver's domain objects and the list that finds them.
 *
 * Two kinds of lock, so that reads never wait behind slow work:
 * - A *job* per object, held for a whole operation that changes the object (define,
 *   undefine, set autostart; issue 3: start, shutdown, monitor commands). Jobs on one
 *   object run one at a time; jobs on different objects run at once.
 * - A *snapshot* per object: an immutable, reference-counted picture of its state
 *   (definition, state, reason, id, persistent, autostart). The job holder builds a new
 *   one and publishes it; readers (list, lookup, info, state, dumpxml) take a reference
 *   under a short mutex and read it at leisure. Nothing slow ever holds that mutex or the
 *   list's, so a reader never waits for a job.
 *
 * Lock order: list mutex, then an object's mutex; both are held only for pointer work.
 * An object's name and UUID never change; an object without a published snapshot (a
 * define still writing its file) is invisible to readers. */
#ifndef QEMU_DOMAIN_LIST_H
#define QEMU_DOMAIN_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include "common/domain/domain_conf.h"
#include "common/error.h"
#include "common/uuid.h"
#include "virtqemud/qemu_api.h"

/* How long a job waits for the object's previous job before giving up (libvirt's
 * QEMU driver waits 30 s too). */
#define QEMU_JOB_WAIT_MS 30000

/* ---- snapshots ---------------------------------------------------------------------- */

typedef struct qemu_domsnap {
    unsigned int refs;       /* private: use qemu_domsnap_ref / unref */
    mv_domain_def *def;      /* the definition in effect: the live one while active */
    mv_domain_def *newdef;   /* active and persistent: the definition for the next boot,
                              * when it differs from def; NULL otherwise */
    int state;               /* virDomainState */
    int reason;              /* the state's reason (virDomainShutoffReason, ...) */
    int id;                  /* -1 while inactive */
    int pid;                 /* qemu's pid while active (CPU time); 0 otherwise */
    bool persistent;         /* has a definition file */
    bool autostart;
} qemu_domsnap;

/* A new snapshot (one reference) owning def: shut off, reason unknown, inactive. */
qemu_domsnap *qemu_domsnap_new(mv_domain_def *def);
/* A new snapshot with the same content as src; the definitions are deep copies, so the
 * copy can be changed before it is published. NULL + err on ENOMEM. */
qemu_domsnap *qemu_domsnap_copy(const qemu_domsnap *src, mv_error *err);
qemu_domsnap *qemu_domsnap_ref(qemu_domsnap *snap);
void qemu_domsnap_unref(qemu_domsnap *snap); /* NULL tolerated */

/* The persistent definition (what `dumpxml --inactive` shows). */
const mv_domain_def *qemu_domsnap_inactive_def(const qemu_domsnap *snap);
static inline bool qemu_domsnap_is_active(const qemu_domsnap *snap) { return snap->id > 0; }

/* ---- objects ------------------------------------------------------------------------ */

typedef struct qemu_domobj qemu_domobj;

qemu_domobj *qemu_domobj_ref(qemu_domobj *obj);
void qemu_domobj_unref(qemu_domobj *obj); /* NULL tolerated */

const char *qemu_domobj_name(const qemu_domobj *obj);
const unsigned char *qemu_domobj_uuid(const qemu_domobj *obj);

/* The current snapshot, with a reference for the caller; NULL before the first publish.
 * Never waits for a job. */
qemu_domsnap *qemu_domobj_snapshot(qemu_domobj *obj);

/* Waits (at most timeout_ms) until no other job runs on obj, then takes the job, named
 * for error messages ("define", "start"). Fails with VIR_ERR_OPERATION_TIMEOUT naming
 * the job in the way, or VIR_ERR_NO_DOMAIN when the object was removed meanwhile. */
int qemu_domobj_begin_job(qemu_domobj *obj, const char *job, int timeout_ms, mv_error *err);
void qemu_domobj_end_job(qemu_domobj *obj);
/* The running job's name, or NULL (for logs and tests). */
const char *qemu_domobj_job(qemu_domobj *obj);

/* ---- the list ----------------------------------------------------------------------- */

typedef struct qemu_domlist qemu_domlist;

qemu_domlist *qemu_domlist_new(void);
void qemu_domlist_free(qemu_domlist *list); /* drops the list's references */

/* Finds the object called `name` with this uuid, or adds a new one, and returns it
 * (one reference for the caller) with a job held. Another object with the same name
 * but another UUID, or the same UUID but another name, is libvirt's
 * VIR_ERR_OPERATION_FAILED. `*created` tells whether the object is new (and so has no
 * snapshot until the caller publishes one, or removes it on failure). */
qemu_domobj *qemu_domlist_add_job(qemu_domlist *list, const char *name,
                                  const unsigned char uuid[MV_UUID_BUFLEN], const char *job,
                                  int timeout_ms, bool *created, mv_error *err);

/* Object lookups (a reference for the caller, or NULL). Objects not yet published are
 * found too: jobs need them. */
qemu_domobj *qemu_domlist_find_uuid(qemu_domlist *list, const unsigned char uuid[MV_UUID_BUFLEN]);
qemu_domobj *qemu_domlist_find_name(qemu_domlist *list, const char *name);

/* Snapshot lookups for readers (a reference for the caller, or NULL when absent or
 * unpublished). */
qemu_domsnap *qemu_domlist_snap_uuid(qemu_domlist *list, const unsigned char uuid[MV_UUID_BUFLEN]);
qemu_domsnap *qemu_domlist_snap_name(qemu_domlist *list, const char *name);
qemu_domsnap *qemu_domlist_snap_id(qemu_domlist *list, int id);

/* Publishes snap (taking the caller's reference) as obj's state. The caller holds obj's
 * job. The id index follows the snapshot's id. */
void qemu_domlist_publish(qemu_domlist *list, qemu_domobj *obj, qemu_domsnap *snap);

/* Removes obj from the list (caller holds its job): lookups stop finding it and jobs
 * waiting on it fail with VIR_ERR_NO_DOMAIN. */
void qemu_domlist_remove(qemu_domlist *list, qemu_domobj *obj);

/* References to every published snapshot, sorted by name, in a malloc'd array the caller
 * frees with qemu_domsnap_list_free. */
int qemu_domlist_collect(qemu_domlist *list, qemu_domsnap ***snaps, size_t *count, mv_error *err);
void qemu_domsnap_list_free(qemu_domsnap **snaps, size_t count);

/* Number of objects (published or not). */
size_t qemu_domlist_count(qemu_domlist *list);

/* An id for a domain being started (issue 3): one more than the last handed out, as in
 * libvirt, skipping ids still in use after a wrap. */
int qemu_domlist_next_id(qemu_domlist *list);

#endif
