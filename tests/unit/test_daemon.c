/* test_daemon.c: the daemon runtime's pieces that need no process of their own — option
 * parsing, socket-activation matching, the serial table, the access gate, the pid file,
 * binding sockets, the mailbox and the write queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/daemon/internal.h"
#include "common/daemon/service.h"
#include "common/paths.h"
#include "common/spawn.h"

/* ---- options ---- */

typedef struct opt_case {
    const char *argv[6];
    int rc;
    mv_opts_action action;
    long timeout;
    const char *config;
    bool verbose;
    const char *error; /* substring of the message when rc is -1 */
} opt_case;

static const opt_case opt_cases[] = {
    {{"d", NULL}, 0, MV_OPTS_RUN, -1, NULL, false, NULL},
    {{"d", "--timeout", "120", NULL}, 0, MV_OPTS_RUN, 120, NULL, false, NULL},
    {{"d", "--timeout=0", NULL}, 0, MV_OPTS_RUN, 0, NULL, false, NULL},
    {{"d", "-t", "5", "-v", NULL}, 0, MV_OPTS_RUN, 5, NULL, true, NULL},
    {{"d", "-t7", NULL}, 0, MV_OPTS_RUN, 7, NULL, false, NULL},
    {{"d", "-f", "/etc/x.conf", NULL}, 0, MV_OPTS_RUN, -1, "/etc/x.conf", false, NULL},
    {{"d", "--config=/c", "--verbose", NULL}, 0, MV_OPTS_RUN, -1, "/c", true, NULL},
    {{"d", "--version", NULL}, 0, MV_OPTS_VERSION, -1, NULL, false, NULL},
    {{"d", "--help", "--version", NULL}, 0, MV_OPTS_HELP, -1, NULL, false, NULL},
    {{"d", "--version", "-h", NULL}, 0, MV_OPTS_HELP, -1, NULL, false, NULL},
    {{"d", "--", NULL}, 0, MV_OPTS_RUN, -1, NULL, false, NULL},
    {{"d", "--bogus", NULL}, -1, 0, 0, NULL, false, "unknown option '--bogus'"},
    {{"d", "-x", NULL}, -1, 0, 0, NULL, false, "unknown option '-x'"},
    {{"d", "-vt", "3", NULL}, -1, 0, 0, NULL, false, "cannot be combined"},
    {{"d", "--timeout", NULL}, -1, 0, 0, NULL, false, "option '--timeout' needs a value"},
    {{"d", "--timeout", "abc", NULL}, -1, 0, 0, NULL, false, "invalid timeout 'abc'"},
    {{"d", "--timeout", "-1", NULL}, -1, 0, 0, NULL, false, "invalid timeout '-1'"},
    {{"d", "--timeout", "99999999999", NULL}, -1, 0, 0, NULL, false, "invalid timeout"},
    {{"d", "--timeout", "", NULL}, -1, 0, 0, NULL, false, "invalid timeout ''"},
    {{"d", "--verbose=1", NULL}, -1, 0, 0, NULL, false, "'--verbose' takes no value"},
    {{"d", "-f", "", NULL}, -1, 0, 0, NULL, false, "needs a file name"},
    {{"d", "stray", NULL}, -1, 0, 0, NULL, false, "unexpected argument 'stray'"},
    {{"d", "--", "stray", NULL}, -1, 0, 0, NULL, false, "unexpected argument 'stray'"},
};

static void test_options(void **state)
{
    for (size_t i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
        const opt_case *c = &opt_cases[i];
        int argc = 0;
        while (c->argv[argc])
            argc++;
        mv_daemon_opts o;
        mv_error err = MV_ERROR_INIT;
        int rc = mv_opts_parse(argc, (char *const *)c->argv, &o, &err);
        if (rc != c->rc)
            fail_msg("case %zu (%s): rc %d, expected %d (%s)", i, c->argv[1], rc, c->rc,
                     err.message ? err.message : "");
        if (rc < 0) {
            assert_non_null(err.message);
            if (!strstr(err.message, c->error))
                fail_msg("case %zu: message '%s' lacks '%s'", i, err.message, c->error);
            /* read like a command line tool's messages, without a code prefix */
            assert_null(strstr(err.message, "invalid argument:"));
        } else {
            assert_int_equal(o.action, c->action);
            assert_int_equal(o.timeout, c->timeout);
            assert_int_equal(o.verbose, c->verbose);
            if (c->config)
                assert_string_equal(o.config, c->config);
            else
                assert_null(o.config);
        }
        mv_error_clear(&err);
    }
}

