/* cmd_edit.c: edit — the domain's definition in $VISUAL / $EDITOR (default vi), then
 * defined again, as virsh edit does. A failed define offers another go only when stdin
 * is a terminal; otherwise it is an error. */
#include "cli/vmctl.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

char **vmctl_split_command(const char *s)
{
    size_t cap = 8, n = 0;
    char **argv = calloc(cap, sizeof(char *));
    char *word = malloc(strlen(s) + 1);
    bool ok = argv && word;
    const char *p = s;
    while (ok) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        size_t len = 0;
        char quote = 0;
        for (; *p && (quote || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
            if (quote && *p == quote)
                quote = 0;
            else if (!quote && (*p == '\'' || *p == '"'))
                quote = *p;
            else if (*p == '\\' && quote != '\'' && p[1])
                word[len++] = *++p;
            else
                word[len++] = *p;
        }
        if (quote) {
            ok = false; /* unbalanced quotes */
            break;
        }
        if (n + 2 > cap) {
            char **na = realloc(argv, cap * 2 * sizeof(char *));
            if (!na) {
                ok = false;
                break;
            }
            argv = na;
            cap *= 2;
        }
        if (!(argv[n] = strndup(word, len))) {
            ok = false;
            break;
        }
        argv[++n] = NULL;
    }
    free(word);
    if (ok && n > 0)
        return argv;
    for (size_t i = 0; argv && i < n; i++)
        free(argv[i]);
    free(argv);
    return NULL;
}

static void free_argv(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* Runs the user's editor on path (stdio inherited) and waits. -1 after printing why. */
static int run_editor(vmctl_ctx *ctx, const char *path)
{
    const char *editor = getenv("VISUAL");
    if (!editor || !editor[0])
        editor = getenv("EDITOR");
    if (!editor || !editor[0])
        editor = "vi";
    char **argv = vmctl_split_command(editor);
    if (!argv) {
        vmctl_error(ctx, "cannot parse editor command '%s'", editor);
        return -1;
    }
    size_t n = 0;
    while (argv[n])
        n++;
    char **full = realloc(argv, (n + 2) * sizeof(char *));
    if (!full) {
        free_argv(argv);
        vmctl_error(ctx, "out of memory");
        return -1;
    }
    argv = full;
    argv[n] = strdup(path);
    argv[n + 1] = NULL;
    pid_t pid;
    int rc = -1;
    int e = argv[n] ? posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) : ENOMEM;
    if (e != 0) {
        vmctl_error(ctx, "cannot run editor '%s': %s", argv[0], strerror(e));
        goto cleanup;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        vmctl_error(ctx, "editor '%s' exited with status %d", argv[0],
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        goto cleanup;
    }
    rc = 0;
cleanup:
    free_argv(argv);
    return rc;
}

/* Writes text to a new temporary file; its path in *path (malloc'd). */
static int write_temp(vmctl_ctx *ctx, const char *text, char **path)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !dir[0])
        dir = "/tmp";
    if (asprintf(path, "%s/vmctlXXXXXX.xml", dir) < 0) {
        *path = NULL;
        vmctl_error(ctx, "out of memory");
        return -1;
    }
    int fd = mkstemps(*path, 4);
    size_t len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) < 0) {
        vmctl_error(ctx, "cannot write temporary file '%s': %s", *path, strerror(errno));
        if (fd >= 0)
            unlink(*path);
        free(*path);
        *path = NULL;
        return -1;
    }
    return 0;
}

/* Asks "Try again?" on the terminal. */
static bool ask_retry(vmctl_ctx *ctx)
{
    for (;;) {
        fprintf(ctx->out, "Failed. Try again? [y,n,?]:");
        fflush(ctx->out);
        char line[64];
        if (!fgets(line, sizeof(line), stdin))
            return false;
        if (line[0] == 'y' || line[0] == 'Y')
            return true;
        if (line[0] == 'n' || line[0] == 'N')
            return false;
        fprintf(ctx->out, "y - try again, n - give up and discard the changes\n");
    }
}

static void emit_result(vmctl_ctx *ctx, const char *name, bool changed)
{
    if (ctx->json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "name", json_object_new_string(name));
        json_object_object_add(doc, "changed", json_object_new_boolean(changed));
        vmctl_json_emit(ctx, doc);
    } else if (changed) {
        fprintf(ctx->out, "Domain '%s' XML configuration edited.\n", name);
    } else {
        fprintf(ctx->out, "Domain '%s' XML configuration not changed.\n", name);
    }
}

int vmctl_cmd_edit(vmctl_ctx *ctx, const vmctl_args *args)
{
    virDomainPtr dom = vmctl_domain_arg(ctx, args);
    if (!dom)
        return -1;
    int rc = -1;
    char *path = NULL, *edited = NULL;
    char *orig = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE);
    if (!orig || write_temp(ctx, orig, &path) < 0)
        goto cleanup;
    for (;;) {
        if (run_editor(ctx, path) < 0)
            goto cleanup;
        free(edited);
        if (!(edited = vmctl_read_file(path, VMCTL_XML_MAX))) {
            vmctl_error(ctx, "cannot read '%s': %s", path, strerror(errno));
            goto cleanup;
        }
        if (strcmp(edited, orig) == 0) {
            emit_result(ctx, virDomainGetName(dom), false);
            rc = 0;
            goto cleanup;
        }
        virDomainPtr newdom = virDomainDefineXML(virDomainGetConnect(dom), edited);
        if (newdom) {
            emit_result(ctx, virDomainGetName(newdom), true);
            virDomainFree(newdom);
            rc = 0;
            goto cleanup;
        }
        /* Show why now; then, with a person at a terminal, offer another go. */
        vmctl_lib_error(ctx);
        virResetLastError();
        if (!ctx->stdin_is_tty || !ask_retry(ctx)) {
            vmctl_error(ctx, "Domain '%s' XML configuration not changed: the edited XML "
                             "was not accepted",
                        virDomainGetName(dom));
            goto cleanup;
        }
    }

cleanup:
    if (path) {
        unlink(path);
        free(path);
    }
    free(edited);
    free(orig);
    virDomainFree(dom);
    return rc;
}
