/* test_client_rpc.c: the client's multiplexed stream and its public API against a fake
 * virtproxyd (a thread speaking the frame protocol) — replies out of order, daemon
 * errors, deadlines, keepalive death, EOF, and a whole virConnectOpen session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/frame.h"
#include "common/proc.h"
#include "libclient/client.h"

/* ---- the fake proxy ---------------------------------------------------------------------- */

typedef struct fake {
    int fd;     /* our end of the stream */
    int client; /* the client's end (socketpair fakes), or -1 */
    int listen; /* for the API test: a UNIX socket to accept one client on, or -1 */
    char dir[32], path[64], uri[128]; /* a listening fake's folder, socket and URI */
    pthread_t thread;
    /* behaviour */
    bool answer_keepalive;
    bool answer_calls;
    int hold;        /* collect this many calls, then answer them newest first */
    int close_after; /* close the stream after this many calls (0: never) */
    int delay_ms;    /* wait this long before each answer */
    /* what happened (read after join, or under lock) */
    pthread_mutex_t lock;
    int calls, pings;
    bool saw_close;
} fake;

static void send_frame(fake *f, uint32_t serial, Modvirt__FrameKind kind, uint32_t proc,
                       const ProtobufCMessage *body, const mv_error *error)
{
    mv_frame_spec spec = {.serial = serial, .kind = kind, .proc = proc, .body = body,
                          .error = error};
    uint8_t *frame = NULL;
    size_t len = 0;
    mv_error err = MV_ERROR_INIT;
    if (mv_frame_build(&spec, &frame, &len, &err) == 0)
        (void)!send(f->fd, frame, len, MSG_NOSIGNAL);
    free(frame);
    mv_error_clear(&err);
}

static const unsigned char test_uuid[16] = {0xc7, 0xa5, 0xfd, 0xbd, 0xed, 0xaf, 0x9e, 0x45,
                                            0x5d, 0x67, 0x26, 0xdd, 0x37, 0x20, 0x63, 0x21};