static void test_usage(void **state)
{
    char *u = mv_opts_usage("virtqemud", "The QEMU driver daemon of modvirt.");
    assert_non_null(u);
    assert_non_null(strstr(u, "Usage: virtqemud [OPTIONS]"));
    assert_non_null(strstr(u, "--timeout SECONDS"));
    assert_non_null(strstr(u, "virtqemud.conf"));
    free(u);
}

/* ---- socket activation ---- */

static void test_activation_match(void **state)
{
    const char *both[] = {"virtproxyd.socket", "virtproxyd-ro.socket"};
    const char *one[] = {"virtqemud.socket"};
    int fds[2];

    /* by name, whatever the order systemd passed them in */
    char *n1[] = {"virtproxyd-ro.socket", "virtproxyd.socket"};
    assert_int_equal(mv_activation_match(n1, 2, both, 2, fds), 2);
    assert_int_equal(fds[0], 4);
    assert_int_equal(fds[1], 3);

    /* only one of two passed: the other stays ours to bind */
    char *n2[] = {"virtproxyd-ro.socket"};
    assert_int_equal(mv_activation_match(n2, 1, both, 2, fds), 1);
    assert_int_equal(fds[0], -1);
    assert_int_equal(fds[1], 3);

    /* no names (LISTEN_FDNAMES unset): in order */
    char *n3[] = {"unknown"};
    assert_int_equal(mv_activation_match(n3, 1, one, 1, fds), 1);
    assert_int_equal(fds[0], 3);
    assert_int_equal(mv_activation_match(NULL, 1, one, 1, fds), 1);
    assert_int_equal(fds[0], 3);

    /* a name we do not know is never ours, and a named one beats an unnamed one */
    char *n4[] = {"other.socket", "unknown", "virtqemud.socket"};
    assert_int_equal(mv_activation_match(n4, 3, one, 1, fds), 1);
    assert_int_equal(fds[0], 5);
    char *n5[] = {"other.socket"};
    assert_int_equal(mv_activation_match(n5, 1, one, 1, fds), 0);
    assert_int_equal(fds[0], -1);

    /* not activated */
    assert_int_equal(mv_activation_match(NULL, 0, both, 2, fds), 0);
    assert_int_equal(fds[0], -1);
    assert_int_equal(fds[1], -1);

    /* unnamed fds fill unmatched slots in order, after names matched */
    char *n6[] = {"unknown", "virtproxyd.socket"};
    assert_int_equal(mv_activation_match(n6, 2, both, 2, fds), 2);
    assert_int_equal(fds[0], 4);
    assert_int_equal(fds[1], 3);
}

/* ---- serial table ---- */

static void test_sertab_basic(void **state)
{
    mv_sertab t;
    uint32_t v = 0;
    mv_sertab_init(&t);
    assert_int_equal(mv_sertab_get(&t, 5, &v), 0);
    assert_int_equal(mv_sertab_take(&t, 5, &v), 0);
    assert_int_equal(mv_sertab_put(&t, 0, 1), -1); /* 0 is never a call */
    assert_int_equal(mv_sertab_put(&t, 5, 15), 0);
    assert_int_equal(mv_sertab_put(&t, 5, 99), 1); /* present: unchanged */
    assert_int_equal(mv_sertab_get(&t, 5, &v), 1);
    assert_int_equal(v, 15);
    assert_int_equal(mv_sertab_put(&t, 0x80000001u, 3), 0);
    assert_int_equal(t.count, 2);
    assert_int_equal(mv_sertab_take(&t, 5, &v), 1);
    assert_int_equal(v, 15);
    assert_int_equal(mv_sertab_get(&t, 5, NULL), 0);
    assert_int_equal(mv_sertab_get(&t, 0x80000001u, NULL), 1);
    mv_sertab_free(&t);
    mv_sertab_free(&t); /* twice is fine */
}

/* Random puts and takes against a plain array: exercises collisions, growth and the
 * backward-shift deletion that keeps probe runs intact. */
