/* qemu_command_memory.c: guest RAM — -m, the memory backend of the whole guest or of
 * each NUMA cell (ram, memfd, file, hugetlbfs), sharing, preallocation, locking. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "virtqemud/qemu_command_internal.h"
#include "common/str.h"

/* libvirt aligns guest memory up to whole MiB on x86; so do we, so the same XML gives
 * the guest the same size under both. */
#define MIB_ALIGN(kib) (((kib) + 1023ULL) / 1024ULL * 1024ULL)

/* The system's default huge page size in KiB (/proc/meminfo), 2048 when unknown. */
static unsigned long long default_hugepage_kib(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kib = 2048;

    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Hugepagesize: %llu kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* Where hugetlbfs with pages of `kib` is mounted (/proc/mounts), or NULL. malloc'd. */
static char *hugetlbfs_mount(unsigned long long kib, bool is_default)
{
    FILE *f = fopen("/proc/mounts", "r");
    char dev[256], dir[1024], type[64], opts[1024];
    char *found = NULL;

    while (f && !found &&
           fscanf(f, "%255s %1023s %63s %1023s %*d %*d", dev, dir, type, opts) == 4) {
        const char *ps = strstr(opts, "pagesize=");
        unsigned long long size = 0;
        char unit = 'K';

        if (strcmp(type, "hugetlbfs") != 0)
            continue;
        if (ps && sscanf(ps, "pagesize=%llu%c", &size, &unit) >= 1)
            size *= unit == 'G' ? 1024 * 1024 : unit == 'M' ? 1024 : 1;
        if ((ps && size == kib) || (!ps && is_default))
            found = strdup(dir);
    }
    if (f)
        fclose(f);
    return found;
}

/* Whether anything asks for a backend beyond QEMU's plain anonymous RAM. */
static bool needs_backend(const mv_domain_memory_backing *mb)
{
    return mb && (mb->hugepages || mb->source_type || mb->access_mode || mb->allocation_mode ||
                  mb->discard);
}

/* One "-object memory-backend-..." of kib KiB with id `id`; access overrides the
 * domain's access mode (a NUMA cell's memAccess). */
static int backend(qcmd *c, const char *id, unsigned long long kib, const char *access)
{
    const mv_domain_memory_backing *mb = c->def->memory_backing;
    const char *src = mb && mb->source_type ? mb->source_type : "anonymous";
    char opts[1024] = "";
    unsigned long long bytes = MIB_ALIGN(kib) * 1024;

    if (!access && mb)
        access = mb->access_mode;
    if (mb && mb->hugepages) {
        unsigned long long page = default_hugepage_kib();
        bool dflt = true;

        for (size_t i = 0; i < mb->npages; i++) {
            if (mb->pages[i].nodeset)
                return qcmd_refuse(c, "memoryBacking hugepages page nodeset is not supported "
                                      "by modvirt");
            if (mb->pages[i].size_kib) {
                dflt = mb->pages[i].size_kib == page;
                page = mb->pages[i].size_kib;
            }
        }
        if (mv_streq(src, "memfd")) {
            snprintf(opts, sizeof(opts), "memory-backend-memfd,id=%s,hugetlb=on,hugetlbsize=%llu",
                     id, page * 1024);
        } else {
            char *mnt = hugetlbfs_mount(page, dflt), *esc;

            if (!mnt && !(c->p->flags & QEMU_COMMAND_DRY_RUN))
                return qcmd_refuse(c,
                                   "memoryBacking hugepages of %llu KiB: no hugetlbfs is "
                                   "mounted with that page size",
                                   page);
            esc = qcmd_escape(c, mnt ? mnt : "/dev/hugepages");
            snprintf(opts, sizeof(opts), "memory-backend-file,id=%s,mem-path=%s", id,
                     esc ? esc : "");
            free(esc);
            free(mnt);
        }
        /* Huge pages are reserved up front, as libvirt does. */
        strcat(opts, ",prealloc=on");
    } else if (mv_streq(src, "file")) {
        /* A folder: QEMU makes an unlinked file in it. The per-guest folder is the
         * caller's and removed at stop. */
        char *esc = qcmd_escape(c, c->p->sock_dir);

        snprintf(opts, sizeof(opts), "memory-backend-file,id=%s,mem-path=%s", id, esc ? esc : "");
        free(esc);
        if (mb->discard)
            strcat(opts, ",discard-data=on");
    } else if (mv_streq(src, "memfd")) {
        snprintf(opts, sizeof(opts), "memory-backend-memfd,id=%s", id);
    } else {
        snprintf(opts, sizeof(opts), "memory-backend-ram,id=%s", id);
    }
    if (mb && mb->discard && !mv_streq(src, "file") && !mb->hugepages)
        return qcmd_refuse(c, "memoryBacking discard needs source type='file'");
    if (mv_streq(access, "shared"))
        strcat(opts, ",share=on");
    else if (mv_streq(access, "private"))
        strcat(opts, ",share=off");
    if (mb && mv_streq(mb->allocation_mode, "immediate") && !strstr(opts, "prealloc=on"))
        strcat(opts, ",prealloc=on");
    if (mb && mb->allocation_threads > 0)
        snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), ",prealloc-threads=%d",
                 mb->allocation_threads);
    qcmd_opt(c, "-object", "%s,size=%llu", opts, bytes);
    return 0;
}

