/* fake_qemu.c: a stand-in for qemu-system-x86_64 that answers --version with a version no
 * real host has, so tests can see that virtqemud.conf's qemu_binary is the one probed. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("QEMU emulator version 8.1.3 (modvirt test stand-in)\n"
               "Copyright (c) 2003-2023 Fabrice Bellard and the QEMU Project developers\n");
        return 0;
    }
    fprintf(stderr, "mvt-fake-qemu: only --version is answered\n");
    return 1;
}
