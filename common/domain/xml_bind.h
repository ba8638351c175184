/* xml_bind.h: XML elements described once as tables, parsed into / formatted from plain C
 * structs, copied and freed by one generic walker.
 *
 * An mv_xml_elem says which attributes an element has (name, kind, where in the struct),
 * which child elements (a flag, a text, an embedded struct, a pointer to one, or a list)
 * and what its text means. Parsing refuses whatever the table does not list, naming it,
 * its line and its path; formatting writes attributes and children in table order (which
 * is libvirt's order). Per-element check hooks do what a table cannot (cross-field rules). */
#ifndef MV_XML_BIND_H
#define MV_XML_BIND_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "common/domain/xml_util.h"
#include "common/error.h"

typedef enum mv_xml_kind {
    MV_XK_NONE = 0,
    MV_XK_STRING, /* char *, owned; NULL when absent */
    MV_XK_ENUM,   /* const char *, points into .values; NULL when absent */
    MV_XK_YESNO,  /* mv_tristate spelled yes/no */
    MV_XK_ONOFF,  /* mv_tristate spelled on/off */
    MV_XK_INT,    /* int in [min, max] (default [0, INT_MAX]); MV_UNSET (-1) when absent */
    MV_XK_HEX,    /* as INT, read in any base, written 0x%0<width>x (PCI addresses) */
    MV_XK_SINT,   /* int that may be -1 (ports: -1 = auto); INT_MIN when absent */
    MV_XK_POS,    /* int from 1 to max (default INT_MAX); 0 when absent (boot order) */
    MV_XK_LLONG,  /* long long in [min, max] (default [0, LLONG_MAX]); -1 when absent */
    MV_XK_KIB,    /* unsigned long long, a size in KiB without unit; 0 when absent */
    MV_XK_SCALED, /* unsigned long long in KiB, scaled by the element's unit; 0: absent */
    MV_XK_UNIT,   /* the unit attribute SCALED values are read with; written as KiB */
    MV_XK_UUID,   /* unsigned char[16] */
    MV_XK_MAC,    /* char *, a unicast MAC, stored as xx:xx:xx:xx:xx:xx */
    MV_XK_IGNORED, /* an integer accepted and not stored: runtime values that come from
                    * elsewhere (the domain id of a running guest's XML) */
} mv_xml_kind;

typedef struct mv_xml_attr {
    const char *name;
    mv_xml_kind kind;
    size_t offset;
    const char *const *values; /* ENUM: NULL-terminated spellings */
    long long min, max;        /* numeric range when max != 0 */
    int width;                 /* HEX: digits written */
    const char *unit;          /* SCALED: the unit when none is given (NULL: KiB) */
    bool keep_empty;           /* STRING text: "" is a value (else empty text = absent) */
    /* Formatting: leave the attribute out when this returns true (runtime values in
     * inactive XML, passwords without SECURE). obj is the element's struct. */
    bool (*omit)(const void *obj, unsigned int flags);
} mv_xml_attr;

typedef enum mv_xml_child_kind {
    MV_XC_FLAG,  /* bool: an empty element that is there or not (<readonly/>) */
    MV_XC_TEXT,  /* char *: an element holding only text (<emulator>) */
    MV_XC_EMBED, /* a struct at offset (0: the element's fields live in the parent) */
    MV_XC_PTR,   /* a pointer to a struct of elem->size; NULL when absent */
    MV_XC_LIST,  /* an array of elem->size structs plus a size_t count */
    MV_XC_RAW,   /* char *: the element kept verbatim as XML (<metadata>) */
} mv_xml_child_kind;

struct mv_xml_elem;

typedef struct mv_xml_child {
    const char *name;
    mv_xml_child_kind kind;
    const struct mv_xml_elem *elem; /* EMBED, PTR, LIST */
    size_t offset;
    size_t aux;       /* LIST: offset of the count; EMBED: offset of a presence bool */
    bool has_present; /* EMBED: aux is a presence bool set when the element appears */
    bool always;      /* EMBED: written even when empty (<devices/>) */
    /* An element in a namespace (libvirt's <qemu:commandline>): matched by ns_href
     * whatever prefix the document uses, written as ns_prefix:name, declaring the
     * namespace there when ns_declare. Elements without ns_href have no namespace. */
    const char *ns_href, *ns_prefix;
    bool ns_declare;
} mv_xml_child;

typedef struct mv_xml_elem {
    const char *name;
    size_t size; /* PTR / LIST element size */
    const mv_xml_attr *attrs;       /* terminated by {NULL} */
    const mv_xml_child *children;   /* terminated by {NULL} */
    mv_xml_attr text;               /* .kind NONE: no text allowed */
    /* After parsing an element: cross-field rules, runtime values to drop, ... */
    int (*check)(void *obj, const xmlNode *node, unsigned int flags, mv_error *err);
} mv_xml_elem;

/* Sets every number the table describes to its "absent" value, recursively through
 * embedded structs (zeroed memory is otherwise right: NULL, false, ABSENT). */
