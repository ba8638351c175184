/* fixture_qemu.h: the QEMU driver's state under a fresh MODVIRT_ROOT, with no daemon —
 * what the unit tests of definitions (test_qemu_domains, test_qemu_define,
 * test_qemu_corpus) stand on. */
#ifndef MV_FIXTURE_QEMU_H
#define MV_FIXTURE_QEMU_H

#include "common/paths.h"
#include "virtqemud/qemu_driver.h"

typedef struct fx_qemu {
    char root[64]; /* /tmp/<name>.XXXXXX */
    mv_paths paths;
    qemu_config cfg; /* set what a test configures between fx_qemu_root and fx_qemu_open */
    qemu_state *s;
} fx_qemu;

/* Creates /tmp/<name>.XXXXXX, exports it as MODVIRT_ROOT and resolves the paths under it;
 * no state yet. 0 or -1. */
int fx_qemu_root(fx_qemu *f, const char *name);
/* Opens the driver's state on f's paths and config; the test fails when it cannot. */
void fx_qemu_open(fx_qemu *f);
/* A daemon restart, as far as the driver can tell: everything in memory is dropped and
 * loaded again from the files. */
void fx_qemu_restart(fx_qemu *f);
/* Frees the state and the config and removes the root. */
void fx_qemu_free(fx_qemu *f);

#endif
