/* Debug/test helper: qcow2-io IMG dump OUT | write OFF LEN BYTE | zero OFF LEN | discard OFF LEN */
#include "qcow2/qcow2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct qcow2 *q;
	struct qcow2_open_opts o = {0};
	int ret;

	if (argc < 3)
		return 2;
	if (strcmp(argv[2], "dump"))
		o.flags = QCOW2_O_RDWR;
	if (qcow2_open(argv[1], &o, &q))
		return 1;
	struct qcow2_info info;
	qcow2_get_info(q, &info);
	if (!strcmp(argv[2], "dump") && argc == 4) {
		FILE *f = fopen(argv[3], "wb");
		char *buf = malloc(1 << 20);
		ret = 0;
		for (uint64_t off = 0; off < info.virtual_size && !ret; off += 1 << 20) {
			size_t n =
			    info.virtual_size - off < (1 << 20) ? info.virtual_size - off : 1 << 20;
			ret = qcow2_read(q, off, buf, n);
			if (!ret && fwrite(buf, 1, n, f) != n)
				ret = 1;
		}
		fclose(f);
		free(buf);
	} else if (!strcmp(argv[2], "write") && argc == 6) {
		size_t len = strtoull(argv[4], NULL, 0);
		char *buf = malloc(len);
		memset(buf, (int)strtol(argv[5], NULL, 0), len);
		ret = qcow2_write(q, strtoull(argv[3], NULL, 0), buf, len);
		free(buf);
	} else if (!strcmp(argv[2], "zero") && argc == 5) {
		ret = qcow2_write_zeroes(q, strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0),
					 0);
	} else if (!strcmp(argv[2], "discard") && argc == 5) {
		ret = qcow2_discard(q, strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
	} else {
		ret = 2;
	}
	if (qcow2_close(q))
		ret = 1;
	return ret ? 1 : 0;
}
