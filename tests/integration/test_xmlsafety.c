/* test_xmlsafety.c: hostile domain XML through define, by vmctl and by the C API —
 * entity bombs, external entities and DTDs, oversized and over-deep documents, broken and
 * unknown markup — each refused with an error naming the problem, nothing stored, nothing
 * fetched, and the daemons serving on. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "harness_api.h"
#include "harness_sockets.h"

#define URI "qemu:///system"
#define SECRET "xxe-secret-7f3a9c"
#define XML_LIMIT (10u * 1024u * 1024u)

/* A test's world: its root, a connection and the daemons' pids (mvt_sockets), and a TCP
 * listener that no one may ever connect to (the target of every http:// reference). */
typedef struct world {
    mvt_sockets s;
    int listener;
    int port;
    char *secret_path;
} world;

static int open_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static int teardown(void **state)
{
    world *w = *state;
    mvt_sockets_fini(&w->s);
    if (w->listener >= 0)
        close(w->listener);
    free(w->secret_path);
    free(w);
    return 0;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    if (!w)
        return -1;
    w->listener = -1;
    if (mvt_sockets_init(&w->s, URI, NULL, NULL) < 0) {
        free(w);
        return -1;
    }
    *state = w;
    w->listener = open_listener(&w->port);
    w->secret_path = mvt_path(&w->s.env, "secret.txt");
    if (w->listener < 0 || !w->secret_path ||
        mvt_write(&w->s.env, "secret.txt", SECRET "\n") < 0) {
        teardown(state);
        return -1;
    }
    return 0;
}

/* ---- documents ---------------------------------------------------------------------------- */

#define HEAD "<domain type='qemu'>\n  <name>%s</name>\n"
#define BODY                                                                                       \
    "  <memory unit='MiB'>64</memory>\n"                                                           \
    "  <os>\n"                                                                                     \
    "    <type arch='x86_64' machine='pc'>hvm</type>\n"                                            \
    "  </os>\n"

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    return s;
}

/* Ten levels of ten: expanded, the name would be 10^10 bytes. */
static char *doc_billion_laughs(const world *w)
{
    (void)w;
    char *decl = strdup("  <!ENTITY lol0 \"lol\">\n");
    for (int i = 1; i <= 9; i++) {
        char *next = xasprintf("%s  <!ENTITY lol%d \"", decl, i);
        for (int j = 0; j < 10; j++) {
            char *more = xasprintf("%s&lol%d;", next, i - 1);
            free(next);
            next = more;
        }
        free(decl);
        decl = xasprintf("%s\">\n", next);
        free(next);
    }
    char *doc =
        xasprintf("<?xml version=\"1.0\"?>\n<!DOCTYPE domain [\n%s]>\n" HEAD BODY "</domain>\n",
                  decl, "&lol9;");
    free(decl);
    return doc;
}

static char *doc_xxe_file(const world *w)
{
    return xasprintf("<?xml version=\"1.0\"?>\n"
                     "<!DOCTYPE domain [ <!ENTITY xxe SYSTEM \"file://%s\"> ]>\n" HEAD BODY
                     "  <description>&xxe;</description>\n</domain>\n",
                     w->secret_path, "xxe-file");
}

