/* domain_schema_devices.c: the rest of <devices> — network interfaces, character devices
 * (serial, parallel, console, channel), inputs, graphics, sound, audio, video, USB
 * redirection and hubs, watchdog, memory balloon, RNG, panic, IOMMU, vsock. */
#include "common/domain/domain_schema.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "common/str.h"

#define A_VIRTIO(T)                                                                          \
    A_ONOFF(T, "iommu", virtio.iommu), A_ONOFF(T, "ats", virtio.ats),                       \
        A_ONOFF(T, "packed", virtio.packed), A_ONOFF(T, "page_per_vq", virtio.page_per_vq)
#define C_VIRTIO_DRIVER(T) C_EMBED(T, "driver", mv_schema_virtio_driver, virtio)

/* ---- <interface> ---- */
#define N mv_domain_net
static const char *const net_types[] = {"user", "network", "bridge", "ethernet", NULL};
static const char *const net_driver_names[] = {"qemu", "vhost", NULL};
static const char *const net_txmodes[] = {"iothread", "timer", NULL};
static const char *const link_states[] = {"up", "down", NULL};

static const mv_xml_elem net_mac = {
    .attrs = (const mv_xml_attr[]){A_MAC(N, "address", mac), A_YESNO(N, "check", mac_check),
                                   A_END}};
static const mv_xml_elem net_source = {
    .attrs = (const mv_xml_attr[]){A_STR(N, "network", source_network),
                                   A_STR(N, "portgroup", source_portgroup),
                                   A_STR(N, "bridge", source_bridge), A_END}};
static const mv_xml_elem net_script = {
    .attrs = (const mv_xml_attr[]){A_STR(N, "path", script), A_END}};
static const mv_xml_elem net_target = {
    .attrs = (const mv_xml_attr[]){A_STR(N, "dev", target_dev),
                                   A_YESNO(N, "managed", target_managed), A_END}};
static const mv_xml_elem net_model = {
    .attrs = (const mv_xml_attr[]){A_STR(N, "type", model), A_END}};
static const mv_xml_elem net_driver = {
    .attrs = (const mv_xml_attr[]){A_ENUM(N, "name", driver_name, net_driver_names),
                                   A_ENUM(N, "txmode", driver_txmode, net_txmodes),
                                   A_ONOFF(N, "ioeventfd", driver_ioeventfd),
                                   A_ONOFF(N, "event_idx", driver_event_idx),
                                   A_INTR(N, "queues", driver_queues, 1, INT_MAX),
                                   A_INTR(N, "rx_queue_size", driver_rx_queue_size, 1, INT_MAX),
                                   A_INTR(N, "tx_queue_size", driver_tx_queue_size, 1, INT_MAX),
                                   A_VIRTIO(N), A_END}};
static const mv_xml_elem net_backend = {
    .attrs = (const mv_xml_attr[]){A_STR(N, "tap", backend_tap), A_STR(N, "vhost", backend_vhost),
                                   A_END}};
static const mv_xml_elem net_link = {
    .attrs = (const mv_xml_attr[]){A_ENUM(N, "state", link_state, link_states), A_END}};
static const mv_xml_elem net_mtu = {
    .attrs = (const mv_xml_attr[]){A_INTR(N, "size", mtu, 1, INT_MAX), A_END}};
static const mv_xml_elem net_rom = {
    .attrs = (const mv_xml_attr[]){A_ONOFF(N, "bar", rom_bar), A_STR(N, "file", rom_file),
                                   A_YESNO(N, "enabled", rom_enabled), A_END}};

static bool power_of_two(int v)
{
    return v > 0 && (v & (v - 1)) == 0;
}

