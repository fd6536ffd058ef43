/* The PVH entry note: a loader that finds it enters pvh_start in 32-bit
 * protected mode with ebx = the physical address of hvm_start_info.
 * XEN_ELFNOTE_PHYS32_ENTRY = 18; the descriptor is 8 bytes in this ELF64 file
 * (like Linux's vmlinux); loaders should accept 4 or 8. */
	.section .note.Xen, "a", @note
	.balign 4
	.long	2f - 1f		/* namesz */
	.long	4f - 3f		/* descsz */
	.long	18		/* type: XEN_ELFNOTE_PHYS32_ENTRY */
1:	.asciz	"Xen"
2:	.balign 4
3:	.quad	pvh_start
4:	.balign 4

	.section .note.GNU-stack, "", @progbits
