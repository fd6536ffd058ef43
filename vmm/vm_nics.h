/* The VM's NICs: each --bridge/--tap's TAP opened (one queue per queue
 * pair), each --net user's libslirp network made (its host forwards
 * listening), before /dev/kvm is touched; then put on PCI as virtio-net
 * (eth0, eth1, ... in command-line order), kicks and interrupts wired to
 * KVM. */
#ifndef MINIVMM_VM_NICS_H
#define MINIVMM_VM_NICS_H

#include <stdbool.h>
#include <stdint.h>

struct vm_config;
struct vm_nics;
struct vm_pci;

/* Resolves each NIC's network or bridge, opens its TAP (or makes its user
 * network) and fixes its MAC.
 * 0 and *out (even with no NICs), or -errno (logged, naming the flag, the
 * network or the TAP, and what to do). */
int vm_nics_open(const struct vm_config *cfg, struct vm_nics **out);
/* Creates the devices (after the disks: NICs take the next PCI slots). */
int vm_nics_attach(struct vm_nics *n, struct vm_pci *vp);
/* MINIVMM_EXIT_STATS: each NIC's counters to stderr. */
void vm_nics_print_stats(const struct vm_nics *n);
/* NIC I's host side (the TAP's name, "user" for --net user), MAC and
 * counters; any thread, once attached. false when there is no NIC I. */
struct vnet_stats;
unsigned vm_nics_count(const struct vm_nics *n);
bool vm_nics_stats(const struct vm_nics *n, unsigned i, const char **ifname,
		   const uint8_t **mac, struct vnet_stats *out);
/* After the vCPUs stopped: stops the I/O threads, closes the TAPs (a TAP
 * --bridge made disappears) and the user networks. */
void vm_nics_destroy(struct vm_nics *n);

#endif
