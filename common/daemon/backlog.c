/* backlog.c: event numbering and the bounded backlog, and its file format (no I/O). */
#include "common/daemon/backlog.h"

#include <stdlib.h>
#include <string.h>
#include "modvirt/modvirt-errors.h"

/* File format, all integers big-endian:
 *   "MVEVLOG1" | u64 floor | u64 last | u32 count | count records
 *   record: u64 seq | i32 event_id | u32 proc | u32 name_len | name | 16 uuid |
 *           u32 body_len | body */
static const char MAGIC[8] = {'M', 'V', 'E', 'V', 'L', 'O', 'G', '1'};
#define NAME_MAX_LEN 4096u
#define BODY_MAX_LEN (1u << 20)

int mv_backlog_init(mv_backlog *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->cap = cap ? cap : MV_BACKLOG_DEFAULT_CAP;
    b->ring = calloc(b->cap, sizeof(*b->ring));
    return b->ring ? 0 : -1;
}

static void rec_clear(mv_evrec *r)
{
    free(r->name);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static void clear_all(mv_backlog *b)
{
    for (size_t i = 0; i < b->count; i++)
        rec_clear(&b->ring[(b->start + i) % b->cap]);
    b->start = b->count = 0;
}

void mv_backlog_free(mv_backlog *b)
{
    if (!b->ring)
        return;
    clear_all(b);
    free(b->ring);
    b->ring = NULL;
}

/* Appends a record whose name and body are already owned; drops the oldest when full. */
static void push(mv_backlog *b, mv_evrec *r)
{
    if (b->count == b->cap) {
        mv_evrec *old = &b->ring[b->start];
        b->floor = old->seq;
        rec_clear(old);
        b->start = (b->start + 1) % b->cap;
        b->count--;
    }
    b->ring[(b->start + b->count) % b->cap] = *r;
    b->count++;
}

uint64_t mv_backlog_add(mv_backlog *b, int32_t event_id, uint32_t proc, const char *name,
                        const uint8_t *uuid, const uint8_t *body, size_t body_len)
{
    mv_evrec r = {.seq = b->last + 1, .event_id = event_id, .proc = proc};
    r.name = strdup(name ? name : "");
    r.body = malloc(body_len ? body_len : 1);
    if (!r.name || !r.body) {
        rec_clear(&r);
        return 0;
    }
    if (body_len)
        memcpy(r.body, body, body_len);
    r.body_len = body_len;
    if (uuid)
        memcpy(r.uuid, uuid, 16);
    push(b, &r);
    b->last = r.seq;
    return r.seq;
}

const mv_evrec *mv_backlog_at(const mv_backlog *b, size_t i)
{
    return i < b->count ? &b->ring[(b->start + i) % b->cap] : NULL;
}

void mv_backlog_since(const mv_backlog *b, uint64_t resume, uint64_t *lost_first,
                      uint64_t *lost_last, size_t *first_index)
{
    *lost_first = *lost_last = 0;
    if (resume > b->last) {
        *lost_first = 1;
        *lost_last = resume;
        *first_index = 0;
        return;
    }
    if (resume < b->floor) {
        *lost_first = resume + 1;
        *lost_last = b->floor;
    }
    size_t i = 0;
    while (i < b->count && mv_backlog_at(b, i)->seq <= resume)
        i++;
    *first_index = i;
}

void mv_backlog_skip_to(mv_backlog *b, uint64_t n)
{
    if (n > b->last)
        b->last = n;
}

/* ---- bytes ---- */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} buf;

static void put(buf *o, const void *d, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n)
            cap *= 2;
        uint8_t *p = realloc(o->p, cap);
        if (!p) {
            o->oom = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, d, n);
    o->len += n;
}

static void put_u64(buf *o, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    put(o, b, 8);
}

static void put_u32(buf *o, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(o, b, 4);
}

