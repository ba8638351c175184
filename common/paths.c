/* paths.c: the folder layout of DESIGN.md, computed from MODVIRT_ROOT, XDG_* and the euid. */
#include "common/paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* sun_path holds the path and its terminating NUL. */
#define SUN_PATH_LEN (sizeof(((struct sockaddr_un *)0)->sun_path))

char *mv_path_join(const char *dir, const char *name)
{
    char *out = NULL;
    size_t dl = strlen(dir);
    /* "/" + "x" must give "/x", not "//x" */
    const char *sep = (dl > 0 && dir[dl - 1] == '/') ? "" : "/";
    if (asprintf(&out, "%s%s%s", dir, sep, name) < 0)
        return NULL;
    return out;
}

/* Lexically tidies an absolute path in place: collapses "//", drops "/./" and a trailing
 * "/" (so socket paths under the root stay as short as they can be). ".." is kept: its
 * meaning depends on symlinks, which a pure function cannot see. */
static void tidy_path(char *p)
{
    char *w = p;
    const char *r = p;
    while (*r) {
        if (*r == '/') {
            while (r[1] == '/')
                r++;
            if (r[1] == '.' && (r[2] == '/' || r[2] == '\0')) {
                r += 2;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = '\0';
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    if (n == 0) {
        p[0] = '/';
        p[1] = '\0';
    }
}

/* An absolute copy of MODVIRT_ROOT (relative values are taken from the cwd). */
static char *absolute_root(const char *value, mv_error *err)
{
    char *out = NULL;
    if (value[0] == '/') {
        out = strdup(value);
    } else {
        char *cwd = getcwd(NULL, 0);
        if (!cwd) {
            mv_error_set_errno(err, errno, VIR_FROM_NONE,
                               "cannot make MODVIRT_ROOT '%s' absolute", value);
            return NULL;
        }
        out = mv_path_join(cwd, value);
        free(cwd);
    }
    if (!out) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "computing paths");
        return NULL;
    }
    tidy_path(out);
    /* "/" as the root would give "//run/modvirt"; the empty root means the same */
    if (strcmp(out, "/") == 0)
        out[0] = '\0';
    return out;
}

/* $HOME, or the password database's idea of it. */
static char *home_dir(mv_error *err)
{
    const char *home = getenv("HOME");
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (!home || home[0] != '/') {
        if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) != 0 || !res || !pw.pw_dir ||
            pw.pw_dir[0] != '/') {
            mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE,
                         "cannot find the home directory of uid %u (HOME is not set)",
                         (unsigned)geteuid());
            return NULL;
        }
        home = pw.pw_dir;
    }
    char *copy = strdup(home);
    if (!copy)
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "computing paths");
    return copy;
}

/* The XDG base folder named by `var`, or HOME/fallback when it is unset or relative (the
 * XDG spec says relative values are to be ignored). */
static char *xdg_dir(const char *var, const char *home, const char *fallback)
{
    const char *v = getenv(var);
    if (v && v[0] == '/')
        return strdup(v);
    return mv_path_join(home, fallback);
}

static int init_system(mv_paths *p, const char *root)
{
    if (asprintf(&p->run_dir, "%s/run/modvirt", root) < 0 ||
        asprintf(&p->config_dir, "%s/etc/modvirt", root) < 0 ||
        asprintf(&p->state_dir, "%s/var/lib/modvirt", root) < 0 ||
        asprintf(&p->log_dir, "%s/var/log/modvirt", root) < 0 ||
        asprintf(&p->cache_dir, "%s/var/cache/modvirt", root) < 0)
        return -1;
    return 0;
}

static int init_session(mv_paths *p, const char *home)
{
    char *config = xdg_dir("XDG_CONFIG_HOME", home, ".config");
    char *state = xdg_dir("XDG_STATE_HOME", home, ".local/state");
    char *cache = xdg_dir("XDG_CACHE_HOME", home, ".cache");
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    int ret = -1;

    if (!config || !state || !cache)
        goto cleanup;
    p->config_dir = mv_path_join(config, "modvirt");
    p->state_dir = mv_path_join(state, "modvirt");
    p->log_dir = p->state_dir ? mv_path_join(p->state_dir, "log") : NULL;
    p->cache_dir = mv_path_join(cache, "modvirt");
    /* Without XDG_RUNTIME_DIR (no login session), glib and libvirt fall back to the
     * cache folder; a subfolder keeps live state apart from the real caches. */
    if (runtime && runtime[0] == '/')
        p->run_dir = mv_path_join(runtime, "modvirt");
    else if (p->cache_dir)
        p->run_dir = mv_path_join(p->cache_dir, "run");
    if (p->config_dir && p->state_dir && p->log_dir && p->cache_dir && p->run_dir)
        ret = 0;
cleanup:
    free(config);
    free(state);
    free(cache);
    return ret;
}

