/* store.c: atomic file writes, bounded reads, and the one-XML-file-per-object store. */
#include "common/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/names.h"
#include "common/paths.h"

/* Temporary files are ".<target>.tmp-XXXXXXXX" beside their target: hidden, so no valid
 * object name can collide with one, and recognisable, so a crash's leftovers can be
 * removed. */
#define TMP_MARK ".tmp-"
#define SUFFIX ".xml"

static bool is_temp_name(const char *name)
{
    return name[0] == '.' && strstr(name, TMP_MARK) != NULL;
}

/* dir and base of path, malloc'd; "." for a path without '/'. */
static int split_path(const char *path, char **dir, char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *dir = strdup(".");
        *base = strdup(path);
    } else {
        *dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
        *base = strdup(slash + 1);
    }
    if (!*dir || !*base) {
        free(*dir);
        free(*base);
        *dir = *base = NULL;
        return -1;
    }
    return 0;
}

/* "<dir>/.<base>.tmp-<8 random characters>"; malloc'd or NULL. */
static char *temp_name(const char *dir, const char *base)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char rnd[8];
    char suffix[sizeof(rnd) + 1];
    char *out = NULL;
    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
        /* O_EXCL still guarantees we never reuse a file; only collisions get likelier */
        static unsigned counter;
        unsigned v = (unsigned)getpid() * 2654435761u + __atomic_fetch_add(&counter, 1, 0);
        for (size_t i = 0; i < sizeof(rnd); i++, v = v * 1103515245u + 12345u)
            rnd[i] = (unsigned char)(v >> 16);
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
    suffix[sizeof(rnd)] = '\0';
    if (asprintf(&out, "%s/.%s" TMP_MARK "%s", dir, base, suffix) < 0)
        return NULL;
    return out;
}

/* Makes a rename or unlink in dir durable. */
static int fsync_dir(const char *dir, mv_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_CONF, "cannot open directory '%s'", dir);
        return -1;
    }
    /* Some file systems cannot sync a directory (EINVAL); nothing more can be done there. */
    if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS) {
        int saved = errno;
        close(fd);
        mv_error_set_errno(err, saved, VIR_FROM_CONF, "cannot sync directory '%s'", dir);
        return -1;
    }
    close(fd);
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mv_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         mv_error *err)
{
    char *dir = NULL, *base = NULL, *tmp = NULL;
    int fd = -1;
    int ret = -1;

    if (split_path(path, &dir, &base) < 0) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "writing '%s'", path);
        goto cleanup;
    }
    for (int attempt = 0; fd < 0; attempt++) {
        free(tmp);
        tmp = temp_name(dir, base);
        if (!tmp) {
            mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "writing '%s'", path);
            goto cleanup;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0 && (errno != EEXIST || attempt >= 100)) {
            mv_error_set_errno(err, errno, VIR_FROM_CONF, "cannot create '%s'", tmp);
            free(tmp);
            tmp = NULL; /* nothing of ours to remove */
            goto cleanup;
        }
    }
    if (write_all(fd, data, len) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_CONF, "cannot write '%s'", tmp);
        goto cleanup;
    }
    if (fsync(fd) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_CONF, "cannot sync '%s'", tmp);
        goto cleanup;
    }
    int rc = close(fd);
    fd = -1;
    if (rc < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_CONF, "cannot write '%s'", tmp);
        goto cleanup;
    }
    if (rename(tmp, path) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_CONF, "cannot rename '%s' to '%s'", tmp, path);
        goto cleanup;
    }
    free(tmp);
    tmp = NULL; /* it is the target now */
    if (fsync_dir(dir, err) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    if (fd >= 0)
        close(fd);
    if (tmp)
        unlink(tmp);
    free(tmp);
    free(dir);
    free(base);
    return ret;
}

/* Sets the error for a file over the read limit; returns the errno that goes with it. */
static int too_big(const char *path, size_t max, mv_error *err)
{
    mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_CONF,
                 "file '%s' is larger than the limit of %zu bytes", path, max);
    return EFBIG;
}

