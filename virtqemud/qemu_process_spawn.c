/* qemu_process_spawn.c: detached qemu processes — spawn, pidfd, /proc stat — and the live
 * status file that lets a restarted daemon find them again. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/store.h"
#include "virtqemud/qemu_process.h"

extern char **environ;

/* Our environment minus what belongs to our own service manager, plus env_add. */
static char **child_env(char *const *env_add)
{
    size_t n = 0, extra = 0, k = 0;
    char **env;

    while (environ[n])
        n++;
    while (env_add && env_add[extra])
        extra++;
    if (!(env = calloc(n + extra + 1, sizeof(*env))))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        /* qemu must not answer our starter's NOTIFY_SOCKET nor claim its sockets. */
        if (strncmp(environ[i], "NOTIFY_SOCKET=", 14) == 0 ||
            strncmp(environ[i], "LISTEN_", 7) == 0)
            continue;
        env[k++] = environ[i];
    }
    for (size_t i = 0; i < extra; i++)
        env[k++] = env_add[i];
    return env;
}

/* In the grandchild: becomes qemu or reports errno on fd and exits. Only async-signal
 * safe calls: the daemon has threads. */
static void __attribute__((noreturn))
exec_child(char *const *argv, char **env, int logfd, int nullfd, int report)
{
    int e;

    if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
        goto fail;
    /* Every other descriptor but the report pipe (close-on-exec) goes. */
    for (int fd = 3; fd < 1024; fd++)
        if (fd != report)
            close(fd);
    syscall(SYS_close_range, 1024, ~0U, 0);
    signal(SIGPIPE, SIG_DFL);
    execve(argv[0], argv, env);
fail:
    e = errno;
    (void)!write(report, &e, sizeof(e));
    _exit(127);
}

int qemu_spawn_detached(char *const *argv, char *const *env_add, const char *log_path, pid_t *pid,
                        mv_error *err)
{
    char **env = NULL;
    int logfd = -1, nullfd = -1, pfd[2] = {-1, -1}, status, ret = -1;
    pid_t mid = -1, child = -1;
    sigset_t all, old;
    ssize_t n;
    int e = 0;

    if (!argv || !argv[0] || argv[0][0] != '/') {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "the emulator must be given by absolute path");
        return -1;
    }
    if (!(env = child_env(env_add))) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot start %s", argv[0]);
        goto cleanup;
    }
    if ((logfd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot open log file '%s'", log_path);
        goto cleanup;
    }
    if ((nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot start %s", argv[0]);
        goto cleanup;
    }
    /* No signal handler of ours may run in the children. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    mid = fork();
    if (mid == 0) {
        /* The middle process: a new session, the grandchild, and gone, so qemu is
         * nobody's child here and outlives the daemon. */
        close(pfd[0]);
        for (int s = 1; s < NSIG; s++)
            signal(s, SIG_DFL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (setsid() < 0)
            _exit(126);
        child = fork();
        if (child == 0)
            exec_child(argv, env, logfd, nullfd, pfd[1]);
        (void)!write(pfd[1], &child, sizeof(child));
        _exit(child < 0 ? 125 : 0);
    }
    e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (mid < 0) {
        mv_error_set_errno(err, e, VIR_FROM_QEMU, "cannot fork for %s", argv[0]);
        goto cleanup;
    }
    close(pfd[1]);
    pfd[1] = -1;
    while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
        ;
    while ((n = read(pfd[0], &child, sizeof(child))) < 0 && errno == EINTR)
        ;
    if (n != sizeof(child) || child <= 0) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "cannot start %s: the helper process failed", argv[0]);
        goto cleanup;
    }
    /* EOF at exec; an int before it is exec's errno. */
    while ((n = read(pfd[0], &e, sizeof(e))) < 0 && errno == EINTR)
        ;
    if (n == sizeof(e)) {
        mv_error_set_errno(err, e, VIR_FROM_QEMU, "cannot execute %s", argv[0]);
        goto cleanup;
    }
    *pid = child;
    ret = 0;

cleanup:
    free(env);
    if (logfd >= 0)
        close(logfd);
    if (nullfd >= 0)
        close(nullfd);
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    return ret;
}

int qemu_pidfd_open(pid_t pid, mv_error *err)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);

    if (fd < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot watch process %d", (int)pid);
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

bool qemu_pidfd_wait(int pidfd, int timeout_ms)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;

    while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    return r > 0;
}

bool qemu_pidfd_alive(int pidfd)
{
    return !qemu_pidfd_wait(pidfd, 0);
}

int qemu_pidfd_kill(int pidfd, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int qemu_proc_stat(pid_t pid, unsigned long long *cpu_ns, unsigned long long *start_ticks)
{
    char path[64], buf[1024], *p;
    unsigned long long utime = 0, stime = 0, start = 0;
    ssize_t n;
    int fd;
    long hz = sysconf(_SC_CLK_TCK);

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    /* The command name may hold spaces and parentheses: fields start after the last ')'.
     * Then: state(3) ... utime(14) stime(15) ... starttime(22). */
    if (!(p = strrchr(buf, ')')))
        return -1;
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
               "%*d %*d %llu",
               &utime, &stime, &start) != 3)
        return -1;
    if (hz <= 0)
        hz = 100;
    if (cpu_ns)
        *cpu_ns = (utime + stime) * (1000000000ULL / (unsigned long long)hz);
    if (start_ticks)
        *start_ticks = start;
    return 0;
}

