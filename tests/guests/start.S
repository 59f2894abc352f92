/* Entry of every ring-3 test guest: the VMM starts us here in 64-bit ring 3
 * with rdi = RAM size, rsi = number of virtio devices and a stack. */
	.section .text.start, "ax"
	.globl _start
_start:
	and $-16, %rsp
	call guest_main
	/* guest_main returned: report it as status 0x7f. */
	mov $0x501, %dx
	mov $0x7f, %al
	out %al, %dx
1:	jmp 1b
	.section .note.GNU-stack,"",@progbits
