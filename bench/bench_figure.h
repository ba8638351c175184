/* bench_figure.h: the clock and the "name value unit" line every part of modvirt-bench uses. */
#ifndef MV_BENCH_FIGURE_H
#define MV_BENCH_FIGURE_H

#include <stdio.h>
#include <time.h>

/* Monotonic seconds: figures are differences, never wall-clock times. */
static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One figure per line, flushed at once so a slow later figure does not hide earlier ones. */
static inline void bench_figure(const char *name, double value, const char *unit)
{
    printf("%s %.*f %s\n", name, value >= 100 ? 0 : 2, value, unit);
    fflush(stdout);
}

#endif