int mv_backlog_encode(const mv_backlog *b, uint8_t **out, size_t *out_len, mv_error *err)
{
    buf o = {0};
    put(&o, MAGIC, sizeof(MAGIC));
    put_u64(&o, b->floor);
    put_u64(&o, b->last);
    put_u32(&o, (uint32_t)b->count);
    for (size_t i = 0; i < b->count; i++) {
        const mv_evrec *r = mv_backlog_at(b, i);
        size_t nl = strlen(r->name);
        put_u64(&o, r->seq);
        put_u32(&o, (uint32_t)r->event_id);
        put_u32(&o, r->proc);
        put_u32(&o, (uint32_t)nl);
        put(&o, r->name, nl);
        put(&o, r->uuid, 16);
        put_u32(&o, (uint32_t)r->body_len);
        put(&o, r->body, r->body_len);
    }
    if (o.oom) {
        free(o.p);
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "event backlog");
        return -1;
    }
    *out = o.p;
    *out_len = o.len;
    return 0;
}

typedef struct rd {
    const uint8_t *p;
    size_t left;
} rd;

static bool take(rd *r, void *d, size_t n)
{
    if (r->left < n)
        return false;
    memcpy(d, r->p, n);
    r->p += n;
    r->left -= n;
    return true;
}

static bool take_u64(rd *r, uint64_t *v)
{
    uint8_t b[8];
    if (!take(r, b, 8))
        return false;
    *v = 0;
    for (int i = 0; i < 8; i++)
        *v = (*v << 8) | b[i];
    return true;
}

static bool take_u32(rd *r, uint32_t *v)
{
    uint8_t b[4];
    if (!take(r, b, 4))
        return false;
    *v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    return true;
}

int mv_backlog_decode(mv_backlog *b, const uint8_t *data, size_t len, mv_error *err)
{
    rd r = {data, len};
    char magic[8];
    uint64_t floor = 0, last = 0, prev = 0;
    uint32_t count = 0;
    mv_evrec rec = {0};
    const char *why = NULL;

    clear_all(b);
    b->floor = b->last = 0;
    if (!take(&r, magic, 8) || memcmp(magic, MAGIC, 8) != 0) {
        why = "not an event backlog";
        goto fail;
    }
    if (!take_u64(&r, &floor) || !take_u64(&r, &last) || !take_u32(&r, &count) || floor > last) {
        why = "bad header";
        goto fail;
    }
    b->floor = floor;
    b->last = last;
    prev = floor;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t ev = 0, nl = 0, bl = 0;
        if (!take_u64(&r, &rec.seq) || !take_u32(&r, &ev) || !take_u32(&r, &rec.proc) ||
            !take_u32(&r, &nl) || nl > NAME_MAX_LEN || nl > r.left) {
            why = "truncated record";
            goto fail;
        }
        if (rec.seq <= prev || rec.seq > last) {
            why = "numbers out of order";
            goto fail;
        }
        rec.event_id = (int32_t)ev;
        rec.name = malloc(nl + 1);
        if (!rec.name || !take(&r, rec.name, nl) || !take(&r, rec.uuid, 16) || !take_u32(&r, &bl) ||
            bl > BODY_MAX_LEN || bl > r.left) {
            why = "truncated record";
            goto fail;
        }
        rec.name[nl] = '\0';
        rec.body = malloc(bl ? bl : 1);
        if (!rec.body || !take(&r, rec.body, bl)) {
            why = "truncated record";
            goto fail;
        }
        rec.body_len = bl;
        prev = rec.seq;
        push(b, &rec); /* a smaller cap than the writer's drops the oldest, raising floor */
        memset(&rec, 0, sizeof(rec));
    }
    /* bytes after the last record are an older, longer backlog's tail (see events.c) */
    return 0;

fail:
    rec_clear(&rec);
    clear_all(b);
    b->floor = b->last; /* numbering goes on; the history is gone */
    mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC, "event backlog: %s", why);
    return -1;
}
