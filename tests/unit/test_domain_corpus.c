/* test_domain_corpus.c: libvirt's own QEMU test inputs against our domain XML parser.
 *
 * For every ../shared/corpus/qemu/NAME.xml (MODVIRT_CORPUS overrides the folder):
 * - NAME.x86_64-latest.err exists: libvirt rejects it, so must we (parsed with VALIDATE,
 *   since libvirt's test harness applies its QEMU driver's checks too);
 * - otherwise it either round-trips — parse, format, parse, format gives the same bytes,
 *   the output means what the input meant (modulo whitespace, attribute and sibling order
 *   between element kinds, numbers written in another base, sizes normalised to KiB and
 *   a generated UUID) and it validates against libvirt's RelaxNG schema — or it fails
 *   with an error naming what we do not support.
 * Prints the round-trip share and which unsupported elements block the most files.
 * Exits 77 (skipped) when the corpus is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>

#include "common/domain/domain_conf.h"
#include "fixture_files.h"
#include "common/domain/xml_util.h"

static char corpus[4096];

static bool exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* ---- comparing the input with our output by meaning ---- */

static bool parse_num(const char *s, long long *v)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return false;
    errno = 0;
    *v = strtoll(s, &end, 0);
    if (errno || end == s) {
        *v = strtoll(s, &end, 10); /* "08": decimal with a leading zero */
        if (errno || end == s)
            return false;
    }
    while (isspace((unsigned char)*end))
        end++;
    return *end == '\0';
}

static unsigned long long unit_scale(const char *unit)
{
    static const char prefixes[] = "kmgtpe";
    const char *p;
    unsigned long long base, m = 1;

    if (!unit || !*unit)
        return 1024;
    if (!strcasecmp(unit, "b") || !strcasecmp(unit, "byte") || !strcasecmp(unit, "bytes"))
        return 1;
    p = strchr(prefixes, tolower((unsigned char)unit[0]));
    if (!p)
        return 0;
    base = (!unit[1] || !strcasecmp(unit + 1, "iB")) ? 1024 : 1000;
    for (long i = 0; i <= p - prefixes; i++)
        m *= base;
    return m;
}

/* A size in KiB (rounded up) as text, from value and unit (default_unit when none). */
static char *to_kib(const char *value, const char *unit, const char *default_unit)
{
    unsigned long long n, m = unit_scale(unit ? unit : default_unit);
    char *out = NULL;
    char *end;

    n = strtoull(value, &end, 10);
    if (!m || *end || end == value)
        return strdup(value);
    n *= m;
    if (asprintf(&out, "%llu", n / 1024 + (n % 1024 != 0)) < 0)
        return NULL;
    return out;
}

static bool is_scaled_element(const xmlNode *n)
{
    static const char *const names[] = {"memory", "currentMemory", "maxMemory", "tseg",
                                        "pcihole64", NULL};

    for (size_t i = 0; names[i]; i++)
        if (!strcmp((const char *)n->name, names[i]) && n->parent &&
            (!strcmp((const char *)n->parent->name, "domain") ||
             !strcmp((const char *)n->parent->name, "smm") ||
             !strcmp((const char *)n->parent->name, "controller")))
            return true;
    return false;
}

/* What libvirt writes whether or not the input had it: <vcpu> (1) and <devices>. */
static void add_defaults(xmlNodePtr root)
{
    bool vcpu = false, devices = false;

    for (xmlNodePtr k = root->children; k; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        vcpu = vcpu || !strcmp((const char *)k->name, "vcpu");
        devices = devices || !strcmp((const char *)k->name, "devices");
    }
    if (!vcpu)
        xmlNewTextChild(root, NULL, BAD_CAST "vcpu", BAD_CAST "1");
    if (!devices)
        xmlNewChild(root, NULL, BAD_CAST "devices", NULL);
}

/* Rewrites sizes to KiB and drops unit attributes, in place, on both trees; MAC addresses
 * are compared in lower case, as libvirt writes them. */
