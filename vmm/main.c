/* minivmm: run a VM, or manage disk images (img) and host networks (net). */
#include "net/net_cli.h"
#include "qcow2/img_cli.h"
#include "vmm/life/dom_cli.h"
#include "vmm/cli.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "img") == 0)
		return img_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "net") == 0)
		return net_main(argc - 1, argv + 1);
	if (argc > 1 && dom_cli_is_verb(argv[1]))
		return dom_main(argc - 1, argv + 1);

	struct vm_config cfg;
	int r = cli_parse(argc, argv, &cfg);
	if (r == CLI_EXIT_OK)
		return 0;
	if (r < 0)
		return 2;
	log_set_level(cfg.log_level);
	return vm_run(&cfg);
}
