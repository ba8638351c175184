/* domain_schema.h: the tables that describe libvirt's domain XML (internal to
 * common/domain/). Each domain_schema_*.c file describes one area; this header is the map.
 *
 * Every element we support appears in exactly one table, in libvirt's formatting order.
 * Anything else in a document is refused by xml_bind with its name, line and path. */
#ifndef MV_DOMAIN_SCHEMA_H
#define MV_DOMAIN_SCHEMA_H

#include "common/domain/domain_conf.h"
#include "common/domain/xml_bind.h"

/* domain_schema.c: <domain> and everything outside <devices> */
extern const mv_xml_elem mv_schema_domain;

/* domain_schema_disk.c: device info (boot, alias, address), disks, controllers,
 * filesystems */
extern const mv_xml_elem mv_schema_address;
extern const mv_xml_elem mv_schema_alias;
extern const mv_xml_elem mv_schema_boot;
extern const mv_xml_elem mv_schema_virtio_driver; /* <driver iommu ats packed .../> */
extern const mv_xml_elem mv_schema_disk;
extern const mv_xml_elem mv_schema_controller;
extern const mv_xml_elem mv_schema_filesystem;

/* domain_schema_devices.c: interfaces, character devices, inputs, graphics, sound,
 * audio, video, redirdev, hub, watchdog, memballoon, rng, panic, iommu, vsock */
extern const mv_xml_elem mv_schema_interface;
extern const mv_xml_elem mv_schema_serial;
extern const mv_xml_elem mv_schema_parallel;
extern const mv_xml_elem mv_schema_console;
extern const mv_xml_elem mv_schema_channel;
extern const mv_xml_elem mv_schema_input;
extern const mv_xml_elem mv_schema_graphics;
extern const mv_xml_elem mv_schema_sound;
extern const mv_xml_elem mv_schema_audio;
extern const mv_xml_elem mv_schema_video;
extern const mv_xml_elem mv_schema_redirdev;
extern const mv_xml_elem mv_schema_hub;
extern const mv_xml_elem mv_schema_watchdog;
extern const mv_xml_elem mv_schema_memballoon;
extern const mv_xml_elem mv_schema_rng;
extern const mv_xml_elem mv_schema_panic;
extern const mv_xml_elem mv_schema_iommu;
extern const mv_xml_elem mv_schema_vsock;

/* Shared spellings. */
extern const char *const mv_values_virtio_models[]; /* virtio, -transitional, -non-... */

/* The three children every device ends with, in libvirt's order: boot, alias, address.
 * T must have an mv_domain_device_info member named info. */
#define C_DEVICE_BOOT(T) C_EMBED(T, "boot", mv_schema_boot, info)
#define C_DEVICE_ALIAS(T) C_EMBED(T, "alias", mv_schema_alias, info)
#define C_DEVICE_ADDRESS(T) C_PTR(T, "address", mv_schema_address, info.address)
#define C_DEVICE_INFO(T) C_DEVICE_BOOT(T), C_DEVICE_ALIAS(T), C_DEVICE_ADDRESS(T)
#define C_DEVICE_INFO_NOBOOT(T) C_DEVICE_ALIAS(T), C_DEVICE_ADDRESS(T)

/* A bool-returning "omit" for the attributes and elements of runtime state. */
static inline bool mv_schema_inactive(unsigned int flags)
{
    return (flags & MV_DOMAIN_DEF_FORMAT_INACTIVE) != 0;
}

#endif
