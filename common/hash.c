/* hash.c: string-keyed hash table: linear probing, backward-shift deletion, seeded hash.
 *
 * Deletion shifts later entries back instead of leaving tombstones, so a table that sees
 * many insertions and removals (domains defined and undefined for months) never degrades.
 * Keys are names chosen by clients, so the hash is keyed with a per-table random seed
 * (SipHash-1-3): nobody can pick names that all collide. */
#include "common/hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MIN_CAP 16u /* a power of two */

typedef struct entry {
    char *key; /* NULL: empty slot */
    void *value;
    uint64_t hash;
} entry;

struct mv_hash {
    entry *slots;
    size_t cap; /* power of two */
    size_t count;
    uint64_t k0, k1;
    mv_hash_free_fn free_value;
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                               \
    do {                                                                                       \
        v0 += v1;                                                                              \
        v1 = ROTL(v1, 13);                                                                     \
        v1 ^= v0;                                                                              \
        v0 = ROTL(v0, 32);                                                                     \
        v2 += v3;                                                                              \
        v3 = ROTL(v3, 16);                                                                     \
        v3 ^= v2;                                                                              \
        v0 += v3;                                                                              \
        v3 = ROTL(v3, 21);                                                                     \
        v3 ^= v0;                                                                              \
        v2 += v1;                                                                              \
        v1 = ROTL(v1, 17);                                                                     \
        v1 ^= v2;                                                                              \
        v2 = ROTL(v2, 32);                                                                     \
    } while (0)

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* SipHash-1-3 of the key's bytes. */
static uint64_t siphash(const mv_hash *h, const char *key, size_t len)
{
    const unsigned char *p = (const unsigned char *)key;
    uint64_t v0 = 0x736f6d6570736575ULL ^ h->k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ h->k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ h->k0;
    uint64_t v3 = 0x7465646279746573ULL ^ h->k1;
    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le64(p + i);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t last = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        last |= (uint64_t)p[whole + i] << (8 * i);
    v3 ^= last;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

mv_hash *mv_hash_new(mv_hash_free_fn free_value)
{
    mv_hash *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->slots = calloc(MIN_CAP, sizeof(entry));
    if (!h->slots) {
        free(h);
        return NULL;
    }
    h->cap = MIN_CAP;
    h->free_value = free_value;
    uint64_t seed[2];
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        /* Early boot: still distinct per table and per run, if guessable. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
        seed[1] = (uint64_t)(uintptr_t)h;
    }
    h->k0 = seed[0];
    h->k1 = seed[1];
    return h;
}

void mv_hash_free(mv_hash *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->cap; i++) {
        if (!h->slots[i].key)
            continue;
        free(h->slots[i].key);
        if (h->free_value)
            h->free_value(h->slots[i].value);
    }
    free(h->slots);
    free(h);
}

/* The slot holding key, or the empty slot where it would go. The table is never full
 * (load <= 1/2), so the probe ends. */
static size_t find_slot(const mv_hash *h, const char *key, uint64_t hash)
{
    size_t mask = h->cap - 1;
    size_t i = (size_t)hash & mask;
    while (h->slots[i].key) {
        if (h->slots[i].hash == hash && strcmp(h->slots[i].key, key) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

static int resize(mv_hash *h, size_t cap)
{
    entry *slots = calloc(cap, sizeof(entry));
    if (!slots)
        return -1;
    size_t mask = cap - 1;
    for (size_t i = 0; i < h->cap; i++) {
        if (!h->slots[i].key)
            continue;
        size_t j = (size_t)h->slots[i].hash & mask;
        while (slots[j].key)
            j = (j + 1) & mask;
        slots[j] = h->slots[i];
    }
    free(h->slots);
    h->slots = slots;
    h->cap = cap;
    return 0;
}

int mv_hash_put(mv_hash *h, const char *key, void *value)
{
    uint64_t hash = siphash(h, key, strlen(key));
    size_t i = find_slot(h, key, hash);
    if (h->slots[i].key) {
        void *old = h->slots[i].value;
        h->slots[i].value = value;
        if (old != value && h->free_value)
            h->free_value(old);
        return 0;
    }
    /* Grow before the load passes 1/2: short probes, and an empty slot always exists. */
    if ((h->count + 1) * 2 > h->cap) {
        if (h->cap > SIZE_MAX / 2 / sizeof(entry) || resize(h, h->cap * 2) < 0)
            return -1;
        i = find_slot(h, key, hash);
    }
    char *copy = strdup(key);
    if (!copy)
        return -1;
    h->slots[i].key = copy;
    h->slots[i].value = value;
    h->slots[i].hash = hash;
    h->count++;
    return 0;
}

void *mv_hash_get(const mv_hash *h, const char *key)
{
    size_t i = find_slot(h, key, siphash(h, key, strlen(key)));
    return h->slots[i].key ? h->slots[i].value : NULL;
}

/* Empties slot i and moves later entries of the same probe run back into the hole, so
 * lookups never need tombstones. */
static void delete_slot(mv_hash *h, size_t i)
{
    size_t mask = h->cap - 1;
    size_t hole = i;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!h->slots[j].key)
            break;
        size_t home = (size_t)h->slots[j].hash & mask;
        /* The entry at j may move into the hole only if its home is not in (hole, j],
         * cyclically: otherwise a lookup starting at home would stop at the hole. */
        int home_between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (home_between)
            continue;
        h->slots[hole] = h->slots[j];
        hole = j;
    }
    h->slots[hole].key = NULL;
    h->slots[hole].value = NULL;
    h->slots[hole].hash = 0;
    h->count--;
    /* Shrink a table that emptied out, so iteration stays proportional to the count. */
    if (h->cap > MIN_CAP && h->count * 8 < h->cap)
        (void)resize(h, h->cap / 2); /* on ENOMEM the bigger table keeps working */
}

void *mv_hash_take(mv_hash *h, const char *key)
{
    size_t i = find_slot(h, key, siphash(h, key, strlen(key)));
    if (!h->slots[i].key)
        return NULL;
    void *value = h->slots[i].value;
    free(h->slots[i].key);
    delete_slot(h, i);
    return value;
}

int mv_hash_remove(mv_hash *h, const char *key)
{
    size_t i = find_slot(h, key, siphash(h, key, strlen(key)));
    if (!h->slots[i].key)
        return 0;
    void *value = h->slots[i].value;
    free(h->slots[i].key);
    delete_slot(h, i);
    if (h->free_value)
        h->free_value(value);
    return 1;
}

size_t mv_hash_count(const mv_hash *h)
{
    return h->count;
}

void mv_hash_foreach(const mv_hash *h, int (*fn)(const char *key, void *value, void *opaque),
                     void *opaque)
{
    for (size_t i = 0; i < h->cap; i++) {
        if (h->slots[i].key && fn(h->slots[i].key, h->slots[i].value, opaque) != 0)
            return;
    }
}