static char *doc_xxe_http(const world *w)
{
    return xasprintf(
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE domain [ <!ENTITY xxe SYSTEM \"http://127.0.0.1:%d/xxe\"> ]>\n" HEAD BODY
        "  <description>&xxe;</description>\n</domain>\n",
        w->port, "xxe-http");
}

/* A parameter entity pulls in an external DTD, which would declare what &ext; means. */
static char *doc_xxe_parameter(const world *w)
{
    return xasprintf("<?xml version=\"1.0\"?>\n"
                     "<!DOCTYPE domain [ <!ENTITY %% ext SYSTEM \"http://127.0.0.1:%d/p.dtd\"> "
                     "%%ext; ]>\n" HEAD BODY "  <description>&ext;</description>\n</domain>\n",
                     w->port, "xxe-param");
}

static char *doc_external_dtd_file(const world *w)
{
    return xasprintf("<?xml version=\"1.0\"?>\n"
                     "<!DOCTYPE domain SYSTEM \"file://%s\">\n" HEAD BODY "</domain>\n",
                     w->secret_path, "dtd-file");
}

static char *doc_external_dtd_http(const world *w)
{
    return xasprintf("<?xml version=\"1.0\"?>\n"
                     "<!DOCTYPE domain PUBLIC \"-//modvirt//test//EN\" "
                     "\"http://127.0.0.1:%d/domain.dtd\">\n" HEAD BODY "</domain>\n",
                     w->port, "dtd-http");
}

/* A document of exactly `size` bytes: the head, `before`, `fill` repeated, `after`, and
 * the end of the domain. */
static char *doc_filled(const char *name, size_t size, const char *before, char fill,
                        const char *after)
{
    char *head = xasprintf(HEAD BODY "%s", name, before);
    char *tail = xasprintf("%s</domain>\n", after);
    size_t fixed = strlen(head) + strlen(tail);
    assert_true(size > fixed);
    char *doc = malloc(size + 1);
    assert_non_null(doc);
    memcpy(doc, head, strlen(head));
    memset(doc + strlen(head), fill, size - fixed);
    memcpy(doc + size - strlen(tail), tail, strlen(tail) + 1);
    free(head);
    free(tail);
    return doc;
}

/* A well-formed document of `size` bytes: a description padded with letters. */
static char *doc_of_size(const char *name, size_t size)
{
    return doc_filled(name, size, "  <description>", 'x', "</description>\n");
}

/* A document of exactly `size` bytes that formats small: the padding is white space
 * between elements, which the parser drops. */
static char *doc_padded(const char *name, size_t size)
{
    return doc_filled(name, size, "", ' ', "");
}

static char *doc_too_big(const world *w)
{
    (void)w;
    return doc_of_size("big", XML_LIMIT + 1);
}

/* Elements `depth` levels deep in all, the innermost in <metadata> (kept verbatim). */
static char *doc_nested(const char *name, int depth)
{
    /* <domain> is level 1, <metadata> 2, the first <m:n> 3 */
    int inner = depth - 2;
    size_t open_len = strlen("<m:n>"), close_len = strlen("</m:n>");
    char *head = xasprintf(HEAD BODY "  <metadata><m:n xmlns:m='http://example.org/nest'>", name);
    size_t len = strlen(head) + (size_t)(inner - 1) * (open_len + close_len) + 64;
    char *doc = malloc(len);
    assert_non_null(doc);
    char *p = stpcpy(doc, head);
    for (int i = 1; i < inner; i++)
        p = stpcpy(p, "<m:n>");
    for (int i = 1; i < inner; i++)
        p = stpcpy(p, "</m:n>");
    stpcpy(p, "</m:n></metadata>\n</domain>\n");
    free(head);
    return doc;
}

static char *doc_too_deep(const world *w)
{
    (void)w;
    return doc_nested("deep", 257);
}

typedef struct bad_case {
    const char *what;
    char *(*make)(const world *w); /* the document; NULL: prolog (if any), HEAD BODY for
                                    * name, then rest */
    const char *expect[3];         /* fragments the error must hold (NULL-terminated) */
    const char *name, *prolog, *rest;
} bad_case;

static const bad_case bad_cases[] = {
    {.what = "billion laughs",
     .make = doc_billion_laughs,
     .expect = {"XML error", "line 2 has a DOCTYPE", "entity"}},
    {.what = "XXE to a file",
     .make = doc_xxe_file,
     .expect = {"XML error", "line 2 has a DOCTYPE", "entity"}},
    {.what = "XXE to http", .make = doc_xxe_http, .expect = {"XML error", "line 2 has a DOCTYPE"}},
    {.what = "external parameter entity",
     .make = doc_xxe_parameter,
     .expect = {"XML error", "line 2 has a DOCTYPE"}},
    {.what = "external DTD (file)",
     .make = doc_external_dtd_file,
     .expect = {"XML error", "line 2 has a DOCTYPE"}},
    {.what = "external DTD (http)",
     .make = doc_external_dtd_http,
     .expect = {"XML error", "line 2 has a DOCTYPE"}},
    {.what = "over 10 MiB", .make = doc_too_big, .expect = {"limit of 10485760 bytes"}},
    {.what = "deeper than 256",
     .make = doc_too_deep,
     .expect = {"XML error", "deeper than 256 levels", "at line 7"}},
    {.what = "not well-formed",
     .expect = {"XML error", "not well-formed", "domian"},
     .name = "broken",
     .rest = "  <vcpu>1</vcpu>\n</domian>\n"},
    {.what = "undefined entity",
     .expect = {"XML error", "nope"},
     .name = "undef",
     .rest = "  <description>&nope;</description>\n</domain>\n"},
    /* a Latin-1 byte where UTF-8 is required */
    {.what = "not UTF-8",
     .expect = {"XML error", "UTF-8"},
     .name = "latin1",
     .rest = "  <title>caf\xe9</title>\n</domain>\n"},
    /* a declaration that contradicts the bytes */
    {.what = "declared UTF-16",
     .expect = {"XML error", "UTF-16"},
     .name = "utf16",
     .prolog = "<?xml version='1.0' encoding='UTF-16'?>\n",
     .rest = "</domain>\n"},
    {.what = "unknown element",
     .expect = {"XML error", "<bogus>", "line 7"},
     .name = "unknown-el",
     .rest = "  <bogus/>\n</domain>\n"},
    {.what = "unknown attribute",
     .expect = {"XML error", "'frob'", "<vcpu>"},
     .name = "unknown-attr",
     .rest = "  <vcpu frob='1'>1</vcpu>\n</domain>\n"},
    {.what = "unknown device",
     .expect = {"XML error", "<teleporter>", "line 8"},
     .name = "unknown-dev",
     .rest = "  <devices>\n    <teleporter model='x'/>\n  </devices>\n</domain>\n"},
};
#define N_BAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

static char *bad_doc(const bad_case *bc, const world *w)
{
    if (bc->make)
        return bc->make(w);
    return xasprintf("%s" HEAD BODY "%s", bc->prolog ? bc->prolog : "", bc->name, bc->rest);
}

/* ---- checks -----------------------------------------------------------------------------------
 */

static void expect_fragments(const bad_case *bc, const char *via, const char *msg)
{
    for (int i = 0; i < 3 && bc->expect[i]; i++) {
        if (!strstr(msg, bc->expect[i]))
            fail_msg("%s via %s: error lacks \"%s\": %s", bc->what, via, bc->expect[i], msg);
    }
    if (strstr(msg, SECRET))
        fail_msg("%s via %s: the error leaks the file's content: %s", bc->what, via, msg);
}

/* Nothing was stored, nothing fetched, and the same daemons still serve. */
static void expect_untouched(const world *w, const bad_case *bc)
{
    assert_int_equal(virConnectNumOfDefinedDomains(w->s.conn), 0);
    char *dir = mvt_path(&w->s.env, "etc/modvirt/qemu");
    char *listing = NULL;
    const char *argv[] = {"/bin/ls", "-A", dir, NULL};
    mvt_result r;
    assert_int_equal(mvt_run(&r, argv, NULL, 10000), 0);
    /* the folder may not exist yet, or hold only the autostart folder */
    listing = r.out;
    if (r.status == 0 && strcmp(listing, "") != 0 && strcmp(listing, "autostart\n") != 0)
        fail_msg("%s: something was stored: %s", bc->what, listing);
    mvt_result_free(&r);
    free(dir);
    int fd = accept(w->listener, NULL, NULL);
    if (fd >= 0)
        fail_msg("%s: something connected to the http:// address", bc->what);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(mvt_daemon_pid(&w->s.env, "virtproxyd"), w->s.proxy);
    assert_int_equal(mvt_daemon_pid(&w->s.env, "virtqemud"), w->s.qemud);
}

static void test_refused_by_api(void **state)
{
    world *w = *state;
    for (size_t i = 0; i < N_BAD; i++) {
        const bad_case *bc = &bad_cases[i];
        char *doc = bad_doc(bc, w);
        for (unsigned flags = 0; flags <= VIR_DOMAIN_DEFINE_VALIDATE;
             flags += VIR_DOMAIN_DEFINE_VALIDATE) {
            virDomainPtr d = virDomainDefineXMLFlags(w->s.conn, doc, flags);
            if (d)
                fail_msg("%s (flags %u): defined", bc->what, flags);
            mvt_api_error err;
            mvt_api_error_take(&err);
            assert_int_equal(err.code, VIR_ERR_XML_ERROR);
            expect_fragments(bc, "the C API", err.message);
            expect_untouched(w, bc);
        }
        free(doc);
    }
    /* and a good definition still goes in */
    assert_int_equal(mvt_api_define(w->s.conn, "fine"), 0);
    assert_int_equal(virConnectNumOfDefinedDomains(w->s.conn), 1);
}

static void test_refused_by_vmctl(void **state)
{
    world *w = *state;
    for (size_t i = 0; i < N_BAD; i++) {
        const bad_case *bc = &bad_cases[i];
        char *doc = bad_doc(bc, w);
        assert_int_equal(mvt_write(&w->s.env, "bad.xml", doc), 0);
        char *path = mvt_path(&w->s.env, "bad.xml");
        mvt_result r;
        assert_int_equal(mvt_vmctl(&r, "-c", URI, "define", path, NULL), 0);
        if (r.status != 1)
            fail_msg("%s: vmctl define exited %d: %s%s", bc->what, r.status, r.out, r.err);
        /* nothing but the blank line virsh prints after every command, failed or not */
        assert_string_equal(r.out, "\n");
        /* virsh's error lines: what failed, then why (vmctl refuses an oversized file
         * itself, in one line) */
        assert_true(strncmp(r.err, "error: ", 7) == 0);
        char *why = strchr(r.err, '\n');
        assert_non_null(why);
        if (why[1])
            assert_true(strncmp(r.err, "error: Failed to define domain from ", 36) == 0 &&
                        strncmp(why + 1, "error: ", 7) == 0);
        expect_fragments(bc, "vmctl", r.err);
        expect_untouched(w, bc);
        mvt_result_free(&r);
        free(path);
        free(doc);
    }
    char *good = mvt_domain_xml("fine", NULL);
    assert_int_equal(mvt_write(&w->s.env, "good.xml", good), 0);
    char *path = mvt_path(&w->s.env, "good.xml");
    mvt_result r;
    assert_int_equal(mvt_vmctl(&r, "-c", URI, "define", path, NULL), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Domain 'fine' defined from"));
    mvt_result_free(&r);
    free(path);
    free(good);
}

/* The limits are limits, not approximations: a document of exactly 10 MiB and one
 * exactly 256 levels deep are accepted (the deep one stored verbatim); one byte or one
 * level more is not (test_refused_*). */
static void test_limits_are_exact(void **state)
{
    world *w = *state;
    char *doc = doc_padded("at-limit", XML_LIMIT);
    virDomainPtr d = virDomainDefineXML(w->s.conn, doc);
    if (!d)
        fail_msg("a document of exactly 10 MiB: %s", virGetLastErrorMessage());
    virDomainFree(d);
    free(doc);
    doc = doc_padded("past-limit", XML_LIMIT + 1);
    assert_null(virDomainDefineXML(w->s.conn, doc));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_XML_ERROR);
    assert_non_null(strstr(virGetLastErrorMessage(), "limit of 10485760 bytes"));
    free(doc);

    /* a definition that is under the limit as sent but over it once formatted (where
     * its file would be too big to load again) is refused as well */
    doc = doc_of_size("grows", XML_LIMIT - 16);
    assert_null(virDomainDefineXML(w->s.conn, doc));
    assert_int_equal(virGetLastErrorCode(), VIR_ERR_XML_ERROR);
    assert_non_null(strstr(virGetLastErrorMessage(), "limit of 10485760 bytes"));
    free(doc);

    doc = doc_nested("at-depth", 256);
    d = virDomainDefineXML(w->s.conn, doc);
    assert_non_null(d);
    char *xml = virDomainGetXMLDesc(d, 0);
    assert_non_null(xml);
    /* all 254 nested elements came back */
    const char *p = xml;
    int opened = 0;
    while ((p = strstr(p, "<m:n")))
        opened++, p++;
    assert_int_equal(opened, 254);
    free(xml);
    virDomainFree(d);
    free(doc);
    assert_int_equal(virConnectNumOfDefinedDomains(w->s.conn), 2);

    /* a document past the 32 MiB frame limit never leaves the library, and the
     * connection is none the worse for it */
    doc = doc_of_size("huge", 33u * 1024u * 1024u);
    assert_null(virDomainDefineXML(w->s.conn, doc));
    mvt_api_error err;
    mvt_api_error_take(&err);
    assert_int_equal(err.code, VIR_ERR_RPC);
    assert_non_null(strstr(err.message, "exceeds the frame limit of 33554432 bytes"));
    free(doc);
    assert_int_equal(virConnectIsAlive(w->s.conn), 1);
    assert_int_equal(virConnectNumOfDefinedDomains(w->s.conn), 2);
    assert_int_equal(mvt_daemon_pid(&w->s.env, "virtqemud"), w->s.qemud);
}

/* XInclude is not processed: an xi:include inside <metadata> is kept as markup, and the
 * file it names is never read into the definition. */
static void test_xinclude_is_inert(void **state)
{
    world *w = *state;
    char *doc = xasprintf(HEAD BODY "  <metadata>\n"
                                    "    <xi:include xmlns:xi='http://www.w3.org/2001/XInclude' "
                                    "href='file://%s' parse='text'/>\n"
                                    "  </metadata>\n</domain>\n",
                          "xinclude", w->secret_path);
    virDomainPtr d = virDomainDefineXML(w->s.conn, doc);
    assert_non_null(d);
    char *xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_SECURE);
    assert_non_null(xml);
    assert_null(strstr(xml, SECRET));
    assert_non_null(strstr(xml, "xi:include"));
    free(xml);
    virDomainFree(d);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_by_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_by_vmctl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_are_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xinclude_is_inert, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
