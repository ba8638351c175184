/* error.h: errors as values — a libvirt code, a domain and a complete message.
 *
 * Every fallible function in modvirt returns 0 / -1 (or NULL) and fills an mv_error the
 * caller passed in (which may be NULL when the caller does not care). The message is
 * built the way libvirt builds it: the code's fixed text with the detail substituted,
 * e.g. mv_error_set(err, VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, "no domain with matching name
 * '%s'", name) gives "Domain not found: no domain with matching name 'foo'". */
#ifndef MV_ERROR_H
#define MV_ERROR_H

#include <stdarg.h>
#include <modvirt/modvirt-errors.h>

typedef struct mv_error {
    int code;      /* virErrorNumber; VIR_ERR_OK when unset */
    int domain;    /* virErrorDomain */
    char *message; /* owned; NULL when unset */
} mv_error;

#define MV_ERROR_INIT {VIR_ERR_OK, VIR_FROM_NONE, NULL}

/* Sets err (replacing what it held). No-op when err is NULL. */
void mv_error_set(mv_error *err, int code, int domain, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void mv_error_setv(mv_error *err, int code, int domain, const char *fmt, va_list ap);

/* VIR_ERR_SYSTEM_ERROR with ": strerror(errnum)" appended to the detail. */
void mv_error_set_errno(mv_error *err, int errnum, int domain, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets err to exactly this code, domain and message (no prefix added): for errors that
 * arrive complete, e.g. from the wire. */
void mv_error_set_raw(mv_error *err, int code, int domain, const char *message);

/* Puts "what: " in front of the current message (e.g. "virtqemud.conf:3: "). */
void mv_error_prefix(mv_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void mv_error_clear(mv_error *err);            /* frees the message, resets to unset */
void mv_error_move(mv_error *dst, mv_error *src); /* dst takes src's content; src unset */
static inline int mv_error_is_set(const mv_error *err) { return err && err->code != VIR_ERR_OK; }

/* The code's message format (with one %s), or NULL for an unknown code. */
const char *mv_error_format_for(int code);
/* "VIR_ERR_NO_DOMAIN", or NULL for an unknown code. */
const char *mv_error_code_name(int code);

#endif
