/*
 * kvm_smoke: proves that /dev/kvm works where it runs (the L1 VM of
 * run-kvm, or a host with KVM). Creates a VM with one vCPU in real mode
 * whose code writes 0x42 to port 0x10 and halts; checks both exits.
 * Exit status 0 = KVM works; 1 = it does not (the message says where).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_BASE 0x1000u
#define TEST_PORT 0x10u
#define TEST_VALUE 0x42u

static int fail(const char *what)
{
	fprintf(stderr, "kvm_smoke: %s: %s\n", what, strerror(errno));
	return 1;
}

/* Runs the vCPU once; returns the exit reason or -1. */
static int run_once(int vcpu, struct kvm_run *run)
{
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return -1;
	return (int)run->exit_reason;
}

static int check_exits(int vcpu, struct kvm_run *run)
{
	int reason = run_once(vcpu, run);
	if (reason < 0)
		return fail("KVM_RUN");
	if (reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.port != TEST_PORT || run->io.size != 1) {
		fprintf(stderr, "kvm_smoke: first exit %d (port 0x%x), want KVM_EXIT_IO out to 0x%x\n",
			reason, reason == KVM_EXIT_IO ? run->io.port : 0, TEST_PORT);
		return 1;
	}
	uint8_t value = *((uint8_t *)run + run->io.data_offset);
	if (value != TEST_VALUE) {
		fprintf(stderr, "kvm_smoke: guest wrote 0x%x, want 0x%x\n", value, TEST_VALUE);
		return 1;
	}
	reason = run_once(vcpu, run);
	if (reason != KVM_EXIT_HLT) {
		fprintf(stderr, "kvm_smoke: second exit %d, want KVM_EXIT_HLT (%d)\n", reason,
			KVM_EXIT_HLT);
		return 1;
	}
	return 0;
}

/* Creates the VM with its code at GUEST_BASE and one real-mode vCPU there. */
static int create_vcpu(int kvm, int *vcpu_out)
{
	/* mov al, 0x42; out 0x10, al; hlt */
	static const uint8_t code[] = { 0xb0, TEST_VALUE, 0xe6, TEST_PORT, 0xf4 };
	const size_t mem_size = 0x10000;
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem + GUEST_BASE, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = mem_size,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = GUEST_BASE, .rflags = 0x2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");
	*vcpu_out = vcpu;
	return 0;
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "kvm_smoke: KVM_GET_API_VERSION = %d, want %d\n", api, KVM_API_VERSION);
		return 1;
	}
	int vcpu;
	if (create_vcpu(kvm, &vcpu) != 0)
		return 1;
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");
	if (check_exits(vcpu, run) != 0)
		return 1;
	printf("kvm_smoke: /dev/kvm works (API %d; real-mode guest: out 0x%x -> port 0x%x, hlt)\n",
	       api, TEST_VALUE, TEST_PORT);
	return 0;
}
