/* cmd_help.c: help — every command by group, one group, or one command's page, laid out
 * as virsh's help. */
#include "cli/vmctl.h"

#include <string.h>

static const vmctl_group *find_group(const char *keyword)
{
    for (const vmctl_group *g = vmctl_groups; g->keyword; g++)
        if (strcmp(g->keyword, keyword) == 0)
            return g;
    return NULL;
}

static void print_group(vmctl_ctx *ctx, const vmctl_group *g)
{
    fprintf(ctx->out, " %s (help keyword '%s'):\n", g->title, g->keyword);
    for (const vmctl_cmd *c = vmctl_commands; c->name; c++)
        if (strcmp(c->group, g->keyword) == 0)
            fprintf(ctx->out, "    %-30s %s\n", c->name, c->help);
    fputc('\n', ctx->out);
}

/* "<domain>", "[--inactive]", "--file <string>" ... as virsh's synopsis shows them. */
static void synopsis_item(const vmctl_opt *o, char *buf, size_t len)
{
    switch (o->type) {
    case VMCTL_OPT_BOOL:
        snprintf(buf, len, "[--%s]", o->name);
        break;
    case VMCTL_OPT_STRING:
        snprintf(buf, len, o->required ? "--%s <string>" : "[--%s <string>]", o->name);
        break;
    case VMCTL_OPT_DATA:
        snprintf(buf, len, o->required ? "<%s>" : "[<%s>]", o->name);
        break;
    }
}

static void print_command(vmctl_ctx *ctx, const vmctl_cmd *c)
{
    char item[128];
    fprintf(ctx->out, "  NAME\n    %s - %s\n\n  SYNOPSIS\n    %s", c->name, c->help, c->name);
    for (const vmctl_opt *o = c->opts; o->name; o++) {
        synopsis_item(o, item, sizeof(item));
        fprintf(ctx->out, " %s", item);
    }
    fputs("\n\n", ctx->out);
    if (c->desc && c->desc[0])
        fprintf(ctx->out, "  DESCRIPTION\n    %s\n\n", c->desc);
    if (c->opts[0].name) {
        fputs("  OPTIONS\n", ctx->out);
        for (const vmctl_opt *o = c->opts; o->name; o++) {
            if (o->type == VMCTL_OPT_BOOL)
                snprintf(item, sizeof(item), "--%s", o->name);
            else if (o->type == VMCTL_OPT_DATA)
                snprintf(item, sizeof(item), "[--%s] <string>", o->name);
            else
                snprintf(item, sizeof(item), "--%s <string>", o->name);
            fprintf(ctx->out, "    %-15s  %s\n", item, o->help);
        }
        fputc('\n', ctx->out);
    }
}

static json_object *command_json(const vmctl_cmd *c)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(c->name));
    json_object_object_add(o, "group", json_object_new_string(c->group));
    json_object_object_add(o, "help", json_object_new_string(c->help));
    json_object *opts = json_object_new_array();
    static const char *const types[] = {"bool", "string", "data"};
    for (const vmctl_opt *p = c->opts; p->name; p++) {
        json_object *oj = json_object_new_object();
        json_object_object_add(oj, "name", json_object_new_string(p->name));
        json_object_object_add(oj, "type", json_object_new_string(types[p->type]));
        json_object_object_add(oj, "required", json_object_new_boolean(p->required));
        json_object_object_add(oj, "help", json_object_new_string(p->help));
        json_object_array_add(opts, oj);
    }
    json_object_object_add(o, "options", opts);
    return o;
}

int vmctl_cmd_help(vmctl_ctx *ctx, const vmctl_args *args)
{
    const char *what = vmctl_arg_str(args, "command");
    const vmctl_cmd *cmd = what ? vmctl_find_command(what) : NULL;
    const vmctl_group *group = what && !cmd ? find_group(what) : NULL;
    if (what && !cmd && !group) {
        vmctl_error(ctx, "command or command group '%s' doesn't exist", what);
        return -1;
    }
    if (ctx->json) {
        if (cmd) {
            vmctl_json_emit(ctx, command_json(cmd));
            return 0;
        }
        json_object *arr = json_object_new_array();
        for (const vmctl_cmd *c = vmctl_commands; c->name; c++)
            if (!group || strcmp(c->group, group->keyword) == 0)
                json_object_array_add(arr, command_json(c));
        vmctl_json_emit(ctx, arr);
        return 0;
    }
    if (cmd) {
        print_command(ctx, cmd);
    } else if (group) {
        print_group(ctx, group);
    } else {
        fputs("Grouped commands:\n\n", ctx->out);
        for (const vmctl_group *g = vmctl_groups; g->keyword; g++)
            print_group(ctx, g);
    }
    return 0;
}
