/* test_domain_safety.c: hostile domain XML — entity bombs, XXE, DOCTYPEs, oversized and
 * overly deep documents, broken bytes — is refused with a clear error and never crashes,
 * hangs or reads a file. Ends with a deterministic mutation run over our full fixture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/domain/domain_conf.h"

#define HEAD "<domain type='qemu'>\n  <name>safe</name>\n  <memory>1024</memory>\n"
#define TAIL "  <os>\n    <type>hvm</type>\n  </os>\n</domain>\n"

/* Parses and expects failure whose message contains want; returns the message. */
static void expect_error(const char *xml, size_t len, int code, const char *want)
{
    mv_error err = MV_ERROR_INIT;
    mv_domain_def *def = mv_domain_def_parse(xml, len, 0, &err);

    if (def || !err.message || !strstr(err.message, want) || err.code != code)
        fail_msg("want %d '%s', got %s %d '%s'", code, want, def ? "success" : "error",
                 err.code, err.message ? err.message : "");
    mv_error_clear(&err);
}

static void expect_error_str(const char *xml, int code, const char *want)
{
    expect_error(xml, strlen(xml), code, want);
}

static void test_doctype_refused(void **state)
{
    expect_error_str("<?xml version='1.0'?>\n<!DOCTYPE domain>\n" HEAD TAIL, VIR_ERR_XML_ERROR,
                     "domain XML at line 2 has a DOCTYPE; document type and entity "
                     "declarations are refused");
}

static void test_entity_bomb(void **state)
{
    const char *bomb = "<?xml version='1.0'?>\n"
                       "<!DOCTYPE lolz [\n"
                       " <!ENTITY lol 'lol'>\n"
                       " <!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n"
                       " <!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>\n"
                       " <!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>\n"
                       " <!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>\n"
                       " <!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>\n"
                       " <!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>\n"
                       " <!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>\n"
                       " <!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>\n"
                       "]>\n"
                       "<domain type='qemu'><name>&lol9;</name><memory>1</memory>"
                       "<os><type>hvm</type></os></domain>\n";
    clock_t start = clock();

    expect_error_str(bomb, VIR_ERR_XML_ERROR, "has a DOCTYPE");
    assert_true((clock() - start) / (double)CLOCKS_PER_SEC < 1.0); /* never expanded */
}

static void test_xxe(void **state)
{
    /* an external entity naming a local file, a remote one, and an external DTD */
    const char *file = "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>\n" HEAD
                       "  <description>&x;</description>\n" TAIL;
    const char *net = "<!DOCTYPE domain [<!ENTITY x SYSTEM 'http://127.0.0.1:9/x'>]>\n" HEAD
                      "  <description>&x;</description>\n" TAIL;
    const char *dtd = "<!DOCTYPE domain SYSTEM 'file:///etc/passwd'>\n" HEAD TAIL;
    const char *param = "<!DOCTYPE domain [<!ENTITY % p SYSTEM 'file:///etc/passwd'> %p;]>\n"
                        HEAD TAIL;
    mv_error err = MV_ERROR_INIT;

    expect_error_str(file, VIR_ERR_XML_ERROR, "has a DOCTYPE");
    expect_error_str(net, VIR_ERR_XML_ERROR, "has a DOCTYPE");
    expect_error_str(dtd, VIR_ERR_XML_ERROR, "has a DOCTYPE");
    expect_error_str(param, VIR_ERR_XML_ERROR, "has a DOCTYPE");
    /* nothing of the file leaks into the message */
    assert_null(mv_domain_def_parse(file, strlen(file), 0, &err));
    assert_null(strstr(err.message, "root:"));
    mv_error_clear(&err);
}

static void test_undeclared_entity(void **state)
{
    expect_error_str(HEAD "  <title>&x;</title>\n" TAIL, VIR_ERR_XML_ERROR,
                     "is not well-formed: Entity 'x' not defined at line 4");
}

static void test_xinclude_not_processed(void **state)
{
    expect_error_str(HEAD "  <devices>\n    <xi:include href='/etc/passwd' "
                          "xmlns:xi='http://www.w3.org/2001/XInclude'/>\n  </devices>\n" TAIL,
                     VIR_ERR_XML_ERROR, "unsupported element <xi:include> in <devices>");
}

/* A document of exactly total bytes, padded inside <description>. */
static char *sized_document(size_t total)
{
    const char *head = HEAD "  <description>";
    const char *tail = "</description>\n" TAIL;
    size_t fixed = strlen(head) + strlen(tail);
    char *xml = malloc(total + 1);

    assert_true(total > fixed);
    memcpy(xml, head, strlen(head));
    memset(xml + strlen(head), 'x', total - fixed);
    memcpy(xml + total - strlen(tail), tail, strlen(tail) + 1);
    return xml;
}

