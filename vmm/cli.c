#include "vmm/cli.h"
#include "devices/virtio/disk.h"
#include "devices/virtio/net_opts.h"
#include "devices/virtio/net_user_opts.h"
#include "net/mdata_record.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/uuid.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void cli_usage(FILE *out)
{
	fputs(
"usage: minivmm --kernel FILE [options]     run a VM\n"
"       minivmm --disk IMAGE [options]       run a VM booting the kernel inside IMAGE\n"
"       minivmm img COMMAND ...              disk images (minivmm img --help)\n"
"       minivmm net COMMAND ...              host networks (minivmm net --help)\n"
"       minivmm define FILE.xml | start NAME | console NAME | list [--all] |\n"
"               shutdown NAME | destroy NAME | dominfo NAME | ...\n"
"                                            VMs, as virsh (minivmm define --help)\n"
"\n"
"Boots a Linux kernel (bzImage or ELF vmlinux, or a PVH ELF) in a KVM virtual\n"
"machine with its serial console on this terminal.\n"
"\n"
"options:\n"
"  --kernel FILE     kernel to boot; without it the first --disk's own kernel,\n"
"                    initrd and command line are found as its boot loader\n"
"                    would (GRUB 2, GRUB legacy, extlinux, BLS; ext2/3/4)\n"
"  --initrd FILE     initial ramdisk\n"
"  --cmdline TEXT    kernel command line (e.g. \"console=ttyS0\"); with a kernel\n"
"                    found on the disk, appended to the one its boot loader uses\n"
"  --boot-info       print what the first --disk boots (partition, file system,\n"
"                    configuration, entry, kernel, initrd, command line) and why;\n"
"                    exit without starting a VM\n"
"  --memory SIZE     guest RAM: 512M, 1G, ... (a bare number is MiB; default 512M)\n"
"  --cpus N          vCPUs, 1 to 64 (default 1)\n"
"  --console WHERE   default: this terminal (raw mode; Ctrl+] stops the VM);\n"
"                    '-': stdin/stdout as plain streams (no raw mode, no escape key);\n"
"                    FILE: append the guest's output to FILE, no input\n"
"  --disk FILE[,readonly][,format=raw|qcow2][,direct]\n"
"                    a virtio-blk disk on PCI; repeat for more: the first is\n"
"                    /dev/vda, then vdb, ... (at most 16). The format is read\n"
"                    from the image header unless format= is given; the image\n"
"                    is locked (as QEMU does) while the VM runs; direct: O_DIRECT\n"
"  --bridge NAME[,mac=MAC]\n"
"                    a virtio-net NIC on a new TAP (vnet0, vnet1, ...: the first\n"
"                    free name) attached to NAME: a network made with\n"
"                    `minivmm net` (it must be started) or any Linux bridge;\n"
"                    needs root or CAP_NET_ADMIN. The TAP goes when minivmm ends.\n"
"  --tap NAME[,mac=MAC]\n"
"                    a virtio-net NIC on the existing TAP NAME, e.g. one made\n"
"                    with `ip tuntap add NAME mode tap multi_queue user $USER`\n"
"                    (then no root is needed)\n"
"  --net user[,net=CIDR][,mac=MAC][,hostfwd=FWD]...\n"
"                    a virtio-net NIC on user-mode networking (libslirp): no\n"
"                    root, no TAP; the guest reaches what this user can. As\n"
"                    QEMU's: network 10.0.2.0/24 (or net=), gateway/host .2,\n"
"                    DNS .3, DHCP from .15. FWD, repeatable, is\n"
"                    tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT: a host\n"
"                    port, on 127.0.0.1 unless HOSTADDR is given, forwarded\n"
"                    to the guest (.15 unless GUESTADDR is given), e.g.\n"
"                    hostfwd=tcp::2222-:22 for `ssh -p 2222 localhost`.\n"
"                    NICs are eth0, eth1, ... in the order given (at most 8),\n"
"                    one queue pair per vCPU (up to 16; --net user: one).\n"
"                    Without mac=, a NIC's MAC is 52:54:00 plus 3 bytes\n"
"                    hashed from the first disk's (else the kernel's) real\n"
"                    path and the NIC's index: the same on every run\n"
"  --uuid UUID       the VM's UUID (SMBIOS system UUID, metadata instance-id);\n"
"                    default: derived from the first disk's real path, else the\n"
"                    kernel's, so it is the same on every run\n"
"  --hostname NAME   the host name the metadata service gives the guest\n"
"                    (1..63 of [0-9A-Za-z.-], RFC 1123 labels); default\n"
"                    minivmm- and the UUID's first 8 hex digits\n"
"  --ssh-key FILE    authorized_keys text (<= 16 KiB) served as the guest's\n"
"                    public-keys (CirrOS and cloud-init install it)\n"
"  --user-data FILE  user-data (<= 64 KiB) served to the guest: a #! script\n"
"                    CirrOS runs, or cloud-init's #cloud-config.\n"
"                    These three reach the guest through the metadata\n"
"                    service on 169.254.169.254: that of the --bridge networks\n"
"                    made with `minivmm net` (published when the NIC joins the\n"
"                    bridge, withdrawn when the VM stops), or --net user's own,\n"
"                    inside minivmm; a plain bridge and --tap have none\n"
"  --kvm-device PATH KVM device (default /dev/kvm)\n"
"  --debug           log debug messages (e.g. guest accesses to absent devices)\n"
"  --help            this text\n"
"  --version         print the version\n"
"\n"
"Exit status: 0 when the guest powers off or resets, or after Ctrl+];\n"
"the byte the guest wrote to the debug-exit port 0x501; 1 on a VMM or guest\n"
"failure (e.g. a triple fault); 2 on a usage error; 128+N after signal N.\n"
"\n"
"environment:\n"
"  MINIVMM_EXIT_STATS=1  when the VM stops, print to stderr the time from start\n"
"                    to the first KVM_RUN, the VM exits by kind, the busiest\n"
"                    I/O ports and the time spent handling them, and each\n"
"                    NIC's frame counters (dropped frames by reason)\n"
"  MINIVMM_STATE_DIR  where `minivmm net` keeps its networks (default\n"
"                    /var/lib/minivmm): --bridge looks NAME up there\n",
	      out);
}

