/* spawn.c: finding, starting (detached, with a notify socket) and reaching daemons. */
#include "common/spawn.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- finding ------------------------------------------------------------------------ */

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Appends "dir/name" as a candidate unless the same directory is already listed. */
static int add_candidate(char **dirs, size_t *n, char *dir)
{
    if (!dir)
        return -1;
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(dirs[i], dir) == 0) {
            free(dir);
            return 0;
        }
    }
    dirs[(*n)++] = dir;
    return 0;
}

char *mv_daemon_find(const char *name, mv_error *err)
{
    char *dirs[4] = {NULL};
    size_t ndirs = 0;
    char *found = NULL;
    char *looked = NULL;
    int rc = -1;

    /* An explicit MODVIRT_DAEMON_DIR is the only place looked at: a test or a user who
     * sets it must never silently get some other build's daemon. */
    const char *env = getenv("MODVIRT_DAEMON_DIR");
    if (env && *env) {
        rc = add_candidate(dirs, &ndirs, strdup(env));
    } else {
        char exe[PATH_MAX];
        ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        rc = 0;
        if (len > 0) {
            exe[len] = '\0';
            rc = add_candidate(dirs, &ndirs, dir_of(exe));
        }
        /* The object this code is linked into: libmodvirt.so when a program uses the
         * library from anywhere, so a build tree's lib/ finds its ../bin. */
        Dl_info info;
        if (rc == 0 && dladdr((void *)&mv_daemon_find, &info) && info.dli_fname &&
            info.dli_fname[0] == '/') {
            char *libdir = dir_of(info.dli_fname);
            char *bindir = NULL;
            if (libdir && asprintf(&bindir, "%s/../bin", libdir) < 0)
                bindir = NULL;
            free(libdir);
            char *real = bindir ? realpath(bindir, NULL) : NULL;
            free(bindir);
            if (real)
                rc = add_candidate(dirs, &ndirs, real);
        }
        if (rc == 0)
            rc = add_candidate(dirs, &ndirs, strdup(MODVIRT_INSTALL_BINDIR));
    }
    if (rc < 0) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "looking for daemon %s", name);
        goto cleanup;
    }

    for (size_t i = 0; i < ndirs && !found; i++) {
        char *cand = NULL;
        if (asprintf(&cand, "%s/%s", dirs[i], name) < 0) {
            mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "looking for daemon %s", name);
            goto cleanup;
        }
        if (is_executable_file(cand)) {
            found = cand;
            break;
        }
        char *more = NULL;
        if (asprintf(&more, "%s%s%s", looked ? looked : "", looked ? ", " : "", cand) < 0)
            more = NULL;
        free(looked);
        looked = more;
        free(cand);
    }
    if (!found)
        mv_error_set_errno(err, ENOENT, VIR_FROM_RPC, "cannot find daemon %s (looked at %s%s)",
                           name, looked ? looked : "nothing",
                           env && *env ? ", as MODVIRT_DAEMON_DIR says" : "");

cleanup:
    for (size_t i = 0; i < ndirs; i++)
        free(dirs[i]);
    free(looked);
    return found;
}

/* ---- connecting ----------------------------------------------------------------------- */

/* connect() without an error report: fd, or -1 with errno set. */
static int try_connect(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc;
    do {
        rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int mv_socket_connect(const char *path, mv_error *err)
{
    if (mv_check_socket_path(path, err) < 0)
        return -1;
    int fd = try_connect(path);
    if (fd < 0)
        mv_error_set_errno(err, errno, VIR_FROM_RPC, "Failed to connect socket to '%s'", path);
    return fd;
}

/* ---- time ------------------------------------------------------------------------------ */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(long long deadline)
{
    long long left = deadline - now_ms();
    if (left < 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

/* ---- the start lock --------------------------------------------------------------------- */

/* Takes an exclusive flock on path before the deadline. flock() has no timeout, so poll
 * with a short, growing pause: the holder is normally done within a daemon's start-up. */
static int lock_with_deadline(const char *path, long long deadline, const char *name,
                              mv_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot open start lock '%s' of %s", path,
                           name);
        return -1;
    }
    long pause_us = 1000;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot lock '%s' to start %s", path,
                               name);
            break;
        }
        if (remaining_ms(deadline) == 0) {
            mv_error_set(err, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_RPC,
                         "another process kept '%s' locked while starting %s", path, name);
            break;
        }
        struct timespec ts = {0, pause_us * 1000};
        nanosleep(&ts, NULL);
        if (pause_us < 20000)
            pause_us *= 2;
    }
    close(fd);
    return -1;
}