static int net_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    N *n = obj;

    if (!n->type) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<interface> needs a type");
        return -1;
    }
    if ((n->source_network || n->source_portgroup) && !mv_streq(n->type, "network")) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "<source network=...> is for <interface type='network'>, not '%s'",
                     n->type);
        return -1;
    }
    if (n->source_bridge && !mv_streq(n->type, "bridge")) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "<source bridge=...> is for <interface type='bridge'>, not '%s'", n->type);
        return -1;
    }
    if (mv_streq(n->type, "network") && !n->source_network) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "<interface type='network'> needs <source network='...'/>");
        return -1;
    }
    if (mv_streq(n->type, "bridge") && !n->source_bridge) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "<interface type='bridge'> needs <source bridge='...'/>");
        return -1;
    }
    if (n->model) {
        for (const char *p = n->model; *p; p++) {
            if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') {
                mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                             "invalid value '%s' for attribute 'type' of <model>: a model "
                             "name has only letters, digits, '_' and '-'",
                             n->model);
                return -1;
            }
        }
    }
    if ((n->driver_rx_queue_size != MV_UNSET && !power_of_two(n->driver_rx_queue_size)) ||
        (n->driver_tx_queue_size != MV_UNSET && !power_of_two(n->driver_tx_queue_size))) {
        mv_xml_error(err, VIR_ERR_CONFIG_UNSUPPORTED, node,
                     "rx_queue_size and tx_queue_size have to be powers of two");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_interface = {
    .name = "interface",
    .size = sizeof(N),
    .attrs = (const mv_xml_attr[]){A_ENUM(N, "type", type, net_types),
                                   A_YESNO(N, "trustGuestRxFilters", trust_guest_rx_filters),
                                   A_END},
    .children = (const mv_xml_child[]){C_FLAT("mac", net_mac), C_FLAT("source", net_source),
                                       C_FLAT("script", net_script), C_FLAT("target", net_target),
                                       C_FLAT("model", net_model), C_FLAT("driver", net_driver),
                                       C_FLAT("backend", net_backend), C_FLAT("link", net_link),
                                       C_FLAT("mtu", net_mtu), C_DEVICE_BOOT(N),
                                       C_DEVICE_ALIAS(N), C_FLAT("rom", net_rom),
                                       C_DEVICE_ADDRESS(N), C_END},
    .check = net_check};
#undef N

/* ---- character devices ---- */
#define CH mv_domain_chr
static const char *const chr_types[] = {"pty", "unix", "file", "null", "vc", "stdio", "tcp",
                                        "pipe", "dev", "spicevmc", "spiceport", "qemu-vdagent",
                                        NULL};
static const char *const chr_modes[] = {"bind", "connect", NULL};
static const char *const chr_protocols[] = {"raw", "telnet", "telnets", "tls", NULL};
static const char *const serial_targets[] = {"isa-serial", "usb-serial", "pci-serial",
                                             "isa-debug", NULL};
static const char *const serial_models[] = {"isa-serial", "usb-serial", "pci-serial",
                                            "isa-debugcon", NULL};
static const char *const console_targets[] = {"serial", "virtio", NULL};
static const char *const channel_targets[] = {"virtio", "guestfwd", NULL};
static const char *const channel_states[] = {"connected", "disconnected", NULL};

static bool is_pty(const void *obj)
{
    return mv_streq(((const CH *)obj)->type, "pty");
}
/* A pty's path is what the running guest got: live XML only. */
static bool omit_pty_path(const void *obj, unsigned int flags)
{
    return is_pty(obj) && mv_schema_inactive(flags);
}
static bool omit_tty(const void *obj, unsigned int flags)
{
    return mv_schema_inactive(flags);
}

static const mv_xml_elem chr_reconnect = {
    .attrs = (const mv_xml_attr[]){A_YESNO(CH, "enabled", reconnect_enabled),
                                   A_INT(CH, "timeout", reconnect_timeout), A_END}};
static const mv_xml_elem chr_source = {
    .attrs = (const mv_xml_attr[]){A_ENUM(CH, "mode", source_mode, chr_modes),
                                   A_STR(CH, "host", source_host),
                                   A_STR(CH, "service", source_service),
                                   {.name = "path", .kind = MV_XK_STRING,
                                    .offset = offsetof(CH, source_path), .omit = omit_pty_path},
                                   A_ONOFF(CH, "append", source_append),
                                   A_STR(CH, "channel", source_channel),
                                   A_YESNO(CH, "tls", source_tls), A_END},
    .children = (const mv_xml_child[]){C_FLAT("reconnect", chr_reconnect), C_END}};
static const mv_xml_elem chr_protocol = {
    .attrs = (const mv_xml_attr[]){A_ENUM(CH, "type", protocol, chr_protocols), A_END}};
static const mv_xml_elem chr_log = {
    .attrs = (const mv_xml_attr[]){A_STR(CH, "file", log_file), A_ONOFF(CH, "append", log_append),
                                   A_END}};

static const mv_xml_elem serial_target_model = {
    .attrs = (const mv_xml_attr[]){A_ENUM(CH, "name", target_model, serial_models), A_END}};
static const mv_xml_elem serial_target = {
    .attrs = (const mv_xml_attr[]){A_ENUM(CH, "type", target_type, serial_targets),
                                   A_INT(CH, "port", target_port), A_END},
    .children = (const mv_xml_child[]){C_FLAT("model", serial_target_model), C_END}};
static const mv_xml_elem parallel_target = {
    .attrs = (const mv_xml_attr[]){A_INT(CH, "port", target_port), A_END}};
static const mv_xml_elem console_target = {
    .attrs = (const mv_xml_attr[]){A_ENUM(CH, "type", target_type, console_targets),
                                   A_INT(CH, "port", target_port), A_END}};
static const mv_xml_elem channel_target = {
    .attrs = (const mv_xml_attr[]){A_ENUM(CH, "type", target_type, channel_targets),
                                   A_STR(CH, "name", target_name),
                                   A_ENUM(CH, "state", target_state, channel_states),
                                   A_STR(CH, "address", target_address),
                                   A_INT(CH, "port", target_port), A_END}};

/* Source rules shared by every character device (also rng's egd backend, redirdev). */
static int chr_source_check(CH *c, bool path_optional, const xmlNode *node, unsigned int flags,
                            mv_error *err)
{
    const char *t = c->type;

    if (!t) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<%s> needs a type", (const char *)node->name);
        return -1;
    }
    if (mv_streq(t, "pty") && !(flags & MV_DOMAIN_DEF_PARSE_LIVE)) {
        free(c->source_path); /* runtime state, as libvirt ignores it on define */
        c->source_path = NULL;
    }
    if (!(flags & MV_DOMAIN_DEF_PARSE_LIVE)) {
        free(c->tty);
        c->tty = NULL;
    }
    if (!c->source_path && !path_optional &&
        (mv_streq(t, "unix") || mv_streq(t, "file") || mv_streq(t, "pipe") || mv_streq(t, "dev"))) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "missing source path attribute for <%s type='%s'>",
                     (const char *)node->name, t);
        return -1;
    }
    if (mv_streq(t, "tcp") && !c->source_service) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "missing source service attribute for <%s type='tcp'>",
                     (const char *)node->name);
        return -1;
    }
    if (c->reconnect_enabled == MV_TRISTATE_YES) {
        if (!mv_streq(c->source_mode, "connect")) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "chardev reconnect is possible only for connect mode");
            return -1;
        }
        if (c->reconnect_timeout == 0) {
            mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                         "chardev reconnect source timeout cannot be '0'");
            return -1;
        }
    }
    return 0;
}

