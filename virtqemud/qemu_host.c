/* qemu_host.c: node info from /proc and sysfs, the host name, and the qemu version probe. */
#include "virtqemud/qemu_host.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define QEMU_DEFAULT_BINARY "qemu-system-x86_64"
#define QEMU_FALLBACK_BINARY "/usr/bin/qemu-system-x86_64"
/* Socket and core ids above this are not real topology; libvirt uses the same bound. */
#define TOPOLOGY_ID_MAX 4095

/* ---- small readers for pseudo files ------------------------------------------------ */

/* Reads a (small) file into buf, NUL-terminated. Length read, or -1 with errno set. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t got = 0;

    if (fd < 0)
        return -1;
    while (got + 1 < size) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fd);
    return (ssize_t)got;
}

/* An unsigned integer from "<dir>/cpu<N>/topology/<leaf>"; `fallback` when the file is
 * missing or negative (s390 reports -1), as libvirt treats both. */
static unsigned int read_topology_uint(const char *sys_root, unsigned int cpu, const char *leaf,
                                       unsigned int fallback)
{
    char path[PATH_MAX], buf[64];
    long v;

    snprintf(path, sizeof(path), "%s/cpu/cpu%u/topology/%s", sys_root, cpu, leaf);
    if (read_small(path, buf, sizeof(buf)) < 0)
        return fallback;
    v = strtol(buf, NULL, 10);
    return v < 0 ? fallback : (unsigned int)v;
}

/* Number of bits set in a sysfs hex mask such as "00000003" or "ff,00000001"; 1 when
 * the file is missing (a CPU is always its own sibling). */
static unsigned int count_thread_siblings(const char *sys_root, unsigned int cpu)
{
    char path[PATH_MAX], buf[4096];
    unsigned int n = 0;

    snprintf(path, sizeof(path), "%s/cpu/cpu%u/topology/thread_siblings", sys_root, cpu);
    if (read_small(path, buf, sizeof(buf)) < 0)
        return 1;
    for (const char *p = buf; *p; p++) {
        if (!isxdigit((unsigned char)*p))
            continue;
        int d = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
        n += (unsigned int)__builtin_popcount((unsigned int)d);
    }
    return n ? n : 1;
}

/* ---- CPU sets ("0-3,8,10-11") ------------------------------------------------------ */

typedef struct cpuset {
    bool *bits;
    unsigned int size;
} cpuset;

static void cpuset_free(cpuset *s)
{
    free(s->bits);
    s->bits = NULL;
    s->size = 0;
}

static bool cpuset_has(const cpuset *s, unsigned int i)
{
    return i < s->size && s->bits[i];
}

static int cpuset_parse(const char *text, cpuset *s)
{
    const char *p = text;
    unsigned long hi_max = 0;

    /* First pass finds the size, second fills it. */
    for (int pass = 0; pass < 2; pass++) {
        p = text;
        while (*p && *p != '\n') {
            char *end;
            unsigned long lo = strtoul(p, &end, 10), hi = lo;
            if (end == p)
                return -1;
            p = end;
            if (*p == '-') {
                hi = strtoul(p + 1, &end, 10);
                if (end == p + 1 || hi < lo)
                    return -1;
                p = end;
            }
            if (hi > 65535)
                return -1;
            if (pass == 0 && hi > hi_max)
                hi_max = hi;
            if (pass == 1)
                for (unsigned long i = lo; i <= hi; i++)
                    s->bits[i] = true;
            if (*p == ',')
                p++;
            else if (*p && *p != '\n')
                return -1;
        }
        if (pass == 0) {
            s->size = (unsigned int)hi_max + 1;
            s->bits = calloc(s->size, sizeof(bool));
            if (!s->bits)
                return -1;
        }
    }
    return 0;
}

/* <sys_root>/cpu/<leaf> ("present", "online"); when the file is missing, every cpuN
 * directory counts. */
static int cpuset_read(const char *sys_root, const char *leaf, cpuset *s, mv_error *err)
{
    char path[PATH_MAX], buf[4096];
    DIR *dir;
    struct dirent *de;
    unsigned int cpu, max = 0;
    bool any = false;

    snprintf(path, sizeof(path), "%s/cpu/%s", sys_root, leaf);
    if (read_small(path, buf, sizeof(buf)) >= 0) {
        if (cpuset_parse(buf, s) < 0) {
            cpuset_free(s);
            mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                         "cannot parse CPU list '%s' in %s", buf, path);
            return -1;
        }
        return 0;
    }
    snprintf(path, sizeof(path), "%s/cpu", sys_root);
    if (!(dir = opendir(path))) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot open %s", path);
        return -1;
    }
    while ((de = readdir(dir))) {
        if (sscanf(de->d_name, "cpu%u", &cpu) == 1 && cpu <= 65535) {
            any = true;
            if (cpu > max)
                max = cpu;
        }
    }
    closedir(dir);
    s->size = any ? max + 1 : 0;
    s->bits = calloc(s->size ? s->size : 1, sizeof(bool));
    if (!s->bits) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot list CPUs");
        return -1;
    }
    for (unsigned int i = 0; i < s->size; i++)
        s->bits[i] = true; /* holes are harmless: per-CPU reads fall back */
    return 0;
}