/* Answers one call the way a daemon would. */
static void answer(fake *f, const Modvirt__Envelope *env)
{
    const mv_proc_info *info = mv_proc_lookup(env->proc);
    mv_error err = MV_ERROR_INIT;
    ProtobufCMessage *args = mv_body_unpack(info->args, env->body.data, env->body.len, &err);
    Modvirt__Domain dom = MODVIRT__DOMAIN__INIT;
    dom.uuid.data = (uint8_t *)test_uuid;
    dom.uuid.len = 16;
    dom.id = -1;
    Modvirt__Domain *doms[2] = {&dom, &dom};
    if (f->delay_ms > 0) {
        struct timespec ts = {f->delay_ms / 1000, (f->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    switch (env->proc) {
    case MV_PROC_CONNECT_OPEN: {
        Modvirt__ConnectOpenRet r = MODVIRT__CONNECT_OPEN_RET__INIT;
        r.uri = ((Modvirt__ConnectOpenArgs *)args)->uri;
        send_frame(f, env->serial, MODVIRT__FRAME_KIND__FRAME_REPLY, env->proc, &r.base, NULL);
        break;
    }
    case MV_PROC_CONNECT_GET_TYPE: {
        Modvirt__StringRet r = MODVIRT__STRING_RET__INIT;
        r.value = "QEMU";
        send_frame(f, env->serial, MODVIRT__FRAME_KIND__FRAME_REPLY, env->proc, &r.base, NULL);
        break;
    }
    case MV_PROC_DOMAIN_LOOKUP_BY_NAME: {
        const char *name = ((Modvirt__LookupByNameArgs *)args)->name;
        if (strcmp(name, "missing") == 0) {
            mv_error e = MV_ERROR_INIT;
            mv_error_set(&e, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU,
                         "no domain with matching name '%s'", name);
            send_frame(f, env->serial, MODVIRT__FRAME_KIND__FRAME_ERROR, env->proc, NULL, &e);
            mv_error_clear(&e);
            break;
        }
        Modvirt__DomainRet r = MODVIRT__DOMAIN_RET__INIT;
        dom.name = (char *)name;
        r.dom = &dom;
        send_frame(f, env->serial, MODVIRT__FRAME_KIND__FRAME_REPLY, env->proc, &r.base, NULL);
        break;
    }
    case MV_PROC_CONNECT_LIST_ALL_DOMAINS: {
        Modvirt__DomainListRet r = MODVIRT__DOMAIN_LIST_RET__INIT;
        dom.name = "demo";
        r.n_domains = 2;
        r.domains = doms;
        send_frame(f, env->serial, MODVIRT__FRAME_KIND__FRAME_REPLY, env->proc, &r.base, NULL);
        break;
    }
    default: {
        /* Everything else answers with an empty reply of the right type. */
        ProtobufCMessage *empty = calloc(1, info->ret->sizeof_message);
        protobuf_c_message_init(info->ret, empty);
        send_frame(f, env->serial, MODVIRT__FRAME_KIND__FRAME_REPLY, env->proc, empty, NULL);
        free(empty);
        break;
    }
    }
    if (args)
        protobuf_c_message_free_unpacked(args, NULL);
    mv_error_clear(&err);
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    if (f->listen >= 0) {
        f->fd = accept(f->listen, NULL, NULL);
        if (f->fd < 0)
            return NULL;
    }
    mv_frame_reader fr;
    mv_frame_reader_init(&fr, 0);
    Modvirt__Envelope *held[16];
    int nheld = 0;
    mv_error err = MV_ERROR_INIT;
    for (;;) {
        size_t avail;
        uint8_t *space = mv_frame_reader_space(&fr, 0, &avail);
        ssize_t n = recv(f->fd, space, avail, 0);
        if (n <= 0)
            break;
        mv_frame_reader_commit(&fr, (size_t)n);
        const uint8_t *payload;
        size_t plen;
        bool stop = false;
        while (!stop && mv_frame_reader_next(&fr, &payload, &plen, &err) == 1) {
            Modvirt__Envelope *env = mv_envelope_unpack(payload, plen, &err);
            if (!env)
                continue;
            if (env->proc == MV_PROC_CONNECT_KEEPALIVE) {
                pthread_mutex_lock(&f->lock);
                f->pings++;
                pthread_mutex_unlock(&f->lock);
                if (f->answer_keepalive)
                    send_frame(f, env->serial, MODVIRT__FRAME_KIND__FRAME_REPLY, env->proc,
                               NULL, NULL);
                mv_envelope_free(env);
                continue;
            }
            pthread_mutex_lock(&f->lock);
            int calls = ++f->calls;
            if (env->proc == MV_PROC_CONNECT_CLOSE)
                f->saw_close = true;
            pthread_mutex_unlock(&f->lock);
            if (f->close_after && calls >= f->close_after) {
                mv_envelope_free(env);
                stop = true;
                break;
            }
            if (!f->answer_calls) {
                mv_envelope_free(env);
                continue;
            }
            if (f->hold > 0) {
                held[nheld++] = env;
                if (nheld == f->hold) {
                    while (nheld > 0) {
                        answer(f, held[--nheld]);
                        mv_envelope_free(held[nheld]);
                    }
                }
                continue;
            }
            answer(f, env);
            mv_envelope_free(env);
        }
        if (stop)
            break;
    }
    while (nheld > 0)
        mv_envelope_free(held[--nheld]);
    mv_frame_reader_free(&fr);
    mv_error_clear(&err);
    shutdown(f->fd, SHUT_RDWR);
    return NULL;
}

/* A fake that answers calls and keepalives, not yet connected or running. */
static fake *fake_new(void)
{
    fake *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->fd = f->client = f->listen = -1;
    f->answer_keepalive = true;
    f->answer_calls = true;
    pthread_mutex_init(&f->lock, NULL);
    return f;
}

/* A fake on one end of a socketpair; the other end is for fake_rpc. */
static fake *fake_start(void)
{
    fake *f = fake_new();
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    f->fd = sv[0];
    f->client = sv[1];
    return f;
}

/* A fake listening on a UNIX socket in a new folder; f->uri connects to it. */
static fake *fake_listening(void)
{
    fake *f = fake_new();
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(f->dir, sizeof(f->dir), "/tmp/mvclient-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/proxy-sock", f->dir);
    snprintf(f->uri, sizeof(f->uri), "qemu:///system?socket=%s", f->path);
    f->listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", f->path);
    assert_int_equal(bind(f->listen, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(f->listen, 4), 0);
    return f;
}

static void fake_run(fake *f)
{
    pthread_create(&f->thread, NULL, fake_main, f);
}

/* Runs a socketpair fake (configured first) and returns the client's stream to it, the
 * peer named name in errors. */
static mvc_rpc *fake_rpc(fake *f, const char *name)
{
    mv_error err = MV_ERROR_INIT;
    mvc_rpc *rpc;

    fake_run(f);
    rpc = mvc_rpc_new(f->client, name, &err);
    if (!rpc)
        fail_msg("mvc_rpc_new: %s", err.message);
    return rpc;
}

static void fake_stop(fake *f)
{
    shutdown(f->fd, SHUT_RDWR);
    pthread_join(f->thread, NULL);
    if (f->fd >= 0)
        close(f->fd);
    if (f->listen >= 0) {
        close(f->listen);
        unlink(f->path);
        rmdir(f->dir);
    }
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static Modvirt__DomainRet *lookup(mvc_rpc *rpc, const char *name, mv_error *err)
{
    Modvirt__LookupByNameArgs args = MODVIRT__LOOKUP_BY_NAME_ARGS__INIT;
    args.name = (char *)name;
    ProtobufCMessage *ret = NULL;
    if (mvc_rpc_call(rpc, MV_PROC_DOMAIN_LOOKUP_BY_NAME, &args.base, &ret, err) < 0)
        return NULL;
    return (Modvirt__DomainRet *)ret;
}

/* A lookup the fake answers: the domain of that name. */
static void expect_found(mvc_rpc *rpc, const char *name)
{
    mv_error err = MV_ERROR_INIT;
    Modvirt__DomainRet *r = lookup(rpc, name, &err);
    if (!r)
        fail_msg("lookup %s: %s", name, err.message);
    assert_non_null(r->dom);
    assert_string_equal(r->dom->name, name);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* ---- demultiplexing -------------------------------------------------------------------- */

typedef struct caller {
    mvc_rpc *rpc;
    char name[32];
    bool ok;
} caller;

static void *call_thread(void *arg)
{
    caller *c = arg;
    mv_error err = MV_ERROR_INIT;
    Modvirt__DomainRet *r = lookup(c->rpc, c->name, &err);
    c->ok = r && r->dom && strcmp(r->dom->name, c->name) == 0;
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
    mv_error_clear(&err);
    return NULL;
}

static void test_concurrent_calls_out_of_order(void **state)
{
    (void)state;
    enum { N = 8 };
    fake *f = fake_start();
    f->hold = N; /* every reply waits until all N calls are in, then comes back reversed */
    mvc_rpc *rpc = fake_rpc(f, "fake");
    caller c[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        c[i] = (caller){.rpc = rpc};
        snprintf(c[i].name, sizeof(c[i].name), "dom-%d", i);
        pthread_create(&t[i], NULL, call_thread, &c[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_true(c[i].ok);
    }
    mvc_rpc_free(rpc);
    fake_stop(f);
}

static void test_daemon_error(void **state)
{
    (void)state;
    fake *f = fake_start();
    mvc_rpc *rpc = fake_rpc(f, "fake");
    mv_error err = MV_ERROR_INIT;
    assert_null(lookup(rpc, "missing", &err));
    assert_int_equal(err.code, VIR_ERR_NO_DOMAIN);
    assert_int_equal(err.domain, VIR_FROM_QEMU);
    assert_string_equal(err.message, "Domain not found: no domain with matching name 'missing'");
    mv_error_clear(&err);
    /* A daemon error is about that call only: the stream stays up. */
    assert_true(mvc_rpc_is_alive(rpc));
    expect_found(rpc, "there");
    /* A message of the wrong type for the procedure is refused before it is sent. */
    Modvirt__LookupByIdArgs wrong = MODVIRT__LOOKUP_BY_ID_ARGS__INIT;
    ProtobufCMessage *ret = NULL;
    assert_int_equal(mvc_rpc_call(rpc, MV_PROC_DOMAIN_LOOKUP_BY_NAME, &wrong.base, &ret, &err),
                     -1);
    assert_int_equal(err.code, VIR_ERR_INTERNAL_ERROR);
    mv_error_clear(&err);
    mvc_rpc_free(rpc);
    fake_stop(f);
}

/* ---- deadlines ------------------------------------------------------------------------- */

static void test_call_deadline(void **state)
{
    (void)state;
    fake *f = fake_start();
    f->delay_ms = 300; /* every answer comes late */
    mvc_rpc *rpc = fake_rpc(f, "fake");
    mv_error err = MV_ERROR_INIT;
    mvc_rpc_set_call_timeout(rpc, 100);
    assert_null(lookup(rpc, "slow", &err));
    assert_int_equal(err.code, VIR_ERR_OPERATION_TIMEOUT);
    assert_non_null(strstr(err.message, "no reply to domain_lookup_by_name from fake within 100 ms"));
    mv_error_clear(&err);
    /* The late reply is dropped; with a longer deadline the next call is served. */
    mvc_rpc_set_call_timeout(rpc, 5000);
    expect_found(rpc, "patient");
    assert_true(mvc_rpc_is_alive(rpc));
    mvc_rpc_free(rpc);
    fake_stop(f);
}

/* ---- death ------------------------------------------------------------------------------ */

typedef struct death {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls;
    int reason;
} death;

static void on_dead(void *opaque, int reason)
{
    death *d = opaque;
    pthread_mutex_lock(&d->lock);
    d->calls++;
    d->reason = reason;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

/* Waits for the one death report; its reason. */
static int death_wait(death *d)
{
    int reason;

    pthread_mutex_lock(&d->lock);
    while (d->calls == 0)
        pthread_cond_wait(&d->cond, &d->lock);
    assert_int_equal(d->calls, 1);
    reason = d->reason;
    pthread_mutex_unlock(&d->lock);
    return reason;
}

static void test_keepalive_death(void **state)
{
    (void)state;
    fake *f = fake_start();
    f->answer_keepalive = false; /* a stuck peer: reads, never answers */
    f->answer_calls = false;
    mvc_rpc *rpc = fake_rpc(f, "fake");
    mv_error err = MV_ERROR_INIT;
    death d = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    mvc_rpc_set_callbacks(rpc, on_dead, NULL, &d);
    mvc_rpc_set_keepalive(rpc, 50, 3);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* A call with no deadline still ends: the keepalive declares the peer dead. */
    assert_null(lookup(rpc, "forever", &err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 140 && ms < 3000);
    assert_int_equal(err.code, VIR_ERR_RPC);
    assert_non_null(strstr(err.message, "connection to fake lost: no answer to keepalive"));
    mv_error_clear(&err);
    assert_int_equal(death_wait(&d), VIR_CONNECT_CLOSE_REASON_KEEPALIVE);
    assert_false(mvc_rpc_is_alive(rpc));
    /* Later calls fail at once with the same reason. */
    assert_null(lookup(rpc, "after", &err));
    assert_non_null(strstr(err.message, "no answer to keepalive"));
    mv_error_clear(&err);
    pthread_mutex_lock(&f->lock);
    assert_true(f->pings >= 2);
    pthread_mutex_unlock(&f->lock);
    mvc_rpc_free(rpc);
    fake_stop(f);
}

static void test_keepalive_keeps_alive(void **state)
{
    (void)state;
    fake *f = fake_start();
    mvc_rpc *rpc = fake_rpc(f, "fake");
    mvc_rpc_set_keepalive(rpc, 40, 3); /* dead after 120 ms of silence */
    /* Idle for several of those: the answered probes are what keeps it alive, so
     * the passing of time is the thing under test here. */
    struct timespec ts = {0, 400 * 1000000L};
    nanosleep(&ts, NULL);
    assert_true(mvc_rpc_is_alive(rpc));
    expect_found(rpc, "still-there");
    pthread_mutex_lock(&f->lock);
    assert_true(f->pings >= 3);
    pthread_mutex_unlock(&f->lock);
    mvc_rpc_free(rpc);
    fake_stop(f);
}

static void test_eof_fails_pending(void **state)
{
    (void)state;
    fake *f = fake_start();
    f->close_after = 1; /* the proxy dies on receiving the call */
    mvc_rpc *rpc = fake_rpc(f, "virtproxyd");
    mv_error err = MV_ERROR_INIT;
    death d = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    mvc_rpc_set_callbacks(rpc, on_dead, NULL, &d);
    assert_null(lookup(rpc, "doomed", &err));
    assert_int_equal(err.code, VIR_ERR_RPC);
    assert_string_equal(err.message, "connection to virtproxyd lost: end of file");
    mv_error_clear(&err);
    assert_int_equal(death_wait(&d), VIR_CONNECT_CLOSE_REASON_EOF);
    assert_null(lookup(rpc, "after", &err));
    assert_string_equal(err.message, "connection to virtproxyd lost: end of file");
    mv_error_clear(&err);
    mvc_rpc_free(rpc);
    fake_stop(f);
}

/* ---- the public API over a UNIX socket ---------------------------------------------------- */

static int close_cb_calls;
static void close_cb(virConnectPtr conn, int reason, void *opaque)
{
    (void)conn;
    close_cb_calls++;
    if (opaque)
        on_dead(opaque, reason); /* wakes a test waiting for the death */
}
static int freecb_calls;
static void freecb(void *opaque)
{
    (void)opaque;
    freecb_calls++;
}

static void test_api_session(void **state)
{
    (void)state;
    fake *f = fake_listening();
    fake_run(f);

    virConnectPtr conn = virConnectOpenReadOnly(f->uri);
    assert_non_null(conn);
    char *got = virConnectGetURI(conn);
    assert_string_equal(got, f->uri);
    free(got);
    const char *type = virConnectGetType(conn);
    assert_string_equal(type, "QEMU");
    assert_ptr_equal(virConnectGetType(conn), type); /* cached for the connection's life */
    assert_int_equal(virConnectIsAlive(conn), 1);
    assert_int_equal(virConnectIsSecure(conn), 1);
    assert_int_equal(virConnectIsEncrypted(conn), 0);

    virDomainPtr *doms = NULL;
    assert_int_equal(virConnectListAllDomains(conn, &doms, 0), 2);
    assert_non_null(doms[0]);
    assert_null(doms[2]); /* NULL-terminated */
    assert_string_equal(virDomainGetName(doms[0]), "demo");
    char uuidstr[VIR_UUID_STRING_BUFLEN];
    assert_int_equal(virDomainGetUUIDString(doms[0], uuidstr), 0);
    assert_string_equal(uuidstr, "c7a5fdbd-edaf-9e45-5d67-26dd37206321");
    assert_int_equal(virDomainGetID(doms[0]), (unsigned int)-1);
    assert_ptr_equal(virDomainGetConnect(doms[0]), conn);

    /* Writes are refused locally on a read-only connection, naming the function. */
    assert_null(virDomainDefineXML(conn, "<domain/>"));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_OPERATION_DENIED);
    assert_string_equal(virGetLastErrorMessage(),
                        "operation forbidden: read only access prevents virDomainDefineXML");
    assert_int_equal(virDomainUndefine(doms[0]), -1);
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_OPERATION_DENIED);
    assert_int_equal(virDomainSetAutostart(doms[0], 1), -1);
    assert_null(virDomainGetXMLDesc(doms[0], VIR_DOMAIN_XML_SECURE));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_OPERATION_DENIED);
    /* ...and the error is also kept on the connection. */
    virErrorPtr ce = virConnGetLastError(conn);
    assert_non_null(ce);
    assert_int_equal(ce->code, VIR_ERR_OPERATION_DENIED);
    virConnResetLastError(conn);
    assert_null(virConnGetLastError(conn));

    /* Daemon errors come through unchanged. */
    assert_null(virDomainLookupByName(conn, "missing"));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_NO_DOMAIN);
    assert_int_equal(virGetLastErrorDomain(), VIR_FROM_QEMU);
    assert_null(virDomainLookupByName(conn, NULL));
    assert_string_equal(virGetLastErrorMessage(),
                        "invalid argument: name in virDomainLookupByName must not be NULL");
    assert_null(virDomainLookupByUUIDString(conn, "not-a-uuid"));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_INVALID_ARG);
    assert_null(virDomainLookupByID(conn, -5));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_INVALID_ARG);
    int ids[2];
    assert_int_equal(virConnectListDomains(conn, ids, -1), -1);
    assert_int_equal(virConnectListDomains(conn, NULL, 2), -1);

    /* A domain keeps its connection alive: closing returns the references left. */
    assert_int_equal(virConnectRegisterCloseCallback(conn, close_cb, NULL, freecb), 0);
    assert_int_equal(virConnectRegisterCloseCallback(conn, close_cb, NULL, freecb), -1);
    assert_int_equal(virConnectClose(conn), 2);
    virDomainPtr first = doms[0];
    assert_int_equal(virDomainFree(doms[1]), 0);
    free(doms);
    assert_int_equal(virDomainRef(first), 0);
    assert_int_equal(virDomainFree(first), 0);
    assert_int_equal(virDomainFree(first), 0); /* last domain: closes the connection */
    /* An explicit close runs only the free function, as libvirt does. */
    assert_int_equal(close_cb_calls, 0);
    assert_int_equal(freecb_calls, 1);
    pthread_mutex_lock(&f->lock);
    assert_true(f->saw_close); /* the daemon was told goodbye */
    pthread_mutex_unlock(&f->lock);
    fake_stop(f);
}

static void test_api_close_callback_on_death(void **state)
{
    (void)state;
    fake *f = fake_listening();
    f->close_after = 2; /* OPEN is answered; the next call kills the proxy */
    fake_run(f);

    virConnectPtr conn = virConnectOpen(f->uri);
    assert_non_null(conn);
    close_cb_calls = 0;
    death d = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    assert_int_equal(virConnectRegisterCloseCallback(conn, close_cb, &d, NULL), 0);
    assert_int_equal(virConnectNumOfDomains(conn), -1);
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_RPC);
    assert_non_null(strstr(virGetLastErrorMessage(), "connection to virtproxyd lost"));
    /* The reader fires the callback as it leaves. */
    assert_int_equal(death_wait(&d), VIR_CONNECT_CLOSE_REASON_EOF);
    assert_int_equal(close_cb_calls, 1);
    assert_int_equal(virConnectIsAlive(conn), 0);
    assert_int_equal(virConnectNumOfDomains(conn), -1); /* fails fast */
    assert_int_equal(virConnectUnregisterCloseCallback(conn, close_cb), 0);
    /* The reader thread holds a reference while it runs the callback, and our callback
     * woke us from inside it: for an instant that reference may still be there. Either
     * way the connection is freed (LeakSanitizer checks) once the reader lets go. */
    int left = virConnectClose(conn);
    assert_true(left == 0 || left == 1);
    fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_calls_out_of_order),
        cmocka_unit_test(test_daemon_error),
        cmocka_unit_test(test_call_deadline),
        cmocka_unit_test(test_keepalive_death),
        cmocka_unit_test(test_keepalive_keeps_alive),
        cmocka_unit_test(test_eof_fails_pending),
        cmocka_unit_test(test_api_session),
        cmocka_unit_test(test_api_close_callback_on_death),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
