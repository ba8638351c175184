/* qemu_caps_probe.c: runs the QEMU binary with QMP on its stdio and records its answers.
 * Blocking by design (a worker or the driver's init calls it); argv only, no shell. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "virtqemud/qemu_caps.h"

extern char **environ;

/* Commands of one run (the body of each, less its id), answered in order; "quit" ends
 * it. Ids index the replies. The x86 CPU's properties are its feature flags; on other
 * targets that command fails and features go unchecked. */
static const char *const probe_cmds[] = {
    "\"execute\":\"query-version\"",
    "\"execute\":\"query-target\"",
    "\"execute\":\"query-machines\"",
    "\"execute\":\"qom-list-types\"",
    "\"execute\":\"qom-list-properties\",\"arguments\":{\"typename\":\"max-x86_64-cpu\"}",
    NULL,
};
static const char *const kvm_cmds[] = {"\"execute\":\"query-kvm\"", NULL};

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Feeds every complete JSON value in the tokener to replies[] by "id". */
static void take_messages(json_tokener *tok, const char *buf, size_t len, json_object **replies,
                          size_t nreplies)
{
    size_t off = 0;

    while (off < len) {
        json_object *msg = json_tokener_parse_ex(tok, buf + off, (int)(len - off));
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        json_object *id = NULL, *ret = NULL;

        if (jerr == json_tokener_continue)
            return;
        off += json_tokener_get_parse_end(tok);
        json_tokener_reset(tok);
        if (jerr != json_tokener_success || !msg) {
            /* Not JSON (a warning line): skip to the next line. */
            const char *nl = memchr(buf + off, '\n', len - off);

            json_object_put(msg);
            off = nl ? (size_t)(nl - buf) + 1 : len;
            continue;
        }
        if (json_object_object_get_ex(msg, "id", &id) &&
            json_object_object_get_ex(msg, "return", &ret)) {
            int64_t i = json_object_get_int64(id);

            if (i >= 1 && (size_t)i <= nreplies && !replies[i - 1])
                replies[i - 1] = json_object_get(ret);
        }
        json_object_put(msg);
    }
}

/* Runs `binary` with `accel` (NULL: default TCG) and the commands, filling replies[i]
 * with the "return" of cmds[i] (NULL when it errored). -1 + err when QEMU could not be
 * run or timed out; a QEMU that exits early leaves replies NULL and returns 0. */
static int run_probe(const char *binary, const char *accel, const char *const *cmds,
                     json_object **replies, mv_error *err)
{
    const char *argv[16];
    size_t n = 0, ncmds = 0;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, devnull = -1, status, ret = -1;
    posix_spawn_file_actions_t fa;
    bool fa_init = false;
    pid_t pid = -1;
    char *script = NULL;
    size_t slen = 0;
    json_tokener *tok = NULL;
    long long deadline = now_ms() + QEMU_CAPS_PROBE_TIMEOUT_MS;
    FILE *mem = NULL;

    argv[n++] = binary;
    argv[n++] = "-S";
    argv[n++] = "-no-user-config";
    argv[n++] = "-nodefaults";
    argv[n++] = "-display";
    argv[n++] = "none";
    argv[n++] = "-machine";
    argv[n++] = "none";
    if (accel) {
        argv[n++] = "-accel";
        argv[n++] = accel;
    }
    argv[n++] = "-qmp";
    argv[n++] = "stdio";
    argv[n] = NULL;

    if (!(mem = open_memstream(&script, &slen)))
        goto nomem;
    fputs("{\"execute\":\"qmp_capabilities\"}\n", mem);
    for (; cmds[ncmds]; ncmds++)
        fprintf(mem, "{%s,\"id\":%zu}\n", cmds[ncmds], ncmds + 1);
    fputs("{\"execute\":\"quit\"}\n", mem);
    if (fclose(mem) != 0) {
        mem = NULL;
        goto nomem;
    }
    mem = NULL;

    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
        (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot probe %s", binary);
        goto cleanup;
    }
    posix_spawn_file_actions_init(&fa);
    fa_init = true;
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, devnull, 2);
    errno = posix_spawn(&pid, binary, &fa, NULL, (char *const *)argv, environ);
    if (errno != 0) {
        pid = -1;
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot run %s", binary);
        goto cleanup;
    }
    close(in[0]);
    close(out[1]);
    in[0] = out[1] = -1;
    /* The script is a few hundred bytes: it fits the pipe, so this never blocks. */
    if (write(in[1], script, slen) != (ssize_t)slen) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot talk to %s", binary);
        goto cleanup;
    }
    if (!(tok = json_tokener_new_ex(64)))
        goto nomem;
    for (;;) {
        char buf[65536];
        struct pollfd pfd = {out[0], POLLIN, 0};
        long long left = deadline - now_ms();
        ssize_t got;
        int pr;

        if (left <= 0) {
            mv_error_set(err, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_QEMU,
                         "%s did not answer its capability probe within %d ms", binary,
                         QEMU_CAPS_PROBE_TIMEOUT_MS);
            goto cleanup;
        }
        if ((pr = poll(&pfd, 1, (int)left)) < 0 && errno != EINTR) {
            mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot read from %s", binary);
            goto cleanup;
        }
        if (pr <= 0)
            continue;
        if ((got = read(out[0], buf, sizeof(buf))) < 0) {
            if (errno == EINTR)
                continue;
            mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot read from %s", binary);
            goto cleanup;
        }
        if (got == 0)
            break;
        take_messages(tok, buf, (size_t)got, replies, ncmds);
    }
    ret = 0;
    goto cleanup;

nomem:
    mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot probe %s", binary);
cleanup:
    if (mem)
        fclose(mem);
    if (pid > 0) {
        if (ret < 0)
            kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    if (fa_init)
        posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    if (devnull >= 0)
        close(devnull);
    if (tok)
        json_tokener_free(tok);
    free(script);
    return ret;
}

qemu_caps *qemu_caps_probe(const char *binary, mv_error *err)
{
    json_object *r[5] = {NULL, NULL, NULL, NULL, NULL}, *kvm[1] = {NULL};
    qemu_caps *caps = NULL;

    if (run_probe(binary, NULL, probe_cmds, r, err) < 0)
        goto cleanup;
    if (!r[0] || !r[1] || !r[2] || !r[3]) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                     "%s exited before answering its capability probe (query-%s)", binary,
                     !r[0]   ? "version"
                     : !r[1] ? "target"
                     : !r[2] ? "machines"
                             : "types");
        goto cleanup;
    }
    /* KVM is usable only if a QEMU asked to use it starts and says so; a failure here
     * (no /dev/kvm, no permission) just means TCG only. */
    if (access("/dev/kvm", R_OK | W_OK) == 0)
        run_probe(binary, "kvm", kvm_cmds, kvm, NULL);
    caps = qemu_caps_from_replies(binary, r[0], r[1], r[2], r[3], kvm[0], err);
    if (caps && r[4] && qemu_caps_set_cpu_props(caps, r[4], err) < 0) {
        qemu_caps_unref(caps);
        caps = NULL;
    }

cleanup:
    for (size_t i = 0; i < 5; i++)
        json_object_put(r[i]);
    json_object_put(kvm[0]);
    return caps;
}
