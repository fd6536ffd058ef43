/* Test driver: `mvnet net ...` runs net_main() as `minivmm net ...` will. */
#include "net/net_cli.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "net")) {
		fprintf(stderr, "usage: mvnet net COMMAND ...\n");
		return 2;
	}
	return net_main(argc - 1, argv + 1);
}
