/* error.c: building and moving structured errors (see error.h). */
#include "common/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_FORMAT(name, num, msg) [num] = msg,
#define ERR_NAME(name, num, msg) [num] = #name,
static const char *const error_formats[] = {VIR_ERROR_CODE_MAP(ERR_FORMAT)};
static const char *const error_names[] = {VIR_ERROR_CODE_MAP(ERR_NAME)};
#define N_CODES (sizeof(error_formats) / sizeof(error_formats[0]))

const char *mv_error_format_for(int code)
{
    if (code < 0 || (size_t)code >= N_CODES)
        return NULL;
    return error_formats[code];
}

const char *mv_error_code_name(int code)
{
    if (code < 0 || (size_t)code >= N_CODES)
        return NULL;
    return error_names[code];
}

void mv_error_clear(mv_error *err)
{
    if (!err)
        return;
    free(err->message);
    err->message = NULL;
    err->code = VIR_ERR_OK;
    err->domain = VIR_FROM_NONE;
}

void mv_error_set_raw(mv_error *err, int code, int domain, const char *message)
{
    if (!err)
        return;
    char *copy = strdup(message ? message : "");
    mv_error_clear(err);
    err->code = code;
    err->domain = domain;
    err->message = copy;
}

void mv_error_setv(mv_error *err, int code, int domain, const char *fmt, va_list ap)
{
    if (!err)
        return;
    char *detail = NULL;
    if (vasprintf(&detail, fmt, ap) < 0)
        detail = NULL;
    const char *format = mv_error_format_for(code);
    char *message = NULL;
    if (!format)
        format = "%s";
    /* format comes from our own table and holds exactly one %s */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (asprintf(&message, format, detail ? detail : "out of memory") < 0)
        message = NULL;
#pragma GCC diagnostic pop
    free(detail);
    mv_error_clear(err);
    err->code = code;
    err->domain = domain;
    err->message = message;
}

void mv_error_set(mv_error *err, int code, int domain, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mv_error_setv(err, code, domain, fmt, ap);
    va_end(ap);
}

void mv_error_set_errno(mv_error *err, int errnum, int domain, const char *fmt, ...)
{
    if (!err)
        return;
    char *detail = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&detail, fmt, ap) < 0)
        detail = NULL;
    va_end(ap);
    mv_error_set(err, VIR_ERR_SYSTEM_ERROR, domain, "%s: %s", detail ? detail : "",
                 strerror(errnum));
    free(detail);
}

void mv_error_prefix(mv_error *err, const char *fmt, ...)
{
    if (!mv_error_is_set(err))
        return;
    char *head = NULL, *joined = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&head, fmt, ap) < 0)
        head = NULL;
    va_end(ap);
    if (head && asprintf(&joined, "%s%s", head, err->message ? err->message : "") >= 0) {
        free(err->message);
        err->message = joined;
    }
    free(head);
}

void mv_error_move(mv_error *dst, mv_error *src)
{
    if (!src)
        return;
    if (!dst) {
        mv_error_clear(src);
        return;
    }
    if (dst == src)
        return;
    mv_error_clear(dst);
    *dst = *src;
    src->message = NULL;
    src->code = VIR_ERR_OK;
    src->domain = VIR_FROM_NONE;
}
