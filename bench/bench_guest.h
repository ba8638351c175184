/* bench_guest.h: the tiny guest's figures for modvirt-bench (bench_guest.c). */
#ifndef MV_BENCH_GUEST_H
#define MV_BENCH_GUEST_H

#include <modvirt/modvirt.h>

/* Builds (or finds) the tiny guest, then prints guest_bare_qemu_first_qmp_ms,
 * guest_start_to_running_ms, guest_destroy_ms and guest_suspend_to_event_ms (medians;
 * the last needs the default event loop registered before conn was opened). Prints why
 * on stderr and returns when the guest cannot be built or a call fails. */
void bench_guest(virConnectPtr conn, const char *root, const char *source_dir,
                 const char *build_dir, int quick);

#endif
