/* listen.c: binding a daemon's own listening UNIX socket when systemd did not pass one. */
#include "common/daemon/service.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Enough for 100 clients arriving at once without a refused connect. */
#define LISTEN_BACKLOG 512

int mv_listen_unix(const char *path, mode_t mode, mv_error *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct stat st;
    int fd = -1;

    if (mv_check_socket_path(path, err) < 0)
        return -1;
    memcpy(addr.sun_path, path, strlen(path) + 1);

    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_RPC,
                         "refusing to replace '%s': it exists and is not a socket", path);
            return -1;
        }
        /* We hold the pid file lock, so no live instance is behind this socket. */
        if (unlink(path) < 0 && errno != ENOENT) {
            mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot remove stale socket '%s'", path);
            return -1;
        }
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot create a socket for '%s'", path);
        return -1;
    }
    /* Linux creates the socket file with the socket inode's mode minus the umask: making
     * that 0600 first means the file is never more open than the owner, even between
     * bind() and the chmod() that widens it to the mode asked for. */
    if (fchmod(fd, 0600) < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot bind socket '%s'", path);
        goto fail;
    }
    if (chmod(path, mode) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot set the mode of socket '%s'", path);
        unlink(path);
        goto fail;
    }
    if (listen(fd, LISTEN_BACKLOG) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_RPC, "cannot listen on socket '%s'", path);
        unlink(path);
        goto fail;
    }
    return fd;

fail:
    close(fd);
    return -1;
}
