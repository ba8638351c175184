/* qemu_driver.c: the QEMU driver's table for the daemon runtime, and its life cycle. */
#include "virtqemud/qemu_driver.h"
#include "virtqemud/qemu_process.h"

/* Filled by the runtime from virtqemud.conf before init (mv_driver.conf_target). */
static qemu_config qemu_cfg;

static const char *const qemu_schemes[] = {"qemu", NULL};

static int qemu_init(mv_daemon *d, mv_error *err)
{
    qemu_state *s = NULL;

    if (qemu_state_open(mv_daemon_paths(d), &qemu_cfg, &s, err) < 0)
        return -1;
    s->daemon = d;
    /* Guests that outlived the previous daemon are re-attached before the first call. */
    if (qemu_runs_open(s, d, mv_daemon_paths(d), err) < 0) {
        qemu_runs_close(s);
        qemu_state_free(s);
        return -1;
    }
    mv_daemon_set_driver_data(d, s);
    return 0;
}

static void qemu_shutdown(mv_daemon *d)
{
    /* Guests keep running; only our watchers and monitors close. */
    qemu_runs_close(mv_daemon_driver_data(d));
    qemu_state_free(mv_daemon_driver_data(d));
    mv_daemon_set_driver_data(d, NULL);
    qemu_config_clear(&qemu_cfg);
}

/* Running guests keep the daemon alive (libvirt's QEMU driver never exits for idleness
 * while a guest runs). */
static bool qemu_busy(mv_daemon *d)
{
    qemu_state *s = mv_daemon_driver_data(d);

    return s && qemu_query_count(s, true) > 0;
}

const mv_driver qemu_driver = {
    .name = "QEMU",
    .daemon_name = "virtqemud",
    .schemes = qemu_schemes,
    .error_domain = VIR_FROM_QEMU,
    .conf_keys = qemu_conf_keys,
    .conf_target = &qemu_cfg,
    .init = qemu_init,
    .shutdown = qemu_shutdown,
    .busy = qemu_busy,

    .connect_open = qemu_proc_connect_open,
    .connect_get_type = qemu_proc_connect_get_type,
    .connect_get_version = qemu_proc_connect_get_version,
    .connect_get_hostname = qemu_proc_connect_get_hostname,
    .connect_get_uri = qemu_proc_connect_get_uri,
    .node_get_info = qemu_proc_node_get_info,
    .connect_list_all_domains = qemu_proc_connect_list_all_domains,
    .connect_num_of_domains = qemu_proc_connect_num_of_domains,
    .connect_list_domains = qemu_proc_connect_list_domains,
    .connect_num_of_defined_domains = qemu_proc_connect_num_of_defined_domains,
    .connect_list_defined_domains = qemu_proc_connect_list_defined_domains,

    .domain_define_xml = qemu_proc_domain_define_xml,
    .domain_undefine = qemu_proc_domain_undefine,
    .domain_set_autostart = qemu_proc_domain_set_autostart,
    .domain_lookup_by_name = qemu_proc_domain_lookup_by_name,
    .domain_lookup_by_uuid = qemu_proc_domain_lookup_by_uuid,
    .domain_lookup_by_id = qemu_proc_domain_lookup_by_id,
    .domain_get_xml_desc = qemu_proc_domain_get_xml_desc,
    .domain_get_info = qemu_proc_domain_get_info,
    .domain_get_state = qemu_proc_domain_get_state,
    .domain_get_autostart = qemu_proc_domain_get_autostart,
    .domain_is_active = qemu_proc_domain_is_active,
    .domain_is_persistent = qemu_proc_domain_is_persistent,

    .connect_get_capabilities = qemu_proc_connect_get_capabilities,
    .connect_get_domain_capabilities = qemu_proc_connect_get_domain_capabilities,
    .connect_domain_xml_to_native = qemu_proc_connect_domain_xml_to_native,

    .domain_create = qemu_proc_domain_create,
    .domain_create_xml = qemu_proc_domain_create_xml,
    .domain_shutdown = qemu_proc_domain_shutdown,
    .domain_destroy = qemu_proc_domain_destroy,
    .domain_reboot = qemu_proc_domain_reboot,
    .domain_reset = qemu_proc_domain_reset,
    .domain_suspend = qemu_proc_domain_suspend,
    .domain_resume = qemu_proc_domain_resume,
    .domain_open_console = qemu_proc_domain_open_console,
};