/* ---- the live status file ------------------------------------------------------------- */

int qemu_status_write(const char *path, const qemu_status *st, mv_error *err)
{
    char *dom = NULL, *text = NULL, *mon = NULL;
    int ret = -1;

    /* Secrets included: the status is private (0600) and must restore what runs. */
    if (!(dom = mv_domain_def_format(st->def, st->id, MV_DOMAIN_DEF_FORMAT_SECURE, err)))
        goto cleanup;
    if (!(mon = (char *)xmlEncodeSpecialChars(NULL, (const xmlChar *)st->monitor)))
        goto nomem;
    if (asprintf(&text,
                 "<domstatus state='%d' reason='%d' pid='%d' id='%d' starttime='%llu' "
                 "persistent='%s' guestshutdown='%s' fakereboot='%s'>\n  <monitor path='%s'/>\n%s"
                 "</domstatus>\n",
                 st->state, st->reason, (int)st->pid, st->id, st->start_ticks,
                 st->persistent ? "yes" : "no", st->guest_shutdown ? "yes" : "no",
                 st->fake_reboot ? "yes" : "no", mon, dom) < 0) {
        text = NULL;
        goto nomem;
    }
    ret = mv_file_write_atomic(path, text, strlen(text), 0600, err);
    goto cleanup;

nomem:
    mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot write live status '%s'", path);
cleanup:
    xmlFree(mon);
    free(dom);
    free(text);
    return ret;
}

static long long attr_num(xmlNode *n, const char *name, bool *ok)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    char *end = NULL;
    long long x = 0;

    if (!v) {
        *ok = false;
        return 0;
    }
    errno = 0;
    x = strtoll((const char *)v, &end, 10);
    if (errno || end == (char *)v || *end)
        *ok = false;
    xmlFree(v);
    return x;
}

static bool attr_yes(xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    bool yes = v && strcmp((const char *)v, "yes") == 0;

    xmlFree(v);
    return yes;
}

int qemu_status_read(const char *path, qemu_status *st, mv_error *err)
{
    char *data = NULL;
    size_t len = 0;
    xmlDoc *doc = NULL;
    xmlNode *root, *c, *dom = NULL, *mon = NULL;
    xmlBuffer *buf = NULL;
    xmlChar *mpath = NULL;
    bool ok = true;
    int ret = -1;

    memset(st, 0, sizeof(*st));
    if (mv_file_read(path, 16u << 20, &data, &len, err) < 0)
        goto cleanup;
    if (!(doc = xmlReadMemory(data, (int)len, path, NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) ||
        !(root = xmlDocGetRootElement(doc)) || strcmp((const char *)root->name, "domstatus") != 0)
        goto bad;
    for (c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!dom && strcmp((const char *)c->name, "domain") == 0)
            dom = c;
        else if (!mon && strcmp((const char *)c->name, "monitor") == 0)
            mon = c;
    }
    st->state = (int)attr_num(root, "state", &ok);
    st->reason = (int)attr_num(root, "reason", &ok);
    st->pid = (pid_t)attr_num(root, "pid", &ok);
    st->id = (int)attr_num(root, "id", &ok);
    st->start_ticks = (unsigned long long)attr_num(root, "starttime", &ok);
    st->persistent = attr_yes(root, "persistent");
    st->guest_shutdown = attr_yes(root, "guestshutdown");
    st->fake_reboot = attr_yes(root, "fakereboot");
    if (!ok || !dom || !mon || !(mpath = xmlGetProp(mon, (const xmlChar *)"path")) ||
        st->pid <= 0 || st->id <= 0)
        goto bad;
    if (!(st->monitor = strdup((const char *)mpath)) || !(buf = xmlBufferCreate()) ||
        xmlNodeDump(buf, doc, dom, 0, 0) < 0) {
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot read live status '%s'", path);
        goto cleanup;
    }
    if (!(st->def =
              mv_domain_def_parse((const char *)xmlBufferContent(buf), (size_t)xmlBufferLength(buf),
                                  MV_DOMAIN_DEF_PARSE_LIVE, err))) {
        mv_error_prefix(err, "live status '%s': ", path);
        goto cleanup;
    }
    ret = 0;
    goto cleanup;

bad:
    mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "malformed live status '%s'", path);
cleanup:
    if (ret < 0)
        qemu_status_clear(st);
    xmlFree(mpath);
    if (buf)
        xmlBufferFree(buf);
    xmlFreeDoc(doc);
    free(data);
    return ret;
}

void qemu_status_clear(qemu_status *st)
{
    free(st->monitor);
    mv_domain_def_free(st->def);
    memset(st, 0, sizeof(*st));
}
