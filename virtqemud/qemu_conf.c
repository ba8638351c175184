/* qemu_conf.c: the driver's own keys in virtqemud.conf (the runtime adds log_level,
 * idle_timeout and max_clients). */
#include <stddef.h>
#include <stdlib.h>
#include "virtqemud/qemu_driver.h"

const mv_conf_key qemu_conf_keys[] = {
    /* Path of the emulator for every guest; a bare name is searched on PATH. Unset:
     * qemu-system-x86_64 from PATH, else /usr/bin/qemu-system-x86_64. */
    {"qemu_binary", MV_CONF_STRING, offsetof(qemu_config, qemu_binary), 0, 0},
    MV_CONF_KEYS_END,
};

void qemu_config_clear(qemu_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->qemu_binary);
    cfg->qemu_binary = NULL;
}
