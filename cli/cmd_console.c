/* cmd_console.c: console — the guest's console on this terminal (raw mode when stdin is
 * a tty), through a virStream, until Ctrl-] or the stream's end. With stdin not a tty
 * (tests, pipes) its bytes are sent as they come, and its end leaves the output flowing.
 * Input the guest does not take yet (the stream's window is full) waits here, and stdin
 * is not read until it is gone. A guest that stops ends the console normally (exit 0). */
#include "cli/vmctl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define ESCAPE_CHAR 0x1d /* Ctrl-] */
#define STREAM_EVENTS (VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)

typedef struct console_run {
    vmctl_ctx *ctx;
    virStreamPtr st;
    int in_watch;
    char pending[4096]; /* read from stdin, not yet taken by the stream */
    size_t npending;
    bool done;
    bool failed;
} console_run;

static volatile sig_atomic_t console_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    console_interrupted = 1;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void send_pending(console_run *r);

static void on_stream(virStreamPtr st, int events, void *opaque)
{
    console_run *r = opaque;
    char buf[16384];
    if ((events & VIR_STREAM_EVENT_WRITABLE) && r->npending) {
        send_pending(r);
        if (r->done)
            return;
    }
    for (;;) {
        int n = virStreamRecv(st, buf, sizeof(buf));
        if (n == -2)
            return;
        if (n == 0) {
            r->done = true; /* the guest's side ended (qemu exited) */
            return;
        }
        if (n < 0) {
            r->failed = r->done = true;
            return;
        }
        fflush(r->ctx->out);
        if (write_all(fileno(r->ctx->out), buf, (size_t)n) < 0) {
            r->done = true;
            return;
        }
    }
}

/* Sends what stdin gave and the stream did not take yet; while some is left, stdin is
 * not read and the stream is watched for room instead. */
static void send_pending(console_run *r)
{
    while (r->npending) {
        int n = virStreamSend(r->st, r->pending, r->npending);
        if (n == -2)
            break;
        if (n < 0) {
            /* the guest's end may have come first: then the output left is shown and
             * the console ends normally */
            on_stream(r->st, VIR_STREAM_EVENT_READABLE, r);
            if (!r->done)
                r->failed = r->done = true;
            return;
        }
        memmove(r->pending, r->pending + n, r->npending - (size_t)n);
        r->npending -= (size_t)n;
    }
    bool waiting = r->npending > 0;
    if (r->in_watch >= 0)
        virEventUpdateHandle(r->in_watch, waiting ? 0 : VIR_EVENT_HANDLE_READABLE);
    virStreamEventUpdateCallback(r->st, STREAM_EVENTS | (waiting ? VIR_STREAM_EVENT_WRITABLE : 0));
}

static void on_stdin(int watch, int fd, int events, void *opaque)
{
    console_run *r = opaque;
    char buf[sizeof(r->pending)];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* no more input; the guest's output still comes */
        virEventRemoveHandle(watch);
        r->in_watch = -1;
        return;
    }
    char *esc = memchr(buf, ESCAPE_CHAR, (size_t)n);
    size_t len = esc ? (size_t)(esc - buf) : (size_t)n;
    /* buf fits: stdin is read only while nothing is pending */
    memcpy(r->pending, buf, len);
    r->npending = len;
    send_pending(r);
    if (esc)
        r->done = true;
    (void)events;
}

int vmctl_console_run(vmctl_ctx *ctx, virDomainPtr dom, const char *devname, unsigned int flags)
{
    console_run r = {.ctx = ctx, .in_watch = -1};
    struct termios saved, raw;
    bool tty = isatty(STDIN_FILENO), restored = true, opened = false, cb_added = false;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    int rc = -1;

    if (virEventRegisterDefaultImpl() < 0)
        return -1;
    if (!(r.st = virStreamNew(virDomainGetConnect(dom), VIR_STREAM_NONBLOCK)))
        return -1;
    if (virDomainOpenConsole(dom, devname, r.st, flags) < 0)
        goto cleanup;
    opened = true;
    fprintf(ctx->out, "Connected to domain '%s'\nEscape character is ^] (Ctrl + ])\n",
            virDomainGetName(dom));
    fflush(ctx->out);
    if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
        raw = saved;
        cfmakeraw(&raw);
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0)
            restored = false;
    }
    if (virStreamEventAddCallback(r.st, STREAM_EVENTS, on_stream, &r, NULL) < 0)
        goto cleanup;
    cb_added = true;
    r.in_watch = virEventAddHandle(STDIN_FILENO, VIR_EVENT_HANDLE_READABLE, on_stdin, &r, NULL);
    console_interrupted = 0;
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    while (!r.done && !console_interrupted) {
        if (virEventRunDefaultImpl() < 0) {
            r.failed = true;
            break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (!restored)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    restored = true;
    if (tty)
        fprintf(ctx->out, "\n");
    if (r.failed)
        goto cleanup;
    rc = 0;

cleanup:
    if (!restored)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    if (r.in_watch >= 0)
        virEventRemoveHandle(r.in_watch);
    /* neither may replace the error the runner is about to print */
    if (cb_added)
        virStreamEventRemoveCallback(r.st);
    if (opened)
        virStreamAbort(r.st);
    virStreamFree(r.st);
    if (rc == 0)
        vmctl_forget_lib_error(ctx); /* an abort of a stream the guest already ended */
    return rc;
}

int vmctl_cmd_console(vmctl_ctx *ctx, const vmctl_args *args)
{
    unsigned int flags = 0;
    int rc;
    if (vmctl_arg_bool(args, "force"))
        flags |= VIR_DOMAIN_CONSOLE_FORCE;
    if (vmctl_arg_bool(args, "safe"))
        flags |= VIR_DOMAIN_CONSOLE_SAFE;
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    if (!dom)
        return -1;
    rc = vmctl_console_run(ctx, dom, vmctl_arg_str(args, "devname"), flags);
    virDomainFree(dom);
    return rc;
}
