/* stream_window.h: flow control of stream frames (STREAM_CREDIT, proto/modvirt.proto),
 * shared by the client library and the daemon runtime.
 *
 * Each side of a stream may have at most MV_STREAM_WINDOW bytes of data sent that the
 * other side has not yet credited. The receiver credits bytes once it has taken them out
 * of its own buffer (the application read them, or the fd took them), in batches of at
 * least MV_STREAM_CREDIT_BATCH so a busy stream does not answer every frame. A batch is
 * a quarter of the window, so the sender always has room while the receiver is reading:
 * no deadlock, and each side buffers at most one window per stream whatever the other
 * does. The accounting is pure (no I/O), unit-tested on its own. */
#ifndef MV_STREAM_WINDOW_H
#define MV_STREAM_WINDOW_H

#include <stddef.h>
#include <stdint.h>
#include "common/error.h"
#include "common/frame.h"

#define MV_STREAM_WINDOW (256u * 1024u)
#define MV_STREAM_CREDIT_BATCH (MV_STREAM_WINDOW / 4u)

typedef struct mv_stream_window {
    uint64_t can_send; /* bytes we may send before the peer credits more */
    uint64_t can_recv; /* bytes the peer may still send us */
    uint64_t taken;    /* bytes we took out of our buffer and have not credited yet */
} mv_stream_window;

void mv_stream_window_init(mv_stream_window *w);
/* We sent n bytes of data (n <= can_send). */
void mv_stream_window_sent(mv_stream_window *w, size_t n);
/* n bytes of data arrived: -1 when the peer sent more than we granted. */
int mv_stream_window_arrived(mv_stream_window *w, size_t n);
/* We took n bytes out of our buffer. Returns the credit to send now, or 0 while the
 * batch is not full (the bytes are remembered for the next one). */
uint64_t mv_stream_window_took(mv_stream_window *w, size_t n);
/* The peer credited `bytes`: -1 when that is more than we ever sent it. */
int mv_stream_window_credited(mv_stream_window *w, uint64_t bytes);

/* Fills spec for a STREAM_CREDIT frame of the stream of call `serial`; spec points to
 * msg, which must live as long as spec is used. */
void mv_stream_credit_spec(mv_frame_spec *spec, Modvirt__StreamCredit *msg, uint32_t serial,
                           uint32_t proc, uint64_t bytes);
/* The bytes a STREAM_CREDIT envelope grants. -1 + err when its body is malformed. */
int mv_stream_credit_parse(const Modvirt__Envelope *env, uint64_t *bytes, mv_error *err);

#endif
