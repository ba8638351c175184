/* vmctl.h: vmctl's internals, and the map of cli/ (one heading per file):
 *
 *   main.c        the program: hands argv to vmctl_main
 *   vmctl.c       global options, the connection, running one command, exit status
 *   table.c       the command table (vmctl_commands[]) with each command's options
 *   args.c        parsing a command's arguments against its option list
 *   output.c      virsh-style tables and "Key:  value" records, JSON documents, errors
 *   words.c       virsh's words for domain states and reasons
 *   domain_arg.c  resolving a DOMAIN argument: id, then UUID, then name (as virsh)
 *   cmd_host.c    version, uri, hostname, nodeinfo
 *   cmd_list.c    list
 *   cmd_info.c    dominfo, domstate, domuuid, domid, domname
 *   cmd_define.c  define, undefine, dumpxml, autostart
 *   cmd_edit.c    edit (through $VISUAL / $EDITOR)
 *   cmd_help.c    help [COMMAND | KEYWORD]
 *   cmd_life.c    start, create, shutdown, destroy, reboot, reset, suspend, resume
 *   cmd_devices.c domiflist, domblklist, vncdisplay (from the XML), capabilities,
 *                 domcapabilities, domxml-to-native
 *   cmd_event.c   event (domain events through the event loop)
 *   cmd_console.c console (a virStream on the terminal)
 *
 * Only cli/ prints. Output goes to ctx->out and ctx->err so tests can capture it. */
#ifndef VMCTL_H
#define VMCTL_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>
#include <modvirt/modvirt.h>

/* ---- context (vmctl.c) ------------------------------------------------------------------- */

typedef struct vmctl_ctx {
    FILE *out;         /* normal output */
    FILE *err;         /* "error: ..." lines */
    bool json;         /* --json: one JSON document instead of text */
    bool quiet;        /* -q: no trailing blank line */
    bool readonly;     /* -r */
    const char *uri;   /* -c, or NULL for the default */
    virConnectPtr conn; /* opened on first use by vmctl_conn */
    bool stdin_is_tty;  /* edit offers a retry only then */
    virErrorPtr lib_error; /* the library's last error, saved when raised (freeing an
                              object resets the thread's last error, as in libvirt) */
} vmctl_ctx;

/* Forgets the saved library error once it has been reported or proved irrelevant. */
void vmctl_forget_lib_error(vmctl_ctx *ctx);

/* The connection, opened on first use. NULL after printing why not. */
virConnectPtr vmctl_conn(vmctl_ctx *ctx);

/* Runs vmctl with argv, printing to out/err. Returns the exit status (0 or 1). */
int vmctl_run(int argc, char **argv, FILE *out, FILE *err);
int vmctl_main(int argc, char **argv);

/* ---- commands and options (table.c, args.c) ------------------------------------------------ */

enum vmctl_opt_type {
    VMCTL_OPT_BOOL,   /* --name */
    VMCTL_OPT_STRING, /* --name VALUE or --name=VALUE */
    VMCTL_OPT_DATA,   /* positional (or --name VALUE), e.g. <domain> */
};

typedef struct vmctl_opt {
    const char *name;
    enum vmctl_opt_type type;
    bool required;
    const char *help;
} vmctl_opt;

#define VMCTL_MAX_OPTS 24

typedef struct vmctl_args {
    const struct vmctl_cmd *cmd;
    const char *value[VMCTL_MAX_OPTS]; /* by option index; "" for a set BOOL */
} vmctl_args;

typedef int (*vmctl_cmd_fn)(vmctl_ctx *ctx, const vmctl_args *args);

typedef struct vmctl_cmd {
    const char *name;
    const char *group; /* help keyword: "domain", "monitor", "host", "vmctl" */
    vmctl_cmd_fn run;
    const vmctl_opt *opts; /* terminated by {NULL} */
    const char *help;      /* one line */
    const char *desc;      /* a sentence or two */
} vmctl_cmd;

extern const vmctl_cmd vmctl_commands[]; /* terminated by {NULL} */

typedef struct vmctl_group {
    const char *keyword;
    const char *title;
} vmctl_group;
extern const vmctl_group vmctl_groups[]; /* terminated by {NULL} */

const vmctl_cmd *vmctl_find_command(const char *name);

/* Parses argv (after the command name) into args. -1 after printing virsh's error. */
int vmctl_parse_args(vmctl_ctx *ctx, const vmctl_cmd *cmd, int argc, char **argv,
                     vmctl_args *args);
bool vmctl_arg_bool(const vmctl_args *args, const char *name);
const char *vmctl_arg_str(const vmctl_args *args, const char *name); /* NULL when unset */

/* ---- output (output.c) ---------------------------------------------------------------------- */

