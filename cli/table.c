/* table.c: every vmctl command, its options and its help, in one table (as OpenBSD
 * vmctl's ctl_commands[]). Adding a command: a row here, its function in a cmd_*.c. */
#include "cli/vmctl.h"

#include <string.h>

#define DOMAIN_OPT {"domain", VMCTL_OPT_DATA, true, "domain name, id or uuid"}
#define END_OPTS {NULL, 0, false, NULL}

static const vmctl_opt no_opts[] = {END_OPTS};

static const vmctl_opt domain_only_opts[] = {DOMAIN_OPT, END_OPTS};

static const vmctl_opt list_opts[] = {
    {"inactive", VMCTL_OPT_BOOL, false, "list inactive domains"},
    {"all", VMCTL_OPT_BOOL, false, "list inactive & active domains"},
    {"transient", VMCTL_OPT_BOOL, false, "list transient domains"},
    {"persistent", VMCTL_OPT_BOOL, false, "list persistent domains"},
    {"state-running", VMCTL_OPT_BOOL, false, "list domains in running state"},
    {"state-paused", VMCTL_OPT_BOOL, false, "list domains in paused state"},
    {"state-shutoff", VMCTL_OPT_BOOL, false, "list domains in shutoff state"},
    {"state-other", VMCTL_OPT_BOOL, false, "list domains in other states"},
    {"autostart", VMCTL_OPT_BOOL, false, "list domains with autostart enabled"},
    {"no-autostart", VMCTL_OPT_BOOL, false, "list domains with autostart disabled"},
    {"uuid", VMCTL_OPT_BOOL, false, "list uuid's only"},
    {"name", VMCTL_OPT_BOOL, false, "list domain names only"},
    {"id", VMCTL_OPT_BOOL, false, "list domain IDs only"},
    {"table", VMCTL_OPT_BOOL, false, "list table (default)"},
    END_OPTS,
};

static const vmctl_opt define_opts[] = {
    {"file", VMCTL_OPT_DATA, true, "file containing an XML domain description"},
    {"validate", VMCTL_OPT_BOOL, false, "validate the XML against the schema"},
    END_OPTS,
};

static const vmctl_opt dumpxml_opts[] = {
    DOMAIN_OPT,
    {"inactive", VMCTL_OPT_BOOL, false, "show inactive defined XML"},
    {"security-info", VMCTL_OPT_BOOL, false, "include security sensitive information in XML dump"},
    END_OPTS,
};

static const vmctl_opt domstate_opts[] = {
    DOMAIN_OPT,
    {"reason", VMCTL_OPT_BOOL, false, "also print reason for the state"},
    END_OPTS,
};

static const vmctl_opt autostart_opts[] = {
    DOMAIN_OPT,
    {"disable", VMCTL_OPT_BOOL, false, "disable autostarting"},
    END_OPTS,
};

static const vmctl_opt start_opts[] = {
    {"domain", VMCTL_OPT_DATA, true, "name of the inactive domain"},
    {"console", VMCTL_OPT_BOOL, false, "attach to console after creation"},
    {"paused", VMCTL_OPT_BOOL, false, "leave the guest paused after start"},
    {"autodestroy", VMCTL_OPT_BOOL, false, "automatically destroy the guest when vmctl disconnects"},
    {"bypass-cache", VMCTL_OPT_BOOL, false, "avoid file system cache when loading"},
    {"force-boot", VMCTL_OPT_BOOL, false, "force fresh boot by discarding any managed save"},
    {"reset-nvram", VMCTL_OPT_BOOL, false, "re-initialize NVRAM from its pristine template"},
    END_OPTS,
};

static const vmctl_opt create_opts[] = {
    {"file", VMCTL_OPT_DATA, true, "file containing an XML domain description"},
    {"console", VMCTL_OPT_BOOL, false, "attach to console after creation"},
    {"paused", VMCTL_OPT_BOOL, false, "leave the guest paused after creation"},
    {"autodestroy", VMCTL_OPT_BOOL, false, "automatically destroy the guest when vmctl disconnects"},
    {"validate", VMCTL_OPT_BOOL, false, "validate the XML against the schema"},
    END_OPTS,
};

