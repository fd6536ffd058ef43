/* virsh's tables and dominfo; see dom_print.h. */
#include "vmm/life/dom_print.h"

#include "devices/virtio/net_mac.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define VSH_COLS_MAX 8

struct vsh_table {
	unsigned ncols;
	size_t nrows; /* row 0 is the header */
	char **cells; /* nrows * ncols */
};

struct vsh_table *vsh_table_new(unsigned ncols, const char *const *headers)
{
	struct vsh_table *t = calloc(1, sizeof(*t));
	if (!t || ncols == 0 || ncols > VSH_COLS_MAX) {
		free(t);
		return NULL;
	}
	t->ncols = ncols;
	if (vsh_table_add(t, headers)) {
		vsh_table_free(t);
		return NULL;
	}
	return t;
}

int vsh_table_add(struct vsh_table *t, const char *const *cells)
{
	char **c = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*c));
	if (!c)
		return -ENOMEM;
	t->cells = c;
	c += t->nrows * t->ncols;
	for (unsigned i = 0; i < t->ncols; i++)
		c[i] = NULL;
	t->nrows++;
	for (unsigned i = 0; i < t->ncols; i++)
		if (!(c[i] = strdup(cells[i] ? cells[i] : "")))
			return -ENOMEM;
	return 0;
}

void vsh_table_free(struct vsh_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

static void print_row(FILE *f, const struct vsh_table *t, size_t row, const size_t *width)
{
	for (unsigned i = 0; i < t->ncols; i++) {
		const char *s = t->cells[row * t->ncols + i];
		if (i + 1 < t->ncols)
			fprintf(f, " %-*s", (int)width[i] + 2, s);
		else
			fprintf(f, " %s\n", s);
	}
}

int vsh_table_print(const struct vsh_table *t, FILE *f, bool quiet)
{
	size_t width[VSH_COLS_MAX] = {0}, dashes = 0;
	/* as vsh-table: without the header printed, it does not count */
	for (size_t r = quiet ? 1 : 0; r < t->nrows; r++)
		for (unsigned i = 0; i < t->ncols; i++) {
			size_t w = strlen(t->cells[r * t->ncols + i]);
			width[i] = w > width[i] ? w : width[i];
		}
	for (unsigned i = 0; i < t->ncols; i++)
		dashes += width[i] + 3;
	if (!quiet) {
		print_row(f, t, 0, width);
		for (size_t i = 0; i < dashes; i++)
			fputc('-', f);
		fputc('\n', f);
	}
	for (size_t r = 1; r < t->nrows; r++)
		print_row(f, t, r, width);
	return 0;
}

static int print_free(struct vsh_table *t, FILE *f, bool quiet, int r)
{
	if (!t)
		return -ENOMEM;
	if (!r)
		r = vsh_table_print(t, f, quiet);
	vsh_table_free(t);
	return r;
}

int dom_print_list(FILE *f, const struct dom_list_row *rows, size_t n, bool quiet)
{
	static const char *const head[] = {"Id", "Name", "State"};
	struct vsh_table *t = vsh_table_new(3, head);
	int r = 0;
	for (size_t i = 0; t && !r && i < n; i++) {
		char id[16] = "-";
		if (rows[i].status.id >= 0)
			snprintf(id, sizeof(id), "%d", rows[i].status.id);
		const char *cells[] = {id, rows[i].name, dom_state_word(rows[i].status.state)};
		r = vsh_table_add(t, cells);
	}
	return print_free(t, f, quiet, r);
}

int dom_print_blklist(FILE *f, const struct domdef *d, bool details, bool quiet)
{
	static const char *const head[] = {"Type", "Device", "Target", "Source"};
	struct vsh_table *t = details ? vsh_table_new(4, head) : vsh_table_new(2, head + 2);
	int r = 0;
	for (unsigned i = 0; t && !r && i < d->ndisks; i++) {
		const struct dom_disk *k = &d->disks[i];
		const char *src = k->source && *k->source ? k->source : "-";
		const char *cells[] = {k->block ? "block" : "file", "disk", k->target, src};
		r = vsh_table_add(t, details ? cells : cells + 2);
	}
	return print_free(t, f, quiet, r);
}

int dom_print_iflist(FILE *f, const struct domdef *d, const char *const *ifnames, bool quiet)
{
	static const char *const head[] = {"Interface", "Type", "Source", "Model", "MAC"};
	struct vsh_table *t = vsh_table_new(5, head);
	int r = 0;
	for (unsigned i = 0; t && !r && i < d->nnics; i++) {
		const struct dom_nic *k = &d->nics[i];
		char mac[NET_MAC_STRLEN];
		/* a user-mode NIC has no source: "-", as virsh prints it */
		static const char *const types[] = {[DOM_NIC_BRIDGE] = "bridge",
						    [DOM_NIC_NETWORK] = "network",
						    [DOM_NIC_USER] = "user"};
		const char *cells[] = {ifnames && ifnames[i] ? ifnames[i] : "-", types[k->type],
				       k->source[0] ? k->source : "-", "virtio",
				       net_mac_format(k->mac, mac)};
		r = vsh_table_add(t, cells);
	}
	return print_free(t, f, quiet, r);
}

void dom_print_dominfo(FILE *f, const struct domdef *d, const struct dom_status *s, bool autostart)
{
	char id[16] = "-";
	if (s->id >= 0)
		snprintf(id, sizeof(id), "%d", s->id);
	fprintf(f, "%-15s %s\n", "Id:", id);
	fprintf(f, "%-15s %s\n", "Name:", d->name);
	fprintf(f, "%-15s %s\n", "UUID:", d->uuid);
	fprintf(f, "%-15s %s\n", "OS Type:", "hvm");
	fprintf(f, "%-15s %s\n", "State:", dom_state_word(s->state));
	fprintf(f, "%-15s %u\n", "CPU(s):", d->vcpus);
	if (s->has_cpu_time)
		fprintf(f, "%-15s %.1lfs\n", "CPU time:", (double)s->cpu_time_ns / 1e9);
	fprintf(f, "%-15s %" PRIu64 " KiB\n", "Max memory:", d->memory_kib);
	fprintf(f, "%-15s %" PRIu64 " KiB\n", "Used memory:", d->current_kib);
	fprintf(f, "%-15s %s\n", "Persistent:", s->transient ? "no" : "yes");
	fprintf(f, "%-15s %s\n", "Autostart:", autostart ? "enable" : "disable");
	fprintf(f, "%-15s %s\n", "Managed save:", "no");
	fprintf(f, "%-15s %s\n", "Security model:", "none");
	fprintf(f, "%-15s %s\n", "Security DOI:", "0");
}
