/* test_qemu_monitor: the QMP parser fed byte strings, and the client against a scripted
 * fake QMP server on a UNIX socket, with a libuv loop on its own thread. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>
#include <cmocka.h>
#include "virtqemud/qemu_monitor.h"

/* ---- parser ------------------------------------------------------------------------------ */

static int take(qmp_parser *p, json_object **msg)
{
    mv_error err = MV_ERROR_INIT;
    int r = qmp_parser_next(p, msg, &err);

    mv_error_clear(&err);
    return r;
}

static void test_parser_split(void **state)
{
    const char *wire = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n"
                       "{\"return\": {}, \"id\": 7}\r\n"
                       "{\"event\": \"STOP\", \"data\": {}, \"timestamp\": {\"seconds\": 1}}\r\n";
    qmp_parser *p = qmp_parser_new();
    json_object *msg = NULL;
    qmp_kind kinds[3];
    size_t n = 0;

    /* One byte at a time: messages appear exactly when their last brace arrives. */
    for (size_t i = 0; wire[i]; i++) {
        assert_int_equal(qmp_parser_feed(p, wire + i, 1, NULL), 0);
        while (take(p, &msg) > 0) {
            assert_true(n < 3);
            kinds[n] = qmp_message_kind(msg);
            if (n == 1)
                assert_int_equal(qmp_message_id(msg), 7);
            n++;
            json_object_put(msg);
        }
    }
    assert_int_equal(n, 3);
    assert_int_equal(kinds[0], QMP_KIND_GREETING);
    assert_int_equal(kinds[1], QMP_KIND_RETURN);
    assert_int_equal(kinds[2], QMP_KIND_EVENT);
    assert_int_equal(take(p, &msg), 0);
    qmp_parser_free(p);
}

static void test_parser_many_in_one(void **state)
{
    const char *wire = "{\"return\":1,\"id\":1}{\"return\":2,\"id\":2}\n{\"error\":{\"class\":"
                       "\"GenericError\",\"desc\":\"boom\"},\"id\":3}\r\n{\"return\"";
    qmp_parser *p = qmp_parser_new();
    json_object *msg = NULL;
    mv_error err = MV_ERROR_INIT;

    assert_int_equal(qmp_parser_feed(p, wire, strlen(wire), NULL), 0);
    for (unsigned long long id = 1; id <= 3; id++) {
        assert_int_equal(take(p, &msg), 1);
        assert_int_equal(qmp_message_id(msg), id);
        if (id == 3) {
            assert_int_equal(qmp_message_kind(msg), QMP_KIND_ERROR);
            qmp_message_error(msg, "cont", &err);
            assert_non_null(strstr(err.message, "'cont': boom"));
            mv_error_clear(&err);
        }
        json_object_put(msg);
    }
    assert_int_equal(take(p, &msg), 0); /* the last one is unfinished */
    assert_int_equal(qmp_parser_feed(p, ": {}, \"id\": 4}", 14, NULL), 0);
    assert_int_equal(take(p, &msg), 1);
    assert_int_equal(qmp_message_id(msg), 4);
    json_object_put(msg);
    qmp_parser_free(p);
}

static void test_parser_garbage(void **state)
{
    const char *bad[] = {"hello\r\n", "[1, 2]\r\n", "{\"a\": }\r\n", "42\r\n"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        qmp_parser *p = qmp_parser_new();
        json_object *msg = NULL;
        mv_error err = MV_ERROR_INIT;
        int r;

        assert_int_equal(qmp_parser_feed(p, bad[i], strlen(bad[i]), NULL), 0);
        r = qmp_parser_next(p, &msg, &err);
        assert_int_equal(r, -1);
        assert_null(msg);
        assert_true(mv_error_is_set(&err));
        mv_error_clear(&err);
        /* A failed stream stays failed. */
        assert_int_equal(qmp_parser_next(p, &msg, NULL), -1);
        qmp_parser_free(p);
    }
}

