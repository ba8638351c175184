/* sertab.c: serial -> value, open addressing with linear probing and backward-shift
 * deletion (no tombstones, so a connection that makes millions of calls never degrades). */
#include "common/daemon/service.h"

#include <stdlib.h>

#define SERTAB_MIN_CAP 16u

static size_t slot_of(const mv_sertab *t, uint32_t key)
{
    /* Fibonacci hashing spreads consecutive serials over the table. */
    return (size_t)((key * 2654435769u) & (uint32_t)(t->cap - 1));
}

void mv_sertab_init(mv_sertab *t)
{
    t->keys = NULL;
    t->vals = NULL;
    t->cap = 0;
    t->count = 0;
}

void mv_sertab_free(mv_sertab *t)
{
    free(t->keys);
    free(t->vals);
    mv_sertab_init(t);
}

static void insert_fresh(mv_sertab *t, uint32_t key, uint32_t val)
{
    size_t i = slot_of(t, key);
    while (t->keys[i] != 0)
        i = (i + 1) & (t->cap - 1);
    t->keys[i] = key;
    t->vals[i] = val;
    t->count++;
}

static int grow(mv_sertab *t)
{
    size_t cap = t->cap ? t->cap * 2 : SERTAB_MIN_CAP;
    uint32_t *keys = calloc(cap, sizeof(*keys));
    uint32_t *vals = calloc(cap, sizeof(*vals));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    mv_sertab old = *t;
    t->keys = keys;
    t->vals = vals;
    t->cap = cap;
    t->count = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.keys[i] != 0)
            insert_fresh(t, old.keys[i], old.vals[i]);
    }
    free(old.keys);
    free(old.vals);
    return 0;
}

static size_t find(const mv_sertab *t, uint32_t key, bool *found)
{
    *found = false;
    if (t->cap == 0)
        return 0;
    size_t i = slot_of(t, key);
    while (t->keys[i] != 0) {
        if (t->keys[i] == key) {
            *found = true;
            return i;
        }
        i = (i + 1) & (t->cap - 1);
    }
    return i;
}

int mv_sertab_put(mv_sertab *t, uint32_t key, uint32_t val)
{
    bool found;
    if (key == 0)
        return -1;
    find(t, key, &found);
    if (found)
        return 1;
    /* keep the load under 3/4 so probes stay short */
    if ((t->count + 1) * 4 > t->cap * 3 && grow(t) < 0)
        return -1;
    insert_fresh(t, key, val);
    return 0;
}

int mv_sertab_get(const mv_sertab *t, uint32_t key, uint32_t *val)
{
    bool found;
    size_t i = find(t, key, &found);
    if (found && val)
        *val = t->vals[i];
    return found ? 1 : 0;
}

int mv_sertab_take(mv_sertab *t, uint32_t key, uint32_t *val)
{
    bool found;
    size_t i = find(t, key, &found);
    if (!found)
        return 0;
    if (val)
        *val = t->vals[i];
    /* Backward shift: pull later members of the probe run into the hole when the hole
     * lies between their home slot and where they sit. */
    size_t mask = t->cap - 1;
    size_t hole = i;
    size_t j = (i + 1) & mask;
    while (t->keys[j] != 0) {
        size_t home = slot_of(t, t->keys[j]);
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            t->keys[hole] = t->keys[j];
            t->vals[hole] = t->vals[j];
            hole = j;
        }
        j = (j + 1) & mask;
    }
    t->keys[hole] = 0;
    t->vals[hole] = 0;
    t->count--;
    return 1;
}

void mv_sertab_drain(mv_sertab *t, void (*fn)(uint32_t key, uint32_t val, void *opaque),
                     void *opaque)
{
    /* Detach first: fn may put new entries into the (now empty) table. */
    mv_sertab old = *t;
    mv_sertab_init(t);
    for (size_t i = 0; i < old.cap; i++) {
        if (old.keys[i] != 0)
            fn(old.keys[i], old.vals[i], opaque);
    }
    free(old.keys);
    free(old.vals);
}
