/* test_paths.c: the folder layout from MODVIRT_ROOT, XDG_* and the euid; socket limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/paths.h"

static void clear_env(void)
{
    unsetenv("MODVIRT_ROOT");
    unsetenv("XDG_RUNTIME_DIR");
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("XDG_STATE_HOME");
    unsetenv("XDG_CACHE_HOME");
}

static void test_root(void **state)
{
    mv_paths p;
    mv_error err = MV_ERROR_INIT;
    clear_env();
    setenv("MODVIRT_ROOT", "/tmp/mvroot", 1);
    assert_int_equal(mv_paths_init(&p, &err), 0);
    assert_true(p.system);
    assert_string_equal(p.root, "/tmp/mvroot");
    assert_string_equal(p.run_dir, "/tmp/mvroot/run/modvirt");
    assert_string_equal(p.config_dir, "/tmp/mvroot/etc/modvirt");
    assert_string_equal(p.state_dir, "/tmp/mvroot/var/lib/modvirt");
    assert_string_equal(p.log_dir, "/tmp/mvroot/var/log/modvirt");
    assert_string_equal(p.cache_dir, "/tmp/mvroot/var/cache/modvirt");
    mv_paths_free(&p);
    mv_paths_free(&p); /* twice is harmless */

    /* MODVIRT_ROOT wins over XDG, whoever we are */
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    setenv("MODVIRT_ROOT", "//tmp//./mvroot/./", 1);
    assert_int_equal(mv_paths_init(&p, &err), 0);
    assert_string_equal(p.root, "/tmp/mvroot"); /* tidied: socket paths stay short */
    assert_string_equal(p.run_dir, "/tmp/mvroot/run/modvirt");
    mv_paths_free(&p);

    /* "/" is the plain system layout */
    setenv("MODVIRT_ROOT", "/", 1);
    assert_int_equal(mv_paths_init(&p, &err), 0);
    assert_string_equal(p.root, "");
    assert_string_equal(p.run_dir, "/run/modvirt");
    mv_paths_free(&p);
    clear_env();
}

static void test_relative_root(void **state)
{
    mv_paths p;
    char *cwd = getcwd(NULL, 0), *want = NULL;
    clear_env();
    setenv("MODVIRT_ROOT", "rel/dir/", 1);
    assert_int_equal(mv_paths_init(&p, NULL), 0);
    assert_true(asprintf(&want, "%s/rel/dir", strcmp(cwd, "/") == 0 ? "" : cwd) > 0);
    assert_string_equal(p.root, want);
    assert_true(p.root[0] == '/');
    free(want);
    assert_true(asprintf(&want, "%s/rel/dir/run/modvirt", strcmp(cwd, "/") == 0 ? "" : cwd) > 0);
    assert_string_equal(p.run_dir, want);
    free(want);
    mv_paths_free(&p);
    free(cwd);
    clear_env();
}

/* Root without MODVIRT_ROOT: the host's own folders. */
static void test_root_user_default(void **state)
{
    if (geteuid() != 0)
        skip();
    mv_paths p;
    clear_env();
    setenv("MODVIRT_ROOT", "", 1); /* empty counts as unset */
    assert_int_equal(mv_paths_init(&p, NULL), 0);
    assert_true(p.system);
    assert_string_equal(p.root, "");
    assert_string_equal(p.run_dir, "/run/modvirt");
    assert_string_equal(p.config_dir, "/etc/modvirt");
    assert_string_equal(p.state_dir, "/var/lib/modvirt");
    assert_string_equal(p.log_dir, "/var/log/modvirt");
    assert_string_equal(p.cache_dir, "/var/cache/modvirt");
    mv_paths_free(&p);
    clear_env();
}

/* The session layout, computed as a user that is not root: in a child that drops to
 * nobody when we are root. Returns "system|run|config|state|log|cache" (malloc'd). */
static char *session_layout(void)
{
    int fds[2];
    char buf[4096];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (geteuid() == 0 && setresuid(65534, 65534, 65534) < 0)
            _exit(2);
        mv_paths p;
        mv_error err = MV_ERROR_INIT;
        int n;
        if (mv_paths_init(&p, &err) < 0)
            n = snprintf(buf, sizeof(buf), "error: %s", err.message);
        else
            n = snprintf(buf, sizeof(buf), "%d|%s|%s|%s|%s|%s", p.system, p.run_dir,
                         p.config_dir, p.state_dir, p.log_dir, p.cache_dir);
        if (write(fds[1], buf, (size_t)n) != n)
            _exit(3);
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return strdup(buf);
}

static void test_session_xdg(void **state)
{
    clear_env();
    setenv("HOME", "/home/alice", 1);
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    setenv("XDG_CONFIG_HOME", "/cfg", 1);
    setenv("XDG_STATE_HOME", "/st", 1);
    setenv("XDG_CACHE_HOME", "/ca", 1);
    char *got = session_layout();
    assert_string_equal(got, "0|/run/user/1000/modvirt|/cfg/modvirt|/st/modvirt|"
                             "/st/modvirt/log|/ca/modvirt");
    free(got);
    clear_env();
}

