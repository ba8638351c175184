/* main.c: virtqemud, the QEMU driver daemon — the shared runtime running qemu_driver. */
#include "common/daemon/daemon.h"
#include "virtqemud/qemu_driver.h"

int main(int argc, char **argv) { return mv_daemon_main(argc, argv, &qemu_driver); }