/* ---- the notify socket ------------------------------------------------------------------- */

static int notify_open(const char *path, mv_error *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC,
                     "notify socket path '%s' is longer than %zu bytes", path,
                     sizeof(addr.sun_path) - 1);
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot create notify socket");
        return -1;
    }
    int one = 1;
    /* Stale file from a starter that died: we hold the start lock, so it is ours now. */
    unlink(path);
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot bind notify socket '%s'", path);
        close(fd);
        return -1;
    }
    return fd;
}

typedef struct notify_state {
    bool ready;
    bool stopping;
    char status[512];
} notify_state;

/* Applies one datagram of "KEY=VALUE" lines to st. */
static void notify_parse(notify_state *st, const char *msg, size_t len)
{
    const char *p = msg, *end = msg + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n == 7 && memcmp(p, "READY=1", 7) == 0)
            st->ready = true;
        else if (n == 10 && memcmp(p, "STOPPING=1", 10) == 0)
            st->stopping = true;
        else if (n >= 7 && memcmp(p, "STATUS=", 7) == 0) {
            size_t v = n - 7;
            if (v >= sizeof(st->status))
                v = sizeof(st->status) - 1;
            memcpy(st->status, p + 7, v);
            st->status[v] = '\0';
        }
        p += n + 1;
    }
}

/* Reads every queued datagram. Only messages from our own uid (or root) count. */
static void notify_drain(int fd, notify_state *st)
{
    for (;;) {
        char buf[4096];
        union {
            struct cmsghdr align;
            char space[CMSG_SPACE(sizeof(struct ucred))];
        } ctl;
        struct iovec iov = {buf, sizeof(buf) - 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space,
                            .msg_controllen = sizeof(ctl.space)};
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        bool trusted = false;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred cred;
                memcpy(&cred, CMSG_DATA(c), sizeof(cred));
                trusted = cred.uid == geteuid() || cred.uid == 0;
            }
        }
        if (trusted)
            notify_parse(st, buf, (size_t)n);
    }
}

/* ---- spawning -------------------------------------------------------------------------- */

/* Messages on the status pipe from the children (each write is atomic: < PIPE_BUF). */
enum { MSG_PID = 1, MSG_EXEC_ERRNO = 2, MSG_SETUP_ERRNO = 3 };
typedef struct child_msg {
    int type;
    int value;
} child_msg;

/* A copy of environ with NOTIFY_SOCKET replaced and systemd's activation variables of
 * *this* process removed (they describe our sockets, not the child's). */
static char **child_env(const char *notify_path)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **envp = calloc(n + 2, sizeof(char *));
    if (!envp)
        return NULL;
    size_t k = 0;
    static const char *const drop[] = {"NOTIFY_SOCKET=", "LISTEN_PID=", "LISTEN_FDS=",
                                       "LISTEN_FDNAMES="};
    for (size_t i = 0; i < n; i++) {
        bool skip = false;
        for (size_t d = 0; d < sizeof(drop) / sizeof(drop[0]); d++)
            skip = skip || strncmp(environ[i], drop[d], strlen(drop[d])) == 0;
        if (!skip)
            envp[k++] = environ[i]; /* borrowed */
    }
    char *ns = NULL;
    if (asprintf(&ns, "NOTIFY_SOCKET=%s", notify_path) < 0) {
        free(envp);
        return NULL;
    }
    envp[k++] = ns; /* the one owned entry, freed by child_env_free */
    envp[k] = NULL;
    return envp;
}

static void child_env_free(char **envp)
{
    if (!envp)
        return;
    size_t k = 0;
    while (envp[k])
        k++;
    if (k > 0)
        free(envp[k - 1]);
    free(envp);
}

/* Runs in the grandchild, after fork in a possibly threaded process: only
 * async-signal-safe calls from here to execve. */
static void __attribute__((noreturn))
exec_daemon(const char *exe, char *const argv[], char *const envp[], int devnull, int pipe_w)
{
    child_msg m = {MSG_SETUP_ERRNO, 0};
    if (dup2(devnull, STDIN_FILENO) < 0 || dup2(devnull, STDOUT_FILENO) < 0 ||
        dup2(devnull, STDERR_FILENO) < 0)
        goto fail;
    /* Keep only stdio and the status pipe (close-on-exec) open in the daemon. */
    if (pipe_w > 3)
        close_range(3, (unsigned)pipe_w - 1, 0);
    close_range((unsigned)pipe_w + 1, ~0U, 0);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    m.type = MSG_EXEC_ERRNO;
    execve(exe, argv, envp);
fail:
    m.value = errno;
    (void)!write(pipe_w, &m, sizeof(m));
    _exit(127);
}

