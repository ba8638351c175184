/* wqueue.c: a stream's outgoing bytes — small frames batched into one write per loop
 * turn, large ones written as they are, and a high-water mark so a peer that does not
 * read cannot make us buffer without limit.
 *
 * While a write is in flight, new small frames keep gathering in the batch, which goes
 * out when that write completes: a slow reader then costs one buffer the size of what is
 * waiting, not one buffer (and one write) per loop turn. */
#include "common/daemon/service.h"

#include <stdlib.h>
#include <string.h>
#include "common/frame.h"

/* Frames up to this size are copied into the batch; bigger ones keep their own buffer. */
#define WQ_COPY_MAX (16u * 1024u)
#define WQ_BATCH_MIN 4096u

typedef struct wreq {
    uv_write_t req;
    mv_wq *wq;
    uint8_t *buf;
    size_t len;
} wreq;

/* Full above `high`; not full again until drained to a quarter of it, so a queue hovering
 * at the mark does not flip reading on and off for every frame. */
static void update_full(mv_wq *wq)
{
    bool full = wq->full ? wq->queued > wq->high / 4 : wq->queued > wq->high;
    if (full != wq->full) {
        wq->full = full;
        if (wq->on_full)
            wq->on_full(wq, full);
    }
}

void mv_wq_init(mv_wq *wq, uv_stream_t *stream, size_t high, void *owner)
{
    memset(wq, 0, sizeof(*wq));
    wq->stream = stream;
    wq->high = high;
    wq->owner = owner;
}

static int write_batch(mv_wq *wq);

static void on_written(uv_write_t *req, int status)
{
    wreq *r = (wreq *)req;
    mv_wq *wq = r->wq;
    wq->reqs--;
    wq->queued -= r->len;
    free(r->buf);
    free(r);
    if (status == UV_ECANCELED)
        return; /* the stream is closing; its owner knows */
    if (status < 0) {
        if (wq->on_error)
            wq->on_error(wq, status);
        return;
    }
    if (wq->reqs == 0 && wq->batch_len > 0 && write_batch(wq) < 0)
        return;
    update_full(wq);
    if (wq->reqs == 0 && wq->queued == 0 && wq->on_idle)
        wq->on_idle(wq);
}

/* Hands buf (counted in queued already) to libuv. */
static int submit(mv_wq *wq, uint8_t *buf, size_t len)
{
    wreq *r = malloc(sizeof(*r));
    if (!r) {
        free(buf);
        wq->queued -= len;
        if (wq->on_error)
            wq->on_error(wq, UV_ENOMEM);
        return -1;
    }
    r->wq = wq;
    r->buf = buf;
    r->len = len;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned int)len);
    int rc = uv_write(&r->req, wq->stream, &b, 1, on_written);
    if (rc < 0) {
        free(buf);
        free(r);
        wq->queued -= len;
        if (wq->on_error)
            wq->on_error(wq, rc);
        return -1;
    }
    wq->reqs++;
    return 0;
}

static int reserve(mv_wq *wq, size_t len)
{
    if (wq->batch_cap - wq->batch_len >= len)
        return 0;
    size_t cap = wq->batch_cap ? wq->batch_cap : WQ_BATCH_MIN;
    while (cap - wq->batch_len < len)
        cap *= 2;
    uint8_t *nb = realloc(wq->batch, cap);
    if (!nb)
        return -1;
    wq->batch = nb;
    wq->batch_cap = cap;
    return 0;
}

int mv_wq_put(mv_wq *wq, const void *data, size_t len)
{
    if (reserve(wq, len) < 0)
        return -1;
    memcpy(wq->batch + wq->batch_len, data, len);
    wq->batch_len += len;
    wq->queued += len;
    update_full(wq);
    return 0;
}

int mv_wq_put_frame(mv_wq *wq, const uint8_t *payload, size_t len)
{
    if (reserve(wq, MV_FRAME_HEADER_LEN + len) < 0)
        return -1;
    uint8_t *p = wq->batch + wq->batch_len;
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    memcpy(p + MV_FRAME_HEADER_LEN, payload, len);
    wq->batch_len += MV_FRAME_HEADER_LEN + len;
    wq->queued += MV_FRAME_HEADER_LEN + len;
    update_full(wq);
    return 0;
}

int mv_wq_put_owned(mv_wq *wq, uint8_t *buf, size_t len)
{
    if (len <= WQ_COPY_MAX) {
        int rc = mv_wq_put(wq, buf, len);
        free(buf);
        return rc;
    }
    /* keep the order: what is batched goes first, even behind a write in flight */
    if (wq->batch_len > 0 && write_batch(wq) < 0) {
        free(buf);
        return -1;
    }
    wq->queued += len;
    int rc = submit(wq, buf, len);
    update_full(wq);
    return rc;
}

/* Writes the batch now: directly when nothing is ahead of it, else as a queued write. */
static int write_batch(mv_wq *wq)
{
    if (wq->reqs == 0) {
        /* Nothing ahead of us: write now and keep the batch buffer for the next turn. */
        uv_buf_t b = uv_buf_init((char *)wq->batch, (unsigned int)wq->batch_len);
        int n = uv_try_write(wq->stream, &b, 1);
        if (n < 0 && n != UV_EAGAIN) {
            wq->queued -= wq->batch_len;
            wq->batch_len = 0;
            if (wq->on_error)
                wq->on_error(wq, n);
            return -1;
        }
        if (n > 0) {
            memmove(wq->batch, wq->batch + n, wq->batch_len - (size_t)n);
            wq->batch_len -= (size_t)n;
            wq->queued -= (size_t)n;
        }
        if (wq->batch_len == 0)
            return 0;
    }
    uint8_t *buf = wq->batch;
    size_t len = wq->batch_len;
    wq->batch = NULL;
    wq->batch_len = wq->batch_cap = 0;
    return submit(wq, buf, len);
}

int mv_wq_flush(mv_wq *wq)
{
    if (wq->batch_len == 0)
        return 0;
    /* behind a write in flight the batch waits for it (see on_written) and grows */
    if (wq->reqs > 0)
        return 0;
    int rc = write_batch(wq);
    update_full(wq);
    return rc;
}

bool mv_wq_idle(const mv_wq *wq)
{
    return wq->queued == 0 && wq->reqs == 0;
}

void mv_wq_free(mv_wq *wq)
{
    free(wq->batch);
    wq->batch = NULL;
    wq->batch_len = wq->batch_cap = 0;
}
