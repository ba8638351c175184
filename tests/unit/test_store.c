/* test_store.c: atomic writes, bounded reads and the definition store, in a mkdtemp folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/store.h"

static char *tmpdir;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int setup(void **state)
{
    char tmpl[] = "/tmp/mv-test-store-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d)
        return -1;
    tmpdir = strdup(d);
    return 0;
}

static int teardown(void **state)
{
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(tmpdir);
    return 0;
}

static char *in_tmp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *in_tmp(const char *fmt, ...)
{
    char *rel = NULL, *path = NULL;
    va_list ap;
    va_start(ap, fmt);
    assert_true(vasprintf(&rel, fmt, ap) >= 0);
    va_end(ap);
    assert_true(asprintf(&path, "%s/%s", tmpdir, rel) > 0);
    free(rel);
    return path;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Names of the files in dir that look like our temporary files. */
static int count_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".tmp-"))
            n++;
    closedir(d);
    return n;
}

static char *read_all(const char *path)
{
    char *data = NULL;
    size_t len;
    mv_error err = MV_ERROR_INIT;
    if (mv_file_read(path, 1 << 20, &data, &len, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(strlen(data), len);
    return data;
}

static void test_write_atomic(void **state)
{
    char *path = in_tmp("file.xml");
    mv_error err = MV_ERROR_INIT;
    struct stat st;

    assert_int_equal(mv_file_write_atomic(path, "first version, long", 19, 0640, &err), 0);
    char *got = read_all(path);
    assert_string_equal(got, "first version, long");
    free(got);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640 & ~022);

    /* replaced whole: a shorter content leaves no tail of the old one */
    assert_int_equal(mv_file_write_atomic(path, "v2", 2, 0600, &err), 0);
    got = read_all(path);
    assert_string_equal(got, "v2");
    free(got);
    /* empty content is content */
    assert_int_equal(mv_file_write_atomic(path, "", 0, 0600, &err), 0);
    got = read_all(path);
    assert_string_equal(got, "");
    free(got);
    assert_int_equal(count_temp_files(tmpdir), 0);

    /* a relative path, in the cwd */
    char *cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(tmpdir), 0);
    assert_int_equal(mv_file_write_atomic("rel.txt", "r", 1, 0600, &err), 0);
    assert_int_equal(access("rel.txt", F_OK), 0);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);
    free(path);
    mv_error_clear(&err);
}

static void test_write_failures(void **state)
{
    mv_error err = MV_ERROR_INIT;
    /* no such folder: nothing is created anywhere */
    char *path = in_tmp("missing/file.xml");
    assert_int_equal(mv_file_write_atomic(path, "x", 1, 0600, &err), -1);
    assert_int_equal(err.code, VIR_ERR_SYSTEM_ERROR);
    assert_non_null(strstr(err.message, "cannot create"));
    assert_non_null(strstr(err.message, "No such file or directory"));
    free(path);

    /* the target is a folder: rename fails, the temporary file is removed */
    path = in_tmp("adir");
    assert_int_equal(mkdir(path, 0700), 0);
    char *inside = in_tmp("adir/keep");
    write_file(inside, "k");
    assert_int_equal(mv_file_write_atomic(path, "x", 1, 0600, &err), -1);
    assert_non_null(strstr(err.message, "cannot rename"));
    assert_int_equal(count_temp_files(tmpdir), 0);
    assert_int_equal(access(inside, F_OK), 0);
    free(inside);
    free(path);
    mv_error_clear(&err);
}

static void test_read_limits(void **state)
{
    mv_error err = MV_ERROR_INIT;
    char *path = in_tmp("hundred");
    char buf[101];
    memset(buf, 'h', 100);
    buf[100] = '\0';
    write_file(path, buf);
    char *data = NULL;
    size_t len = 0;

    assert_int_equal(mv_file_read(path, 100, &data, &len, &err), 0);
    assert_int_equal(len, 100);
    assert_int_equal(data[100], '\0');
    free(data);

    assert_int_equal(mv_file_read(path, 99, &data, &len, &err), -1);
    assert_int_equal(errno, EFBIG);
    assert_null(data);
    assert_non_null(strstr(err.message, "hundred' is larger than the limit of 99 bytes"));

    assert_int_equal(mv_file_read("/nonexistent/x", 10, &data, &len, &err), -1);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(err.message, "cannot open '/nonexistent/x'"));

    assert_int_equal(mv_file_read(tmpdir, 10, &data, &len, &err), -1);
    assert_int_equal(errno, EISDIR);

    /* st_size is 0 for /proc files: the content is read to EOF all the same */
    assert_int_equal(mv_file_read("/proc/self/status", 1 << 20, &data, &len, &err), 0);
    assert_true(len > 0);
    assert_non_null(strstr(data, "Name:"));
    free(data);
    /* ... and still limited */
    assert_int_equal(mv_file_read("/proc/self/status", 10, &data, &len, &err), -1);
    assert_int_equal(errno, EFBIG);
    /* an empty file */
    free(path);
    path = in_tmp("empty");
    write_file(path, "");
    assert_int_equal(mv_file_read(path, 0, &data, &len, &err), 0);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
    free(path);
    mv_error_clear(&err);
}

