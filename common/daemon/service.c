/* service.c: the process shell shared by every modvirt daemon — start-up, listening,
 * signals, idle exit, clean stop (see service.h). */
#include "common/daemon/service.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include "common/frame.h"
#include "common/log.h"

#define MAX_LISTENERS 2
/* How long a stop waits for calls in flight before the process leaves anyway. */
#define STOP_GRACE_MS 30000
/* Connections refused for the client limit that may be saying so at the same time; more
 * are closed without a word. */
#define MAX_REFUSING 64

/* The runtime's own config keys, present in every daemon's .conf. */
typedef struct runtime_conf {
    long log_level;
    long idle_timeout;
    long max_clients;
} runtime_conf;

static const mv_conf_key runtime_keys[] = {
    {"log_level", MV_CONF_INT, offsetof(runtime_conf, log_level), 1, 4},
    {"idle_timeout", MV_CONF_INT, offsetof(runtime_conf, idle_timeout), 0, INT_MAX},
    {"max_clients", MV_CONF_INT, offsetof(runtime_conf, max_clients), 1, 1000000},
    MV_CONF_KEYS_END,
};

typedef struct listener {
    uv_pipe_t pipe;
    mv_service *s;
    bool readonly;
    bool open;  /* pipe initialised (needs uv_close) */
    bool bound; /* we created the socket file (and remove it on the way out) */
    char *path;
} listener;

struct mv_service {
    const mv_service_desc *desc;
    mv_daemon_opts opts;
    mv_paths paths;
    bool paths_ok;
    runtime_conf conf;
    uint64_t idle_ms;   /* 0: never exit for idleness */
    bool log_to_file;   /* the log is <log_dir>/<name>.log */
    bool stderr_is_log; /* stderr was /dev/null and now points into the log file */
    mv_pidfile pid;

    uv_loop_t loop;
    bool loop_ok;
    mv_mailbox mailbox;
    bool mailbox_ok;
    uv_signal_t sigterm, sigint;
    uv_timer_t idle_timer, grace_timer;
    bool handles_ok;
    uint64_t idle_since; /* loop time idleness began, 0 while not idle */
    listener listeners[MAX_LISTENERS];
    size_t nlisteners;

    long nclients;
    unsigned refusing;
    uint64_t refuse_logged; /* loop time of the last "refused" log line */
    bool started;           /* ops->start succeeded */
    bool stopping;
    bool forced; /* the grace period ran out */
};

/* ---- start-up ------------------------------------------------------------------------- */

static bool stderr_is_devnull(void)
{
    struct stat st;
    if (fstat(STDERR_FILENO, &st) < 0)
        return true; /* closed: as good as /dev/null */
    return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

static int load_config(mv_service *s, mv_error *err)
{
    const mv_service_desc *desc = s->desc;
    mv_conf_section sections[1 + 8];
    size_t n = 0;
    char *path = NULL;
    int ret = -1;

    s->conf.log_level = MV_LOG_INFO;
    s->conf.idle_timeout = 0;
    s->conf.max_clients = 1024;
    sections[n++] = (mv_conf_section){runtime_keys, &s->conf};
    for (size_t i = 0; i < desc->nconf && n < sizeof(sections) / sizeof(sections[0]); i++)
        sections[n++] = desc->conf[i];

    if (s->opts.config) {
        path = strdup(s->opts.config);
        struct stat st;
        /* a file named on the command line must exist; the default one may be absent */
        if (path && stat(path, &st) < 0) {
            mv_error_set_errno(err, errno, VIR_FROM_CONF, "cannot read config file '%s'", path);
            goto cleanup;
        }
    } else {
        char file[256];
        snprintf(file, sizeof(file), "%s.conf", desc->name);
        path = mv_path_join(s->paths.config_dir, file);
    }
    if (!path) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_CONF, "config file path");
        goto cleanup;
    }
    if (mv_conf_load(path, sections, n, err) < 0)
        goto cleanup;
    s->idle_ms = (uint64_t)(s->opts.timeout >= 0 ? s->opts.timeout : s->conf.idle_timeout) * 1000;
    ret = 0;

