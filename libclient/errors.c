/* errors.c: libvirt's error API — the per-thread last error, per-connection copies and
 * the error functions. Nothing here prints, except virDefaultErrorFunc when called. */
#include "libclient/client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the per-thread last error -------------------------------------------------------- */

static pthread_key_t error_key;
static pthread_once_t error_once = PTHREAD_ONCE_INIT;

static void error_destroy(void *p)
{
    virFreeError(p);
}

static void error_key_init(void)
{
    pthread_key_create(&error_key, error_destroy);
}

/* This thread's error slot, created on first use; NULL only when out of memory. */
static virErrorPtr thread_error(void)
{
    pthread_once(&error_once, error_key_init);
    virErrorPtr e = pthread_getspecific(error_key);
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (e && pthread_setspecific(error_key, e) != 0) {
            free(e);
            e = NULL;
        }
    }
    return e;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void virResetError(virErrorPtr err)
{
    if (!err)
        return;
    free(err->message);
    free(err->str1);
    free(err->str2);
    free(err->str3);
    memset(err, 0, sizeof(*err));
}

void virFreeError(virErrorPtr err)
{
    virResetError(err);
    free(err);
}

/* to := from (deep copy); to's old content is released first. Returns from's code. */
static int copy_error(const virError *from, virErrorPtr to)
{
    if (!to)
        return from ? from->code : 0;
    virResetError(to);
    if (!from)
        return 0;
    to->code = from->code;
    to->domain = from->domain;
    to->level = from->level;
    to->message = dup_or_null(from->message);
    to->str1 = dup_or_null(from->str1);
    to->str2 = dup_or_null(from->str2);
    to->str3 = dup_or_null(from->str3);
    to->int1 = from->int1;
    to->int2 = from->int2;
    return to->code;
}

virErrorPtr virGetLastError(void)
{
    virErrorPtr e = thread_error();
    return e && e->code != VIR_ERR_OK ? e : NULL;
}

int virGetLastErrorCode(void)
{
    virErrorPtr e = virGetLastError();
    return e ? e->code : VIR_ERR_OK;
}

int virGetLastErrorDomain(void)
{
    virErrorPtr e = virGetLastError();
    return e ? e->domain : VIR_FROM_NONE;
}

const char *virGetLastErrorMessage(void)
{
    virErrorPtr e = virGetLastError();
    if (!e)
        return "no error";
    return e->message ? e->message : "unknown error";
}

void virResetLastError(void)
{
    /* Avoid allocating a slot just to clear it. */
    pthread_once(&error_once, error_key_init);
    virResetError(pthread_getspecific(error_key));
}

virErrorPtr virSaveLastError(void)
{
    virErrorPtr copy = calloc(1, sizeof(*copy));
    if (copy)
        copy_error(virGetLastError(), copy);
    return copy;
}

int virCopyLastError(virErrorPtr to)
{
    return copy_error(virGetLastError(), to);
}

/* ---- per-connection copies ------------------------------------------------------------- */

virErrorPtr virConnGetLastError(virConnectPtr conn)
{
    if (!mvc_conn_valid(conn))
        return NULL;
    return conn->last_error.code != VIR_ERR_OK ? &conn->last_error : NULL;
}

int virConnCopyLastError(virConnectPtr conn, virErrorPtr to)
{
    if (!mvc_conn_valid(conn))
        return -1;
    pthread_mutex_lock(&conn->lock);
    int code = copy_error(conn->last_error.code != VIR_ERR_OK ? &conn->last_error : NULL, to);
    pthread_mutex_unlock(&conn->lock);
    return code;
}

void virConnResetLastError(virConnectPtr conn)
{
    if (!mvc_conn_valid(conn))
        return;
    pthread_mutex_lock(&conn->lock);
    virResetError(&conn->last_error);
    pthread_mutex_unlock(&conn->lock);
}

/* ---- error functions -------------------------------------------------------------------- */

static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;
static virErrorFunc global_handler;
static void *global_handler_data;

void virSetErrorFunc(void *userData, virErrorFunc handler)
{
    pthread_mutex_lock(&handler_lock);
    global_handler = handler;
    global_handler_data = userData;
    pthread_mutex_unlock(&handler_lock);
}

void virConnSetErrorFunc(virConnectPtr conn, void *userData, virErrorFunc handler)
{
    if (!mvc_conn_valid(conn))
        return;
    pthread_mutex_lock(&conn->lock);
    conn->handler = handler;
    conn->handler_data = userData;
    pthread_mutex_unlock(&conn->lock);
}

/* Names of the error domains modvirt raises, as libvirt prints them. */
static const char *domain_label(int domain)
{
    switch (domain) {
    case VIR_FROM_QEMU: return "QEMU Driver";
    case VIR_FROM_RPC: return "RPC";
    case VIR_FROM_REMOTE: return "Remote";
    case VIR_FROM_DOMAIN: return "Domain Config";
    case VIR_FROM_XML: return "XML Util";
    case VIR_FROM_CONF: return "Config File";
    case VIR_FROM_URI: return "URI Utils";
    case VIR_FROM_LXC: return "Linux Container Driver";
    case VIR_FROM_LIBXL: return "xenlight";
    case VIR_FROM_SSH: return "SSH transport layer";
    default: return "";
    }
}

void virDefaultErrorFunc(virErrorPtr err)
{
    if (!err || err->code == VIR_ERR_OK)
        return;
    const char *level = err->level == VIR_ERR_WARNING ? "warning" : "error";
    const char *msg = err->message ? err->message : "unknown error";
    size_t len = strlen(msg);
    fprintf(stderr, "libvirt: %s %s : %s%s", domain_label(err->domain), level, msg,
            len && msg[len - 1] == '\n' ? "" : "\n");
}

void mvc_dispatch_error(virConnectPtr conn, mv_error *err)
{
    if (!mv_error_is_set(err))
        mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE,
                     "an error occurred, but the cause is unknown");
    virErrorPtr e = thread_error();
    if (!e) {
        mv_error_clear(err);
        return;
    }
    virResetError(e);
    e->code = err->code;
    e->domain = err->domain;
    e->level = VIR_ERR_ERROR;
    e->message = err->message; /* taken over */
    err->message = NULL;
    mv_error_clear(err);

    virErrorFunc handler = NULL;
    void *data = NULL;
    if (mvc_conn_valid(conn)) {
        pthread_mutex_lock(&conn->lock);
        copy_error(e, &conn->last_error);
        handler = conn->handler;
        data = conn->handler_data;
        pthread_mutex_unlock(&conn->lock);
    }
    if (!handler) {
        pthread_mutex_lock(&handler_lock);
        handler = global_handler;
        data = global_handler_data;
        pthread_mutex_unlock(&handler_lock);
    }
    /* libvirt prints through virDefaultErrorFunc when no handler is set; modvirt's
     * library code never prints, so then the error is only recorded. */
    if (handler)
        handler(data, e);
}
