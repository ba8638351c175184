/* libvirt/virterror.h: compatibility header — libvirt's error API (virError,
 * virGetLastError, the error codes and domains) is part of <modvirt/modvirt.h>. */
#ifndef MODVIRT_COMPAT_VIRTERROR_H
#define MODVIRT_COMPAT_VIRTERROR_H

#include <modvirt/modvirt.h>

#endif
