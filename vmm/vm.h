/* A running VM: guest memory, KVM, the buses and devices, the vCPU
 * threads, the console loop, and how it stops. */
#ifndef MINIVMM_VM_H
#define MINIVMM_VM_H

struct vm_config;

/* Validates the configuration (files before /dev/kvm), builds the VM,
 * runs it until it stops, tears it down. Returns minivmm's exit status. */
int vm_run(const struct vm_config *cfg);

#endif
