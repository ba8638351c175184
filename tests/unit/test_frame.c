/* test_frame.c: the frame codec, fed bytes: reassembly, limits, peek, build and unpack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"

/* A CALL frame of lookup_by_name with the given name and serial. */
static uint8_t *call_frame(uint32_t serial, const char *name, size_t *len)
{
    Modvirt__LookupByNameArgs args = MODVIRT__LOOKUP_BY_NAME_ARGS__INIT;
    args.name = (char *)name;
    mv_frame_spec spec = {.serial = serial,
                          .kind = MODVIRT__FRAME_KIND__FRAME_CALL,
                          .proc = 17,
                          .body = &args.base};
    uint8_t *frame = NULL;
    mv_error err = MV_ERROR_INIT;
    if (mv_frame_build(&spec, &frame, len, &err) < 0)
        fail_msg("build: %s", err.message);
    return frame;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Unpacks the payload as an envelope and checks it is call `serial` for `name`. */
static void expect_call(const uint8_t *payload, size_t len, uint32_t serial, const char *name)
{
    mv_error err = MV_ERROR_INIT;
    Modvirt__Envelope *env = mv_envelope_unpack(payload, len, &err);
    assert_non_null(env);
    assert_int_equal(env->serial, serial);
    assert_int_equal(env->proc, 17);
    Modvirt__LookupByNameArgs *args = (Modvirt__LookupByNameArgs *)mv_body_unpack(
        &modvirt__lookup_by_name_args__descriptor, env->body.data, env->body.len, &err);
    assert_non_null(args);
    assert_string_equal(args->name, name);
    protobuf_c_message_free_unpacked(&args->base, NULL);
    mv_envelope_free(env);
}

static void test_one_byte_at_a_time(void **state)
{
    size_t len;
    uint8_t *frame = call_frame(7, "guest-one", &len);
    mv_frame_reader r;
    mv_frame_reader_init(&r, 0);
    const uint8_t *payload;
    size_t plen;
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, NULL), 0);
        assert_int_equal(mv_frame_reader_feed(&r, frame + i, 1, NULL), 0);
    }
    assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, NULL), 1);
    assert_int_equal(plen, len - MV_FRAME_HEADER_LEN);
    assert_memory_equal(payload, frame + MV_FRAME_HEADER_LEN, plen);
    expect_call(payload, plen, 7, "guest-one");
    assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, NULL), 0);
    mv_frame_reader_free(&r);
    free(frame);
}

static void test_many_in_one_chunk(void **state)
{
    enum { N = 500 };
    uint8_t *chunk = NULL;
    size_t total = 0;
    for (unsigned i = 1; i <= N; i++) {
        char name[32];
        size_t len;
        snprintf(name, sizeof(name), "vm-%u", i);
        uint8_t *f = call_frame(i, name, &len);
        chunk = realloc(chunk, total + len);
        memcpy(chunk + total, f, len);
        total += len;
        free(f);
    }
    mv_frame_reader r;
    mv_frame_reader_init(&r, 0);
    assert_int_equal(mv_frame_reader_feed(&r, chunk, total, NULL), 0);
    const uint8_t *payload;
    size_t plen;
    for (unsigned i = 1; i <= N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "vm-%u", i);
        assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, NULL), 1);
        expect_call(payload, plen, i, name);
    }
    assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, NULL), 0);
    mv_frame_reader_free(&r);
    free(chunk);
}

/* Pieces of every size from 1 to 37 bytes, crossing frame boundaries anywhere, through the
 * zero-copy space/commit interface. */
static void test_odd_pieces(void **state)
{
    enum { N = 50 };
    uint8_t *chunk = NULL;
    size_t total = 0;
    for (unsigned i = 0; i < N; i++) {
        size_t len;
        uint8_t *f = call_frame(i + 1, "a-name-long-enough-to-span-pieces", &len);
        chunk = realloc(chunk, total + len);
        memcpy(chunk + total, f, len);
        total += len;
        free(f);
    }
    for (size_t piece = 1; piece <= 37; piece++) {
        mv_frame_reader r;
        mv_frame_reader_init(&r, 0);
        unsigned got = 0;
        for (size_t off = 0; off < total; off += piece) {
            size_t n = total - off < piece ? total - off : piece, avail;
            uint8_t *space = mv_frame_reader_space(&r, n, &avail);
            assert_non_null(space);
            assert_true(avail >= n);
            memcpy(space, chunk + off, n);
            mv_frame_reader_commit(&r, n);
            const uint8_t *payload;
            size_t plen;
            while (mv_frame_reader_next(&r, &payload, &plen, NULL) == 1)
                expect_call(payload, plen, ++got, "a-name-long-enough-to-span-pieces");
        }
        assert_int_equal(got, N);
        mv_frame_reader_free(&r);
    }
    free(chunk);
}

