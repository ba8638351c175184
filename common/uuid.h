/* uuid.h: UUIDs as 16 raw bytes, parsed and printed the way libvirt does. */
#ifndef MV_UUID_H
#define MV_UUID_H

#include <stdbool.h>

#define MV_UUID_BUFLEN 16
#define MV_UUID_STRING_BUFLEN 37 /* 36 characters + NUL */

/* Random (version 4) UUID from getrandom(). -1 when no randomness is available. */
int mv_uuid_generate(unsigned char uuid[MV_UUID_BUFLEN]);

/* Accepts what libvirt accepts: 32 hex digits, optionally separated by '-' (anywhere
 * between pairs) and surrounded by spaces. -1 on anything else. */
int mv_uuid_parse(const char *s, unsigned char uuid[MV_UUID_BUFLEN]);

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case. */
void mv_uuid_format(const unsigned char uuid[MV_UUID_BUFLEN], char out[MV_UUID_STRING_BUFLEN]);

bool mv_uuid_is_null(const unsigned char uuid[MV_UUID_BUFLEN]);

#endif
