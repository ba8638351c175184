/* mailbox.c: functions queued from any thread and run on the loop thread (uv_async). */
#include "common/daemon/service.h"

#include <stdlib.h>

struct mv_mail {
    void (*fn)(void *ctx, void *opaque);
    void *ctx;
    void *opaque;
    mv_mail *next;
};

/* Takes the whole queue under the lock, then runs it without the lock, so a function
 * may post again (it runs on a later turn). */
static void run_queue(mv_mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    mv_mail *m = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&mb->lock);
    while (m) {
        mv_mail *next = m->next;
        m->fn(m->ctx, m->opaque);
        free(m);
        m = next;
    }
}

static void on_async(uv_async_t *h)
{
    run_queue(h->data);
}

int mv_mailbox_init(mv_mailbox *mb, uv_loop_t *loop, mv_error *err)
{
    mb->head = mb->tail = NULL;
    mb->closed = false;
    pthread_mutex_init(&mb->lock, NULL);
    int rc = uv_async_init(loop, &mb->async, on_async);
    if (rc < 0) {
        pthread_mutex_destroy(&mb->lock);
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, "cannot set up the mailbox: %s",
                     uv_strerror(rc));
        return -1;
    }
    mb->async.data = mb;
    return 0;
}

int mv_mailbox_post(mv_mailbox *mb, void (*fn)(void *ctx, void *opaque), void *ctx, void *opaque)
{
    mv_mail *m = malloc(sizeof(*m));
    if (!m)
        return -1;
    m->fn = fn;
    m->ctx = ctx;
    m->opaque = opaque;
    m->next = NULL;
    pthread_mutex_lock(&mb->lock);
    if (mb->closed) {
        pthread_mutex_unlock(&mb->lock);
        free(m);
        return -1;
    }
    if (mb->tail)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    /* Sent under the lock so close cannot slip in between and close the handle. */
    uv_async_send(&mb->async);
    pthread_mutex_unlock(&mb->lock);
    return 0;
}

void mv_mailbox_close(mv_mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    if (mb->closed) {
        pthread_mutex_unlock(&mb->lock);
        return;
    }
    mb->closed = true;
    pthread_mutex_unlock(&mb->lock);
    run_queue(mb);
    /* The lock stays usable: other threads may still try to post (and be refused) until
     * the owner of the mailbox is freed, after the driver stopped its threads. */
    uv_close((uv_handle_t *)&mb->async, NULL);
}
