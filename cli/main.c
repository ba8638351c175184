/* main.c: the vmctl program; everything else lives in vmctl's other files (vmctl.h). */
#include "cli/vmctl.h"

int main(int argc, char **argv)
{
    return vmctl_main(argc, argv);
}
