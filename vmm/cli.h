/* The command line of `minivmm` (running a VM): parsing and validation of
 * every flag, with errors that name the flag and the value at fault. */
#ifndef MINIVMM_CLI_H
#define MINIVMM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_MAX_DISKS 16
#define CLI_MAX_NICS 8

enum cli_nic_kind { CLI_NIC_BRIDGE, CLI_NIC_TAP, CLI_NIC_USER };

struct cli_nic {
	enum cli_nic_kind kind;
	/* As given: NAME[,mac=MAC] (net_opts_parse); for --net, user[,...]
	 * (net_user_opts_parse). */
	const char *spec;
};

struct vm_config {
	const char *kernel;
	const char *initrd;	/* NULL: none */
	const char *cmdline;	/* NULL: empty */
	const char *console;	/* NULL: the terminal; "-": stdio; else a file */
	const char *kvm_path;	/* "/dev/kvm" */
	uint64_t mem_size;
	unsigned ncpus;
	int log_level;
	const char *disks[CLI_MAX_DISKS];	/* --disk specs, in order: vda, vdb, ... */
	unsigned ndisks;
	struct cli_nic nics[CLI_MAX_NICS];	/* --bridge/--tap/--net in order: eth0, eth1, ... */
	unsigned nnics;
	const char *uuid;	/* --uuid, checked; NULL: derived (vmm/vm_identity.h) */
	bool boot_info;		/* --boot-info: print what the first disk boots, exit */
	/* Metadata service (net/mdata_*): --hostname, --ssh-key FILE, --user-data
	 * FILE; NULL: not given. */
	const char *hostname;
	const char *ssh_key_file;
	const char *user_data_file;
	/* Background VMs (vmm/life/): NULL in the foreground. With them,
	 * console is VM_CONSOLE_DETACHED and console_log names the log file
	 * (vmm/vm_control.h). */
	const struct vm_run_hooks *hooks;
	const char *console_log;
};


#define CLI_DEFAULT_MEMORY (512ULL << 20)

/* "512M", "1G", "2048K", "4T", or a bare number of MiB. 0 or -EINVAL (logged
 * as "FLAG VALUE: why"). */
int cli_parse_size(const char *flag, const char *value, uint64_t *out);
/* A decimal integer in [min, max]. */
int cli_parse_uint(const char *flag, const char *value, unsigned min, unsigned max, unsigned *out);

enum cli_result { CLI_RUN = 0, CLI_EXIT_OK = 1 };
/* Parses argv (argv[0] is the program). CLI_RUN with *cfg filled,
 * CLI_EXIT_OK after --help/--version, or -EINVAL (error logged). */
int cli_parse(int argc, char **argv, struct vm_config *cfg);
void cli_usage(FILE *out);

#endif