static void normalise(xmlNodePtr n)
{
    for (; n; n = n->next) {
        xmlChar *unit;
        const char *def_unit;

        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (!strcmp((const char *)n->name, "metadata")) /* kept verbatim */
            continue;
        unit = xmlGetNoNsProp(n, BAD_CAST "unit");
        def_unit = !strcmp((const char *)n->name, "tseg") ? "MiB" : "KiB";
        if (unit || is_scaled_element(n)) {
            static const char *const attrs[] = {"memory", "size", NULL};
            xmlChar *text = xmlNodeGetContent(n);

            if (text && *text && is_scaled_element(n)) {
                char *kib = to_kib((const char *)text, (const char *)unit, def_unit);

                xmlNodeSetContent(n, BAD_CAST kib);
                free(kib);
            }
            xmlFree(text);
            for (size_t i = 0; attrs[i]; i++) {
                xmlChar *v = xmlGetNoNsProp(n, BAD_CAST attrs[i]);

                if (v) {
                    char *kib = to_kib((const char *)v, (const char *)unit, def_unit);

                    xmlSetProp(n, BAD_CAST attrs[i], BAD_CAST kib);
                    free(kib);
                    xmlFree(v);
                }
            }
            xmlUnsetProp(n, BAD_CAST "unit");
        }
        if (unit)
            xmlFree(unit);
        if (!strcmp((const char *)n->name, "mac")) {
            xmlChar *mac = xmlGetNoNsProp(n, BAD_CAST "address");

            for (xmlChar *c = mac; c && *c; c++)
                *c = (xmlChar)tolower(*c);
            if (mac) {
                xmlSetProp(n, BAD_CAST "address", mac);
                xmlFree(mac);
            }
        }
        normalise(n->children);
    }
}

static bool same_value(const char *a, const char *b)
{
    long long x, y;

    if (!strcmp(a, b))
        return true;
    return parse_num(a, &x) && parse_num(b, &y) && x == y;
}

static char *trimmed_text(const xmlNode *n)
{
    char *t = mv_xml_node_text(n);
    size_t len;
    char *s = t;

    if (!t)
        return NULL;
    while (isspace((unsigned char)*s))
        s++;
    memmove(t, s, strlen(s) + 1);
    len = strlen(t);
    while (len && isspace((unsigned char)t[len - 1]))
        t[--len] = '\0';
    return t;
}

static bool same_name(const xmlNode *a, const xmlNode *b)
{
    const char *na = a->ns ? (const char *)a->ns->href : "";
    const char *nb = b->ns ? (const char *)b->ns->href : "";

    return !strcmp((const char *)a->name, (const char *)b->name) && !strcmp(na, nb);
}

static bool ignored_attr(const xmlNode *elem, const xmlAttr *a)
{
    /* the domain id is runtime state, never part of a definition */
    return !elem->parent->parent && !strcmp((const char *)a->name, "id");
}

static int compare(const xmlNode *a, const xmlNode *b, char *why, size_t whylen);

static int compare_attrs(const xmlNode *a, const xmlNode *b, char *why, size_t whylen)
{
    char *path;

    for (int pass = 0; pass < 2; pass++) {
        const xmlNode *x = pass ? b : a, *y = pass ? a : b;

        for (const xmlAttr *p = x->properties; p; p = p->next) {
            xmlChar *vx, *vy;
            bool ok;

            if (p->ns || ignored_attr(x, p))
                continue;
            vx = xmlGetNoNsProp(x, p->name);
            vy = xmlGetNoNsProp(y, p->name);
            ok = vy && same_value((const char *)vx, (const char *)vy);
            if (!ok) {
                path = mv_xml_node_path(a);
                snprintf(why, whylen, "%s: attribute '%s' is '%s' in the %s, '%s' in the %s",
                         path, (const char *)p->name, (const char *)vx,
                         pass ? "output" : "input", vy ? (const char *)vy : "(absent)",
                         pass ? "input" : "output");
                free(path);
            }
            xmlFree(vx);
            if (vy)
                xmlFree(vy);
            if (!ok)
                return -1;
        }
    }
    return 0;
}

