/* harness.c: per-test roots, captured program runs and daemon cleanup (see harness.h). */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MODVIRT_BIN_DIR
#error "MODVIRT_BIN_DIR must point at the build's bin/ folder"
#endif

static int pidfd_open_compat(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

const char *mvt_bin(const char *name)
{
    static __thread char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", MODVIRT_BIN_DIR, name);
    return path;
}

int mvt_setup(mvt_env *e)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->root, sizeof(e->root), "/tmp/mvt.XXXXXX");
    if (!mkdtemp(e->root))
        return -1;
    snprintf(e->run_dir, sizeof(e->run_dir), "%s/run/modvirt", e->root);
    snprintf(e->etc_dir, sizeof(e->etc_dir), "%s/etc/modvirt", e->root);
    setenv("MODVIRT_ROOT", e->root, 1);
    setenv("MODVIRT_DAEMON_DIR", MODVIRT_BIN_DIR, 1);
    unsetenv("MODVIRT_DEFAULT_URI");
    unsetenv("LIBVIRT_DEFAULT_URI");
    unsetenv("NOTIFY_SOCKET");
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    unsetenv("MODVIRT_KEEPALIVE");
    unsetenv("MODVIRT_CALL_TIMEOUT_MS");
    unsetenv("MODVIRT_PROXY_KEEPALIVE_INTERVAL_MS");
    unsetenv("MODVIRT_PROXY_KEEPALIVE_COUNT");
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void mvt_teardown(mvt_env *e)
{
    if (!e->root[0])
        return;
    DIR *d = opendir(e->run_dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            size_t n = strlen(de->d_name);
            if (n <= 4 || strcmp(de->d_name + n - 4, ".pid") != 0)
                continue;
            char daemon[NAME_MAX + 1];
            snprintf(daemon, sizeof(daemon), "%.*s", (int)(n - 4), de->d_name);
            pid_t pid = mvt_daemon_pid(e, daemon);
            /* a test that stopped a daemon and failed before resuming it */
            if (pid > 0)
                kill(pid, SIGCONT);
            if (pid > 0 && mvt_kill_wait(pid, SIGTERM, 5000) < 0)
                mvt_kill_wait(pid, SIGKILL, 5000);
        }
        closedir(d);
    }
    nftw(e->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    e->root[0] = '\0';
}

int mvt_setup_state(void **state)
{
    mvt_env *e = calloc(1, sizeof(*e));
    if (!e || mvt_setup(e) < 0) {
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

int mvt_teardown_state(void **state)
{
    mvt_teardown(*state);
    free(*state);
    *state = NULL;
    return 0;
}

static int read_all_nonblock(int fd, char **buf, size_t *len, size_t *cap)
{
    for (;;) {
        if (*cap - *len < 4096) {
            size_t ncap = *cap ? *cap * 2 : 8192;
            char *nb = realloc(*buf, ncap);
            if (!nb)
                return -1;
            *buf = nb;
            *cap = ncap;
        }
        ssize_t n = read(fd, *buf + *len, *cap - *len - 1);
        if (n > 0) {
            *len += (size_t)n;
            continue;
        }
        if (n == 0)
            return 1; /* EOF */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return 0;
        return -1;
    }
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mvt_run(mvt_result *r, const char *const *argv, const char *stdin_data, int timeout_ms)
{
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, in_pipe[2] = {-1, -1};
    size_t out_len = 0, out_cap = 0, err_len = 0, err_cap = 0;
    memset(r, 0, sizeof(*r));
    r->status = -1;
    if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0 ||
        pipe2(in_pipe, O_CLOEXEC) < 0)
        goto fail;

    const char *prog = argv[0];
    char resolved[PATH_MAX];
    if (!strchr(prog, '/')) {
        snprintf(resolved, sizeof(resolved), "%s", mvt_bin(prog));
        prog = resolved;
    }
    pid_t pid = fork();
    if (pid < 0)
        goto fail;
    if (pid == 0) {
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        execv(prog, (char *const *)argv);
        dprintf(2, "harness: cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    in_pipe[0] = out_pipe[1] = err_pipe[1] = -1;
    if (stdin_data) {
        size_t left = strlen(stdin_data);
        const char *p = stdin_data;
        signal(SIGPIPE, SIG_IGN);
        while (left > 0) {
            ssize_t n = write(in_pipe[1], p, left);
            if (n <= 0)
                break;
            p += n;
            left -= (size_t)n;
        }
    }
    close(in_pipe[1]);
    in_pipe[1] = -1;
    fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);

    int pidfd = pidfd_open_compat(pid);
    long long deadline = now_ms() + timeout_ms;
    int out_open = 1, err_open = 1, exited = 0, timed_out = 0;
    while (out_open || err_open || !exited) {
        struct pollfd p[3];
        int n = 0, io = -1, ie = -1, ip = -1;
        if (out_open) {
            p[n] = (struct pollfd){.fd = out_pipe[0], .events = POLLIN};
            io = n++;
        }
        if (err_open) {
            p[n] = (struct pollfd){.fd = err_pipe[0], .events = POLLIN};
            ie = n++;
        }
        if (!exited && pidfd >= 0) {
            p[n] = (struct pollfd){.fd = pidfd, .events = POLLIN};
            ip = n++;
        }
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        if (poll(p, (nfds_t)n, (int)left) < 0 && errno != EINTR)
            break;
        if (io >= 0 && p[io].revents &&
            read_all_nonblock(out_pipe[0], &r->out, &out_len, &out_cap) != 0)
            out_open = 0;
        if (ie >= 0 && p[ie].revents &&
            read_all_nonblock(err_pipe[0], &r->err, &err_len, &err_cap) != 0)
            err_open = 0;
        if (ip >= 0 && p[ip].revents)
            exited = 1;
        if (pidfd < 0 && !out_open && !err_open)
            exited = 1;
    }
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (pidfd >= 0)
        close(pidfd);
    if (timed_out)
        r->status = -1;
    else if (WIFEXITED(status))
        r->status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        r->status = 128 + WTERMSIG(status);
    close(out_pipe[0]);
    close(err_pipe[0]);
    if (!r->out)
        r->out = calloc(1, 1);
    else
        r->out[out_len] = '\0';
    if (!r->err)
        r->err = calloc(1, 1);
    else
        r->err[err_len] = '\0';
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
        if (err_pipe[i] >= 0)
            close(err_pipe[i]);
        if (in_pipe[i] >= 0)
            close(in_pipe[i]);
    }
    return -1;
}

int mvt_vmctl(mvt_result *r, ...)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = "vmctl";
    va_list ap;
    va_start(ap, r);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 63)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return mvt_run(r, argv, NULL, 30000);
}

