/* A polled 8250 on COM1 (wait for LSR.THRE before each byte) and a printf
 * small enough to trust. A spinlock keeps lines from different CPUs whole. */
#include <stdarg.h>
#include <stdint.h>
#include <stdbool.h>

#include "console.h"
#include "io.h"
#include "vmm/layout.h"

#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_DLL 0
#define UART_DLM 1
#define LSR_THRE 0x20
#define LCR_DLAB 0x80
#define LCR_8N1  0x03

static volatile int console_lock;

void console_init(void)
{
	outb(PORT_COM1 + UART_IER, 0);		/* polled: no interrupts */
	outb(PORT_COM1 + UART_LCR, LCR_DLAB);
	outb(PORT_COM1 + UART_DLL, 1);		/* 115200 baud */
	outb(PORT_COM1 + UART_DLM, 0);
	outb(PORT_COM1 + UART_LCR, LCR_8N1);
	outb(PORT_COM1 + UART_FCR, 0);
	outb(PORT_COM1 + UART_MCR, 0x03);	/* DTR | RTS */
}

static void putc_raw(char c)
{
	/* Bounded: a UART that never sets THRE must not hang the guest. */
	for (unsigned int i = 0; i < 1000000; i++) {
		if (inb(PORT_COM1 + UART_LSR) & LSR_THRE)
			break;
		cpu_relax();
	}
	outb(PORT_COM1 + UART_THR, (uint8_t)c);
}

static void put_char(char c)
{
	if (c == '\n')
		putc_raw('\r');
	putc_raw(c);
}

static void put_str(const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		put_char(*s++);
}

static void put_unsigned(uint64_t v, unsigned int base)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		put_char(buf[--n]);
}

static void put_signed(int64_t v)
{
	if (v < 0) {
		put_char('-');
		put_unsigned((uint64_t)0 - (uint64_t)v, 10);
	} else {
		put_unsigned((uint64_t)v, 10);
	}
}

static const char *put_conversion(const char *f, va_list *ap)
{
	bool is_long = false;

	if (*f == 'l') {
		is_long = true;
		f++;
	}
	switch (*f) {
	case 's': put_str(va_arg(*ap, const char *)); break;
	case 'c': put_char((char)va_arg(*ap, int)); break;
	case 'd':
		put_signed(is_long ? va_arg(*ap, long) : va_arg(*ap, int));
		break;
	case 'u':
		put_unsigned(is_long ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int), 10);
		break;
	case 'x':
		put_unsigned(is_long ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int), 16);
		break;
	case 'p':
		put_str("0x");
		put_unsigned((uintptr_t)va_arg(*ap, void *), 16);
		break;
	case '%': put_char('%'); break;
	case '\0': return f;
	default: put_char('%'); put_char(*f); break;
	}
	return f + 1;
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
	va_start(ap, fmt);
	while (*fmt) {
		if (*fmt == '%')
			fmt = put_conversion(fmt + 1, &ap);
		else
			put_char(*fmt++);
	}
	va_end(ap);
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}
