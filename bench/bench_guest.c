/* bench_guest.c: the tiny guest's figures — start call → RUNNING and destroy latency
 * through the whole stack, next to a bare qemu-system-x86_64 started from the same argv
 * answering its first QMP command, so the driver's own overhead is visible. */
#include "bench/bench_guest.h"
#include "bench/bench_figure.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return v[n / 2];
}

/* Runs argv, its stdout captured into out (NUL-terminated). Exit status, or -1. */
static int run_capture(char *const argv[], char *out, size_t cap)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return -1;
    }
    size_t len = 0;
    ssize_t n;
    while ((n = read(p[0], out + len, cap - 1 - len)) > 0 && len + (size_t)n < cap - 1)
        len += (size_t)n;
    if (n > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(p[0]);
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The tiny guest's domain XML named name (malloc'd), or NULL. */
static char *guest_xml(const char *name, const char *kernel, const char *initrd)
{
    char *xml = NULL;
    if (asprintf(&xml,
                 "<domain type='qemu'><name>%s</name><memory unit='MiB'>128</memory>"
                 "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type>"
                 "<kernel>%s</kernel><initrd>%s</initrd>"
                 "<cmdline>console=ttyS0 quiet panic=-1</cmdline></os>"
                 "<features><acpi/></features><devices>"
                 "<emulator>/usr/bin/qemu-system-x86_64</emulator>"
                 "<serial type='pty'><target port='0'/></serial>"
                 "<console type='pty'><target type='serial' port='0'/></console>"
                 "</devices></domain>",
                 name, kernel, initrd) < 0)
        return NULL;
    return xml;
}

/* Splits libvirt's qemu-argv text ("a \\\n-b 'c d' \\\n...") into a NULL-terminated
 * argv of malloc'd strings: white space separates, '...' quotes, backslash-newline
 * continues. NULL on ENOMEM or an unbalanced quote. */
static char **split_native(const char *s)
{
    size_t cap = 16, n = 0;
    char **argv = calloc(cap, sizeof(*argv));
    char *word = malloc(strlen(s) + 1);
    if (!argv || !word)
        goto fail;
    while (*s) {
        while (*s == ' ' || *s == '\n' || *s == '\t' || (*s == '\\' && s[1] == '\n'))
            s += *s == '\\' ? 2 : 1;
        if (!*s)
            break;
        size_t len = 0;
        while (*s && *s != ' ' && *s != '\n' && *s != '\t') {
            if (*s == '\'') {
                const char *q = strchr(s + 1, '\'');
                if (!q)
                    goto fail;
                memcpy(word + len, s + 1, (size_t)(q - s - 1));
                len += (size_t)(q - s - 1);
                s = q + 1;
            } else {
                word[len++] = *s++;
            }
        }
        if (n + 2 > cap) {
            char **na = realloc(argv, (cap *= 2) * sizeof(*argv));
            if (!na)
                goto fail;
            argv = na;
        }
        if (!(argv[n++] = strndup(word, len)))
            goto fail;
        argv[n] = NULL;
    }
    free(word);
    return argv;
fail:
    for (size_t i = 0; argv && i < n; i++)
        free(argv[i]);
    free(argv);
    free(word);
    return NULL;
}

static void argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* The argv the driver would run for the guest (virConnectDomainXMLToNative), with its
 * monitor socket moved to qmp; else the same options spelled by hand. NULL on ENOMEM. */
static char **bare_argv(virConnectPtr conn, const char *xml, const char *kernel,
                        const char *initrd, const char *qmp, int *from_driver)
{
    char *native = virConnectDomainXMLToNative(conn, "qemu-argv", xml, 0);
    char **argv = native ? split_native(native) : NULL;
    free(native);
    *from_driver = 0;
    for (size_t i = 0; argv && argv[i]; i++) {
        char *p = strstr(argv[i], "path=");
        if (strncmp(argv[i], "socket,id=charmonitor", 21) != 0 || !p)
            continue;
        char *rest = strchr(p, ',');
        char *nw = NULL;
        if (asprintf(&nw, "%.*spath=%s%s", (int)(p - argv[i]), argv[i], qmp,
                     rest ? rest : "") < 0) {
            argv_free(argv);
            return NULL;
        }
        free(argv[i]);
        argv[i] = nw;
        *from_driver = 1;
    }
    if (*from_driver)
        return argv;
    argv_free(argv);
    char qmparg[PATH_MAX + 32];
    snprintf(qmparg, sizeof(qmparg), "unix:%s,server=on,wait=off", qmp);
    const char *const own[] = {"/usr/bin/qemu-system-x86_64", "-machine", "pc,accel=tcg",
                               "-m", "128", "-smp", "1", "-nodefaults", "-no-user-config",
                               "-display", "none", "-kernel", kernel, "-initrd", initrd,
                               "-append", "console=ttyS0 quiet panic=-1", "-serial", "pty",
                               "-qmp", qmparg, NULL};
    size_t n = sizeof(own) / sizeof(own[0]);
    argv = calloc(n, sizeof(*argv));
    for (size_t i = 0; argv && own[i]; i++)
        if (!(argv[i] = strdup(own[i]))) {
            argv_free(argv);
            return NULL;
        }
    return argv;
}

