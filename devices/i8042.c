#include "devices/i8042.h"
#include "vmm/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define STS_OBF      0x01	/* output buffer full */
#define STS_SYS      0x04	/* system flag: POST passed */
#define STS_CMD      0x08	/* last write went to the command port */
#define STS_UNLOCKED 0x10	/* keyboard not inhibited */
#define STS_AUXDATA  0x20	/* output byte came from the mouse */
#define STS_TIMEOUT  0x40	/* the device did not answer */

#define CTR_KBDINT 0x01
#define CTR_SYS    0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE  0x40

#define CMD_READ_CTR    0x20
#define CMD_WRITE_CTR   0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE  0xa8
#define CMD_AUX_TEST    0xa9
#define CMD_SELF_TEST   0xaa
#define CMD_KBD_TEST    0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE  0xae
#define CMD_READ_OUTP   0xd0
#define CMD_WRITE_OUTP  0xd1
#define CMD_KBD_LOOP    0xd2
#define CMD_AUX_LOOP    0xd3
#define CMD_AUX_SEND    0xd4
#define CMD_PULSE_BASE  0xf0	/* 0xf0-0xff: pulse output lines where bit clear */

#define OUTP_RESET_HIGH 0x01	/* output port bit 0 low holds the CPU in reset */
#define OUTP_A20        0x02

#define KBD_NO_DEVICE 0xfe	/* with STS_TIMEOUT: nobody on the keyboard port */

#define SELF_TEST_OK 0x55
#define PORT_TEST_OK 0x00
#define PORT_TEST_CLOCK_STUCK 0x02

struct i8042 {
	pthread_mutex_t lock;
	struct vm_stopper stop;
	struct irq_line irq;
	bool has_irq, irq_level;
	bool kbd_byte;		/* the output buffer holds a keyboard-port byte */
	uint8_t ctr;		/* controller command byte */
	uint8_t outp;		/* output port */
	uint8_t out;		/* output buffer */
	uint8_t status;
	uint8_t pending_cmd;	/* command waiting for its data byte, or 0 */
	bool reset;		/* reset requested during this access */
};

/* Controller answers: read by polling, no interrupt. */
static void put_output(struct i8042 *kbc, uint8_t byte, bool aux)
{
	kbc->out = byte;
	kbc->status |= STS_OBF;
	kbc->status &= ~STS_TIMEOUT;
	kbc->status = aux ? kbc->status | STS_AUXDATA : kbc->status & ~STS_AUXDATA;
	kbc->kbd_byte = false;
}

/* A byte for the keyboard: nobody answers, so the controller reports a
 * timeout with 0xFE, which Linux's atkbd takes as a NAK and gives up at
 * once instead of waiting 200 ms per command for an ACK. */
static void keyboard_byte(struct i8042 *kbc)
{
	put_output(kbc, KBD_NO_DEVICE, false);
	kbc->status |= STS_TIMEOUT;
	kbc->kbd_byte = true;
}

/* IRQ 1 is up while a keyboard-port byte waits and the command byte
 * enables its interrupt (an edge for the IOAPIC when it rises). */
static void update_irq(struct i8042 *kbc)
{
	bool level = kbc->kbd_byte && (kbc->status & STS_OBF) && (kbc->ctr & CTR_KBDINT);
	if (kbc->has_irq && level != kbc->irq_level) {
		kbc->irq_level = level;
		irq_line_set(&kbc->irq, level);
	}
}

static void write_outp(struct i8042 *kbc, uint8_t val)
{
	kbc->outp = val;
	if (!(val & OUTP_RESET_HIGH))
		kbc->reset = true;
}

/* A data byte after a command that takes one. */
static void command_data(struct i8042 *kbc, uint8_t cmd, uint8_t val)
{
	switch (cmd) {
	case CMD_WRITE_CTR:
		kbc->ctr = val;
		break;
	case CMD_WRITE_OUTP:
		write_outp(kbc, val);
		break;
	case CMD_KBD_LOOP:
		put_output(kbc, val, false);
		break;
	case CMD_AUX_LOOP:
		/* Echoed without the AUX flag: Linux reads that as "no AUX port"
		 * at once instead of timing out on a missing mouse. */
		put_output(kbc, val, false);
		break;
	default:	/* CMD_AUX_SEND: there is no mouse to hear it */
		break;
	}
}

