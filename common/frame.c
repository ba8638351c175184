/* frame.c: the frame codec (see frame.h): reassembly, envelope peek, building frames. */
#include "common/frame.h"

#include <stdlib.h>
#include <string.h>

/* Smallest buffer kept; reads are at least this big so small frames batch well. */
#define READER_MIN_CAP 65536u

void mv_frame_reader_init(mv_frame_reader *r, size_t max_frame)
{
    memset(r, 0, sizeof(*r));
    r->max_frame = max_frame ? max_frame : MV_FRAME_MAX;
}

void mv_frame_reader_free(mv_frame_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->start = r->len = r->cap = 0;
}

static uint32_t read_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Makes room for `want` more bytes after len, first by sliding unconsumed data to the
 * front, then by growing. */
static int reader_reserve(mv_frame_reader *r, size_t want)
{
    if (r->start > 0 && (r->start == r->len || r->cap - r->len < want)) {
        memmove(r->buf, r->buf + r->start, r->len - r->start);
        r->len -= r->start;
        r->start = 0;
    }
    if (r->cap - r->len >= want)
        return 0;
    size_t limit = r->max_frame + MV_FRAME_HEADER_LEN;
    size_t need = r->len + want;
    size_t cap = r->cap ? r->cap : READER_MIN_CAP;
    while (cap < need)
        cap *= 2;
    if (cap > limit && need <= limit)
        cap = limit;
    else if (need > limit)
        cap = need;
    uint8_t *nb = realloc(r->buf, cap);
    if (!nb)
        return -1;
    r->buf = nb;
    r->cap = cap;
    return 0;
}

uint8_t *mv_frame_reader_space(mv_frame_reader *r, size_t want, size_t *avail)
{
    /* Give back the memory of one huge frame once it has been consumed, so a single
     * 32 MiB call does not pin 32 MiB per connection forever. */
    if (r->start == r->len && r->cap > 16 * READER_MIN_CAP) {
        free(r->buf);
        r->buf = NULL;
        r->start = r->len = r->cap = 0;
    }
    if (want < READER_MIN_CAP)
        want = READER_MIN_CAP;
    /* Never ask for more than the rest of the frame being assembled needs, so one
     * read cannot balloon the buffer past a frame's worth. */
    size_t pending = r->len - r->start;
    if (pending >= MV_FRAME_HEADER_LEN) {
        size_t total = (size_t)read_be32(r->buf + r->start) + MV_FRAME_HEADER_LEN;
        if (total <= r->max_frame + MV_FRAME_HEADER_LEN && total > pending &&
            total - pending > want)
            want = total - pending;
    }
    if (reader_reserve(r, want) < 0) {
        *avail = 0;
        return NULL;
    }
    *avail = r->cap - r->len;
    return r->buf + r->len;
}

void mv_frame_reader_commit(mv_frame_reader *r, size_t n)
{
    r->len += n;
}

int mv_frame_reader_feed(mv_frame_reader *r, const void *data, size_t n, mv_error *err)
{
    if (n == 0)
        return 0;
    if (reader_reserve(r, n) < 0) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "frame buffer of %zu bytes",
                     r->len + n);
        return -1;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    return 0;
}

int mv_frame_reader_next(mv_frame_reader *r, const uint8_t **payload, size_t *len,
                         mv_error *err)
{
    if (r->failed) {
        mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC, "stream is unusable after a bad frame");
        return -1;
    }
    size_t pending = r->len - r->start;
    if (pending < MV_FRAME_HEADER_LEN)
        return 0;
    uint32_t n = read_be32(r->buf + r->start);
    if (n == 0) {
        r->failed = 1;
        mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC, "empty frame (length 0)");
        return -1;
    }
    if (n > r->max_frame) {
        r->failed = 1;
        mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC,
                     "frame of %u bytes exceeds the limit of %zu bytes", n, r->max_frame);
        return -1;
    }
    if (pending - MV_FRAME_HEADER_LEN < n)
        return 0;
    *payload = r->buf + r->start + MV_FRAME_HEADER_LEN;
    *len = n;
    r->start += MV_FRAME_HEADER_LEN + n;
    return 1;
}

/* ---- envelope peek: just enough protobuf wire format to read the scalar fields ---- */

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1; /* more than 10 bytes */
}

