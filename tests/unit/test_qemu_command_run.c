/* test_qemu_command_run.c: QEMU 7.2 itself accepts the command lines we build. For each
 * libvirt corpus case our parser and builder accept and that needs nothing from the host
 * beyond files we can fake (disks become empty raw files, socket and log paths move into
 * a temporary folder), QEMU is started paused and must answer QMP — which it only does
 * once every device on the line has been created. Skipped (77) without the corpus or
 * QEMU. MODVIRT_CORPUS_VERBOSE=1 prints each failure with QEMU's message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture_qemu_command.h"

#define QEMU_BIN "/usr/bin/qemu-system-x86_64"
/* The share of tried cases QEMU must run (measured: 126 of 127; the one left names a
 * CPU feature QEMU 7.2 does not know). */
#define MIN_RUN_PERCENT 95

extern char **environ;

static char corpus_dir[PATH_MAX];
static char tmp[64];

static bool is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Replaces *field with a fresh path in the temporary folder. */
static void retarget(char **field, const char *name, size_t i, bool create)
{
    char *p = NULL;

    if (asprintf(&p, "%s/%s%zu", tmp, name, i) < 0)
        return;
    if (create) {
        int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);

        if (fd >= 0) {
            if (ftruncate(fd, 1 << 20) < 0)
                fprintf(stderr, "cannot size %s\n", p);
            close(fd);
        }
    }
    free(*field);
    *field = p;
}

/* Whether a character device can run here once its paths are moved to tmp. */
static bool chr_fake(mv_domain_chr *chr, const char *kind, size_t i)
{
    char name[32];

    snprintf(name, sizeof(name), "%s-", kind);
    if (is(chr->type, "unix")) {
        if (chr->source_mode && !is(chr->source_mode, "bind"))
            return false; /* would connect to a server that is not there */
        if (chr->source_path)
            retarget(&chr->source_path, name, i, false);
    } else if (is(chr->type, "file") || is(chr->type, "pipe") || is(chr->type, "dev")) {
        if (!is(chr->type, "file"))
            return false;
        retarget(&chr->source_path, name, i, false);
    } else if (is(chr->type, "tcp") || is(chr->type, "udp")) {
        return false; /* ports on the host */
    }
    if (chr->log_file)
        retarget(&chr->log_file, "log-", i, false);
    return true;
}

/* Makes def runnable here, or says it cannot be. */
static bool fake_host(mv_domain_def *def)
{
    if (def->os.kernel || def->os.loader || def->os.initrd || def->nfilesystems || def->vsock)
        return false;
    if (def->os.nvram)
        retarget(&def->os.nvram, "nvram-", 0, false);
    /* Huge pages need a host set up for them; and a test host has no room for the
     * many-GiB guests some cases describe once their memory is preallocated. */
    if (def->memory_backing &&
        (def->memory_backing->hugepages ||
         (def->memory_kib > (2ULL << 20) &&
          (def->memory_backing->allocation_mode || def->memory_backing->source_type))))
        return false;
    for (size_t i = 0; i < def->ndisks; i++) {
        mv_domain_disk *d = &def->disks[i];

        if (!d->has_source || (!d->src_file && !d->src_dev && !d->src_protocol))
            continue; /* an empty drive */
        if (!is(d->type, "file"))
            return false;
        retarget(&d->src_file, "disk-", i, true);
        d->driver_format = "raw";
    }
    for (size_t i = 0; i < def->nnets; i++)
        if (!is(def->nets[i].type, "user"))
            return false;
    for (size_t i = 0; i < def->ninputs; i++)
        if (def->inputs[i].source_evdev || def->inputs[i].source_dev)
            return false;
    for (size_t i = 0; i < def->ngraphics; i++)
        if (!is(def->graphics[i].type, "vnc") && !is(def->graphics[i].type, "spice"))
            return false; /* sdl and egl need a display or a GPU */
    for (size_t i = 0; i < def->nserials; i++)
        if (!chr_fake(&def->serials[i], "serial", i))
            return false;
    for (size_t i = 0; i < def->nparallels; i++)
        if (!chr_fake(&def->parallels[i], "parallel", i))
            return false;
    for (size_t i = 0; i < def->nconsoles; i++)
        if (!chr_fake(&def->consoles[i], "console", i))
            return false;
    for (size_t i = 0; i < def->nchannels; i++)
        if (!chr_fake(&def->channels[i], "channel", i))
            return false;
    for (size_t i = 0; i < def->nredirdevs; i++)
        if (!chr_fake(&def->redirdevs[i].chr, "redir", i))
            return false;
    for (size_t i = 0; i < def->nrngs; i++)
        if (is(def->rngs[i].backend_model, "egd") && !chr_fake(&def->rngs[i].backend_egd, "egd", i))
            return false;
    return true;
}

/* Reads from fd until `want` appears; false on EOF, error or 20 s of silence. */
static bool expect(int fd, const char *want)
{
    char buf[8192];
    size_t len = 0;

    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        ssize_t n;

        if (poll(&pfd, 1, 20000) <= 0 || (n = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, want))
            return true;
        if (len > sizeof(buf) / 2) {
            memmove(buf, buf + len / 2, len - len / 2);
            len -= len / 2;
        }
    }
}