static void test_sertab_random(void **state)
{
    enum { KEYS = 3000 };
    static uint32_t ref[KEYS + 1]; /* value + 1, or 0 when absent */
    mv_sertab t;
    mv_sertab_init(&t);
    memset(ref, 0, sizeof(ref));
    unsigned seed = 12345;
    for (int i = 0; i < 200000; i++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t key = 1 + (seed >> 8) % KEYS;
        /* keys spread over the space the proxy uses, to hit every hash pattern */
        uint32_t wire = (key & 1) ? key : (0x80000000u | key);
        uint32_t v = 0;
        if ((seed >> 4) & 1) {
            int r = mv_sertab_put(&t, wire, key * 7);
            assert_int_equal(r, ref[key] ? 1 : 0);
            ref[key] = key * 7 + 1;
        } else {
            int r = mv_sertab_take(&t, wire, &v);
            assert_int_equal(r, ref[key] ? 1 : 0);
            if (r)
                assert_int_equal(v, key * 7);
            ref[key] = 0;
        }
    }
    size_t n = 0;
    for (uint32_t k = 1; k <= KEYS; k++) {
        uint32_t wire = (k & 1) ? k : (0x80000000u | k);
        uint32_t v = 0;
        assert_int_equal(mv_sertab_get(&t, wire, &v), ref[k] ? 1 : 0);
        if (ref[k]) {
            assert_int_equal(v, k * 7);
            n++;
        }
    }
    assert_int_equal(t.count, n);
    mv_sertab_free(&t);
}

static void count_entry(uint32_t key, uint32_t val, void *opaque)
{
    size_t *sum = opaque;
    assert_int_equal(val, key + 1);
    (*sum)++;
}

static void test_sertab_drain(void **state)
{
    mv_sertab t;
    size_t seen = 0;
    mv_sertab_init(&t);
    for (uint32_t k = 1; k <= 100; k++)
        assert_int_equal(mv_sertab_put(&t, k, k + 1), 0);
    mv_sertab_drain(&t, count_entry, &seen);
    assert_int_equal(seen, 100);
    assert_int_equal(t.count, 0);
    assert_int_equal(mv_sertab_get(&t, 50, NULL), 0);
    assert_int_equal(mv_sertab_put(&t, 50, 51), 0); /* usable again */
    mv_sertab_free(&t);
}

/* ---- the access gate ---- */

typedef struct gate_case {
    uint32_t proc;
    bool opened, readonly;
    int code; /* VIR_ERR_OK when allowed */
    const char *message;
} gate_case;

static const gate_case gate_cases[] = {
    {MV_PROC_CONNECT_KEEPALIVE, false, false, VIR_ERR_OK, NULL},
    {MV_PROC_PROXY_IDENTIFY, false, false, VIR_ERR_OK, NULL},
    {MV_PROC_CONNECT_OPEN, false, true, VIR_ERR_OK, NULL},
    {MV_PROC_CONNECT_CLOSE, false, false, VIR_ERR_OK, NULL},
    {MV_PROC_CONNECT_GET_TYPE, false, false, VIR_ERR_OPERATION_INVALID,
     "connection not open: connect_get_type needs connect_open first"},
    {MV_PROC_DOMAIN_DEFINE_XML, false, true, VIR_ERR_OPERATION_INVALID, "connection not open"},
    {MV_PROC_CONNECT_OPEN, true, false, VIR_ERR_OPERATION_INVALID, "already open"},
    {MV_PROC_PROXY_IDENTIFY, true, false, VIR_ERR_OPERATION_INVALID, "before connect_open"},
    {MV_PROC_CONNECT_GET_TYPE, true, true, VIR_ERR_OK, NULL},
    {MV_PROC_DOMAIN_GET_XML_DESC, true, true, VIR_ERR_OK, NULL},
    {MV_PROC_DOMAIN_DEFINE_XML, true, false, VIR_ERR_OK, NULL},
    {MV_PROC_DOMAIN_DEFINE_XML, true, true, VIR_ERR_OPERATION_DENIED,
     "operation forbidden: read only access prevents domain_define_xml"},
    {MV_PROC_DOMAIN_UNDEFINE, true, true, VIR_ERR_OPERATION_DENIED, "domain_undefine"},
    {MV_PROC_DOMAIN_SET_AUTOSTART, true, true, VIR_ERR_OPERATION_DENIED, NULL},
};

static void test_gate(void **state)
{
    for (size_t i = 0; i < sizeof(gate_cases) / sizeof(gate_cases[0]); i++) {
        const gate_case *c = &gate_cases[i];
        mv_error err = MV_ERROR_INIT;
        const mv_proc_info *p = mv_proc_lookup(c->proc);
        assert_non_null(p);
        int rc = mv_dispatch_gate(p, c->opened, c->readonly, &err);
        if (c->code == VIR_ERR_OK) {
            if (rc != 0)
                fail_msg("case %zu (%s): refused: %s", i, p->name, err.message);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(err.code, c->code);
            if (c->message && !strstr(err.message, c->message))
                fail_msg("case %zu: '%s' lacks '%s'", i, err.message, c->message);
        }
        mv_error_clear(&err);
    }
}

