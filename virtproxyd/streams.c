/* streams.c: the streams a client has open through the proxy (calls like
 * DOMAIN_OPEN_CONSOLE whose reply opened one), so that when the driver daemon is lost each
 * is aborted with the reason, instead of leaving the client waiting on a stream nobody
 * serves. Frames themselves pass through untouched. */
#include <stdlib.h>
#include "virtproxyd/proxy.h"

void proxy_streams_answered(pclient *cl, uint32_t serial, uint32_t proc, bool ok)
{
    if (ok && proc == MV_PROC_DOMAIN_OPEN_CONSOLE)
        mv_sertab_put(&cl->streams, serial, proc);
}

void proxy_streams_frame(pclient *cl, const mv_envelope_head *h, bool from_daemon)
{
    /* the daemon's FINISH or ABORT ends the stream; so does the client's ABORT (its FINISH
     * waits for the daemon's) */
    if (h->stream_status == MODVIRT__STREAM_STATUS__STREAM_ABORT ||
        (from_daemon && h->stream_status == MODVIRT__STREAM_STATUS__STREAM_FINISH))
        mv_sertab_take(&cl->streams, h->serial, NULL);
}

static void abort_one(uint32_t serial, uint32_t proc, void *opaque)
{
    void **ctx = opaque;
    pclient *cl = ctx[0];
    mv_frame_spec spec = {.serial = serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                          .proc = proc,
                          .stream_status = MODVIRT__STREAM_STATUS__STREAM_ABORT,
                          .error = ctx[1]};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mv_frame_build(&spec, &buf, &len, NULL) == 0)
        mv_wq_put_owned(&cl->wq, buf, len);
}

void proxy_streams_lost(pclient *cl, const mv_error *err)
{
    void *ctx[2] = {cl, (void *)err};
    mv_sertab_drain(&cl->streams, abort_one, ctx);
}