/* A reader with a small limit: exactly at the limit passes, one over fails for good. */
static void test_limit_small(void **state)
{
    enum { MAX = 100 };
    uint8_t buf[MV_FRAME_HEADER_LEN + MAX + 1];
    memset(buf, 0, sizeof(buf));
    mv_frame_reader r;
    const uint8_t *payload;
    size_t plen;
    mv_error err = MV_ERROR_INIT;

    mv_frame_reader_init(&r, MAX);
    put_be32(buf, MAX);
    assert_int_equal(mv_frame_reader_feed(&r, buf, MV_FRAME_HEADER_LEN + MAX, &err), 0);
    assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, &err), 1);
    assert_int_equal(plen, MAX);
    mv_frame_reader_free(&r);

    mv_frame_reader_init(&r, MAX);
    put_be32(buf, MAX + 1);
    /* refused as soon as the header is in, before any of the body arrives */
    assert_int_equal(mv_frame_reader_feed(&r, buf, MV_FRAME_HEADER_LEN, &err), 0);
    assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, &err), -1);
    assert_int_equal(err.code, VIR_ERR_RPC);
    assert_string_equal(err.message, "frame of 101 bytes exceeds the limit of 100 bytes");
    /* the stream cannot be resynchronised: every later call fails too */
    assert_int_equal(mv_frame_reader_feed(&r, buf, sizeof(buf), &err), 0);
    assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, &err), -1);
    assert_non_null(strstr(err.message, "unusable"));
    mv_frame_reader_free(&r);
    mv_error_clear(&err);
}

/* The real 32 MiB limit: a frame exactly that big is reassembled, one byte more is not. */
static void test_limit_default(void **state)
{
    mv_frame_reader r;
    mv_error err = MV_ERROR_INIT;
    const uint8_t *payload;
    size_t plen;
    uint8_t head[MV_FRAME_HEADER_LEN];

    mv_frame_reader_init(&r, 0);
    put_be32(head, MV_FRAME_MAX);
    assert_int_equal(mv_frame_reader_feed(&r, head, sizeof(head), &err), 0);
    size_t left = MV_FRAME_MAX;
    while (left > 0) {
        size_t avail;
        uint8_t *space = mv_frame_reader_space(&r, 1 << 20, &avail);
        assert_non_null(space);
        size_t n = avail < left ? avail : left;
        memset(space, 0x5a, n);
        mv_frame_reader_commit(&r, n);
        left -= n;
        if (left > 0)
            assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, &err), 0);
    }
    /* the buffer never grew past one frame and its header */
    assert_true(r.cap <= MV_FRAME_MAX + MV_FRAME_HEADER_LEN);
    assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, &err), 1);
    assert_int_equal(plen, MV_FRAME_MAX);
    assert_int_equal(payload[0], 0x5a);
    assert_int_equal(payload[MV_FRAME_MAX - 1], 0x5a);
    /* the next space call gives the big buffer back */
    size_t avail;
    assert_non_null(mv_frame_reader_space(&r, 16, &avail));
    assert_true(r.cap < MV_FRAME_MAX);
    mv_frame_reader_free(&r);

    mv_frame_reader_init(&r, 0);
    put_be32(head, MV_FRAME_MAX + 1);
    assert_int_equal(mv_frame_reader_feed(&r, head, sizeof(head), &err), 0);
    assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, &err), -1);
    assert_non_null(strstr(err.message, "frame of 33554433 bytes exceeds the limit"));
    mv_frame_reader_free(&r);
    mv_error_clear(&err);
}