static size_t count_kind(const xmlNode *parent, const xmlNode *kind)
{
    size_t n = 0;

    for (const xmlNode *e = parent->children; e; e = e->next)
        if (e->type == XML_ELEMENT_NODE && same_name(e, kind))
            n++;
    return n;
}

static const xmlNode *next_of_kind(const xmlNode *e, const xmlNode *kind)
{
    while (e && (e->type != XML_ELEMENT_NODE || !same_name(e, kind)))
        e = e->next;
    return e;
}

static int compare_children(const xmlNode *a, const xmlNode *b, char *why, size_t whylen)
{
    /* Siblings of one kind keep their order; different kinds may be reordered (libvirt
     * writes disks before controllers whatever order the input had). */
    for (int pass = 0; pass < 2; pass++) {
        const xmlNode *x = pass ? b : a;

        for (const xmlNode *k = x->children; k; k = k->next) {
            size_t na, nb;

            if (k->type != XML_ELEMENT_NODE)
                continue;
            na = count_kind(a, k);
            nb = count_kind(b, k);
            if (na != nb) {
                char *path = mv_xml_node_path(a);

                snprintf(why, whylen, "%s: %zu <%s> in the input, %zu in the output", path, na,
                         (const char *)k->name, nb);
                free(path);
                return -1;
            }
            if (pass || next_of_kind(x->children, k) != k)
                continue; /* compare each kind once, from its first element */
            for (const xmlNode *ka = next_of_kind(a->children, k),
                               *kb = next_of_kind(b->children, k);
                 ka && kb; ka = next_of_kind(ka->next, k), kb = next_of_kind(kb->next, k))
                if (compare(ka, kb, why, whylen) < 0)
                    return -1;
        }
    }
    return 0;
}

static int compare(const xmlNode *a, const xmlNode *b, char *why, size_t whylen)
{
    char *ta, *tb;
    int rc = 0;

    if (!same_name(a, b)) {
        snprintf(why, whylen, "element <%s> became <%s>", a->name, b->name);
        return -1;
    }
    if (compare_attrs(a, b, why, whylen) < 0)
        return -1;
    ta = trimmed_text(a);
    tb = trimmed_text(b);
    if (!ta || !tb || !same_value(ta, tb)) {
        char *path = mv_xml_node_path(a);

        snprintf(why, whylen, "%s: text '%.60s' became '%.60s'", path, ta ? ta : "?",
                 tb ? tb : "?");
        free(path);
        rc = -1;
    }
    free(ta);
    free(tb);
    if (rc == 0)
        rc = compare_children(a, b, why, whylen);
    return rc;
}

/* Equal by meaning? Input without <uuid> gets ours generated: drop it before comparing. */
static int equivalent(const char *in, size_t inlen, const char *out, char *why, size_t whylen)
{
    xmlDocPtr a = mv_xml_parse_safe(in, inlen, MV_DOMAIN_XML_MAX_BYTES, 256, "input", NULL);
    xmlDocPtr b = mv_xml_parse_safe(out, strlen(out), MV_DOMAIN_XML_MAX_BYTES, 256, "output", NULL);
    int rc = -1;
    bool has_uuid = false;

    if (!a || !b) {
        snprintf(why, whylen, "cannot re-read the XML");
        goto cleanup;
    }
    for (xmlNodePtr k = xmlDocGetRootElement(a)->children; k; k = k->next)
        if (k->type == XML_ELEMENT_NODE && !strcmp((const char *)k->name, "uuid"))
            has_uuid = true;
    if (!has_uuid) {
        for (xmlNodePtr k = xmlDocGetRootElement(b)->children; k; k = k->next) {
            if (k->type == XML_ELEMENT_NODE && !strcmp((const char *)k->name, "uuid")) {
                xmlUnlinkNode(k);
                xmlFreeNode(k);
                break;
            }
        }
    }
    add_defaults(xmlDocGetRootElement(a));
    normalise(xmlDocGetRootElement(a));
    normalise(xmlDocGetRootElement(b));
    rc = compare(xmlDocGetRootElement(a), xmlDocGetRootElement(b), why, whylen);
cleanup:
    if (a)
        xmlFreeDoc(a);
    if (b)
        xmlFreeDoc(b);
    return rc;
}

