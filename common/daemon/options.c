/* options.c: the command line every modvirt daemon takes, parsed without getopt's globals. */
#include "common/daemon/service.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_id { OPT_TIMEOUT, OPT_CONFIG, OPT_VERBOSE, OPT_VERSION, OPT_HELP };

static const struct opt_def {
    char short_name; /* 0: long form only */
    const char *long_name;
    bool takes_value;
    enum opt_id id;
} opt_defs[] = {
    {'t', "timeout", true, OPT_TIMEOUT},  {'f', "config", true, OPT_CONFIG},
    {'v', "verbose", false, OPT_VERBOSE}, {0, "version", false, OPT_VERSION},
    {'h', "help", false, OPT_HELP},
};
#define N_OPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))

/* Option errors read as a command line tool's ("unknown option '--foo'"), without the
 * "invalid argument: " that the code's format would put in front. */
static void opt_error(mv_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void opt_error(mv_error *err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mv_error_set_raw(err, VIR_ERR_INVALID_ARG, VIR_FROM_NONE, msg);
}

static const struct opt_def *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        if (strlen(opt_defs[i].long_name) == len && strncmp(opt_defs[i].long_name, name, len) == 0)
            return &opt_defs[i];
    }
    return NULL;
}

static const struct opt_def *find_short(char c)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        if (opt_defs[i].short_name && opt_defs[i].short_name == c)
            return &opt_defs[i];
    }
    return NULL;
}

static int parse_timeout(const char *s, long *out, mv_error *err)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (s[0] == '\0' || s[0] == '-' || s[0] == '+' || *end != '\0' || errno != 0 || v < 0 ||
        v > INT_MAX) {
        opt_error(err, "invalid timeout '%s': expected a number of seconds from 0 to %d", s,
                  INT_MAX);
        return -1;
    }
    *out = v;
    return 0;
}

int mv_opts_parse(int argc, char *const argv[], mv_daemon_opts *o, mv_error *err)
{
    memset(o, 0, sizeof(*o));
    o->action = MV_OPTS_RUN;
    o->timeout = -1;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const struct opt_def *def = NULL;
        const char *value = NULL;
        char shown[64];

        if (strcmp(arg, "--") == 0) {
            if (i + 1 < argc) {
                opt_error(err, "unexpected argument '%s'", argv[i + 1]);
                return -1;
            }
            break;
        }
        if (strncmp(arg, "--", 2) == 0) {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            def = find_long(name, len);
            snprintf(shown, sizeof(shown), "--%.*s", (int)(len > 40 ? 40 : len), name);
            if (!def) {
                opt_error(err, "unknown option '%s'", shown);
                return -1;
            }
            if (eq && !def->takes_value) {
                opt_error(err, "option '%s' takes no value", shown);
                return -1;
            }
            value = eq ? eq + 1 : NULL;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            def = find_short(arg[1]);
            snprintf(shown, sizeof(shown), "-%c", arg[1]);
            if (!def) {
                opt_error(err, "unknown option '%s'", shown);
                return -1;
            }
            if (arg[2] != '\0') {
                if (!def->takes_value) {
                    opt_error(err, "unknown option '%s' (options cannot be combined)", arg);
                    return -1;
                }
                value = arg + 2;
            }
        } else {
            opt_error(err, "unexpected argument '%s'", arg);
            return -1;
        }

        if (def->takes_value && !value) {
            if (i + 1 >= argc) {
                opt_error(err, "option '%s' needs a value", shown);
                return -1;
            }
            value = argv[++i];
        }

        switch (def->id) {
        case OPT_TIMEOUT:
            if (parse_timeout(value, &o->timeout, err) < 0)
                return -1;
            break;
        case OPT_CONFIG:
            if (value[0] == '\0') {
                opt_error(err, "option '%s' needs a file name", shown);
                return -1;
            }
            o->config = value;
            break;
        case OPT_VERBOSE:
            o->verbose = true;
            break;
        case OPT_VERSION:
            /* --help wins over --version wherever they appear, as GNU tools do */
            if (o->action != MV_OPTS_HELP)
                o->action = MV_OPTS_VERSION;
            break;
        case OPT_HELP:
            o->action = MV_OPTS_HELP;
            break;
        }
    }
    return 0;
}

char *mv_opts_usage(const char *name, const char *summary)
{
    char *text = NULL;
    if (asprintf(&text,
                 "Usage: %s [OPTIONS]\n"
                 "%s\n"
                 "\n"
                 "  -t, --timeout SECONDS  exit after SECONDS with no clients and nothing\n"
                 "                         running (0: never; overrides idle_timeout)\n"
                 "  -f, --config FILE      read FILE instead of <config dir>/%s.conf\n"
                 "  -v, --verbose          log debug messages\n"
                 "      --version          print the version and exit\n"
                 "  -h, --help             print this help and exit\n"
                 "\n"
                 "MODVIRT_ROOT=DIR puts the sockets, pid file, config and log under DIR.\n",
                 name, summary, name) < 0)
        return NULL;
    return text;
}