void mvt_result_free(mvt_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

char *mvt_read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

char *mvt_daemon_sock(const mvt_env *e, const char *daemon)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s-sock", e->run_dir, daemon) < 0)
        return NULL;
    return p;
}

pid_t mvt_daemon_pid(const mvt_env *e, const char *daemon)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s.pid", e->run_dir, daemon);
    char *s = mvt_read_file(path);
    if (!s)
        return -1;
    long pid = strtol(s, NULL, 10);
    free(s);
    if (pid <= 0 || kill((pid_t)pid, 0) < 0)
        return -1;
    return (pid_t)pid;
}

int mvt_pid_wait(pid_t pid, int sig, int timeout_ms, int *status)
{
    int fd = pidfd_open_compat(pid);
    if (fd < 0)
        return errno == ESRCH && !status ? 0 : -1;
    if (sig && kill(pid, sig) < 0 && errno == ESRCH && !status) {
        close(fd);
        return 0;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc;
    do {
        rc = poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    close(fd);
    if (rc != 1)
        return -1;
    if (status)
        return waitpid(pid, status, 0) == pid ? 0 : -1;
    /* reap it if it happens to be our child; harmless otherwise */
    waitpid(pid, NULL, WNOHANG);
    return 0;
}

int mvt_wait_gone(pid_t pid, int timeout_ms)
{
    return mvt_pid_wait(pid, 0, timeout_ms, NULL);
}

int mvt_kill_wait(pid_t pid, int sig, int timeout_ms)
{
    return mvt_pid_wait(pid, sig, timeout_ms, NULL);
}

char *mvt_path(const mvt_env *e, const char *rel)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", e->root, rel) < 0)
        return NULL;
    return p;
}

static int mkdirs_for(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return 0;
}

int mvt_write(const mvt_env *e, const char *rel, const char *content)
{
    char *path = mvt_path(e, rel);
    int ret = -1;
    if (!path || mkdirs_for(path) < 0)
        goto cleanup;
    FILE *f = fopen(path, "we");
    if (!f)
        goto cleanup;
    if (fputs(content, f) >= 0)
        ret = 0;
    if (fclose(f) != 0)
        ret = -1;
cleanup:
    free(path);
    return ret;
}

char *mvt_domain_xml(const char *name, const char *uuid)
{
    return mvt_domain_xml_sized(name, uuid, 64, 0, 1);
}

char *mvt_domain_xml_sized(const char *name, const char *uuid, unsigned mem_mib,
                           unsigned current_mib, unsigned vcpus)
{
    char *xml = NULL;
    char uuid_el[80] = "", current_el[80] = "";
    if (uuid)
        snprintf(uuid_el, sizeof(uuid_el), "  <uuid>%s</uuid>\n", uuid);
    if (current_mib)
        snprintf(current_el, sizeof(current_el), "  <currentMemory unit='MiB'>%u</currentMemory>\n",
                 current_mib);
    if (asprintf(&xml,
                 "<domain type='qemu'>\n"
                 "  <name>%s</name>\n"
                 "%s"
                 "  <memory unit='MiB'>%u</memory>\n"
                 "%s"
                 "  <vcpu>%u</vcpu>\n"
                 "  <os>\n"
                 "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                 "  </os>\n"
                 "</domain>\n",
                 name, uuid_el, mem_mib, current_el, vcpus) < 0)
        return NULL;
    return xml;
}

int mvt_count_lines_with(const char *s, const char *needle)
{
    int count = 0;
    while (s && *s) {
        const char *eol = strchr(s, '\n');
        size_t len = eol ? (size_t)(eol - s) : strlen(s);
        char *line = strndup(s, len);
        if (line && strstr(line, needle))
            count++;
        free(line);
        s = eol ? eol + 1 : s + len;
    }
    return count;
}