/* Starts argv with stdio on /dev/null; its pid or -1. */
static pid_t spawn_bare(char **argv)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

/* Reads from fd until buf holds needle (or EOF / 10 s). 0 or -1. */
static int read_until(int fd, const char *needle)
{
    char buf[8192];
    size_t len = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (len < sizeof(buf) - 1 && poll(&p, 1, 10000) == 1) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, needle))
            return 0;
    }
    return -1;
}

/* Seconds from spawning the bare qemu to the reply of its first QMP command, or -1. The
 * socket appears once qemu is up, so connecting is retried every millisecond. */
static double bare_qmp_once(char **argv, const char *qmp)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(qmp) >= sizeof(a.sun_path))
        return -1;
    memcpy(a.sun_path, qmp, strlen(qmp) + 1);
    unlink(qmp);
    double t0 = bench_now_s();
    pid_t pid = spawn_bare(argv);
    if (pid < 0)
        return -1;
    double result = -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    while (fd >= 0 && bench_now_s() - t0 < 30) {
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            break;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            pid = -1;
            break;
        }
        poll(NULL, 0, 1);
    }
    static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
    if (fd >= 0 && pid > 0 && read_until(fd, "\"QMP\"") == 0 &&
        write(fd, caps, sizeof(caps) - 1) == (ssize_t)(sizeof(caps) - 1) &&
        read_until(fd, "\"return\"") == 0)
        result = bench_now_s() - t0;
    if (fd >= 0)
        close(fd);
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    unlink(qmp);
    return result;
}

/* ---- suspend call → lifecycle event ------------------------------------------------- */

typedef struct ev_wait {
    int want; /* virDomainEventType awaited */
    int got;
} ev_wait;

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                        void *opaque)
{
    ev_wait *w = opaque;
    (void)conn, (void)dom, (void)detail;
    if (event == w->want)
        w->got = 1;
    return 0;
}

static void tick(int timer, void *opaque)
{
    (void)timer, (void)opaque;
}

/* Runs the default event loop until w->got or 10 s. 0 or -1. */
static int run_until(ev_wait *w)
{
    double deadline = bench_now_s() + 10;
    while (!w->got && bench_now_s() < deadline)
        if (virEventRunDefaultImpl() < 0)
            return -1;
    return w->got ? 0 : -1;
}

/* Median seconds from a virDomainSuspend call to its SUSPENDED event (each followed by
 * a resume and its RESUMED event); -1 when something failed. The caller registered
 * the default event loop before opening conn. */
static double suspend_to_event(virConnectPtr conn, virDomainPtr dom, int runs)
{
    ev_wait w = {0, 0};
    double *v = calloc((size_t)runs, sizeof(double)), result = -1;
    int timer = virEventAddTimeout(50, tick, NULL, NULL); /* bounds each loop round */
    int cb = virConnectDomainEventRegisterAny(conn, dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), &w,
                                              NULL);
    if (!v || timer < 0 || cb < 0 || virDomainCreate(dom) < 0)
        goto cleanup;
    int i;
    for (i = 0; i < runs; i++) {
        w.want = VIR_DOMAIN_EVENT_SUSPENDED;
        w.got = 0;
        double t0 = bench_now_s();
        if (virDomainSuspend(dom) < 0 || run_until(&w) < 0)
            break;
        v[i] = bench_now_s() - t0;
        w.want = VIR_DOMAIN_EVENT_RESUMED;
        w.got = 0;
        if (virDomainResume(dom) < 0 || run_until(&w) < 0)
            break;
    }
    if (i == runs)
        result = median(v, (size_t)runs);
    virDomainDestroy(dom);