static void test_parser_too_large(void **state)
{
    qmp_parser *p = qmp_parser_new();
    size_t chunk = 1 << 20;
    char *buf = malloc(chunk);
    json_object *msg = NULL;
    int r = 0;

    memset(buf, ' ', chunk);
    buf[0] = '{';
    buf[1] = '"';
    memset(buf + 2, 'x', chunk - 2);
    for (int i = 0; i < 8 && r == 0; i++) {
        if ((r = qmp_parser_feed(p, buf, chunk, NULL)) == 0)
            r = take(p, &msg) < 0 ? -1 : 0;
        if (i == 0)
            buf[0] = buf[1] = 'x';
    }
    assert_int_equal(r, -1);
    free(buf);
    qmp_parser_free(p);
}

static void test_format(void **state)
{
    json_object *args = json_object_new_object();
    char *s;

    json_object_object_add(args, "device", json_object_new_string("ide0"));
    s = qmp_format_command("eject", args, 12);
    assert_string_equal(s, "{\"execute\":\"eject\",\"arguments\":{\"device\":\"ide0\"},\"id\":12}\r\n");
    free(s);
    json_object_put(args);
}

/* ---- a loop on a thread, reached through post() ------------------------------------------ */

typedef struct job {
    struct job *next;
    void (*fn)(void *);
    void *arg;
} job;

typedef struct test_loop {
    uv_loop_t loop;
    uv_async_t async;
    pthread_t thread;
    pthread_mutex_t lock;
    job *jobs;
    bool stop;
} test_loop;

static void run_jobs(uv_async_t *a)
{
    test_loop *tl = a->data;

    for (;;) {
        pthread_mutex_lock(&tl->lock);
        job *j = tl->jobs;
        bool stop = tl->stop;
        if (j)
            tl->jobs = j->next;
        pthread_mutex_unlock(&tl->lock);
        if (!j) {
            if (stop)
                uv_close((uv_handle_t *)&tl->async, NULL);
            return;
        }
        j->fn(j->arg);
        free(j);
    }
}

static int tl_post(void *ctx, void (*fn)(void *), void *arg)
{
    test_loop *tl = ctx;
    job *j = calloc(1, sizeof(*j)), **pp;

    j->fn = fn;
    j->arg = arg;
    pthread_mutex_lock(&tl->lock);
    for (pp = &tl->jobs; *pp; pp = &(*pp)->next)
        ;
    *pp = j;
    pthread_mutex_unlock(&tl->lock);
    uv_async_send(&tl->async);
    return 0;
}

static void *tl_main(void *arg)
{
    test_loop *tl = arg;

    uv_run(&tl->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void tl_start(test_loop *tl)
{
    memset(tl, 0, sizeof(*tl));
    pthread_mutex_init(&tl->lock, NULL);
    uv_loop_init(&tl->loop);
    uv_async_init(&tl->loop, &tl->async, run_jobs);
    tl->async.data = tl;
    pthread_create(&tl->thread, NULL, tl_main, tl);
}

static void tl_stop(test_loop *tl)
{
    pthread_mutex_lock(&tl->lock);
    tl->stop = true;
    pthread_mutex_unlock(&tl->lock);
    uv_async_send(&tl->async);
    pthread_join(tl->thread, NULL);
    assert_int_equal(uv_loop_close(&tl->loop), 0);
    pthread_mutex_destroy(&tl->lock);
}

/* ---- a fake QMP server: answers per a script of (expected command, reply) lines --------- */

typedef struct fake_qmp {
    char dir[64], path[128];
    int lfd;
    pthread_t thread;
    const char *const *script; /* pairs: command name, reply JSON with %llu for the id,
                                * or NULL reply: never answer (a hung monitor); a command
                                * of "!eof" closes the connection, "!event" sends the reply
                                * text as is */
} fake_qmp;

static char *read_line(int fd)
{
    static __thread char buf[4096];
    size_t n = 0;

    while (n < sizeof(buf) - 1) {
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            return NULL;
        if (buf[n++] == '\n')
            break;
    }
    buf[n] = 0;
    return buf;
}

static void say(int fd, const char *s)
{
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void *fake_main(void *arg)
{
    fake_qmp *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    char *line, reply[512];

    say(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7}}, \"capabilities\": []}}\r\n");
    line = read_line(fd);
    assert_non_null(strstr(line, "qmp_capabilities"));
    say(fd, "{\"return\": {}, \"id\": 1}\r\n");
    for (const char *const *s = f->script; s[0]; s += 2) {
        if (strcmp(s[0], "!eof") == 0)
            break;
        if (strcmp(s[0], "!event") == 0) {
            say(fd, s[1]);
            continue;
        }
        if (!(line = read_line(fd)))
            break;
        assert_non_null(strstr(line, s[0]));
        json_object *o = json_tokener_parse(line), *id = NULL;
        json_object_object_get_ex(o, "id", &id);
        unsigned long long n = (unsigned long long)json_object_get_int64(id);
        json_object_put(o);
        if (s[1] && strcmp(s[1], "!close") == 0)
            break; /* qemu dies mid-command */
        if (!s[1]) {
            /* Hung: keep the connection, answer nothing, until the client goes. */
            while (read_line(fd))
                ;
            break;
        }
        snprintf(reply, sizeof(reply), s[1], n);
        say(fd, reply);
    }
    close(fd);
    return NULL;
}

static void fake_start(fake_qmp *f, const char *const *script)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    strcpy(f->dir, "/tmp/mvqmp-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/qmp.sock", f->dir);
    strcpy(sa.sun_path, f->path);
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 1), 0);
    f->script = script;
    pthread_create(&f->thread, NULL, fake_main, f);
}

