/* domain_validate.h: rules about a whole definition that no single element can check. */
#ifndef MV_DOMAIN_VALIDATE_H
#define MV_DOMAIN_VALIDATE_H

#include "common/domain/domain_conf.h"

/* What libvirt checks on every define: duplicate disk targets, boot orders used twice or
 * together with <os><boot>, controllers sharing a type and index, NUMA cell ids, a second
 * primary video, duplicate user aliases and audio ids. */
int mv_domain_def_check(const mv_domain_def *def, mv_error *err);

/* MV_DOMAIN_DEF_PARSE_VALIDATE: what libvirt's QEMU driver checks before it would start
 * the guest (see docs/domain-xml.md for the list). */
int mv_domain_def_validate(const mv_domain_def *def, mv_error *err);

#endif