int cli_parse_uint(const char *flag, const char *value, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	if (!value || !*value || *value == '-' || *value == '+') {
		log_error("%s '%s': expected a number from %u to %u", flag, value ? value : "", min, max);
		return -EINVAL;
	}
	unsigned long long v = strtoull(value, &end, 10);
	if (errno || *end || v < min || v > max) {
		log_error("%s '%s': expected a number from %u to %u", flag, value, min, max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

int cli_parse_size(const char *flag, const char *value, uint64_t *out)
{
	char *end;
	if (!value || !*value || !(value[0] >= '0' && value[0] <= '9')) {
		log_error("%s '%s': expected a size such as 512M or 1G", flag, value ? value : "");
		return -EINVAL;
	}
	errno = 0;
	unsigned long long num = strtoull(value, &end, 10);
	if (errno) {
		log_error("%s '%s': number too large", flag, value);
		return -EINVAL;
	}
	unsigned shift;
	switch (*end) {
	case '\0': shift = 20; break;	/* bare number: MiB, as QEMU's -m */
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default:
		log_error("%s '%s': unknown size suffix '%s' (use K, M, G or T)", flag, value, end);
		return -EINVAL;
	}
	/* Accept "1GiB" and "1GB" as well as "1G". */
	if (strcmp(end, "") != 0 && strcmp(end, "B") != 0 && strcmp(end, "iB") != 0) {
		log_error("%s '%s': unknown size suffix (use K, M, G or T)", flag, value);
		return -EINVAL;
	}
	if (num > (UINT64_MAX >> shift)) {
		log_error("%s '%s': size too large", flag, value);
		return -EINVAL;
	}
	*out = (uint64_t)num << shift;
	return 0;
}

static int cli_check_memory(uint64_t size, const char *value)
{
	if (size < MEM_MIN_SIZE) {
		log_error("--memory '%s': a VM needs at least %lluM", value,
			  (unsigned long long)(MEM_MIN_SIZE >> 20));
		return -EINVAL;
	}
	if (size > MEM_MAX_SIZE) {
		log_error("--memory '%s': at most %lluG", value, (unsigned long long)(MEM_MAX_SIZE >> 30));
		return -EINVAL;
	}
	if (size & 0xfff) {
		log_error("--memory '%s': must be a whole number of 4K pages", value);
		return -EINVAL;
	}
	return 0;
}

/* Syntax only: the files are opened by the VM, before /dev/kvm. */
static int cli_add_disk(struct vm_config *cfg, const char *value)
{
	if (cfg->ndisks == CLI_MAX_DISKS) {
		log_error("--disk '%s': at most %d disks", value, CLI_MAX_DISKS);
		return -EINVAL;
	}
	char *copy = strdup(value);
	if (!copy) {
		log_error("--disk: out of memory");
		return -ENOMEM;
	}
	struct disk_opts o;
	int r = disk_opts_parse(copy, &o);
	free(copy);
	if (r < 0)
		return r;
	cfg->disks[cfg->ndisks++] = value;
	return 0;
}

/* Syntax only: TAPs and user networks are opened by the VM, before /dev/kvm. */
static int cli_add_nic(struct vm_config *cfg, enum cli_nic_kind kind, const char *value)
{
	const char *flag = kind == CLI_NIC_BRIDGE ? "--bridge" : kind == CLI_NIC_TAP ? "--tap"
			   : "--net";
	struct net_user_opts u;
	struct net_opts o;

	if (cfg->nnics == CLI_MAX_NICS) {
		log_error("%s '%s': at most %d NICs", flag, value, CLI_MAX_NICS);
		return -EINVAL;
	}
	if (kind == CLI_NIC_USER ? net_user_opts_parse(value, &u) < 0
				 : net_opts_parse(flag, value, &o) < 0)
		return -EINVAL;
	cfg->nics[cfg->nnics++] = (struct cli_nic){ .kind = kind, .spec = value };
	return 0;
}

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_MEMORY, OPT_CPUS, OPT_CONSOLE,
       OPT_KVM_DEVICE, OPT_DEBUG, OPT_HELP, OPT_VERSION, OPT_DISK, OPT_BRIDGE, OPT_TAP,
       OPT_UUID, OPT_BOOT_INFO, OPT_NET, OPT_HOSTNAME, OPT_SSH_KEY, OPT_USER_DATA };

static const struct option cli_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "kvm-device", required_argument, NULL, OPT_KVM_DEVICE },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "bridge", required_argument, NULL, OPT_BRIDGE },
	{ "tap", required_argument, NULL, OPT_TAP },
	{ "uuid", required_argument, NULL, OPT_UUID },
	{ "net", required_argument, NULL, OPT_NET },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "ssh-key", required_argument, NULL, OPT_SSH_KEY },
	{ "user-data", required_argument, NULL, OPT_USER_DATA },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "boot-info", no_argument, NULL, OPT_BOOT_INFO },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

