/* COM1 output for the test guest: a polled 8250 and a small printf. */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

void console_init(void);
/* Formats %s %c %d %u %x %lu %lx %ld %p (and %%); one call = one line
 * unit: calls from several CPUs do not interleave. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
