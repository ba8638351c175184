/* bench.c: modvirt's figures, one line each ("name value unit"), measured against the real
 * daemons under a fresh MODVIRT_ROOT; plus the floor — a bare two-hop UNIX-socket
 * ping-pong — so the stack's own overhead is visible.
 *
 * Usage: modvirt-bench [--quick]   (run from a non-sanitized build: build/bench/) */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <modvirt/modvirt.h>
#include "bench/bench_figure.h"
#include "bench/bench_guest.h"

#ifndef MODVIRT_BIN_DIR
#error "MODVIRT_BIN_DIR must point at the build's bin/ folder"
#endif

static int quick;
static char root[64];

static void die(const char *what)
{
    fprintf(stderr, "modvirt-bench: %s: %s\n", what,
            virGetLastErrorMessage() ? virGetLastErrorMessage() : strerror(errno));
    exit(1);
}

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

/* ---- the floor: client -> relay -> echo over real UNIX sockets ---------------------- */

static int listen_at(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0)
        die("floor: listen");
    return fd;
}

static int connect_to(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("floor: connect");
    return fd;
}

static int read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Messages are a 4-byte length and a body, like modvirt frames. */
static int read_msg(int fd, char *buf, size_t cap, uint32_t *len)
{
    if (read_full(fd, len, 4) < 0 || *len > cap)
        return -1;
    return read_full(fd, buf, *len);
}

struct hop {
    int listen_fd;
    const char *next; /* NULL: echo */
};

static void *hop_main(void *arg)
{
    struct hop *h = arg;
    int in = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    int out = h->next ? connect_to(h->next) : -1;
    char buf[4096];
    uint32_t len;
    while (in >= 0 && read_msg(in, buf, sizeof(buf), &len) == 0) {
        if (out >= 0) { /* relay: forward the request, then the reply back */
            if (write_full(out, &len, 4) < 0 || write_full(out, buf, len) < 0 ||
                read_msg(out, buf, sizeof(buf), &len) < 0)
                break;
        }
        if (write_full(in, &len, 4) < 0 || write_full(in, buf, len) < 0)
            break;
    }
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return NULL;
}

static void bench_floor(void)
{
    char echo_path[108], relay_path[108];
    snprintf(echo_path, sizeof(echo_path), "%s/floor-echo", root);
    snprintf(relay_path, sizeof(relay_path), "%s/floor-relay", root);
    struct hop echo = {listen_at(echo_path), NULL};
    struct hop relay = {listen_at(relay_path), echo_path};
    pthread_t te, tr;
    pthread_create(&te, NULL, hop_main, &echo);
    pthread_create(&tr, NULL, hop_main, &relay);
    int fd = connect_to(relay_path);
    char msg[48] = "a small request the size of a trivial call";
    uint32_t len = sizeof(msg);
    char buf[4096];
    double budget = quick ? 0.5 : 2.0, start = bench_now_s();
    long n = 0;
    while (bench_now_s() - start < budget) {
        uint32_t rlen;
        if (write_full(fd, &len, 4) < 0 || write_full(fd, msg, len) < 0 ||
            read_msg(fd, buf, sizeof(buf), &rlen) < 0)
            die("floor: round trip");
        n++;
    }
    double elapsed = bench_now_s() - start;
    close(fd);
    pthread_join(tr, NULL);
    pthread_join(te, NULL);
    close(echo.listen_fd);
    close(relay.listen_fd);
    bench_figure("floor_two_hop_unix_roundtrips", (double)n / elapsed, "calls/s");
    bench_figure("floor_two_hop_unix_latency", elapsed / (double)n * 1e6, "us");
}

/* ---- trivial calls through virtproxyd ---------------------------------------------- */

struct caller {
    double budget;
    long calls;
};

static void *caller_main(void *arg)
{
    struct caller *c = arg;
    virConnectPtr conn = virConnectOpen("qemu:///system");
    if (!conn)
        die("virConnectOpen");
    double start = bench_now_s();
    while (bench_now_s() - start < c->budget) {
        if (virConnectNumOfDomains(conn) < 0)
            die("virConnectNumOfDomains");
        c->calls++;
    }
    virConnectClose(conn);
    return NULL;
}

static void bench_calls(int clients)
{
    struct caller cs[8];
    pthread_t t[8];
    double budget = quick ? 0.5 : 2.0;
    double start = bench_now_s();
    for (int i = 0; i < clients; i++) {
        cs[i] = (struct caller){budget, 0};
        pthread_create(&t[i], NULL, caller_main, &cs[i]);
    }
    long total = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(t[i], NULL);
        total += cs[i].calls;
    }
    double elapsed = bench_now_s() - start;
    char name[64];
    snprintf(name, sizeof(name), "trivial_calls_%d_client%s", clients, clients > 1 ? "s" : "");
    bench_figure(name, (double)total / elapsed, "calls/s");
}