cleanup:
    free(path);
    return ret;
}

static int setup_logging(mv_service *s, mv_error *err)
{
    int level = s->opts.verbose ? MV_LOG_DEBUG : (int)s->conf.log_level;
    char file[256];
    char *path = NULL;
    int ret = -1;

    if (isatty(STDERR_FILENO)) {
        mv_log_init(s->desc->name, level, STDERR_FILENO);
        return 0;
    }
    if (mv_mkdir_p(s->paths.log_dir, s->paths.system ? 0755 : 0700, err) < 0)
        goto cleanup;
    snprintf(file, sizeof(file), "%s.log", s->desc->name);
    path = mv_path_join(s->paths.log_dir, file);
    if (!path) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "log file path");
        goto cleanup;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_NONE, "cannot open log file '%s'", path);
        goto cleanup;
    }
    /* Started detached, stderr goes nowhere: point it at the log too, so that whatever a
     * library or a sanitizer prints there is kept. */
    if (stderr_is_devnull() && dup2(fd, STDERR_FILENO) >= 0)
        s->stderr_is_log = true;
    mv_log_init(s->desc->name, level, fd);
    s->log_to_file = true;
    ret = 0;

cleanup:
    free(path);
    return ret;
}

static int take_pidfile(mv_service *s, mv_error *err)
{
    char file[256];
    char *path = NULL;
    int ret = -1;

    if (mv_paths_make_run_dir(&s->paths, err) < 0)
        goto cleanup;
    snprintf(file, sizeof(file), "%s.pid", s->desc->name);
    path = mv_path_join(s->paths.run_dir, file);
    if (!path) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_NONE, "pid file path");
        goto cleanup;
    }
    ret = mv_pidfile_acquire(&s->pid, path, err);

cleanup:
    free(path);
    return ret;
}

/* ---- clients ---------------------------------------------------------------------------- */

typedef struct refused {
    uv_pipe_t pipe;
    uv_write_t req;
    uint8_t *frame;
    mv_service *s;
} refused;

static void refused_closed(uv_handle_t *h)
{
    refused *r = h->data;
    r->s->refusing--;
    free(r->frame);
    free(r);
}

static void refused_written(uv_write_t *req, int status)
{
    refused *r = req->data;
    uv_close((uv_handle_t *)&r->pipe, refused_closed);
}

/* Takes the pending connection off `server` and closes it, after telling the client why
 * when that is cheap. (Leaving it unaccepted would stop libuv accepting anyone.) */
static void refuse(mv_service *s, uv_stream_t *server, const char *why)
{
    refused *r = calloc(1, sizeof(*r));
    if (!r)
        return;
    r->s = s;
    s->refusing++;
    uv_pipe_init(&s->loop, &r->pipe, 0);
    r->pipe.data = r;
    r->req.data = r;
    if (uv_accept(server, (uv_stream_t *)&r->pipe) < 0 || !why || s->refusing > MAX_REFUSING) {
        uv_close((uv_handle_t *)&r->pipe, refused_closed);
        return;
    }
    mv_error e = MV_ERROR_INIT;
    mv_error_set(&e, VIR_ERR_RPC, VIR_FROM_RPC, "%s", why);
    mv_frame_spec spec = {.serial = 0, .kind = MODVIRT__FRAME_KIND__FRAME_ERROR, .error = &e};
    size_t len = 0;
    if (mv_frame_build(&spec, &r->frame, &len, NULL) < 0) {
        mv_error_clear(&e);
        uv_close((uv_handle_t *)&r->pipe, refused_closed);
        return;
    }
    mv_error_clear(&e);
    uv_buf_t b = uv_buf_init((char *)r->frame, (unsigned int)len);
    if (uv_write(&r->req, (uv_stream_t *)&r->pipe, &b, 1, refused_written) < 0)
        uv_close((uv_handle_t *)&r->pipe, refused_closed);
}

