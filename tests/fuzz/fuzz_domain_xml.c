/* fuzz_domain_xml.c: libFuzzer target — arbitrary bytes into the domain XML parser; what
 * parses must format, copy, and re-parse to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/domain/domain_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mv_error err = MV_ERROR_INIT;
    unsigned int flags = size && (data[0] & 1) ? MV_DOMAIN_DEF_PARSE_VALIDATE : 0;
    mv_domain_def *def, *copy = NULL, *again = NULL;
    char *out = NULL, *out_copy = NULL, *out_again = NULL, *live = NULL;

    def = mv_domain_def_parse((const char *)data, size, flags, &err);
    if (!def)
        goto cleanup;
    out = mv_domain_def_format(def, -1, 0, &err);
    live = mv_domain_def_format(def, 7, MV_DOMAIN_DEF_FORMAT_SECURE, &err);
    copy = mv_domain_def_copy(def, &err);
    if (!out || !live || !copy)
        abort(); /* only ENOMEM may fail here */
    out_copy = mv_domain_def_format(copy, -1, 0, &err);
    again = mv_domain_def_parse(out, strlen(out), 0, &err);
    if (!again)
        abort(); /* we wrote something we cannot read back */
    out_again = mv_domain_def_format(again, -1, 0, &err);
    if (!out_copy || !out_again || strcmp(out, out_copy) != 0 || strcmp(out, out_again) != 0)
        abort(); /* not stable */
cleanup:
    mv_error_clear(&err);
    mv_domain_def_free(def);
    mv_domain_def_free(copy);
    mv_domain_def_free(again);
    free(out);
    free(out_copy);
    free(out_again);
    free(live);
    return 0;
}
