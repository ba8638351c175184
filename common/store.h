/* store.h: files written atomically, and the definition store (one XML file per object).
 *
 * Every write goes to a temporary file in the same folder, is fsync'd, renamed over the
 * target and the folder fsync'd, so a crash at any moment leaves either the old or the
 * new content, never a torn file. Names pass mv_name_check() before becoming paths. */
#ifndef MV_STORE_H
#define MV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "common/error.h"

int mv_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         mv_error *err);

/* Reads a whole file into a malloc'd NUL-terminated buffer; fails (naming the file and
 * the limit) when it is larger than max bytes. On failure errno says why (ENOENT for a
 * missing file, EFBIG when over max), so callers can treat a missing file as no file. */
int mv_file_read(const char *path, size_t max, char **data, size_t *len, mv_error *err);

typedef struct mv_store {
    char *dir;           /* e.g. <config_dir>/qemu */
    char *autostart_dir; /* <dir>/autostart: symlinks NAME.xml -> ../NAME.xml */
} mv_store;

/* Creates the folders when missing and removes temporary files a crash left behind. */
int mv_store_open(mv_store *s, const char *dir, mv_error *err);
void mv_store_close(mv_store *s);

int mv_store_save(const mv_store *s, const char *name, const char *xml, mv_error *err);
/* Removes the definition and its autostart link; a missing file is not an error. */
int mv_store_delete(const mv_store *s, const char *name, mv_error *err);
int mv_store_set_autostart(const mv_store *s, const char *name, bool on, mv_error *err);
bool mv_store_get_autostart(const mv_store *s, const char *name);

/* Calls fn for each NAME.xml in the folder (temporary files and invalid names are
 * skipped). A file that cannot be read is reported through fn with xml NULL and the
 * reason in *problem, so the caller can log it and carry on. fn returning -1 stops. */
typedef int (*mv_store_load_fn)(const char *name, const char *xml, size_t len,
                                const mv_error *problem, void *opaque);
int mv_store_load_all(const mv_store *s, size_t max_file, mv_store_load_fn fn, void *opaque,
                      mv_error *err);

#endif