static void test_zero_length(void **state)
{
    uint8_t zero[MV_FRAME_HEADER_LEN] = {0};
    mv_frame_reader r;
    mv_error err = MV_ERROR_INIT;
    const uint8_t *payload;
    size_t plen;
    mv_frame_reader_init(&r, 0);
    assert_int_equal(mv_frame_reader_feed(&r, zero, sizeof(zero), &err), 0);
    assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, &err), -1);
    assert_string_equal(err.message, "empty frame (length 0)");
    mv_frame_reader_free(&r);
    mv_error_clear(&err);
}

/* An HTTP request or random text where a frame was expected. */
static void test_garbage(void **state)
{
    const char *texts[] = {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "\xff\xff\xff\xff",
                           "SSH-2.0-OpenSSH_9.2\r\n"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        mv_frame_reader r;
        mv_error err = MV_ERROR_INIT;
        const uint8_t *payload;
        size_t plen;
        mv_frame_reader_init(&r, 0);
        assert_int_equal(mv_frame_reader_feed(&r, texts[i], strlen(texts[i]), &err), 0);
        assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, &err), -1);
        assert_non_null(strstr(err.message, "exceeds the limit"));
        mv_frame_reader_free(&r);
        mv_error_clear(&err);
    }

    /* a frame of the right length holding garbage: framing passes, decoding refuses */
    uint8_t bad[] = {0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    mv_frame_reader r;
    mv_error err = MV_ERROR_INIT;
    const uint8_t *payload;
    size_t plen;
    mv_envelope_head head;
    mv_frame_reader_init(&r, 0);
    assert_int_equal(mv_frame_reader_feed(&r, bad, sizeof(bad), &err), 0);
    assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, &err), 1);
    assert_int_equal(mv_envelope_peek(payload, plen, &head, &err), -1);
    assert_null(mv_envelope_unpack(payload, plen, &err));
    assert_non_null(strstr(err.message, "malformed envelope"));
    mv_frame_reader_free(&r);
    mv_error_clear(&err);
}

static void test_truncated(void **state)
{
    size_t len;
    uint8_t *frame = call_frame(3, "truncated", &len);
    for (size_t cut = 0; cut < len; cut++) {
        mv_frame_reader r;
        const uint8_t *payload;
        size_t plen;
        mv_frame_reader_init(&r, 0);
        assert_int_equal(mv_frame_reader_feed(&r, frame, cut, NULL), 0);
        assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, NULL), 0);
        mv_frame_reader_free(&r);
    }
    /* a payload cut short but framed as complete: peek and unpack fail cleanly */
    for (size_t cut = 1; cut < len - MV_FRAME_HEADER_LEN; cut++) {
        mv_envelope_head head;
        const uint8_t *env = frame + MV_FRAME_HEADER_LEN;
        Modvirt__Envelope *e = mv_envelope_unpack(env, cut, NULL);
        int peeked = mv_envelope_peek(env, cut, &head, NULL);
        /* a cut between fields is a valid shorter envelope; inside a field it is not */
        if (e)
            assert_int_equal(peeked, 0);
        mv_envelope_free(e);
    }
    free(frame);
}

