/* minivmm: run a VM, or manage disk images (img) and host networks (net). */
#include "vmm/cli.h"
#include "vmm/log.h"
#include "vmm/vm.h"
#ifdef MINIVMM_HAVE_QCOW2
#include "qcow2/img_cli.h"
#endif
#ifdef MINIVMM_HAVE_NET
#include "net/net_cli.h"
#endif

#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "img") == 0) {
#ifdef MINIVMM_HAVE_QCOW2
		return img_main(argc - 1, argv + 1);
#else
		log_error("this build has no disk-image support");
		return 2;
#endif
	}
	if (argc > 1 && strcmp(argv[1], "net") == 0) {
#ifdef MINIVMM_HAVE_NET
		return net_main(argc - 1, argv + 1);
#else
		log_error("this build has no network support");
		return 2;
#endif
	}

	struct vm_config cfg;
	int r = cli_parse(argc, argv, &cfg);
	if (r == CLI_EXIT_OK)
		return 0;
	if (r < 0)
		return 2;
	log_set_level(cfg.log_level);
	return vm_run(&cfg);
}
