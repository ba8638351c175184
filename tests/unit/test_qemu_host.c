/* test_qemu_host.c: virtqemud's host facts — node info over fake sysfs/proc trees, the
 * qemu version parser, the version probe (fake binaries) and the binary search. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/paths.h"
#include "virtqemud/qemu_host.h"

static char tmpdir[64];

static void write_file(const char *rel, const char *content, mode_t mode)
{
    char path[PATH_MAX], dir[PATH_MAX];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    snprintf(dir, sizeof(dir), "%s", path);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(mv_mkdir_p(dir, 0755, NULL), 0);
    assert_non_null(f = fopen(path, "w"));
    fputs(content, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void make_dir(const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    assert_int_equal(mv_mkdir_p(path, 0755, NULL), 0);
}

static void rm_rf(const char *path)
{
    /* Test trees are small and ours: nftw would do, but a child rm keeps this short. */
    char *argv[] = {"rm", "-rf", (char *)path, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execvp("rm", argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mvqhost.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    rm_rf(tmpdir);
    return 0;
}

/* One CPU's topology files. */
static void fake_cpu(unsigned cpu, unsigned socket, unsigned core, const char *siblings)
{
    char rel[128], val[32];
    snprintf(rel, sizeof(rel), "sys/cpu/cpu%u/topology/physical_package_id", cpu);
    snprintf(val, sizeof(val), "%u\n", socket);
    write_file(rel, val, 0644);
    snprintf(rel, sizeof(rel), "sys/cpu/cpu%u/topology/core_id", cpu);
    snprintf(val, sizeof(val), "%u\n", core);
    write_file(rel, val, 0644);
    snprintf(rel, sizeof(rel), "sys/cpu/cpu%u/topology/thread_siblings", cpu);
    write_file(rel, siblings, 0644);
}

static void fake_proc(void)
{
    write_file("proc/meminfo", "MemTotal:        2048000 kB\nMemFree:  100 kB\n", 0644);
    write_file("proc/cpuinfo",
               "processor\t: 0\ncpu MHz\t\t: 1000.500\n\nprocessor\t: 1\ncpu MHz\t\t: 2400.000\n",
               0644);
}

static int nodeinfo(qemu_nodeinfo *info, mv_error *err)
{
    char sys[PATH_MAX], proc[PATH_MAX];
    snprintf(sys, sizeof(sys), "%s/sys", tmpdir);
    snprintf(proc, sizeof(proc), "%s/proc", tmpdir);
    return qemu_host_nodeinfo(sys, proc, info, err);
}

/* A fake host (up to four CPUs, fake_proc()'s memory and clock) and what nodeinfo must
 * report of it. */
typedef struct topology {
    const char *present, *online;
    unsigned ncpus;
    struct {
        unsigned socket, core;
        const char *siblings;
    } cpu[4];
    const char *node_dirs[5]; /* "node0/cpu0", ...; NULL-terminated (none: one node) */
    struct {
        unsigned cpus, nodes, sockets, cores, threads;
    } want;
} topology;

static void check_topology(const topology *t)
{
    qemu_nodeinfo info;
    mv_error err = MV_ERROR_INIT;

    fake_proc();
    write_file("sys/cpu/present", t->present, 0644);
    write_file("sys/cpu/online", t->online, 0644);
    for (unsigned i = 0; i < t->ncpus; i++)
        fake_cpu(i, t->cpu[i].socket, t->cpu[i].core, t->cpu[i].siblings);
    for (size_t i = 0; t->node_dirs[i]; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "sys/node/%s", t->node_dirs[i]);
        make_dir(rel);
    }
    assert_int_equal(nodeinfo(&info, &err), 0);
    assert_int_equal(info.memory, 2048000);
    assert_int_equal(info.mhz, 2400); /* the last "cpu MHz" line, as libvirt */
    assert_true(strlen(info.model) > 0);
    assert_int_equal(info.cpus, t->want.cpus);
    assert_int_equal(info.nodes, t->want.nodes);
    assert_int_equal(info.sockets, t->want.sockets);
    assert_int_equal(info.cores, t->want.cores);
    assert_int_equal(info.threads, t->want.threads);
}

/* Two sockets, one core each, two threads per core, one NUMA node. */
static const topology two_sockets = {
    .present = "0-3\n",
    .online = "0-3\n",
    .ncpus = 4,
    .cpu = {{0, 0, "3\n"}, {0, 0, "3\n"}, {1, 0, "c\n"}, {1, 0, "c\n"}},
    .node_dirs = {"node0/cpu0", "node0/cpu1", "node0/cpu2", "node0/cpu3", NULL},
    .want = {4, 1, 2, 1, 2}, /* cpus, nodes, sockets, cores, threads */
};