int mv_envelope_peek(const uint8_t *env, size_t len, mv_envelope_head *head, mv_error *err)
{
    const uint8_t *p = env, *end = env + len;
    memset(head, 0, sizeof(*head));
    while (p < end) {
        uint64_t key, v;
        size_t offset = (size_t)(p - env);
        if (read_varint(&p, end, &key) < 0)
            goto bad;
        uint64_t field = key >> 3;
        switch (key & 7) {
        case 0: /* varint */
            if (read_varint(&p, end, &v) < 0)
                goto bad;
            switch (field) {
            case 1: head->serial = (uint32_t)v; break;
            case 2: head->kind = (uint32_t)v; break;
            case 3: head->proc = (uint32_t)v; break;
            case 4: head->seq = v; break;
            case 5: head->timeout_ms = (uint32_t)v; break;
            case 6: head->stream_status = (uint32_t)v; break;
            default: break;
            }
            break;
        case 1: /* 64-bit */
            if ((size_t)(end - p) < 8)
                goto bad;
            p += 8;
            break;
        case 2: /* length-delimited: skipped, never copied */
            if (read_varint(&p, end, &v) < 0 || v > (uint64_t)(end - p))
                goto bad;
            p += v;
            break;
        case 5: /* 32-bit */
            if ((size_t)(end - p) < 4)
                goto bad;
            p += 4;
            break;
        default:
            mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC,
                         "malformed envelope: wire type %u at byte %zu",
                         (unsigned)(key & 7), offset);
            return -1;
        }
        continue;
    bad:
        mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC,
                     "malformed envelope: truncated field at byte %zu of %zu", offset, len);
        return -1;
    }
    return 0;
}

Modvirt__Envelope *mv_envelope_unpack(const uint8_t *env, size_t len, mv_error *err)
{
    Modvirt__Envelope *e = modvirt__envelope__unpack(NULL, len, env);
    if (!e)
        mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC, "malformed envelope (%zu bytes)", len);
    return e;
}

void mv_envelope_free(Modvirt__Envelope *env)
{
    if (env)
        modvirt__envelope__free_unpacked(env, NULL);
}

ProtobufCMessage *mv_body_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                                 size_t len, mv_error *err)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, data);
    if (!m)
        mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC, "malformed %s message (%zu bytes)",
                     desc->short_name, len);
    return m;
}

static void error_to_wire(Modvirt__Error *w, const mv_error *e)
{
    w->code = e->code;
    w->domain = e->domain;
    w->level = VIR_ERR_ERROR;
    /* the wire struct only borrows the message for the duration of the pack */
    w->message = e->message ? e->message : (char *)"unknown error";
}

int mv_frame_build(const mv_frame_spec *spec, uint8_t **frame, size_t *frame_len,
                   mv_error *err)
{
    Modvirt__Envelope env = MODVIRT__ENVELOPE__INIT;
    Modvirt__Error wire_error = MODVIRT__ERROR__INIT;
    uint8_t *body = NULL;
    int ret = -1;

    env.serial = spec->serial;
    env.kind = spec->kind;
    env.proc = spec->proc;
    env.seq = spec->seq;
    env.timeout_ms = spec->timeout_ms;
    env.stream_status = spec->stream_status;
    env.resume_seq = spec->resume_seq;
    if (spec->body) {
        size_t blen = protobuf_c_message_get_packed_size(spec->body);
        if (blen > MV_FRAME_MAX) {
            mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC,
                         "message of %zu bytes exceeds the frame limit of %u bytes", blen,
                         MV_FRAME_MAX);
            goto cleanup;
        }
        body = malloc(blen ? blen : 1);
        if (!body)
            goto oom;
        protobuf_c_message_pack(spec->body, body);
        env.body.data = body;
        env.body.len = blen;
    } else if (spec->raw_body) {
        env.body.data = (uint8_t *)spec->raw_body;
        env.body.len = spec->raw_body_len;
    }
    if (spec->error && spec->error->code != VIR_ERR_OK) {
        error_to_wire(&wire_error, spec->error);
        env.error = &wire_error;
    }

    size_t n = modvirt__envelope__get_packed_size(&env);
    if (n > MV_FRAME_MAX) {
        mv_error_set(err, VIR_ERR_RPC, VIR_FROM_RPC,
                     "frame of %zu bytes exceeds the limit of %u bytes", n, MV_FRAME_MAX);
        goto cleanup;
    }
    uint8_t *out = malloc(MV_FRAME_HEADER_LEN + n);
    if (!out)
        goto oom;
    out[0] = (uint8_t)(n >> 24);
    out[1] = (uint8_t)(n >> 16);
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
    modvirt__envelope__pack(&env, out + MV_FRAME_HEADER_LEN);
    *frame = out;
    *frame_len = MV_FRAME_HEADER_LEN + n;
    ret = 0;
    goto cleanup;
oom:
    mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "building a frame");
cleanup:
    free(body);
    return ret;
}

void mv_error_from_wire(mv_error *dst, const Modvirt__Error *wire)
{
    if (!wire) {
        mv_error_set(dst, VIR_ERR_RPC, VIR_FROM_RPC, "error frame without an error");
        return;
    }
    mv_error_set_raw(dst, wire->code ? wire->code : VIR_ERR_INTERNAL_ERROR, wire->domain,
                     wire->message);
}
