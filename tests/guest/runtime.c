/* What the freestanding guest needs besides its devices: the few string
 * functions GCC may call, TSC delays, the IDT and the exception report. */
#include "console.h"
#include "guest.h"
#include "io.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* The TSC rate is unknown here; assuming at most 4 GHz makes every delay at
 * least as long as asked (longer on slower clocks, which only costs time). */
#define TSC_MAX_PER_US 4000ULL

void delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + us * TSC_MAX_PER_US;

	while (rdtsc() < end)
		cpu_relax();
}

uint64_t tsc_ticks_for_seconds(unsigned int s)
{
	return (uint64_t)s * 1000000ULL * TSC_MAX_PER_US;
}

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gates are 16 bytes");

struct exception_frame {
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

extern const uint64_t isr_table[32];
static struct idt_gate idt[32] __attribute__((aligned(16)));

void idt_init(void);
void idt_init(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} desc = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

	for (int i = 0; i < 32; i++) {
		uint64_t a = isr_table[i];

		idt[i] = (struct idt_gate){
			.offset_lo = (uint16_t)a, .selector = SEL_CODE64,
			.type_attr = 0x8e,	/* present, ring 0, interrupt gate */
			.offset_mid = (uint16_t)(a >> 16), .offset_hi = (uint32_t)(a >> 32),
		};
	}
	__asm__ volatile("lidt %0" : : "m"(desc));
}

void guest_exception(const struct exception_frame *f);
void guest_exception(const struct exception_frame *f)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	kprintf("exception %lu (error 0x%lx) at rip 0x%lx, cr2 0x%lx, rsp 0x%lx\n",
		(unsigned long)f->vector, (unsigned long)f->error, (unsigned long)f->rip,
		(unsigned long)cr2, (unsigned long)f->rsp);
	guest_exit(GUEST_EXIT_EXCEPTION);
}
