/* fixture_daemon.h: what the unit tests of the daemon runtimes share — a daemon's main run
 * on a thread of the test under a fresh MODVIRT_ROOT (up once it says READY=1, stopped by
 * SIGTERM), and a peer that speaks frames over a socket, asserting every step (cmocka). */
#ifndef MV_FIXTURE_DAEMON_H
#define MV_FIXTURE_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/daemon/driver.h"
#include "common/error.h"
#include "common/frame.h"

/* ---- a daemon on a thread ---- */

typedef struct fx_daemon {
    char root[64];     /* /tmp/<name>.XXXXXX */
    char run_dir[128]; /* <root>/run/modvirt */
    int notify_fd;     /* where its sd_notify messages arrive */
    pthread_t thread;
    bool started;
    int (*run)(void *opaque); /* the daemon's main, returning its exit status */
    void *opaque;
    int status;
    char sock[192]; /* fx_daemon_start_driver: <run_dir>/<daemon_name>-sock */
} fx_daemon;

/* Creates /tmp/<name>.XXXXXX, exports it as MODVIRT_ROOT, clears LISTEN_FDS/LISTEN_PID (no
 * socket activation) and binds the notify socket it exports as NOTIFY_SOCKET. 0 or -1. */
int fx_daemon_root(fx_daemon *d, const char *name);
/* Runs run(opaque) on a thread and returns once it has sent READY=1; the test fails when
 * it sends STOPPING=1 first or nothing within 20 s. 0, or -1 when no thread could start. */
int fx_daemon_start(fx_daemon *d, int (*run)(void *opaque), void *opaque);
/* fx_daemon_root, then fx_daemon_start of the shared daemon runtime (mv_daemon_main)
 * serving drv, named drv->daemon_name; d->sock is its socket. 0 or -1. */
int fx_daemon_start_driver(fx_daemon *d, const char *name, const mv_driver *drv);
/* A test driver's connect_open: any URI is accepted and answered back. */
int fx_driver_connect_open(mv_call *call, const Modvirt__ConnectOpenArgs *a,
                           Modvirt__ConnectOpenRet *r);
/* SIGTERM (libuv hands it to the daemon's loop), joins the thread, closes the notify
 * socket, removes the root. 0 when the daemon's main returned 0. */
int fx_daemon_stop(fx_daemon *d);

/* ---- a peer speaking frames ---- */

typedef struct fx_peer {
    int fd;
    mv_frame_reader r;
    uint8_t last[4096]; /* the last frame's envelope bytes, to compare */
    size_t last_len;
} fx_peer;

/* Takes fd. */
void fx_peer_init(fx_peer *p, int fd);
/* Connects to the UNIX socket at path; the test fails when it cannot. */
void fx_peer_connect(fx_peer *p, const char *path);
void fx_peer_close(fx_peer *p);
/* Writes all of data; the test fails on a short write. */
void fx_peer_send_raw(fx_peer *p, const void *data, size_t len);
/* Sends one frame (e: the error of an ERROR frame, else NULL). */
void fx_peer_send(fx_peer *p, uint32_t serial, Modvirt__FrameKind kind, uint32_t proc,
                  const ProtobufCMessage *body, const mv_error *e);
/* Sends the frame spec describes (stream data, credit: anything mv_frame_build takes). */
void fx_peer_send_spec(fx_peer *p, const mv_frame_spec *spec);
/* Sends a CALL frame. */
void fx_peer_call(fx_peer *p, uint32_t serial, uint32_t proc, const ProtobufCMessage *body);
/* The next frame, unpacked (free with mv_envelope_free), its bytes kept in p->last; NULL
 * when the other side closed. The test fails when none comes within timeout_ms. */
Modvirt__Envelope *fx_peer_next(fx_peer *p, int timeout_ms);
/* The same, but NULL when none comes within timeout_ms (to show that nothing does); the
 * test fails when the other side closed. */
Modvirt__Envelope *fx_peer_poll(fx_peer *p, int timeout_ms);
/* The next frame must be the REPLY to serial; returns it (free with mv_envelope_free). */
Modvirt__Envelope *fx_peer_expect_reply(fx_peer *p, uint32_t serial);
/* The next frame must be an ERROR for serial with this code and text in its message. */
void fx_peer_expect_error(fx_peer *p, uint32_t serial, int code, const char *text);

#endif
