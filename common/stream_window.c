/* stream_window.c: the accounting of stream flow control, and the STREAM_CREDIT frame. */
#include "common/stream_window.h"

void mv_stream_window_init(mv_stream_window *w)
{
    w->can_send = MV_STREAM_WINDOW;
    w->can_recv = MV_STREAM_WINDOW;
    w->taken = 0;
}

void mv_stream_window_sent(mv_stream_window *w, size_t n)
{
    w->can_send = n > w->can_send ? 0 : w->can_send - n;
}

int mv_stream_window_arrived(mv_stream_window *w, size_t n)
{
    if (n > w->can_recv)
        return -1;
    w->can_recv -= n;
    return 0;
}

uint64_t mv_stream_window_took(mv_stream_window *w, size_t n)
{
    w->taken += n;
    if (w->taken < MV_STREAM_CREDIT_BATCH)
        return 0;
    uint64_t credit = w->taken;
    w->taken = 0;
    w->can_recv += credit;
    return credit;
}

int mv_stream_window_credited(mv_stream_window *w, uint64_t bytes)
{
    if (bytes > MV_STREAM_WINDOW - w->can_send)
        return -1;
    w->can_send += bytes;
    return 0;
}

void mv_stream_credit_spec(mv_frame_spec *spec, Modvirt__StreamCredit *msg, uint32_t serial,
                           uint32_t proc, uint64_t bytes)
{
    modvirt__stream_credit__init(msg);
    msg->bytes = bytes;
    *spec = (mv_frame_spec){.serial = serial,
                            .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                            .proc = proc,
                            .stream_status = MODVIRT__STREAM_STATUS__STREAM_CREDIT,
                            .body = &msg->base};
}

int mv_stream_credit_parse(const Modvirt__Envelope *env, uint64_t *bytes, mv_error *err)
{
    Modvirt__StreamCredit *c = (Modvirt__StreamCredit *)mv_body_unpack(
        &modvirt__stream_credit__descriptor, env->body.data, env->body.len, err);
    if (!c)
        return -1;
    *bytes = c->bytes;
    protobuf_c_message_free_unpacked(&c->base, NULL);
    return 0;
}
