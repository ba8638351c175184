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
    qemu_config cfg; /* what a test configures, before fx_qemu_open */
    qemu_state *s;
} fx_qemu;

/* A new fixture: /tmp/<name>.XXXXXX created and exported as MODVIRT_ROOT, the paths
 * under it resolved; no state yet (set f->cfg, then fx_qemu_open). NULL on failure. */
fx_qemu *fx_qemu_new(const char *name);
/* Opens the driver's state on f's paths and config; the test fails when it cannot. */
void fx_qemu_open(fx_qemu *f);
/* A daemon restart, as far as the driver can tell: everything in memory is dropped and
 * loaded again from the files. */
void fx_qemu_restart(fx_qemu *f);

/* cmocka set-up (a new fx_qemu with no emulator configured, its state open, in *state)
 * and tear-down (state and config freed, the root removed, the fixture freed). */
int fx_qemu_setup(void **state);
int fx_qemu_teardown(void **state);

#endif