static void test_size_limit(void **state)
{
    char *xml = sized_document(MV_DOMAIN_XML_MAX_BYTES + 1);
    size_t fits = MV_DOMAIN_XML_MAX_BYTES - 4096;
    mv_error err = MV_ERROR_INIT;
    mv_domain_def *def;
    char *out;

    expect_error(xml, MV_DOMAIN_XML_MAX_BYTES + 1, VIR_ERR_XML_ERROR,
                 "domain XML is 10485761 bytes, more than the limit of 10485760 bytes");
    free(xml);
    /* exactly at the limit passes the size gate; what we would write back (with the
     * generated UUID, <vcpu>, <devices/>) no longer fits, and that is refused too */
    xml = sized_document(MV_DOMAIN_XML_MAX_BYTES);
    expect_error(xml, MV_DOMAIN_XML_MAX_BYTES, VIR_ERR_XML_ERROR,
                 "domain 'safe' would be 10485853 bytes of XML once formatted");
    free(xml);
    xml = sized_document(fits);
    def = mv_domain_def_parse(xml, fits, 0, &err);
    assert_non_null(def);
    assert_int_equal(strlen(def->description),
                     fits - strlen(HEAD "  <description></description>\n" TAIL));
    out = mv_domain_def_format(def, -1, 0, &err);
    assert_true(strlen(out) <= MV_DOMAIN_XML_MAX_BYTES); /* and it reads back */
    mv_domain_def_free(def);
    def = mv_domain_def_parse(out, strlen(out), 0, &err);
    assert_non_null(def);
    mv_domain_def_free(def);
    free(out);
    free(xml);
}

/* Escaping can make a small document large: ' becomes &apos; in what we write. */
static void test_formatted_size(void **state)
{
    size_t n = 2 * 1024 * 1024;
    char *xml = malloc(n + 512);
    size_t len;

    len = (size_t)sprintf(xml, HEAD "  <description>");
    memset(xml + len, '\'', n);
    len += n;
    len += (size_t)sprintf(xml + len, "</description>\n" TAIL);
    expect_error(xml, len, VIR_ERR_XML_ERROR, "bytes of XML once formatted, more than the limit");
    free(xml);
}

/* <metadata> keeps any XML, so it is where deep nesting can be legal. */
static char *nested_document(int depth)
{
    size_t cap = (size_t)depth * 32 + 1024;
    char *xml = malloc(cap);
    size_t n;

    n = (size_t)snprintf(xml, cap, "%s  <metadata>", HEAD);
    for (int i = 2; i < depth; i++)
        n += (size_t)snprintf(xml + n, cap - n, "<m:x xmlns:m='urn:m'>");
    for (int i = 2; i < depth; i++)
        n += (size_t)snprintf(xml + n, cap - n, "</m:x>");
    snprintf(xml + n, cap - n, "</metadata>\n%s", TAIL);
    return xml;
}

static void test_depth_limit(void **state)
{
    char *ok = nested_document(MV_DOMAIN_XML_MAX_DEPTH);
    char *deep = nested_document(MV_DOMAIN_XML_MAX_DEPTH + 1);
    char *very = nested_document(100000);
    mv_error err = MV_ERROR_INIT;
    mv_domain_def *def = mv_domain_def_parse(ok, strlen(ok), 0, &err);
    char *out;

    assert_non_null(def); /* 256 levels are allowed, and kept */
    out = mv_domain_def_format(def, -1, 0, &err);
    assert_non_null(out);
    mv_domain_def_free(def);
    def = mv_domain_def_parse(out, strlen(out), 0, &err);
    assert_non_null(def);
    mv_domain_def_free(def);
    free(out);
    expect_error_str(deep, VIR_ERR_XML_ERROR,
                     "domain XML nests elements deeper than 256 levels at line 4");
    expect_error_str(very, VIR_ERR_XML_ERROR, "nests elements deeper than 256 levels");
    free(ok);
    free(deep);
    free(very);
}

