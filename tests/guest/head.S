/* Entry points of the test guest, its GDT, identity page tables, exception
 * stubs and the AP trampoline.
 *
 * Image layout (linked at 1 MiB, see guest.ld):
 *   0x100000  startup_32  32-bit Linux boot protocol (esi = boot_params);
 *                         the bzImage's code32_start
 *   0x100200  startup_64  64-bit Linux boot protocol (rsi = boot_params);
 *                         e_entry of both ELFs, bzImage payload + 0x200
 *   pvh_start             PVH 32-bit entry (ebx = hvm_start_info), named by
 *                         the XEN_ELFNOTE_PHYS32_ENTRY note (pvh_note.S)
 * Every entry switches to this file's GDT and page tables (the first 4 GiB
 * identity mapped with 2 MiB pages, uncached from 3 GiB up: the LAPIC and
 * IOAPIC live there) before calling guest_main(kind, info). */
#include "guest.h"

#define MSR_EFER	0xC0000080
#define EFER_LME	0x100
#define CR0_PE		0x1
#define CR0_PG		0x80000000
#define CR4_PAE		0x20

/* From flat 32-bit protected mode (DS flat) into long mode with the given
 * GDT, selectors and page tables, then a far jump to target (64-bit code).
 * Clobbers eax, ecx, edx; keeps ebx, esi, edi. */
.macro ENTER_LONG_MODE target, desc=gdt_desc, cs32=SEL_CODE32, cs64=SEL_CODE64, ds=SEL_DATA, cr3=pml4
	lgdt	\desc
	ljmp	$\cs32, $1f
1:	movw	$\ds, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$\cr3, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0
	ljmp	$\cs64, $\target
.endm

	.section .head.text, "ax"
	.code32
	.globl	startup_32
startup_32:
	cli
	cld
	movl	$BOOT_LINUX32, boot_kind
	xorl	%esp, %esp
	/* Enter startup_64 the way a 64-bit loader would, with a GDT and page
	 * tables that are not ours (other selectors, only 1 GiB mapped, no
	 * LAPIC) and no stack: this path checks that startup_64 depends on
	 * none of them. */
	ENTER_LONG_MODE startup_64, ldr_gdt_desc, 0x10, 0x28, 0x18, ldr_pml4

	.code64
	.org	0x200
	.globl	startup_64
startup_64:
	cli
	cld
	lgdt	gdt_desc(%rip)
	movl	$pml4, %eax
	movq	%rax, %cr3
	leaq	boot_stack_top(%rip), %rsp	/* the protocol gives no stack */
	pushq	$SEL_CODE64
	leaq	1f(%rip), %rax
	pushq	%rax
	lretq
1:	movl	boot_kind(%rip), %edi
	testl	%edi, %edi
	jnz	long_common
	movl	$BOOT_LINUX64, %edi
	jmp	long_common

	.text
	.code32
	.globl	pvh_start
pvh_start:
	cli
	cld
	movl	%ebx, %esi
	ENTER_LONG_MODE pvh_start64
	.code64
pvh_start64:
	movl	$BOOT_PVH, %edi
	/* fall through: rdi = kind, rsi = boot information */
long_common:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	/* Zero .bss ourselves: a loader may copy only the file bytes. */
	movq	%rdi, %r8
	leaq	_bss_start(%rip), %rdi
	leaq	_bss_end(%rip), %rcx
	subq	%rdi, %rcx
	shrq	$3, %rcx
	xorl	%eax, %eax
	rep stosq
	movq	%r8, %rdi
	leaq	boot_stack_top(%rip), %rsp
	xorl	%ebp, %ebp
	call	guest_main
2:	cli
	hlt
	jmp	2b

/* Application processors arrive here from the trampoline in flat 32-bit
 * protected mode with this GDT loaded but DS still holding its real-mode
 * limit, so the data segments are reloaded first. */
	.code32
	.globl	ap_start32
ap_start32:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %ss
	ENTER_LONG_MODE ap_start64
	.code64
