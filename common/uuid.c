/* uuid.c: random UUIDs, and UUID text in the forms libvirt reads and writes. */
#include "common/uuid.h"
#include "common/hex.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

int mv_uuid_generate(unsigned char uuid[MV_UUID_BUFLEN])
{
    size_t got = 0;
    while (got < MV_UUID_BUFLEN) {
        ssize_t n = getrandom(uuid + got, MV_UUID_BUFLEN - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    uuid[6] = (uuid[6] & 0x0f) | 0x40; /* version 4 */
    uuid[8] = (uuid[8] & 0x3f) | 0x80; /* RFC 4122 variant */
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* libvirt reads 16 hex pairs with any number of '-' or ' ' between pairs (never inside
 * one), optionally surrounded by white space. */
int mv_uuid_parse(const char *s, unsigned char uuid[MV_UUID_BUFLEN])
{
    unsigned char out[MV_UUID_BUFLEN];
    if (!s)
        return -1;
    while (is_space(*s))
        s++;
    for (size_t i = 0; i < MV_UUID_BUFLEN;) {
        if (*s == '-' || *s == ' ') {
            s++;
            continue;
        }
        int hi = mv_hex_digit(s[0]);
        int lo = hi < 0 ? -1 : mv_hex_digit(s[1]);
        if (lo < 0)
            return -1;
        out[i++] = (unsigned char)(hi << 4 | lo);
        s += 2;
    }
    while (is_space(*s))
        s++;
    if (*s)
        return -1;
    memcpy(uuid, out, MV_UUID_BUFLEN);
    return 0;
}

void mv_uuid_format(const unsigned char uuid[MV_UUID_BUFLEN], char out[MV_UUID_STRING_BUFLEN])
{
    static const char hex[] = "0123456789abcdef";
    char *w = out;
    for (size_t i = 0; i < MV_UUID_BUFLEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *w++ = '-';
        *w++ = hex[uuid[i] >> 4];
        *w++ = hex[uuid[i] & 0xf];
    }
    *w = '\0';
}

bool mv_uuid_is_null(const unsigned char uuid[MV_UUID_BUFLEN])
{
    for (size_t i = 0; i < MV_UUID_BUFLEN; i++) {
        if (uuid[i])
            return false;
    }
    return true;
}
