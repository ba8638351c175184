/* qemu_affinity.c: <vcpu cpuset='...'> — the host CPUs a guest's QEMU may run on, applied
 * to every thread of the running process (QEMU has no option for it). */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "virtqemud/qemu_command.h"

int qemu_cpuset_parse(const char *text, cpu_set_t *set, mv_error *err)
{
    const char *p = text;

    CPU_ZERO(set);
    /* libvirt's syntax: "0-3,8,^2" — ranges and singles, '^' taking one away. */
    while (*p) {
        bool exclude = *p == '^';
        char *end;
        long lo, hi;

        if (exclude)
            p++;
        lo = strtol(p, &end, 10);
        if (end == p || lo < 0 || lo >= CPU_SETSIZE)
            goto bad;
        hi = lo;
        if (*end == '-') {
            p = end + 1;
            hi = strtol(p, &end, 10);
            if (end == p || hi < lo || hi >= CPU_SETSIZE || exclude)
                goto bad;
        }
        for (long i = lo; i <= hi; i++) {
            if (exclude)
                CPU_CLR((int)i, set);
            else
                CPU_SET((int)i, set);
        }
        p = end;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
        else if (*p)
            goto bad;
    }
    if (CPU_COUNT(set) == 0)
        goto bad;
    return 0;

bad:
    mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                 "cpuset '%s' names no host CPUs the way libvirt writes them ('0-3,^2')", text);
    return -1;
}

int qemu_command_apply_affinity(const mv_domain_def *live, pid_t pid, mv_error *err)
{
    cpu_set_t set;
    char path[64];
    DIR *d;
    struct dirent *e;
    int ret = 0;

    if (!live->vcpu_cpuset)
        return 0;
    if (qemu_cpuset_parse(live->vcpu_cpuset, &set, err) < 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    if (!(d = opendir(path))) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot list the threads of QEMU %d",
                           (int)pid);
        return -1;
    }
    while ((e = readdir(d))) {
        pid_t tid = (pid_t)atoi(e->d_name);

        /* A thread that ended meanwhile is no error. */
        if (tid > 0 && sched_setaffinity(tid, sizeof(set), &set) < 0 && errno != ESRCH) {
            mv_error_set_errno(err, errno, VIR_FROM_QEMU,
                               "cannot pin QEMU thread %d to cpuset '%s'", (int)tid,
                               live->vcpu_cpuset);
            ret = -1;
            break;
        }
    }
    closedir(d);
    return ret;
}
