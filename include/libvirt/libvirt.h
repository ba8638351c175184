/* libvirt/libvirt.h: compatibility header — programs written for libvirt include this
 * and get modvirt's API (<modvirt/modvirt.h>), which uses libvirt's names and types. */
#ifndef MODVIRT_COMPAT_LIBVIRT_H
#define MODVIRT_COMPAT_LIBVIRT_H

#include <modvirt/modvirt.h>

#endif
