/* vmctl.c: global options (-c, -r, -q, --json anywhere, -h, -v), the connection, and
 * running one command from the table with virsh's conventions: errors as "error: ..."
 * on stderr and exit status 1; in text mode a blank line after each command. */
#include "cli/vmctl.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

virConnectPtr vmctl_conn(vmctl_ctx *ctx)
{
    if (ctx->conn)
        return ctx->conn;
    ctx->conn = ctx->readonly ? virConnectOpenReadOnly(ctx->uri)
                              : virConnectOpenAuth(ctx->uri, virConnectAuthPtrDefault, 0);
    if (!ctx->conn) {
        vmctl_error(ctx, "failed to connect to the hypervisor");
        vmctl_lib_error(ctx); /* reported here, not again by the runner */
    }
    return ctx->conn;
}

/* The library's error handler: keep a copy of each error as it is raised, since a later
 * virDomainFree() clears the thread's last error before the runner reports it. */
static void save_lib_error(void *opaque, virErrorPtr error)
{
    vmctl_ctx *ctx = opaque;
    (void)error;
    virFreeError(ctx->lib_error);
    ctx->lib_error = virSaveLastError();
}

static void usage(FILE *out)
{
    fprintf(out,
            "\n"
            "vmctl [options]... <command> [args...]\n"
            "\n"
            "  options:\n"
            "    -c | --connect=URI      hypervisor connection URI\n"
            "    -h | --help             this help\n"
            "         --json             print one JSON document instead of text\n"
            "                            (allowed anywhere on the command line)\n"
            "    -q | --quiet            quiet mode\n"
            "    -r | --readonly         connect readonly\n"
            "    -v | --version          version\n"
            "\n"
            "  commands (non interactive mode):\n"
            "\n");
    for (const vmctl_group *g = vmctl_groups; g->keyword; g++) {
        fprintf(out, " %s (help keyword '%s')\n", g->title, g->keyword);
        for (const vmctl_cmd *c = vmctl_commands; c->name; c++)
            if (strcmp(c->group, g->keyword) == 0)
                fprintf(out, "    %-30s %s\n", c->name, c->help);
        fputc('\n', out);
    }
    fprintf(out, "  (specify help <group> for details about the commands in the group)\n"
                 "\n"
                 "  (specify help <command> for details about the command)\n\n");
}

/* Parses the options before the command. Returns the index of the command name, argc
 * when there is none, or -1 (after printing why) / -2 (done: help or version printed). */
static int parse_globals(vmctl_ctx *ctx, int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0 || strcmp(a, "--connect") == 0) {
            if (i + 1 >= argc) {
                vmctl_error(ctx, "option '%s' requires an argument", a);
                return -1;
            }
            ctx->uri = argv[++i];
        } else if (strncmp(a, "--connect=", 10) == 0) {
            ctx->uri = a + 10;
        } else if (strncmp(a, "-c", 2) == 0) {
            ctx->uri = a + 2;
        } else if (strcmp(a, "-r") == 0 || strcmp(a, "--readonly") == 0) {
            ctx->readonly = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            ctx->quiet = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(ctx->out);
            return -2;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
            if (ctx->json) {
                json_object *doc = json_object_new_object();
                json_object_object_add(doc, "version", json_object_new_string(MODVIRT_VERSION_STRING));
                vmctl_json_emit(ctx, doc);
            } else {
                fprintf(ctx->out, "%s\n", MODVIRT_VERSION_STRING);
            }
            return -2;
        } else if (strcmp(a, "--") == 0) {
            return i + 1;
        } else {
            vmctl_error(ctx, "unsupported option '%s'. See --help.", a);
            return -1;
        }
    }
    return i;
}

int vmctl_run(int argc, char **argv, FILE *out, FILE *err)
{
    vmctl_ctx ctx = {.out = out, .err = err, .stdin_is_tty = isatty(STDIN_FILENO) == 1};
    int rc = 1;
    /* --json may stand anywhere (but after "--", a "--json" is data). */
    char **av = calloc((size_t)argc + 1, sizeof(char *));
    int ac = 0;
    if (!av) {
        vmctl_error(&ctx, "out of memory");
        return 1;
    }
    bool data_only = false;
    for (int i = 0; i < argc; i++) {
        if (!data_only && strcmp(argv[i], "--json") == 0) {
            ctx.json = true;
            continue;
        }
        if (strcmp(argv[i], "--") == 0 && i > 0)
            data_only = true;
        av[ac++] = argv[i];
    }

    int ci = parse_globals(&ctx, ac, av);
    if (ci == -2) {
        rc = 0;
        goto cleanup;
    }
    if (ci < 0)
        goto cleanup;
    if (ci >= ac) {
        vmctl_error(&ctx, "no command given (see 'vmctl help')");
        goto cleanup;
    }
    const vmctl_cmd *cmd = vmctl_find_command(av[ci]);
    if (!cmd) {
        vmctl_error(&ctx, "unknown command: '%s'", av[ci]);
        goto cleanup;
    }
    vmctl_args args;
    if (vmctl_parse_args(&ctx, cmd, ac - ci - 1, av + ci + 1, &args) < 0)
        goto cleanup;

    vmctl_forget_lib_error(&ctx);
    virSetErrorFunc(&ctx, save_lib_error);
    rc = cmd->run(&ctx, &args) < 0 ? 1 : 0;
    if (rc != 0)
        vmctl_lib_error(&ctx); /* the library's reason, after the command's own words */
    /* virsh ends every command's output with an empty line (quiet mode drops it). */
    if (!ctx.json && !ctx.quiet)
        fputc('\n', out);

cleanup:
    if (ctx.conn)
        virConnectClose(ctx.conn);
    virSetErrorFunc(NULL, NULL);
    vmctl_forget_lib_error(&ctx);
    free(av);
    fflush(out);
    fflush(err);
    return rc;
}

int vmctl_main(int argc, char **argv)
{
    return vmctl_run(argc, argv, stdout, stderr);
}
