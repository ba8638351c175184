/* test_qemu_command_corpus.c: for every libvirt test domain in ../shared/corpus/qemu/ that
 * has a .x86_64-latest.args and that our parser accepts, the command line we build means
 * the same as libvirt's: machine family, memory, cpus, disks (file, bus, readonly), NICs
 * (MAC, model), serials (device and backend) and displays. Reports the share that
 * matches; docs/qemu-command-line.md explains the comparison. Skipped (77) without the
 * corpus. MODVIRT_CORPUS_VERBOSE=1 lists every case that differs and why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture_qemu_command.h"

/* The share of accepted cases that must match (measured 85%; without Debian's ovmf
 * package the UEFI cases are refused, about 3 points less). */
#define MIN_MATCH_PERCENT 75

static char corpus_dir[PATH_MAX];

/* ---- a command line as key=value maps ------------------------------------------------ */

typedef struct kv {
    char *key[64], *val[64];
    size_t n;
} kv;

typedef struct cmdinfo {
    char *opt[1024];
    kv *args[1024]; /* the option's value as a map (NULL for flags) */
    char *raw[1024];
    size_t n;
} cmdinfo;

static const char *kv_get(const kv *m, const char *key)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (strcmp(m->key[i], key) == 0)
            return m->val[i];
    return NULL;
}

static void kv_put(kv *m, const char *k, size_t klen, const char *v)
{
    if (m->n == 64)
        return;
    m->key[m->n] = strndup(k, klen);
    m->val[m->n] = strdup(v);
    m->n++;
}

/* QEMU's "a=b,c=d" with ",," for a comma, or a JSON object; the first bare word of
 * keyval is stored under "" (e.g. the chardev backend or machine type). */
static kv *parse_value(const char *s)
{
    kv *m = calloc(1, sizeof(*m));

    if (s[0] == '{') {
        json_object *o = json_tokener_parse(s);

        if (o) {
            json_object_object_foreach(o, k, v)
            {
                kv_put(m, k, strlen(k), json_object_get_string(v));
            }
        }
        json_object_put(o);
        return m;
    }
    while (*s) {
        char val[4096];
        size_t vl = 0;
        const char *key = s, *eq = NULL;
        size_t klen;

        while (*s && !(*s == ',' && s[1] != ',')) {
            if (*s == '=' && !eq)
                eq = s;
            if (*s == ',' && s[1] == ',')
                s++;
            s++;
        }
        klen = (size_t)((eq ? eq : s) - key);
        for (const char *p = eq ? eq + 1 : key; p < s && vl < sizeof(val) - 1; p++) {
            val[vl++] = *p;
            if (*p == ',' && p[1] == ',')
                p++;
        }
        val[vl] = '\0';
        if (eq)
            kv_put(m, key, klen, val);
        else
            kv_put(m, "", 0, val);
        if (*s == ',')
            s++;
    }
    return m;
}

static void kv_free(kv *m)
{
    for (size_t i = 0; m && i < m->n; i++) {
        free(m->key[i]);
        free(m->val[i]);
    }
    free(m);
}

static void cmd_add(cmdinfo *c, const char *opt, const char *val)
{
    if (c->n == 1024)
        return;
    c->opt[c->n] = strdup(opt);
    c->raw[c->n] = val ? strdup(val) : NULL;
    c->args[c->n] = val ? parse_value(val) : NULL;
    c->n++;
}

static void cmd_from_argv(cmdinfo *c, char **argv)
{
    for (size_t i = 1; argv[i]; i++) {
        if (argv[i + 1] && argv[i + 1][0] != '-') {
            cmd_add(c, argv[i], argv[i + 1]);
            i++;
        } else {
            cmd_add(c, argv[i], NULL);
        }
    }
}

/* Splits libvirt's .args (shell words, ' quotes, backslash-newline) into argv after the
 * environment assignments. */