/* Double-forks exe detached from us. Returns the daemon's pid, or -1 + err. */
static pid_t spawn_detached(const char *name, const char *exe, char *const argv[],
                            char *const envp[], int *status_fd, mv_error *err)
{
    int pfd[2] = {-1, -1};
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    pid_t daemon_pid = -1;
    if (devnull < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot open /dev/null to start %s", name);
        goto cleanup;
    }
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot create a pipe to start %s", name);
        goto cleanup;
    }
    pid_t mid = fork();
    if (mid < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot fork to start %s", name);
        goto cleanup;
    }
    if (mid == 0) {
        /* Intermediate: new session, fork the daemon, report its pid, leave. The daemon
         * is then reparented to init, so we never have to reap it. */
        child_msg m = {MSG_SETUP_ERRNO, 0};
        if (setsid() < 0) {
            m.value = errno;
            (void)!write(pfd[1], &m, sizeof(m));
            _exit(127);
        }
        pid_t d = fork();
        if (d == 0)
            exec_daemon(exe, argv, envp, devnull, pfd[1]);
        m.type = d < 0 ? MSG_SETUP_ERRNO : MSG_PID;
        m.value = d < 0 ? errno : d;
        (void)!write(pfd[1], &m, sizeof(m));
        _exit(d < 0 ? 127 : 0);
    }
    close(pfd[1]);
    pfd[1] = -1;
    int wst;
    while (waitpid(mid, &wst, 0) < 0 && errno == EINTR)
        ;
    /* The intermediate has written (or failed to write) its one message before exiting;
     * the daemon may have written an exec error too, in either order. */
    for (;;) {
        child_msg m;
        ssize_t n = read(pfd[0], &m, sizeof(m));
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof(m)) {
            mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC,
                         "starting %s (%s): the helper process died unexpectedly", name, exe);
            break;
        }
        if (m.type == MSG_PID) {
            daemon_pid = m.value;
            break;
        }
        mv_error_set_errno(err, m.value, VIR_FROM_RPC, "cannot %s %s",
                           m.type == MSG_EXEC_ERRNO ? "execute" : "start", exe);
        break;
    }
    if (daemon_pid > 0) {
        *status_fd = pfd[0];
        pfd[0] = -1;
    }

cleanup:
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (devnull >= 0)
        close(devnull);
    return daemon_pid;
}

/* Waits for READY=1 from the daemon, its failure report, its exit or the deadline. */
static int wait_ready(const char *name, const char *exe, const char *log_path, pid_t pid,
                      int notify_fd, int status_fd, long long deadline, int timeout_ms,
                      mv_error *err)
{
    notify_state st = {0};
    int pidfd = pidfd_open(pid, 0);
    bool exited = pidfd < 0 && errno == ESRCH;
    int rc = -1;

    while (!exited) {
        struct pollfd fds[3] = {{notify_fd, POLLIN, 0}, {status_fd, POLLIN, 0},
                                {pidfd, POLLIN, 0}};
        int nfds = pidfd >= 0 ? 3 : 2;
        if (status_fd < 0)
            fds[1].fd = -1;
        int left = remaining_ms(deadline);
        int n = poll(fds, (nfds_t)nfds, left);
        if (n < 0 && errno != EINTR) {
            mv_error_set_errno(err, errno, VIR_FROM_RPC, "waiting for %s to start", name);
            goto cleanup;
        }
        if (fds[0].revents)
            notify_drain(notify_fd, &st);
        if (st.ready || st.stopping)
            break;
        if (status_fd >= 0 && fds[1].revents) {
            child_msg m;
            ssize_t r = read(status_fd, &m, sizeof(m));
            if (r == (ssize_t)sizeof(m) && m.type == MSG_EXEC_ERRNO) {
                mv_error_set_errno(err, m.value, VIR_FROM_RPC, "cannot execute %s", exe);
                goto cleanup;
            }
            /* EOF: the exec succeeded, the pipe closed with it. */
            status_fd = -1;
        }
        if (pidfd >= 0 && fds[2].revents)
            exited = true;
        if (n == 0 && !exited) {
            if (pidfd >= 0)
                pidfd_send_signal(pidfd, SIGTERM, NULL, 0);
            mv_error_set(err, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_RPC,
                         "%s (%s) did not report ready within %d ms%s%s; see its log %s", name,
                         exe, timeout_ms, st.status[0] ? ", last status: " : "", st.status,
                         log_path);
            goto cleanup;
        }
    }
    /* A daemon that reports its failure and exits at once: the report may be queued. */
    notify_drain(notify_fd, &st);
    if (st.stopping && !st.ready) {
        mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_RPC, "%s failed to start: %s (log: %s)",
                     name, st.status[0] ? st.status : "no reason given", log_path);
        goto cleanup;
    }
    if (!st.ready) {
        mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_RPC,
                     "%s (%s) exited during start-up without reporting ready; see its log %s",
                     name, exe, log_path);
        goto cleanup;
    }
    rc = 0;

