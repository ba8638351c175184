/* domain_validate.c: whole-definition rules, always (check) and on request (validate). */
#include "common/domain/domain_validate.h"

int mv_domain_def_check(const mv_domain_def *def, mv_error *err)
{
    return 0;
}

int mv_domain_def_validate(const mv_domain_def *def, mv_error *err)
{
    return 0;
}
