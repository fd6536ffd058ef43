/* Real-mode entry of guest.bzimage (its setup code), for loaders that enter
 * a bzImage in 16-bit mode (QEMU's -kernel, GRUB's linux16). They jump here
 * with CS = setup segment + 0x20, IP = 0x80 (the short jump at offset 0x200
 * of the file lands at 0x280, where mkbzimage puts this code) and DS = ES =
 * SS = setup segment. Like Linux's setup code minus everything optional:
 * enter flat 32-bit protected mode and jump to code32_start with esi = the
 * linear address of the setup area, which is laid out as boot_params (the
 * boot sector is zeros, the header is where boot_params has it).
 *
 * mkbzimage copies these bytes verbatim, so only label differences (no
 * relocations) may be used; addresses are CS-relative via CS_OFF. */
#define CS_OFF	0x80		/* this code's offset from CS's base */
#define REL(x)	(CS_OFF + (x) - setup16_start)
#define HDR_CODE32_START 0x214

	.code16
	.text
	.globl	setup16_start
setup16_start:
	cli
	cld
	movw	%ds, %ax
	movzwl	%ax, %esi
	shll	$4, %esi			/* esi = boot_params */
	leal	(0x200 + REL(gdt))(%esi), %eax
	movl	%eax, %cs:REL(gdtr + 2)
	movl	HDR_CODE32_START, %eax
	movl	%eax, %cs:REL(farptr)
	lgdtl	%cs:REL(gdtr)
	movl	%cr0, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	movw	$0x18, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	xorl	%ebx, %ebx
	xorl	%edi, %edi
	xorl	%ebp, %ebp
	ljmpl	*%cs:REL(farptr)

	.balign 8
gdt:	/* __BOOT_CS = 0x10, __BOOT_DS = 0x18, as the boot protocol names them */
	.quad	0
	.quad	0
	.quad	0x00cf9a000000ffff
	.quad	0x00cf92000000ffff
gdtr:
	.word	31
	.long	0			/* patched: linear address of gdt */
farptr:
	.long	0			/* patched: code32_start */
	.word	0x10

	.section .note.GNU-stack, "", @progbits
