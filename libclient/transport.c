/* transport.c: opening the stream a URI leads to — the local virtproxyd socket (started
 * on demand) or an ssh tunnel to modvirt-ssh-helper on the remote host. */
#include "libclient/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/paths.h"
#include "common/spawn.h"

#define PROXY "virtproxyd"
#define SSH_HELPER "modvirt-ssh-helper"
/* How long a first command waits for virtproxyd to start. */
#define PROXY_START_TIMEOUT_MS 30000
/* Where the system daemons listen, for a session user asking for qemu:///system. */
#define SYSTEM_RUN_DIR "/run/modvirt"

static void stream_init(mvc_stream *s)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->child = -1;
    s->child_stderr = -1;
}

/* ---- local ----------------------------------------------------------------------------- */

static int open_local(const mv_uri *u, bool readonly, mvc_stream *out, mv_error *err)
{
    mv_paths paths = {0};
    char *sock = NULL;
    int fd = -1;

    /* ?socket=PATH names the proxy's socket outright (as libvirt's URIs do). */
    const char *explicit_sock = mv_uri_param_get(u, "socket");
    if (explicit_sock) {
        fd = mv_socket_connect(explicit_sock, err);
        goto done;
    }
    if (mv_paths_init(&paths, err) < 0)
        goto done;
    if (!paths.system && u->path && strcmp(u->path, "/system") == 0) {
        /* A user asking for the system instance: that daemon is root's to start. */
        char *dir = paths.run_dir;
        paths.run_dir = strdup(SYSTEM_RUN_DIR);
        free(dir);
        if (!paths.run_dir || mv_paths_socket(&paths, PROXY, readonly, &sock, err) < 0)
            goto done;
        fd = mv_socket_connect(sock, err);
        goto done;
    }
    if (mv_paths_socket(&paths, PROXY, readonly, &sock, err) < 0)
        goto done;
    fd = mv_daemon_connect_or_start(&paths, PROXY, sock, PROXY_START_TIMEOUT_MS, err);

done:
    mv_paths_free(&paths);
    free(sock);
    if (fd < 0)
        return -1;
    out->fd = fd;
    out->secure = true; /* a local socket: nobody can listen in */
    out->encrypted = false;
    out->peer = strdup(PROXY);
    return 0;
}

/* ---- ssh -------------------------------------------------------------------------------- */

static int open_ssh(const mv_uri *u, bool readonly, mvc_stream *out, char **wire_uri,
                    mv_error *err)
{
    char *remote_uri = mv_uri_format(u, 0);
    char *cmd = NULL;
    char **argv = NULL;
    int sv[2] = {-1, -1}, ep[2] = {-1, -1};
    int rc = -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_init = false, attr_init = false;

    if (!remote_uri) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_SSH, "building the remote URI");
        goto cleanup;
    }
    if (!(cmd = mvc_ssh_remote_command(SSH_HELPER, remote_uri, readonly, err)) ||
        !(argv = mvc_ssh_argv(u, cmd, err)))
        goto cleanup;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        pipe2(ep, O_CLOEXEC) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_SSH, "cannot create the tunnel to %s", u->host);
        goto cleanup;
    }
    /* posix_spawn, not fork: we may be one thread of many in the application. */
    posix_spawn_file_actions_init(&fa);
    fa_init = true;
    posix_spawn_file_actions_adddup2(&fa, sv[1], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, sv[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, ep[1], STDERR_FILENO);
    posix_spawnattr_init(&attr);
    attr_init = true;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    extern char **environ;
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    if (e != 0) {
        mv_error_set_errno(err, e, VIR_FROM_SSH, "cannot run '%s' to reach %s", argv[0],
                           u->host);
        goto cleanup;
    }
    out->fd = sv[0];
    sv[0] = -1;
    out->child = pid;
    out->child_stderr = ep[0];
    ep[0] = -1;
    out->secure = true;
    out->encrypted = true;
    if (asprintf(&out->peer, PROXY " on %s", u->host) < 0)
        out->peer = NULL;
    *wire_uri = remote_uri;
    remote_uri = NULL;
    rc = 0;

cleanup:
    if (fa_init)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_init)
        posix_spawnattr_destroy(&attr);
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
        if (ep[i] >= 0)
            close(ep[i]);
    }
    mvc_argv_free(argv);
    free(cmd);
    free(remote_uri);
    return rc;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mvc_stream_explain(int child_stderr, mv_error *err)
{
    if (child_stderr < 0 || !mv_error_is_set(err))
        return;
    char buf[2048];
    size_t len = 0;
    /* ssh writes its complaint and exits; give it a moment to finish (until EOF). */
    long long deadline = now_ms() + 2000;
    while (len < sizeof(buf) - 1) {
        long long left = deadline - now_ms();
        struct pollfd p = {child_stderr, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t n = read(child_stderr, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    if (len == 0)
        return;
    /* The last line is ssh's conclusion ("Permission denied", "Could not resolve"). */
    char *last = strrchr(buf, '\n');
    last = last ? last + 1 : buf;
    char *joined = NULL;
    bool prefixed = strncmp(last, "ssh:", 4) == 0;
    if (asprintf(&joined, "%s (%s%s)", err->message ? err->message : "", prefixed ? "" : "ssh: ",
                 last) >= 0) {
        free(err->message);
        err->message = joined;
    }
}

void mvc_stream_reap(pid_t child, int child_stderr)
{
    if (child_stderr >= 0)
        close(child_stderr);
    if (child <= 0)
        return;
    /* Our end of the tunnel is closed, so ssh ends on its own; do not wait forever. */
    int pidfd = pidfd_open(child, 0);
    if (pidfd >= 0) {
        struct pollfd p = {pidfd, POLLIN, 0};
        if (poll(&p, 1, 2000) <= 0)
            pidfd_send_signal(pidfd, SIGTERM, NULL, 0);
        close(pidfd);
    }
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* ---- dispatch on the transport ------------------------------------------------------------ */

int mvc_stream_open(const mv_uri *u, bool readonly, mvc_stream *out, char **wire_uri,
                   mv_error *err)
{
    stream_init(out);
    *wire_uri = NULL;
    if (mv_uri_is_local(u))
        return open_local(u, readonly, out, err);
    if (u->transport && strcmp(u->transport, "ssh") == 0)
        return open_ssh(u, readonly, out, wire_uri, err);
    /* No transport with a host means TLS, as in libvirt. */
    const char *transport = u->transport ? u->transport : "tls";
    mv_error_set(err, VIR_ERR_NO_CONNECT, VIR_FROM_RPC,
                 "transport '%s' (modvirt connects through local sockets and ssh; "
                 "try '%s+ssh://%s%s')",
                 transport, u->driver, u->host ? u->host : "", u->path ? u->path : "");
    return -1;
}
