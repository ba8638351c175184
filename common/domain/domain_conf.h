/* domain_conf.h: libvirt domain XML as a C data model — parse, format, copy, free.
 *
 * This folder owns the domain definition: what a user's <domain> XML says, checked and
 * stored, and formatted back as libvirt formats it. It knows no driver and does no I/O.
 *
 * Ownership: an mv_domain_def owns everything it points to. Strings are owned (char *),
 * except enumerated values (const char *), which point into static tables of the allowed
 * spellings and are never freed: compare them with strcmp ("file", "virtio", ...).
 * Numbers that may be absent hold MV_UNSET (-1) (MV_UNSET_SIGNED where -1 is a value);
 * sizes held in KiB and boot orders are 0 when absent;
 * yes/no and on/off attributes are mv_tristate. A definition is immutable once published:
 * copy it (mv_domain_def_copy) to change it.
 *
 * Runtime values (what a running guest got: pty paths, VNC/SPICE ports chosen by
 * autoport, device aliases, the domain id) live in the same fields of the driver's live
 * copy. mv_domain_def_format(..., MV_DOMAIN_DEF_FORMAT_INACTIVE) leaves them out;
 * parsing without MV_DOMAIN_DEF_PARSE_LIVE ignores them, as libvirt does on define.
 * See docs/domain-xml.md for the supported subset and what VALIDATE adds. */
#ifndef MV_DOMAIN_CONF_H
#define MV_DOMAIN_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/uuid.h"

#define MV_DOMAIN_XML_MAX_BYTES (10 * 1024 * 1024) /* DESIGN.md limits */
#define MV_DOMAIN_XML_MAX_DEPTH 256

#define MV_UNSET (-1)
/* Absent, for the few numbers where -1 means something (a port of -1 is "pick one"). */
#define MV_UNSET_SIGNED INT_MIN

/* Parse flags. */
enum {
    /* == VIR_DOMAIN_DEFINE_VALIDATE: also apply the checks libvirt applies when it
     * validates a definition against its schema and the QEMU driver's rules (duplicate
     * boot orders, device address clashes, ...); see docs/domain-xml.md. */
    MV_DOMAIN_DEF_PARSE_VALIDATE = 1u << 0,
    /* The XML is our own live status (a running guest's XML): keep runtime values
     * (pty paths, autoport ports, aliases) instead of ignoring them. */
    MV_DOMAIN_DEF_PARSE_LIVE = 1u << 16,
};

/* Format flags: the same values as virDomainXMLFlags. */
enum {
    MV_DOMAIN_DEF_FORMAT_SECURE = 1u << 0,   /* VIR_DOMAIN_XML_SECURE: include passwords */
    MV_DOMAIN_DEF_FORMAT_INACTIVE = 1u << 1, /* VIR_DOMAIN_XML_INACTIVE: no runtime values */
};

typedef enum {
    MV_TRISTATE_ABSENT = 0,
    MV_TRISTATE_YES = 1, /* "yes", or "on" for on/off attributes */
    MV_TRISTATE_NO = 2,  /* "no", or "off" */
} mv_tristate;

/* <address type='...'/>: where a device sits on its bus. Which fields apply depends on
 * type: pci (domain, bus, slot, function, multifunction), drive (controller, bus,
 * target, unit), usb (bus, port "1.2"), virtio-serial (controller, bus, port "N"),
 * ccid (controller, slot), isa (iobase, irq). */
typedef struct mv_domain_address {
    const char *type;
    int domain, bus, slot, function;
    mv_tristate multifunction;
    int controller, target, unit;
    char *port;
    int iobase, irq;
} mv_domain_address;

/* What every device may carry besides its own settings. */
typedef struct mv_domain_device_info {
    char *alias;                /* <alias name='...'/>: runtime, or user's "ua-..." */
    mv_domain_address *address; /* NULL: placed by the driver */
    int boot_order;             /* <boot order='N'/> (N >= 1); 0 when absent */
    char *boot_loadparm;
} mv_domain_device_info;

/* virtio options shared by <driver> of virtio devices. */
typedef struct mv_domain_virtio_opts {
    mv_tristate iommu, ats, packed, page_per_vq; /* on/off */
} mv_domain_virtio_opts;