static void test_peek_fields(void **state)
{
    Modvirt__StringRet body = MODVIRT__STRING_RET__INIT;
    body.value = (char *)"hello";
    mv_frame_spec spec = {.serial = 0xfffffffeu,
                          .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                          .proc = 300,
                          .seq = (1ull << 63) + 5,
                          .timeout_ms = 123456,
                          .stream_status = MODVIRT__STREAM_STATUS__STREAM_ABORT,
                          .body = &body.base};
    mv_error problem = MV_ERROR_INIT;
    mv_error_set(&problem, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, "no domain with matching name '%s'",
                 "x");
    spec.error = &problem;
    uint8_t *frame;
    size_t len;
    assert_int_equal(mv_frame_build(&spec, &frame, &len, NULL), 0);
    const uint8_t *env = frame + MV_FRAME_HEADER_LEN;
    size_t elen = len - MV_FRAME_HEADER_LEN;
    assert_int_equal(((uint32_t)frame[0] << 24 | frame[1] << 16 | frame[2] << 8 | frame[3]),
                     elen);

    mv_envelope_head head;
    assert_int_equal(mv_envelope_peek(env, elen, &head, NULL), 0);
    assert_int_equal(head.serial, 0xfffffffeu);
    assert_int_equal(head.kind, MODVIRT__FRAME_KIND__FRAME_STREAM);
    assert_int_equal(head.proc, 300);
    assert_true(head.seq == (1ull << 63) + 5);
    assert_int_equal(head.timeout_ms, 123456);
    assert_int_equal(head.stream_status, MODVIRT__STREAM_STATUS__STREAM_ABORT);

    Modvirt__Envelope *e = mv_envelope_unpack(env, elen, NULL);
    assert_non_null(e);
    assert_int_equal(e->serial, head.serial);
    assert_true(e->seq == head.seq);
    mv_error back = MV_ERROR_INIT;
    mv_error_from_wire(&back, e->error);
    assert_int_equal(back.code, VIR_ERR_NO_DOMAIN);
    assert_int_equal(back.domain, VIR_FROM_QEMU);
    assert_string_equal(back.message, problem.message);
    Modvirt__StringRet *ret = (Modvirt__StringRet *)mv_body_unpack(
        &modvirt__string_ret__descriptor, e->body.data, e->body.len, NULL);
    assert_string_equal(ret->value, "hello");
    protobuf_c_message_free_unpacked(&ret->base, NULL);
    mv_envelope_free(e);
    mv_envelope_free(NULL);

    /* an envelope with nothing set peeks as all zeroes */
    mv_frame_spec empty = {0};
    free(frame);
    assert_int_equal(mv_frame_build(&empty, &frame, &len, NULL), 0);
    memset(&head, 0xaa, sizeof(head));
    assert_int_equal(mv_envelope_peek(frame + MV_FRAME_HEADER_LEN, len - MV_FRAME_HEADER_LEN,
                                      &head, NULL),
                     0);
    assert_int_equal(head.serial, 0);
    assert_int_equal(head.proc, 0);
    assert_true(head.seq == 0);
    mv_error_from_wire(&back, NULL);
    assert_int_equal(back.code, VIR_ERR_RPC);
    mv_error_clear(&back);
    mv_error_clear(&problem);
    free(frame);
}

/* Fields peek does not know are skipped whatever their wire type. */
static void test_peek_unknown_fields(void **state)
{
    const uint8_t env[] = {
        0x08, 0x05,                               /* serial = 5 */
        0x39, 1, 2, 3, 4, 5, 6, 7, 8,             /* field 7, 64-bit */
        0x45, 1, 2, 3, 4,                         /* field 8, 32-bit */
        0x4a, 0x03, 'a', 'b', 'c',                /* field 9, bytes */
        0x50, 0xff, 0xff, 0xff, 0xff, 0x0f,       /* field 10, varint */
        0x18, 0x96, 0x01,                         /* proc = 150 */
    };
    mv_envelope_head head;
    assert_int_equal(mv_envelope_peek(env, sizeof(env), &head, NULL), 0);
    assert_int_equal(head.serial, 5);
    assert_int_equal(head.proc, 150);
}

typedef struct malformed_case {
    const char *what;
    uint8_t bytes[16];
    size_t len;
    const char *fragment;
} malformed_case;