static char **split_args(const char *text)
{
    char **v = calloc(4096, sizeof(char *));
    size_t n = 0;
    const char *p = text;

    while (*p && n < 4095) {
        char word[65536];
        size_t wl = 0;

        while (*p == ' ' || *p == '\n' || (*p == '\\' && p[1] == '\n'))
            p += *p == '\\' ? 2 : 1;
        if (!*p)
            break;
        while (*p && *p != ' ' && *p != '\n' && wl < sizeof(word) - 1) {
            if (*p == '\'') {
                for (p++; *p && *p != '\''; p++)
                    word[wl++] = *p;
                if (*p)
                    p++;
            } else if (*p == '\\' && p[1]) {
                word[wl++] = p[1];
                p += 2;
            } else {
                word[wl++] = *p++;
            }
        }
        word[wl] = '\0';
        /* Environment assignments come before the binary. */
        if (n == 0 && strchr(word, '=') && word[0] != '/')
            continue;
        v[n++] = strdup(word);
    }
    return v;
}

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void cmd_clear(cmdinfo *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->opt[i]);
        free(c->raw[i]);
        kv_free(c->args[i]);
    }
    c->n = 0;
}

/* ---- the meaning --------------------------------------------------------------------- */

typedef struct meaning {
    char machine[64];
    unsigned long long mem_kib;
    int cpus, maxcpus;
    char disks[8192];   /* sorted "file|bus|ro;" */
    char nics[2048];    /* sorted "mac|model;" */
    char serials[1024]; /* sorted "device|backend;" */
    char displays[256]; /* "spice,vnc," */
} meaning;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Joins the items sorted, each followed by ';'. */
static void sorted_join(char **items, size_t n, char *out, size_t size)
{
    qsort(items, n, sizeof(char *), cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        snprintf(out + strlen(out), size - strlen(out), "%s;", items[i]);
        free(items[i]);
    }
}

static const kv *node_by_name(const cmdinfo *c, const char *name)
{
    for (size_t i = 0; name && i < c->n; i++)
        if (strcmp(c->opt[i], "-blockdev") == 0 && kv_get(c->args[i], "node-name") &&
            strcmp(kv_get(c->args[i], "node-name"), name) == 0)
            return c->args[i];
    return NULL;
}

static const char *disk_bus(const char *driver)
{
    if (!strncmp(driver, "virtio-blk", 10))
        return "virtio";
    if (!strcmp(driver, "ide-hd") || !strcmp(driver, "ide-cd"))
        return "ide";
    if (!strcmp(driver, "scsi-hd") || !strcmp(driver, "scsi-cd") || !strcmp(driver, "scsi-block"))
        return "scsi";
    if (!strcmp(driver, "usb-storage"))
        return "usb";
    if (!strcmp(driver, "floppy"))
        return "fdc";
    return NULL;
}

static bool truthy(const char *v)
{
    return v && (!strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "yes"));
}

