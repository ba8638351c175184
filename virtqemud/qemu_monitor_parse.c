/* qemu_monitor_parse.c: QMP without I/O — bytes in, JSON objects out, and the small
 * helpers that read and write QMP messages. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "virtqemud/qemu_monitor.h"

struct qmp_parser {
    json_tokener *tok;
    char *buf; /* bytes fed and not yet handed to the tokener */
    size_t len, pos, cap;
    size_t partial; /* bytes the tokener holds of an unfinished message */
    bool failed;
};

qmp_parser *qmp_parser_new(void)
{
    qmp_parser *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    /* Depth is bounded by json-c's default (32), plenty for QMP. */
    if (!(p->tok = json_tokener_new())) {
        free(p);
        return NULL;
    }
    return p;
}

void qmp_parser_free(qmp_parser *p)
{
    if (!p)
        return;
    json_tokener_free(p->tok);
    free(p->buf);
    free(p);
}

int qmp_parser_feed(qmp_parser *p, const char *buf, size_t len, mv_error *err)
{
    if (p->failed) {
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "QMP stream already failed");
        return -1;
    }
    /* Drop what the tokener has taken, so the buffer holds only unread bytes. */
    if (p->pos > 0) {
        memmove(p->buf, p->buf + p->pos, p->len - p->pos);
        p->len -= p->pos;
        p->pos = 0;
    }
    if (p->len + p->partial + len > QMP_MESSAGE_MAX) {
        p->failed = true;
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "QMP message larger than %u bytes",
                     QMP_MESSAGE_MAX);
        return -1;
    }
    if (p->len + len > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        char *nb;

        while (cap < p->len + len)
            cap *= 2;
        if (!(nb = realloc(p->buf, cap))) {
            mv_error_set_errno(err, ENOMEM, VIR_FROM_QEMU, "cannot buffer QMP input");
            return -1;
        }
        p->buf = nb;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, buf, len);
    p->len += len;
    return 0;
}

static int fail(qmp_parser *p, mv_error *err, const char *why)
{
    p->failed = true;
    mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "cannot parse QMP reply: %s", why);
    return -1;
}

int qmp_parser_next(qmp_parser *p, json_object **msg, mv_error *err)
{
    json_object *obj;
    enum json_tokener_error jerr;
    size_t used;

    *msg = NULL;
    if (p->failed)
        return fail(p, err, "stream already failed");
    /* Between messages QMP sends CRLF; whitespace inside one is the tokener's. */
    if (p->partial == 0)
        while (p->pos < p->len && strchr(" \t\r\n", p->buf[p->pos]))
            p->pos++;
    if (p->pos == p->len)
        return 0;
    obj = json_tokener_parse_ex(p->tok, p->buf + p->pos, (int)(p->len - p->pos));
    jerr = json_tokener_get_error(p->tok);
    used = json_tokener_get_parse_end(p->tok);
    if (jerr == json_tokener_continue) {
        p->partial += p->len - p->pos;
        p->pos = p->len;
        return 0;
    }
    if (jerr != json_tokener_success || !obj) {
        json_object_put(obj);
        return fail(p, err, json_tokener_error_desc(jerr));
    }
    p->pos += used;
    p->partial = 0;
    json_tokener_reset(p->tok);
    if (!json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        return fail(p, err, "a message is not a JSON object");
    }
    *msg = obj;
    return 1;
}

qmp_kind qmp_message_kind(json_object *msg)
{
    json_object *v;

    if (!msg || !json_object_is_type(msg, json_type_object))
        return QMP_KIND_INVALID;
    if (json_object_object_get_ex(msg, "return", NULL))
        return QMP_KIND_RETURN;
    if (json_object_object_get_ex(msg, "error", &v))
        return json_object_is_type(v, json_type_object) ? QMP_KIND_ERROR : QMP_KIND_INVALID;
    if (json_object_object_get_ex(msg, "event", &v))
        return json_object_is_type(v, json_type_string) ? QMP_KIND_EVENT : QMP_KIND_INVALID;
    if (json_object_object_get_ex(msg, "QMP", NULL))
        return QMP_KIND_GREETING;
    return QMP_KIND_INVALID;
}

unsigned long long qmp_message_id(json_object *msg)
{
    json_object *v;
    int64_t id;

    /* Our ids are positive integers; anything else (a string id, a reply to someone
     * else) is not ours. */
    if (!json_object_object_get_ex(msg, "id", &v) || !json_object_is_type(v, json_type_int))
        return 0;
    id = json_object_get_int64(v);
    return id > 0 ? (unsigned long long)id : 0;
}

void qmp_message_error(json_object *msg, const char *cmd, mv_error *err)
{
    json_object *e = NULL, *cls = NULL, *desc = NULL;
    const char *c, *d;

    if (json_object_object_get_ex(msg, "error", &e)) {
        json_object_object_get_ex(e, "class", &cls);
        json_object_object_get_ex(e, "desc", &desc);
    }
    c = cls ? json_object_get_string(cls) : "GenericError";
    d = desc ? json_object_get_string(desc) : "unknown error";
    /* A guest that is not running answers cont/stop etc. with these classes, which
     * callers turn into operation-invalid errors themselves. */
    mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU,
                 "unable to execute QEMU command '%s': %s (%s)", cmd, d, c);
}

char *qmp_format_command(const char *cmd, json_object *args, unsigned long long id)
{
    json_object *o = json_object_new_object();
    const char *s;
    char *out = NULL;

    if (!o)
        return NULL;
    if (json_object_object_add(o, "execute", json_object_new_string(cmd)) < 0 ||
        (args && json_object_object_add(o, "arguments", json_object_get(args)) < 0) ||
        json_object_object_add(o, "id", json_object_new_int64((int64_t)id)) < 0)
        goto cleanup;
    if (!(s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)))
        goto cleanup;
    if (asprintf(&out, "%s\r\n", s) < 0)
        out = NULL;

cleanup:
    json_object_put(o);
    return out;
}
