/* fixture_qemu_command.h: what the QEMU capability and command-line tests share — QEMU
 * 7.2's recorded capabilities and the dry-run build every golden and corpus comparison
 * uses (with fixture_files.h for files and folders). */
#ifndef MV_FIXTURE_QEMU_COMMAND_H
#define MV_FIXTURE_QEMU_COMMAND_H

#include <stdbool.h>

#include "fixture_files.h"
#include "virtqemud/qemu_command.h"

/* Caps of QEMU 7.2 (x86_64) from tests/data/qemu/caps-x86_64-7.2.json, with the x86 CPU's
 * feature flags; kvm says whether query-kvm's reply is passed (KVM usable or not). The test
 * fails when a recorded reply is missing or not accepted. Unref when done. */
qemu_caps *fx_recorded_caps(bool kvm);

/* qemu_command_build for def as a dry run: monitor /run/mon.sock, id 1, sockets in /run/g1,
 * no ports, no nvram folder — fixed values, so the argv can be compared as text. */
int fx_build_dry(mv_domain_def *def, const qemu_caps *caps, qemu_command **out, mv_error *err);

#endif