static void test_session_defaults(void **state)
{
    clear_env();
    setenv("HOME", "/home/bob", 1);
    /* relative XDG values are ignored, as the XDG spec says */
    setenv("XDG_CONFIG_HOME", "relative/cfg", 1);
    char *got = session_layout();
    /* no runtime dir: live state under the cache, in its own folder */
    assert_string_equal(got, "0|/home/bob/.cache/modvirt/run|/home/bob/.config/modvirt|"
                             "/home/bob/.local/state/modvirt|/home/bob/.local/state/modvirt/log|"
                             "/home/bob/.cache/modvirt");
    free(got);
    clear_env();
}

static void test_join(void **state)
{
    char *s = mv_path_join("/a/b", "c.xml");
    assert_string_equal(s, "/a/b/c.xml");
    free(s);
    s = mv_path_join("/a/b/", "c");
    assert_string_equal(s, "/a/b/c");
    free(s);
    s = mv_path_join("/", "c");
    assert_string_equal(s, "/c");
    free(s);
}

static void test_socket_paths(void **state)
{
    mv_paths p;
    mv_error err = MV_ERROR_INIT;
    char *sock = NULL;
    clear_env();
    setenv("MODVIRT_ROOT", "/tmp/r", 1);
    assert_int_equal(mv_paths_init(&p, &err), 0);
    assert_int_equal(mv_paths_socket(&p, "virtproxyd", false, &sock, &err), 0);
    assert_string_equal(sock, "/tmp/r/run/modvirt/virtproxyd-sock");
    free(sock);
    assert_int_equal(mv_paths_socket(&p, "virtproxyd", true, &sock, &err), 0);
    assert_string_equal(sock, "/tmp/r/run/modvirt/virtproxyd-sock-ro");
    free(sock);
    mv_paths_free(&p);

    /* a root so deep the socket path cannot fit in sun_path */
    char deep[200];
    memset(deep, 'd', sizeof(deep));
    deep[0] = '/';
    deep[sizeof(deep) - 1] = '\0';
    setenv("MODVIRT_ROOT", deep, 1);
    assert_int_equal(mv_paths_init(&p, &err), 0);
    sock = (char *)0x1;
    assert_int_equal(mv_paths_socket(&p, "virtqemud", false, &sock, &err), -1);
    assert_null(sock);
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "virtqemud-sock' is "));
    assert_non_null(strstr(err.message, "at most 107 fit in sun_path"));
    mv_paths_free(&p);
    clear_env();

    /* exactly at the limit: 107 bytes fit, 108 do not */
    char path[110];
    memset(path, 'p', sizeof(path));
    path[0] = '/';
    path[107] = '\0';
    assert_int_equal(mv_check_socket_path(path, &err), 0);
    path[107] = 'p';
    path[108] = '\0';
    assert_int_equal(mv_check_socket_path(path, &err), -1);
    assert_non_null(strstr(err.message, "is 108 bytes long"));
    assert_int_equal(mv_check_socket_path("", &err), -1);
    mv_error_clear(&err);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void test_mkdir_p(void **state)
{
    char tmpl[] = "/tmp/mv-test-paths-XXXXXX";
    char *dir = mkdtemp(tmpl), *path = NULL;
    mv_error err = MV_ERROR_INIT;
    struct stat st;
    assert_non_null(dir);

    assert_true(asprintf(&path, "%s/a/b//c/", dir) > 0);
    assert_int_equal(mv_mkdir_p(path, 0700, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    /* again: everything exists already */
    assert_int_equal(mv_mkdir_p(path, 0700, &err), 0);
    free(path);

    /* a file in the way */
    assert_true(asprintf(&path, "%s/a/file", dir) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    free(path);
    assert_true(asprintf(&path, "%s/a/file/sub", dir) > 0);
    assert_int_equal(mv_mkdir_p(path, 0700, &err), -1);
    assert_non_null(strstr(err.message, "cannot create directory"));
    assert_non_null(strstr(err.message, "/a/file'"));
    assert_non_null(strstr(err.message, "Not a directory"));
    free(path);

    /* relative paths work from the cwd */
    char *cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(mv_mkdir_p("rel/x", 0755, &err), 0);
    assert_int_equal(stat("rel/x", &st), 0);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);

    assert_int_equal(mv_mkdir_p("", 0700, &err), -1);
    mv_error_clear(&err);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    /* these tests set the environment; start from a known umask too */
    umask(022);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root),
        cmocka_unit_test(test_relative_root),
        cmocka_unit_test(test_root_user_default),
        cmocka_unit_test(test_session_xdg),
        cmocka_unit_test(test_session_defaults),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_socket_paths),
        cmocka_unit_test(test_mkdir_p),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
