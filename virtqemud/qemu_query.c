/* qemu_query.c: reads — lookups, lists with libvirt's filters, info and XML — answered
 * from published snapshots on the event loop. Nothing here waits for a job. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "virtqemud/qemu_driver.h"
#include "virtqemud/qemu_process.h"

#define QEMU_XML_FLAGS (VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_MIGRATABLE)

int qemu_check_flags(unsigned int flags, unsigned int allowed, const char *function,
                     mv_error *err)
{
    if (flags & ~allowed) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU,
                     "unsupported flags (0x%x) in function %s", flags & ~allowed, function);
        return -1;
    }
    return 0;
}

qemu_domsnap *qemu_query_domain(qemu_state *s, const unsigned char uuid[MV_UUID_BUFLEN],
                                const char *name, mv_error *err)
{
    qemu_domsnap *snap = qemu_domlist_snap_uuid(s->doms, uuid);
    char uuidstr[MV_UUID_STRING_BUFLEN];

    if (snap)
        return snap;
    mv_uuid_format(uuid, uuidstr);
    if (name && *name)
        mv_error_set(err, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU,
                     "no domain with matching uuid '%s' (%s)", uuidstr, name);
    else
        mv_error_set(err, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, "no domain with matching uuid '%s'",
                     uuidstr);
    return NULL;
}

qemu_domsnap *qemu_query_by_name(qemu_state *s, const char *name, mv_error *err)
{
    qemu_domsnap *snap = qemu_domlist_snap_name(s->doms, name);

    if (!snap)
        mv_error_set(err, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, "no domain with matching name '%s'",
                     name);
    return snap;
}

qemu_domsnap *qemu_query_by_uuid(qemu_state *s, const unsigned char uuid[MV_UUID_BUFLEN],
                                 mv_error *err)
{
    return qemu_query_domain(s, uuid, NULL, err);
}

qemu_domsnap *qemu_query_by_id(qemu_state *s, int id, mv_error *err)
{
    qemu_domsnap *snap = id > 0 ? qemu_domlist_snap_id(s->doms, id) : NULL;

    if (!snap)
        mv_error_set(err, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, "no domain with matching id %d", id);
    return snap;
}

/* libvirt's groups of filter flags: within a group a domain must match one of the flags
 * given; a group with no flag given does not filter. */
static bool group_pass(unsigned int flags, unsigned int yes, unsigned int no, bool value)
{
    if (!(flags & (yes | no)))
        return true;
    return value ? (flags & yes) != 0 : (flags & no) != 0;
}

static bool matches(const qemu_domsnap *snap, unsigned int flags)
{
    bool active = qemu_domsnap_is_active(snap);
    unsigned int states = VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_PAUSED |
                          VIR_CONNECT_LIST_DOMAINS_SHUTOFF | VIR_CONNECT_LIST_DOMAINS_OTHER;

    if (!group_pass(flags, VIR_CONNECT_LIST_DOMAINS_ACTIVE, VIR_CONNECT_LIST_DOMAINS_INACTIVE,
                    active) ||
        !group_pass(flags, VIR_CONNECT_LIST_DOMAINS_PERSISTENT,
                    VIR_CONNECT_LIST_DOMAINS_TRANSIENT, snap->persistent) ||
        !group_pass(flags, VIR_CONNECT_LIST_DOMAINS_AUTOSTART,
                    VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART, snap->autostart) ||
        /* This driver keeps no managed-save images, snapshots or checkpoints. */
        !group_pass(flags, VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE,
                    VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE, false) ||
        !group_pass(flags, VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT,
                    VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT, false) ||
        !group_pass(flags, VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT,
                    VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT, false))
        return false;
    if (flags & states) {
        unsigned int mine;
        switch (snap->state) {
        case VIR_DOMAIN_RUNNING:
            mine = VIR_CONNECT_LIST_DOMAINS_RUNNING;
            break;
        case VIR_DOMAIN_PAUSED:
            mine = VIR_CONNECT_LIST_DOMAINS_PAUSED;
            break;
        case VIR_DOMAIN_SHUTOFF:
            mine = VIR_CONNECT_LIST_DOMAINS_SHUTOFF;
            break;
        default:
            mine = VIR_CONNECT_LIST_DOMAINS_OTHER;
            break;
        }
        if (!(flags & mine))
            return false;
    }
    return true;
}

/* Keeps the snapshots for which keep() holds, at most max, in place; unrefs the rest. */
static void filter_in_place(qemu_domsnap **snaps, size_t *count, size_t max,
                            bool (*keep)(const qemu_domsnap *, unsigned int), unsigned int arg)
{
    size_t kept = 0;

    for (size_t i = 0; i < *count; i++) {
        if (kept < max && keep(snaps[i], arg))
            snaps[kept++] = snaps[i];
        else
            qemu_domsnap_unref(snaps[i]);
    }
    *count = kept;
}

