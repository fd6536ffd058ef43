/* minivmm entry point (being written; see issue 2). */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "minivmm: not yet usable\n");
	return 1;
}