int mv_file_read(const char *path, size_t max, char **data, size_t *len, mv_error *err)
{
    char *buf = NULL;
    size_t used = 0, cap = 0;
    int ret = -1, saved = 0;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *data = NULL;
    if (len)
        *len = 0;
    if (fd < 0) {
        saved = errno;
        mv_error_set_errno(err, saved, VIR_FROM_CONF, "cannot open '%s'", path);
        goto cleanup;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max) {
        saved = too_big(path, max, err);
        goto cleanup;
    }
    /* Read until EOF rather than trusting st_size: the file may be growing, or not a
     * regular file at all. */
    for (;;) {
        if (cap - used < 2) {
            size_t ncap = cap ? cap * 2 : 4096;
            if (ncap > max + 2)
                ncap = max + 2; /* room for one byte past the limit, and the NUL */
            if (ncap <= cap) {
                saved = too_big(path, max, err);
                goto cleanup;
            }
            char *nb = realloc(buf, ncap);
            if (!nb) {
                saved = ENOMEM;
                mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "reading '%s'", path);
                goto cleanup;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + used, cap - used - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            saved = errno;
            mv_error_set_errno(err, saved, VIR_FROM_CONF, "cannot read '%s'", path);
            goto cleanup;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max) {
            saved = too_big(path, max, err);
            goto cleanup;
        }
    }
    buf[used] = '\0';
    *data = buf;
    buf = NULL;
    if (len)
        *len = used;
    ret = 0;
cleanup:
    if (fd >= 0)
        close(fd);
    free(buf);
    errno = saved; /* callers tell a missing file (ENOENT) from a bad one */
    return ret;
}

/* ---- the definition store ------------------------------------------------------------ */

/* Removes what an interrupted write left in dir. Best effort: a leftover that cannot be
 * removed is harmless, since loading skips temporary files. */
static void remove_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (is_temp_name(de->d_name))
            (void)unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

int mv_store_open(mv_store *s, const char *dir, mv_error *err)
{
    memset(s, 0, sizeof(*s));
    s->dir = strdup(dir);
    s->autostart_dir = mv_path_join(dir, "autostart");
    if (!s->dir || !s->autostart_dir) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "opening store '%s'", dir);
        goto error;
    }
    /* Definitions may hold secrets (passwords for VNC, say): owner only. */
    if (mv_mkdir_p(s->autostart_dir, 0700, err) < 0)
        goto error;
    remove_temp_files(s->dir);
    remove_temp_files(s->autostart_dir);
    return 0;
error:
    mv_store_close(s);
    return -1;
}

void mv_store_close(mv_store *s)
{
    if (!s)
        return;
    free(s->dir);
    free(s->autostart_dir);
    s->dir = s->autostart_dir = NULL;
}

/* "<dir>/<name>.xml" once name is known to be safe as a file name. */
static char *entry_path(const char *dir, const char *name, mv_error *err)
{
    char *path = NULL;
    if (mv_name_check("name", name, err) < 0)
        return NULL;
    if (asprintf(&path, "%s/%s" SUFFIX, dir, name) < 0) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "path of '%s'", name);
        return NULL;
    }
    return path;
}

int mv_store_save(const mv_store *s, const char *name, const char *xml, mv_error *err)
{
    char *path = entry_path(s->dir, name, err);
    if (!path)
        return -1;
    int ret = mv_file_write_atomic(path, xml, strlen(xml), 0600, err);
    free(path);
    return ret;
}

/* unlink that treats "already gone" as done. */
static int remove_file(const char *path, mv_error *err)
{
    if (unlink(path) < 0 && errno != ENOENT) {
        mv_error_set_errno(err, errno, VIR_FROM_CONF, "cannot remove '%s'", path);
        return -1;
    }
    return 0;
}

int mv_store_delete(const mv_store *s, const char *name, mv_error *err)
{
    char *path = entry_path(s->dir, name, err);
    char *link = path ? entry_path(s->autostart_dir, name, err) : NULL;
    int ret = -1;
    if (!link)
        goto cleanup;
    /* The link first: a crash in between must not leave a link to nothing. */
    if (remove_file(link, err) < 0 || remove_file(path, err) < 0)
        goto cleanup;
    if (fsync_dir(s->autostart_dir, err) < 0 || fsync_dir(s->dir, err) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    free(path);
    free(link);
    return ret;
}

/* Replaces (or creates) the link at `path` pointing to target, atomically. */
static int symlink_atomic(const char *target, const char *path, const char *dir,
                          const char *base, mv_error *err)
{
    char *tmp = NULL;
    int ret = -1;
    for (int attempt = 0;; attempt++) {
        free(tmp);
        tmp = temp_name(dir, base);
        if (!tmp) {
            mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "linking '%s'", path);
            goto cleanup;
        }
        if (symlink(target, tmp) == 0)
            break;
        if (errno != EEXIST || attempt >= 100) {
            mv_error_set_errno(err, errno, VIR_FROM_CONF, "cannot create link '%s'", tmp);
            free(tmp);
            tmp = NULL;
            goto cleanup;
        }
    }
    if (rename(tmp, path) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_CONF, "cannot rename '%s' to '%s'", tmp, path);
        goto cleanup;
    }
    free(tmp);
    tmp = NULL;
    ret = fsync_dir(dir, err);
