/* qemu_ports.c: hands out VNC/SPICE TCP ports — each at most once until released, and
 * only ports nobody on the host is bound to (another program may own 5900). */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "virtqemud/qemu_command.h"

struct qemu_ports {
    pthread_mutex_t lock;
    int min, max;
    uint8_t *used; /* one byte per port: simple, and 60 KiB at most */
};

qemu_ports *qemu_ports_new(int min, int max, mv_error *err)
{
    qemu_ports *p = NULL;

    if (min < 1 || max > 65535 || min > max) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, "invalid port range %d-%d", min, max);
        return NULL;
    }
    if (!(p = calloc(1, sizeof(*p))) || !(p->used = calloc((size_t)(max - min + 1), 1))) {
        free(p);
        mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot create port allocator");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->min = min;
    p->max = max;
    return p;
}

void qemu_ports_free(qemu_ports *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->used);
    free(p);
}

/* Whether some process already listens on (or holds) the port, on IPv4 or IPv6. */
static bool port_busy(int port)
{
    int fams[2] = {AF_INET, AF_INET6};

    for (int i = 0; i < 2; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        int fd = socket(fams[i], SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1, rc;

        if (fd < 0)
            continue; /* no IPv6 on this host: nothing can hold the port there */
        memset(&ss, 0, sizeof(ss));
        if (fams[i] == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;

            a->sin_family = AF_INET;
            a->sin_port = htons((uint16_t)port);
            a->sin_addr.s_addr = htonl(INADDR_ANY);
            len = sizeof(*a);
        } else {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

            a->sin6_family = AF_INET6;
            a->sin6_port = htons((uint16_t)port);
            a->sin6_addr = in6addr_any;
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
            len = sizeof(*a);
        }
        /* SO_REUSEADDR as QEMU sets it: a port in TIME_WAIT is usable for it. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        rc = bind(fd, (struct sockaddr *)&ss, len);
        close(fd);
        if (rc < 0 && errno == EADDRINUSE)
            return true;
    }
    return false;
}

int qemu_ports_acquire(qemu_ports *p, mv_error *err)
{
    int port = -1;

    pthread_mutex_lock(&p->lock);
    for (int i = p->min; i <= p->max; i++) {
        if (p->used[i - p->min])
            continue;
        if (port_busy(i))
            continue;
        p->used[i - p->min] = 1;
        port = i;
        break;
    }
    pthread_mutex_unlock(&p->lock);
    if (port < 0)
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "no free port left in %d-%d for a display", p->min, p->max);
    return port;
}

int qemu_ports_reserve(qemu_ports *p, int port, mv_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&p->lock);
    if (port < p->min || port > p->max)
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, "port %d is outside %d-%d", port,
                     p->min, p->max);
    else if (p->used[port - p->min])
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "port %d is already taken", port);
    else {
        p->used[port - p->min] = 1;
        ret = 0;
    }
    pthread_mutex_unlock(&p->lock);
    return ret;
}

void qemu_ports_release(qemu_ports *p, int port)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    if (port >= p->min && port <= p->max)
        p->used[port - p->min] = 0;
    pthread_mutex_unlock(&p->lock);
}
