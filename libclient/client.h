/* client.h: libmodvirt's internals — the objects behind virConnectPtr and virDomainPtr,
 * and the map of libclient/:
 *
 *   connect.c    public virConnect* / virNode* entry points (thin guards)
 *   domain.c     public virDomain* entry points (thin guards)
 *   guard.c      argument checks, read-only refusal, the generic call, objects' refs
 *   errors.c     libvirt's error API: per-thread last error, dispatch, error functions
 *   target.c     where a URI leads: default URI, local socket or ssh tunnel (pure parts)
 *   transport.c  opening the stream: local socket (starting virtproxyd) or ssh tunnel
 *   rpc.c        one stream to virtproxyd multiplexed by serial (see rpc.h)
 *   keepalive.c  keepalive decision and serial numbering, pure
 *   auth.c       virConnectAuthPtrDefault
 *   ssh_helper.c modvirt-ssh-helper, the remote end of ssh tunnels (its own program)
 *   event_loop.c libvirt's event loop API and the default poll() loop
 *   events.c     domain event registrations, delivery from the event loop
 *   stream.c     virStream and virDomainOpenConsole
 *
 * A public function resets the thread's error, checks its arguments, refuses writes on
 * read-only connections, makes one table-driven call and dispatches any error. */
#ifndef MVC_CLIENT_H
#define MVC_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include <modvirt/modvirt.h>
#include "common/error.h"
#include "common/uri.h"
#include "libclient/rpc.h"

#define MVC_CONN_MAGIC 0x6d76636fu /* "mvco" */
#define MVC_DOM_MAGIC 0x6d76646fu  /* "mvdo" */

/* The open stream and what it is made of (transport.c). */
typedef struct mvc_stream {
    int fd;            /* connected stream socket (UNIX socket or socketpair to ssh) */
    pid_t child;       /* the ssh process of a tunnel, or -1 */
    int child_stderr;  /* read end of ssh's stderr, or -1 */
    bool secure;       /* virConnectIsSecure */
    bool encrypted;    /* virConnectIsEncrypted */
    char *peer;        /* names the other end in messages */
} mvc_stream;

struct _virConnect {
    unsigned int magic;
    int refs; /* atomic */
    unsigned int flags; /* virConnectFlags */
    mvc_rpc *rpc;
    pid_t child;      /* ssh process to reap on close, or -1 */
    int child_stderr; /* its stderr, or -1 */
    bool secure, encrypted;

    pthread_mutex_t lock; /* the fields below */
    char *uri;            /* canonical URI from the daemon */
    char *type;           /* cached virConnectGetType answer */
    virError last_error;  /* copy of the last error raised on this connection */
    virErrorFunc handler;
    void *handler_data;
    virConnectCloseFunc close_cb;
    void *close_opaque;
    virFreeCallback close_free;
    bool close_fired;
    struct mvc_events *events; /* event callbacks and streams (events.c); set once opened */
};

struct _virDomain {
    unsigned int magic;
    int refs; /* atomic */
    virConnectPtr conn; /* holds a reference */
    char *name;
    unsigned char uuid[VIR_UUID_BUFLEN];
    int id; /* -1 while inactive */
};

/* ---- errors.c ----------------------------------------------------------------------- */

/* Records err as the thread's last error (and conn's, when given), then calls the
 * connection's error function, else the global one. err is cleared. */
void mvc_dispatch_error(virConnectPtr conn, mv_error *err);

/* ---- guard.c ----------------------------------------------------------------------- */

bool mvc_conn_valid(virConnectPtr conn);
bool mvc_dom_valid(virDomainPtr dom);

/* Checks that fail set err naming the public function `fn`, libvirt style. */
int mvc_check_conn(virConnectPtr conn, const char *fn, mv_error *err);
int mvc_check_dom(virDomainPtr dom, const char *fn, mv_error *err);
int mvc_check_nonnull(const void *arg, const char *argname, const char *fn, mv_error *err);
/* Refuses procedure `proc` on a read-only connection when the table marks it RW. */
int mvc_check_writable(virConnectPtr conn, unsigned int proc, const char *fn, mv_error *err);