static int chr_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    return chr_source_check(obj, false, node, flags, err);
}

static int channel_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    CH *c = obj;

    if (!c->target_type) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<channel> needs <target type='...'/>");
        return -1;
    }
    if (mv_streq(c->target_type, "guestfwd") && (!c->target_address || c->target_port == MV_UNSET)) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "guestfwd <channel> needs target 'address' and 'port'");
        return -1;
    }
    /* libvirt generates the socket path of a virtio channel bound to a unix socket */
    return chr_source_check(c, mv_streq(c->target_type, "virtio"), node, flags, err);
}

#define CHR_ATTRS                                                                             \
    (const mv_xml_attr[])                                                                    \
    {                                                                                        \
        A_ENUM(CH, "type", type, chr_types),                                                 \
            {.name = "tty", .kind = MV_XK_STRING, .offset = offsetof(CH, tty),               \
             .omit = omit_tty},                                                              \
            A_END                                                                            \
    }
#define CHR_CHILDREN(TARGET)                                                                 \
    (const mv_xml_child[])                                                                   \
    {                                                                                        \
        C_FLAT("source", chr_source), C_FLAT("protocol", chr_protocol),                      \
            C_FLAT("log", chr_log), C_FLAT("target", TARGET), C_DEVICE_INFO_NOBOOT(CH), C_END \
    }

const mv_xml_elem mv_schema_serial = {.name = "serial",
                                      .size = sizeof(CH),
                                      .attrs = CHR_ATTRS,
                                      .children = CHR_CHILDREN(serial_target),
                                      .check = chr_check};
const mv_xml_elem mv_schema_parallel = {.name = "parallel",
                                        .size = sizeof(CH),
                                        .attrs = CHR_ATTRS,
                                        .children = CHR_CHILDREN(parallel_target),
                                        .check = chr_check};
const mv_xml_elem mv_schema_console = {.name = "console",
                                       .size = sizeof(CH),
                                       .attrs = CHR_ATTRS,
                                       .children = CHR_CHILDREN(console_target),
                                       .check = chr_check};
