/* The --net user tests' fixture: a virtio-net device on a real libslirp
 * (vnet_user_create), the fake driver's RX/TX/control rings in one RAM,
 * and frame builders. */
#ifndef MINIVMM_TESTS_VIRTIO_USER_FIXTURE_H
#define MINIVMM_TESTS_VIRTIO_USER_FIXTURE_H

#include "tests/virtio/vdrv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QSZ 256
#define F(b) VIRTIO_BIT(b)
#define RXBUF 1526

struct vnet;
struct vnet_user;
struct vnet_user_identity;

extern const uint8_t guest_mac[6], slirp_mac[6];
extern struct vdrv ram, rxd, txd, ctd;
extern struct vnet *n;
extern struct vnet_user *user;	/* the device's backend (owned by n) */
extern int kick[3];
extern uint64_t rx_gpa[QSZ];
extern const struct vnet_user_identity test_ident;

/* The device for --net SPEC with the metadata identity IDENT (NULL: no
 * service); make(): with test_ident. */
void make(const char *spec);
void make_with(const char *spec, const struct vnet_user_identity *ident);
void start(bool threads);	/* DRIVER_OK; THREADS: with kick eventfds */
void teardown(void);
void do_kick(unsigned q);
void post_rx(unsigned i);
/* A TX chain at descriptors 2I, 2I+1: a zeroed vnet header, then FRAME. */
void post_tx(unsigned i, const void *frame, uint32_t len);
/* The next frame in the RX ring (Ethernet header first) within MS ms;
 * IPv6 ones only if V6 (wait_rx: never). */
const uint8_t *wait_rx_any(uint32_t *len, int ms, bool v6);
const uint8_t *wait_rx(uint32_t *len, int ms);
uint16_t get16(const uint8_t *p);
void put16(uint8_t *p, uint16_t v);
void eth(uint8_t *f, const uint8_t *dst, uint16_t type);
/* ARP (OP 1 request, 2 reply) from the guest (SIP) about TIP. */
size_t arp(uint8_t *f, uint16_t op, const char *sip, const char *tip, const uint8_t *tha);
uint16_t ip_sum(const uint8_t *h, size_t len);	/* the Internet checksum of H */

/* The metadata service and link-local filter (test_net_user_mdata.c). */
struct TCase;
struct TCase *tcase_net_user_mdata(void);

#endif
