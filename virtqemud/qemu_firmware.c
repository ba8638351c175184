/* qemu_firmware.c: <os firmware='efi'> — picks the UEFI build from QEMU's firmware
 * descriptors (the JSON files in /etc/qemu/firmware and /usr/share/qemu/firmware, as
 * libvirt reads them), and gives each guest its own copy of the variable store. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/paths.h"
#include "virtqemud/qemu_command.h"
#include "common/str.h"

/* Searched in this order; a file name in an earlier folder hides the same name later. */
static const char *const descriptor_dirs[] = {"/etc/qemu/firmware", "/usr/share/qemu/firmware",
                                              NULL};

static bool has_string(json_object *arr, const char *s)
{
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
        if (mv_streq(json_object_get_string(json_object_array_get_idx(arr, i)), s))
            return true;
    return false;
}

static const char *jpath(json_object *o, const char *a, const char *b, const char *c)
{
    json_object *v = o;

    if (!json_object_object_get_ex(v, a, &v) || (b && !json_object_object_get_ex(v, b, &v)) ||
        (c && !json_object_object_get_ex(v, c, &v)))
        return NULL;
    return json_object_get_string(v);
}

/* Whether descriptor d runs `def` on machine `machine`. */
static bool matches(json_object *d, const mv_domain_def *def, const char *machine)
{
    json_object *ifaces = NULL, *targets = NULL, *features = NULL;
    bool target_ok = false;

    json_object_object_get_ex(d, "interface-types", &ifaces);
    json_object_object_get_ex(d, "targets", &targets);
    json_object_object_get_ex(d, "features", &features);
    if (!has_string(ifaces, "uefi") || !mv_streq(jpath(d, "mapping", "device", NULL), "flash"))
        return false;
    for (size_t i = 0; targets && i < json_object_array_length(targets); i++) {
        json_object *t = json_object_array_get_idx(targets, i), *machines = NULL;

        if (!mv_streq(jpath(t, "architecture", NULL, NULL), "x86_64"))
            continue;
        json_object_object_get_ex(t, "machines", &machines);
        for (size_t k = 0; machines && k < json_object_array_length(machines); k++)
            if (fnmatch(json_object_get_string(json_object_array_get_idx(machines, k)), machine,
                        0) == 0)
                target_ok = true;
    }
    if (!target_ok)
        return false;
    /* <firmware><feature enabled='yes|no' name='secure-boot|enrolled-keys'/>. */
    for (size_t i = 0; i < def->os.nfirmware_features; i++) {
        const mv_domain_firmware_feature *f = &def->os.firmware_features[i];

        if ((f->enabled == MV_TRISTATE_YES) != has_string(features, f->name))
            return false;
    }
    /* <loader secure='yes|no'/> asks for (or against) Secure Boot too. */
    if (def->os.loader_secure != MV_TRISTATE_ABSENT &&
        (def->os.loader_secure == MV_TRISTATE_YES) != has_string(features, "secure-boot"))
        return false;
    /* <smm state='off'/> rules out builds that need SMM (the Secure Boot ones). */
    if (def->features && def->features->smm_present && def->features->smm == MV_TRISTATE_NO &&
        has_string(features, "requires-smm"))
        return false;
    if (def->os.loader_format &&
        !mv_streq(jpath(d, "mapping", "executable", "format"), def->os.loader_format))
        return false;
    return true;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(strrchr(*(char *const *)a, '/') + 1, strrchr(*(char *const *)b, '/') + 1);
}

/* Every descriptor path, sorted by file name (their priority), earlier folders hiding
 * later ones. */
static char **list_descriptors(size_t *count)
{
    char **v = NULL;
    size_t n = 0;

    for (size_t d = 0; descriptor_dirs[d]; d++) {
        DIR *dir = opendir(descriptor_dirs[d]);
        struct dirent *e;

        while (dir && (e = readdir(dir))) {
            size_t len = strlen(e->d_name);
            bool hidden = false;
            char **nv;

            if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
                continue;
            for (size_t i = 0; i < n; i++)
                hidden |= mv_streq(strrchr(v[i], '/') + 1, e->d_name);
            if (hidden || !(nv = realloc(v, (n + 1) * sizeof(char *))))
                continue;
            v = nv;
            if (asprintf(&v[n], "%s/%s", descriptor_dirs[d], e->d_name) > 0)
                n++;
        }
        if (dir)
            closedir(dir);
    }
    if (n)
        qsort(v, n, sizeof(char *), cmp_name);
    *count = n;
    return v;
}

int qemu_firmware_select(const mv_domain_def *def, const char *machine, qemu_firmware *fw,
                         mv_error *err)
{
    size_t n = 0;
    char **paths = list_descriptors(&n);
    int ret = -1;

    memset(fw, 0, sizeof(*fw));
    for (size_t i = 0; i < n && ret < 0; i++) {
        json_object *d = json_object_from_file(paths[i]), *features = NULL;
        const char *code = jpath(d, "mapping", "executable", "filename");
        const char *vars = jpath(d, "mapping", "nvram-template", "filename");

        if (d && code && matches(d, def, machine)) {
            json_object_object_get_ex(d, "features", &features);
            snprintf(fw->code, sizeof(fw->code), "%s", code);
            snprintf(fw->vars_template, sizeof(fw->vars_template), "%s", vars ? vars : "");
            snprintf(fw->format, sizeof(fw->format), "%s",
                     jpath(d, "mapping", "executable", "format")
                         ? jpath(d, "mapping", "executable", "format")
                         : "raw");
            fw->requires_smm = has_string(features, "requires-smm");
            fw->secure_boot = has_string(features, "secure-boot");
            ret = 0;
        }
        json_object_put(d);
    }
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    if (ret < 0)
        mv_error_set(err, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                     "no UEFI firmware of this host matches "
                     "machine '%s' and the requested features (looked in %s and %s)",
                     machine, descriptor_dirs[0], descriptor_dirs[1]);
    return ret;
}

int qemu_firmware_copy_vars(const char *template_path, const char *nvram, mv_error *err)
{
    char buf[65536];
    int in = -1, out = -1, ret = -1;
    char *dir = NULL, *slash;
    ssize_t got;

    if (access(nvram, F_OK) == 0)
        return 0; /* the guest's variables from earlier boots */
    if (!(dir = strdup(nvram)) || !(slash = strrchr(dir, '/'))) {
        mv_error_set(err, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, "bad nvram path '%s'", nvram);
        goto cleanup;
    }
    *slash = '\0';
    if (mv_mkdir_p(dir, 0755, err) < 0)
        goto cleanup;
    if ((in = open(template_path, O_RDONLY | O_CLOEXEC)) < 0 ||
        (out = open(nvram, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot create nvram '%s' from '%s'", nvram,
                           template_path);
        goto cleanup;
    }
    while ((got = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)got) != got) {
            got = -1;
            break;
        }
    if (got < 0 || fsync(out) < 0) {
        mv_error_set_errno(err, errno, VIR_FROM_QEMU, "cannot write nvram '%s'", nvram);
        unlink(nvram);
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    free(dir);
    return ret;
}
