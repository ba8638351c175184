/* cmd_list.c: list — the domains as virsh's table (or --name/--uuid/--id lines), or the
 * --json array; the data is gathered first, then printed by pure functions. */
#include "cli/vmctl.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int row_cmp(const void *pa, const void *pb)
{
    const vmctl_dom_row *a = pa, *b = pb;
    bool aa = a->id >= 0, ba = b->id >= 0;
    if (aa && ba)
        return a->id < b->id ? -1 : a->id > b->id;
    if (aa != ba)
        return aa ? -1 : 1; /* running domains first */
    return strcasecmp(a->name, b->name);
}

void vmctl_rows_sort(vmctl_dom_row *rows, size_t n)
{
    if (n > 1)
        qsort(rows, n, sizeof(*rows), row_cmp);
}

void vmctl_list_print_text(FILE *out, const vmctl_dom_row *rows, size_t n, bool name, bool uuid,
                           bool id)
{
    char idbuf[16];
    if (!name && !uuid && !id) {
        static const char *const headers[] = {"Id", "Name", "State"};
        vmctl_table *t = vmctl_table_new(3, headers);
        for (size_t i = 0; t && i < n; i++) {
            if (rows[i].id >= 0)
                snprintf(idbuf, sizeof(idbuf), "%d", rows[i].id);
            else
                snprintf(idbuf, sizeof(idbuf), "-");
            const char *cells[] = {idbuf, rows[i].name, vmctl_state_word(rows[i].state)};
            vmctl_table_add(t, cells);
        }
        if (t)
            vmctl_table_print(t, out);
        vmctl_table_free(t);
        return;
    }
    /* virsh: "uuid id name" in that order, whichever are asked for; --id alone skips
     * inactive domains. */
    for (size_t i = 0; i < n; i++) {
        const char *sep = "";
        if (id && !uuid && !name && rows[i].id < 0)
            continue;
        if (uuid) {
            fprintf(out, "%s", rows[i].uuid);
            sep = " ";
        }
        if (id) {
            if (rows[i].id >= 0)
                fprintf(out, "%s%d", sep, rows[i].id);
            else
                fprintf(out, "%s-", sep);
            sep = " ";
        }
        if (name)
            fprintf(out, "%s%s", sep, rows[i].name);
        fputc('\n', out);
    }
}

json_object *vmctl_list_json(const vmctl_dom_row *rows, size_t n)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", rows[i].id >= 0 ? json_object_new_int(rows[i].id) : NULL);
        json_object_object_add(o, "name", json_object_new_string(rows[i].name));
        json_object_object_add(o, "uuid", json_object_new_string(rows[i].uuid));
        json_object_object_add(o, "state", json_object_new_string(vmctl_state_word(rows[i].state)));
        json_object_object_add(o, "persistent", json_object_new_boolean(rows[i].persistent));
        json_object_object_add(o, "autostart", json_object_new_boolean(rows[i].autostart));
        json_object_array_add(arr, o);
    }
    return arr;
}

/* virsh's list flags from the options. */
static unsigned int list_flags(const vmctl_args *args)
{
    unsigned int flags = VIR_CONNECT_LIST_DOMAINS_ACTIVE;
    if (vmctl_arg_bool(args, "inactive") || vmctl_arg_bool(args, "state-shutoff"))
        flags = VIR_CONNECT_LIST_DOMAINS_INACTIVE;
    if (vmctl_arg_bool(args, "all"))
        flags = VIR_CONNECT_LIST_DOMAINS_ACTIVE | VIR_CONNECT_LIST_DOMAINS_INACTIVE;
    static const struct {
        const char *opt;
        unsigned int flag;
    } filters[] = {
        {"persistent", VIR_CONNECT_LIST_DOMAINS_PERSISTENT},
        {"transient", VIR_CONNECT_LIST_DOMAINS_TRANSIENT},
        {"autostart", VIR_CONNECT_LIST_DOMAINS_AUTOSTART},
        {"no-autostart", VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART},
        {"state-running", VIR_CONNECT_LIST_DOMAINS_RUNNING},
        {"state-paused", VIR_CONNECT_LIST_DOMAINS_PAUSED},
        {"state-shutoff", VIR_CONNECT_LIST_DOMAINS_SHUTOFF},
        {"state-other", VIR_CONNECT_LIST_DOMAINS_OTHER},
    };
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
        if (vmctl_arg_bool(args, filters[i].opt))
            flags |= filters[i].flag;
    return flags;
}

int vmctl_cmd_list(vmctl_ctx *ctx, const vmctl_args *args)
{
    bool name = vmctl_arg_bool(args, "name"), uuid = vmctl_arg_bool(args, "uuid");
    bool id = vmctl_arg_bool(args, "id");
    if (vmctl_arg_bool(args, "table") && (name || uuid || id)) {
        vmctl_error(ctx, "Options --table and --%s are mutually exclusive",
                    name ? "name" : uuid ? "uuid" : "id");
        return -1;
    }
    virConnectPtr conn = vmctl_conn(ctx);
    if (!conn)
        return -1;
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, list_flags(args));
    if (n < 0) {
        vmctl_error(ctx, "Failed to list domains");
        return -1;
    }
    vmctl_dom_row *rows = calloc((size_t)n + 1, sizeof(*rows));
    size_t nrows = 0;
    int rc = -1;
    if (!rows) {
        vmctl_error(ctx, "out of memory");
        goto cleanup;
    }
    for (int i = 0; i < n; i++) {
        vmctl_dom_row *r = &rows[nrows];
        int reason;
        /* A domain removed meanwhile is skipped, as virsh does. */
        if (virDomainGetState(doms[i], &r->state, &reason, 0) < 0)
            continue;
        unsigned int did = virDomainGetID(doms[i]);
        r->id = did == (unsigned int)-1 ? -1 : (int)did;
        r->name = strdup(virDomainGetName(doms[i]));
        virDomainGetUUIDString(doms[i], r->uuid);
        if (ctx->json) {
            int autostart = 0;
            r->persistent = virDomainIsPersistent(doms[i]) == 1;
            r->autostart = virDomainGetAutostart(doms[i], &autostart) == 0 && autostart;
        }
        if (r->name)
            nrows++;
    }
    virResetLastError(); /* skipped domains are not a failure */
    vmctl_rows_sort(rows, nrows);
    if (ctx->json)
        vmctl_json_emit(ctx, vmctl_list_json(rows, nrows));
    else
        vmctl_list_print_text(ctx->out, rows, nrows, name, uuid, id);
    rc = 0;

cleanup:
    for (size_t i = 0; rows && i < nrows; i++)
        free(rows[i].name);
    free(rows);
    for (int i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
    return rc;
}
