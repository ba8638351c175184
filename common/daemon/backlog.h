/* backlog.h: the daemon's event sequence numbers and bounded backlog, with no I/O.
 *
 * Every event gets the next number (1, 2, ...); the last `cap` events are kept so that a
 * client cut off mid-stream can be sent what it missed. `floor` is the highest number no
 * longer held (0 while nothing was ever dropped): a client that saw up to R gets every
 * held event above R, and is told that floor-R... events were lost when R < floor.
 * The whole backlog serialises to bytes (a file in the run dir) so that numbering and
 * history continue across the daemon's restarts. Not thread-safe: the owner locks. */
#ifndef MV_DAEMON_BACKLOG_H
#define MV_DAEMON_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"

#define MV_BACKLOG_DEFAULT_CAP 1024

typedef struct mv_evrec {
    uint64_t seq;
    int32_t event_id; /* virDomainEventID */
    uint32_t proc;    /* the EVENT procedure whose message body is */
    char *name;       /* the domain's name ("" when unknown) */
    uint8_t uuid[16]; /* the domain's uuid (all zero when unknown) */
    uint8_t *body;    /* the packed event message, callback_id left 0 */
    size_t body_len;
} mv_evrec;

typedef struct mv_backlog {
    mv_evrec *ring;
    size_t cap, start, count;
    uint64_t floor; /* every seq <= floor is gone */
    uint64_t last;  /* the last seq handed out */
} mv_backlog;

/* cap 0 means MV_BACKLOG_DEFAULT_CAP. -1 on ENOMEM. */
int mv_backlog_init(mv_backlog *b, size_t cap);
void mv_backlog_free(mv_backlog *b);

/* Records an event (copies name and body) under the next number, dropping the oldest
 * when full. The number, or 0 on ENOMEM (nothing recorded). */
uint64_t mv_backlog_add(mv_backlog *b, int32_t event_id, uint32_t proc, const char *name,
                        const uint8_t *uuid, const uint8_t *body, size_t body_len);

/* The i-th held event, oldest first (i < count). */
const mv_evrec *mv_backlog_at(const mv_backlog *b, size_t i);

/* What a client that saw every event up to `resume` has missed: *lost_first..*lost_last
 * (both 0 when nothing was lost) and the index of the first held event to replay
 * (== count when there is none). A resume beyond `last` comes from numbers this backlog
 * never handed out (its file was lost): 1..resume count as lost, every held event is
 * new to the client, and the caller should mv_backlog_skip_to(b, resume) so that later
 * numbers exceed what the client saw. */
void mv_backlog_since(const mv_backlog *b, uint64_t resume, uint64_t *lost_first,
                      uint64_t *lost_last, size_t *first_index);

/* Makes the next number at least n + 1. */
void mv_backlog_skip_to(mv_backlog *b, uint64_t n);

/* The backlog as bytes (malloc'd), and back. Loading replaces b's contents (b must be
 * initialised; its cap is kept, older events beyond it are dropped); bytes after the last
 * record are ignored (the file is rewritten in place). -1 + err on
 * malformed input (b is left empty with the numbering of the input if it was readable). */
int mv_backlog_encode(const mv_backlog *b, uint8_t **out, size_t *out_len, mv_error *err);
int mv_backlog_decode(mv_backlog *b, const uint8_t *data, size_t len, mv_error *err);

#endif
