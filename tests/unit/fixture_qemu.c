/* fixture_qemu.c: the QEMU driver's state under a fresh root, for the unit tests of
 * definitions (see fixture_qemu.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_qemu.h"

fx_qemu *fx_qemu_new(const char *name)
{
    fx_qemu *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    snprintf(f->root, sizeof(f->root), "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(f->root)) {
        free(f);
        return NULL;
    }
    setenv("MODVIRT_ROOT", f->root, 1);
    if (mv_paths_init(&f->paths, NULL) < 0) {
        void *state = f;
        fx_qemu_teardown(&state);
        return NULL;
    }
    return f;
}

void fx_qemu_open(fx_qemu *f)
{
    mv_error err = MV_ERROR_INIT;
    if (qemu_state_open(&f->paths, &f->cfg, &f->s, &err) < 0)
        fail_msg("state open: %s", err.message);
}

void fx_qemu_restart(fx_qemu *f)
{
    qemu_state_free(f->s);
    f->s = NULL;
    fx_qemu_open(f);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

int fx_qemu_setup(void **state)
{
    fx_qemu *f = fx_qemu_new("fx_qemu");
    if (!f)
        return -1;
    *state = f;
    fx_qemu_open(f);
    return 0;
}

int fx_qemu_teardown(void **state)
{
    fx_qemu *f = *state;
    qemu_state_free(f->s);
    qemu_config_clear(&f->cfg);
    int rc = nftw(f->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    mv_paths_free(&f->paths);
    free(f);
    return rc < 0 ? -1 : 0;
}
