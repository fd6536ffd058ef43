/* Where the guest's serial console goes.
 *   default  stdin/stdout; when stdin is a terminal it is put in raw mode
 *            while the VM runs (restored on every exit path, fatal signals
 *            included) and Ctrl+] stops the VM.
 *   "-"      stdin/stdout as plain byte streams: no raw mode, no escape key
 *            (for harnesses that feed and capture the console).
 *   FILE     output appended to FILE; no input.
 *   detached console_open_detached(): a log file, a ring and a client. */
#ifndef MINIVMM_CONSOLE_H
#define MINIVMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONSOLE_ESCAPE_CHAR 0x1d	/* Ctrl+] */
#define CONSOLE_OUT_BUF 4096	/* guest output held back at most */
/* How long the main loop lets a partial line (a prompt, an echoed key)
 * gather more bytes before flushing it. */
#define CONSOLE_FLUSH_DELAY_MS 2

struct console;

/* Opens the console (file errors are reported here, before any VM exists). */
int console_open(struct console **out, const char *spec);
/* VM_CONSOLE_DETACHED (vmm/vm_control.h): output appended to LOG_PATH
 * (NULL: no log) and kept in a ring for clients (vmm/console_detached.h);
 * input comes from the attached client. */
int console_open_detached(struct console **out, const char *log_path);
/* The detached console's client side, NULL for any other console. */
struct console_detached *console_detached(struct console *con);
/* Enters raw mode if this is an interactive terminal. */
int console_attach(struct console *con);
/* Guest output; called from vCPU threads. Buffered: written out at once
 * when it holds a newline or fills the buffer; otherwise it waits for
 * console_flush(), and console_output_event_fd() turns readable when the
 * buffer stops being empty (the main loop flushes CONSOLE_FLUSH_DELAY_MS
 * later). */
void console_write(struct console *con, const uint8_t *buf, size_t len);
/* Writes out buffered output and clears the output event. */
void console_flush(struct console *con);
int console_output_event_fd(const struct console *con);
/* fd to poll for input, or -1 when the console takes none (or hit EOF). */
int console_input_fd(const struct console *con);
/* Reads pending input for the guest into buf. Returns bytes for the guest,
 * 0 at end of input (input is then off), or -errno. *escape is set when the
 * escape key was typed (bytes before it are returned, the rest dropped). */
ssize_t console_read(struct console *con, uint8_t *buf, size_t cap, bool *escape);
bool console_is_terminal(const struct console *con);
/* Flushes, restores the terminal and closes the console. */
void console_close(struct console *con);

#endif
