/* output.c: how vmctl prints — virsh's "error: ..." lines, its vshTable layout, its
 * "Label:  value" records, and the --json documents that replace them. */
#include "cli/vmctl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ---------------------------------------------------------------------------- */

void vmctl_error(vmctl_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("error: ", ctx->err);
    vfprintf(ctx->err, fmt, ap);
    fputc('\n', ctx->err);
    va_end(ap);
}

void vmctl_lib_error(vmctl_ctx *ctx)
{
    virErrorPtr e = ctx->lib_error ? ctx->lib_error : virGetLastError();
    if (e && e->code != VIR_ERR_OK)
        vmctl_error(ctx, "%s", e->message ? e->message : "unknown error");
    vmctl_forget_lib_error(ctx);
}

void vmctl_forget_lib_error(vmctl_ctx *ctx)
{
    virFreeError(ctx->lib_error);
    ctx->lib_error = NULL;
    virResetLastError();
}

void vmctl_json_emit(vmctl_ctx *ctx, json_object *doc)
{
    fprintf(ctx->out, "%s\n",
            json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(doc);
}

/* ---- tables ----------------------------------------------------------------------------- */

struct vmctl_table {
    size_t ncols, nrows, cap;
    char **cells;  /* nrows * ncols; row 0 is the header */
    size_t *width; /* display width of each cell */
};

/* virsh shows control characters (and a literal "\x") as \xNN so columns stay aligned.
 * Width counts characters: UTF-8 continuation bytes take no column. */
static char *safe_cell(const char *s, size_t *width)
{
    size_t len = strlen(s);
    char *out = malloc(len * 4 + 1);
    char *w = out;
    *width = 0;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || (p[0] == '\\' && p[1] == 'x')) {
            w += sprintf(w, "\\x%02x", *p);
            *width += 4;
        } else {
            *w++ = (char)*p;
            if ((*p & 0xc0) != 0x80)
                (*width)++;
        }
    }
    *w = '\0';
    return out;
}

vmctl_table *vmctl_table_new(size_t ncols, const char *const *headers)
{
    vmctl_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ncols = ncols;
    if (vmctl_table_add(t, headers) < 0) {
        vmctl_table_free(t);
        return NULL;
    }
    return t;
}

int vmctl_table_add(vmctl_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        char **nc = realloc(t->cells, cap * t->ncols * sizeof(*nc));
        if (!nc)
            return -1;
        t->cells = nc;
        size_t *nw = realloc(t->width, cap * t->ncols * sizeof(*nw));
        if (!nw)
            return -1;
        t->width = nw;
        t->cap = cap;
    }
    size_t base = t->nrows * t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
        t->cells[base + c] = safe_cell(cells[c] ? cells[c] : "", &t->width[base + c]);
        if (!t->cells[base + c]) {
            while (c > 0)
                free(t->cells[base + --c]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

void vmctl_table_print(const vmctl_table *t, FILE *out)
{
    size_t *maxw = calloc(t->ncols, sizeof(*maxw));
    if (!maxw)
        return;
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++)
            if (t->width[r * t->ncols + c] > maxw[c])
                maxw[c] = t->width[r * t->ncols + c];
    for (size_t r = 0; r < t->nrows; r++) {
        /* each cell: a space, the text, and (but for the last) padding plus two spaces */
        for (size_t c = 0; c < t->ncols; c++) {
            fprintf(out, " %s", t->cells[r * t->ncols + c]);
            if (c + 1 < t->ncols)
                fprintf(out, "%*s", (int)(maxw[c] - t->width[r * t->ncols + c] + 2), "");
        }
        fputc('\n', out);
        if (r == 0) {
            for (size_t c = 0; c < t->ncols; c++)
                for (size_t k = 0; k < maxw[c] + 3; k++)
                    fputc('-', out);
            fputc('\n', out);
        }
    }
    free(maxw);
}

void vmctl_table_free(vmctl_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->width);
    free(t);
}

/* ---- records ---------------------------------------------------------------------------- */

typedef struct rec_field {
    char *label;
    char *text;
    char *key;
    json_object *json; /* NULL means JSON null */
} rec_field;

struct vmctl_rec {
    int width;
    size_t n, cap;
    rec_field *f;
    bool failed; /* out of memory on the way: emit prints what it can */
};

vmctl_rec *vmctl_rec_new(int width)
{
    vmctl_rec *r = calloc(1, sizeof(*r));
    if (r)
        r->width = width;
    return r;
}

/* Takes ownership of text and json. */
static void rec_add(vmctl_rec *r, const char *label, const char *key, char *text,
                    json_object *json)
{
    if (!r || r->failed || !text) {
        if (r)
            r->failed = true;
        free(text);
        json_object_put(json);
        return;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        rec_field *nf = realloc(r->f, cap * sizeof(*nf));
        if (!nf) {
            r->failed = true;
            free(text);
            json_object_put(json);
            return;
        }
        r->f = nf;
        r->cap = cap;
    }
    r->f[r->n++] = (rec_field){strdup(label), text, strdup(key), json};
}

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

void vmctl_rec_str(vmctl_rec *r, const char *label, const char *key, const char *value)
{
    rec_add(r, label, key, strdup(value ? value : ""), json_object_new_string(value ? value : ""));
}

void vmctl_rec_int(vmctl_rec *r, const char *label, const char *key, long long value,
                   const char *suffix)
{
    rec_add(r, label, key, format("%lld%s", value, suffix ? suffix : ""),
            json_object_new_int64(value));
}

void vmctl_rec_uint(vmctl_rec *r, const char *label, const char *key, unsigned long long value,
                    const char *suffix)
{
    rec_add(r, label, key, format("%llu%s", value, suffix ? suffix : ""),
            json_object_new_uint64(value));
}

void vmctl_rec_bool(vmctl_rec *r, const char *label, const char *key, bool value,
                    const char *yes_word, const char *no_word)
{
    rec_add(r, label, key, strdup(value ? yes_word : no_word), json_object_new_boolean(value));
}

void vmctl_rec_null(vmctl_rec *r, const char *label, const char *key, const char *text)
{
    rec_add(r, label, key, strdup(text), NULL);
}

void vmctl_rec_double(vmctl_rec *r, const char *label, const char *key, double value,
                      const char *fmt)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    char *text = format(fmt, value);
#pragma GCC diagnostic pop
    /* JSON keeps the number with the precision the text shows, not %.17g noise. */
    char *plain = format("%.3f", value);
    json_object *j = plain ? json_object_new_double_s(value, plain) : NULL;
    free(plain);
    rec_add(r, label, key, text, j);
}

void vmctl_rec_emit(vmctl_ctx *ctx, vmctl_rec *r)
{
    if (!r)
        return;
    if (ctx->json) {
        json_object *doc = json_object_new_object();
        for (size_t i = 0; i < r->n; i++) {
            json_object_object_add(doc, r->f[i].key, r->f[i].json);
            r->f[i].json = NULL;
        }
        vmctl_json_emit(ctx, doc);
    } else {
        for (size_t i = 0; i < r->n; i++)
            fprintf(ctx->out, "%-*s %s\n", r->width, r->f[i].label, r->f[i].text);
    }
    vmctl_rec_free(r);
}

void vmctl_rec_free(vmctl_rec *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->f[i].label);
        free(r->f[i].text);
        free(r->f[i].key);
        json_object_put(r->f[i].json);
    }
    free(r->f);
    free(r);
}
