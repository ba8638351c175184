/* cmd_host.c: version, uri, hostname, nodeinfo — what virsh prints about the host. */
#include "cli/vmctl.h"

#include <stdlib.h>

/* "9.0.0" from libvirt's encoding, into buf. */
static const char *version_str(unsigned long v, char *buf, size_t len)
{
    snprintf(buf, len, "%lu.%lu.%lu", v / 1000000, (v / 1000) % 1000, v % 1000);
    return buf;
}

int vmctl_cmd_version(vmctl_ctx *ctx, const vmctl_args *args)
{
    (void)args;
    virConnectPtr conn = vmctl_conn(ctx);
    if (!conn)
        return -1;
    const char *type = virConnectGetType(conn);
    if (!type) {
        vmctl_error(ctx, "failed to get hypervisor type");
        return -1;
    }
    unsigned long lib = 0, api = 0, hv = 0;
    if (virGetVersion(&lib, type, &api) < 0) {
        vmctl_error(ctx, "failed to get the library version");
        return -1;
    }
    char a[32], b[32], c[32], d[32], line[128];
    vmctl_rec *r = vmctl_rec_new(0);
    /* virsh's four lines; modvirt reports the libvirt API level it implements. */
    snprintf(line, sizeof(line), "libvirt %s", version_str(LIBVIR_VERSION_NUMBER, a, sizeof(a)));
    vmctl_rec_str(r, "Compiled against library:", "compiled_against_library", line);
    snprintf(line, sizeof(line), "libvirt %s", version_str(lib, b, sizeof(b)));
    vmctl_rec_str(r, "Using library:", "using_library", line);
    snprintf(line, sizeof(line), "%s %s", type, version_str(api, c, sizeof(c)));
    vmctl_rec_str(r, "Using API:", "using_api", line);
    if (virConnectGetVersion(conn, &hv) < 0) {
        /* virsh has printed the first three lines by then; a document is all or nothing */
        if (ctx->json)
            vmctl_rec_free(r);
        else
            vmctl_rec_emit(ctx, r);
        vmctl_error(ctx, "failed to get the hypervisor version");
        return -1;
    }
    if (hv == 0) {
        /* virsh's sentence when the driver cannot tell */
        if (ctx->json) {
            vmctl_rec_null(r, "", "running_hypervisor", "");
        } else {
            vmctl_rec_emit(ctx, r);
            fprintf(ctx->out, "Cannot extract running %s hypervisor version\n", type);
            return 0;
        }
    } else {
        snprintf(line, sizeof(line), "%s %s", type, version_str(hv, d, sizeof(d)));
        vmctl_rec_str(r, "Running hypervisor:", "running_hypervisor", line);
    }
    vmctl_rec_emit(ctx, r);
    return 0;
}

int vmctl_cmd_uri(vmctl_ctx *ctx, const vmctl_args *args)
{
    (void)args;
    virConnectPtr conn = vmctl_conn(ctx);
    if (!conn)
        return -1;
    char *uri = virConnectGetURI(conn);
    if (!uri) {
        vmctl_error(ctx, "failed to get URI");
        return -1;
    }
    if (ctx->json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "uri", json_object_new_string(uri));
        vmctl_json_emit(ctx, doc);
    } else {
        fprintf(ctx->out, "%s\n", uri);
    }
    free(uri);
    return 0;
}

int vmctl_cmd_hostname(vmctl_ctx *ctx, const vmctl_args *args)
{
    (void)args;
    virConnectPtr conn = vmctl_conn(ctx);
    if (!conn)
        return -1;
    char *host = virConnectGetHostname(conn);
    if (!host) {
        vmctl_error(ctx, "failed to get hostname");
        return -1;
    }
    if (ctx->json) {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "hostname", json_object_new_string(host));
        vmctl_json_emit(ctx, doc);
    } else {
        fprintf(ctx->out, "%s\n", host);
    }
    free(host);
    return 0;
}

int vmctl_cmd_nodeinfo(vmctl_ctx *ctx, const vmctl_args *args)
{
    (void)args;
    virConnectPtr conn = vmctl_conn(ctx);
    if (!conn)
        return -1;
    virNodeInfo info;
    if (virNodeGetInfo(conn, &info) < 0) {
        vmctl_error(ctx, "failed to get node information");
        return -1;
    }
    vmctl_rec *r = vmctl_rec_new(20);
    vmctl_rec_str(r, "CPU model:", "cpu_model", info.model);
    vmctl_rec_uint(r, "CPU(s):", "cpus", info.cpus, NULL);
    vmctl_rec_uint(r, "CPU frequency:", "cpu_frequency", info.mhz, " MHz");
    vmctl_rec_uint(r, "CPU socket(s):", "cpu_sockets", info.sockets, NULL);
    vmctl_rec_uint(r, "Core(s) per socket:", "cores_per_socket", info.cores, NULL);
    vmctl_rec_uint(r, "Thread(s) per core:", "threads_per_core", info.threads, NULL);
    vmctl_rec_uint(r, "NUMA cell(s):", "numa_cells", info.nodes, NULL);
    vmctl_rec_uint(r, "Memory size:", "memory_size", info.memory, " KiB");
    vmctl_rec_emit(ctx, r);
    return 0;
}
