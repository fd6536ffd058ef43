#include "vmm/exit_stats.h"
#include "vmm/log.h"

#include <linux/kvm.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Exit reasons up to this are counted one by one; the rest as "other". */
#define REASONS 64
#define PORTS 65536
#define TOP_PORTS 12

struct exit_stats {
	uint64_t runs;			/* KVM_RUN calls */
	uint64_t failed_runs;		/* KVM_RUN returned an error (EINTR included) */
	uint64_t run_ns, handle_ns;
	uint64_t reason[REASONS + 1];	/* [REASONS]: anything larger */
	uint64_t reason_ns[REASONS + 1];
	uint64_t port[PORTS];
	uint64_t port_ns[PORTS];
};

bool exit_stats_wanted(void)
{
	const char *v = getenv("MINIVMM_EXIT_STATS");
	return v && *v && strcmp(v, "0") != 0;
}

struct exit_stats *exit_stats_create(void)
{
	struct exit_stats *s = calloc(1, sizeof(*s));
	if (!s)
		log_error("exit stats: out of memory");
	return s;
}

void exit_stats_destroy(struct exit_stats *s)
{
	free(s);
}

void exit_stats_count(struct exit_stats *s, const struct kvm_run *run, int run_ret,
		      uint64_t run_ns, uint64_t handle_ns)
{
	s->runs++;
	s->run_ns += run_ns;
	if (run_ret < 0) {
		s->failed_runs++;
		return;
	}
	s->handle_ns += handle_ns;
	uint32_t r = run->exit_reason < REASONS ? run->exit_reason : REASONS;
	s->reason[r]++;
	s->reason_ns[r] += handle_ns;
	if (run->exit_reason == KVM_EXIT_IO) {
		s->port[run->io.port]++;
		s->port_ns[run->io.port] += handle_ns;
	}
}

void exit_stats_merge(struct exit_stats *dst, const struct exit_stats *src)
{
	dst->runs += src->runs;
	dst->failed_runs += src->failed_runs;
	dst->run_ns += src->run_ns;
	dst->handle_ns += src->handle_ns;
	for (unsigned i = 0; i <= REASONS; i++) {
		dst->reason[i] += src->reason[i];
		dst->reason_ns[i] += src->reason_ns[i];
	}
	for (unsigned i = 0; i < PORTS; i++) {
		dst->port[i] += src->port[i];
		dst->port_ns[i] += src->port_ns[i];
	}
}

uint64_t exit_stats_total(const struct exit_stats *s)
{
	return s->runs - s->failed_runs;
}

uint64_t exit_stats_reason_count(const struct exit_stats *s, uint32_t exit_reason)
{
	return s->reason[exit_reason < REASONS ? exit_reason : REASONS];
}

uint64_t exit_stats_port_count(const struct exit_stats *s, uint16_t port)
{
	return s->port[port];
}

/* The exit reasons minivmm tells apart: each one's kind (the control
 * socket's stable name) and its label in the MINIVMM_EXIT_STATS summary. */
static const struct {
	uint32_t reason;
	const char *name, *label;
} kinds[EXIT_KINDS] = {
	[EXIT_KIND_IO] = { KVM_EXIT_IO, "io", "io" },
	[EXIT_KIND_MMIO] = { KVM_EXIT_MMIO, "mmio", "mmio" },
	[EXIT_KIND_HLT] = { KVM_EXIT_HLT, "hlt", "hlt" },
	[EXIT_KIND_INTR] = { KVM_EXIT_INTR, "intr", "intr (signal)" },
	[EXIT_KIND_SHUTDOWN] = { KVM_EXIT_SHUTDOWN, "shutdown", "shutdown" },
	[EXIT_KIND_SYSTEM_EVENT] = { KVM_EXIT_SYSTEM_EVENT, "system_event", "system event" },
	[EXIT_KIND_FAIL_ENTRY] = { KVM_EXIT_FAIL_ENTRY, "fail_entry", "fail entry" },
	[EXIT_KIND_INTERNAL_ERROR] = { KVM_EXIT_INTERNAL_ERROR, "internal_error",
				       "internal error" },
	[EXIT_KIND_OTHER] = { REASONS, "other", "other" },
};

static enum exit_kind exit_kind_of(uint32_t reason)
{
	for (unsigned k = 0; k < EXIT_KIND_OTHER; k++)
		if (kinds[k].reason == reason)
			return (enum exit_kind)k;
	return EXIT_KIND_OTHER;
}

static const char *reason_name(unsigned r)
{
	enum exit_kind k = exit_kind_of(r);
	return k != EXIT_KIND_OTHER || r == REASONS ? kinds[k].label : NULL;
}

void exit_counts_add(struct exit_counts *c, const struct kvm_run *run, int run_ret)
{
	enum exit_kind k = run_ret < 0 ? EXIT_KIND_INTR : exit_kind_of(run->exit_reason);
	/* One writer (the vCPU's thread): a plain increment made atomic by
	 * its load and store, without a locked read-modify-write per exit. */
	uint64_t n = atomic_load_explicit(&c->kind[k], memory_order_relaxed);
	atomic_store_explicit(&c->kind[k], n + 1, memory_order_relaxed);
}

uint64_t exit_counts_get(const struct exit_counts *c, enum exit_kind kind)
{
	return kind < EXIT_KINDS ? atomic_load_explicit(&c->kind[kind], memory_order_relaxed) : 0;
}

const char *exit_kind_name(enum exit_kind kind)
{
	return kinds[kind < EXIT_KINDS ? kind : EXIT_KIND_OTHER].name;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* The busiest ports, most exits first; returns how many were found. */
static unsigned top_ports(const struct exit_stats *s, uint16_t *out, unsigned max)
{
	unsigned n = 0;
	for (unsigned p = 0; p < PORTS; p++) {
		unsigned i;
		if (!s->port[p])
			continue;
		if (n < max)
			i = n++;
		else if (s->port[p] > s->port[out[max - 1]])
			i = max - 1;
		else
			continue;
		while (i > 0 && s->port[out[i - 1]] < s->port[p]) {
			out[i] = out[i - 1];
			i--;
		}
		out[i] = (uint16_t)p;
	}
	return n;
}

void exit_stats_print(const struct exit_stats *s, FILE *out, uint64_t setup_ns)
{
	fprintf(out, "minivmm: exit stats: set-up to first KVM_RUN %.1f ms; %llu exits; "
		"%.1f ms in KVM_RUN, %.1f ms in exit handlers (all vCPUs)\n", ms(setup_ns),
		(unsigned long long)exit_stats_total(s), ms(s->run_ns), ms(s->handle_ns));
	if (s->failed_runs)
		fprintf(out, "minivmm: exit stats:   KVM_RUN interrupted or failed: %llu\n",
			(unsigned long long)s->failed_runs);
	for (unsigned r = 0; r <= REASONS; r++) {
		if (!s->reason[r])
			continue;
		const char *name = reason_name(r);
		fprintf(out, "minivmm: exit stats:   %-14s %10llu  %9.1f ms handling", name ? name : "",
			(unsigned long long)s->reason[r], ms(s->reason_ns[r]));
		if (!name)
			fprintf(out, " (exit reason %u)", r);
		fputc('\n', out);
	}
	uint16_t top[TOP_PORTS];
	unsigned n = top_ports(s, top, TOP_PORTS);
	for (unsigned i = 0; i < n; i++)
		fprintf(out, "minivmm: exit stats:   port 0x%04x %10llu  %9.1f ms handling\n", top[i],
			(unsigned long long)s->port[top[i]], ms(s->port_ns[top[i]]));
}