/* ---- <os> ---- */
typedef struct mv_domain_firmware_feature {
    mv_tristate enabled;
    const char *name; /* enrolled-keys, secure-boot */
} mv_domain_firmware_feature;

typedef struct mv_domain_os {
    const char *firmware;  /* os@firmware: "efi", "bios" */
    const char *type;      /* "hvm" */
    const char *arch;      /* "x86_64", "i686", "aarch64", ... */
    char *machine;         /* "pc", "q35", "pc-i440fx-9.1", ... */
    mv_domain_firmware_feature *firmware_features; /* <firmware><feature/></firmware> */
    size_t nfirmware_features;
    const char **boot_devs; /* <boot dev='hd'/> in order: hd, cdrom, fd, network */
    size_t nboot_devs;
    mv_tristate bootmenu_enable;
    int bootmenu_timeout;  /* ms */
    mv_tristate bios_useserial;
    int bios_reboot_timeout;   /* -1 allowed; MV_UNSET_SIGNED when absent */
    const char *smbios_mode; /* emulate, host, sysinfo */
    char *kernel, *initrd, *cmdline, *dtb;
    char *loader;           /* path */
    mv_tristate loader_readonly, loader_secure, loader_stateless;
    const char *loader_type;   /* rom, pflash */
    const char *loader_format; /* raw, qcow2 */
    char *nvram;            /* path */
    char *nvram_template;
    const char *nvram_format;
} mv_domain_os;

/* ---- <features> ---- A flag is true when the element is present. */
typedef struct mv_domain_features {
    bool acpi, pae, hap_present, privnet, vmcoreinfo_present, smm_present, pmu_present,
        vmport_present, apic;
    mv_tristate apic_eoi;   /* <apic eoi='on'/> */
    mv_tristate hap, vmcoreinfo, smm, pmu, vmport; /* state='on|off' of those present */
    unsigned long long smm_tseg_kib; /* <smm><tseg unit=...>N</tseg></smm>; 0: absent */
    const char *ioapic_driver; /* <ioapic driver='kvm|qemu'/> */
    mv_tristate async_teardown; /* <async-teardown enabled='yes'/> */
    mv_tristate ps2;            /* <ps2 state='on|off'/> */
} mv_domain_features;

/* ---- <cpu> ---- */
typedef struct mv_domain_cpu_feature {
    const char *policy; /* force, require, optional, disable, forbid */
    char *name;
} mv_domain_cpu_feature;

typedef struct mv_domain_numa_cell {
    int id;
    char *cpus;                   /* "0-3,8" as written */
    unsigned long long memory_kib;
    const char *mem_access;       /* shared, private */
    mv_tristate discard;
} mv_domain_numa_cell;

typedef struct mv_domain_cpu {
    const char *mode;     /* custom, host-model, host-passthrough, maximum */
    const char *match;    /* minimum, exact, strict */
    const char *check;    /* none, partial, full */
    mv_tristate migratable;
    char *model;
    const char *model_fallback; /* allow, forbid */
    char *model_vendor_id;
    char *vendor;
    bool has_topology;
    int sockets, dies, clusters, cores, threads;
    int cache_level;        /* <cache level= mode=/> */
    const char *cache_mode; /* emulate, passthrough, disable */
    const char *maxphysaddr_mode; /* passthrough, emulate */
    int maxphysaddr_bits, maxphysaddr_limit;
    mv_domain_cpu_feature *features;
    size_t nfeatures;
    mv_domain_numa_cell *cells; /* <numa><cell/></numa> */
    size_t ncells;
} mv_domain_cpu;

/* ---- <clock> ---- */
typedef struct mv_domain_timer {
    const char *name;       /* platform, pit, rtc, hpet, tsc, kvmclock, hypervclock, ... */
    mv_tristate present;
    const char *tickpolicy; /* delay, catchup, merge, discard */
    const char *track;      /* boot, guest, wall, realtime */
    long long frequency;    /* MV_UNSET when absent */
    const char *mode;       /* auto, native, emulate, paravirt, smpsafe */
} mv_domain_timer;

typedef struct mv_domain_clock {
    const char *offset;   /* utc, localtime, timezone, variable, absolute */
    char *timezone;
    char *adjustment;     /* "reset" or seconds, as written */
    const char *basis;    /* utc, localtime */
    long long start;      /* absolute: epoch seconds; MV_UNSET when absent */
    mv_domain_timer *timers;
    size_t ntimers;
} mv_domain_clock;

