/* harness_proc.c: processes a test starts in the background — spawning them, awaiting
 * their exit or their sd_notify READY, waiting for the files they create, and reading
 * their resident memory (see harness.h). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pid_t mvt_spawn(const char *const *argv, const char *log_path)
{
    const char *prog = argv[0];
    char resolved[PATH_MAX];
    if (!strchr(prog, '/')) {
        snprintf(resolved, sizeof(resolved), "%s", mvt_bin(prog));
        prog = resolved;
    }
    int out = open(log_path ? log_path : "/dev/null",
                   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = -1;
    if (out < 0 || in < 0)
        goto cleanup;
    pid = fork();
    if (pid == 0) {
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        /* a test program may have ignored SIGPIPE (mvt_run does); daemons expect the
         * default disposition at exec, as systemd gives it */
        signal(SIGPIPE, SIG_DFL);
        execv(prog, (char *const *)argv);
        dprintf(2, "harness: cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
cleanup:
    if (out >= 0)
        close(out);
    if (in >= 0)
        close(in);
    return pid;
}

int mvt_wait_exit(pid_t pid, int timeout_ms)
{
    int status = 0;
    if (mvt_pid_wait(pid, 0, timeout_ms, &status) < 0)
        return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

int mvt_notify_open(const mvt_env *e, const char *name, char **path_out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char *path = mvt_path(e, name);
    int fd = -1, one = 1;
    if (!path || strlen(path) >= sizeof(sa.sun_path))
        goto fail;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        goto fail;
    *path_out = path;
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    free(path);
    return -1;
}

/* True when msg (newline-separated assignments) holds the line `line`. */
static int has_line(const char *msg, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = msg; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len == n && memcmp(p, line, n) == 0)
            return 1;
        p = eol ? eol + 1 : NULL;
    }
    return 0;
}

int mvt_notify_wait(int fd, const char *line, int timeout_ms, pid_t *sender, char **msg_out)
{
    long long deadline = clock_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - clock_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        char buf[4096];
        union {
            struct cmsghdr align;
            char space[CMSG_SPACE(sizeof(struct ucred))];
        } control;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = control.space,
                            .msg_controllen = sizeof(control.space)};
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
            continue;
        buf[n] = '\0';
        if (!has_line(buf, line))
            continue;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c && sender; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred cred;
                memcpy(&cred, CMSG_DATA(c), sizeof(cred));
                *sender = cred.pid;
            }
        }
        if (msg_out)
            *msg_out = strdup(buf);
        return 0;
    }
}

pid_t mvt_spawn_ready(const mvt_env *e, const char *const *argv, const char *log_path,
                      int timeout_ms)
{
    char *notify = NULL;
    pid_t sender = -1;
    int fd = mvt_notify_open(e, "spawn.notify", &notify);
    if (fd < 0)
        return -1;
    setenv("NOTIFY_SOCKET", notify, 1);
    pid_t pid = mvt_spawn(argv, log_path);
    unsetenv("NOTIFY_SOCKET");
    /* READY from anyone else (a daemon it started) would not say this one is up */
    if (pid > 0 &&
        (mvt_notify_wait(fd, "READY=1", timeout_ms, &sender, NULL) < 0 || sender != pid)) {
        mvt_pid_wait(pid, SIGKILL, 5000, NULL);
        pid = -1;
    }
    close(fd);
    unlink(notify);
    free(notify);
    return pid;
}

int mvt_wait_path(const char *path, int timeout_ms)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    int ret = -1;
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0)
        return -1;
    /* the watch first, then the check: a file created in between is not missed */
    if (inotify_add_watch(fd, dir[0] ? dir : "/", IN_CREATE | IN_MOVED_TO) < 0)
        goto cleanup;
    long long deadline = clock_ms() + timeout_ms;
    for (;;) {
        struct stat st;
        if (lstat(path, &st) == 0) {
            ret = 0;
            break;
        }
        long long left = deadline - clock_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
            break;
        char ev[4096];
        while (read(fd, ev, sizeof(ev)) > 0) {
        }
    }
cleanup:
    close(fd);
    return ret;
}

long mvt_rss_kib(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    char *s = mvt_read_file(path);
    const char *p = s ? strstr(s, "VmRSS:") : NULL;
    long kib = p ? strtol(p + strlen("VmRSS:"), NULL, 10) : -1;
    free(s);
    return kib;
}
