/* test_qemu_corpus.c: every libvirt test domain our parser accepts defines through the
 * QEMU driver, is stored exactly as `dumpxml --inactive --security-info` shows it, and
 * comes back identical after a restart. Skipped (77) without ../shared/corpus. */
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

#include "common/hash.h"
#include "common/store.h"
#include "virtqemud/qemu_driver.h"
#include "fixture_qemu.h"

static char corpus_dir[PATH_MAX];

typedef fx_qemu fixture;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The corpus's *.xml files, sorted so runs are repeatable. */
static char **list_corpus(size_t *count)
{
    DIR *d = opendir(corpus_dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;

    assert_non_null(d);
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".xml") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            assert_non_null(names = realloc(names, cap * sizeof(*names)));
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    *count = n;
    return names;
}

static void evict_one(qemu_state *s, mv_hash *last_xml, qemu_domsnap *snap)
{
    mv_error err = MV_ERROR_INIT;
    if (!snap)
        return;
    mv_hash_remove(last_xml, snap->def->name);
    /* KEEP_NVRAM: the corpus names host paths that are not ours to remove. */
    if (qemu_domain_undefine(s, snap->def->uuid, snap->def->name, VIR_DOMAIN_UNDEFINE_KEEP_NVRAM,
                             &err) < 0)
        fail_msg("undefine %s: %s", snap->def->name, err.message);
    qemu_domsnap_unref(snap);
}

static void evict(qemu_state *s, mv_hash *last_xml, const mv_domain_def *def)
{
    qemu_domsnap *same_uuid = qemu_query_by_uuid(s, def->uuid, NULL);

    if (same_uuid && strcmp(same_uuid->def->name, def->name) != 0)
        evict_one(s, last_xml, same_uuid);
    else
        qemu_domsnap_unref(same_uuid);
    qemu_domsnap *same_name = qemu_query_by_name(s, def->name, NULL);
    if (same_name && memcmp(same_name->def->uuid, def->uuid, MV_UUID_BUFLEN) != 0)
        evict_one(s, last_xml, same_name);
    else
        qemu_domsnap_unref(same_name);
}

static void test_corpus_defines_and_survives_restart(void **state)
{
    fixture *f = *state;
    size_t nfiles = 0, accepted = 0, defined = 0, refused = 0;
    char **files = list_corpus(&nfiles);
    mv_hash *last_xml = mv_hash_new(free); /* name -> what dumpxml showed last */

    for (size_t i = 0; i < nfiles; i++) {
        char path[PATH_MAX * 2], *xml = NULL, *stored = NULL, *shown = NULL;
        size_t len = 0;
        mv_error err = MV_ERROR_INIT;
        mv_domain_def *def;
        qemu_domsnap *snap;

        snprintf(path, sizeof(path), "%s/%s", corpus_dir, files[i]);
        if (mv_file_read(path, MV_DOMAIN_XML_MAX_BYTES, &xml, &len, NULL) < 0)
            goto next;
        if (!(def = mv_domain_def_parse(xml, len, 0, NULL)))
            goto next; /* the parser's own tests judge what it refuses */
        accepted++;
        /* Many corpus files share a name or a UUID: make room, as a user redefining a
         * domain under another name would. */
        evict(f->s, last_xml, def);
        mv_domain_def_free(def);
        if (!(snap = qemu_domain_define(f->s, xml, 0, &err))) {
            /* Only names that cannot be file names may be refused here. */
            if (err.code != VIR_ERR_INVALID_ARG)
                fail_msg("%s: %s", files[i], err.message);
            refused++;
            goto next;
        }
        defined++;
        shown = qemu_query_xml(snap, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE, false, &err);
        assert_non_null(shown);
        snprintf(path, sizeof(path), "%s/%s.xml", f->s->store.dir, snap->def->name);
        assert_int_equal(mv_file_read(path, MV_DOMAIN_XML_MAX_BYTES, &stored, &len, NULL), 0);
        if (strcmp(stored, shown) != 0)
            fail_msg("%s: stored file differs from dumpxml", files[i]);
        assert_int_equal(mv_hash_put(last_xml, snap->def->name, shown), 0);
        shown = NULL;
        qemu_domsnap_unref(snap);
    next:
        free(xml);
        free(stored);
        free(shown);
        mv_error_clear(&err);
    }
    print_message("%zu corpus files, %zu accepted by the parser, %zu defined, %zu names refused, "
                  "%zu distinct domains\n", nfiles, accepted, defined, refused,
                  mv_hash_count(last_xml));
    assert_true(defined > 0);

    /* A restart loads every definition back, unchanged. */
    fx_qemu_restart(f);
    assert_int_equal(qemu_query_count(f->s, false), mv_hash_count(last_xml));
    qemu_domsnap **snaps = NULL;
    size_t n = 0;
    assert_int_equal(qemu_query_list_all(f->s, 0, &snaps, &n, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        char *xml = qemu_query_xml(snaps[i], VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE,
                                   false, NULL);
        const char *before = mv_hash_get(last_xml, snaps[i]->def->name);
        assert_non_null(before);
        if (!xml || strcmp(xml, before) != 0)
            fail_msg("%s changed across a restart", snaps[i]->def->name);
        free(xml);
    }
    qemu_domsnap_list_free(snaps, n);
    mv_hash_free(last_xml);
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
}

int main(void)
{
    const char *corpus = getenv("MODVIRT_CORPUS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_corpus_defines_and_survives_restart, fx_qemu_setup, fx_qemu_teardown),
    };

    snprintf(corpus_dir, sizeof(corpus_dir), "%s/qemu", corpus ? corpus : MODVIRT_CORPUS_DEFAULT);
    if (access(corpus_dir, R_OK) != 0) {
        fprintf(stderr, "no corpus at %s: skipped\n", corpus_dir);
        return 77;
    }
    /* Start-up logs the domains it skips; none are expected, but keep stderr readable. */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
