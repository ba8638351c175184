/* args.c: a command's arguments parsed against its option list, with virsh's rules and
 * error messages: --opt, --opt VALUE, --opt=VALUE, positional data in order, "--". */
#include "cli/vmctl.h"

#include <string.h>

static int find_opt(const vmctl_cmd *cmd, const char *name, size_t len)
{
    for (int i = 0; cmd->opts[i].name; i++)
        if (strlen(cmd->opts[i].name) == len && strncmp(cmd->opts[i].name, name, len) == 0)
            return i;
    return -1;
}

int vmctl_parse_args(vmctl_ctx *ctx, const vmctl_cmd *cmd, int argc, char **argv,
                     vmctl_args *args)
{
    memset(args, 0, sizeof(*args));
    args->cmd = cmd;
    bool options_done = false;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!options_done && a[0] == '-' && a[1] == '-' && a[2]) {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            int idx = find_opt(cmd, name, len);
            if (idx < 0) {
                vmctl_error(ctx, "command '%s' doesn't support option --%.*s", cmd->name,
                            (int)len, name);
                return -1;
            }
            const vmctl_opt *o = &cmd->opts[idx];
            if (args->value[idx]) {
                vmctl_error(ctx, "option --%s already seen", o->name);
                return -1;
            }
            if (o->type == VMCTL_OPT_BOOL) {
                if (eq) {
                    vmctl_error(ctx, "invalid '=' after option --%s", o->name);
                    return -1;
                }
                args->value[idx] = "";
                continue;
            }
            if (eq) {
                args->value[idx] = eq + 1;
            } else if (i + 1 < argc) {
                args->value[idx] = argv[++i];
            } else {
                vmctl_error(ctx, "expected syntax: --%s <string>", o->name);
                return -1;
            }
            continue;
        }
        /* Data fills the data options in their order, as virsh does. */
        int idx = -1;
        for (int k = 0; cmd->opts[k].name; k++) {
            if (cmd->opts[k].type == VMCTL_OPT_DATA && !args->value[k]) {
                idx = k;
                break;
            }
        }
        if (idx < 0) {
            vmctl_error(ctx, "unexpected data '%s'", a);
            return -1;
        }
        args->value[idx] = a;
    }

    for (int k = 0; cmd->opts[k].name; k++) {
        const vmctl_opt *o = &cmd->opts[k];
        if (o->required && !args->value[k]) {
            if (o->type == VMCTL_OPT_DATA)
                vmctl_error(ctx, "command '%s' requires <%s> option", cmd->name, o->name);
            else
                vmctl_error(ctx, "command '%s' requires --%s option", cmd->name, o->name);
            return -1;
        }
    }
    return 0;
}

static int opt_index(const vmctl_args *args, const char *name)
{
    return find_opt(args->cmd, name, strlen(name));
}

bool vmctl_arg_bool(const vmctl_args *args, const char *name)
{
    int i = opt_index(args, name);
    return i >= 0 && args->value[i] != NULL;
}

const char *vmctl_arg_str(const vmctl_args *args, const char *name)
{
    int i = opt_index(args, name);
    return i >= 0 ? args->value[i] : NULL;
}
