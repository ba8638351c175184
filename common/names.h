/* names.h: the one check every object name passes before it is used as a key or a path. */
#ifndef MV_NAMES_H
#define MV_NAMES_H

#include "common/error.h"

#define MV_NAME_MAX 200 /* bytes (DESIGN.md limits) */

/* 1–200 bytes of valid UTF-8, no '/', no leading '.', no control characters.
 * kind names the object in the error ("domain name", "network name"). On failure:
 * VIR_ERR_INVALID_ARG naming the name and what is wrong with it ("domain name 'a/b'
 * must not contain '/'"); parsers may re-code it as VIR_ERR_XML_ERROR. */
int mv_name_check(const char *kind, const char *name, mv_error *err);

#endif
