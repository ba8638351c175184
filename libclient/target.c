/* target.c: where a URI leads — the default URI and the ssh command line, as pure
 * functions (no environment reads, no I/O) so they are tested directly. */
#include "libclient/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mvc_default_uri(const char *modvirt_default, const char *libvirt_default,
                           uid_t euid)
{
    if (modvirt_default && modvirt_default[0])
        return modvirt_default;
    if (libvirt_default && libvirt_default[0])
        return libvirt_default;
    return euid == 0 ? "qemu:///system" : "qemu:///session";
}

char *mvc_ssh_remote_command(const char *helper, const char *uri, bool readonly, mv_error *err)
{
    /* The remote side runs the command through a shell, so the URI travels inside single
     * quotes, where only a quote itself would be special. */
    if (strchr(uri, '\'') || strchr(helper, '\'')) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_SSH,
                     "URI '%s' cannot be passed to the remote helper: it contains a quote", uri);
        return NULL;
    }
    char *cmd = NULL;
    if (asprintf(&cmd, "'%s'%s '%s'", helper, readonly ? " --readonly" : "", uri) < 0) {
        mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_SSH, "building the ssh command");
        return NULL;
    }
    return cmd;
}

void mvc_argv_free(char **argv)
{
    if (!argv)
        return;
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* Appends a copy of s; on failure marks *failed. */
static void push(char **argv, size_t *n, const char *s, bool *failed)
{
    char *c = strdup(s);
    if (!c)
        *failed = true;
    argv[(*n)++] = c;
}

char **mvc_ssh_argv(const mv_uri *u, const char *remote_command, mv_error *err)
{
    if (!u->host || !u->host[0]) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_SSH, "an ssh URI needs a host name");
        return NULL;
    }
    /* A host or user starting with '-' would be read by ssh as an option. */
    if (u->host[0] == '-' || (u->user && u->user[0] == '-')) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_SSH,
                     "host '%s' or user '%s' must not start with '-'", u->host,
                     u->user ? u->user : "");
        return NULL;
    }
    const char *command = mv_uri_param_get(u, "command");
    const char *keyfile = mv_uri_param_get(u, "keyfile");
    const char *no_verify = mv_uri_param_get(u, "no_verify");
    const char *no_tty = mv_uri_param_get(u, "no_tty");
    enum { ARGV_MAX = 24 }; /* more than the longest command line below */
    char **argv = calloc(ARGV_MAX, sizeof(char *));
    size_t n = 0;
    bool failed = !argv;
    char port[16];
    if (failed)
        goto fail;

    push(argv, &n, command && command[0] ? command : "ssh", &failed);
    if (u->port > 0) {
        snprintf(port, sizeof(port), "%d", u->port);
        push(argv, &n, "-p", &failed);
        push(argv, &n, port, &failed);
    }
    if (u->user && u->user[0]) {
        push(argv, &n, "-l", &failed);
        push(argv, &n, u->user, &failed);
    }
    if (keyfile && keyfile[0]) {
        push(argv, &n, "-i", &failed);
        push(argv, &n, keyfile, &failed);
    }
    if (no_verify && strcmp(no_verify, "1") == 0) {
        push(argv, &n, "-o", &failed);
        push(argv, &n, "StrictHostKeyChecking=no", &failed);
    }
    if (no_tty && strcmp(no_tty, "1") == 0) {
        push(argv, &n, "-o", &failed);
        push(argv, &n, "BatchMode=yes", &failed);
    }
    /* A binary stream: no pseudo-terminal, no escape character. */
    push(argv, &n, "-T", &failed);
    push(argv, &n, "-e", &failed);
    push(argv, &n, "none", &failed);
    push(argv, &n, "--", &failed);
    push(argv, &n, u->host, &failed);
    push(argv, &n, remote_command, &failed);
    if (!failed)
        return argv;
fail:
    /* A failed copy leaves a NULL hole: free every slot, not up to the first NULL. */
    for (size_t i = 0; argv && i < ARGV_MAX; i++)
        free(argv[i]);
    free(argv);
    mv_error_set(err, VIR_ERR_NO_MEMORY, VIR_FROM_SSH, "building the ssh command");
    return NULL;
}