static void on_connection(uv_stream_t *server, int status)
{
    listener *l = server->data;
    mv_service *s = l->s;
    if (status < 0) {
        MV_WARN("accepting a client on %s failed: %s", l->path, uv_strerror(status));
        return;
    }
    if (s->nclients >= s->conf.max_clients) {
        uint64_t now = uv_now(&s->loop);
        if (now - s->refuse_logged >= 1000 || s->refuse_logged == 0) {
            MV_WARN("refusing clients: %ld connections is the limit (max_clients)",
                    s->conf.max_clients);
            s->refuse_logged = now;
        }
        char why[128];
        snprintf(why, sizeof(why), "too many client connections (limit %ld): try again later",
                 s->conf.max_clients);
        refuse(s, server, why);
        return;
    }
    s->nclients++;
    s->idle_since = 0;
    if (s->desc->ops->accept(s, server, l->readonly, s->desc->opaque) < 0) {
        s->nclients--;
        refuse(s, server, NULL);
    }
}

void mv_service_client_gone(mv_service *s)
{
    if (s->nclients > 0)
        s->nclients--;
    if (s->nclients == 0)
        s->idle_since = uv_now(&s->loop);
}

/* ---- listening ---------------------------------------------------------------------------- */

static int open_listeners(mv_service *s, mv_error *err)
{
    const char *name = s->desc->name;
    char wanted_buf[MAX_LISTENERS][256];
    const char *wanted[MAX_LISTENERS];
    int fds[MAX_LISTENERS] = {-1, -1};
    int ret = -1;

    s->nlisteners = s->desc->ro_socket ? 2 : 1;
    for (size_t i = 0; i < s->nlisteners; i++) {
        listener *l = &s->listeners[i];
        l->s = s;
        l->readonly = i == 1;
        if (mv_paths_socket(&s->paths, name, l->readonly, &l->path, err) < 0)
            goto cleanup;
        snprintf(wanted_buf[i], sizeof(wanted_buf[i]), "%s%s.socket", name,
                 l->readonly ? "-ro" : "");
        wanted[i] = wanted_buf[i];
    }
    int passed = mv_activation_claim(wanted, s->nlisteners, fds, err);
    if (passed < 0)
        goto cleanup;

    for (size_t i = 0; i < s->nlisteners; i++) {
        listener *l = &s->listeners[i];
        int fd = fds[i];
        fds[i] = -1;
        if (fd < 0) {
            if (passed > 0)
                MV_INFO("systemd passed no socket named '%s': binding %s", wanted[i], l->path);
            fd = mv_listen_unix(l->path, l->readonly ? 0666 : 0600, err);
            if (fd < 0)
                goto cleanup;
            l->bound = true;
        }
        uv_pipe_init(&s->loop, &l->pipe, 0);
        l->pipe.data = l;
        l->open = true;
        int rc = uv_pipe_open(&l->pipe, fd);
        if (rc < 0) {
            close(fd);
        } else {
            rc = uv_listen((uv_stream_t *)&l->pipe, 512, on_connection);
        }
        if (rc < 0) {
            mv_error_set(err, VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC, "cannot listen on %s: %s",
                         l->path, uv_strerror(rc));
            goto cleanup;
        }
        MV_INFO("listening on %s%s", l->path, l->bound ? "" : " (socket from systemd)");
    }
    ret = 0;

cleanup:
    for (size_t i = 0; i < MAX_LISTENERS; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
    }
    return ret;
}

static void close_listeners(mv_service *s)
{
    for (size_t i = 0; i < s->nlisteners; i++) {
        listener *l = &s->listeners[i];
        if (l->open && !uv_is_closing((uv_handle_t *)&l->pipe))
            uv_close((uv_handle_t *)&l->pipe, NULL);
        /* Only the instance holding the pid lock removes the socket file, and only one it
         * made: a systemd socket unit keeps its own. */
        if (l->bound) {
            unlink(l->path);
            l->bound = false;
        }
    }
}

/* ---- timers and signals ------------------------------------------------------------------- */

