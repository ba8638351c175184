/* domain_validate.h: rules about a whole definition that no single element can check.
 *
 * domain_validate.c holds what libvirt refuses on every define; domain_validate_qemu.c
 * what libvirt's QEMU driver refuses before it would start a guest, applied only with
 * MV_DOMAIN_DEF_PARSE_VALIDATE. Internal to common/domain/. */
#ifndef MV_DOMAIN_VALIDATE_H
#define MV_DOMAIN_VALIDATE_H

#include <time.h>
#include "common/domain/domain_conf.h"

/* Always: duplicate disk targets and drive addresses, boot orders used twice or together
 * with <os><boot>, controllers sharing a type and index, root PCI controllers with an
 * address, NUMA cell ids, number lists (cpuset, cpus, nodeset), a second primary video,
 * duplicate aliases and audio ids, loader/nvram format mismatches. */
int mv_domain_def_check(const mv_domain_def *def, mv_error *err);

/* MV_DOMAIN_DEF_PARSE_VALIDATE: the QEMU driver's rules (docs/domain-xml.md lists them). */
int mv_domain_def_validate(const mv_domain_def *def, mv_error *err);

/* ---- shared by the two files ---- */

/* One device of any kind, with what the rules need to know about it. */
typedef struct device_ref {
    const char *kind;    /* "disk", "controller", "interface", ... */
    size_t index;        /* among devices of its kind */
    const mv_domain_device_info *info;
    const char *target;  /* a disk's target dev */
    bool on_usb;         /* plugged into a USB port */
    const mv_domain_controller *controller; /* set for controllers */
} device_ref;

typedef int (*device_fn)(const mv_domain_def *def, const device_ref *d, void *opaque,
                         mv_error *err);

/* Calls fn for every device in libvirt's order; stops at the first -1. */
int mv_for_each_device(const mv_domain_def *def, device_fn fn, void *opaque, mv_error *err);

/* "disk 'vda'", "controller type='usb' index='0'", "interface #2". */
void mv_device_name(const device_ref *d, char *buf, size_t n);

/* A set of string keys (common/hash.h) remembering who added each. */
struct mv_hash *mv_keyset_new(void);
/* 0 when added, 1 when key was there already (*prev, if given, gets the holder that
 * added it), -1 on ENOMEM. */
int mv_keyset_add(struct mv_hash *set, const char *key, const char *holder, const char **prev);

/* Sets err to code with the message; returns -1. */
int mv_validate_fail(mv_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Walks a libvirt number list ("0-3,^2,8"), calling fn for each number it sets.
 * -1 on a syntax error. */
int mv_bitmap_walk(const char *s, void (*fn)(long n, void *opaque), void *opaque);
/* The same, with the ^exclusions too (negated true). */
int mv_bitmap_walk_all(const char *s, void (*fn)(long n, bool negated, void *opaque),
                       void *opaque);

/* VIR_ERR_XML_ERROR naming what and s when s is not a number list; *max (may be NULL)
 * gets the largest number set, -1 for none. NULL s is fine. */
int mv_check_bitmap(const char *what, const char *s, long *max, mv_error *err);

/* A graphics passwdValidTo as libvirt reads it, "YYYY-MM-DDTHH:MM:SS" in UTC, into *out
 * (may be NULL); VIR_ERR_XML_ERROR naming it otherwise. */
int mv_graphics_valid_to(const char *text, time_t *out, mv_error *err);

#endif