static void test_store_open_cleans(void **state)
{
    mv_store s;
    mv_error err = MV_ERROR_INIT;
    char *dir = in_tmp("etc/modvirt/qemu");
    /* first open creates the folders */
    assert_int_equal(mv_store_open(&s, dir, &err), 0);
    assert_string_equal(s.dir, dir);
    assert_non_null(strstr(s.autostart_dir, "/qemu/autostart"));
    struct stat st;
    assert_int_equal(stat(s.autostart_dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    mv_store_close(&s);

    /* what a crash leaves behind is removed on the next open; the rest is kept */
    char *t1 = in_tmp("etc/modvirt/qemu/.vm1.xml.tmp-abcd1234");
    char *t2 = in_tmp("etc/modvirt/qemu/autostart/.vm1.xml.tmp-zzzz0000");
    char *keep = in_tmp("etc/modvirt/qemu/vm1.xml");
    write_file(t1, "<domain>half");
    assert_int_equal(symlink("../vm1.xml", t2), 0);
    write_file(keep, "<domain/>");
    assert_int_equal(mv_store_open(&s, dir, &err), 0);
    assert_int_equal(access(t1, F_OK), -1);
    assert_int_equal(access(t2, F_OK), -1);
    assert_int_equal(access(keep, F_OK), 0);
    mv_store_close(&s);
    mv_store_close(&s); /* twice is harmless */

    /* a file where the folder should be */
    char *blocked = in_tmp("blocked");
    write_file(blocked, "");
    assert_int_equal(mv_store_open(&s, blocked, &err), -1);
    assert_non_null(strstr(err.message, "cannot create directory"));
    assert_null(s.dir);
    free(blocked);
    free(t1);
    free(t2);
    free(keep);
    free(dir);
    mv_error_clear(&err);
}

static void test_save_autostart_delete(void **state)
{
    mv_store s;
    mv_error err = MV_ERROR_INIT;
    char *dir = in_tmp("defs");
    assert_int_equal(mv_store_open(&s, dir, &err), 0);

    assert_int_equal(mv_store_save(&s, "vm1", "<domain>one</domain>", &err), 0);
    char *file = in_tmp("defs/vm1.xml");
    char *got = read_all(file);
    assert_string_equal(got, "<domain>one</domain>");
    free(got);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* definitions may hold secrets */
    assert_int_equal(mv_store_save(&s, "vm1", "<domain>1</domain>", &err), 0);
    got = read_all(file);
    assert_string_equal(got, "<domain>1</domain>");
    free(got);

    /* autostart: a relative link to ../NAME.xml */
    assert_false(mv_store_get_autostart(&s, "vm1"));
    assert_int_equal(mv_store_set_autostart(&s, "vm1", true, &err), 0);
    assert_true(mv_store_get_autostart(&s, "vm1"));
    char *link = in_tmp("defs/autostart/vm1.xml");
    char target[256];
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, "../vm1.xml");
    /* on twice is fine; saving again keeps the link valid */
    assert_int_equal(mv_store_set_autostart(&s, "vm1", true, &err), 0);
    assert_int_equal(mv_store_save(&s, "vm1", "<domain>2</domain>", &err), 0);
    assert_true(mv_store_get_autostart(&s, "vm1"));
    assert_int_equal(count_temp_files(s.dir), 0);
    assert_int_equal(count_temp_files(s.autostart_dir), 0);

    /* off, and off again */
    assert_int_equal(mv_store_set_autostart(&s, "vm1", false, &err), 0);
    assert_false(mv_store_get_autostart(&s, "vm1"));
    assert_int_equal(mv_store_set_autostart(&s, "vm1", false, &err), 0);

    /* libvirt writes absolute links; those count too */
    assert_int_equal(symlink(file, link), 0);
    assert_true(mv_store_get_autostart(&s, "vm1"));
    /* a link to some other file does not */
    assert_int_equal(mv_store_save(&s, "vm2", "<domain/>", &err), 0);
    char *link2 = in_tmp("defs/autostart/vm2.xml");
    assert_int_equal(symlink("../vm1.xml", link2), 0);
    assert_false(mv_store_get_autostart(&s, "vm2"));
    free(link2);

    /* autostart needs a saved definition */
    assert_int_equal(mv_store_set_autostart(&s, "ghost", true, &err), -1);
    assert_int_equal(err.code, VIR_ERR_OPERATION_INVALID);
    assert_non_null(strstr(err.message, "'ghost'"));

    /* delete takes the definition and its link; deleting again is fine */
    assert_int_equal(mv_store_delete(&s, "vm1", &err), 0);
    assert_int_equal(access(file, F_OK), -1);
    assert_int_equal(access(link, F_OK), -1);
    errno = 0;
    assert_int_equal(lstat(link, &st), -1); /* the link itself, not just its target */
    assert_int_equal(mv_store_delete(&s, "vm1", &err), 0);
    assert_int_equal(mv_store_delete(&s, "never-existed", &err), 0);

    free(link);
    free(file);
    free(dir);
    mv_store_close(&s);
    mv_error_clear(&err);
}

/* Names that could escape the folder never become paths. */
static void test_bad_names(void **state)
{
    mv_store s;
    mv_error err = MV_ERROR_INIT;
    char *dir = in_tmp("names/a/b");
    assert_int_equal(mv_store_open(&s, dir, &err), 0);
    const char *bad[] = {"../escape", "..", ".", "a/b", "/etc/passwd", "", ".hidden",
                         "sub/../../x", "bad\nname"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(mv_store_save(&s, bad[i], "<x/>", &err), -1);
        assert_int_equal(err.code, VIR_ERR_INVALID_ARG);
        assert_int_equal(mv_store_delete(&s, bad[i], &err), -1);
        assert_int_equal(mv_store_set_autostart(&s, bad[i], true, &err), -1);
        assert_int_equal(mv_store_set_autostart(&s, bad[i], false, &err), -1);
        assert_false(mv_store_get_autostart(&s, bad[i]));
    }
    assert_int_equal(mv_store_save(&s, "a/b", "<x/>", &err), -1);
    assert_string_equal(err.message, "invalid argument: name 'a/b' must not contain '/'");
    /* nothing appeared outside the store (or inside it) */
    char *escaped = in_tmp("names/a/escape.xml");
    assert_int_equal(access(escaped, F_OK), -1);
    free(escaped);
    assert_int_equal(count_temp_files(dir), 0);
    free(dir);
    mv_store_close(&s);
    mv_error_clear(&err);
}

typedef struct loaded {
    char names[16][64];
    char what[16][128]; /* the content, or "problem: <message>" */
    int n;
    int stop_after;
} loaded;

static int collect(const char *name, const char *xml, size_t len, const mv_error *problem,
                   void *opaque)
{
    loaded *l = opaque;
    assert_true(l->n < 16);
    snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
    if (xml) {
        assert_null(problem);
        assert_int_equal(strlen(xml), len);
        snprintf(l->what[l->n], sizeof(l->what[0]), "%s", xml);
    } else {
        assert_non_null(problem);
        snprintf(l->what[l->n], sizeof(l->what[0]), "problem: %s", problem->message);
    }
    l->n++;
    return l->stop_after && l->n >= l->stop_after ? -1 : 0;
}

static void test_load_all(void **state)
{
    mv_store s;
    mv_error err = MV_ERROR_INIT;
    char *dir = in_tmp("load");
    assert_int_equal(mv_store_open(&s, dir, &err), 0);
    assert_int_equal(mv_store_save(&s, "b", "<domain>b</domain>", &err), 0);
    assert_int_equal(mv_store_save(&s, "a", "<domain>a</domain>", &err), 0);
    assert_int_equal(mv_store_set_autostart(&s, "a", true, &err), 0);

    char *p;
    /* corrupt content is delivered as is: parsing is the caller's business */
    write_file(p = in_tmp("load/c-corrupt.xml"), "<domain><name>c</na"), free(p);
    /* unreadable: a folder, a dangling link, a file over the size limit */
    assert_int_equal(mkdir(p = in_tmp("load/d-folder.xml"), 0700), 0), free(p);
    assert_int_equal(symlink("/nonexistent/x.xml", p = in_tmp("load/e-dangling.xml")), 0), free(p);
    char big[200];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    write_file(p = in_tmp("load/f-big.xml"), big), free(p);
    /* skipped: temporary files, bad names, other suffixes */
    write_file(p = in_tmp("load/.a.xml.tmp-12345678"), "<half"), free(p);
    write_file(p = in_tmp("load/.hidden.xml"), "<x/>"), free(p);
    write_file(p = in_tmp("load/.xml"), "<x/>"), free(p);
    write_file(p = in_tmp("load/bad\001name.xml"), "<x/>"), free(p);
    write_file(p = in_tmp("load/bad\xff.xml"), "<x/>"), free(p);
    write_file(p = in_tmp("load/notes.txt"), "text"), free(p);
    write_file(p = in_tmp("load/a.xml~"), "backup"), free(p);

    loaded l = {0};
    assert_int_equal(mv_store_load_all(&s, 100, collect, &l, &err), 0);
    assert_int_equal(l.n, 6);
    const char *names[] = {"a", "b", "c-corrupt", "d-folder", "e-dangling", "f-big"};
    for (int i = 0; i < 6; i++)
        assert_string_equal(l.names[i], names[i]);
    assert_string_equal(l.what[0], "<domain>a</domain>");
    assert_string_equal(l.what[1], "<domain>b</domain>");
    assert_string_equal(l.what[2], "<domain><name>c</na");
    assert_non_null(strstr(l.what[3], "problem: cannot read"));
    assert_non_null(strstr(l.what[3], "Is a directory"));
    assert_non_null(strstr(l.what[4], "problem: cannot open"));
    assert_non_null(strstr(l.what[4], "No such file or directory"));
    assert_non_null(strstr(l.what[5], "problem: "));
    assert_non_null(strstr(l.what[5], "larger than the limit of 100 bytes"));

    /* the callback can stop the walk */
    loaded stop = {.stop_after = 2};
    assert_int_equal(mv_store_load_all(&s, 100, collect, &stop, &err), -1);
    assert_int_equal(stop.n, 2);
    assert_non_null(strstr(err.message, "stopped at 'b'"));

    /* an empty store loads nothing */
    mv_store empty;
    char *edir = in_tmp("load-empty");
    assert_int_equal(mv_store_open(&empty, edir, &err), 0);
    loaded none = {0};
    assert_int_equal(mv_store_load_all(&empty, 100, collect, &none, &err), 0);
    assert_int_equal(none.n, 0);
    mv_store_close(&empty);
    free(edir);

    free(dir);
    mv_store_close(&s);
    mv_error_clear(&err);
}

typedef struct seen_t {
    int n;
    int sorted;
    char last[32];
} seen_t;

static int count_cb(const char *name, const char *xml, size_t len, const mv_error *problem,
                    void *opaque)
{
    seen_t *s = opaque;
    assert_non_null(xml);
    if (strcmp(s->last, name) >= 0)
        s->sorted = 0;
    snprintf(s->last, sizeof(s->last), "%s", name);
    s->n++;
    return 0;
}

/* 1,000 definitions: saved, listed in order, deleted. */
static void test_many(void **state)
{
    mv_store s;
    mv_error err = MV_ERROR_INIT;
    char *dir = in_tmp("many");
    char name[32], xml[64];
    assert_int_equal(mv_store_open(&s, dir, &err), 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "vm%04d", i);
        snprintf(xml, sizeof(xml), "<domain><name>%s</name></domain>", name);
        assert_int_equal(mv_store_save(&s, name, xml, &err), 0);
    }
    assert_int_equal(count_temp_files(dir), 0);
    seen_t seen = {0, 1, ""};
    assert_int_equal(mv_store_load_all(&s, 1024, count_cb, &seen, &err), 0);
    assert_int_equal(seen.n, 1000);
    assert_true(seen.sorted);
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "vm%04d", i);
        assert_int_equal(mv_store_delete(&s, name, &err), 0);
    }
    free(dir);
    mv_store_close(&s);
    mv_error_clear(&err);
}

int main(void)
{
    umask(022);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_atomic),
        cmocka_unit_test(test_write_failures),
        cmocka_unit_test(test_read_limits),
        cmocka_unit_test(test_store_open_cleans),
        cmocka_unit_test(test_save_autostart_delete),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_load_all),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