cleanup:
    if (tmp)
        unlink(tmp);
    free(tmp);
    return ret;
}

int mv_store_set_autostart(const mv_store *s, const char *name, bool on, mv_error *err)
{
    char *path = entry_path(s->dir, name, err);
    char *link = path ? entry_path(s->autostart_dir, name, err) : NULL;
    char *target = NULL, *base = NULL;
    int ret = -1;
    if (!link)
        goto cleanup;
    if (!on) {
        if (remove_file(link, err) < 0 || fsync_dir(s->autostart_dir, err) < 0)
            goto cleanup;
        ret = 0;
        goto cleanup;
    }
    if (access(path, F_OK) < 0) {
        mv_error_set(err, VIR_ERR_OPERATION_INVALID, VIR_FROM_CONF,
                     "cannot mark '%s' for autostart: it has no saved definition", name);
        goto cleanup;
    }
    /* Relative, so the store can be moved (or live under any MODVIRT_ROOT). */
    if (asprintf(&target, "../%s" SUFFIX, name) < 0 || asprintf(&base, "%s" SUFFIX, name) < 0) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "linking '%s'", name);
        goto cleanup;
    }
    ret = symlink_atomic(target, link, s->autostart_dir, base, err);
cleanup:
    free(path);
    free(link);
    free(target);
    free(base);
    return ret;
}

bool mv_store_get_autostart(const mv_store *s, const char *name)
{
    char *path = entry_path(s->dir, name, NULL);
    char *link = path ? entry_path(s->autostart_dir, name, NULL) : NULL;
    struct stat a, b;
    /* A link counts when it leads to this very definition, however it is spelled (libvirt
     * writes absolute links; we write relative ones). */
    bool on = link && stat(link, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
              a.st_ino == b.st_ino;
    free(path);
    free(link);
    return on;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The object names of the NAME.xml files in dir, sorted (so loading order, and so which
 * of two conflicting definitions wins, does not depend on the file system). */
static int list_names(const char *dir, char ***names, size_t *count, mv_error *err)
{
    DIR *d = opendir(dir);
    char **list = NULL;
    size_t n = 0, cap = 0;
    int ret = -1;
    if (!d) {
        mv_error_set_errno(err, errno, VIR_FROM_CONF, "cannot open directory '%s'", dir);
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len <= strlen(SUFFIX) ||
            strcmp(de->d_name + len - strlen(SUFFIX), SUFFIX) != 0)
            continue;
        char *name = strndup(de->d_name, len - strlen(SUFFIX));
        if (!name) {
            mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "listing '%s'", dir);
            goto cleanup;
        }
        if (mv_name_check("name", name, NULL) < 0) {
            free(name);
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nl = realloc(list, ncap * sizeof(*nl));
            if (!nl) {
                free(name);
                mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "listing '%s'", dir);
                goto cleanup;
            }
            list = nl;
            cap = ncap;
        }
        list[n++] = name;
    }
    if (n > 0)
        qsort(list, n, sizeof(*list), compare_names);
    *names = list;
    *count = n;
    list = NULL;
    ret = 0;
cleanup:
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
    closedir(d);
    return ret;
}

int mv_store_load_all(const mv_store *s, size_t max_file, mv_store_load_fn fn, void *opaque,
                      mv_error *err)
{
    char **names = NULL;
    size_t count = 0;
    int ret = -1;
    if (list_names(s->dir, &names, &count, err) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        mv_error problem = MV_ERROR_INIT;
        char *path = NULL, *xml = NULL;
        size_t len = 0;
        int rc;
        if (asprintf(&path, "%s/%s" SUFFIX, s->dir, names[i]) < 0) {
            mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "loading '%s'", names[i]);
            goto cleanup;
        }
        if (mv_file_read(path, max_file, &xml, &len, &problem) < 0)
            rc = fn(names[i], NULL, 0, &problem, opaque);
        else
            rc = fn(names[i], xml, len, NULL, opaque);
        free(path);
        free(xml);
        mv_error_clear(&problem);
        if (rc < 0) {
            mv_error_set(err, VIR_ERR_OPERATION_ABORTED, VIR_FROM_CONF,
                         "loading definitions from '%s' stopped at '%s'", s->dir, names[i]);
            goto cleanup;
        }
    }
    ret = 0;
cleanup:
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return ret;
}