void mv_xml_init(const mv_xml_elem *e, void *obj);

/* Parses node (whose name the caller matched) into obj, which mv_xml_init prepared. */
int mv_xml_parse(const mv_xml_elem *e, const xmlNode *node, void *obj, unsigned int flags,
                 mv_error *err);

/* Appends the element at indentation level; extra_attrs (may be NULL) is written right
 * after the first attribute (the domain id). always: write it even when empty. */
void mv_xml_format(const mv_xml_elem *e, const void *obj, int level, unsigned int flags,
                   const char *extra_attrs, bool always, mv_buf *out);

/* Frees what obj owns (not obj itself). */
void mv_xml_clear(const mv_xml_elem *e, void *obj);

/* dst holds a byte copy of src; replaces every owned pointer by a deep copy. On ENOMEM
 * returns -1 with every pointer in dst owned or NULL, so mv_xml_clear(dst) is safe. */
int mv_xml_copy(const mv_xml_elem *e, void *dst, const void *src);

/* Parses a number the way libvirt does (strtoll with base, all of s consumed). */
int mv_xml_parse_ll(const char *s, int base, long long *out);

/* Table-writing shorthands: T is the struct type, F the field. */
#define MV_OFF(T, F) offsetof(T, F)
#define A_STR(T, N, F) {.name = N, .kind = MV_XK_STRING, .offset = offsetof(T, F)}
#define A_ENUM(T, N, F, V) {.name = N, .kind = MV_XK_ENUM, .offset = offsetof(T, F), .values = V}
#define A_YESNO(T, N, F) {.name = N, .kind = MV_XK_YESNO, .offset = offsetof(T, F)}
#define A_ONOFF(T, N, F) {.name = N, .kind = MV_XK_ONOFF, .offset = offsetof(T, F)}
#define A_INT(T, N, F) {.name = N, .kind = MV_XK_INT, .offset = offsetof(T, F)}
#define A_INTR(T, N, F, LO, HI)                                                              \
    {.name = N, .kind = MV_XK_INT, .offset = offsetof(T, F), .min = LO, .max = HI}
#define A_HEX(T, N, F, W, HI)                                                                \
    {.name = N, .kind = MV_XK_HEX, .offset = offsetof(T, F), .width = W, .max = HI}
#define A_SINT(T, N, F, LO, HI)                                                              \
    {.name = N, .kind = MV_XK_SINT, .offset = offsetof(T, F), .min = LO, .max = HI}
#define A_POS(T, N, F) {.name = N, .kind = MV_XK_POS, .offset = offsetof(T, F)}
#define A_LL(T, N, F) {.name = N, .kind = MV_XK_LLONG, .offset = offsetof(T, F)}
#define A_KIB(T, N, F) {.name = N, .kind = MV_XK_KIB, .offset = offsetof(T, F)}
#define A_SCALED(T, N, F) {.name = N, .kind = MV_XK_SCALED, .offset = offsetof(T, F)}
#define A_UNIT {.name = "unit", .kind = MV_XK_UNIT}
#define A_MAC(T, N, F) {.name = N, .kind = MV_XK_MAC, .offset = offsetof(T, F)}
#define A_IGNORED(N) {.name = N, .kind = MV_XK_IGNORED}
#define A_END {.name = NULL}

#define C_FLAG(T, N, F) {.name = N, .kind = MV_XC_FLAG, .offset = offsetof(T, F)}
#define C_TEXT(T, N, F) {.name = N, .kind = MV_XC_TEXT, .offset = offsetof(T, F)}
#define C_RAW(T, N, F) {.name = N, .kind = MV_XC_RAW, .offset = offsetof(T, F)}
/* The child's fields are described relative to the parent's struct itself. */
#define C_FLAT(N, E) {.name = N, .kind = MV_XC_EMBED, .elem = &(E), .offset = 0}
#define C_FLATP(T, N, E, P)                                                                  \
    {.name = N, .kind = MV_XC_EMBED, .elem = &(E), .offset = 0, .aux = offsetof(T, P),      \
     .has_present = true}
#define C_FLAT_ALWAYS(N, E) {.name = N, .kind = MV_XC_EMBED, .elem = &(E), .always = true}
#define C_EMBED(T, N, E, F) {.name = N, .kind = MV_XC_EMBED, .elem = &(E), .offset = offsetof(T, F)}
#define C_EMBEDP(T, N, E, F, P)                                                              \
    {.name = N, .kind = MV_XC_EMBED, .elem = &(E), .offset = offsetof(T, F),                \
     .aux = offsetof(T, P), .has_present = true}
#define C_PTR(T, N, E, F) {.name = N, .kind = MV_XC_PTR, .elem = &(E), .offset = offsetof(T, F)}
#define C_LIST(T, N, E, F, CNT)                                                              \
    {.name = N, .kind = MV_XC_LIST, .elem = &(E), .offset = offsetof(T, F),                 \
     .aux = offsetof(T, CNT)}
#define C_END {.name = NULL}

#endif