static void write_command(struct i8042 *kbc, uint8_t cmd)
{
	kbc->pending_cmd = 0;
	switch (cmd) {
	case CMD_READ_CTR:
		put_output(kbc, kbc->ctr, false);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
	case CMD_KBD_LOOP:
	case CMD_AUX_LOOP:
	case CMD_AUX_SEND:
		kbc->pending_cmd = cmd;
		break;
	case CMD_AUX_DISABLE:
		kbc->ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		kbc->ctr &= ~CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
		put_output(kbc, PORT_TEST_CLOCK_STUCK, false);	/* no mouse */
		break;
	case CMD_SELF_TEST:
		put_output(kbc, SELF_TEST_OK, false);
		break;
	case CMD_KBD_TEST:
		put_output(kbc, PORT_TEST_OK, false);
		break;
	case CMD_KBD_DISABLE:
		kbc->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		kbc->ctr &= ~CTR_KBDDIS;
		break;
	case CMD_READ_OUTP:
		put_output(kbc, kbc->outp, false);
		break;
	default:
		if (cmd >= CMD_PULSE_BASE && !(cmd & OUTP_RESET_HIGH))
			kbc->reset = true;	/* 0xfe: pulse the reset line */
		break;
	}
}

static uint8_t read_port(struct i8042 *kbc, bool cmd_port)
{
	if (cmd_port)
		return kbc->status | ((kbc->ctr & CTR_SYS) ? STS_SYS : 0);
	kbc->status &= ~(STS_OBF | STS_AUXDATA | STS_TIMEOUT);
	kbc->kbd_byte = false;
	return kbc->out;
}

static void write_port(struct i8042 *kbc, bool cmd_port, uint8_t val)
{
	if (cmd_port) {
		kbc->status |= STS_CMD;
		write_command(kbc, val);
		return;
	}
	kbc->status &= ~STS_CMD;
	uint8_t cmd = kbc->pending_cmd;
	kbc->pending_cmd = 0;
	if (cmd)
		command_data(kbc, cmd, val);
	else
		keyboard_byte(kbc);
}

/* Both ports are 1-byte ranges (the bus never hands us wider accesses);
 * one ops table per port tells them apart. */
static void kbc_access(struct i8042 *kbc, bool cmd_port, bool is_write, uint8_t *val)
{
	pthread_mutex_lock(&kbc->lock);
	if (is_write)
		write_port(kbc, cmd_port, *val);
	else
		*val = read_port(kbc, cmd_port);
	update_irq(kbc);
	bool reset = kbc->reset;
	kbc->reset = false;
	pthread_mutex_unlock(&kbc->lock);
	if (reset)
		vm_request_stop(&kbc->stop, VM_STOP_RESET, 0);
}

static void data_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)offset;
	(void)len;
	kbc_access(opaque, false, false, data);
}

static void data_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	(void)offset;
	(void)len;
	uint8_t val = *(const uint8_t *)data;
	kbc_access(opaque, false, true, &val);
}

static void cmd_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)offset;
	(void)len;
	kbc_access(opaque, true, false, data);
}

static void cmd_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	(void)offset;
	(void)len;
	uint8_t val = *(const uint8_t *)data;
	kbc_access(opaque, true, true, &val);
}

static const struct bus_dev_ops i8042_data_ops = { .read = data_read, .write = data_write };
static const struct bus_dev_ops i8042_cmd_ops = { .read = cmd_read, .write = cmd_write };

struct i8042 *i8042_create(const struct vm_stopper *stop, const struct irq_line *irq)
{
	struct i8042 *kbc = calloc(1, sizeof(*kbc));
	if (!kbc) {
		log_error("i8042: out of memory");
		return NULL;
	}
	pthread_mutex_init(&kbc->lock, NULL);
	kbc->stop = *stop;
	if (irq) {
		kbc->irq = *irq;
		kbc->has_irq = true;
	}
	kbc->ctr = CTR_KBDINT | CTR_SYS | CTR_AUXDIS | CTR_XLATE;	/* as a BIOS leaves it */
	kbc->outp = OUTP_RESET_HIGH | OUTP_A20;
	kbc->status = STS_UNLOCKED;
	return kbc;
}

void i8042_destroy(struct i8042 *kbc)
{
	if (!kbc)
		return;
	pthread_mutex_destroy(&kbc->lock);
	free(kbc);
}

int i8042_register(struct i8042 *kbc, struct bus *pio, uint16_t data_port, uint16_t cmd_port)
{
	int ret = bus_register(pio, data_port, 1, &i8042_data_ops, kbc, "i8042-data");
	if (ret == 0)
		ret = bus_register(pio, cmd_port, 1, &i8042_cmd_ops, kbc, "i8042-cmd");
	if (ret < 0)
		log_error("i8042: cannot claim ports 0x%x/0x%x: %s", data_port, cmd_port,
			  strerror(-ret));
	return ret;
}