static void test_broken_bytes(void **state)
{
    static const char nul[] = HEAD "  <title>a\0b</title>\n" TAIL;
    mv_error err = MV_ERROR_INIT;

    expect_error_str("", VIR_ERR_XML_ERROR, "domain XML is empty");
    expect_error_str("   \n", VIR_ERR_XML_ERROR, "not well-formed");
    expect_error_str("<domain type='qemu'><name>x</name>", VIR_ERR_XML_ERROR,
                     "not well-formed");
    expect_error_str("<domain type='qemu'><name>x</nam></domain>", VIR_ERR_XML_ERROR,
                     "not well-formed");
    expect_error_str("\xff\xfe\x00<\x00d", VIR_ERR_XML_ERROR, "not well-formed");
    expect_error_str(HEAD "  <title>\xc3\x28</title>\n" TAIL, VIR_ERR_XML_ERROR,
                     "not well-formed");
    expect_error(nul, sizeof(nul) - 1, VIR_ERR_XML_ERROR, "not well-formed");
    expect_error_str("<domain type='qemu' type='kvm'/>", VIR_ERR_XML_ERROR, "not well-formed");
    /* a NULL document and unknown flags are argument errors */
    assert_null(mv_domain_def_parse(NULL, 0, 0, &err));
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    mv_error_clear(&err);
    assert_null(mv_domain_def_parse(HEAD TAIL, strlen(HEAD TAIL), 1u << 30, &err));
    assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
    mv_error_clear(&err);
}

/* Mutates our richest fixture many times (fixed seed): whatever parses must format,
 * re-parse and format to the same bytes; nothing may crash (ASan watches). */
static void test_mutations(void **state)
{
    const char *path = MODVIRT_SOURCE_DIR "/tests/data/domain/good/full.xml";
    FILE *f = fopen(path, "rb");
    char *orig, *buf;
    long len;
    unsigned int seed = 12345;
    int parsed = 0;
    static const char *const tokens[] = {"<", ">", "'", "&amp;", "/>", "</devices>", "0x",
                                         "-1", "99999999999999999999", "unit='EiB'", "\n",
                                         "<disk/>", "type='pty'", "=''", "\xc3\xa9"};

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    orig = malloc((size_t)len + 1);
    assert_int_equal(fread(orig, 1, (size_t)len, f), (size_t)len);
    orig[len] = '\0';
    fclose(f);
    buf = malloc((size_t)len * 2 + 256);

    for (int iter = 0; iter < 3000; iter++) {
        size_t n = (size_t)len;
        mv_error err = MV_ERROR_INIT;
        mv_domain_def *def;

        memcpy(buf, orig, n);
        for (int m = 0; m < 1 + iter % 3; m++) {
            size_t at = (size_t)rand_r(&seed) % n;
            int op = rand_r(&seed) % 3;

            if (op == 0) { /* flip a byte */
                buf[at] = (char)(rand_r(&seed) & 0xff);
            } else if (op == 1 && n > 16) { /* cut a span */
                size_t cut = (size_t)rand_r(&seed) % 16 + 1;

                if (at + cut > n)
                    cut = n - at;
                memmove(buf + at, buf + at + cut, n - at - cut);
                n -= cut;
            } else { /* insert a token */
                const char *t = tokens[rand_r(&seed) % (sizeof(tokens) / sizeof(tokens[0]))];

                if (n + strlen(t) < (size_t)len * 2) {
                    memmove(buf + at + strlen(t), buf + at, n - at);
                    memcpy(buf + at, t, strlen(t));
                    n += strlen(t);
                }
            }
        }
        def = mv_domain_def_parse(buf, n, (unsigned int)iter & 1, &err);
        if (def) {
            char *out = mv_domain_def_format(def, iter, (unsigned int)iter % 4, &err);
            char *out0 = mv_domain_def_format(def, -1, 0, &err);
            mv_domain_def *again = mv_domain_def_parse(out0, strlen(out0), 0, &err);
            char *out1 = again ? mv_domain_def_format(again, -1, 0, &err) : NULL;

            assert_non_null(out);
            if (!out1 || strcmp(out0, out1) != 0)
                fail_msg("iteration %d: not stable:\n%s\n---\n%s", iter, out0,
                         out1 ? out1 : err.message);
            parsed++;
            free(out);
            free(out0);
            free(out1);
            mv_domain_def_free(again);
            mv_domain_def_free(def);
        } else {
            assert_non_null(err.message);
        }
        mv_error_clear(&err);
    }
    assert_true(parsed > 0);
    free(buf);
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doctype_refused), cmocka_unit_test(test_entity_bomb),
        cmocka_unit_test(test_xxe),             cmocka_unit_test(test_undeclared_entity),
        cmocka_unit_test(test_xinclude_not_processed), cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_formatted_size),
        cmocka_unit_test(test_depth_limit),     cmocka_unit_test(test_broken_bytes),
        cmocka_unit_test(test_mutations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
