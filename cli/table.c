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
    {"define", "domain", vmctl_cmd_define, define_opts, "define (but don't start) a domain from an XML file",
     "Define a domain."},
    {"domid", "domain", vmctl_cmd_domid, domain_only_opts, "convert a domain name or UUID to domain id",
     "Convert a domain name or UUID to domain id."},
    {"domname", "domain", vmctl_cmd_domname, domain_only_opts, "convert a domain id or UUID to domain name",
     "Convert a domain id or UUID to domain name."},
    {"domuuid", "domain", vmctl_cmd_domuuid, domain_only_opts, "convert a domain name or id to domain UUID",
     "Convert a domain name or id to domain UUID."},
    {"dumpxml", "domain", vmctl_cmd_dumpxml, dumpxml_opts, "domain information in XML",
     "Output the domain information as an XML dump to stdout."},
    {"edit", "domain", vmctl_cmd_edit, domain_only_opts, "edit XML configuration for a domain",
     "Edit the XML configuration for a domain."},
    {"undefine", "domain", vmctl_cmd_undefine, domain_only_opts, "undefine a domain",
     "Undefine an inactive domain, or convert persistent to transient."},
    {"dominfo", "monitor", vmctl_cmd_dominfo, domain_only_opts, "domain information",
     "Returns basic information about the domain."},
    {"domstate", "monitor", vmctl_cmd_domstate, domstate_opts, "domain state",
     "Returns state about a domain."},
    {"list", "monitor", vmctl_cmd_list, list_opts, "list domains", "Returns list of domains."},
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
