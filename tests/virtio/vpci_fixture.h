/* The fixture of the virtio-pci transport tests: a fake machine (PCI bus,
 * MMIO bus, guest memory, hooks that record ioeventfds, MSI routes and the
 * INTx line, with injectable failures) and virtio-blk on a raw image
 * behind the transport; helpers that play the guest driver through PCI
 * config accesses and the MMIO bus. */
#ifndef MINIVMM_TEST_VPCI_FIXTURE_H
#define MINIVMM_TEST_VPCI_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"
#include "devices/pci_cfg.h"
#include "devices/virtio/disk.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/virtio/vdrv.h"
#include "vmm/bus.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#define IMG_SIZE (1u << 20)
#define QS 16
#define MSI_ADDR 0xfee00000u

struct fake_machine {
	unsigned ioeventfds, msi_adds, msi_sets;
	int ioeventfds_assigned;	/* assigned minus deassigned */
	bool fail_ioeventfd;		/* injected failures */
	unsigned fail_msi_add_nth;	/* 1: the first call fails; 0: none */
	uint64_t ioeventfd_gpa;
	uint32_t ioeventfd_len;
	int ioeventfd_fd;
	unsigned last_set_gsi;
	uint64_t last_set_addr;
	uint32_t last_set_data;
	int intx_level;
	unsigned intx_gsi, intx_calls;
};

extern struct fake_machine fm;
extern struct pci *pci;
extern struct bus *mmio;
extern struct vdrv drv;
extern struct disk *disk;
extern struct vpci *t;		/* the transport under test (NULL: none) */
extern uint8_t slot;
extern uint64_t bar0, bar2;

/* Byte i of the image. */
static inline uint8_t pattern(uint64_t i) { return (uint8_t)(i * 7 + (i >> 9)); }

/* The machine only (t = NULL); with virtio-blk plugged; and teardown. */
void vpci_fx_setup_machine(void);
void vpci_fx_setup(void);
void vpci_fx_teardown(void);
/* The fake machine's hooks, for vpci_blk_create(). */
struct vpci_machine machine(void);

uint32_t cfg_rd(uint32_t off, uint32_t len);	/* config space of 'slot' */
void cfg_wr(uint32_t off, uint32_t v, uint32_t len);
uint64_t rd(uint64_t addr, uint32_t len);	/* MMIO, must be claimed */
void wr(uint64_t addr, uint64_t v, uint32_t len);
bool fd_signalled(int fd, int timeout_ms);	/* and consumes the count */
void enable_decode(void);
/* A capability by id (and cfg_type for vendor ones), -1 if none. */
int find_cap(uint8_t id, uint8_t vtype);
uint64_t offered(void);
void set_features(uint64_t f);
/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queue 0 laid out, enabled. */
void driver_setup(uint16_t qvec);

#define CC(off) (bar0 + VPCI_COMMON_OFF + (off))
enum { DFSEL = 0, DF = 4, GFSEL = 8, GF = 0xc, MSIXCFG = 0x10, NUMQ = 0x12, STATUS = 0x14,
       QSEL = 0x16, QSIZE = 0x18, QMSIX = 0x1a, QEN = 0x1c, QNOFF = 0x1e, QDESC = 0x20,
       QDRV = 0x28, QDEV = 0x30 };

#define STATUS_OK (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
		   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)

TCase *tcase_vpci_window(void);
TCase *tcase_vpci_plug_failure(void);

#endif
