/* paths.h: where modvirt keeps its sockets, definitions, disks, logs and caches.
 *
 * System mode (root, or any user when MODVIRT_ROOT is set) uses the system layout,
 * under MODVIRT_ROOT when that is set; session mode (other users) uses XDG folders.
 * See the table in DESIGN.md. */
#ifndef MV_PATHS_H
#define MV_PATHS_H

#include <stdbool.h>
#include <sys/types.h>
#include "common/error.h"

typedef struct mv_paths {
    bool system;      /* system layout (root or MODVIRT_ROOT) rather than session */
    char *root;       /* MODVIRT_ROOT, or "" */
    char *run_dir;    /* sockets, pid files, live status: <root>/run/modvirt */
    char *config_dir; /* definitions, *.conf: <root>/etc/modvirt */
    char *state_dir;  /* disks and other state: <root>/var/lib/modvirt */
    char *log_dir;    /* logs: <root>/var/log/modvirt */
    char *cache_dir;  /* caches: <root>/var/cache/modvirt */
} mv_paths;

/* Computes the layout from the environment (MODVIRT_ROOT, XDG_*) and the effective
 * uid. Creates nothing. A relative MODVIRT_ROOT is made absolute. */
int mv_paths_init(mv_paths *p, mv_error *err);
void mv_paths_free(mv_paths *p);

/* malloc'd "<dir>/<name>"; NULL only on ENOMEM. */
char *mv_path_join(const char *dir, const char *name);

/* The UNIX socket path of a daemon: "<run_dir>/<daemon>-sock" (with "-ro" appended for
 * the read-only socket). Fails, naming the path and the limit, when it does not fit in
 * sun_path (108 bytes) — libuv would silently truncate it. */
int mv_paths_socket(const mv_paths *p, const char *daemon, bool readonly, char **out,
                    mv_error *err);

/* Fails when `path` cannot be a UNIX socket address (too long). */
int mv_check_socket_path(const char *path, mv_error *err);

/* mkdir -p with the given mode for created components. */
int mv_mkdir_p(const char *path, mode_t mode, mv_error *err);

/* Creates the run dir when missing: 0755 in system mode, so other users reach the 0666
 * read-only socket (as /run/libvirt), 0700 in session mode. Every creator uses this, so
 * whoever comes first (a client starting a daemon, or the daemon) sets the same mode. */
int mv_paths_make_run_dir(const mv_paths *p, mv_error *err);

#endif