int qcmd_memory(qcmd *c)
{
    const mv_domain_def *def = c->def;
    const mv_domain_memory_backing *mb = def->memory_backing;
    const mv_domain_cpu *cpu = def->cpu;
    unsigned long long total = def->memory_kib;

    if (def->numatune)
        return qcmd_refuse(c, "numatune needs host NUMA placement, not supported by modvirt");
    /* With NUMA cells the guest's memory is what the cells add up to, as in libvirt. */
    if (cpu && cpu->ncells) {
        total = 0;
        for (size_t i = 0; i < cpu->ncells; i++)
            total += MIB_ALIGN(cpu->cells[i].memory_kib);
    }
    if (def->max_memory_kib)
        qcmd_opt(c, "-m", "size=%lluk,slots=%d,maxmem=%lluk", MIB_ALIGN(total),
                 def->max_memory_slots > 0 ? def->max_memory_slots : 1,
                 MIB_ALIGN(def->max_memory_kib));
    else
        qcmd_opt(c, "-m", "size=%lluk", MIB_ALIGN(total));
    if (mb && mb->locked)
        qcmd_opt(c, "-overcommit", "mem-lock=on");
    /* NUMA cells: one backend each, so the guest sees the sizes it was given. */
    for (size_t i = 0; cpu && i < cpu->ncells; i++) {
        const mv_domain_numa_cell *cell = &cpu->cells[i];
        char cpus[512] = "", id[32];
        char *list = cell->cpus ? strdup(cell->cpus) : NULL, *save = NULL;

        for (char *tok = list ? strtok_r(list, ",", &save) : NULL; tok;
             tok = strtok_r(NULL, ",", &save))
            snprintf(cpus + strlen(cpus), sizeof(cpus) - strlen(cpus), ",cpus=%s", tok);
        free(list);
        snprintf(id, sizeof(id), "ram-node%zu", i);
        if (backend(c, id, cell->memory_kib, cell->mem_access) < 0)
            return -1;
        qcmd_opt(c, "-numa", "node,nodeid=%d%s,memdev=%s", cell->id >= 0 ? cell->id : (int)i, cpus,
                 id);
    }
    if ((!cpu || !cpu->ncells) && needs_backend(mb)) {
        if (backend(c, "pc.ram", total, NULL) < 0)
            return -1;
        qcmd_opt(c, "-machine", "memory-backend=pc.ram");
    }
    return 0;
}