cleanup:
    if (pidfd >= 0)
        close(pidfd);
    return rc;
}

/* Starts `name` and waits for it; caller holds the start lock. */
static int start_daemon(const mv_paths *paths, const char *name, long long deadline,
                        int timeout_ms, mv_error *err)
{
    char *exe = NULL, *notify_path = NULL, *log_path = NULL;
    char **envp = NULL;
    int notify_fd = -1, status_fd = -1;
    int rc = -1;
    char timeout_arg[16];
    snprintf(timeout_arg, sizeof(timeout_arg), "%d", MV_ONDEMAND_IDLE_TIMEOUT);

    if (!(exe = mv_daemon_find(name, err)))
        goto cleanup;
    if (asprintf(&notify_path, "%s/%s.notify", paths->run_dir, name) < 0 ||
        asprintf(&log_path, "%s/%s.log", paths->log_dir, name) < 0) {
        notify_path = log_path = NULL;
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "starting %s", name);
        goto cleanup;
    }
    if ((notify_fd = notify_open(notify_path, err)) < 0)
        goto cleanup;
    if (!(envp = child_env(notify_path))) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "starting %s", name);
        goto cleanup;
    }
    char *argv[] = {exe, "--timeout", timeout_arg, NULL};
    pid_t pid = spawn_detached(name, exe, argv, envp, &status_fd, err);
    if (pid < 0)
        goto cleanup;
    rc = wait_ready(name, exe, log_path, pid, notify_fd, status_fd, deadline, timeout_ms, err);

cleanup:
    if (notify_fd >= 0) {
        close(notify_fd);
        unlink(notify_path);
    }
    if (status_fd >= 0)
        close(status_fd);
    child_env_free(envp);
    free(exe);
    free(notify_path);
    free(log_path);
    return rc;
}

/* Errors of connect() that mean "nobody is serving there (yet)". */
static bool start_would_help(int errnum)
{
    return errnum == ENOENT || errnum == ECONNREFUSED || errnum == ENOTSOCK;
}

int mv_daemon_connect_or_start(const mv_paths *paths, const char *name, const char *sock_path,
                               int timeout_ms, mv_error *err)
{
    /* A caller without an opinion gets a generous default rather than no wait at all. */
    if (timeout_ms <= 0)
        timeout_ms = 30000;
    long long deadline = now_ms() + timeout_ms;
    char *lock_path = NULL;
    int lock_fd = -1;
    int fd = -1;

    if (mv_check_socket_path(sock_path, err) < 0)
        return -1;
    fd = try_connect(sock_path);
    if (fd >= 0)
        return fd;
    if (!start_would_help(errno)) {
        mv_error_set_errno(err, errno, VIR_FROM_RPC, "Failed to connect socket to '%s'",
                           sock_path);
        return -1;
    }

    if (mv_paths_make_run_dir(paths, err) < 0)
        goto cleanup;
    if (asprintf(&lock_path, "%s/%s.start.lock", paths->run_dir, name) < 0) {
        lock_path = NULL;
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "starting %s", name);
        goto cleanup;
    }
    if ((lock_fd = lock_with_deadline(lock_path, deadline, name, err)) < 0)
        goto cleanup;
    /* Whoever held the lock before us may have started it already. */
    fd = try_connect(sock_path);
    if (fd >= 0)
        goto cleanup;
    if (start_daemon(paths, name, deadline, timeout_ms, err) < 0)
        goto cleanup;
    fd = try_connect(sock_path);
    if (fd < 0)
        mv_error_set_errno(err, errno, VIR_FROM_RPC,
                           "%s reported ready but its socket '%s' does not answer", name,
                           sock_path);

cleanup:
    if (lock_fd >= 0)
        close(lock_fd); /* releases the flock */
    free(lock_path);
    return fd;
}