int qemu_query_list_all(qemu_state *s, unsigned int flags, qemu_domsnap ***snaps,
                        size_t *count, mv_error *err)
{
    if (qemu_check_flags(flags, QEMU_LIST_DOMAINS_FILTERS_ALL,
                         "virConnectListAllDomains", err) < 0 ||
        qemu_domlist_collect(s->doms, snaps, count, err) < 0)
        return -1;
    filter_in_place(*snaps, count, (size_t)-1, matches, flags);
    return 0;
}

static bool active_is(const qemu_domsnap *snap, unsigned int active)
{
    return qemu_domsnap_is_active(snap) == (active != 0);
}

static int compare_by_id(const void *a, const void *b)
{
    int x = (*(qemu_domsnap *const *)a)->id, y = (*(qemu_domsnap *const *)b)->id;
    return (x > y) - (x < y);
}

int qemu_query_list_state(qemu_state *s, bool active, size_t max, qemu_domsnap ***snaps,
                          size_t *count, mv_error *err)
{
    if (qemu_domlist_collect(s->doms, snaps, count, err) < 0)
        return -1;
    if (active) {
        /* Lowest ids first, so a short buffer gets the oldest guests. */
        filter_in_place(*snaps, count, (size_t)-1, active_is, 1);
        qsort(*snaps, *count, sizeof(**snaps), compare_by_id);
        filter_in_place(*snaps, count, max, active_is, 1);
    } else {
        filter_in_place(*snaps, count, max, active_is, 0);
    }
    return 0;
}

size_t qemu_query_count(qemu_state *s, bool active)
{
    qemu_domsnap **snaps = NULL;
    size_t count = 0;

    if (qemu_domlist_collect(s->doms, &snaps, &count, NULL) < 0)
        return 0;
    filter_in_place(snaps, &count, (size_t)-1, active_is, active);
    qemu_domsnap_list_free(snaps, count);
    return count;
}

/* libvirt's total: with guest NUMA cells the cells' sum is the memory size. */
static unsigned long long total_memory_kib(const mv_domain_def *def)
{
    unsigned long long sum = 0;

    if (def->cpu && def->cpu->ncells) {
        for (size_t i = 0; i < def->cpu->ncells; i++)
            sum += def->cpu->cells[i].memory_kib;
        return sum;
    }
    return def->memory_kib;
}

void qemu_query_info(const qemu_domsnap *snap, int *state, unsigned long long *max_mem_kib,
                     unsigned long long *mem_kib, unsigned int *vcpus,
                     unsigned long long *cpu_time_ns)
{
    const mv_domain_def *def = snap->def;
    unsigned long long total = total_memory_kib(def);

    *state = snap->state;
    *max_mem_kib = total;
    /* An absent or oversized currentMemory means all of it, as libvirt settles it. */
    *mem_kib = def->current_memory_kib && def->current_memory_kib <= total
                   ? def->current_memory_kib : total;
    *vcpus = (unsigned int)(def->vcpus_current > 0 ? def->vcpus_current : def->vcpus);
    /* Only a running qemu has used CPU time: its user + system time from /proc. */
    *cpu_time_ns = 0;
    if (qemu_domsnap_is_active(snap) && snap->pid > 0)
        qemu_proc_stat(snap->pid, cpu_time_ns, NULL);
}

char *qemu_query_xml(const qemu_domsnap *snap, unsigned int flags, bool readonly,
                     mv_error *err)
{
    unsigned int fmt = 0;
    const mv_domain_def *def = snap->def;
    int id = snap->id;

    if (qemu_check_flags(flags, QEMU_XML_FLAGS, "virDomainGetXMLDesc", err) < 0)
        return NULL;
    if (readonly && (flags & VIR_DOMAIN_XML_SECURE)) {
        mv_error_set(err, VIR_ERR_OPERATION_DENIED, VIR_FROM_QEMU,
                     "virDomainGetXMLDesc with secure flag");
        return NULL;
    }
    if (flags & VIR_DOMAIN_XML_SECURE)
        fmt |= MV_DOMAIN_DEF_FORMAT_SECURE;
    if (flags & VIR_DOMAIN_XML_INACTIVE) {
        fmt |= MV_DOMAIN_DEF_FORMAT_INACTIVE;
        def = qemu_domsnap_inactive_def(snap);
        id = -1;
    }
    /* MIGRATABLE asks for XML another host accepts: libvirt strips the devices it added
     * on its own, and this driver adds none, so it needs no change here. */
    return mv_domain_def_format(def, id, fmt, err);
}