ap_start64:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	$1, %eax
	lock xaddl %eax, ap_ticket(%rip)
	movl	%eax, %edi		/* rdi = this AP's ticket, 0-based */
	cmpl	$(MAX_CPUS - 1), %eax
	jae	2b			/* more APs than stacks: stay parked */
	incl	%eax
	shll	$12, %eax		/* AP_STACK_SIZE */
	leaq	ap_stacks(%rip), %rsp
	addq	%rax, %rsp
	xorl	%ebp, %ebp
	call	ap_main
	jmp	2b

/* Exception stubs: push a dummy error code where the CPU pushes none, then
 * the vector, and hand the frame to guest_exception() (never returns). */
.macro ISR vec
	.balign 16
isr_\vec:
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$\vec
	jmp	isr_common
.endm

	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	ISR \v
	.endr

isr_common:
	movq	%rsp, %rdi
	andq	$-16, %rsp
	call	guest_exception
	jmp	2b

	.section .rodata
	.balign 8
	.globl	isr_table
isr_table:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	isr_\v
	.endr

/* The AP trampoline: copied to AP_TRAMP_ADDR, entered by SIPI in real mode
 * with CS = AP_TRAMP_ADDR >> 4, IP = 0. Only position-independent 16-bit
 * code and absolute addresses below 64 KiB (DS = 0) are used here. */
	.section .rodata.tramp, "a"
	.code16
	.globl	ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	cld
	xorw	%ax, %ax
	movw	%ax, %ds
	lgdtl	AP_TRAMP_ADDR + (ap_tramp_gdtr - ap_tramp_start)
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_CODE32, $ap_start32
	.balign 8
ap_tramp_gdtr:
	.word	gdt_end - gdt - 1
	.long	gdt
ap_tramp_end:
	.code64

	.data
	.balign 16
gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* SEL_CODE32: flat 32-bit code */
	.quad	0x00af9a000000ffff	/* SEL_CODE64: 64-bit code */
	.quad	0x00cf92000000ffff	/* SEL_DATA: flat data */
gdt_end:
	.balign 8
gdt_desc:
	.word	gdt_end - gdt - 1
	.quad	gdt

/* A loader-like GDT (Linux's __BOOT_CS/__BOOT_DS at 0x10/0x18, 64-bit code
 * at 0x28), used only by startup_32 to reach startup_64. */
	.balign 16
ldr_gdt:
	.quad	0, 0
	.quad	0x00cf9a000000ffff	/* 0x10: flat 32-bit code */
	.quad	0x00cf92000000ffff	/* 0x18: flat data */
	.quad	0
	.quad	0x00af9a000000ffff	/* 0x28: 64-bit code */
ldr_gdt_end:
	.balign 8
ldr_gdt_desc:
	.word	ldr_gdt_end - ldr_gdt - 1
	.quad	ldr_gdt

	.balign 4
	.globl	boot_kind
boot_kind:
	.long	0
	.globl	ap_ticket
ap_ticket:
	.long	0

/* Identity map of the first 4 GiB: P|RW|PS, plus PWT|PCD from 3 GiB. */
	.section .data.pagetables, "aw"
	.balign 4096
pml4:
	.quad	pdpt + 0x3
	.fill	511, 8, 0
pdpt:
	.quad	pd + 0x0000 + 0x3
	.quad	pd + 0x1000 + 0x3
	.quad	pd + 0x2000 + 0x3
	.quad	pd + 0x3000 + 0x3
	.fill	508, 8, 0
pd:
	.set	addr, 0
	.rept	2048
	.if	addr >= 0xC0000000
	.quad	addr | 0x9b
	.else
	.quad	addr | 0x83
	.endif
	.set	addr, addr + 0x200000
	.endr

/* Loader-like page tables: the first 1 GiB only. */
ldr_pml4:
	.quad	ldr_pdpt + 0x3
	.fill	511, 8, 0
ldr_pdpt:
	.quad	ldr_pd + 0x3
	.fill	511, 8, 0
ldr_pd:
	.set	addr, 0
	.rept	512
	.quad	addr | 0x83
	.set	addr, addr + 0x200000
	.endr

	.bss
	.balign 4096
boot_stack:
	.skip	16384
boot_stack_top:
	.globl	ap_stacks
ap_stacks:
	.skip	AP_STACK_SIZE * MAX_CPUS

	.section .note.GNU-stack, "", @progbits