static void fake_stop(fake_qmp *f)
{
    pthread_join(f->thread, NULL);
    close(f->lfd);
    unlink(f->path);
    rmdir(f->dir);
}

/* What the callbacks saw, waited on with a condition. */
typedef struct seen {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char events[256];
    int eofs;
} seen;

static void on_event(qemu_mon *mon, const char *name, json_object *data, void *opaque)
{
    seen *s = opaque;

    pthread_mutex_lock(&s->lock);
    strcat(s->events, name);
    strcat(s->events, ";");
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static void on_eof(qemu_mon *mon, const mv_error *why, void *opaque)
{
    seen *s = opaque;

    pthread_mutex_lock(&s->lock);
    s->eofs++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static const qemu_mon_callbacks cbs = {on_event, on_eof};

static void seen_init(seen *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
}

static void wait_eof(seen *s)
{
    pthread_mutex_lock(&s->lock);
    while (s->eofs == 0)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

static void wait_events(seen *s, const char *want)
{
    pthread_mutex_lock(&s->lock);
    while (strcmp(s->events, want) != 0)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

static void test_client_commands_events_eof(void **state)
{
    const char *const script[] = {
        "query-status", "{\"return\": {\"status\": \"prelaunch\", \"running\": false}, \"id\": %llu}\r\n",
        "!event", "{\"event\": \"STOP\", \"timestamp\": {}}\r\n",
        "cont", "{\"timestamp\": {}, \"event\": \"RESUME\"}\r\n{\"return\": {}, \"id\": %llu}\r\n",
        "bogus", "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command bogus has not been found\"}, \"id\": %llu}\r\n",
        "!eof", "",
        NULL, NULL};
    test_loop tl;
    fake_qmp f;
    seen s;
    mv_error err = MV_ERROR_INIT;
    json_object *reply = NULL, *v = NULL;
    qemu_mon *mon;

    seen_init(&s);
    tl_start(&tl);
    fake_start(&f, script);
    qemu_mon_loop ml = {&tl.loop, tl_post, &tl};
    mon = qemu_mon_open(&ml, f.path, 5000, NULL, NULL, &cbs, &s, &err);
    assert_non_null(mon);
    assert_int_equal(qemu_mon_command(mon, "query-status", NULL, 5000, &reply, &err), 0);
    assert_true(json_object_object_get_ex(reply, "status", &v));
    assert_string_equal(json_object_get_string(v), "prelaunch");
    json_object_put(reply);
    assert_int_equal(qemu_mon_command(mon, "cont", NULL, 5000, NULL, &err), 0);
    wait_events(&s, "STOP;RESUME;");
    assert_int_equal(qemu_mon_command(mon, "bogus", NULL, 5000, NULL, &err), -1);
    assert_non_null(strstr(err.message, "has not been found"));
    mv_error_clear(&err);
    wait_eof(&s);
    assert_true(qemu_mon_is_gone(mon));
    assert_int_equal(qemu_mon_command(mon, "cont", NULL, 5000, NULL, &err), -1);
    mv_error_clear(&err);
    qemu_mon_close(mon, false);
    fake_stop(&f);
    tl_stop(&tl);
    assert_int_equal(s.eofs, 1);
}

/* A hung monitor times its command out and does not delay another monitor. */
static void test_client_hung(void **state)
{
    const char *const hung[] = {"query-status", NULL, NULL, NULL};
    const char *const fine[] = {
        "query-status", "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": %llu}\r\n",
        NULL, NULL};
    test_loop tl;
    fake_qmp f1, f2;
    seen s1, s2;
    mv_error err = MV_ERROR_INIT;
    qemu_mon *m1, *m2;

    seen_init(&s1);
    seen_init(&s2);
    tl_start(&tl);
    fake_start(&f1, hung);
    fake_start(&f2, fine);
    qemu_mon_loop ml = {&tl.loop, tl_post, &tl};
    assert_non_null(m1 = qemu_mon_open(&ml, f1.path, 5000, NULL, NULL, &cbs, &s1, &err));
    assert_non_null(m2 = qemu_mon_open(&ml, f2.path, 5000, NULL, NULL, &cbs, &s2, &err));
    assert_int_equal(qemu_mon_command(m1, "query-status", NULL, 200, NULL, &err), -1);
    assert_int_equal(err.code, VIR_ERR_OPERATION_TIMEOUT);
    mv_error_clear(&err);
    assert_int_equal(qemu_mon_command(m2, "query-status", NULL, 5000, NULL, &err), 0);
    qemu_mon_close(m1, false); /* the fake sees the close and ends */
    qemu_mon_close(m2, false);
    fake_stop(&f1);
    fake_stop(&f2);
    tl_stop(&tl);
    assert_int_equal(s1.eofs, 0); /* closed by us: no callback */
}

/* qemu dying with a command in flight fails that command at once (not at its timeout),
 * tells the owner once, and refuses later commands. */
static void test_client_dies_mid_command(void **state)
{
    const char *const script[] = {"system_powerdown", "!close", NULL, NULL};
    test_loop tl;
    fake_qmp f;
    seen s;
    mv_error err = MV_ERROR_INIT;
    qemu_mon *mon;

    seen_init(&s);
    tl_start(&tl);
    fake_start(&f, script);
    qemu_mon_loop ml = {&tl.loop, tl_post, &tl};
    assert_non_null(mon = qemu_mon_open(&ml, f.path, 5000, NULL, NULL, &cbs, &s, &err));
    /* A timeout far beyond the test's own limit: only the EOF can end this call. */
    assert_int_equal(qemu_mon_command(mon, "system_powerdown", NULL, 600000, NULL, &err), -1);
    assert_int_equal(err.code, VIR_ERR_OPERATION_FAILED);
    assert_non_null(strstr(err.message, "closed"));
    mv_error_clear(&err);
    wait_eof(&s);
    assert_int_equal(qemu_mon_command(mon, "cont", NULL, 600000, NULL, &err), -1);
    mv_error_clear(&err);
    qemu_mon_close(mon, false);
    fake_stop(&f);
    tl_stop(&tl);
    assert_int_equal(s.eofs, 1);
}

/* Nothing listening and nobody alive: open fails at once rather than waiting. */
static bool never_alive(void *opaque) { return false; }

static void test_client_no_socket(void **state)
{
    test_loop tl;
    mv_error err = MV_ERROR_INIT;
    seen s;

    seen_init(&s);
    tl_start(&tl);
    qemu_mon_loop ml = {&tl.loop, tl_post, &tl};
    assert_null(qemu_mon_open(&ml, "/nonexistent/qmp.sock", 5000, never_alive, NULL, &cbs, &s,
                              &err));
    assert_non_null(strstr(err.message, "exited"));
    mv_error_clear(&err);
    tl_stop(&tl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_split),
        cmocka_unit_test(test_parser_many_in_one),
        cmocka_unit_test(test_parser_garbage),
        cmocka_unit_test(test_parser_too_large),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_client_commands_events_eof),
        cmocka_unit_test(test_client_hung),
        cmocka_unit_test(test_client_dies_mid_command),
        cmocka_unit_test(test_client_no_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