/* ---- topology, as libvirt's virHostCPUParseNode ------------------------------------ */

typedef struct node_topology {
    unsigned int processors, sockets, cores, threads, offline;
} node_topology;

/* Counts the online CPUs listed in `dir` (a NUMA node folder, or the cpu folder itself),
 * their sockets, the most cores in one socket and the most threads per core. */
static int parse_node(const char *sys_root, const char *dir, const cpuset *present,
                      const cpuset *online, node_topology *t, mv_error *err)
{
    DIR *d = NULL;
    struct dirent *de;
    bool *in_node = NULL, *sockets = NULL, *cores = NULL;
    unsigned int cpu, sock, core, sock_max = 0;
    int ret = -1;

    memset(t, 0, sizeof(*t));
    if (!(d = opendir(dir))) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot open %s", dir);
        goto cleanup;
    }
    in_node = calloc(present->size ? present->size : 1, sizeof(bool));
    sockets = calloc(TOPOLOGY_ID_MAX + 1, sizeof(bool));
    if (!in_node || !sockets) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot read CPU topology");
        goto cleanup;
    }
    while ((de = readdir(d))) {
        if (sscanf(de->d_name, "cpu%u", &cpu) != 1 || !cpuset_has(present, cpu))
            continue;
        in_node[cpu] = true;
        if (!cpuset_has(online, cpu))
            continue;
        sock = read_topology_uint(sys_root, cpu, "physical_package_id", 0);
        if (sock > TOPOLOGY_ID_MAX)
            sock = TOPOLOGY_ID_MAX;
        sockets[sock] = true;
        if (sock > sock_max)
            sock_max = sock;
    }
    /* One core map per socket, indexed [socket][core]. */
    cores = calloc((size_t)(sock_max + 1) * (TOPOLOGY_ID_MAX + 1), sizeof(bool));
    if (!cores) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot read CPU topology");
        goto cleanup;
    }
    for (cpu = 0; cpu < present->size; cpu++) {
        if (!in_node[cpu])
            continue;
        if (!cpuset_has(online, cpu)) {
            t->offline++;
            continue;
        }
        t->processors++;
        sock = read_topology_uint(sys_root, cpu, "physical_package_id", 0);
        if (sock > sock_max)
            sock = sock_max;
        core = read_topology_uint(sys_root, cpu, "core_id", 0);
        if (core > TOPOLOGY_ID_MAX)
            core = TOPOLOGY_ID_MAX;
        cores[(size_t)sock * (TOPOLOGY_ID_MAX + 1) + core] = true;
        unsigned int siblings = count_thread_siblings(sys_root, cpu);
        if (siblings > t->threads)
            t->threads = siblings;
    }
    for (sock = 0; sock <= sock_max; sock++) {
        unsigned int n = 0;
        if (!sockets[sock])
            continue;
        t->sockets++;
        for (core = 0; core <= TOPOLOGY_ID_MAX; core++)
            n += cores[(size_t)sock * (TOPOLOGY_ID_MAX + 1) + core];
        if (n > t->cores)
            t->cores = n;
    }
    ret = 0;

cleanup:
    if (d)
        closedir(d);
    free(in_node);
    free(sockets);
    free(cores);
    return ret;
}

/* ---- /proc ---------------------------------------------------------------------------- */

/* The last "cpu MHz" line wins, as in libvirt; 0 when there is none. */
static unsigned int parse_cpuinfo_mhz(const char *text)
{
    unsigned int mhz = 0;

    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, "cpu MHz", 7) != 0)
            continue;
        const char *colon = strchr(line, ':');
        const char *eol = strchr(line, '\n');
        if (!colon || (eol && colon > eol))
            continue;
        mhz = (unsigned int)strtoul(colon + 1, NULL, 10);
    }
    return mhz;
}

static int read_meminfo_total(const char *proc_root, unsigned long long *kib, mv_error *err)
{
    char path[PATH_MAX], buf[8192];
    const char *p;

    snprintf(path, sizeof(path), "%s/meminfo", proc_root);
    if (read_small(path, buf, sizeof(buf)) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot read %s", path);
        return -1;
    }
    if (!(p = strstr(buf, "MemTotal:"))) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "no MemTotal in %s", path);
        return -1;
    }
    *kib = strtoull(p + strlen("MemTotal:"), NULL, 10);
    return 0;
}