/* ---- RelaxNG ---- */
static xmlRelaxNGPtr schema;
static char schema_error[512];

static void on_schema_error(void *ctx, xmlErrorPtr e)
{
    if (!schema_error[0] && e && e->message)
        snprintf(schema_error, sizeof(schema_error), "line %d: %s", e->line, e->message);
}

static int schema_valid(const char *xml)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
    xmlRelaxNGValidCtxtPtr v = xmlRelaxNGNewValidCtxt(schema);
    int rc;

    schema_error[0] = '\0';
    xmlRelaxNGSetValidStructuredErrors(v, on_schema_error, NULL);
    rc = doc ? xmlRelaxNGValidateDoc(v, doc) : -1;
    xmlRelaxNGFreeValidCtxt(v);
    if (doc)
        xmlFreeDoc(doc);
    return rc == 0 ? 0 : -1;
}

/* ---- the walk ---- */
typedef struct blocker {
    char what[128];
    int files;
} blocker;

static void count_blocker(blocker *b, size_t *nb, size_t cap, const char *msg)
{
    char what[128];
    const char *p = strstr(msg, "unsupported ");
    size_t n;

    if (!p)
        return;
    n = strcspn(p, "(");
    if (strstr(p, " at line") && (size_t)(strstr(p, " at line") - p) < n)
        n = (size_t)(strstr(p, " at line") - p);
    if (!strncmp(p, "unsupported value", 17)) { /* keep the attribute, not the list */
        const char *end = strstr(p, " (supported");

        n = end ? (size_t)(end - p) : n;
    }
    snprintf(what, sizeof(what), "%.*s", (int)(n < 127 ? n : 127), p);
    for (size_t i = 0; i < *nb; i++) {
        if (!strcmp(b[i].what, what)) {
            b[i].files++;
            return;
        }
    }
    if (*nb < cap) {
        snprintf(b[*nb].what, sizeof(b[*nb].what), "%s", what);
        b[(*nb)++].files = 1;
    }
}