/* ---- <memoryBacking> ---- */
typedef struct mv_domain_hugepage {
    unsigned long long size_kib;
    char *nodeset;
} mv_domain_hugepage;

typedef struct mv_domain_memory_backing {
    bool hugepages;             /* <hugepages> present */
    mv_domain_hugepage *pages;  /* its <page/> children */
    size_t npages;
    bool nosharepages, locked, discard;
    const char *source_type;    /* file, anonymous, memfd */
    const char *access_mode;    /* shared, private */
    const char *allocation_mode; /* immediate, ondemand */
    int allocation_threads;
} mv_domain_memory_backing;

/* ---- <numatune>, <iothreadids> ---- */
typedef struct mv_domain_memnode {
    int cellid;
    const char *mode; /* strict, preferred, interleave, restrictive */
    char *nodeset;    /* host NUMA nodes, "0-1,^1" as written */
} mv_domain_memnode;

typedef struct mv_domain_numatune {
    const char *memory_mode;      /* strict, preferred, interleave, restrictive */
    char *memory_nodeset;
    const char *memory_placement; /* static, auto */
    mv_domain_memnode *memnodes;
    size_t nmemnodes;
} mv_domain_numatune;

typedef struct mv_domain_iothread {
    int id; /* >= 1 */
    int thread_pool_min, thread_pool_max;
    bool has_poll;
    long long poll_max, poll_grow, poll_shrink;
} mv_domain_iothread;

/* ---- <seclabel> ---- */
typedef struct mv_domain_seclabel {
    const char *type; /* none, dynamic, static */
    char *model;      /* dac, selinux, apparmor, none */
    mv_tristate relabel;
    char *label, *imagelabel, *baselabel;
} mv_domain_seclabel;

/* ---- devices ---- */
typedef struct mv_domain_disk_host {
    char *name;
    char *port;
    const char *transport; /* tcp, unix, rdma */
    char *socket;
} mv_domain_disk_host;

/* <iotune>: I/O throttling; every limit is MV_UNSET when absent. */
typedef struct mv_domain_disk_iotune {
    long long total_bytes_sec, read_bytes_sec, write_bytes_sec;
    long long total_iops_sec, read_iops_sec, write_iops_sec;
    long long total_bytes_sec_max, read_bytes_sec_max, write_bytes_sec_max;
    long long total_iops_sec_max, read_iops_sec_max, write_iops_sec_max;
    long long size_iops_sec;
    char *group_name;
    long long total_bytes_sec_max_length, read_bytes_sec_max_length,
        write_bytes_sec_max_length;
    long long total_iops_sec_max_length, read_iops_sec_max_length, write_iops_sec_max_length;
} mv_domain_disk_iotune;

typedef struct mv_domain_disk {
    const char *type;   /* file, block, network */
    const char *device; /* disk, cdrom, floppy, lun */
    const char *snapshot; /* no, internal, external */
    /* <driver/> */
    char *driver_name;           /* "qemu" */
    const char *driver_format;   /* driver@type: raw, qcow2, ... */
    const char *driver_cache;    /* default, none, writethrough, writeback, directsync, unsafe */
    const char *driver_io;       /* threads, native, io_uring */
    const char *driver_discard;  /* unmap, ignore */
    const char *driver_error_policy, *driver_rerror_policy; /* stop, report, ignore, enospace */
    const char *driver_detect_zeroes; /* off, on, unmap */
    mv_tristate driver_copy_on_read;
    int driver_iothread, driver_queues, driver_queue_size;
    mv_domain_virtio_opts virtio;
    /* <source/> */
    char *src_file;              /* type file */
    char *src_dev;               /* type block */
    const char *src_protocol;    /* type network: nbd, iscsi, rbd, http, https, ... */
    char *src_name;              /* network: export, image or path */
    char *src_query;
    const char *src_startup_policy; /* mandatory, requisite, optional */
    mv_domain_disk_host *src_hosts;
    size_t nsrc_hosts;
    bool has_source;             /* <source/> present (an empty cdrom has none) */
    /* <target/> */
    char *target_dev;            /* "vda", "sda", "hdc" */
    const char *target_bus;      /* ide, fdc, scsi, virtio, xen, usb, sata, sd */
    const char *target_tray;     /* open, closed */
    mv_tristate target_removable;
    int target_rotation_rate;
    bool has_iotune;
    mv_domain_disk_iotune iotune;
    bool readonly, shareable, transient;
    char *serial, *wwn, *vendor, *product;
    int logical_block_size, physical_block_size; /* <blockio/> */
    int geometry_cyls, geometry_heads, geometry_secs;
    const char *geometry_trans; /* none, lba, auto */
    mv_domain_device_info info;
} mv_domain_disk;