int cli_parse(int argc, char **argv, struct vm_config *cfg)
{
	*cfg = (struct vm_config){
		.kvm_path = "/dev/kvm", .mem_size = CLI_DEFAULT_MEMORY, .ncpus = 1,
		.log_level = LOG_INFO,
	};
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, ":", cli_options, NULL)) != -1) {
		switch (opt) {
		case OPT_KERNEL: cfg->kernel = optarg; break;
		case OPT_INITRD: cfg->initrd = optarg; break;
		case OPT_CMDLINE: cfg->cmdline = optarg; break;
		case OPT_CONSOLE:
			/* '@...' names consoles only a controller sets up (VM_CONSOLE_DETACHED) */
			if (optarg[0] == '@') {
				log_error("--console %s: expected '-' or a file name (./%s for a file "
					  "named so)", optarg, optarg);
				return -EINVAL;
			}
			cfg->console = optarg;
			break;
		case OPT_KVM_DEVICE: cfg->kvm_path = optarg; break;
		case OPT_DEBUG: cfg->log_level = LOG_DEBUG; break;
		case OPT_BOOT_INFO: cfg->boot_info = true; break;
		case OPT_HOSTNAME: cfg->hostname = optarg; break;
		case OPT_SSH_KEY: cfg->ssh_key_file = optarg; break;
		case OPT_USER_DATA: cfg->user_data_file = optarg; break;
		case OPT_MEMORY:
			if (cli_parse_size("--memory", optarg, &cfg->mem_size) < 0 ||
			    cli_check_memory(cfg->mem_size, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_DISK:
			if (cli_add_disk(cfg, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_BRIDGE:
		case OPT_TAP:
		case OPT_NET:
			if (cli_add_nic(cfg, opt == OPT_BRIDGE ? CLI_NIC_BRIDGE : opt == OPT_TAP
					? CLI_NIC_TAP : CLI_NIC_USER, optarg) < 0)
				return -EINVAL;
			break;
		case OPT_UUID: {
			uint8_t u[UUID_LEN];
			if (uuid_parse(optarg, u) < 0) {
				log_error("--uuid '%s': not a UUID like "
					  "00112233-4455-6677-8899-aabbccddeeff", optarg);
				return -EINVAL;
			}
			cfg->uuid = optarg;
			break;
		}
		case OPT_CPUS:
			if (cli_parse_uint("--cpus", optarg, 1, MAX_VCPUS, &cfg->ncpus) < 0)
				return -EINVAL;
			break;
		case OPT_HELP:
			cli_usage(stdout);
			return CLI_EXIT_OK;
		case OPT_VERSION:
			printf("minivmm %s\n", MINIVMM_VERSION);
			return CLI_EXIT_OK;
		case ':':
			log_error("%s needs a value (see minivmm --help)", argv[optind - 1]);
			return -EINVAL;
		default:
			log_error("unknown option '%s' (see minivmm --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see minivmm --help)", argv[optind]);
		return -EINVAL;
	}
	if (!cfg->kernel && !cfg->ndisks) {
		log_error("no --kernel and no --disk given: minivmm needs a kernel to boot, or a "
			  "disk to find one on (see minivmm --help)");
		return -EINVAL;
	}
	/* The files are read again when a NIC joins a network; checked here so
	 * that a typo fails before anything starts. */
	const struct mdata_files md = { .hostname = cfg->hostname,
					.ssh_key_path = cfg->ssh_key_file,
					.user_data_path = cfg->user_data_file };
	if (mdata_files_check(&md) < 0)
		return -EINVAL;
	if (cfg->boot_info && !cfg->ndisks) {
		log_error("--boot-info needs a --disk to look at");
		return -EINVAL;
	}
	return CLI_RUN;
}
