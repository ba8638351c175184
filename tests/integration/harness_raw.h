/* harness_raw.h: a raw client that speaks modvirt frames over a daemon's UNIX socket, for
 * tests that send what no library would: garbage, bad lengths, odd procedures, a frame one
 * byte at a time, calls it never reads the answers to. Built on common/frame.h. */
#ifndef MVT_HARNESS_RAW_H
#define MVT_HARNESS_RAW_H

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "common/frame.h"
#include "harness.h"

typedef struct mvt_raw {
    int fd;
    mv_frame_reader rd;
} mvt_raw;

/* Connects to the UNIX socket at path. 0, or -1 with errno. */
static inline int mvt_raw_connect(mvt_raw *r, const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memset(r, 0, sizeof(*r));
    r->fd = -1;
    if (strlen(path) >= sizeof(a.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    r->fd = fd;
    mv_frame_reader_init(&r->rd, 0);
    return 0;
}

static inline void mvt_raw_close(mvt_raw *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    mv_frame_reader_free(&r->rd);
}

/* Writes all of buf (blocking). 0, or -1 with errno (EPIPE when the peer is gone: never
 * a SIGPIPE). */
static inline int mvt_raw_write(mvt_raw *r, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = send(r->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A whole CALL frame for proc with body (a message, or raw bytes when raw is not NULL),
 * malloc'd into *frame. 0 or -1. */
static inline int mvt_raw_build(uint32_t serial, uint32_t proc, const ProtobufCMessage *body,
                                const uint8_t *raw, size_t raw_len, uint8_t **frame,
                                size_t *frame_len)
{
    mv_frame_spec spec = {.serial = serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_CALL,
                          .proc = proc,
                          .body = body,
                          .raw_body = raw,
                          .raw_body_len = raw_len};
    return mv_frame_build(&spec, frame, frame_len, NULL);
}

/* Sends a CALL frame (see mvt_raw_build). 0 or -1. */
static inline int mvt_raw_call(mvt_raw *r, uint32_t serial, uint32_t proc,
                               const ProtobufCMessage *body, const uint8_t *raw, size_t raw_len)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    if (mvt_raw_build(serial, proc, body, raw, raw_len, &frame, &len) < 0)
        return -1;
    int rc = mvt_raw_write(r, frame, len);
    free(frame);
    return rc;
}

/* The next frame from the peer within timeout_ms: 1 with *env (free with
 * mv_envelope_free), 0 at end of file, -1 on a timeout, a bad frame or a read error. */
static inline int mvt_raw_read(mvt_raw *r, Modvirt__Envelope **env, int timeout_ms)
{
    long long deadline = mvt_now_ms() + timeout_ms;
    *env = NULL;
    for (;;) {
        const uint8_t *payload = NULL;
        size_t len = 0;
        int got = mv_frame_reader_next(&r->rd, &payload, &len, NULL);
        if (got < 0)
            return -1;
        if (got > 0) {
            *env = mv_envelope_unpack(payload, len, NULL);
            return *env ? 1 : -1;
        }
        long long left = deadline - mvt_now_ms();
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) != 1)
            return -1;
        size_t avail = 0;
        uint8_t *space = mv_frame_reader_space(&r->rd, 65536, &avail);
        if (!space)
            return -1;
        ssize_t n = read(r->fd, space, avail);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == ECONNRESET ? 0 : -1;
        if (n == 0)
            return 0;
        mv_frame_reader_commit(&r->rd, (size_t)n);
    }
}

/* Waits until the peer has read everything we sent (our socket's send queue is empty:
 * a UNIX socket's bytes stay charged to the sender until the receiver takes them). No
 * event says so, hence the bounded 100 µs polling. 0, or -1 at the deadline. */
static inline int mvt_raw_wait_taken(mvt_raw *r, int timeout_ms)
{
    long long deadline = mvt_now_ms() + timeout_ms;
    for (;;) {
        int queued = 0;
        if (ioctl(r->fd, SIOCOUTQ, &queued) < 0)
            return -1;
        if (queued == 0)
            return 0;
        if (mvt_now_ms() >= deadline)
            return -1;
        struct timespec step = {0, 100000};
        nanosleep(&step, NULL);
    }
}

#endif
