/* pidfile.c: <run_dir>/<daemon>.pid, locked with flock for the daemon's whole life. */
#include "common/daemon/service.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* PF_EXITING in /proc/PID/stat's flags: the process is inside exit(). */
#define MV_PF_EXITING 0x4u
/* How long a start waits for a killed holder to finish exiting. */
#define MV_PIDFILE_EXIT_WAIT_MS 5000

/* The lock holder's pid as written in the file, or 0 when unreadable. */
static long read_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end = NULL;
    long pid = strtol(buf, &end, 10);
    return (end != buf && pid > 0) ? pid : 0;
}

/* Whether pid is a process on its way out (killed, say): its socket may be closed
 * already while its pid file lock is released only as its last files close. */
static bool holder_exiting(long pid)
{
    char path[64], buf[1024];
    unsigned long flags = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    /* The name may hold anything; the fields start after its last ')': state, ppid,
     * pgrp, session, tty_nr, tpgid, then flags. */
    const char *p = strrchr(buf, ')');
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
        return false;
    return flags & MV_PF_EXITING;
}

/* Waits (bounded) for pid to have exited; its locks are gone then. */
static void wait_exited(long pid)
{
    int fd = pidfd_open((pid_t)pid, 0);
    struct pollfd p;

    if (fd < 0)
        return; /* gone already */
    p.fd = fd;
    p.events = POLLIN;
    while (poll(&p, 1, MV_PIDFILE_EXIT_WAIT_MS) < 0 && errno == EINTR)
        ;
    close(fd);
}

int mv_pidfile_acquire(mv_pidfile *pf, const char *path, mv_error *err)
{
    pf->fd = -1;
    pf->path = NULL;
    bool waited = false;
    /* A previous holder unlinks the file while it still holds the lock, so the file we
     * locked may already be gone from the folder: then try again with the new one. */
    for (int attempt = 0; attempt < 20; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
            mv_error_set_errno(err, errno, VIR_FROM_NONE, "cannot open pid file '%s'", path);
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno;
            long pid = read_pid(fd);
            close(fd);
            if (e == EWOULDBLOCK && pid > 0 && pid != (long)getpid() && !waited &&
                holder_exiting(pid)) {
                waited = true;
                wait_exited(pid);
                continue;
            }
            if (e != EWOULDBLOCK) {
                mv_error_set_errno(err, e, VIR_FROM_NONE, "cannot lock pid file '%s'", path);
            } else {
                /* the message is exactly what a user should read, no code prefix */
                char msg[600];
                if (pid > 0)
                    snprintf(msg, sizeof(msg), "already running (pid %ld)", pid);
                else
                    snprintf(msg, sizeof(msg), "already running (pid file '%s' is locked)", path);
                mv_error_set_raw(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_NONE, msg);
            }
            return -1;
        }
        struct stat held, now;
        if (fstat(fd, &held) < 0 || stat(path, &now) < 0 || held.st_ino != now.st_ino ||
            held.st_dev != now.st_dev) {
            close(fd);
            continue;
        }
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
            mv_error_set_errno(err, errno, VIR_FROM_NONE, "cannot write pid file '%s'", path);
            unlink(path);
            close(fd);
            return -1;
        }
        pf->path = strdup(path);
        if (!pf->path) {
            mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "pid file path");
            unlink(path);
            close(fd);
            return -1;
        }
        pf->fd = fd;
        return 0;
    }
    mv_error_set(err, VIR_ERR_OPERATION_FAILED, VIR_FROM_NONE,
                 "pid file '%s' keeps being replaced while locking it", path);
    return -1;
}

void mv_pidfile_release(mv_pidfile *pf)
{
    if (pf->fd >= 0) {
        unlink(pf->path);
        close(pf->fd);
    }
    pf->fd = -1;
    free(pf->path);
    pf->path = NULL;
}