cleanup:
    if (cb >= 0)
        virConnectDomainEventDeregisterAny(conn, cb);
    if (timer >= 0)
        virEventRemoveTimeout(timer);
    free(v);
    return result;
}

void bench_guest(virConnectPtr conn, const char *root, const char *source_dir,
                 const char *build_dir, int quick)
{
    char cache[PATH_MAX], script[PATH_MAX], out[4096];
    char kernel[PATH_MAX], initrd[PATH_MAX];
    const char *env = getenv("MODVIRT_TEST_CACHE");
    snprintf(cache, sizeof(cache), "%s", env && *env ? env : "");
    if (!cache[0])
        snprintf(cache, sizeof(cache), "%s/test-cache", build_dir);
    snprintf(script, sizeof(script), "%s/tests/guest/build-tiny-guest.sh", source_dir);
    char *const build_argv[] = {script, cache, NULL};
    if (run_capture(build_argv, out, sizeof(out)) != 0 ||
        sscanf(out, "kernel %4095s initrd %4095s", kernel, initrd) != 2) {
        fprintf(stderr, "modvirt-bench: no tiny guest (%s); guest figures skipped\n", script);
        return;
    }
    int runs = quick ? 3 : 10;
    double *bare = calloc((size_t)runs, sizeof(double));
    double *start = calloc((size_t)runs, sizeof(double));
    double *destroy = calloc((size_t)runs, sizeof(double));
    char *xml = guest_xml("benchguest", kernel, initrd);
    char qmp[PATH_MAX], **argv = NULL;
    int from_driver = 0;
    virDomainPtr dom = xml ? virDomainDefineXML(conn, xml) : NULL;
    int ok = 0;
    if (!bare || !start || !destroy || !dom) {
        fprintf(stderr, "modvirt-bench: guest setup: %s\n", virGetLastErrorMessage());
        goto cleanup;
    }
    snprintf(qmp, sizeof(qmp), "%s/bare-qmp.sock", root);
    if (!(argv = bare_argv(conn, xml, kernel, initrd, qmp, &from_driver)))
        goto cleanup;
    if (!from_driver)
        fprintf(stderr, "modvirt-bench: no qemu-argv from the driver; the bare qemu runs "
                        "the guest's options spelled by hand\n");
    for (int i = 0; i < runs; i++) {
        if ((bare[i] = bare_qmp_once(argv, qmp)) < 0) {
            fprintf(stderr, "modvirt-bench: the bare qemu did not answer QMP\n");
            goto cleanup;
        }
    }
    bench_figure("guest_bare_qemu_first_qmp_ms", median(bare, (size_t)runs) * 1000, "ms");
    for (int i = 0; i < runs; i++) {
        double t0 = bench_now_s();
        if (virDomainCreate(dom) < 0) {
            fprintf(stderr, "modvirt-bench: start: %s\n", virGetLastErrorMessage());
            goto cleanup;
        }
        /* virDomainCreate returns once the domain is RUNNING (libvirt's contract). */
        double t1 = bench_now_s();
        int state = -1;
        if (virDomainGetState(dom, &state, NULL, 0) < 0 || state != VIR_DOMAIN_RUNNING) {
            fprintf(stderr, "modvirt-bench: state %d after start\n", state);
            goto cleanup;
        }
        double t2 = bench_now_s();
        if (virDomainDestroy(dom) < 0) {
            fprintf(stderr, "modvirt-bench: destroy: %s\n", virGetLastErrorMessage());
            goto cleanup;
        }
        start[i] = t1 - t0;
        destroy[i] = bench_now_s() - t2;
    }
    bench_figure("guest_start_to_running_ms", median(start, (size_t)runs) * 1000, "ms");
    bench_figure("guest_destroy_ms", median(destroy, (size_t)runs) * 1000, "ms");
    ok = 1;
    double ev = suspend_to_event(conn, dom, quick ? 5 : 20);
    if (ev < 0)
        fprintf(stderr, "modvirt-bench: suspend → event: %s\n", virGetLastErrorMessage());
    else
        bench_figure("guest_suspend_to_event_ms", ev * 1000, "ms");
cleanup:
    if (!ok && dom)
        virDomainDestroy(dom);
    if (dom) {
        virDomainUndefine(dom);
        virDomainFree(dom);
    }
    free(xml);
    argv_free(argv);
    free(bare);
    free(start);
    free(destroy);
}
