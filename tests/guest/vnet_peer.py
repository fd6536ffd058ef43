#!/usr/bin/env python3
"""vnet_peer.py: the other end of the test guest's virtio-net (vnet.c).

    vnet_peer.py --bridge NAME -- CMD [ARGS...]

In a network namespace of its own (unshare(CLONE_NEWNET): it goes, with
everything in it, when this process ends; IPv6 and IGMP reports off so
that the kernel sends nothing of its own), it makes bridge NAME with a veth pair, one end
on the bridge, and runs CMD (minivmm --bridge NAME ...). On the veth's
other end (AF_PACKET) it answers each request frame of the guest (type
0x88b5, "MVNQ": its pattern checked) with the replies asked for, to the
guest's MAC. Any other frame on the bridge, a damaged or repeated request
is a failure: hostile chains must not leave the device.

Exit status: CMD's (the guest's verdict through minivmm), or 1 when the
peer saw something wrong; 77 without root or unshare (1 when CI=true).
"""
import argparse
import ctypes
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile

PROG = 'vnet-peer'
CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
ETH_TYPE = 0x88b5
PACKET_OUTGOING = 4
BODY = 23


def skip(why):
    if os.environ.get('CI') == 'true':
        print(f'{PROG}: FAIL: {why} (CI=true: not skipping)', flush=True)
        sys.exit(1)
    print(f'{PROG}: SKIP: {why}', flush=True)
    sys.exit(77)


def sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f'{" ".join(cmd)}: exit {r.returncode}: {r.stderr.strip()}')


def own_netns(bridge):
    """A fresh network namespace with BRIDGE and veth vp0 (on it) / vp1."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        skip(f'unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}')
    # No IPv6 (router solicitations, MLD) and no IGMP reports for the
    # 224.0.0.x groups the interfaces join: the bridge would flood them to
    # the guest, into the RX buffers each step posts for one known frame.
    for path in ('/proc/sys/net/ipv6/conf/all/disable_ipv6',
                 '/proc/sys/net/ipv6/conf/default/disable_ipv6',
                 '/proc/sys/net/ipv4/igmp_link_local_mcast_reports'):
        if os.path.exists(path):
            with open(path, 'w') as f:
                f.write('0' if 'igmp' in path else '1')
    sh('ip', 'link', 'set', 'lo', 'up')
    sh('ip', 'link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0')
    sh('ip', 'link', 'add', 'vp0', 'type', 'veth', 'peer', 'name', 'vp1')
    sh('ip', 'link', 'set', 'vp0', 'master', bridge)
    for dev in (bridge, 'vp0', 'vp1'):
        sh('ip', 'link', 'set', dev, 'up')


def request_pattern_ok(f, seq):
    return all(f[i] == (i * 7 + seq) & 0xff for i in range(BODY, len(f)))


def reply(dst, src, seq, index, size):
    head = dst + src + struct.pack('>H4sHBH', ETH_TYPE, b'MVNR', seq, index, size)
    return head + bytes((i * 13 + seq + index) & 0xff for i in range(BODY, size))


class Peer:
    def __init__(self, sock):
        self.sock = sock
        self.mac = sock.getsockname()[4]
        self.seen, self.replies, self.errors = set(), 0, []

    def frame(self, f):
        if len(f) < BODY or f[12:14] != struct.pack('>H', ETH_TYPE) or f[14:18] != b'MVNQ':
            self.errors.append(f'unexpected frame of {len(f)} bytes: {f[:32].hex()}')
            return
        seq, count, size = struct.unpack('>HBH', f[18:BODY])
        if f[0:6] != b'\xff' * 6 or not request_pattern_ok(f, seq):
            self.errors.append(f'request {seq} ({len(f)} bytes) damaged')
            return
        if seq in self.seen:
            self.errors.append(f'request {seq} seen twice')
            return
        self.seen.add(seq)
        if count and not 60 <= size <= 1514:
            self.errors.append(f'request {seq} asks for {size}-byte replies')
            return
        for i in range(count):
            self.sock.send(reply(f[6:12], self.mac, seq, i, size))
            self.replies += 1

    def poll(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        while r:
            try:
                f, addr = self.sock.recvfrom(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            if addr[2] != PACKET_OUTGOING:
                self.frame(f)


def main():
    ap = argparse.ArgumentParser(prog=PROG)
    ap.add_argument('--bridge', required=True)
    ap.add_argument('cmd', nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ['--'] else args.cmd
    if not cmd:
        ap.error('no command given')
    if os.geteuid() != 0:
        skip('needs root (a network namespace, a bridge, AF_PACKET)')
    own_netns(args.bridge)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind(('vp1', 0))
    peer = Peer(sock)
    env = dict(os.environ, MINIVMM_STATE_DIR=tempfile.mkdtemp(prefix='vnet-peer-'))
    print(f'{PROG}: bridge {args.bridge} in a namespace of its own; running {" ".join(cmd)}',
          flush=True)
    child = subprocess.Popen(cmd, env=env)
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    while child.poll() is None:
        peer.poll(0.05)
    peer.poll(0.2)
    print(f'{PROG}: {len(peer.seen)} requests answered with {peer.replies} replies', flush=True)
    for e in peer.errors:
        print(f'{PROG}: FAIL: {e}', flush=True)
    if peer.errors:
        return 1
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


if __name__ == '__main__':
    sys.exit(main())