const mv_xml_elem mv_schema_channel = {.name = "channel",
                                       .size = sizeof(CH),
                                       .attrs = CHR_ATTRS,
                                       .children = CHR_CHILDREN(channel_target),
                                       .check = channel_check};
#undef CH

/* ---- <input> ---- */
#define IN mv_domain_input
static const char *const input_types[] = {"mouse", "tablet", "keyboard", "passthrough", "evdev",
                                          NULL};
static const char *const input_buses[] = {"ps2", "usb", "virtio", "xen", "none", NULL};
static const char *const grabs[] = {"all", NULL};
static const char *const grab_toggles[] = {"ctrl-ctrl", "alt-alt", "shift-shift", "meta-meta",
                                           "scrolllock", "ctrl-scrolllock", NULL};
static const mv_xml_elem input_source = {
    .attrs = (const mv_xml_attr[]){A_STR(IN, "evdev", source_evdev), A_STR(IN, "dev", source_dev),
                                   A_ENUM(IN, "grab", source_grab, grabs),
                                   A_ENUM(IN, "grabToggle", source_grab_toggle, grab_toggles),
                                   A_ONOFF(IN, "repeat", source_repeat), A_END}};

static int input_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    IN *in = obj;

    if (!in->type) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<input> needs a type");
        return -1;
    }
    if (mv_streq(in->type, "passthrough") && !in->source_evdev) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "<input type='passthrough'> needs <source evdev='...'/>");
        return -1;
    }
    if (mv_streq(in->type, "evdev") && !in->source_dev) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<input type='evdev'> needs <source dev='...'/>");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_input = {
    .name = "input",
    .size = sizeof(IN),
    .attrs = (const mv_xml_attr[]){A_ENUM(IN, "type", type, input_types),
                                   A_ENUM(IN, "bus", bus, input_buses),
                                   A_ENUM(IN, "model", model, mv_values_virtio_models), A_END},
    .children = (const mv_xml_child[]){C_VIRTIO_DRIVER(IN), C_FLAT("source", input_source),
                                       C_DEVICE_INFO_NOBOOT(IN), C_END},
    .check = input_check};
#undef IN

/* ---- <graphics> ---- */
#define G mv_domain_graphics
static const char *const graphics_types[] = {"vnc", "spice", "egl-headless", "sdl", "dbus", NULL};
static const char *const listen_types[] = {"address", "network", "socket", "none", NULL};
static const char *const connected_policies[] = {"keep", "disconnect", "fail", NULL};
static const char *const share_policies[] = {"allow-exclusive", "force-shared", "ignore", NULL};
static const char *const spice_modes[] = {"secure", "insecure", "any", NULL};
static const char *const spice_channels[] = {"main", "display", "inputs", "cursor", "playback",
                                             "record", "smartcard", "usbredir", NULL};
static const char *const image_compressions[] = {"auto_glz", "auto_lz", "quic", "glz", "lz",
                                                 "off", NULL};
static const char *const auto_never_always[] = {"auto", "never", "always", NULL};
static const char *const streaming_modes[] = {"filter", "all", "off", NULL};
static const char *const mouse_modes[] = {"server", "client", NULL};

/* With autoport, the port in a running guest's XML is the one it got. */
static bool omit_auto_port(const void *obj, unsigned int flags)
{
    const G *g = obj;

    return mv_schema_inactive(flags) && g->autoport == MV_TRISTATE_YES && g->port >= 0;
}
static bool omit_auto_tls_port(const void *obj, unsigned int flags)
{
    const G *g = obj;

    return mv_schema_inactive(flags) && g->autoport == MV_TRISTATE_YES && g->tls_port >= 0;
}
static bool omit_password(const void *obj, unsigned int flags)
{
    return !(flags & MV_DOMAIN_DEF_FORMAT_SECURE);
}

#define GL mv_domain_graphics_listen
static const mv_xml_elem graphics_listen = {
    .size = sizeof(GL),
    .attrs = (const mv_xml_attr[]){A_ENUM(GL, "type", type, listen_types),
                                   A_STR(GL, "address", address), A_STR(GL, "network", network),
                                   A_STR(GL, "socket", socket), A_END}};
#undef GL
static const mv_xml_elem graphics_channel = {
    .size = sizeof(mv_domain_graphics_channel),
    .attrs = (const mv_xml_attr[]){A_ENUM(mv_domain_graphics_channel, "name", name, spice_channels),
                                   A_ENUM(mv_domain_graphics_channel, "mode", mode, spice_modes),
                                   A_END}};