/* An offline CPU is not counted, but counts against the topology: three online cores
 * plus one offline do not multiply out, so libvirt (and we) report it flat. No node
 * folder: the whole host is one node. */
static const topology offline_cpu = {
    .present = "0-3\n",
    .online = "0-2\n",
    .ncpus = 4,
    .cpu = {{0, 0, "1\n"}, {0, 1, "2\n"}, {0, 2, "4\n"}, {0, 3, "8\n"}},
    .node_dirs = {NULL},
    .want = {3, 1, 1, 4, 1}, /* cpus, nodes, sockets, cores, threads */
};

/* Siblings that claim more threads than exist: libvirt reports a flat topology. */
static const topology inconsistent_is_flat = {
    .present = "0-1\n",
    .online = "0-1\n",
    .ncpus = 2,
    .cpu = {{0, 0, "f\n"}, {0, 1, "f\n"}},
    .node_dirs = {"node0/cpu0", "node0/cpu1", NULL},
    .want = {2, 1, 1, 2, 1}, /* cpus, nodes, sockets, cores, threads */
};

/* Two NUMA nodes of two cores each. */
static const topology numa = {
    .present = "0-3\n",
    .online = "0-3\n",
    .ncpus = 4,
    .cpu = {{0, 0, "1\n"}, {0, 1, "2\n"}, {1, 0, "4\n"}, {1, 1, "8\n"}},
    .node_dirs = {"node0/cpu0", "node0/cpu1", "node1/cpu2", "node1/cpu3", NULL},
    .want = {4, 2, 1, 2, 1}, /* cpus, nodes, sockets, cores, threads */
};

/* The topology in *state (see NODEINFO_TEST). */
static void test_nodeinfo(void **state)
{
    check_topology(*state);
}
#define NODEINFO_TEST(t)                                                                           \
    {                                                                                              \
        "test_nodeinfo_" #t, test_nodeinfo, setup, teardown, (void *)&t                            \
    }

static void test_nodeinfo_missing_proc(void **state)
{
    qemu_nodeinfo info;
    mv_error err = MV_ERROR_INIT;

    write_file("sys/cpu/present", "0\n", 0644);
    assert_int_equal(nodeinfo(&info, &err), -1);
    assert_int_equal(err.code, VIR_ERR_SYSTEM_ERROR);
    assert_non_null(strstr(err.message, "meminfo"));
    mv_error_clear(&err);
}

