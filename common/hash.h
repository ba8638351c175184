/* hash.h: a string-keyed hash table (open addressing), for lookups by name, UUID or id.
 * Not thread-safe: the owner locks. */
#ifndef MV_HASH_H
#define MV_HASH_H

#include <stddef.h>

typedef struct mv_hash mv_hash;
typedef void (*mv_hash_free_fn)(void *value);

/* free_value (may be NULL) is called on values removed or left at mv_hash_free. */
mv_hash *mv_hash_new(mv_hash_free_fn free_value);
void mv_hash_free(mv_hash *h);

/* Inserts or replaces (the old value is freed). The key is copied. -1 on ENOMEM. */
int mv_hash_put(mv_hash *h, const char *key, void *value);
void *mv_hash_get(const mv_hash *h, const char *key); /* borrowed, NULL when absent */
void *mv_hash_take(mv_hash *h, const char *key);      /* removed, not freed; caller owns */
int mv_hash_remove(mv_hash *h, const char *key);      /* 1 when removed (value freed), 0 absent */
size_t mv_hash_count(const mv_hash *h);

/* Calls fn for every entry in unspecified order; stops early when fn returns non-zero.
 * fn must not modify the table. */
void mv_hash_foreach(const mv_hash *h, int (*fn)(const char *key, void *value, void *opaque),
                     void *opaque);

#endif
