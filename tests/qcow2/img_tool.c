/* Stand-alone `img` for the tests (the lead wires `minivmm img` to img_main). */
#include "qcow2/img_cli.h"

int main(int argc, char **argv)
{
	argv[0] = "img";
	return img_main(argc, argv);
}