typedef struct mv_domain_controller {
    const char *type;  /* ide, fdc, scsi, sata, usb, pci, virtio-serial, ccid, isa */
    int index;         /* MV_UNSET: the driver assigns one */
    const char *model; /* by type: qemu-xhci, pcie-root-port, virtio-scsi, ... */
    int ports, vectors;
    const char *model_name; /* <model name='pcie-root-port'/> (pci) */
    int target_chassis_nr, target_chassis, target_port, target_bus_nr, target_index;
    mv_tristate target_hotplug;
    int target_node;      /* <target><node>N</node></target> */
    unsigned long long pcihole64_kib;
    int master_startport; /* <master startport='N'/> (usb companion) */
    int driver_queues, driver_cmd_per_lun, driver_max_sectors, driver_iothread;
    mv_tristate driver_ioeventfd;
    mv_domain_virtio_opts virtio;
    mv_domain_device_info info;
} mv_domain_controller;

typedef struct mv_domain_fs {
    const char *type;       /* mount */
    const char *accessmode; /* passthrough, mapped, squash */
    const char *model;      /* virtio, virtio-transitional, virtio-non-transitional */
    const char *multidevs;  /* default, remap, forbid, warn */
    const char *driver_type; /* path, handle, loop, nbd, ploop, virtiofs */
    const char *driver_format;
    const char *driver_wrpolicy; /* immediate */
    int driver_queue;
    mv_domain_virtio_opts virtio;
    char *binary_path;      /* virtiofs daemon */
    mv_tristate binary_xattr;
    char *source_dir, *source_socket;
    char *target_dir;
    bool readonly;
    mv_domain_device_info info;
} mv_domain_fs;

typedef struct mv_domain_net {
    const char *type;       /* user, network, bridge, ethernet */
    mv_tristate trust_guest_rx_filters;
    char *mac;              /* "52:54:00:12:34:56" as normalised; NULL: the driver picks */
    mv_tristate mac_check;
    char *source_network, *source_bridge, *source_portgroup;
    char *target_dev;
    mv_tristate target_managed;
    char *model;            /* virtio, e1000, rtl8139, e1000e, ... (any QEMU NIC model) */
    const char *driver_name; /* qemu, vhost */
    const char *driver_txmode; /* iothread, timer */
    mv_tristate driver_ioeventfd, driver_event_idx;
    int driver_queues, driver_rx_queue_size, driver_tx_queue_size;
    mv_domain_virtio_opts virtio;
    char *backend_tap, *backend_vhost;
    const char *link_state; /* up, down */
    int mtu;
    mv_tristate rom_bar, rom_enabled;
    char *rom_file;
    char *script;           /* <script path='...'/> (ethernet) */
    mv_domain_device_info info;
} mv_domain_net;

/* serial, console, channel, and the character device inside redirdev / rng egd. */
typedef struct mv_domain_chr {
    const char *type;       /* pty, unix, file, null, vc, stdio, tcp, udp, pipe, dev,
                             * spicevmc, spiceport, qemu-vdagent */
    char *tty;              /* element's tty='...': runtime pty path (live XML only) */
    char *source_path;      /* unix socket, file, pipe, dev path; pty: runtime */
    const char *source_mode; /* bind, connect */
    char *source_host, *source_service;
    mv_tristate source_append;
    char *source_channel;   /* spiceport */
    mv_tristate source_tls;
    int reconnect_timeout;  /* <reconnect enabled='yes' timeout='N'/> */
    mv_tristate reconnect_enabled;
    const char *protocol;   /* tcp: raw, telnet, telnets, tls */
    const char *target_type; /* serial: isa-serial, usb-serial, pci-serial, ...;
                              * console: serial, virtio; channel: virtio, guestfwd */
    int target_port;
    char *target_name;      /* channel: org.qemu.guest_agent.0, ... */
    const char *target_state; /* connected, disconnected (live) */
    char *target_address;   /* guestfwd */
    const char *target_model; /* <target><model name='isa-serial'/></target> */
    char *log_file;
    mv_tristate log_append;
    mv_domain_device_info info;
} mv_domain_chr;