/* The generic call: sends args (NULL: empty) for proc, returns the reply in *ret. */
int mvc_call(virConnectPtr conn, unsigned int proc, const void *args, void *ret,
            mv_error *err);
/* Frees a reply returned by mvc_call (NULL tolerated). */
void mvc_reply_free(void *ret);

void mvc_conn_ref(virConnectPtr conn);
int mvc_conn_unref(virConnectPtr conn); /* remaining references; frees at 0 */

/* A new virDomainPtr for a domain as the wire describes it (holds a conn ref). */
virDomainPtr mvc_domain_new(virConnectPtr conn, const char *name, const unsigned char *uuid,
                           size_t uuid_len, int id, mv_error *err);

/* domain.c: the wire's picture of a domain handle (borrows dom's strings). */
void mvc_domain_to_wire(virDomainPtr dom, Modvirt__Domain *w);
/* domain.c: the calls about one domain that take only flags — reset the last error,
 * guard, call, and on failure dispatch. The reply (free with mvc_reply_free), or NULL. */
void *mvc_domain_flags_call(virDomainPtr dom, unsigned int proc, unsigned int flags,
                            const char *fn);

/* ---- event_loop.c, events.c, stream.c ------------------------------------------------- */

typedef struct mvc_events mvc_events;
typedef struct mvc_stream_list {
    virStreamPtr head;
} mvc_stream_list;

bool mvc_event_loop_registered(void);

mvc_events *mvc_events_new(mv_error *err);
/* At the connection's end (no callback or stream can be left: each holds a reference). */
void mvc_events_free(mvc_events *ev);
/* Adds the connection's watch to the event loop once (needs a registered loop). */
int mvc_events_watch(mvc_events *ev, mv_error *err);
/* The lock guarding registrations, queued events and every stream of the connection. */
void mvc_events_lock(mvc_events *ev);
void mvc_events_unlock(mvc_events *ev);
int mvc_events_timedwait(mvc_events *ev, pthread_cond_t *cond, const struct timespec *until);
/* Wakes the connection's watch on the loop. */
void mvc_events_kick(mvc_events *ev);
mvc_stream_list *mvc_events_streams(mvc_events *ev);
/* The rpc's frame callback: events and stream data, on the reader thread. */
void mvc_conn_on_frame(void *opaque, const Modvirt__Envelope *env);
/* stream.c: a stream frame arrived (reader thread); run due stream callbacks (loop). */
void mvc_streams_frame(virConnectPtr conn, const Modvirt__Envelope *env);
void mvc_streams_dispatch(mvc_events *ev);
/* The connection died: blocked Recv calls return, stream callbacks run with ERROR. */
void mvc_streams_wake(mvc_events *ev);

/* ---- target.c ----------------------------------------------------------------------- */

/* The URI a NULL or empty name means: MODVIRT_DEFAULT_URI, else LIBVIRT_DEFAULT_URI,
 * else qemu:///system for root and qemu:///session for others. Pure: the caller passes
 * the environment's values. */
const char *mvc_default_uri(const char *modvirt_default, const char *libvirt_default,
                           uid_t euid);

/* The remote command an ssh tunnel runs, as one string for the remote shell: the
 * helper name and the transport-less URI, single-quoted. NULL + err when the URI holds
 * characters that cannot be passed safely. */
char *mvc_ssh_remote_command(const char *helper, const char *uri, bool readonly,
                            mv_error *err);

/* The argv for ssh (NULL-terminated, malloc'd strings; free with mvc_argv_free). */
char **mvc_ssh_argv(const mv_uri *u, const char *remote_command, mv_error *err);
void mvc_argv_free(char **argv);

/* ---- transport.c ----------------------------------------------------------------------- */

/* Opens the stream a parsed URI leads to. *wire_uri gets the URI to send in OPEN. */
int mvc_stream_open(const mv_uri *u, bool readonly, mvc_stream *out, char **wire_uri,
                   mv_error *err);
/* Appends what ssh said on stderr (if anything) to err's message. */
void mvc_stream_explain(int child_stderr, mv_error *err);
/* Reaps the ssh process of a tunnel (after its socket was closed). */
void mvc_stream_reap(pid_t child, int child_stderr);

#endif
