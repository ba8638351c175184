/* conf.h: daemon config files, "key = value" lines as libvirt's *.conf.
 *
 * Values: integers, "double-quoted strings" (with \" and \\ escapes), booleans as
 * 0/1. '#' starts a comment. A bad line fails with "FILE:LINE: what is wrong"
 * (VIR_ERR_CONF_SYNTAX); an unknown key is an error too, naming it. A pure parser. */
#ifndef MV_CONF_H
#define MV_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include "common/error.h"

typedef enum { MV_CONF_INT, MV_CONF_STRING, MV_CONF_BOOL } mv_conf_type;

typedef struct mv_conf_key {
    const char *name;
    mv_conf_type type;
    size_t offset;     /* of the field in the target struct: long / char * / bool */
    long min, max;     /* for MV_CONF_INT */
} mv_conf_key;
#define MV_CONF_KEYS_END {NULL, 0, 0, 0, 0}

/* One table of keys and the struct its offsets point into. A file may set keys of
 * several sections (the daemon runtime's and the driver's). */
typedef struct mv_conf_section {
    const mv_conf_key *keys;
    void *target;
} mv_conf_section;

/* Strings replace the target's previous value (which is freed; initialise to NULL or a
 * malloc'd default). filename is used only in messages. */
int mv_conf_parse(const char *text, size_t len, const char *filename,
                  const mv_conf_section *sections, size_t nsections, mv_error *err);

/* Reads and parses path; a missing file is not an error (defaults stay). */
int mv_conf_load(const char *path, const mv_conf_section *sections, size_t nsections,
                 mv_error *err);

#endif
