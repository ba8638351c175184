/* str.h: string comparisons the XML model and the drivers make everywhere. */
#ifndef MV_STR_H
#define MV_STR_H

#include <stdbool.h>
#include <string.h>

/* Whether a and b are the same string; an absent (NULL) one equals nothing, so an unset
 * attribute never matches a value. */
static inline bool mv_streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

#endif
