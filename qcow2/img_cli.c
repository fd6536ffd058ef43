/* `minivmm img create|info|check`, output laid out like qemu-img 7.2. */
#include "qcow2/img_cli.h"
#include "qcow2/qcow2.h"
#include "qcow2/qcow2_internal.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int img_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "BKMGTPE";
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	bool frac = *end == '.';
	if (frac) {
		const char *digits = end + 1;
		while (*end == '.' || (*end >= '0' && *end <= '9'))
			end++;
		const char *dot = strchr(digits, '.');
		if (end == digits || (dot && dot < end))
			return -EINVAL;
	}
	unsigned shift = 0;
	if (*end) {
		const char *u = strchr(units, *end >= 'a' && *end <= 'z' ? *end - 32 : *end);
		if (!u || end[1])
			return -EINVAL;
		shift = (unsigned)(u - units) * 10;
	}
	if (frac) { /* "1.5G" like qemu-img: rounded down to a byte */
		double d = strtod(s, NULL) * (double)(1ull << shift);
		if (!(d >= 0 && d < 9.2e18))
			return -EINVAL;
		*out = (uint64_t)d;
		return 0;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

void img_format_size(uint64_t bytes, char *buf, unsigned len)
{
	static const char *const suffix[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	int e;

	frexp((double)bytes / (1000.0 / 1024.0), &e);
	int i = e > 0 ? (e - 1) / 10 : 0;
	if (i > 6)
		i = 6;
	snprintf(buf, len, "%0.3g %s", (double)bytes / (double)(1ull << (i * 10)), suffix[i]);
}

static bool is_qcow2_file(const char *path, int *err)
{
	unsigned char m[4] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*err = 0;
	if (fd < 0) {
		*err = -errno;
		log_error("img: %s: cannot open: %s", path, strerror(errno));
		return false;
	}
	ssize_t n = read(fd, m, 4);
	close(fd);
	return n == 4 && m[0] == 'Q' && m[1] == 'F' && m[2] == 'I' && m[3] == 0xfb;
}

/* Virtual size of an existing image (qcow2 or raw), for create -b without SIZE. */
static int image_size(const char *path, uint64_t *size, const char **fmt)
{
	int err;

	if (is_qcow2_file(path, &err)) {
		struct qcow2 *q;
		struct qcow2_open_opts o = {.flags = QCOW2_O_NO_BACKING};
		struct qcow2_info info;
		if ((err = qcow2_open(path, &o, &q)))
			return err;
		qcow2_get_info(q, &info);
		qcow2_close(q);
		*size = info.virtual_size;
		*fmt = "qcow2";
		return 0;
	}
	if (err)
		return err;
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	*size = (uint64_t)st.st_size;
	*fmt = "raw";
	return 0;
}

/* refcount_bits=N as qemu-img reads it: a number in C syntax (0x10, 010),
 * then a power of two from 1 to 64. Logs qemu-img's messages. */
static int parse_refcount_bits(const char *file, const char *v, unsigned *out)
{
	char *end;

	errno = 0;
	unsigned long long n = strtoull(v, &end, 0);
	if (errno == ERANGE) {
		log_error("img create: %s: Value '%s' is too large for parameter 'refcount_bits'",
			  file, v);
		return -ERANGE;
	}
	if (end == v || *end) {
		log_error("img create: %s: Parameter 'refcount_bits' expects a number", file);
		return -EINVAL;
	}
	if (n == 0 || n > 64 || (n & (n - 1))) {
		log_error("img create: %s: Refcount width must be a power of two and may not "
			  "exceed 64 bits",
			  file);
		return -EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

/* COMPAT gets -o compat= as written (qemu-img echoes it so), "" if absent. */
static int parse_o(const char *opts, const char *file, struct qcow2_create_opts *co,
		   char *compat, size_t compat_len)
{
	char *dup = strdup(opts), *save = NULL;
	int ret = 0;

	if (!dup)
		return -ENOMEM;
	for (char *kv = strtok_r(dup, ",", &save); kv && !ret; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		uint64_t n;
		if (v)
			*v++ = '\0';
		if (v && !strcmp(kv, "refcount_bits")) {
			if ((ret = parse_refcount_bits(file, v, &co->refcount_bits)))
				break; /* logged */
		} else if (v && !strcmp(kv, "cluster_size") && !img_parse_size(v, &n) &&
			   n <= (1u << 21))
			co->cluster_size = (uint32_t)n;
		else if (v && !strcmp(kv, "compat")) {
			bool v2 = !strcmp(v, "0.10") || !strcmp(v, "v2");
			if (!v2 && strcmp(v, "1.1") && strcmp(v, "v3")) {
				log_error("img: %s: compat '%s' is not one of 0.10, v2, 1.1, v3",
					  file, v);
				ret = -EINVAL;
				break;
			}
			co->version = v2 ? 2 : 3;
			snprintf(compat, compat_len, "%s", v);
		}
		else if (v && !strcmp(kv, "extended_l2"))
			co->extended_l2 = !strcmp(v, "on");
		else if (v && !strcmp(kv, "compression_type"))
			co->zstd = !strcmp(v, "zstd");
		else {
			log_error("img: invalid -o option in '%s'", opts);
			ret = -EINVAL;
		}
	}
	free(dup);
	return ret;
}

static int create_raw(const char *path, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		log_error("img: %s: cannot create: %s", path, strerror(-ret));
	return ret;
}

/* -b without -F or SIZE: take the format and size from the backing file
 * (named relative to the new image, as it will be opened). */
static int backing_defaults(const char *file, struct qcow2_create_opts *co, bool have_size)
{
	char *full = qcow2_resolve_backing(file, co->backing);
	const char *probed;
	uint64_t bsize;
	int ret = full ? image_size(full, &bsize, &probed) : -ENOMEM;

	free(full);
	if (ret) {
		log_error("img create: cannot open backing file '%s'", co->backing);
		return ret;
	}
	if (!co->backing_fmt)
		co->backing_fmt = probed;
	if (!have_size)
		co->size = bsize;
	return 0;
}

/* The line qemu-img 7.2 prints, field for field: its option list in its
 * own order, compat only when -o gave it, lazy_refcounts always off (we
 * never create lazy images). */
static void print_formatting(const char *file, const char *fmt,
			     const struct qcow2_create_opts *co, const char *compat)
{
	printf("Formatting '%s', fmt=%s", file, fmt);
	if (!strcmp(fmt, "qcow2"))
		printf(" cluster_size=%u extended_l2=%s compression_type=%s",
		       co->cluster_size ? co->cluster_size : 65536u,
		       co->extended_l2 ? "on" : "off", co->zstd ? "zstd" : "zlib");
	printf(" size=%llu", (unsigned long long)co->size);
	if (co->backing)
		printf(" backing_file=%s backing_fmt=%s", co->backing, co->backing_fmt);
	if (!strcmp(fmt, "qcow2"))
		printf("%s%s lazy_refcounts=off refcount_bits=%u", *compat ? " compat=" : "",
		       compat, co->refcount_bits ? co->refcount_bits : 16u);
	printf("\n");
}

static int cmd_create(int argc, char **argv)
{
	struct qcow2_create_opts co = {0};
	const char *fmt = "raw", *opts = NULL;
	char compat[8] = "";
	bool quiet = false;
	int c, ret;

	optind = 1;
	while ((c = getopt(argc, argv, "f:b:F:o:q")) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'b':
			co.backing = optarg;
			break;
		case 'F':
			co.backing_fmt = optarg;
			break;
		case 'o':
			opts = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		default:
			return 1;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		log_error(
		    "img create: usage: img create [-f qcow2|raw] [-b BACKING -F FMT] FILE [SIZE]");
		return 1;
	}
	const char *file = argv[optind], *size_s = argv[optind + 1];
	if (strcmp(fmt, "qcow2") && strcmp(fmt, "raw")) {
		log_error("img create: unknown format '%s' (qcow2 or raw)", fmt);
		return 1;
	}
	if (opts && (strcmp(fmt, "qcow2") || parse_o(opts, file, &co, compat, sizeof(compat))))
		return 1;
	if (size_s && img_parse_size(size_s, &co.size)) {
		log_error("img create: invalid size '%s' (e.g. 20G, 512M, 1048576)", size_s);
		return 1;
	}
	if (co.backing && strcmp(fmt, "qcow2")) {
		log_error("img create: a backing file needs -f qcow2");
		return 1;
	}
	if (co.backing && backing_defaults(file, &co, size_s != NULL))
		return 1;
	if (!co.backing && !size_s) {
		log_error("img create: SIZE is required without a backing file");
		return 1;
	}
	if (co.size > UINT64_MAX - 511) {
		log_error("img create: size '%s' too large", size_s ? size_s : "");
		return 1;
	}
	co.size = (co.size + 511) & ~511ull;
	if (!quiet)
		print_formatting(file, fmt, &co, compat);
	ret = strcmp(fmt, "raw") ? qcow2_create(file, &co) : create_raw(file, co.size);
	return ret ? 1 : 0;
}

static uint64_t disk_usage(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static void print_info_human(const char *file, const char *fmt, const struct qcow2_info *i,
			     uint64_t vsize)
{
	char a[32], b[32];

	img_format_size(vsize, a, sizeof(a));
	img_format_size(disk_usage(file), b, sizeof(b));
	printf("image: %s\nfile format: %s\nvirtual size: %s (%llu bytes)\ndisk size: %s\n", file,
	       fmt, a, (unsigned long long)vsize, b);
	if (!i)
		return;
	printf("cluster_size: %u\n", i->cluster_size);
	if (i->backing_file[0]) {
		printf("backing file: %s", i->backing_file);
		if (strcmp(i->backing_file, i->backing_full))
			printf(" (actual path: %s)", i->backing_full);
		printf("\n");
		if (i->backing_format[0])
			printf("backing file format: %s\n", i->backing_format);
	}
	printf("Format specific information:\n    compat: %s\n    compression type: %s\n",
	       i->version == 2 ? "0.10" : "1.1", i->compression);
	if (i->version == 3)
		printf("    lazy refcounts: %s\n", i->lazy_refcounts ? "true" : "false");
	printf("    refcount bits: %u\n", i->refcount_bits);
	if (i->version == 3)
		printf("    corrupt: %s\n    extended l2: %s\n", i->corrupt ? "true" : "false",
		       i->extended_l2 ? "true" : "false");
}

static void json_str(const char *key, const char *v, bool comma)
{
	printf("    \"%s\": ", key);
	img_json_string(stdout, v);
	printf("%s\n", comma ? "," : "");
}

static void print_info_json(const char *file, const char *fmt, const struct qcow2_info *i,
			    uint64_t vsize)
{
	printf("{\n");
	if (i && i->backing_file[0] && i->backing_format[0])
		json_str("backing-filename-format", i->backing_format, true);
	printf("    \"virtual-size\": %llu,\n", (unsigned long long)vsize);
	json_str("filename", file, true);
	if (i)
		printf("    \"cluster-size\": %u,\n", i->cluster_size);
	json_str("format", fmt, true);
	printf("    \"actual-size\": %llu,\n", (unsigned long long)disk_usage(file));
	if (i) {
		printf("    \"format-specific\": {\n        \"type\": \"qcow2\",\n        "
		       "\"data\": {\n");
		printf(
		    "            \"compat\": \"%s\",\n            \"compression-type\": \"%s\",\n",
		    i->version == 2 ? "0.10" : "1.1", i->compression);
		if (i->version == 3)
			printf("            \"lazy-refcounts\": %s,\n",
			       i->lazy_refcounts ? "true" : "false");
		printf("            \"refcount-bits\": %u", i->refcount_bits);
		if (i->version == 3)
			printf(",\n            \"corrupt\": %s,\n            \"extended-l2\": %s",
			       i->corrupt ? "true" : "false", i->extended_l2 ? "true" : "false");
		printf("\n        }\n    },\n");
		if (i->backing_file[0]) {
			json_str("full-backing-filename", i->backing_full, true);
			json_str("backing-filename", i->backing_file, true);
		}
	}
	printf("    \"dirty-flag\": %s\n}\n", i && i->dirty ? "true" : "false");
}

static int cmd_info(int argc, char **argv)
{
	bool json = false;
	const char *file = NULL;
	unsigned share = 0;
	int err;

	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--json") || !strcmp(argv[a], "--output=json"))
			json = true;
		else if (!strcmp(argv[a], "--output=human"))
			json = false;
		else if (!strcmp(argv[a], "-U") || !strcmp(argv[a], "--force-share"))
			share = QCOW2_O_SHARED;
		else if (argv[a][0] == '-' || file) {
			log_error("img info: usage: img info [-U] [--json] FILE");
			return 1;
		} else
			file = argv[a];
	}
	if (!file) {
		log_error("img info: usage: img info [-U] [--json] FILE");
		return 1;
	}
	bool qcow2 = is_qcow2_file(file, &err);
	if (err)
		return 1;
	struct qcow2_info info, *ip = NULL;
	uint64_t vsize = 0;
	if (qcow2) {
		struct qcow2 *q;
		struct qcow2_open_opts o = {.flags = QCOW2_O_NO_BACKING | share};
		if (qcow2_open(file, &o, &q))
			return 1;
		qcow2_get_info(q, &info);
		qcow2_close(q);
		ip = &info;
		vsize = info.virtual_size;
	} else {
		struct stat st;
		if (stat(file, &st) < 0)
			return 1;
		vsize = (uint64_t)st.st_size;
	}
	if (json)
		print_info_json(file, qcow2 ? "qcow2" : "raw", ip, vsize);
	else
		print_info_human(file, qcow2 ? "qcow2" : "raw", ip, vsize);
	return 0;
}

struct check_fixed {
	uint64_t leaks, corruptions; /* repaired by -r */
};

/* qemu-img's JSON: counters only when non-zero (check-errors always), in
 * the order its QDict yields them. */
static void print_check_json(const char *file, const struct qcow2_check_result *r,
			     const struct check_fixed *f)
{
	const struct {
		const char *key;
		uint64_t v;
		bool always;
	} fields[] = {
	    {"image-end-offset", r->image_end_offset, false},
	    {"compressed-clusters", r->compressed_clusters, false},
	    {"total-clusters", r->total_clusters, false},
	    {"corruptions", r->corruptions, false},
	    {"corruptions-fixed", f->corruptions, false},
	    {"check-errors", r->check_errors, true},
	    {"leaks", r->leaks, false},
	    {"leaks-fixed", f->leaks, false},
	    {"allocated-clusters", r->allocated_clusters, false},
	};
	printf("{\n");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].v || fields[i].always)
			printf("    \"%s\": %llu,\n", fields[i].key,
			       (unsigned long long)fields[i].v);
	json_str("filename", file, true);
	if (r->fragmented_clusters) {
		json_str("format", "qcow2", true);
		printf("    \"fragmented-clusters\": %llu\n}\n",
		       (unsigned long long)r->fragmented_clusters);
	} else {
		json_str("format", "qcow2", false);
		printf("}\n");
	}
}

static void print_check(const char *file, const struct qcow2_check_result *r,
			const struct check_fixed *f, bool json)
{
	if (json) {
		print_check_json(file, r, f);
		return;
	}
	if (!r->leaks && !r->corruptions && !r->check_errors)
		printf("No errors were found on the image.\n");
	if (r->corruptions)
		printf("\n%llu errors were found on the image.\nData may be corrupted, or further "
		       "writes to the image may corrupt it.\n",
		       (unsigned long long)r->corruptions);
	if (r->leaks)
		printf("\n%llu leaked clusters were found on the image.\nThis means waste of disk "
		       "space, but no harm to data.\n",
		       (unsigned long long)r->leaks);
	if (r->check_errors)
		printf("\n%llu internal errors have occurred during the check.\n",
		       (unsigned long long)r->check_errors);
	if (r->total_clusters && r->allocated_clusters) {
		double t = (double)r->total_clusters, a = (double)r->allocated_clusters;
		printf(
		    "%llu/%llu = %.2f%% allocated, %.2f%% fragmented, %.2f%% compressed clusters\n",
		    (unsigned long long)r->allocated_clusters,
		    (unsigned long long)r->total_clusters, a * 100 / t,
		    (double)r->fragmented_clusters * 100 / a,
		    (double)r->compressed_clusters * 100 / a);
	}
	printf("Image end offset: %llu\n", (unsigned long long)r->image_end_offset);
}

static int check_usage(void)
{
	log_error("img check: usage: img check [-U] [-r leaks|all] [--output=json] FILE");
	return 1;
}

static int run_repair(const char *file, int mode, bool json, struct qcow2_check_result *r,
		      struct check_fixed *f)
{
	struct qcow2_check_result before;

	if (qcow2_repair(file, mode, &before, r, true))
		return -1;
	f->leaks = before.leaks;
	f->corruptions = mode == QCOW2_REPAIR_ALL && before.corruptions > r->corruptions
			     ? before.corruptions - r->corruptions
			     : 0;
	if (!json && (f->leaks || f->corruptions))
		printf("The following inconsistencies were found and repaired:\n\n"
		       "    %llu leaked clusters\n    %llu corruptions\n\n"
		       "Double checking the fixed image now...\n",
		       (unsigned long long)f->leaks, (unsigned long long)f->corruptions);
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	bool json = false;
	const char *file = NULL;
	int err, repair = 0;
	unsigned share = 0;

	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--output=json") || !strcmp(argv[a], "--json"))
			json = true;
		else if (!strcmp(argv[a], "-U") || !strcmp(argv[a], "--force-share"))
			share = QCOW2_O_SHARED;
		else if (!strcmp(argv[a], "-r") && a + 1 < argc && !strcmp(argv[a + 1], "leaks"))
			repair = QCOW2_REPAIR_LEAKS, a++;
		else if (!strcmp(argv[a], "-r") && a + 1 < argc && !strcmp(argv[a + 1], "all"))
			repair = QCOW2_REPAIR_ALL, a++;
		else if (argv[a][0] == '-' || file)
			return check_usage();
		else
			file = argv[a];
	}
	if (!file)
		return check_usage();
	if (!is_qcow2_file(file, &err)) {
		if (!err)
			log_error("img check: %s: this image format does not support checks", file);
		return err ? 1 : 63;
	}
	struct qcow2_check_result r;
	struct check_fixed fixed = {0, 0};
	if (repair && share) {
		log_error("img check: -r cannot be combined with -U");
		return 1;
	}
	if (repair ? run_repair(file, repair, json, &r, &fixed)
		   : qcow2_check_flags(file, share, &r, true))
		return 1;
	fflush(stderr); /* the check's ERROR lines come before the summary */
	print_check(file, &r, &fixed, json);
	if (r.check_errors) { /* like qemu-img: the counts are incomplete */
		fflush(stdout);
		log_error("img check: %s: check failed (%llu internal errors)", file,
			  (unsigned long long)r.check_errors);
		return 1;
	}
	return r.corruptions ? 2 : r.leaks ? 3 : 0;
}

static void img_usage(FILE *out)
{
	fputs("usage: minivmm img COMMAND ...\n"
	      "  create [-f qcow2|raw] [-b BACKING -F FMT] [-o OPTIONS] FILE [SIZE]\n"
	      "                          make an image (SIZE: 20G, 512M, 1.5G ...; with -b it\n"
	      "                          defaults to the backing file's size)\n"
	      "  info [-U] [--json] FILE  describe an image, as qemu-img info\n"
	      "  check [-U] [-r leaks|all] [--output=json] FILE\n"
	      "                          check (and repair) a qcow2 image; exit status 0 clean,\n"
	      "                          2 corrupt, 3 leaks only, 1 error, as qemu-img check\n"
	      "  -U: do not take (or honour) image locks, like qemu-img -U\n",
	      out);
}

int img_main(int argc, char **argv)
{
	if (argc < 2) {
		img_usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		img_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "create"))
		return cmd_create(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	log_error("img: unknown command '%s' (create, info, check)", argv[1]);
	return 1;
}