/* Starts argv paused and talks QMP to it. true when QEMU answered; otherwise the first
 * line of its stderr goes into why. The monitor is a socket we listen on and hand to
 * QEMU as fd 3 (as libvirt does): connecting cannot race QEMU's bind, and QEMU's exit
 * closes the last copy, so a failure is an EOF rather than a wait. */
static bool runs(char **argv, char *why, size_t whylen)
{
    posix_spawn_file_actions_t fa;
    int errp[2] = {-1, -1}, lfd, null, fd = -1, status;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    pid_t pid = -1;
    bool ok = false;
    ssize_t n;

    why[0] = '\0';
    for (size_t i = 0; argv[i]; i++)
        if (strncmp(argv[i], "socket,id=charmonitor,", 22) == 0) {
            free(argv[i]);
            argv[i] = strdup("socket,id=charmonitor,fd=3,server=on,wait=off");
        }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/m.sock", tmp);
    unlink(sa.sun_path);
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0 ||
        pipe2(errp, O_CLOEXEC) < 0 || (null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        return false;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, null, 0);
    posix_spawn_file_actions_adddup2(&fa, null, 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    posix_spawn_file_actions_adddup2(&fa, lfd, 3);
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(errp[1]);
    close(null);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (pid > 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        close(lfd);
        lfd = -1;
        if (expect(fd, "\"QMP\"") && write(fd, "{\"execute\":\"qmp_capabilities\"}\n", 31) == 31 &&
            expect(fd, "return"))
            ok = true; /* an answer proves every device was created */
        /* QEMU drops queued commands of a monitor that closes: wait for quit's answer. */
        if (ok && (write(fd, "{\"execute\":\"quit\"}\n", 19) != 19 || !expect(fd, "return")))
            ok = false;
    }
    if (lfd >= 0)
        close(lfd);
    close(fd);
    if (pid > 0) {
        if (!ok)
            kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    /* QEMU is gone: its stderr ends here. */
    if (!ok && (n = read(errp[0], why, whylen - 1)) > 0)
        why[n] = '\0';
    close(errp[0]);
    unlink(sa.sun_path);
    if (strchr(why, '\n'))
        *strchr(why, '\n') = '\0';
    return ok;
}

static void test_qemu_runs_corpus(void **state)
{
    DIR *d = opendir(corpus_dir);
    struct dirent *e;
    mv_error err = MV_ERROR_INIT;
    qemu_caps *caps = qemu_caps_get(QEMU_BIN, NULL, &err);
    size_t tried = 0, ran = 0;
    bool verbose = getenv("MODVIRT_CORPUS_VERBOSE") != NULL;
    char mon[128];

    (void)state;
    assert_non_null(d);
    assert_non_null(caps);
    snprintf(mon, sizeof(mon), "%s/m.sock", tmp);
    while ((e = readdir(d))) {
        char path[PATH_MAX + 300], why[512];
        size_t len = strlen(e->d_name);
        const char *suffix = ".x86_64-latest.args";
        char *xml = NULL;
        mv_domain_def *def = NULL;
        qemu_command *cmd = NULL;

        if (len <= strlen(suffix) || strcmp(e->d_name + len - strlen(suffix), suffix) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%.*s.xml", corpus_dir, (int)(len - strlen(suffix)),
                 e->d_name);
        if (!(xml = fx_slurp(path, NULL)) ||
            !(def = mv_domain_def_parse(xml, strlen(xml), 0, NULL)))
            goto next;
        /* TCG: KVM guests would work here too, but not on every CI host. */
        def->virt_type = "qemu";
        if (!fake_host(def))
            goto next;
        {
            qemu_command_params p = {caps, mon, 1, tmp, NULL, QEMU_COMMAND_DRY_RUN, tmp};

            if (qemu_command_build(def, &p, &cmd, NULL) < 0)
                goto next;
            /* A dry run names the UEFI variable store without making it. */
            if (def->os.nvram && def->os.nvram_template) {
                unlink(def->os.nvram);
                if (qemu_firmware_copy_vars(def->os.nvram_template, def->os.nvram, NULL) < 0)
                    goto next;
            }
        }
        tried++;
        if (runs(cmd->argv, why, sizeof(why)))
            ran++;
        else if (verbose)
            printf("QEMU REFUSED %s: %s\n", e->d_name, why);
    next:
        qemu_command_free(cmd);
        mv_domain_def_free(def);
        free(xml);
    }
    closedir(d);
    printf("qemu accepted the command lines of %zu of %zu corpus cases tried (%zu%%)\n", ran, tried,
           tried ? ran * 100 / tried : 0);
    qemu_caps_unref(caps);
    qemu_caps_cache_clear();
    assert_true(tried > 50);
    assert_true(ran * 100 >= tried * MIN_RUN_PERCENT);
}

int main(void)
{
    const char *env = getenv("MODVIRT_CORPUS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_runs_corpus),
    };
    char *rm[] = {"rm", "-rf", tmp, NULL};
    pid_t pid;
    int rc, status;

    snprintf(corpus_dir, sizeof(corpus_dir), "%s/qemu", env ? env : MODVIRT_CORPUS_DEFAULT);
    if (access(corpus_dir, R_OK) != 0 || access(QEMU_BIN, X_OK) != 0)
        return 77;
    snprintf(tmp, sizeof(tmp), "/tmp/mvrun.XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    if ((pid = fork()) == 0) {
        execvp("rm", rm);
        _exit(127);
    }
    waitpid(pid, &status, 0);
    return rc;
}