static void extract(const cmdinfo *c, meaning *m)
{
    char *disks[256], *nics[64], *serials[64];
    size_t nd = 0, nn = 0, ns = 0;
    bool vnc = false, spice = false, sdl = false, egl = false, dbus = false;

    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < c->n; i++) {
        const char *o = c->opt[i];
        const kv *a = c->args[i];

        if (!strcmp(o, "-machine") && kv_get(a, "")) {
            const char *t = kv_get(a, "");

            snprintf(m->machine, sizeof(m->machine), "%s",
                     strstr(t, "q35")       ? "q35"
                     : !strncmp(t, "pc", 2) ? "i440fx"
                                            : t);
        } else if (!strcmp(o, "-m")) {
            const char *s = kv_get(a, "size") ? kv_get(a, "size") : kv_get(a, "");

            if (s) {
                char *end;

                m->mem_kib = strtoull(s, &end, 10);
                if (*end == 'M' || *end == '\0')
                    m->mem_kib *= 1024;
                else if (*end == 'G')
                    m->mem_kib *= 1024 * 1024;
            }
        } else if (!strcmp(o, "-smp")) {
            m->cpus = kv_get(a, "") ? atoi(kv_get(a, "")) : 1;
            m->maxcpus = kv_get(a, "maxcpus") ? atoi(kv_get(a, "maxcpus")) : m->cpus;
        } else if (!strcmp(o, "-device") && a) {
            const char *drv = kv_get(a, "driver") ? kv_get(a, "driver") : kv_get(a, "");
            const char *bus;

            if (!drv)
                continue;
            if ((bus = disk_bus(drv)) && nd < 256) {
                const kv *node = node_by_name(c, kv_get(a, "drive"));
                const kv *store = node;
                bool ro = strstr(drv, "-cd") != NULL;

                /* Down the chain (copy-on-read, format, ...) to the node with a file. */
                for (int depth = 0;
                     store && depth < 8 && !kv_get(store, "filename") && kv_get(store, "file");
                     depth++) {
                    ro |= truthy(kv_get(store, "read-only"));
                    store = node_by_name(c, kv_get(store, "file"));
                }
                ro |= truthy(kv_get(node, "read-only")) || truthy(kv_get(store, "read-only"));
                if (asprintf(&disks[nd], "%s|%s|%s",
                             store && kv_get(store, "filename") ? kv_get(store, "filename")
                             : store                            ? "(net)"
                                                                : "(none)",
                             bus, ro ? "ro" : "rw") > 0)
                    nd++;
            } else if (kv_get(a, "mac") && nn < 64) {
                const char *model = !strncmp(drv, "virtio-net", 10) ? "virtio" : drv;

                if (asprintf(&nics[nn], "%s|%s", kv_get(a, "mac"), model) > 0)
                    nn++;
            } else if ((!strcmp(drv, "isa-serial") || !strcmp(drv, "usb-serial") ||
                        !strcmp(drv, "isa-debugcon") || !strcmp(drv, "pci-serial")) &&
                       ns < 64) {
                const char *backend = "?";

                for (size_t k = 0; k < c->n; k++)
                    if (!strcmp(c->opt[k], "-chardev") && kv_get(c->args[k], "id") &&
                        kv_get(a, "chardev") &&
                        !strcmp(kv_get(c->args[k], "id"), kv_get(a, "chardev")))
                        backend = kv_get(c->args[k], "") ? kv_get(c->args[k], "") : "?";
                if (asprintf(&serials[ns], "%s|%s", drv, backend) > 0)
                    ns++;
            }
        } else if (!strcmp(o, "-vnc")) {
            vnc = true;
        } else if (!strcmp(o, "-spice")) {
            spice = true;
        } else if (!strcmp(o, "-display") && kv_get(a, "")) {
            sdl |= !strcmp(kv_get(a, ""), "sdl");
            egl |= !strcmp(kv_get(a, ""), "egl-headless");
            dbus |= !strcmp(kv_get(a, ""), "dbus");
        }
    }
    if (!m->cpus)
        m->cpus = m->maxcpus = 1;
    sorted_join(disks, nd, m->disks, sizeof(m->disks));
    sorted_join(nics, nn, m->nics, sizeof(m->nics));
    sorted_join(serials, ns, m->serials, sizeof(m->serials));
    snprintf(m->displays, sizeof(m->displays), "%s%s%s%s%s", vnc ? "vnc," : "",
             spice ? "spice," : "", sdl ? "sdl," : "", egl ? "egl-headless," : "",
             dbus ? "dbus," : "");
}

/* The first aspect that differs, or NULL. */
static const char *differ(const meaning *a, const meaning *b)
{
    if (strcmp(a->machine, b->machine))
        return "machine";
    if (a->mem_kib != b->mem_kib)
        return "memory";
    if (a->cpus != b->cpus || a->maxcpus != b->maxcpus)
        return "cpus";
    if (strcmp(a->disks, b->disks))
        return "disks";
    if (strcmp(a->nics, b->nics))
        return "nics";
    if (strcmp(a->serials, b->serials))
        return "serials";
    if (strcmp(a->displays, b->displays))
        return "displays";
    return NULL;
}