static void on_idle_tick(uv_timer_t *t)
{
    mv_service *s = t->data;
    const mv_service_ops *ops = s->desc->ops;
    if (s->stopping || s->idle_ms == 0)
        return;
    bool idle = s->nclients == 0 && !(ops->busy && ops->busy(s, s->desc->opaque));
    uint64_t now = uv_now(&s->loop);
    if (!idle) {
        s->idle_since = 0;
        return;
    }
    if (s->idle_since == 0)
        s->idle_since = now;
    if (now - s->idle_since >= s->idle_ms) {
        char why[96];
        snprintf(why, sizeof(why), "idle for %llu s with no clients and nothing running",
                 (unsigned long long)(s->idle_ms / 1000));
        mv_service_stop(s, why);
    }
}

static void on_grace_over(uv_timer_t *t)
{
    mv_service *s = t->data;
    MV_WARN("calls still running %d s after the stop request: leaving without them",
            STOP_GRACE_MS / 1000);
    s->forced = true;
    uv_stop(&s->loop);
}

static void on_signal(uv_signal_t *h, int signum)
{
    mv_service *s = h->data;
    char why[64];
    snprintf(why, sizeof(why), "%s received", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    mv_service_stop(s, why);
}

static int setup_loop(mv_service *s, mv_error *err)
{
    int rc = uv_loop_init(&s->loop);
    if (rc < 0) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, "cannot create the event loop: %s",
                     uv_strerror(rc));
        return -1;
    }
    s->loop_ok = true;
    if (mv_mailbox_init(&s->mailbox, &s->loop, err) < 0)
        return -1;
    s->mailbox_ok = true;
    uv_signal_init(&s->loop, &s->sigterm);
    uv_signal_init(&s->loop, &s->sigint);
    uv_timer_init(&s->loop, &s->idle_timer);
    uv_timer_init(&s->loop, &s->grace_timer);
    s->sigterm.data = s->sigint.data = s;
    s->idle_timer.data = s->grace_timer.data = s;
    s->handles_ok = true;
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    if (s->idle_ms > 0) {
        /* a tick a quarter of the timeout apart (at most a second) keeps the exit close
         * to the timeout without waking an idle daemon often */
        uint64_t tick = s->idle_ms / 4;
        if (tick > 1000)
            tick = 1000;
        if (tick < 50)
            tick = 50;
        s->idle_since = uv_now(&s->loop);
        uv_timer_start(&s->idle_timer, on_idle_tick, tick, tick);
    }
    return 0;
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Closes what the shell itself owns (listeners, timers, signals, mailbox). */
static void close_own_handles(mv_service *s)
{
    close_listeners(s);
    if (s->handles_ok) {
        close_handle((uv_handle_t *)&s->idle_timer);
        close_handle((uv_handle_t *)&s->sigterm);
        close_handle((uv_handle_t *)&s->sigint);
    }
    if (s->mailbox_ok)
        mv_mailbox_close(&s->mailbox);
}

void mv_service_stop(mv_service *s, const char *why)
{
    if (s->stopping)
        return;
    s->stopping = true;
    MV_INFO("stopping: %s", why);
    sd_notify(0, "STOPPING=1");
    close_own_handles(s);
    s->desc->ops->stop(s, s->desc->opaque);
    /* The grace timer must not keep the loop alive by itself. */
    uv_timer_start(&s->grace_timer, on_grace_over, STOP_GRACE_MS, 0);
    uv_unref((uv_handle_t *)&s->grace_timer);
}

/* ---- the whole life ----------------------------------------------------------------------- */

static void report_fatal(mv_service *s, const mv_error *err)
{
    const char *msg = err->message ? err->message : "unknown error";
    char status[512];
    snprintf(status, sizeof(status), "%s", msg);
    for (char *p = status; *p; p++) {
        if (*p == '\n')
            *p = ' ';
    }
    if (s->log_to_file)
        MV_ERROR("start-up failed: %s", msg);
    if (!s->stderr_is_log)
        fprintf(stderr, "%s: error: %s\n", s->desc->name, msg);
    sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status);
}