/* Every read-write procedure is refused on a read-only connection, every read-only one
 * allowed: the gate follows procedures.def, with no list of its own to drift. */
static void test_gate_follows_declarations(void **state)
{
    for (uint32_t n = 1; n < 1000; n++) {
        const mv_proc_info *p = mv_proc_lookup(n);
        if (!p || p->num == MV_PROC_CONNECT_OPEN || p->num == MV_PROC_PROXY_IDENTIFY)
            continue;
        mv_error err = MV_ERROR_INIT;
        int rc = mv_dispatch_gate(p, true, true, &err);
        assert_int_equal(rc, p->access == MV_ACCESS_RW ? -1 : 0);
        mv_error_clear(&err);
    }
}

/* ---- files and sockets ---- */

static char *tmpdir_new(void)
{
    char *dir = strdup("/tmp/test_daemon.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void rm_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_pidfile(void **state)
{
    char *dir = tmpdir_new();
    char *path = mv_path_join(dir, "d.pid");
    mv_pidfile a, b;
    mv_error err = MV_ERROR_INIT;

    assert_int_equal(mv_pidfile_acquire(&a, path, &err), 0);
    FILE *f = fopen(path, "r");
    long pid = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    assert_int_equal(pid, (long)getpid());

    /* a second instance: flock is per open file, so this process can play it */
    assert_int_equal(mv_pidfile_acquire(&b, path, &err), -1);
    char want[64];
    snprintf(want, sizeof(want), "already running (pid %ld)", (long)getpid());
    assert_string_equal(err.message, want);
    assert_int_equal(b.fd, -1);
    mv_error_clear(&err);

    mv_pidfile_release(&a);
    assert_int_equal(access(path, F_OK), -1);
    mv_pidfile_release(&a); /* twice is fine */

    /* a stale file (its holder died) is simply taken over */
    f = fopen(path, "w");
    fputs("999999\n", f);
    fclose(f);
    assert_int_equal(mv_pidfile_acquire(&b, path, &err), 0);
    mv_pidfile_release(&b);

    free(path);
    rm_tree(dir);
    free(dir);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    return st.st_mode & 07777;
}

static void test_listen_unix(void **state)
{
    char *dir = tmpdir_new();
    char *rw = mv_path_join(dir, "d-sock");
    char *ro = mv_path_join(dir, "d-sock-ro");
    char *file = mv_path_join(dir, "plain");
    mv_error err = MV_ERROR_INIT;

    int a = mv_listen_unix(rw, 0600, &err);
    assert_true(a >= 0);
    assert_int_equal(mode_of(rw), 0600);
    int b = mv_listen_unix(ro, 0666, &err);
    assert_true(b >= 0);
    assert_int_equal(mode_of(ro), 0666);
    assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);

    /* the old socket file is stale once we hold the pid lock: replaced */
    close(a);
    a = mv_listen_unix(rw, 0600, &err);
    assert_true(a >= 0);
    int cfd = mv_socket_connect(rw, &err);
    assert_true(cfd >= 0);
    close(cfd);

    /* but something that is not a socket is never removed */
    FILE *f = fopen(file, "w");
    fclose(f);
    assert_int_equal(mv_listen_unix(file, 0600, &err), -1);
    assert_non_null(strstr(err.message, "is not a socket"));
    assert_int_equal(access(file, F_OK), 0);
    mv_error_clear(&err);

    /* too long for sun_path: a clear error, not a truncated path */
    char longp[200];
    memset(longp, 'x', sizeof(longp));
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(mv_listen_unix(longp, 0600, &err), -1);
    assert_non_null(err.message);
    mv_error_clear(&err);

    close(a);
    close(b);
    free(rw);
    free(ro);
    free(file);
    rm_tree(dir);
    free(dir);
}

/* ---- mailbox: other threads reach the loop ---- */

typedef struct mb_state {
    mv_mailbox mb;
    pthread_t loop_thread;
    int received;
    int last;
    bool in_order;
    bool on_loop;
    bool post_failed; /* set by the posting thread (cmocka asserts belong to the main one) */
} mb_state;

static void mb_fn(void *ctx, void *opaque)
{
    mb_state *st = ctx;
    int v = (int)(intptr_t)opaque;
    st->on_loop = st->on_loop && pthread_equal(pthread_self(), st->loop_thread);
    st->in_order = st->in_order && v == st->last + 1;
    st->last = v;
    if (++st->received == 1000)
        mv_mailbox_close(&st->mb);
}

static void *mb_poster(void *arg)
{
    mb_state *st = arg;
    for (int i = 1; i <= 1000; i++) {
        if (mv_mailbox_post(&st->mb, mb_fn, st, (void *)(intptr_t)i) != 0)
            st->post_failed = true;
    }
    return NULL;
}

static void test_mailbox(void **state)
{
    uv_loop_t loop;
    mb_state st = {.last = 0, .in_order = true, .on_loop = true};
    mv_error err = MV_ERROR_INIT;
    pthread_t th;

    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(mv_mailbox_init(&st.mb, &loop, &err), 0);
    st.loop_thread = pthread_self();
    assert_int_equal(pthread_create(&th, NULL, mb_poster, &st), 0);
    /* the loop runs until the 1000th function closes the mailbox */
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    assert_false(st.post_failed);
    assert_int_equal(st.received, 1000);
    assert_true(st.in_order);
    assert_true(st.on_loop);
    /* closed: refused, and the caller keeps its data */
    assert_int_equal(mv_mailbox_post(&st.mb, mb_fn, &st, NULL), -1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- write queue ---- */

typedef struct wq_state {
    uv_pipe_t pipe;
    mv_wq wq;
    int full_changes;
    bool full;
    int idles;
} wq_state;

static void wq_on_full(mv_wq *wq, bool full)
{
    wq_state *st = wq->owner;
    st->full = full;
    st->full_changes++;
}

static void wq_on_idle(mv_wq *wq)
{
    wq_state *st = wq->owner;
    st->idles++;
}

/* Reads everything the peer end has, without blocking. */
static size_t drain_peer(int fd, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + got, cap - got, MSG_DONTWAIT);
        if (n <= 0)
            return got;
        got += (size_t)n;
    }
}

static void test_wqueue(void **state)
{
    uv_loop_t loop;
    wq_state st = {0};
    int sv[2];
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    uv_pipe_init(&loop, &st.pipe, 0);
    assert_int_equal(uv_pipe_open(&st.pipe, sv[0]), 0);
    mv_wq_init(&st.wq, (uv_stream_t *)&st.pipe, 64 * 1024, &st);
    st.wq.on_full = wq_on_full;
    st.wq.on_idle = wq_on_idle;

    /* small frames batch and go out in one flush, in order, framed */
    uint8_t payload[100];
    for (int i = 0; i < 3; i++) {
        memset(payload, 'a' + i, sizeof(payload));
        assert_int_equal(mv_wq_put_frame(&st.wq, payload, sizeof(payload)), 0);
    }
    assert_int_equal(mv_wq_flush(&st.wq), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    uint8_t *in = malloc(1 << 20);
    size_t got = drain_peer(sv[1], in, 1 << 20);
    assert_int_equal(got, 3 * 104);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(in[i * 104 + 3], 100); /* big-endian length */
        assert_int_equal(in[i * 104 + 4], 'a' + i);
    }
    assert_true(mv_wq_idle(&st.wq));

    /* a peer that does not read: the queue reports full, then empty again once read */
    uint8_t *big = malloc(200 * 1024);
    memset(big, 'z', 200 * 1024);
    assert_int_equal(mv_wq_put_owned(&st.wq, big, 200 * 1024), 0);
    for (int i = 0; i < 50; i++)
        assert_int_equal(mv_wq_put_frame(&st.wq, payload, sizeof(payload)), 0);
    mv_wq_flush(&st.wq);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_true(st.full);
    assert_false(mv_wq_idle(&st.wq));
    size_t total = 0;
    for (int spins = 0; spins < 100000 && !mv_wq_idle(&st.wq); spins++) {
        total += drain_peer(sv[1], in, 1 << 20);
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    total += drain_peer(sv[1], in, 1 << 20);
    assert_int_equal(total, 200 * 1024 + 50 * 104);
    assert_false(st.full);
    assert_int_equal(st.full_changes, 2);
    assert_true(st.idles >= 1);

    uv_close((uv_handle_t *)&st.pipe, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    mv_wq_free(&st.wq);
    assert_int_equal(uv_loop_close(&loop), 0);
    close(sv[1]);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_activation_match),
        cmocka_unit_test(test_sertab_basic),
        cmocka_unit_test(test_sertab_random),
        cmocka_unit_test(test_sertab_drain),
        cmocka_unit_test(test_gate),
        cmocka_unit_test(test_gate_follows_declarations),
        cmocka_unit_test(test_pidfile),
        cmocka_unit_test(test_listen_unix),
        cmocka_unit_test(test_mailbox),
        cmocka_unit_test(test_wqueue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