static const vmctl_opt mode_opts[] = {
    DOMAIN_OPT,
    {"mode", VMCTL_OPT_STRING, false, "shutdown mode: acpi|agent|initctl|signal|paravirt"},
    END_OPTS,
};

static const vmctl_opt destroy_opts[] = {
    DOMAIN_OPT,
    {"graceful", VMCTL_OPT_BOOL, false, "terminate gracefully"},
    {"remove-logs", VMCTL_OPT_BOOL, false, "remove domain logs"},
    END_OPTS,
};

static const vmctl_opt iflist_opts[] = {
    DOMAIN_OPT,
    {"inactive", VMCTL_OPT_BOOL, false, "get inactive rather than running configuration"},
    END_OPTS,
};

static const vmctl_opt blklist_opts[] = {
    DOMAIN_OPT,
    {"inactive", VMCTL_OPT_BOOL, false, "get inactive rather than running configuration"},
    {"details", VMCTL_OPT_BOOL, false, "additionally display the type and device value"},
    END_OPTS,
};

static const vmctl_opt domcaps_opts[] = {
    {"virttype", VMCTL_OPT_STRING, false, "virtualization type (/domain/@type)"},
    {"emulatorbin", VMCTL_OPT_STRING, false, "path to emulator binary (/domain/devices/emulator)"},
    {"arch", VMCTL_OPT_STRING, false, "domain architecture (/domain/os/type/@arch)"},
    {"machine", VMCTL_OPT_STRING, false, "machine type (/domain/os/type/@machine)"},
    END_OPTS,
};

static const vmctl_opt to_native_opts[] = {
    {"format", VMCTL_OPT_DATA, true, "target config data type format"},
    {"xml", VMCTL_OPT_DATA, false, "xml data file to export from"},
    {"domain", VMCTL_OPT_STRING, false, "domain name, id or uuid"},
    END_OPTS,
};

static const vmctl_opt event_opts[] = {
    {"domain", VMCTL_OPT_STRING, false, "filter by domain name, id or uuid"},
    {"event", VMCTL_OPT_STRING, false, "which event type to wait for"},
    {"all", VMCTL_OPT_BOOL, false, "wait for all events instead of just one type"},
    {"loop", VMCTL_OPT_BOOL, false, "loop until timeout or interrupt, rather than one event"},
    {"timeout", VMCTL_OPT_STRING, false, "timeout seconds"},
    {"list", VMCTL_OPT_BOOL, false, "list valid event types"},
    {"timestamp", VMCTL_OPT_BOOL, false, "show timestamp for each printed event"},
    END_OPTS,
};

static const vmctl_opt console_opts[] = {
    DOMAIN_OPT,
    {"devname", VMCTL_OPT_STRING, false, "character device name"},
    {"force", VMCTL_OPT_BOOL, false, "force console connection (disconnect already connected sessions)"},
    {"safe", VMCTL_OPT_BOOL, false, "only connect if safe console handling is supported"},
    END_OPTS,
};

static const vmctl_opt help_opts[] = {
    {"command", VMCTL_OPT_DATA, false, "Prints global help, command specific help, or help for a group of related commands"},
    END_OPTS,
};

const vmctl_group vmctl_groups[] = {
    {"domain", "Domain Management"},
    {"monitor", "Domain Monitoring"},
    {"host", "Host and Hypervisor"},
    {"vmctl", "Vmctl itself"},
    {NULL, NULL},
};