static const mv_xml_elem graphics_image = {
    .attrs = (const mv_xml_attr[]){
        A_ENUM(G, "compression", image_compression, image_compressions), A_END}};
static const mv_xml_elem graphics_jpeg = {
    .attrs = (const mv_xml_attr[]){A_ENUM(G, "compression", jpeg_compression, auto_never_always),
                                   A_END}};
static const mv_xml_elem graphics_zlib = {
    .attrs = (const mv_xml_attr[]){A_ENUM(G, "compression", zlib_compression, auto_never_always),
                                   A_END}};
static const mv_xml_elem graphics_playback = {
    .attrs = (const mv_xml_attr[]){A_ONOFF(G, "compression", playback_compression), A_END}};
static const mv_xml_elem graphics_streaming = {
    .attrs = (const mv_xml_attr[]){A_ENUM(G, "mode", streaming_mode, streaming_modes), A_END}};
static const mv_xml_elem graphics_mouse = {
    .attrs = (const mv_xml_attr[]){A_ENUM(G, "mode", mouse_mode, mouse_modes), A_END}};
static const mv_xml_elem graphics_clipboard = {
    .attrs = (const mv_xml_attr[]){A_YESNO(G, "copypaste", clipboard_copypaste), A_END}};
static const mv_xml_elem graphics_filetransfer = {
    .attrs = (const mv_xml_attr[]){A_YESNO(G, "enable", filetransfer_enable), A_END}};
static const mv_xml_elem graphics_gl = {
    .attrs = (const mv_xml_attr[]){A_YESNO(G, "enable", gl_enable),
                                   A_STR(G, "rendernode", gl_rendernode), A_END}};
static const mv_xml_elem graphics_audio = {
    .attrs = (const mv_xml_attr[]){A_INTR(G, "id", audio_id, 1, 255), A_END}};

static int graphics_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    if (!((G *)obj)->type) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<graphics> needs a type");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_graphics = {
    .name = "graphics",
    .size = sizeof(G),
    .attrs =
        (const mv_xml_attr[]){
            A_ENUM(G, "type", type, graphics_types), A_STR(G, "socket", socket),
            {.name = "port", .kind = MV_XK_SINT, .offset = offsetof(G, port), .min = -1,
             .max = 65535, .omit = omit_auto_port},
            {.name = "tlsPort", .kind = MV_XK_SINT, .offset = offsetof(G, tls_port), .min = -1,
             .max = 65535, .omit = omit_auto_tls_port},
            A_YESNO(G, "autoport", autoport), A_SINT(G, "websocket", websocket, -1, 65535),
            A_STR(G, "listen", listen), A_STR(G, "keymap", keymap),
            A_ENUM(G, "defaultMode", default_mode, spice_modes),
            A_ENUM(G, "sharePolicy", share_policy, share_policies),
            {.name = "passwd", .kind = MV_XK_STRING, .offset = offsetof(G, passwd),
             .omit = omit_password},
            A_STR(G, "passwdValidTo", passwd_valid_to),
            A_ENUM(G, "connected", connected, connected_policies),
            A_YESNO(G, "powerControl", power_control), A_STR(G, "display", display),
            A_STR(G, "xauth", xauth), A_YESNO(G, "fullscreen", fullscreen),
            A_YESNO(G, "p2p", p2p), A_STR(G, "address", address), A_END},
    .children =
        (const mv_xml_child[]){C_LIST(G, "listen", graphics_listen, listens, nlistens),
                               C_LIST(G, "channel", graphics_channel, channels, nchannels),
                               C_FLAT("image", graphics_image), C_FLAT("jpeg", graphics_jpeg),
                               C_FLAT("zlib", graphics_zlib),
                               C_FLAT("playback", graphics_playback),
                               C_FLAT("streaming", graphics_streaming),
                               C_FLAT("mouse", graphics_mouse),
                               C_FLAT("clipboard", graphics_clipboard),
                               C_FLAT("filetransfer", graphics_filetransfer),
                               C_FLAT("gl", graphics_gl), C_FLAT("audio", graphics_audio), C_END},
    .check = graphics_check};
#undef G

const char *mv_domain_graphics_listen_address(const mv_domain_graphics *g)
{
    if (g->listen)
        return g->listen;
    for (size_t i = 0; i < g->nlistens; i++)
        if (mv_streq(g->listens[i].type, "address") && g->listens[i].address)
            return g->listens[i].address;
    return NULL;
}

/* ---- <sound> and <audio> ---- */
#define SO mv_domain_sound
static const char *const sound_models[] = {"sb16", "es1370", "pcspk", "ac97", "ich6",
                                           "ich7", "ich9", "usb", "virtio", NULL};
