/* libFuzzer target: arbitrary bytes as a domain definition. Whatever is
 * accepted must write back (domdef_to_xml) to a document that reads again
 * to the same definition and the same text: what `define` stores is what
 * `dumpxml` and the next `define` see. Built with clang
 * -fsanitize=fuzzer,address,undefined (see meson.build). */
#include "vmm/life/domdef.h"
#include "vmm/log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domdef a, b;
	char *x, *y;

	log_set_quiet(true);
	if (domdef_from_xml((const char *)data, size, "fuzz", &a))
		return 0;
	if (domdef_to_xml(&a, &x))
		abort();
	if (domdef_from_xml(x, strlen(x), "stored", &b))
		abort(); /* what was stored no longer reads */
	if (domdef_to_xml(&b, &y) || strcmp(x, y) || strcmp(a.uuid, b.uuid) ||
	    a.memory_kib != b.memory_kib || a.current_kib != b.current_kib || a.vcpus != b.vcpus ||
	    a.ndisks != b.ndisks || a.nnics != b.nnics)
		abort();
	for (unsigned i = 0; i < a.nnics; i++)
		if (memcmp(a.nics[i].mac, b.nics[i].mac, 6))
			abort();
	free(x);
	free(y);
	domdef_free(&a);
	domdef_free(&b);
	return 0;
}
