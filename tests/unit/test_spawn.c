/* test_spawn.c: finding daemons, connecting, and start-on-demand with the notify protocol.
 *
 * The daemon started here is this very program run under another name (a symlink called
 * mv-fake-daemon): main() sees that name and behaves as a small daemon whose conduct
 * (ready, fail with a status, exit silently, hang) is chosen by MV_FAKE_MODE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/spawn.h"

#define FAKE_NAME "mv-fake-daemon"

/* ---- the fake daemon ------------------------------------------------------------------ */

static void fake_notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path)
        return;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    (void)!sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&addr, sizeof(addr));
    close(fd);
}

static int same_file_as_devnull(int fd)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat("/dev/null", &b) == 0 && a.st_rdev == b.st_rdev &&
           S_ISCHR(a.st_mode);
}

static int count_extra_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd > 2 && fd != dirfd(d))
            n++;
    }
    closedir(d);
    return n;
}

/* Appends one line describing how we were started, for the test to check. */
static void fake_record(int argc, char **argv)
{
    const char *rec = getenv("MV_FAKE_RECORD");
    if (!rec)
        return;
    char args[256] = "";
    for (int i = 1; i < argc; i++) {
        strncat(args, argv[i], sizeof(args) - strlen(args) - 2);
        if (i + 1 < argc)
            strcat(args, " ");
    }
    char line[512];
    int n = snprintf(line, sizeof(line), "pid=%d args=%s sid=%d devnull=%d extrafds=%d notify=%d\n",
                     (int)getpid(), args, (int)getsid(0),
                     same_file_as_devnull(0) && same_file_as_devnull(1) && same_file_as_devnull(2),
                     count_extra_fds(), getenv("NOTIFY_SOCKET") != NULL);
    int fd = open(rec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        (void)!write(fd, line, (size_t)n);
        close(fd);
    }
}

static int fake_daemon(int argc, char **argv)
{
    const char *mode = getenv("MV_FAKE_MODE");
    const char *sock = getenv("MV_FAKE_SOCK");
    alarm(60); /* never outlive a broken test run */
    fake_record(argc, argv);
    if (!mode || !sock)
        return 2;
    if (strcmp(mode, "fail") == 0) {
        fake_notify("STOPPING=1\nSTATUS=cannot open config file 'x.conf': Permission denied");
        return 1;
    }
    if (strcmp(mode, "exit") == 0)
        return 3;
    if (strcmp(mode, "hang") == 0) {
        fake_notify("STATUS=loading definitions");
        pause();
        return 0;
    }
    /* ready: listen, then say so; "slow" first takes a moment so that concurrent starters
     * really overlap. */
    if (strcmp(mode, "slow") == 0) {
        struct timespec ts = {0, 150 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(sock);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 64) < 0) {
        fake_notify("STOPPING=1\nSTATUS=cannot listen");
        return 1;
    }
    fake_notify("STATUS=serving\nREADY=1");
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        char hello[64];
        int n = snprintf(hello, sizeof(hello), "hello %d\n", (int)getpid());
        (void)!write(c, hello, (size_t)n);
        char buf[16];
        ssize_t r = read(c, buf, sizeof(buf));
        if (r >= 4 && memcmp(buf, "quit", 4) == 0) {
            unlink(sock);
            return 0; /* exit closes c: the test sees EOF */
        }
        close(c);
    }
}

/* ---- fixtures ------------------------------------------------------------------------- */

typedef struct fixture {
    char root[128];
    char bindir[PATH_MAX];
    char sock[PATH_MAX];
    char record[PATH_MAX];
    mv_paths paths;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/mvspawn-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->bindir, sizeof(f->bindir), "%s/bin", f->root);
    mkdir(f->bindir, 0755);
    char self[PATH_MAX], link[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    snprintf(link, sizeof(link), "%s/" FAKE_NAME, f->bindir);
    if (symlink(self, link) < 0)
        return -1;
    snprintf(f->sock, sizeof(f->sock), "%s/run/" FAKE_NAME "-sock", f->root);
    snprintf(f->record, sizeof(f->record), "%s/record", f->root);
    f->paths.system = true;
    f->paths.root = strdup(f->root);
    asprintf(&f->paths.run_dir, "%s/run", f->root);
    asprintf(&f->paths.log_dir, "%s/log", f->root);
    setenv("MODVIRT_DAEMON_DIR", f->bindir, 1);
    setenv("MV_FAKE_SOCK", f->sock, 1);
    setenv("MV_FAKE_RECORD", f->record, 1);
    setenv("MV_FAKE_MODE", "ready", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[PATH_MAX + 16];
    free(f->paths.root);
    free(f->paths.run_dir);
    free(f->paths.log_dir);
    /* rm -r by hand: the tree is shallow and ours. */
    const char *subs[] = {"run", "bin", "log"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(cmd, sizeof(cmd), "%s/%s", f->root, subs[i]);
        DIR *d = opendir(cmd);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (e->d_name[0] == '.')
                    continue;
                char p[PATH_MAX * 2];
                snprintf(p, sizeof(p), "%s/%s", cmd, e->d_name);
                unlink(p);
            }
            closedir(d);
        }
        rmdir(cmd);
    }
    unlink(f->record);
    rmdir(f->root);
    unsetenv("MODVIRT_DAEMON_DIR");
    free(f);
    return 0;
}