static void test_corpus_meaning(void **state)
{
    DIR *d = opendir(corpus_dir);
    struct dirent *e;
    qemu_caps *caps = fx_recorded_caps(true);
    size_t accepted = 0, matched = 0, refused = 0, by_aspect[8] = {0};
    const char *aspects[] = {"machine", "memory", "cpus", "disks", "nics", "serials", "displays"};
    bool verbose = getenv("MODVIRT_CORPUS_VERBOSE") != NULL;

    (void)state;
    assert_non_null(d);
    assert_non_null(caps);
    while ((e = readdir(d))) {
        char path[PATH_MAX + 300], base[NAME_MAX + 1];
        size_t len = strlen(e->d_name);
        const char *suffix = ".x86_64-latest.args";
        char *xml = NULL, *args = NULL, **theirs = NULL;
        mv_domain_def *def = NULL;
        qemu_command *cmd = NULL;
        mv_error err = MV_ERROR_INIT;
        cmdinfo ours = {0}, libvirt = {0};
        meaning a, b;
        const char *why;

        if (len <= strlen(suffix) || strcmp(e->d_name + len - strlen(suffix), suffix) != 0)
            continue;
        snprintf(base, sizeof(base), "%.*s", (int)(len - strlen(suffix)), e->d_name);
        snprintf(path, sizeof(path), "%s/%s.xml", corpus_dir, base);
        if (!(xml = fx_slurp(path, NULL)) ||
            !(def = mv_domain_def_parse(xml, strlen(xml), 0, &err)))
            goto next;
        accepted++;
        if (fx_build_dry(def, caps, &cmd, &err) < 0) {
            refused++;
            if (verbose)
                printf("REFUSED %s: %s\n", base, err.message);
            goto next;
        }
        snprintf(path, sizeof(path), "%s/%s", corpus_dir, e->d_name);
        if (!(args = fx_slurp(path, NULL)))
            goto next;
        theirs = split_args(args);
        cmd_from_argv(&libvirt, theirs);
        cmd_from_argv(&ours, cmd->argv);
        extract(&libvirt, &a);
        extract(&ours, &b);
        if (!(why = differ(&a, &b))) {
            matched++;
        } else {
            for (size_t i = 0; i < 7; i++)
                if (!strcmp(aspects[i], why))
                    by_aspect[i]++;
            if (verbose)
                printf("DIFFERS %s: %s\n  libvirt: %s %llu %d/%d [%s] [%s] [%s] [%s]\n"
                       "  ours:    %s %llu %d/%d [%s] [%s] [%s] [%s]\n",
                       base, why, a.machine, a.mem_kib, a.cpus, a.maxcpus, a.disks, a.nics,
                       a.serials, a.displays, b.machine, b.mem_kib, b.cpus, b.maxcpus, b.disks,
                       b.nics, b.serials, b.displays);
        }
    next:
        cmd_clear(&ours);
        cmd_clear(&libvirt);
        free_strv(theirs);
        free(args);
        free(xml);
        qemu_command_free(cmd);
        mv_domain_def_free(def);
        mv_error_clear(&err);
    }
    closedir(d);
    printf("qemu command corpus: %zu accepted by the parser, %zu refused by the builder, "
           "%zu of %zu (%zu%%) mean the same as libvirt's .args\n",
           accepted, refused, matched, accepted, accepted ? matched * 100 / accepted : 0);
    printf("first difference by aspect:");
    for (size_t i = 0; i < 7; i++)
        printf(" %s %zu", aspects[i], by_aspect[i]);
    printf("\n");
    qemu_caps_unref(caps);
    assert_true(accepted > 0);
    assert_true(matched * 100 >= accepted * MIN_MATCH_PERCENT);
}

int main(void)
{
    const char *env = getenv("MODVIRT_CORPUS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_meaning),
    };

    snprintf(corpus_dir, sizeof(corpus_dir), "%s/qemu", env ? env : MODVIRT_CORPUS_DEFAULT);
    if (access(corpus_dir, R_OK) != 0)
        return 77;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
