/* main.c: virtproxyd, the proxy every client connects to (see proxy.h). */
#include "virtproxyd/proxy.h"

int main(int argc, char **argv)
{
    return proxy_main(argc, argv);
}
