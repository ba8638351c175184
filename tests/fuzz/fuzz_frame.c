/* fuzz_frame.c: the frame reader fed in random-sized pieces, then peek and unpack of each frame.
 *
 * Input: byte 0 picks the piece sizes, byte 1 the reader's frame limit, the rest is the
 * byte stream as a peer would send it. Besides "no crash", it checks that peek and the
 * full decoder agree on every field both can read: the proxy routes and enforces
 * read-only on what peek says, the daemon acts on what unpack says, so a disagreement
 * would let a crafted envelope mean one thing to the proxy and another to the daemon. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"

static void check_frame(const uint8_t *env, size_t len)
{
    mv_envelope_head head;
    mv_error err = MV_ERROR_INIT;
    int peeked = mv_envelope_peek(env, len, &head, &err);
    Modvirt__Envelope *e = mv_envelope_unpack(env, len, &err);
    if (e && peeked == 0) {
        if (head.serial != e->serial || head.kind != (uint32_t)e->kind ||
            head.proc != e->proc || head.seq != e->seq || head.timeout_ms != e->timeout_ms ||
            head.stream_status != (uint32_t)e->stream_status)
            __builtin_trap();
    }
    /* what the decoder accepts, peek must accept too (or the proxy drops good frames) */
    if (e && peeked < 0)
        __builtin_trap();
    if (e) {
        /* and a frame rebuilt from it survives the same path */
        mv_frame_spec spec = {.serial = e->serial,
                              .kind = e->kind,
                              .proc = e->proc,
                              .seq = e->seq,
                              .timeout_ms = e->timeout_ms,
                              .stream_status = e->stream_status,
                              .raw_body = e->body.data,
                              .raw_body_len = e->body.len};
        mv_error wire = MV_ERROR_INIT;
        if (e->error) {
            mv_error_from_wire(&wire, e->error);
            spec.error = &wire;
        }
        uint8_t *frame = NULL;
        size_t flen = 0;
        if (mv_frame_build(&spec, &frame, &flen, &err) == 0) {
            mv_envelope_head again;
            if (mv_envelope_peek(frame + MV_FRAME_HEADER_LEN, flen - MV_FRAME_HEADER_LEN, &again,
                                 &err) < 0 ||
                again.serial != e->serial || again.proc != e->proc || again.seq != e->seq)
                __builtin_trap();
            free(frame);
        }
        mv_error_clear(&wire);
        /* bodies are decoded by the procedure's own message type; try a common one */
        ProtobufCMessage *m = mv_body_unpack(&modvirt__domain_define_args__descriptor,
                                             e->body.data, e->body.len, &err);
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
    }
    mv_envelope_free(e);
    mv_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned pieces = data[0];
    size_t max_frame = data[1] & 0x80 ? 0 : (size_t)data[1] * 8 + 1; /* 0: the real limit */
    data += 2;
    size_t n = size - 2;

    mv_frame_reader r;
    mv_frame_reader_init(&r, max_frame);
    uint32_t rng = pieces * 2654435761u + 1;
    size_t off = 0;
    int dead = 0;
    while (off < n && !dead) {
        rng = rng * 1103515245u + 12345u;
        size_t piece = pieces == 0 ? n : 1 + (rng >> 16) % (pieces + 1u);
        if (piece > n - off)
            piece = n - off;
        if (rng & 0x100) {
            if (mv_frame_reader_feed(&r, data + off, piece, NULL) < 0)
                break;
        } else {
            size_t avail = 0;
            uint8_t *space = mv_frame_reader_space(&r, piece, &avail);
            if (!space || avail < piece)
                __builtin_trap(); /* space must offer at least what was asked */
            memcpy(space, data + off, piece);
            mv_frame_reader_commit(&r, piece);
        }
        off += piece;
        for (;;) {
            const uint8_t *payload;
            size_t plen;
            mv_error err = MV_ERROR_INIT;
            int rc = mv_frame_reader_next(&r, &payload, &plen, &err);
            if (rc < 0 && !err.message)
                __builtin_trap(); /* every refusal says why */
            mv_error_clear(&err);
            if (rc < 0)
                dead = 1;
            if (rc <= 0)
                break;
            if (plen == 0 || plen > (max_frame ? max_frame : MV_FRAME_MAX))
                __builtin_trap();
            check_frame(payload, plen);
        }
    }
    mv_frame_reader_free(&r);
    return 0;
}