void vmctl_error(vmctl_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the library's last error as "error: ..." (nothing when there is none). */
void vmctl_lib_error(vmctl_ctx *ctx);

/* Prints a JSON document (takes the reference). */
void vmctl_json_emit(vmctl_ctx *ctx, json_object *doc);

/* A table printed as virsh's vshTable: " Id   Name   State", dashes, rows. */
typedef struct vmctl_table vmctl_table;
vmctl_table *vmctl_table_new(size_t ncols, const char *const *headers);
int vmctl_table_add(vmctl_table *t, const char *const *cells); /* ncols cells, copied */
void vmctl_table_print(const vmctl_table *t, FILE *out);
void vmctl_table_free(vmctl_table *t);

/* A record: "Label:   value" lines (labels padded to `width`) in text mode, one JSON
 * object with snake_case keys in JSON mode. */
typedef struct vmctl_rec vmctl_rec;
vmctl_rec *vmctl_rec_new(int width);
void vmctl_rec_str(vmctl_rec *r, const char *label, const char *key, const char *value);
/* text: value followed by suffix (e.g. " KiB"); JSON: the number */
void vmctl_rec_int(vmctl_rec *r, const char *label, const char *key, long long value,
                   const char *suffix);
void vmctl_rec_uint(vmctl_rec *r, const char *label, const char *key, unsigned long long value,
                    const char *suffix);
/* text: yes_word or no_word; JSON: true/false */
void vmctl_rec_bool(vmctl_rec *r, const char *label, const char *key, bool value,
                    const char *yes_word, const char *no_word);
/* text: the given text ("-"); JSON: null */
void vmctl_rec_null(vmctl_rec *r, const char *label, const char *key, const char *text);
/* text: printf-style rendering of value with fmt (e.g. "%.1lfs"); JSON: the number */
void vmctl_rec_double(vmctl_rec *r, const char *label, const char *key, double value,
                      const char *fmt);
/* Prints the record (text or JSON per ctx) and frees it. */
void vmctl_rec_emit(vmctl_ctx *ctx, vmctl_rec *r);
void vmctl_rec_free(vmctl_rec *r); /* without printing; NULL tolerated */

/* ---- words (words.c) ------------------------------------------------------------------------- */

const char *vmctl_state_word(int state);              /* "running", "shut off", ... */
const char *vmctl_reason_word(int state, int reason); /* "booted", "unknown", ... */

/* ---- domain arguments (domain_arg.c) ------------------------------------------------------- */

/* The domain `ref` names: a non-negative number is tried as an id, a 36-character string
 * as a UUID, then anything as a name. NULL after printing "error: failed to get domain
 * 'ref'" and the library's reason. */
virDomainPtr vmctl_domain(vmctl_ctx *ctx, const char *ref);
/* Same, taking the "domain" option of args. */
virDomainPtr vmctl_domain_arg(vmctl_ctx *ctx, const vmctl_args *args);

/* ---- list (cmd_list.c): data gathered first, printed by pure functions ------------------- */

typedef struct vmctl_dom_row {
    int id; /* -1 when inactive */
    char *name;
    char uuid[VIR_UUID_STRING_BUFLEN];
    int state;
    bool persistent;
    bool autostart;
} vmctl_dom_row;

/* virsh's order: running domains by id, then the rest by name (case-insensitive). */
void vmctl_rows_sort(vmctl_dom_row *rows, size_t n);
/* virsh's table (or --name / --uuid / --id lines) */
void vmctl_list_print_text(FILE *out, const vmctl_dom_row *rows, size_t n, bool name,
                           bool uuid, bool id);
/* the --json array */
json_object *vmctl_list_json(const vmctl_dom_row *rows, size_t n);

/* ---- command entry points -------------------------------------------------------------------- */

int vmctl_cmd_version(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_uri(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_hostname(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_nodeinfo(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_list(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_dominfo(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_domstate(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_domuuid(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_domid(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_domname(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_define(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_undefine(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_dumpxml(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_autostart(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_edit(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_help(vmctl_ctx *ctx, const vmctl_args *args);
/* cmd_life.c: the lifecycle */
int vmctl_cmd_start(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_create(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_shutdown(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_reboot(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_destroy(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_reset(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_suspend(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_resume(vmctl_ctx *ctx, const vmctl_args *args);
/* cmd_devices.c: devices from the XML, capabilities, native formats */
int vmctl_cmd_domiflist(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_domblklist(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_vncdisplay(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_capabilities(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_domcapabilities(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_domxml_to_native(vmctl_ctx *ctx, const vmctl_args *args);

/* ---- events and consoles (cmd_event.c, cmd_console.c) ---------------------------------------- */

int vmctl_cmd_event(vmctl_ctx *ctx, const vmctl_args *args);
int vmctl_cmd_console(vmctl_ctx *ctx, const vmctl_args *args);
/* virsh's words for a lifecycle event and its detail ("Started", "Booted"). */
const char *vmctl_event_type_word(int event);
const char *vmctl_event_detail_word(int event, int detail);
/* Attaches the terminal to dom's console until Ctrl-] or the stream's end (also for
 * `start --console`). devname NULL: the first console. 0, or -1 with the library's error
 * left for the runner to print. */
int vmctl_console_run(vmctl_ctx *ctx, virDomainPtr dom, const char *devname, unsigned int flags);

/* Splits an $EDITOR value into argv (whitespace separated, '...' and "..." quoting).
 * NULL-terminated, malloc'd; NULL on unbalanced quotes or ENOMEM. (cmd_edit.c) */
char **vmctl_split_command(const char *s);

/* DESIGN.md's limit on an XML document. */
#define VMCTL_XML_MAX (10u * 1024 * 1024)

/* Reads a whole file (at most max bytes). malloc'd, NUL-terminated; NULL + errno. */
char *vmctl_read_file(const char *path, size_t max);
/* Reads an XML file given on the command line, printing virsh's error when it cannot
 * (missing, unreadable, over VMCTL_XML_MAX). malloc'd, or NULL after the error. */
char *vmctl_read_xml_arg(vmctl_ctx *ctx, const char *file);
/* define and create: makes a domain of FILE's XML (virDomainCreateXML when create, else
 * virDomainDefineXMLFlags, with flags) and prints virsh's "Domain 'x' created|defined from
 * FILE" or the JSON document. The domain to free, or NULL after the error. (cmd_define.c) */
virDomainPtr vmctl_domain_from_file(vmctl_ctx *ctx, const char *file, unsigned int flags,
                                   bool create);

#endif