static int count_lines(const char *path, char *first, size_t firstlen)
{
    FILE *fp = fopen(path, "r");
    int n = 0;
    char line[512];
    if (!fp)
        return 0;
    while (fgets(line, sizeof(line), fp)) {
        if (n == 0 && first)
            snprintf(first, firstlen, "%s", line);
        n++;
    }
    fclose(fp);
    return n;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the greeting, asks the fake daemon to quit and waits for its exit (EOF). */
static void stop_fake(int fd)
{
    char buf[64];
    assert_true(read(fd, buf, sizeof(buf)) > 0);
    assert_int_equal(write(fd, "quit", 4), 4);
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    close(fd);
}

/* ---- find ----------------------------------------------------------------------------- */

static void test_find_daemon_dir(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    char *p = mv_daemon_find(FAKE_NAME, &err);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof(want), "%s/" FAKE_NAME, f->bindir);
    assert_non_null(p);
    assert_string_equal(p, want);
    free(p);

    /* MODVIRT_DAEMON_DIR is the only place looked at when set. */
    p = mv_daemon_find("test_spawn", &err);
    assert_null(p);
    assert_int_equal(err.code, VIR_ERR_SYSTEM_ERROR);
    assert_non_null(strstr(err.message, f->bindir));
    assert_non_null(strstr(err.message, "MODVIRT_DAEMON_DIR"));
    mv_error_clear(&err);

    /* Present but not executable does not count. */
    char plain[PATH_MAX + 32];
    snprintf(plain, sizeof(plain), "%s/plainfile", f->bindir);
    int fd = open(plain, O_WRONLY | O_CREAT, 0644);
    close(fd);
    assert_null(mv_daemon_find("plainfile", &err));
    assert_non_null(strstr(err.message, plain));
    mv_error_clear(&err);
}

static void test_find_next_to_exe(void **state)
{
    (void)state;
    mv_error err = MV_ERROR_INIT;
    unsetenv("MODVIRT_DAEMON_DIR");
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = '\0';
    const char *base = strrchr(self, '/') + 1;
    char *p = mv_daemon_find(base, &err);
    assert_non_null(p);
    assert_string_equal(p, self);
    free(p);

    p = mv_daemon_find("no-such-daemon-xyz", &err);
    assert_null(p);
    /* The error lists the executable's folder and the install folder. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%.*s/no-such-daemon-xyz", (int)(base - self - 1), self);
    assert_non_null(strstr(err.message, dir));
    assert_non_null(strstr(err.message, MODVIRT_INSTALL_BINDIR "/no-such-daemon-xyz"));
    mv_error_clear(&err);
}

/* ---- connect ---------------------------------------------------------------------------- */

static void test_connect_errors(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/nothing-sock", f->root);
    assert_int_equal(mv_socket_connect(path, &err), -1);
    assert_int_equal(err.code, VIR_ERR_SYSTEM_ERROR);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "No such file"));
    mv_error_clear(&err);

    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(mv_socket_connect(longp, &err), -1);
    assert_true(mv_error_is_set(&err));
    mv_error_clear(&err);
}

/* ---- start on demand ------------------------------------------------------------------- */

static void test_start_ready(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    int fd = mv_daemon_connect_or_start(&f->paths, FAKE_NAME, f->sock, 10000, &err);
    assert_true(fd >= 0);
    char first[512] = "";
    assert_int_equal(count_lines(f->record, first, sizeof(first)), 1);
    /* detached: a session of its own, stdio on /dev/null, no inherited fds, idle timeout given */
    assert_non_null(strstr(first, "args=--timeout 120 "));
    char sid[32];
    snprintf(sid, sizeof(sid), " sid=%d ", (int)getsid(0));
    assert_null(strstr(first, sid));
    assert_non_null(strstr(first, " sid="));
    assert_non_null(strstr(first, "devnull=1"));
    assert_non_null(strstr(first, "extrafds=0"));
    assert_non_null(strstr(first, "notify=1"));
    char buf[64];
    assert_true(read(fd, buf, sizeof(buf)) > 0);
    assert_memory_equal(buf, "hello ", 6);
    close(fd);

    /* Running already: a plain connect, nothing started. */
    fd = mv_daemon_connect_or_start(&f->paths, FAKE_NAME, f->sock, 10000, &err);
    assert_true(fd >= 0);
    assert_int_equal(count_lines(f->record, NULL, 0), 1);
    stop_fake(fd);

    /* The notify socket is gone, the start lock stays (it is reused). */
    char notify[PATH_MAX + 32];
    snprintf(notify, sizeof(notify), "%s/run/" FAKE_NAME ".notify", f->root);
    assert_int_equal(access(notify, F_OK), -1);
}