static const char *const codec_types[] = {"duplex", "micro", "output", NULL};
static const mv_xml_elem sound_codec = {
    .size = sizeof(mv_domain_sound_codec),
    .attrs = (const mv_xml_attr[]){A_ENUM(mv_domain_sound_codec, "type", type, codec_types),
                                   A_END}};
static const mv_xml_elem sound_audio = {
    .attrs = (const mv_xml_attr[]){A_INTR(SO, "id", audio_id, 1, 255), A_END}};

static int sound_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    if (!((SO *)obj)->model) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<sound> needs a model");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_sound = {
    .name = "sound",
    .size = sizeof(SO),
    .attrs = (const mv_xml_attr[]){A_ENUM(SO, "model", model, sound_models),
                                   A_YESNO(SO, "multichannel", multichannel), A_END},
    .children = (const mv_xml_child[]){C_LIST(SO, "codec", sound_codec, codecs, ncodecs),
                                       C_FLAT("audio", sound_audio), C_DEVICE_INFO_NOBOOT(SO),
                                       C_END},
    .check = sound_check};
#undef SO

#define AU mv_domain_audio
#define IO mv_domain_audio_io
static const char *const audio_types[] = {"none", "alsa", "coreaudio", "jack", "oss",
                                          "pulseaudio", "sdl", "spice", "file", "dbus",
                                          "pipewire", NULL};
static const char *const sdl_drivers[] = {"esd", "alsa", "arts", "pulseaudio", NULL};
static const char *const sample_formats[] = {"s8", "u8", "s16", "u16", "s32", "u32", "f32", NULL};
static const mv_xml_elem audio_settings = {
    .attrs = (const mv_xml_attr[]){A_INT(IO, "frequency", settings_frequency),
                                   A_INT(IO, "channels", settings_channels),
                                   A_ENUM(IO, "format", settings_format, sample_formats), A_END}};
static const mv_xml_elem audio_io = {
    .attrs = (const mv_xml_attr[]){
        A_YESNO(IO, "mixingEngine", mixing_engine), A_YESNO(IO, "fixedSettings", fixed_settings),
        A_INT(IO, "voices", voices), A_INT(IO, "bufferLength", buffer_length),
        A_STR(IO, "dev", dev), A_INT(IO, "bufferCount", buffer_count),
        A_STR(IO, "serverName", server_name), A_STR(IO, "clientName", client_name),
        A_STR(IO, "connectPorts", connect_ports), A_YESNO(IO, "exactName", exact_name),
        A_YESNO(IO, "tryPoll", try_poll), A_STR(IO, "name", name),
        A_STR(IO, "streamName", stream_name), A_INT(IO, "latency", latency), A_END},
    .children = (const mv_xml_child[]){C_FLATP(IO, "settings", audio_settings, has_settings),
                                       C_END}};

static int audio_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    AU *a = obj;

    if (a->id == MV_UNSET || !a->type) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<audio> needs an id and a type");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_audio = {
    .name = "audio",
    .size = sizeof(AU),
    .attrs = (const mv_xml_attr[]){A_INTR(AU, "id", id, 1, 255), A_ENUM(AU, "type", type, audio_types),
                                   A_STR(AU, "path", path), A_STR(AU, "serverName", server_name),
                                   A_INT(AU, "timerPeriod", timer_period),
                                   A_YESNO(AU, "tryMMap", try_mmap),
                                   A_YESNO(AU, "exclusive", exclusive),
                                   A_STR(AU, "runtimeDir", runtime_dir),
                                   A_ENUM(AU, "driver", driver, sdl_drivers),
                                   A_INT(AU, "dspPolicy", dsp_policy), A_END},
    .children = (const mv_xml_child[]){C_EMBEDP(AU, "input", audio_io, input, input.present),
                                       C_EMBEDP(AU, "output", audio_io, output, output.present),
                                       C_END},
    .check = audio_check};
#undef IO
#undef AU

/* ---- <video> ---- */
#define V mv_domain_video
static const char *const video_models[] = {"vga", "cirrus", "vmvga", "xen", "vbox", "qxl",
                                           "virtio", "gop", "bochs", "ramfb", "none", NULL};
static const char *const video_drivers[] = {"qemu", "vhostuser", NULL};
static const char *const vgaconfs[] = {"io", "on", "off", NULL};
static const mv_xml_elem video_driver = {
    .attrs = (const mv_xml_attr[]){A_ENUM(V, "name", driver_name, video_drivers),
                                   A_ENUM(V, "vgaconf", driver_vgaconf, vgaconfs), A_VIRTIO(V),
                                   A_END}};
