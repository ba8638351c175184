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

int fx_qemu_root(fx_qemu *f, const char *name)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(f->root)) {
        f->root[0] = '\0';
        return -1;
    }
    setenv("MODVIRT_ROOT", f->root, 1);
    return mv_paths_init(&f->paths, NULL);
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

void fx_qemu_free(fx_qemu *f)
{
    qemu_state_free(f->s);
    f->s = NULL;
    qemu_config_clear(&f->cfg);
    if (f->root[0])
        nftw(f->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    f->root[0] = '\0';
    mv_paths_free(&f->paths);
}