typedef struct racer {
    fixture *f;
    pthread_barrier_t *barrier;
    int fd;
    char greeting[64];
} racer;

static void *race_start(void *arg)
{
    racer *r = arg;
    mv_error err = MV_ERROR_INIT;
    pthread_barrier_wait(r->barrier);
    r->fd = mv_daemon_connect_or_start(&r->f->paths, FAKE_NAME, r->f->sock, 20000, &err);
    if (r->fd >= 0) {
        ssize_t n = read(r->fd, r->greeting, sizeof(r->greeting) - 1);
        r->greeting[n > 0 ? n : 0] = '\0';
        close(r->fd); /* the fake daemon serves one connection at a time */
    }
    mv_error_clear(&err);
    return NULL;
}

static void test_start_concurrent_once(void **state)
{
    fixture *f = *state;
    enum { N = 8 };
    racer r[N];
    pthread_t t[N];
    pthread_barrier_t barrier;
    setenv("MV_FAKE_MODE", "slow", 1);
    pthread_barrier_init(&barrier, NULL, N);
    for (int i = 0; i < N; i++) {
        r[i] = (racer){.f = f, .barrier = &barrier, .fd = -1};
        pthread_create(&t[i], NULL, race_start, &r[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&barrier);
    for (int i = 0; i < N; i++) {
        assert_true(r[i].fd >= 0);
        assert_string_equal(r[i].greeting, r[0].greeting); /* one daemon served all */
    }
    assert_int_equal(count_lines(f->record, NULL, 0), 1);
    mv_error err = MV_ERROR_INIT;
    stop_fake(mv_socket_connect(f->sock, &err));
}

static void test_start_reports_failure_status(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    setenv("MV_FAKE_MODE", "fail", 1);
    long long t0 = mono_ms();
    assert_int_equal(mv_daemon_connect_or_start(&f->paths, FAKE_NAME, f->sock, 30000, &err), -1);
    assert_true(mono_ms() - t0 < 10000); /* at once, not after the timeout */
    assert_int_equal(err.code, VIR_ERR_OPERATION_FAILED);
    assert_non_null(strstr(err.message, FAKE_NAME " failed to start"));
    assert_non_null(strstr(err.message, "cannot open config file 'x.conf': Permission denied"));
    assert_non_null(strstr(err.message, "/log/" FAKE_NAME ".log"));
    mv_error_clear(&err);
}

static void test_start_silent_exit(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    setenv("MV_FAKE_MODE", "exit", 1);
    long long t0 = mono_ms();
    assert_int_equal(mv_daemon_connect_or_start(&f->paths, FAKE_NAME, f->sock, 30000, &err), -1);
    assert_true(mono_ms() - t0 < 10000);
    assert_non_null(strstr(err.message, "exited during start-up"));
    assert_non_null(strstr(err.message, f->bindir));
    mv_error_clear(&err);
}

static void test_start_timeout(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    setenv("MV_FAKE_MODE", "hang", 1);
    assert_int_equal(mv_daemon_connect_or_start(&f->paths, FAKE_NAME, f->sock, 400, &err), -1);
    assert_int_equal(err.code, VIR_ERR_OPERATION_TIMEOUT);
    assert_non_null(strstr(err.message, "did not report ready within 400 ms"));
    assert_non_null(strstr(err.message, "last status: loading definitions"));
    mv_error_clear(&err);
}

static void test_start_exec_failure(void **state)
{
    fixture *f = *state;
    mv_error err = MV_ERROR_INIT;
    char bogus[PATH_MAX + 32];
    snprintf(bogus, sizeof(bogus), "%s/bogus", f->bindir);
    int fd = open(bogus, O_WRONLY | O_CREAT, 0755);
    assert_int_equal(write(fd, "\x7f" "ELF garbage", 12), 12);
    close(fd);
    char sock[PATH_MAX + 32];
    snprintf(sock, sizeof(sock), "%s/run/bogus-sock", f->root);
    assert_int_equal(mv_daemon_connect_or_start(&f->paths, "bogus", sock, 10000, &err), -1);
    assert_non_null(strstr(err.message, "cannot execute"));
    assert_non_null(strstr(err.message, bogus));
    mv_error_clear(&err);

    /* Not there at all: the error says where it looked. */
    snprintf(sock, sizeof(sock), "%s/run/absent-sock", f->root);
    assert_int_equal(mv_daemon_connect_or_start(&f->paths, "absent", sock, 10000, &err), -1);
    assert_int_equal(err.code, VIR_ERR_SYSTEM_ERROR);
    assert_non_null(strstr(err.message, f->bindir));
    mv_error_clear(&err);
}

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if (strcmp(base, FAKE_NAME) == 0)
        return fake_daemon(argc, argv);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find_daemon_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_next_to_exe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_concurrent_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_reports_failure_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_silent_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_exec_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