typedef struct mv_domain_input {
    const char *type;  /* mouse, tablet, keyboard, passthrough, evdev */
    const char *bus;   /* ps2, usb, virtio, xen, none */
    const char *model; /* virtio, virtio-transitional, virtio-non-transitional */
    char *source_evdev;      /* passthrough: <source evdev='/dev/input/...'/> */
    char *source_dev;        /* evdev: <source dev='/dev/input/...'/> */
    const char *source_grab, *source_grab_toggle;
    mv_tristate source_repeat;
    mv_domain_virtio_opts virtio;
    mv_domain_device_info info;
} mv_domain_input;

typedef struct mv_domain_graphics_listen {
    const char *type; /* address, network, socket, none */
    char *address, *network, *socket;
} mv_domain_graphics_listen;

typedef struct mv_domain_graphics_channel {
    char *name;       /* main, display, inputs, cursor, playback, record, smartcard, usbredir */
    const char *mode; /* secure, insecure, any */
} mv_domain_graphics_channel;

typedef struct mv_domain_graphics {
    const char *type; /* vnc, spice, egl-headless, sdl, dbus */
    int port;         /* -1: autoport; with autoport='yes' the port is runtime state;
                       * MV_UNSET_SIGNED when absent (also tls_port, websocket) */
    int tls_port;
    mv_tristate autoport;
    int websocket;
    char *listen;     /* the listen='...' attribute (see also listens) */
    char *socket;
    char *passwd;     /* only formatted with MV_DOMAIN_DEF_FORMAT_SECURE */
    char *passwd_valid_to;
    const char *connected;    /* keep, disconnect, fail */
    char *keymap;
    const char *share_policy; /* allow-exclusive, force-shared, ignore */
    const char *default_mode; /* secure, insecure, any */
    mv_tristate power_control;
    char *display, *xauth;    /* sdl */
    mv_tristate fullscreen;
    mv_tristate p2p;          /* dbus */
    char *address;            /* dbus */
    mv_domain_graphics_listen *listens;
    size_t nlistens;
    mv_domain_graphics_channel *channels;
    size_t nchannels;
    mv_tristate gl_enable;
    char *gl_rendernode;
    const char *image_compression, *jpeg_compression, *zlib_compression;
    mv_tristate playback_compression;
    const char *streaming_mode;
    const char *mouse_mode;   /* server, client */
    mv_tristate clipboard_copypaste, filetransfer_enable;
    int audio_id;             /* <audio id='N'/> */
} mv_domain_graphics;

typedef struct mv_domain_sound_codec {
    const char *type; /* duplex, micro, output */
} mv_domain_sound_codec;

typedef struct mv_domain_sound {
    const char *model; /* ich6, ich7, ich9, ac97, es1370, sb16, pcspk, usb */
    mv_tristate multichannel;
    mv_domain_sound_codec *codecs;
    size_t ncodecs;
    int audio_id;
    mv_domain_device_info info;
} mv_domain_sound;

/* <audio><input/> / <output/>: one direction of an audio backend. */
typedef struct mv_domain_audio_io {
    bool present;
    mv_tristate mixing_engine, fixed_settings;
    int voices, buffer_length, buffer_count;
    bool has_settings;
    int settings_frequency, settings_channels;
    const char *settings_format; /* s8, u8, s16, u16, s32, u32, f32 */
    char *dev;          /* alsa/oss/coreaudio/pipewire/pulseaudio device */
    char *server_name, *client_name, *connect_ports; /* jack */
    char *name, *stream_name;                      /* pulseaudio, pipewire */
    int latency;
    mv_tristate exact_name, try_poll;
} mv_domain_audio_io;

typedef struct mv_domain_audio {
    int id;
    const char *type; /* none, alsa, coreaudio, jack, oss, pulseaudio, sdl, spice, file,
                       * dbus, pipewire */
    int timer_period;
    char *path;       /* file */
    char *server_name; /* pulseaudio, jack */
    char *runtime_dir; /* pipewire */
    const char *driver; /* sdl: esd, alsa, arts, pulseaudio */
    mv_tristate try_mmap, exclusive; /* oss */
    int dsp_policy;
    mv_domain_audio_io input, output;
} mv_domain_audio;

