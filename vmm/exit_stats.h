/* Counters of VM exits, for finding where a guest's time goes: set
 * MINIVMM_EXIT_STATS=1 and minivmm prints, when the VM stops, how many exits
 * of each kind the vCPUs took, the busiest I/O ports, the time spent in
 * KVM_RUN and in minivmm's exit handlers, and how long the VM took to set up.
 * One exit_stats per vCPU thread (no locking); merged at the end. */
#ifndef MINIVMM_EXIT_STATS_H
#define MINIVMM_EXIT_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct kvm_run;
struct exit_stats;

/* True when $MINIVMM_EXIT_STATS is set to something other than "" or "0". */
bool exit_stats_wanted(void);

struct exit_stats *exit_stats_create(void);	/* NULL (logged) when out of memory */
void exit_stats_destroy(struct exit_stats *s);

/* One KVM_RUN that returned 'run' (or failed: run_ret < 0): run_ns in
 * KVM_RUN, handle_ns in minivmm's handler of the exit. */
void exit_stats_count(struct exit_stats *s, const struct kvm_run *run, int run_ret,
		      uint64_t run_ns, uint64_t handle_ns);
void exit_stats_merge(struct exit_stats *dst, const struct exit_stats *src);

uint64_t exit_stats_total(const struct exit_stats *s);
uint64_t exit_stats_reason_count(const struct exit_stats *s, uint32_t exit_reason);
uint64_t exit_stats_port_count(const struct exit_stats *s, uint16_t port);

/* Exits by kind, counted on every exit whether or not MINIVMM_EXIT_STATS
 * is set (vm_get_stats()): a relaxed load and store per exit, no timing.
 * One per vCPU, written by its thread only, read from any thread. */
enum exit_kind {
	EXIT_KIND_IO, EXIT_KIND_MMIO, EXIT_KIND_HLT,
	EXIT_KIND_INTR,		/* a signal or immediate_exit (a kick) */
	EXIT_KIND_SHUTDOWN, EXIT_KIND_SYSTEM_EVENT, EXIT_KIND_FAIL_ENTRY,
	EXIT_KIND_INTERNAL_ERROR, EXIT_KIND_OTHER,
	EXIT_KINDS
};
struct exit_counts {
	_Atomic uint64_t kind[EXIT_KINDS];
};
/* One KVM_RUN that returned 'run' (run_ret < 0: it failed or was kicked). */
void exit_counts_add(struct exit_counts *c, const struct kvm_run *run, int run_ret);
uint64_t exit_counts_get(const struct exit_counts *c, enum exit_kind kind);
/* "io", "mmio", "hlt", "intr", ...: stable names (the control socket's). */
const char *exit_kind_name(enum exit_kind kind);

/* The summary; setup_ns: from vm_run's start to the first KVM_RUN. */
void exit_stats_print(const struct exit_stats *s, FILE *out, uint64_t setup_ns);

#endif