static const malformed_case malformed[] = {
    {"varint of 11 bytes", {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
     12, "truncated field at byte 0"},
    {"varint cut short", {0x08, 0x80}, 2, "truncated field at byte 0"},
    {"key varint cut short", {0x08, 0x01, 0x80}, 3, "truncated field at byte 2"},
    {"length past the end", {0x7a, 0x0a, 'x', 'y'}, 4, "truncated field at byte 0 of 4"},
    {"huge length", {0x7a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'}, 7, "truncated field"},
    {"64-bit cut short", {0x39, 1, 2, 3}, 4, "truncated field"},
    {"32-bit cut short", {0x45, 1, 2}, 3, "truncated field"},
    {"start group", {0x08, 0x01, 0x0b, 0x0c}, 4, "wire type 3 at byte 2"},
    {"end group", {0x0c}, 1, "wire type 4 at byte 0"},
    {"wire type 6", {0x0e}, 1, "wire type 6"},
    {"wire type 7", {0x0f}, 1, "wire type 7"},
};

static void test_peek_malformed(void **state)
{
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        const malformed_case *c = &malformed[i];
        mv_error err = MV_ERROR_INIT;
        mv_envelope_head head;
        if (mv_envelope_peek(c->bytes, c->len, &head, &err) != -1)
            fail_msg("%s: peek accepted it", c->what);
        assert_int_equal(err.code, VIR_ERR_RPC);
        if (!strstr(err.message, c->fragment))
            fail_msg("%s: '%s' lacks '%s'", c->what, err.message, c->fragment);
        /* the full decoder refuses them too */
        Modvirt__Envelope *e = mv_envelope_unpack(c->bytes, c->len, &err);
        if (e)
            fail_msg("%s: unpack accepted it", c->what);
        mv_error_clear(&err);
    }
}

static void test_body_unpack_malformed(void **state)
{
    const uint8_t junk[] = {0x0a, 0x10, 'a'}; /* string field claiming 16 bytes, has 1 */
    mv_error err = MV_ERROR_INIT;
    assert_null(mv_body_unpack(&modvirt__lookup_by_name_args__descriptor, junk, sizeof(junk),
                               &err));
    assert_non_null(strstr(err.message, "malformed LookupByNameArgs message (3 bytes)"));
    mv_error_clear(&err);
}

static void test_raw_body_roundtrip(void **state)
{
    const uint8_t data[] = "console bytes\r\n";
    mv_frame_spec spec = {.serial = 9,
                          .kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                          .raw_body = data,
                          .raw_body_len = sizeof(data)};
    uint8_t *frame;
    size_t len;
    assert_int_equal(mv_frame_build(&spec, &frame, &len, NULL), 0);
    mv_frame_reader r;
    const uint8_t *payload;
    size_t plen;
    mv_frame_reader_init(&r, 0);
    assert_int_equal(mv_frame_reader_feed(&r, frame, len, NULL), 0);
    assert_int_equal(mv_frame_reader_next(&r, &payload, &plen, NULL), 1);
    Modvirt__Envelope *e = mv_envelope_unpack(payload, plen, NULL);
    assert_int_equal(e->body.len, sizeof(data));
    assert_memory_equal(e->body.data, data, sizeof(data));
    assert_null(e->error);
    mv_envelope_free(e);
    mv_frame_reader_free(&r);
    free(frame);
}

static void test_oversized_build(void **state)
{
    mv_error err = MV_ERROR_INIT;
    uint8_t *frame = NULL;
    size_t len = 0;

    /* raw body: the envelope around it crosses the limit */
    uint8_t *big = calloc(1, MV_FRAME_MAX);
    mv_frame_spec spec = {.kind = MODVIRT__FRAME_KIND__FRAME_STREAM,
                          .raw_body = big,
                          .raw_body_len = MV_FRAME_MAX};
    assert_int_equal(mv_frame_build(&spec, &frame, &len, &err), -1);
    assert_null(frame);
    assert_non_null(strstr(err.message, "exceeds the limit of 33554432 bytes"));

    /* a message body bigger than the limit on its own */
    char *huge = malloc(MV_FRAME_MAX + 2);
    memset(huge, 'x', MV_FRAME_MAX + 1);
    huge[MV_FRAME_MAX + 1] = '\0';
    Modvirt__StringRet body = MODVIRT__STRING_RET__INIT;
    body.value = huge;
    mv_frame_spec spec2 = {.kind = MODVIRT__FRAME_KIND__FRAME_REPLY, .body = &body.base};
    assert_int_equal(mv_frame_build(&spec2, &frame, &len, &err), -1);
    assert_non_null(strstr(err.message, "exceeds the frame limit"));

    /* just under: body fits with room for the envelope's own bytes */
    spec.raw_body_len = MV_FRAME_MAX - 16;
    assert_int_equal(mv_frame_build(&spec, &frame, &len, &err), 0);
    assert_true(len - MV_FRAME_HEADER_LEN <= MV_FRAME_MAX);
    free(frame);
    free(huge);
    free(big);
    mv_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_byte_at_a_time),
        cmocka_unit_test(test_many_in_one_chunk),
        cmocka_unit_test(test_odd_pieces),
        cmocka_unit_test(test_limit_small),
        cmocka_unit_test(test_limit_default),
        cmocka_unit_test(test_zero_length),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_peek_fields),
        cmocka_unit_test(test_peek_unknown_fields),
        cmocka_unit_test(test_peek_malformed),
        cmocka_unit_test(test_body_unpack_malformed),
        cmocka_unit_test(test_raw_body_roundtrip),
        cmocka_unit_test(test_oversized_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