int qemu_host_nodeinfo(const char *sys_root, const char *proc_root, qemu_nodeinfo *info,
                       mv_error *err)
{
    cpuset present = {0}, online = {0};
    char path[PATH_MAX];
    char *cpuinfo = NULL;
    DIR *nodes = NULL;
    struct dirent *de;
    node_topology t;
    unsigned int offline = 0, node;
    struct utsname uts;
    int ret = -1;

    memset(info, 0, sizeof(*info));
    if (uname(&uts) == 0)
        snprintf(info->model, sizeof(info->model), "%.31s", uts.machine);
    if (read_meminfo_total(proc_root, &info->memory, err) < 0)
        goto cleanup;

    /* cpuinfo grows with the CPU count: about 1.5 KiB each. */
    if (!(cpuinfo = malloc(1 << 20))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot read cpuinfo");
        goto cleanup;
    }
    snprintf(path, sizeof(path), "%s/cpuinfo", proc_root);
    if (read_small(path, cpuinfo, 1 << 20) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot read %s", path);
        goto cleanup;
    }
    info->mhz = parse_cpuinfo_mhz(cpuinfo);

    if (cpuset_read(sys_root, "present", &present, err) < 0 ||
        cpuset_read(sys_root, "online", &online, err) < 0)
        goto cleanup;

    /* Per NUMA node when sysfs shows nodes; otherwise the whole host is one node. */
    snprintf(path, sizeof(path), "%s/node", sys_root);
    if ((nodes = opendir(path))) {
        while ((de = readdir(nodes))) {
            char nodedir[PATH_MAX];
            if (sscanf(de->d_name, "node%u", &node) != 1)
                continue;
            snprintf(nodedir, sizeof(nodedir), "%s/node/%s", sys_root, de->d_name);
            if (parse_node(sys_root, nodedir, &present, &online, &t, err) < 0)
                goto cleanup;
            info->nodes++;
            info->cpus += t.processors;
            offline += t.offline;
            if (t.sockets > info->sockets)
                info->sockets = t.sockets;
            if (t.cores > info->cores)
                info->cores = t.cores;
            if (t.threads > info->threads)
                info->threads = t.threads;
        }
    }
    if (!info->cpus || !info->nodes) {
        snprintf(path, sizeof(path), "%s/cpu", sys_root);
        if (parse_node(sys_root, path, &present, &online, &t, err) < 0)
            goto cleanup;
        info->nodes = 1;
        info->cpus = t.processors;
        info->sockets = t.sockets;
        info->cores = t.cores;
        info->threads = t.threads;
        offline = t.offline;
    }
    if (!info->cpus || !info->sockets || !info->threads) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "no CPUs found in %s/cpu", sys_root);
        goto cleanup;
    }
    /* A topology that does not multiply out (hidden nodes, Bulldozer modules) is reported
     * flat, as libvirt does, so nodes*sockets*cores*threads always equals the CPU count. */
    if ((unsigned long long)info->nodes * info->sockets * info->cores * info->threads !=
        (unsigned long long)info->cpus + offline) {
        info->nodes = 1;
        info->sockets = 1;
        info->cores = info->cpus + offline;
        info->threads = 1;
    }
    ret = 0;

cleanup:
    if (nodes)
        closedir(nodes);
    free(cpuinfo);
    cpuset_free(&present);
    cpuset_free(&online);
    return ret;
}

char *qemu_host_hostname(mv_error *err)
{
    char buf[HOST_NAME_MAX + 1];
    char *name;

    if (gethostname(buf, sizeof(buf)) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "failed to determine host name");
        return NULL;
    }
    buf[sizeof(buf) - 1] = '\0';
    if (!(name = strdup(buf)))
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "failed to determine host name");
    return name;
}

/* ---- the qemu binary ------------------------------------------------------------------ */