static const mv_xml_elem video_accel = {
    .attrs = (const mv_xml_attr[]){A_YESNO(V, "accel3d", accel3d), A_YESNO(V, "accel2d", accel2d),
                                   A_STR(V, "rendernode", accel_rendernode), A_END}};
static const mv_xml_elem video_model = {
    .attrs = (const mv_xml_attr[]){A_ENUM(V, "type", model, video_models), A_KIB(V, "ram", ram_kib),
                                   A_KIB(V, "vram", vram_kib), A_KIB(V, "vram64", vram64_kib),
                                   A_KIB(V, "vgamem", vgamem_kib),
                                   A_INTR(V, "heads", heads, 1, INT_MAX),
                                   A_YESNO(V, "primary", primary), A_ONOFF(V, "blob", blob),
                                   A_END},
    .children = (const mv_xml_child[]){C_FLAT("acceleration", video_accel), C_END}};

static int video_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    if (!((V *)obj)->model) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<video> needs <model type='...'/>");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_video = {
    .name = "video",
    .size = sizeof(V),
    .children = (const mv_xml_child[]){C_FLAT("driver", video_driver),
                                       C_FLAT("model", video_model), C_DEVICE_INFO_NOBOOT(V),
                                       C_END},
    .check = video_check};
#undef V

/* ---- <redirdev>, <hub> ---- */
#define R mv_domain_redirdev
static const char *const redir_buses[] = {"usb", NULL};
static const char *const redir_types[] = {"spicevmc", "tcp", NULL};

static int redirdev_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    return chr_source_check(&((R *)obj)->chr, false, node, flags, err);
}

const mv_xml_elem mv_schema_redirdev = {
    .name = "redirdev",
    .size = sizeof(R),
    .attrs = (const mv_xml_attr[]){A_ENUM(R, "bus", bus, redir_buses),
                                   A_ENUM(R, "type", chr.type, redir_types), A_END},
    .children = (const mv_xml_child[]){C_EMBED(R, "source", chr_source, chr),
                                       C_EMBED(R, "protocol", chr_protocol, chr),
                                       C_DEVICE_INFO(R), C_END},
    .check = redirdev_check};
#undef R

static const char *const hub_types[] = {"usb", NULL};
const mv_xml_elem mv_schema_hub = {
    .name = "hub",
    .size = sizeof(mv_domain_hub),
    .attrs = (const mv_xml_attr[]){A_ENUM(mv_domain_hub, "type", type, hub_types), A_END},
    .children = (const mv_xml_child[]){C_DEVICE_INFO_NOBOOT(mv_domain_hub), C_END}};

/* ---- <watchdog>, <memballoon>, <rng>, <panic>, <iommu>, <vsock> ---- */
#define W mv_domain_watchdog
static const char *const watchdog_models[] = {"i6300esb", "ib700", "diag288", "itco", NULL};
static const char *const watchdog_actions[] = {"reset", "shutdown", "poweroff", "pause", "none",
                                               "dump", "inject-nmi", NULL};

static int watchdog_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    if (!((W *)obj)->model) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<watchdog> needs a model");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_watchdog = {
    .name = "watchdog",
    .size = sizeof(W),
    .attrs = (const mv_xml_attr[]){A_ENUM(W, "model", model, watchdog_models),
                                   A_ENUM(W, "action", action, watchdog_actions), A_END},
    .children = (const mv_xml_child[]){C_DEVICE_INFO_NOBOOT(W), C_END},
    .check = watchdog_check};
#undef W

#define MBL mv_domain_memballoon
static const char *const balloon_models[] = {"virtio", "virtio-transitional",
                                             "virtio-non-transitional", "xen", "none", NULL};
static const mv_xml_elem balloon_stats = {
    .attrs = (const mv_xml_attr[]){A_INT(MBL, "period", stats_period), A_END}};

static int balloon_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    if (!((MBL *)obj)->model) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node, "<memballoon> needs a model");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_memballoon = {
    .name = "memballoon",
    .size = sizeof(MBL),
    .attrs = (const mv_xml_attr[]){A_ENUM(MBL, "model", model, balloon_models),
                                   A_ONOFF(MBL, "autodeflate", autodeflate),
                                   A_ONOFF(MBL, "freePageReporting", free_page_reporting), A_END},
    .children = (const mv_xml_child[]){C_FLAT("stats", balloon_stats), C_DEVICE_INFO_NOBOOT(MBL),
                                       C_VIRTIO_DRIVER(MBL), C_END},
    .check = balloon_check};