int mv_paths_init(mv_paths *p, mv_error *err)
{
    const char *env_root = getenv("MODVIRT_ROOT");
    char *home = NULL;
    bool oom = false; /* the only failure not reported where it happens */
    int ret = -1;

    memset(p, 0, sizeof(*p));
    if (env_root && env_root[0]) {
        p->system = true;
        if (!(p->root = absolute_root(env_root, err)))
            goto cleanup;
    } else {
        p->system = geteuid() == 0;
        if (!(p->root = strdup(""))) {
            oom = true;
            goto cleanup;
        }
    }
    if (!p->system && !(home = home_dir(err)))
        goto cleanup;
    if (p->system ? init_system(p, p->root) < 0 : init_session(p, home) < 0) {
        oom = true;
        goto cleanup;
    }
    ret = 0;
cleanup:
    if (oom)
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "computing paths");
    free(home);
    if (ret < 0)
        mv_paths_free(p);
    return ret;
}

void mv_paths_free(mv_paths *p)
{
    if (!p)
        return;
    free(p->root);
    free(p->run_dir);
    free(p->config_dir);
    free(p->state_dir);
    free(p->log_dir);
    free(p->cache_dir);
    memset(p, 0, sizeof(*p));
}

int mv_check_socket_path(const char *path, mv_error *err)
{
    size_t n = strlen(path);
    if (n == 0) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_RPC, "empty UNIX socket path");
        return -1;
    }
    if (n >= SUN_PATH_LEN) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_RPC,
                     "UNIX socket path '%s' is %zu bytes long, but at most %zu fit in "
                     "sun_path; use a shorter MODVIRT_ROOT or runtime directory",
                     path, n, SUN_PATH_LEN - 1);
        return -1;
    }
    return 0;
}

int mv_paths_socket(const mv_paths *p, const char *daemon, bool readonly, char **out,
                    mv_error *err)
{
    char *path = NULL;
    *out = NULL;
    if (asprintf(&path, "%s/%s-sock%s", p->run_dir, daemon, readonly ? "-ro" : "") < 0) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_RPC, "socket path of %s", daemon);
        return -1;
    }
    if (mv_check_socket_path(path, err) < 0) {
        free(path);
        return -1;
    }
    *out = path;
    return 0;
}

/* Creates one folder; an existing folder (made by a racing process, say) is fine. */
static int mkdir_one(const char *path, mode_t mode, mv_error *err)
{
    struct stat st;
    if (mkdir(path, mode) == 0)
        return 0;
    int saved = errno;
    /* EEXIST, but also EROFS or EACCES on a folder that is already there */
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        mv_error_set_errno(err, ENOTDIR, VIR_FROM_NONE, "cannot create directory '%s'", path);
        return -1;
    }
    mv_error_set_errno(err, saved, VIR_FROM_NONE, "cannot create directory '%s'", path);
    return -1;
}

int mv_mkdir_p(const char *path, mode_t mode, mv_error *err)
{
    char *copy = strdup(path);
    int ret = -1;
    if (!copy) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "creating '%s'", path);
        return -1;
    }
    if (!copy[0]) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_NONE, "empty directory path");
        goto cleanup;
    }
    /* Walk the components, creating each missing one; skip the leading '/'. */
    for (char *s = copy + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (s[-1] != '/' && mkdir_one(copy, mode, err) < 0)
            goto cleanup;
        *s = '/';
    }
    if (mkdir_one(copy, mode, err) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    free(copy);
    return ret;
}

int mv_paths_make_run_dir(const mv_paths *p, mv_error *err)
{
    return mv_mkdir_p(p->run_dir, p->system ? 0755 : 0700, err);
}