/* ---- definitions at scale ---------------------------------------------------------- */

static char *domain_xml(int i)
{
    char *xml = NULL;
    if (asprintf(&xml,
                 "<domain type='qemu'><name>bench-%04d</name>"
                 "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                 "<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>",
                 i) < 0)
        die("asprintf");
    return xml;
}

static void bench_definitions(virConnectPtr conn)
{
    int count = quick ? 200 : 1000;
    double start = bench_now_s();
    for (int i = 0; i < count; i++) {
        char *xml = domain_xml(i);
        virDomainPtr d = virDomainDefineXML(conn, xml);
        if (!d)
            die("virDomainDefineXML");
        virDomainFree(d);
        free(xml);
    }
    char name[64];
    snprintf(name, sizeof(name), "define_%d_domains", count);
    bench_figure(name, bench_now_s() - start, "s");

    enum { ROUNDS = 50 };
    double lat[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        virDomainPtr *list = NULL;
        double t0 = bench_now_s();
        int n = virConnectListAllDomains(conn, &list, 0);
        lat[r] = bench_now_s() - t0;
        if (n != count)
            die("virConnectListAllDomains returned a wrong count");
        for (int i = 0; i < n; i++)
            virDomainFree(list[i]);
        free(list);
    }
    snprintf(name, sizeof(name), "list_all_latency_%d_domains", count);
    bench_figure(name, median(lat, ROUNDS) * 1e3, "ms");

    enum { LOOKUPS = 2000 };
    static double look[LOOKUPS];
    for (int r = 0; r < LOOKUPS; r++) {
        char dom_name[32];
        snprintf(dom_name, sizeof(dom_name), "bench-%04d", (r * 7919) % count);
        double t0 = bench_now_s();
        virDomainPtr d = virDomainLookupByName(conn, dom_name);
        look[r] = bench_now_s() - t0;
        if (!d)
            die("virDomainLookupByName");
        virDomainFree(d);
    }
    bench_figure("lookup_by_name_latency", median(look, LOOKUPS) * 1e6, "us");
}

/* ---- resident memory of the daemons ----------------------------------------------- */

static long daemon_pid(const char *daemon)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/run/modvirt/%s.pid", root, daemon);
    FILE *f = fopen(path, "re");
    long pid = -1;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = -1;
        fclose(f);
    }
    return pid;
}

static long rss_kib(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    FILE *f = fopen(path, "re");
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static void report_rss(const char *when)
{
    const char *daemons[] = {"virtproxyd", "virtqemud"};
    for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "rss_%s_%s", when, daemons[i]);
        bench_figure(name, (double)rss_kib(daemon_pid(daemons[i])), "KiB");
    }
}

/* ---- set-up and clean-up ------------------------------------------------------------ */

static int rm_entry(const char *p, const struct stat *s, int f, struct FTW *w)
{
    (void)s, (void)f, (void)w;
    return remove(p);
}

static void stop_daemons(void)
{
    const char *daemons[] = {"virtproxyd", "virtqemud"};
    for (size_t i = 0; i < 2; i++) {
        long pid = daemon_pid(daemons[i]);
        if (pid <= 0)
            continue;
        int pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
        kill((pid_t)pid, SIGTERM);
        if (pfd >= 0) {
            struct pollfd p = {.fd = pfd, .events = POLLIN};
            if (poll(&p, 1, 5000) != 1)
                kill((pid_t)pid, SIGKILL);
            close(pfd);
        }
    }
}

static void cleanup(void)
{
    if (!root[0])
        return;
    stop_daemons();
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv)
{
    quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    snprintf(root, sizeof(root), "/tmp/mvbench.XXXXXX");
    if (!mkdtemp(root))
        die("mkdtemp");
    atexit(cleanup);
    setenv("MODVIRT_ROOT", root, 1);
    setenv("MODVIRT_DAEMON_DIR", MODVIRT_BIN_DIR, 1);
    unsetenv("MODVIRT_DEFAULT_URI");
    unsetenv("LIBVIRT_DEFAULT_URI");

    bench_floor();

    /* Events reach a connection opened after the default loop is registered. */
    if (virEventRegisterDefaultImpl() < 0)
        die("virEventRegisterDefaultImpl");
    /* The first open starts virtproxyd and virtqemud on demand. */
    virConnectPtr conn = virConnectOpen("qemu:///system");
    if (!conn)
        die("virConnectOpen");
    report_rss("idle");
    bench_calls(1);
    bench_calls(8);
    bench_definitions(conn);
    report_rss("after_load");
    bench_guest(conn, root, MODVIRT_SOURCE_DIR, MODVIRT_BUILD_DIR, quick);
    virConnectClose(conn);
    return 0;
}