typedef struct mv_domain_video {
    const char *model;   /* vga, cirrus, vmvga, xen, vbox, qxl, virtio, gop, bochs, ramfb,
                          * none */
    unsigned long long vram_kib, ram_kib, vgamem_kib, vram64_kib; /* 0: default */
    int heads;
    mv_tristate primary;
    mv_tristate blob;
    mv_tristate accel3d, accel2d;
    char *accel_rendernode;
    const char *driver_name; /* qemu, vhostuser */
    const char *driver_vgaconf; /* io, on, off */
    mv_domain_virtio_opts virtio;
    mv_domain_device_info info;
} mv_domain_video;

typedef struct mv_domain_watchdog {
    const char *model;  /* i6300esb, ib700, diag288, itco */
    const char *action; /* reset, shutdown, poweroff, pause, none, dump, inject-nmi */
    mv_domain_device_info info;
} mv_domain_watchdog;

typedef struct mv_domain_memballoon {
    const char *model; /* virtio, virtio-transitional, virtio-non-transitional, xen, none */
    mv_tristate autodeflate, free_page_reporting;
    int stats_period;
    mv_domain_virtio_opts virtio;
    mv_domain_device_info info;
} mv_domain_memballoon;

typedef struct mv_domain_rng {
    const char *model;  /* virtio, virtio-transitional, virtio-non-transitional */
    long long rate_bytes, rate_period; /* MV_UNSET when absent */
    const char *backend_model; /* random, egd, builtin */
    char *backend_random;      /* random: the host device, e.g. /dev/urandom */
    mv_domain_chr backend_egd;  /* egd: the character device (type + source); its
                                 * type is NULL for other backends */
    mv_domain_virtio_opts virtio;
    mv_domain_device_info info;
} mv_domain_rng;

typedef struct mv_domain_redirdev {
    const char *bus; /* usb */
    mv_domain_chr chr; /* type spicevmc or tcp (+ source, protocol) */
    mv_domain_device_info info;
} mv_domain_redirdev;

typedef struct mv_domain_hub {
    const char *type; /* usb */
    mv_domain_device_info info;
} mv_domain_hub;

typedef struct mv_domain_panic {
    const char *model; /* isa, pvpanic, hyperv, ... */
    mv_domain_device_info info;
} mv_domain_panic;

typedef struct mv_domain_iommu {
    const char *model; /* intel, smmuv3, virtio */
    mv_tristate intremap, caching_mode, eim, iotlb;
    int aw_bits;
    mv_domain_device_info info;
} mv_domain_iommu;

typedef struct mv_domain_vsock {
    const char *model; /* virtio, ... */
    mv_tristate cid_auto;
    int cid_address;
    mv_domain_virtio_opts virtio;
    mv_domain_device_info info;
} mv_domain_vsock;

/* <qemu:env name= value=/> */
typedef struct mv_domain_qemu_env {
    char *name;  /* [A-Za-z_][A-Za-z0-9_]* */
    char *value; /* may be NULL */
} mv_domain_qemu_env;