static void test_nodeinfo_real_host(void **state)
{
    qemu_nodeinfo info;
    mv_error err = MV_ERROR_INIT;

    if (access("/proc/meminfo", R_OK) != 0)
        skip();
    assert_int_equal(qemu_host_nodeinfo(QEMU_HOST_SYSFS_CPU_ROOT, QEMU_HOST_PROC_ROOT, &info, &err),
                     0);
    assert_true(info.cpus >= 1);
    assert_true(info.memory > 0);
    assert_true(info.nodes * info.sockets * info.cores * info.threads >= info.cpus);
    assert_int_equal(info.cpus, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
}

static void test_version_parse(void **state)
{
    unsigned long v = 0;
    mv_error err = MV_ERROR_INIT;

    assert_int_equal(qemu_version_parse("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)\n"
                                        "Copyright (c) 2003-2022 Fabrice Bellard\n",
                                        &v, &err),
                     0);
    assert_int_equal(v, 7002022);
    assert_int_equal(qemu_version_parse("QEMU emulator version 9.1.0\n", &v, &err), 0);
    assert_int_equal(v, 9001000);
    assert_int_equal(qemu_version_parse("QEMU emulator version 8.2\n", &v, &err), 0);
    assert_int_equal(v, 8002000);
    assert_int_equal(qemu_version_parse("QEMU emulator version 10.0.50 (v10.0.0-123)", &v, &err),
                     0);
    assert_int_equal(v, 10000050);

    assert_int_equal(qemu_version_parse("qemu-kvm: command not found\n", &v, &err), -1);
    assert_int_equal(err.code, VIR_ERR_INTERNAL_ERROR);
    assert_non_null(strstr(err.message, "qemu-kvm: command not found"));
    assert_int_equal(qemu_version_parse("QEMU emulator version 7.1000.0", &v, &err), -1);
    assert_int_equal(qemu_version_parse("QEMU emulator version 7", &v, &err), -1);
    assert_int_equal(qemu_version_parse("", &v, &err), -1);
    mv_error_clear(&err);
}

static char *fake_binary(const char *name, const char *script)
{
    char rel[128], *path;
    snprintf(rel, sizeof(rel), "bin/%s", name);
    write_file(rel, script, 0755);
    assert_non_null(path = mv_path_join(tmpdir, rel));
    return path;
}

static void test_version_probe_fake(void **state)
{
    unsigned long v = 0;
    mv_error err = MV_ERROR_INIT;
    char *good = fake_binary("qemu-good", "#!/bin/sh\n"
                                          "[ \"$1\" = --version ] || exit 3\n"
                                          "echo 'QEMU emulator version 6.1.3 (fake)'\n");
    char *bad = fake_binary("qemu-bad", "#!/bin/sh\necho 'QEMU emulator version 6.1.3'\nexit 1\n");
    char *junk = fake_binary("qemu-junk", "#!/bin/sh\necho hello\n");

    assert_int_equal(qemu_version_probe(good, 5000, &v, &err), 0);
    assert_int_equal(v, 6001003);

    assert_int_equal(qemu_version_probe(bad, 5000, &v, &err), -1);
    assert_non_null(strstr(err.message, "exit status 1"));

    assert_int_equal(qemu_version_probe(junk, 5000, &v, &err), -1);
    assert_non_null(strstr(err.message, "hello"));

    char missing[PATH_MAX];
    snprintf(missing, sizeof(missing), "%s/bin/none", tmpdir);
    assert_int_equal(qemu_version_probe(missing, 5000, &v, &err), -1);
    assert_int_equal(err.code, VIR_ERR_SYSTEM_ERROR);
    mv_error_clear(&err);
    free(good);
    free(bad);
    free(junk);
}

/* A binary that never answers is killed at the deadline, and the probe says so. */
static void test_version_probe_timeout(void **state)
{
    unsigned long v = 0;
    mv_error err = MV_ERROR_INIT;
    struct timespec a, b;
    char *hang = fake_binary("qemu-hang", "#!/bin/sh\nexec sleep 30\n");

    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(qemu_version_probe(hang, 300, &v, &err), -1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_int_equal(err.code, VIR_ERR_OPERATION_TIMEOUT);
    assert_true(b.tv_sec - a.tv_sec < 5);
    mv_error_clear(&err);
    free(hang);
}

static void test_version_probe_real(void **state)
{
    unsigned long v = 0;
    char *bin = qemu_binary_find(NULL, NULL);

    if (!bin)
        skip();
    assert_int_equal(qemu_version_probe(bin, 10000, &v, NULL), 0);
    assert_true(v >= 1000000);
    free(bin);
}

static void test_binary_find(void **state)
{
    mv_error err = MV_ERROR_INIT;
    char *good = fake_binary("qemu-system-x86_64", "#!/bin/sh\n");
    char *found, *old_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    char bindir[PATH_MAX];

    write_file("bin/not-exec", "", 0644);
    assert_non_null(found = qemu_binary_find(good, &err));
    assert_string_equal(found, good);
    free(found);

    /* A bare name is searched on PATH; the default name too. */
    snprintf(bindir, sizeof(bindir), "%s/bin", tmpdir);
    setenv("PATH", bindir, 1);
    assert_non_null(found = qemu_binary_find("qemu-system-x86_64", &err));
    assert_string_equal(found, good);
    free(found);
    assert_non_null(found = qemu_binary_find(NULL, &err));
    assert_string_equal(found, good);
    free(found);

    assert_null(qemu_binary_find("not-exec", &err));
    assert_int_equal(err.code, VIR_ERR_CONFIG_UNSUPPORTED);
    assert_non_null(strstr(err.message, "'not-exec'"));
    assert_null(qemu_binary_find("/nonexistent/qemu", &err));
    assert_non_null(strstr(err.message, "/nonexistent/qemu"));
    assert_null(qemu_binary_find(bindir, &err)); /* a folder is not a binary */

    if (old_path)
        setenv("PATH", old_path, 1);
    else
        unsetenv("PATH");
    free(old_path);
    free(good);
    mv_error_clear(&err);
}

static void test_hostname(void **state)
{
    char *name = qemu_host_hostname(NULL);
    char buf[256];
    assert_non_null(name);
    assert_int_equal(gethostname(buf, sizeof(buf)), 0);
    assert_string_equal(name, buf);
    free(name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        NODEINFO_TEST(two_sockets),
        NODEINFO_TEST(offline_cpu),
        NODEINFO_TEST(inconsistent_is_flat),
        NODEINFO_TEST(numa),
        cmocka_unit_test_setup_teardown(test_nodeinfo_missing_proc, setup, teardown),
        cmocka_unit_test(test_nodeinfo_real_host),
        cmocka_unit_test(test_version_parse),
        cmocka_unit_test_setup_teardown(test_version_probe_fake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_probe_timeout, setup, teardown),
        cmocka_unit_test(test_version_probe_real),
        cmocka_unit_test_setup_teardown(test_binary_find, setup, teardown),
        cmocka_unit_test(test_hostname),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
