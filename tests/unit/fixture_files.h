/* fixture_files.h: files for unit tests — a whole file read in, a test's folder removed. */
#ifndef MV_FIXTURE_FILES_H
#define MV_FIXTURE_FILES_H

#include <stddef.h>

/* The whole file, malloc'd and NUL-terminated, its length in *len when len is not NULL
 * (the XML parsers take a length); NULL when it cannot be read. */
char *fx_slurp(const char *path, size_t *len);

/* Removes dir and everything under it (the test fails when it cannot). */
void fx_remove_tree(const char *dir);

#endif