#define MV_DOMAIN_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* ---- the domain ---- */
typedef struct mv_domain_def {
    const char *virt_type;   /* <domain type=...>: "qemu" (TCG) or "kvm" */
    char *name;
    unsigned char uuid[MV_UUID_BUFLEN]; /* generated when the XML has none */
    char *title;
    char *description;
    char *metadata;          /* <metadata> verbatim (namespaces included), or NULL */

    unsigned long long max_memory_kib; /* <maxMemory>: hotplug ceiling; 0 when absent */
    int max_memory_slots;
    unsigned long long memory_kib;         /* <memory>: the initial maximum */
    unsigned long long current_memory_kib; /* <currentMemory>; 0 when absent (= memory) */
    mv_tristate memory_dump_core;          /* <memory dumpCore='on|off'> */
    mv_domain_memory_backing *memory_backing; /* NULL when absent */

    int vcpus;               /* <vcpu>: maximum vcpus (1 when absent) */
    int vcpus_current;       /* vcpu@current; MV_UNSET when absent */
    const char *vcpu_placement; /* static, auto */
    char *vcpu_cpuset;       /* "1-4,^3" as written */
    int iothreads;           /* <iothreads>N</iothreads>; MV_UNSET when absent */
    mv_domain_iothread *iothread_ids; /* <iothreadids> */
    size_t niothread_ids;
    mv_domain_numatune *numatune; /* NULL when absent */

    mv_domain_os os;
    mv_domain_features *features; /* NULL when <features> is absent */
    mv_domain_cpu *cpu;           /* NULL when <cpu> is absent */
    mv_domain_clock *clock;       /* NULL when <clock> is absent */

    const char *on_poweroff; /* destroy, restart, preserve, rename-restart, */
    const char *on_reboot;   /* coredump-destroy, coredump-restart; NULL: libvirt's */
    const char *on_crash;    /* defaults (destroy, restart, destroy) */
    bool has_pm;             /* <pm> present */
    mv_tristate pm_suspend_to_mem, pm_suspend_to_disk;
    mv_domain_seclabel *seclabels;
    size_t nseclabels;

    /* <devices> */
    char *emulator;
    mv_domain_disk *disks;
    size_t ndisks;
    mv_domain_controller *controllers;
    size_t ncontrollers;
    mv_domain_fs *filesystems;
    size_t nfilesystems;
    mv_domain_net *nets;
    size_t nnets;
    mv_domain_chr *serials;
    size_t nserials;
    mv_domain_chr *parallels;
    size_t nparallels;
    mv_domain_chr *consoles;
    size_t nconsoles;
    mv_domain_chr *channels;
    size_t nchannels;
    mv_domain_input *inputs;
    size_t ninputs;
    mv_domain_graphics *graphics;
    size_t ngraphics;
    mv_domain_sound *sounds;
    size_t nsounds;
    mv_domain_audio *audios;
    size_t naudios;
    mv_domain_video *videos;
    size_t nvideos;
    mv_domain_redirdev *redirdevs;
    size_t nredirdevs;
    mv_domain_hub *hubs;
    size_t nhubs;
    mv_domain_watchdog *watchdogs;
    size_t nwatchdogs;
    mv_domain_memballoon *memballoon; /* NULL when absent */
    mv_domain_rng *rngs;
    size_t nrngs;
    mv_domain_panic *panics;
    size_t npanics;
    mv_domain_iommu *iommu;           /* NULL when absent */
    mv_domain_vsock *vsock;           /* NULL when absent */

    /* <qemu:commandline> (namespace MV_DOMAIN_QEMU_NS): arguments appended to QEMU's
     * command line and variables added to its environment, as given. */
    char **qemu_args;
    size_t nqemu_args;
    mv_domain_qemu_env *qemu_envs;
    size_t nqemu_envs;
} mv_domain_def;

/* Parses a <domain> document of len bytes (it need not be NUL-terminated). Refuses
 * documents over MV_DOMAIN_XML_MAX_BYTES or nested deeper than MV_DOMAIN_XML_MAX_DEPTH,
 * any DOCTYPE or entity declaration, and never touches the network or the file system.
 * Every element and attribute must be one we support; errors name it, its line and its
 * path ("/domain/devices/hostdev"). flags: MV_DOMAIN_DEF_PARSE_*. NULL on error. */
mv_domain_def *mv_domain_def_parse(const char *xml, size_t len, unsigned int flags,
                                   mv_error *err);

/* Formats as libvirt does: 2-space indent, single quotes, libvirt's element order.
 * id >= 0 adds id='N' to <domain> (a running guest). flags: MV_DOMAIN_DEF_FORMAT_*.
 * Returns a malloc'd NUL-terminated string, or NULL on error. */
char *mv_domain_def_format(const mv_domain_def *def, int id, unsigned int flags,
                           mv_error *err);

/* A deep copy, sharing nothing with def. NULL on ENOMEM. */
mv_domain_def *mv_domain_def_copy(const mv_domain_def *def, mv_error *err);

void mv_domain_def_free(mv_domain_def *def);

/* The first listen address of a graphics device, from listen='...' or the first
 * <listen type='address'/>; NULL when neither is given. Borrowed. */
const char *mv_domain_graphics_listen_address(const mv_domain_graphics *g);

#endif
