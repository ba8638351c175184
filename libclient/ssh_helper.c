/* ssh_helper.c: modvirt-ssh-helper, the remote end of a qemu+ssh:// tunnel.
 *
 * ssh runs "modvirt-ssh-helper [--readonly] URI" on the remote host; the helper connects
 * its stdin/stdout to that host's virtproxyd socket (starting virtproxyd when nothing
 * listens, as a local client would) and copies bytes both ways until either side ends.
 * What it prints on stderr reaches the client's error message through ssh. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/paths.h"
#include "common/spawn.h"
#include "common/uri.h"

#define PROXY "virtproxyd"

static int usage(void)
{
    fprintf(stderr, "usage: modvirt-ssh-helper [--readonly] URI\n");
    return 2;
}

/* The local virtproxyd socket for uri, connected. -1 + err. */
static int connect_proxy(const char *uri, bool readonly, mv_error *err)
{
    mv_uri *u = NULL;
    mv_paths paths = {0};
    char *sock = NULL;
    int fd = -1;
    if (mv_uri_parse(uri, &u, err) < 0 || mv_paths_init(&paths, err) < 0)
        goto cleanup;
    bool wants_system = u->path && strcmp(u->path, "/system") == 0;
    if (!paths.system && wants_system) {
        /* This user cannot start the system instance; only reach it. */
        free(paths.run_dir);
        paths.run_dir = strdup("/run/modvirt");
        if (paths.run_dir && mv_paths_socket(&paths, PROXY, readonly, &sock, err) == 0)
            fd = mv_socket_connect(sock, err);
        goto cleanup;
    }
    if (mv_paths_socket(&paths, PROXY, readonly, &sock, err) == 0)
        fd = mv_daemon_connect_or_start(&paths, PROXY, sock, 30000, err);
cleanup:
    mv_uri_free(u);
    mv_paths_free(&paths);
    free(sock);
    return fd;
}

/* Writes all of buf to fd. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Copies stdin -> sock and sock -> stdout until the daemon's side ends. */
static int relay(int sock)
{
    bool in_open = true;
    char buf[65536];
    for (;;) {
        struct pollfd fds[2] = {{in_open ? STDIN_FILENO : -1, POLLIN, 0}, {sock, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("modvirt-ssh-helper: poll");
            return 1;
        }
        if (fds[0].revents) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                /* The client is done: let the daemon see EOF, then drain its answer. */
                in_open = false;
                shutdown(sock, SHUT_WR);
            } else if (write_all(sock, buf, (size_t)n) < 0) {
                return 0; /* the daemon went away */
            }
        }
        if (fds[1].revents) {
            ssize_t n = read(sock, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return 0;
            if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
                return 0; /* ssh went away */
        }
    }
}

int main(int argc, char **argv)
{
    bool readonly = false;
    const char *uri = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--readonly") == 0)
            readonly = true;
        else if (argv[i][0] == '-' || uri)
            return usage();
        else
            uri = argv[i];
    }
    if (!uri)
        return usage();
    signal(SIGPIPE, SIG_IGN); /* a closed peer shows up as a write error instead */

    mv_error err = MV_ERROR_INIT;
    int sock = connect_proxy(uri, readonly, &err);
    if (sock < 0) {
        fprintf(stderr, "modvirt-ssh-helper: %s\n", err.message ? err.message : "failed");
        mv_error_clear(&err);
        return 1;
    }
    int rc = relay(sock);
    close(sock);
    return rc;
}
