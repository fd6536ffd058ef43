/* The test guest's command-line verbs.
 *   exit=N    end the VM through the debug-exit port with status N (0..255)
 *   smp       start every AP of the MADT; exit 0 if all came up, else 251
 *   reset     i8042 reset (0xFE to port 0x64); 252 if still running
 *   poweroff  ACPI S5 through the FADT's PM1a_CNT; 253 if still running
 *   probe     read and write a port and an MMIO address no device claims and
 *             print what came back (a VMM must answer all-ones and go on)
 *   vblk      hostile requests to the first virtio-blk on PCI (vblk.h);
 *             exit 0 if each got its answer, else 248
 *   vnet      hostile TX chains and RX buffers to the first virtio-net, then
 *             frames with the peer on its bridge (vnet.h); exit 0 or 247
 *   vnet-mrg  the same with MRG_RXBUF: frames over several buffers
 *   echo      echo serial input as "echo: <line>" lines, forever (for
 *             console tests; the VMM's side must stop the VM)
 *   pwrbtn    enable PM1_EN.PWRBTN_EN, print "pwrbtn: armed ...", then poll
 *             PM1_STS for the power button (echoing serial input as echo
 *             does); on a press print "pwrbtn: pressed ..." and power off
 *             (S5, as poweroff)
 *   tick      with pwrbtn: print "tick: N" about every 100 ms meanwhile
 * Other words (console=ttyS0 ...) are ignored. */
#ifndef GUEST_VERBS_H
#define GUEST_VERBS_H

#include <stdbool.h>

struct verbs {
	bool smp, reset, poweroff, probe, echo, pwrbtn, tick, vblk, vnet, vnet_mrg, has_exit;
	unsigned int exit_code;
};

/* Sets the fields of v (zeroed by the caller) for each verb in cmdline.
 * Returns 0, or -1 after printing why (a malformed exit=). */
int verbs_parse(const char *cmdline, struct verbs *v);

#endif