int mv_service_main(int argc, char **argv, const mv_service_desc *desc)
{
    mv_service *s = calloc(1, sizeof(*s));
    mv_error err = MV_ERROR_INIT;
    int status = 1;

    if (!s) {
        fprintf(stderr, "%s: error: out of memory\n", desc->name);
        return 1;
    }
    s->desc = desc;
    s->pid.fd = -1;
    /* libvirt's example: a write to a client that went away is an error, not a death */
    signal(SIGPIPE, SIG_IGN);
    /* JOB calls block (processes, disks): many may run at once, beyond libuv's default
     * of 4 threads. Must be set before the pool starts; the user's setting wins. */
    setenv("UV_THREADPOOL_SIZE", "32", 0);

    if (mv_opts_parse(argc, argv, &s->opts, &err) < 0) {
        fprintf(stderr, "%s: %s\nTry '%s --help'.\n", desc->name, err.message, desc->name);
        status = 2;
        goto out;
    }
    if (s->opts.action == MV_OPTS_HELP) {
        char *usage = mv_opts_usage(desc->name, desc->summary);
        fputs(usage ? usage : "out of memory\n", stdout);
        free(usage);
        status = 0;
        goto out;
    }
    if (s->opts.action == MV_OPTS_VERSION) {
        printf("%s (modvirt) %s\n", desc->name, MODVIRT_VERSION_STRING);
        status = 0;
        goto out;
    }

    if (mv_paths_init(&s->paths, &err) < 0)
        goto fail;
    s->paths_ok = true;
    if (load_config(s, &err) < 0 || setup_logging(s, &err) < 0 || take_pidfile(s, &err) < 0 ||
        setup_loop(s, &err) < 0)
        goto fail;
    MV_INFO("%s %s starting (pid %ld)", desc->name, MODVIRT_VERSION_STRING, (long)getpid());
    if (desc->ops->start(s, desc->opaque, &err) < 0)
        goto fail;
    s->started = true;
    if (open_listeners(s, &err) < 0)
        goto fail;

    sd_notifyf(0, "READY=1\nSTATUS=listening on %s", s->listeners[0].path);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    status = 0;
    goto finish;

fail:
    report_fatal(s, &err);
    status = 1;
    if (s->loop_ok) {
        s->stopping = true;
        close_own_handles(s);
        if (s->started)
            desc->ops->stop(s, desc->opaque);
        uv_run(&s->loop, UV_RUN_DEFAULT);
    }

finish:
    if (s->forced) {
        /* Calls are still running on worker threads: leave without tearing down (or
         * freeing) anything they may be using; the process is about to end. */
        mv_pidfile_release(&s->pid);
        mv_error_clear(&err);
        return status;
    }
    if (s->started && desc->ops->finish)
        desc->ops->finish(s, desc->opaque);
    if (s->loop_ok) {
        if (s->handles_ok)
            close_handle((uv_handle_t *)&s->grace_timer);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&s->loop) < 0)
            MV_DEBUG("event loop closed with handles still open");
    }
    if (status == 0)
        MV_INFO("stopped");
    mv_pidfile_release(&s->pid);
    for (size_t i = 0; i < MAX_LISTENERS; i++)
        free(s->listeners[i].path);
    if (s->paths_ok)
        mv_paths_free(&s->paths);
    mv_error_clear(&err);
    free(s);
    return status;

out: /* before anything was set up */
    mv_error_clear(&err);
    free(s);
    return status;
}

/* ---- accessors ----------------------------------------------------------------------------- */

uv_loop_t *mv_service_loop(mv_service *s)
{
    return &s->loop;
}

const mv_paths *mv_service_paths(const mv_service *s)
{
    return &s->paths;
}

const char *mv_service_name(const mv_service *s)
{
    return s->desc->name;
}

long mv_service_max_clients(const mv_service *s)
{
    return s->conf.max_clients;
}

bool mv_service_stopping(const mv_service *s)
{
    return s->stopping;
}

int mv_service_post(mv_service *s, void (*fn)(void *ctx, void *opaque), void *ctx, void *opaque)
{
    if (!s->mailbox_ok)
        return -1;
    return mv_mailbox_post(&s->mailbox, fn, ctx, opaque);
}