static int by_files(const void *x, const void *y)
{
    return ((const blocker *)y)->files - ((const blocker *)x)->files;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Rejected inputs whose rejection depends on the host or on the QEMU binary libvirt's
 * tests pretend to have, not on the XML: we accept them, and say why here. */
static const struct {
    const char *name, *why;
} accepted_anyway[] = {
    {"chardev-reconnect-generated-path.xml",
     "libvirt treats a path under its own channel directory as one it generated"},
    {"firmware-auto-efi-loader-path-nonstandard.xml",
     "depends on the firmware descriptors installed on the host"},
    {"numatune-memnode-unavailable-restrictive.xml", "depends on the host's NUMA nodes"},
    {"numatune-memnode-unavailable-strict.xml", "depends on the host's NUMA nodes"},
    {"usb-controller-default-unavailable-i440fx.xml",
     "depends on the USB controllers libvirt's fake QEMU reports"},
    {"usb-controller-default-unavailable-q35.xml",
     "depends on the USB controllers libvirt's fake QEMU reports"},
};

static const char *accepted_anyway_why(const char *name)
{
    for (size_t i = 0; i < sizeof(accepted_anyway) / sizeof(accepted_anyway[0]); i++)
        if (!strcmp(accepted_anyway[i].name, name))
            return accepted_anyway[i].why;
    return NULL;
}

typedef struct tally {
    int accepted, roundtrip, unsupported, bad;
    blocker blockers[512];
    size_t nblockers;
} tally;

/* An input libvirt accepts: it round-trips, or fails naming what we do not support. */
static void check_accepted(const char *name, const char *xml, size_t len, tally *t)
{
    mv_error err = MV_ERROR_INIT;
    mv_domain_def *def = mv_domain_def_parse(xml, len, MV_DOMAIN_DEF_PARSE_VALIDATE, &err);
    mv_domain_def *def2 = NULL;
    char *out1 = NULL, *out2 = NULL;
    char why[1024] = "";

    t->accepted++;
    if (!def) {
        if (err.message && strstr(err.message, "unsupported ")) {
            t->unsupported++;
            count_blocker(t->blockers, &t->nblockers, 512, err.message);
        } else {
            printf("BAD FAILURE %s: %s\n", name, err.message ? err.message : "?");
            t->bad++;
        }
        goto cleanup;
    }
    out1 = mv_domain_def_format(def, -1, 0, &err);
    def2 = out1 ? mv_domain_def_parse(out1, strlen(out1), MV_DOMAIN_DEF_PARSE_VALIDATE, &err)
                : NULL;
    out2 = def2 ? mv_domain_def_format(def2, -1, 0, &err) : NULL;
    if (!out2) {
        printf("BAD REPARSE %s: %s\n", name, err.message ? err.message : "?");
        t->bad++;
    } else if (strcmp(out1, out2)) {
        printf("BAD UNSTABLE %s\n", name);
        t->bad++;
    } else if (equivalent(xml, len, out1, why, sizeof(why)) < 0) {
        printf("BAD CHANGED %s: %s\n", name, why);
        t->bad++;
    } else if (schema_valid(out1) < 0) {
        printf("BAD SCHEMA %s: %s\n", name, schema_error);
        t->bad++;
    } else {
        t->roundtrip++;
    }
cleanup:
    free(out1);
    free(out2);
    mv_domain_def_free(def);
    mv_domain_def_free(def2);
    mv_error_clear(&err);
}

/* check_accepted on the file dir/name, which must be readable. */
static void check_accepted_file(const char *dir, const char *name, tally *t)
{
    char path[8400];
    size_t len = 0;
    char *xml;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_non_null(xml = fx_slurp(path, &len));
    check_accepted(name, xml, len, t);
    free(xml);
}

static void report(const char *what, tally *t)
{
    qsort(t->blockers, t->nblockers, sizeof(t->blockers[0]), by_files);
    printf("corpus: %d of %d %s round-trip (%.1f%%); %d fail as unsupported\n", t->roundtrip,
           t->accepted, what, t->accepted ? 100.0 * t->roundtrip / t->accepted : 0.0,
           t->unsupported);
    printf("top blockers (files):\n");
    for (size_t i = 0; i < t->nblockers && i < 25; i++)
        printf("  %3d  %s\n", t->blockers[i].files, t->blockers[i].what);
    fflush(stdout);
}

/* Sorted names in qemu/ ending with suffix; inputs (suffix ".xml") exclude libvirt's
 * outputs (NAME.x86_64-latest.xml). */
static size_t list_corpus(const char *dir, const char *suffix, char ***out)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    char **names = NULL;
    size_t n = 0;

    assert_non_null(d);
    while ((ent = readdir(d))) {
        size_t len = strlen(ent->d_name);
        bool output = strstr(ent->d_name, ".x86_64-latest.xml") != NULL;

        if (len < strlen(suffix) || strcmp(ent->d_name + len - strlen(suffix), suffix) ||
            (!strcmp(suffix, ".xml") && strstr(ent->d_name, ".x86_64-")) ||
            (strcmp(suffix, ".xml") && !output))
            continue;
        names = realloc(names, (n + 1) * sizeof(*names));
        names[n++] = strdup(ent->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    *out = names;
    return n;
}

static int load_schema(void **state)
{
    char path[4200];
    xmlRelaxNGParserCtxtPtr pctx;

    snprintf(path, sizeof(path), "%s/schemas/domain.rng", corpus);
    pctx = xmlRelaxNGNewParserCtxt(path);
    schema = xmlRelaxNGParse(pctx);
    xmlRelaxNGFreeParserCtxt(pctx);
    return schema ? 0 : -1;
}

static int free_schema(void **state)
{
    xmlRelaxNGFree(schema);
    return 0;
}

/* libvirt's inputs: the rejected must be rejected, the accepted round-trip or fail as
 * unsupported, at least half of them round-trip. */
static void test_corpus(void **state)
{
    char dir[4200], path[8400];
    char **names = NULL;
    size_t nnames;
    int rejected = 0, wrongly_ok = 0;
    static tally t;

    snprintf(dir, sizeof(dir), "%s/qemu", corpus);
    nnames = list_corpus(dir, ".xml", &names);
    for (size_t i = 0; i < nnames; i++) {
        size_t len = 0;
        char *xml;
        mv_error err = MV_ERROR_INIT;
        mv_domain_def *def;

        snprintf(path, sizeof(path), "%s/%.*s.x86_64-latest.err", dir,
                 (int)(strlen(names[i]) - 4), names[i]);
        if (!exists(path)) {
            check_accepted_file(dir, names[i], &t);
            free(names[i]);
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        xml = fx_slurp(path, &len);
        assert_non_null(xml);
        def = mv_domain_def_parse(xml, len, MV_DOMAIN_DEF_PARSE_VALIDATE, &err);
        if (def && accepted_anyway_why(names[i])) {
            printf("accepted %s although libvirt rejects it: %s\n", names[i],
                   accepted_anyway_why(names[i]));
            rejected++;
        } else if (def) {
            printf("WRONGLY ACCEPTED %s (libvirt rejects it)\n", names[i]);
            wrongly_ok++;
        } else {
            rejected++;
        }
        mv_domain_def_free(def);
        mv_error_clear(&err);
        free(xml);
        free(names[i]);
    }
    free(names);

    report("accepted inputs", &t);
    printf("corpus: %d of %d rejected inputs rejected or excused\n", rejected,
           rejected + wrongly_ok);
    fflush(stdout);
    assert_int_equal(t.bad, 0);
    assert_int_equal(wrongly_ok, 0);
    assert_true(t.roundtrip * 2 >= t.accepted); /* the issue asks for at least half */
}

/* What libvirt itself writes (NAME.x86_64-latest.xml: every default filled in, as a
 * user's `virsh dumpxml` would give): the same rules as accepted inputs. */
static void test_libvirt_output(void **state)
{
    char dir[4200], path[8400];
    char **names = NULL;
    size_t nnames;
    static tally t;

    snprintf(dir, sizeof(dir), "%s/qemu", corpus);
    nnames = list_corpus(dir, ".x86_64-latest.xml", &names);
    for (size_t i = 0; i < nnames; i++) {
        /* some rejected inputs still have a formatted output: skip those */
        snprintf(path, sizeof(path), "%s/%.*s.err", dir, (int)(strlen(names[i]) - 4),
                 names[i]);
        if (exists(path)) {
            free(names[i]);
            continue;
        }
        check_accepted_file(dir, names[i], &t);
        free(names[i]);
    }
    free(names);
    report("libvirt-formatted outputs", &t);
    assert_int_equal(t.bad, 0);
    assert_true(t.roundtrip * 2 >= t.accepted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpus),
                                       cmocka_unit_test(test_libvirt_output)};
    const char *env = getenv("MODVIRT_CORPUS");
    char probe[4200];

    snprintf(corpus, sizeof(corpus), "%s", env && *env ? env : MODVIRT_CORPUS_DEFAULT);
    snprintf(probe, sizeof(probe), "%s/qemu", corpus);
    if (!exists(probe)) {
        printf("libvirt corpus not found at %s: skipped\n", corpus);
        return 77;
    }
    return cmocka_run_group_tests(tests, load_schema, free_schema);
}
