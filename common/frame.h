/* frame.h: the frame codec — length-prefixed envelopes, no I/O.
 *
 * Wire form: a 4-byte big-endian length N, then N bytes of a packed modvirt.Envelope
 * (proto/modvirt.proto). The reader takes bytes in whatever pieces the transport gives
 * and hands back whole frames; it refuses empty and oversized frames with a clear error,
 * after which the connection must be closed (the stream cannot be resynchronised). */
#ifndef MV_FRAME_H
#define MV_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include "common/error.h"
#include "proto/modvirt.pb-c.h"

#define MV_FRAME_HEADER_LEN 4u
#define MV_FRAME_MAX (32u * 1024u * 1024u) /* largest envelope accepted (DESIGN.md) */

typedef struct mv_frame_reader {
    uint8_t *buf;
    size_t start; /* first unconsumed byte */
    size_t len;   /* end of valid data */
    size_t cap;
    size_t max_frame;
    int failed; /* set once a bad length was seen; every later call fails */
} mv_frame_reader;

/* max_frame 0 means MV_FRAME_MAX. */
void mv_frame_reader_init(mv_frame_reader *r, size_t max_frame);
void mv_frame_reader_free(mv_frame_reader *r);

/* Writable space at the end of the buffer for a read of up to `want` bytes (grows the
 * buffer as needed, never beyond one maximal frame plus header). Returns NULL on
 * allocation failure. Pair with mv_frame_reader_commit(). */
uint8_t *mv_frame_reader_space(mv_frame_reader *r, size_t want, size_t *avail);
void mv_frame_reader_commit(mv_frame_reader *r, size_t n);

/* Copies n bytes in (for callers whose transport owns the buffer). -1 on ENOMEM. */
int mv_frame_reader_feed(mv_frame_reader *r, const void *data, size_t n, mv_error *err);

/* Takes the next complete frame. Returns 1 and points *payload and *len at the envelope
 * bytes (borrowed: valid until the next call on r), 0 when more bytes are needed, -1 on
 * a bad frame (err says why: "frame of N bytes exceeds the limit of M bytes", "empty
 * frame"). */
int mv_frame_reader_next(mv_frame_reader *r, const uint8_t **payload, size_t *len,
                         mv_error *err);

/* The envelope's scalar fields, read without unpacking (and without copying the body):
 * this is all the proxy looks at. Absent fields read as 0. -1 on malformed protobuf. */
typedef struct mv_envelope_head {
    uint32_t serial;
    uint32_t kind; /* Modvirt__FrameKind */
    uint32_t proc;
    uint64_t seq;
    uint32_t timeout_ms;
    uint32_t stream_status;
} mv_envelope_head;
int mv_envelope_peek(const uint8_t *env, size_t len, mv_envelope_head *head, mv_error *err);

/* Unpacks an envelope (free with mv_envelope_free). NULL + err on malformed input. */
Modvirt__Envelope *mv_envelope_unpack(const uint8_t *env, size_t len, mv_error *err);
void mv_envelope_free(Modvirt__Envelope *env);

/* Unpacks a procedure's message from an envelope body. NULL + err on malformed input.
 * Free with protobuf_c_message_free_unpacked(msg, NULL). */
ProtobufCMessage *mv_body_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                                 size_t len, mv_error *err);

/* Builds a whole frame (header + envelope) in one malloc'd buffer owned by the caller.
 * body may be NULL (empty body); error is used only for FRAME_ERROR / STREAM_ABORT.
 * Fails when the result would exceed MV_FRAME_MAX. */
typedef struct mv_frame_spec {
    uint32_t serial;
    Modvirt__FrameKind kind;
    uint32_t proc;
    uint64_t seq;
    uint32_t timeout_ms;
    Modvirt__StreamStatus stream_status;
    const ProtobufCMessage *body;   /* packed into Envelope.body */
    const uint8_t *raw_body;        /* or: already-packed body bytes (stream data) */
    size_t raw_body_len;
    const mv_error *error;
    uint64_t resume_seq; /* FRAME_CALL of an event registration replayed after a reconnect */
} mv_frame_spec;
int mv_frame_build(const mv_frame_spec *spec, uint8_t **frame, size_t *frame_len,
                   mv_error *err);

/* The structured error carried by an envelope, as an mv_error. */
void mv_error_from_wire(mv_error *dst, const Modvirt__Error *wire);

#endif