/* Alphabetical within each group, as virsh lists them. */
const vmctl_cmd vmctl_commands[] = {
    {"autostart", "domain", vmctl_cmd_autostart, autostart_opts, "autostart a domain",
     "Configure a domain to be automatically started at boot."},
    {"console", "domain", vmctl_cmd_console, console_opts, "connect to the guest console",
     "Connect the virtual serial console for the guest"},
    {"create", "domain", vmctl_cmd_create, create_opts, "create a domain from an XML file",
     "Create a domain."},
    {"define", "domain", vmctl_cmd_define, define_opts, "define (but don't start) a domain from an XML file",
     "Define a domain."},
    {"destroy", "domain", vmctl_cmd_destroy, destroy_opts, "destroy (stop) a domain",
     "Forcefully stop a given domain, but leave its resources intact."},
    {"domid", "domain", vmctl_cmd_domid, domain_only_opts, "convert a domain name or UUID to domain id",
     "Convert a domain name or UUID to domain id."},
    {"domname", "domain", vmctl_cmd_domname, domain_only_opts, "convert a domain id or UUID to domain name",
     "Convert a domain id or UUID to domain name."},
    {"domuuid", "domain", vmctl_cmd_domuuid, domain_only_opts, "convert a domain name or id to domain UUID",
     "Convert a domain name or id to domain UUID."},
    {"domxml-to-native", "domain", vmctl_cmd_domxml_to_native, to_native_opts,
     "Convert domain XML to native config", "Convert domain XML config to a native guest configuration format."},
    {"dumpxml", "domain", vmctl_cmd_dumpxml, dumpxml_opts, "domain information in XML",
     "Output the domain information as an XML dump to stdout."},
    {"edit", "domain", vmctl_cmd_edit, domain_only_opts, "edit XML configuration for a domain",
     "Edit the XML configuration for a domain."},
    {"event", "domain", vmctl_cmd_event, event_opts, "Domain Events",
     "List event types, or wait for domain events to occur"},
    {"reboot", "domain", vmctl_cmd_reboot, mode_opts, "reboot a domain", "Run a reboot command in the target domain."},
    {"reset", "domain", vmctl_cmd_reset, domain_only_opts, "reset a domain",
     "Reset the target domain as if by power button"},
    {"resume", "domain", vmctl_cmd_resume, domain_only_opts, "resume a domain",
     "Resume a previously suspended domain."},
    {"shutdown", "domain", vmctl_cmd_shutdown, mode_opts, "gracefully shutdown a domain",
     "Run shutdown in the target domain."},
    {"start", "domain", vmctl_cmd_start, start_opts, "start a (previously defined) inactive domain",
     "Start a domain, either from the last managedsave\n    state, or via a fresh boot if no managedsave state\n    is present."},
    {"suspend", "domain", vmctl_cmd_suspend, domain_only_opts, "suspend a domain",
     "Suspend a running domain."},
    {"undefine", "domain", vmctl_cmd_undefine, domain_only_opts, "undefine a domain",
     "Undefine an inactive domain, or convert persistent to transient."},
    {"vncdisplay", "domain", vmctl_cmd_vncdisplay, domain_only_opts, "vnc display",
     "Output the IP address and port number for the VNC display."},
    {"domblklist", "monitor", vmctl_cmd_domblklist, blklist_opts, "list all domain blocks",
     "Get the summary of block devices for a domain."},
    {"domiflist", "monitor", vmctl_cmd_domiflist, iflist_opts, "list all domain virtual interfaces",
     "Get network interfaces' summary for a running domain."},
    {"dominfo", "monitor", vmctl_cmd_dominfo, domain_only_opts, "domain information",
     "Returns basic information about the domain."},
    {"domstate", "monitor", vmctl_cmd_domstate, domstate_opts, "domain state",
     "Returns state about a domain."},
    {"list", "monitor", vmctl_cmd_list, list_opts, "list domains", "Returns list of domains."},
    {"capabilities", "host", vmctl_cmd_capabilities, no_opts, "capabilities",
     "Returns capabilities of hypervisor/driver."},
    {"domcapabilities", "host", vmctl_cmd_domcapabilities, domcaps_opts, "domain capabilities",
     "Returns capabilities of emulator with respect to host and libvirt."},
    {"hostname", "host", vmctl_cmd_hostname, no_opts, "print the hypervisor hostname", ""},
    {"nodeinfo", "host", vmctl_cmd_nodeinfo, no_opts, "node information",
     "Returns basic information about the node."},
    {"uri", "host", vmctl_cmd_uri, no_opts, "print the hypervisor canonical URI", ""},
    {"version", "host", vmctl_cmd_version, no_opts, "show version", "Display the system version information."},
    {"help", "vmctl", vmctl_cmd_help, help_opts, "print help", "Prints global help, command specific help, or help for a\n    group of related commands"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

const vmctl_cmd *vmctl_find_command(const char *name)
{
    for (const vmctl_cmd *c = vmctl_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}