#undef MBL

#define RN mv_domain_rng
static const char *const rng_backends[] = {"random", "egd", "builtin", NULL};
static const mv_xml_elem rng_rate = {
    .attrs = (const mv_xml_attr[]){A_LL(RN, "bytes", rate_bytes), A_LL(RN, "period", rate_period),
                                   A_END}};
static const mv_xml_elem rng_backend = {
    .attrs = (const mv_xml_attr[]){A_ENUM(RN, "model", backend_model, rng_backends),
                                   A_ENUM(RN, "type", backend_egd.type, chr_types), A_END},
    .children = (const mv_xml_child[]){C_EMBED(RN, "source", chr_source, backend_egd),
                                       C_EMBED(RN, "protocol", chr_protocol, backend_egd), C_END},
    .text = A_STR(RN, NULL, backend_random)};

static int rng_check(void *obj, const xmlNode *node, unsigned int flags, mv_error *err)
{
    RN *r = obj;

    if (!r->model || !r->backend_model) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "<rng> needs a model and a <backend model='...'>");
        return -1;
    }
    if (mv_streq(r->backend_model, "egd"))
        return chr_source_check(&r->backend_egd, false, node, flags, err);
    if (r->backend_egd.type || r->backend_egd.source_path || r->backend_egd.source_host) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "a character device is only for <backend model='egd'>");
        return -1;
    }
    if (r->backend_random && !mv_streq(r->backend_model, "random")) {
        mv_xml_error(err, VIR_ERR_XML_ERROR, node,
                     "a device path is only for <backend model='random'>");
        return -1;
    }
    return 0;
}

const mv_xml_elem mv_schema_rng = {
    .name = "rng",
    .size = sizeof(RN),
    .attrs = (const mv_xml_attr[]){A_ENUM(RN, "model", model, mv_values_virtio_models), A_END},
    .children = (const mv_xml_child[]){C_FLAT("rate", rng_rate), C_FLAT("backend", rng_backend),
                                       C_VIRTIO_DRIVER(RN), C_DEVICE_INFO_NOBOOT(RN), C_END},
    .check = rng_check};
#undef RN

static const char *const panic_models[] = {"isa", "pseries", "hyperv", "s390", "pvpanic", NULL};
const mv_xml_elem mv_schema_panic = {
    .name = "panic",
    .size = sizeof(mv_domain_panic),
    .attrs = (const mv_xml_attr[]){A_ENUM(mv_domain_panic, "model", model, panic_models), A_END},
    .children = (const mv_xml_child[]){C_DEVICE_INFO_NOBOOT(mv_domain_panic), C_END}};

#define IO mv_domain_iommu
static const char *const iommu_models[] = {"intel", "smmuv3", "virtio", NULL};
static const mv_xml_elem iommu_driver = {
    .attrs = (const mv_xml_attr[]){A_ONOFF(IO, "intremap", intremap),
                                   A_ONOFF(IO, "caching_mode", caching_mode),
                                   A_ONOFF(IO, "eim", eim), A_ONOFF(IO, "iotlb", iotlb),
                                   A_INT(IO, "aw_bits", aw_bits), A_END}};
const mv_xml_elem mv_schema_iommu = {
    .name = "iommu",
    .size = sizeof(IO),
    .attrs = (const mv_xml_attr[]){A_ENUM(IO, "model", model, iommu_models), A_END},
    .children = (const mv_xml_child[]){C_FLAT("driver", iommu_driver), C_DEVICE_INFO_NOBOOT(IO),
                                       C_END}};
#undef IO

#define VS mv_domain_vsock
static const mv_xml_elem vsock_cid = {
    .attrs = (const mv_xml_attr[]){A_YESNO(VS, "auto", cid_auto),
                                   A_INTR(VS, "address", cid_address, 3, INT_MAX), A_END}};
const mv_xml_elem mv_schema_vsock = {
    .name = "vsock",
    .size = sizeof(VS),
    .attrs = (const mv_xml_attr[]){A_ENUM(VS, "model", model, mv_values_virtio_models), A_END},
    .children = (const mv_xml_child[]){C_FLAT("cid", vsock_cid), C_VIRTIO_DRIVER(VS),
                                       C_DEVICE_INFO_NOBOOT(VS), C_END}};
#undef VS