static bool is_executable_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* "<dir>/<name>" for the first PATH folder holding an executable `name`, or NULL. */
static char *search_path(const char *name)
{
    const char *env = getenv("PATH");
    char *copy, *save = NULL, *found = NULL;

    if (!(copy = strdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin")))
        return NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char candidate[PATH_MAX];
        if (*dir != '/')
            continue; /* relative PATH entries would depend on the daemon's cwd */
        if ((size_t)snprintf(candidate, sizeof(candidate), "%s/%s", dir, name) >= sizeof(candidate))
            continue;
        if (is_executable_file(candidate))
            found = strdup(candidate);
    }
    free(copy);
    return found;
}

char *qemu_binary_find(const char *configured, mv_error *err)
{
    char *path = NULL;

    if (configured && *configured) {
        if (strchr(configured, '/')) {
            if (is_executable_file(configured))
                path = realpath(configured, NULL);
        } else {
            path = search_path(configured);
        }
        if (!path)
            mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                         "QEMU binary '%s' (qemu_binary) is not an executable file%s",
                         configured, strchr(configured, '/') ? "" : " on PATH");
        return path;
    }
    if ((path = search_path(QEMU_DEFAULT_BINARY)))
        return path;
    if (is_executable_file(QEMU_FALLBACK_BINARY) && (path = strdup(QEMU_FALLBACK_BINARY)))
        return path;
    mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                 "cannot find QEMU binary %s: not on PATH nor at %s (set qemu_binary in "
                 "virtqemud.conf)", QEMU_DEFAULT_BINARY, QEMU_FALLBACK_BINARY);
    return NULL;
}

int qemu_version_parse(const char *text, unsigned long *version, mv_error *err)
{
    const char *p = strstr(text, "version ");
    unsigned long part[3] = {0, 0, 0};
    int n = 0;

    if (p) {
        p += strlen("version ");
        while (n < 3 && isdigit((unsigned char)*p)) {
            char *end;
            part[n++] = strtoul(p, &end, 10);
            p = end;
            if (*p != '.')
                break;
            p++;
        }
    }
    /* major.minor at least; minor and micro must fit libvirt's three-digit fields. */
    if (n < 2 || part[1] > 999 || part[2] > 999 || part[0] > 4000) {
        size_t len = strcspn(text, "\n");
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "cannot parse QEMU version from '%.*s'", (int)(len > 200 ? 200 : len),
                     text);
        return -1;
    }
    *version = part[0] * 1000000 + part[1] * 1000 + part[2];
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the child until the deadline, then kills it; a child that closed stdout but
 * lingers must not hang the caller. A pidfd lets poll() do the waiting. */
static void reap_by_deadline(pid_t pid, long long deadline, int *status)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

    if (pidfd >= 0) {
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        for (;;) {
            long long left = deadline - now_ms();
            int rc = left > 0 ? poll(&pfd, 1, (int)left) : 0;
            if (rc > 0)
                break;
            if (rc == 0 || errno != EINTR) {
                kill(pid, SIGKILL);
                break;
            }
        }
        close(pidfd);
    }
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

int qemu_version_probe(const char *binary, int timeout_ms, unsigned long *version,
                       mv_error *err)
{
    char *argv[] = {(char *)binary, "--version", NULL};
    char out[4096];
    size_t got = 0;
    int pipefd[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    bool fa_ready = false, timed_out = false;
    pid_t pid = -1;
    int status = 0, rc, ret = -1;
    long long deadline = now_ms() + timeout_ms;

    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot probe %s", binary);
        goto cleanup;
    }
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
        mv_error_set_errno(err, rc, VIR_FROM_QEMU, "cannot probe %s", binary);
        goto cleanup;
    }
    fa_ready = true;
    if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
        (rc = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1)) != 0 ||
        (rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0)) != 0 ||
        (rc = posix_spawnp(&pid, binary, &fa, NULL, argv, environ)) != 0) {
        pid = -1;
        mv_error_set_errno(err, rc, VIR_FROM_QEMU, "cannot run %s --version", binary);
        goto cleanup;
    }
    close(pipefd[1]);
    pipefd[1] = -1;

    for (;;) {
        struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot read from %s --version", binary);
            goto cleanup;
        }
        if (rc == 0)
            continue;
        ssize_t n = read(pipefd[0], out + got, sizeof(out) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (got += (size_t)n) >= sizeof(out) - 1)
            break;
    }
    out[got] = '\0';
    if (timed_out) {
        kill(pid, SIGKILL);
        mv_error_set(err, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_QEMU,
                     "%s --version gave no answer within %d ms", binary, timeout_ms);
        goto cleanup;
    }
    /* Output is complete (EOF or full): whatever the exit, the first line decides. */
    ret = qemu_version_parse(out, version, err);

cleanup:
    if (pipefd[0] >= 0)
        close(pipefd[0]); /* a child still writing gets SIGPIPE rather than blocking */
    pipefd[0] = -1;
    if (pid > 0) {
        reap_by_deadline(pid, deadline, &status);
        if (ret == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                         "%s --version failed (%s %d)", binary,
                         WIFEXITED(status) ? "exit status" : "signal",
                         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            ret = -1;
        }
    }
    if (fa_ready)
        posix_spawn_file_actions_destroy(&fa);
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    return ret;
}
