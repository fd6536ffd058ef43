#!/usr/bin/env python3
"""e2e_net: Debian's virtio_net driver on minivmm's virtio-net, on the lab's
NAT network made by `minivmm net`.

    e2e_net.py [--vmm PATH] [--timeout SEC] [--cases LIST]

In one L1 run (tests/vmtest/run-kvm), as root, in two network namespaces
the test creates: "host" (where `minivmm net` starts vbr from the lab's XML
and the VMs run) and "outside" (10.200.0.2, reached through the masquerade,
with an HTTP server and a TCP sink). Nothing else is touched.
  errors: --bridge with a network that is defined but not started, a bridge
    that does not exist, --tap with no such TAP: one-line errors before
    the guest starts (and no TAP left behind).
  vm1 (--bridge vbr --cpus 2, default MAC): eth0 has a queue pair per vCPU;
    busybox udhcpc gets an address in .128-.200 with router and DNS .254
    from minivmm's server; ping .254; a 16 MiB file from the outside HTTP
    server (RX: TSO, mergeable buffers) and 16 MiB sent to the outside sink
    (TX: TSO), both checksums matching; the lease file holds its MAC.
  vm2 (--bridge vbr,mac=...): its own lease; vm1 and vm2 ping each other;
    vm1 ends by poweroff, vm2 by SIGTERM: their TAPs are gone.
  vm3 and vm4: killed with SIGKILL and SIGSEGV (a crash): TAPs gone.
  vm5 on a pty (the console as a terminal): Ctrl+] ends it, TAP gone.
  mix (--bridge vbr --net user): eth0 on vbr, eth1 on libslirp, with the
    documented default MACs (different); eth0 leases from vbr, eth1 gets
    10.0.2.15; routes set explicitly (default via eth0, 10.0.2.0/24 and
    169.254.169.254/32 via eth1); ping .254 over eth0, a page from a server
    on the host namespace's loopback through 10.0.2.2 over eth1, and the
    metadata's local-ipv4 is 10.0.2.15 (answered by the --net user NIC: on
    vbr minivmm's network service would answer too, hence the /32 route).
"""
import argparse
import hashlib
import os
import pty
import shlex
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import l2guest  # noqa: E402
from e2e import (Console, Failure, run_inside_l1, cases_type, command, guest_fetch,  # noqa: E402
                 stage, udhcpc_lease)

PROG = 'e2e_net'
H, O = 'mve2eh', 'mve2eo'
OUTSIDE_IP = '10.200.0.2'
BLOB_MIB = 16
VM2_MAC = '52:54:00:e2:e0:02'
LAB_XML = """<network>
  <name>vbr</name>
  <forward mode='nat'/>
  <bridge name='vbr' stp='on' delay='0'/>
  <ip address='192.168.100.254' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.100.128' end='192.168.100.200'/>
    </dhcp>
  </ip>
</network>
"""


def run(cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise Failure(f'{shlex.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}')
    return r


def inh(*cmd, **kw):
    return run(['ip', 'netns', 'exec', H] + list(cmd), **kw)


def taps():
    """The TAPs (vnetN) in the host namespace."""
    out = inh('ip', '-o', 'link', 'show').stdout
    return sorted(ln.split(':')[1].strip().split('@')[0] for ln in out.splitlines()
                  if ln.split(':')[1].strip().startswith('vnet'))


class Net:
    def __init__(self, tmp, vmm):
        self.tmp, self.vmm = tmp, vmm
        self.state = os.path.join(tmp, 'state')
        self.env = dict(os.environ, MINIVMM_STATE_DIR=self.state)
        self.servers = []

    def mv(self, *args, check=True):
        return inh(self.vmm, 'net', *args, check=check, env=self.env)

    def setup(self):
        for ns in (H, O):
            run(['ip', 'netns', 'add', ns])
            run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'])
        run(['ip', 'link', 'add', 'o0', 'type', 'veth', 'peer', 'name', 'o1'])
        run(['ip', 'link', 'set', 'o1', 'netns', H])
        run(['ip', 'link', 'set', 'o0', 'netns', O])
        inh('ip', 'addr', 'add', '10.200.0.1/24', 'dev', 'o1')
        inh('ip', 'link', 'set', 'o1', 'up')
        ino = ['ip', 'netns', 'exec', O]
        run(ino + ['ip', 'addr', 'add', f'{OUTSIDE_IP}/24', 'dev', 'o0'])
        run(ino + ['ip', 'link', 'set', 'o0', 'up'])
        www = os.path.join(self.tmp, 'www')
        os.mkdir(www)
        self.blob = os.path.join(www, 'blob')
        with open(self.blob, 'wb') as f:
            f.write(os.urandom(BLOB_MIB << 20))
        self.sink = os.path.join(self.tmp, 'sink')
        self.servers.append(subprocess.Popen(ino + ['busybox', 'httpd', '-f', '-p', '8080',
                                                    '-h', www]))
        # The sink: one connection's bytes into a file. Its stdin stays open
        # (at EOF nc would close the connection).
        self.servers.append(subprocess.Popen(ino + ['sh', '-c',
                                                    f'busybox nc -l -p 9000 > {self.sink}'],
                                             stdin=subprocess.PIPE))
        xml = os.path.join(self.tmp, 'vbr.xml')
        with open(xml, 'w') as f:
            f.write(LAB_XML)
        self.mv('define', xml)

    def start(self):
        self.mv('start', 'vbr')

    def cleanup(self):
        self.mv('stop', 'vbr', check=False)
        for p in self.servers:
            p.kill()
            p.wait()
        for ns in (H, O):
            run(['ip', 'netns', 'del', ns], check=False)


class Vm:
    def __init__(self, args, net, nics, tty=False, stderr=None):
        cmd = ['ip', 'netns', 'exec', H] + l2guest.vmm_command(
            args.vmm, args.kernel, args.initrd, nics=nics)
        if tty:
            cmd.remove('--console')
            cmd.remove('-')
        print(f'{PROG}: running {shlex.join(cmd)}', file=sys.stderr, flush=True)
        if tty:
            master, slave = pty.openpty()
            self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                                         env=net.env, start_new_session=True)
            os.close(slave)
            self.master = master
        else:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=stderr, env=net.env)
            self.con = Console(self.proc)

    def boot(self, args):
        self.con.expect(l2guest.READY_MARKER.encode(), args.boot_timeout, 'boot to userspace')
        self.con.expect(l2guest.PROMPT.encode(), 60, 'shell prompt')
        for _ in range(50):
            if command(self.con, 'ls /sys/class/net', 30) and \
                    'eth0' in ' '.join(command(self.con, 'ls /sys/class/net', 30)):
                return
            time.sleep(0.2)
        log = command(self.con, 'ls /sys/bus/pci/devices; dmesg | grep -iE "virtio|net" | tail -40', 60)
        print('\n'.join(log), file=sys.stderr)
        raise Failure('no eth0 in the guest')

    def dhcp(self, iface='eth0'):
        f = udhcpc_lease(self.con, iface)
        last = int(f['ip'].rsplit('.', 1)[1])
        if not f['ip'].startswith('192.168.100.') or not 128 <= last <= 200:
            raise Failure(f'lease {f["ip"]} outside 192.168.100.128-200')
        if f['router'].split()[0] != '192.168.100.254' or f['dns'].split()[0] != '192.168.100.254':
            raise Failure(f'lease router/DNS {f["router"]}/{f["dns"]}, want .254: {lease}')
        if f['mask'] != '24':
            raise Failure(f'lease mask {f["mask"]}, want 24')
        return f['ip']

    def mac(self, iface='eth0'):
        return command(self.con, f'cat /sys/class/net/{iface}/address', 30)[0]

    def ping(self, ip):
        out = command(self.con, f'ping -c 3 -W 5 {ip}; echo rc=$?', 60)
        if 'rc=0' not in out:
            raise Failure(f'ping {ip} from the guest failed: {out}')

    def wait(self, what, timeout=60):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f'{what}: the VMM did not exit within {timeout} s')

    def kill(self):
        """SIGTERM first: minivmm then prints its counters (MINIVMM_EXIT_STATS)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def default_mac(key, index):
    """net_mac_default(): 52:54:00 and the low 3 bytes of FNV-1a-64 of "KEY\nINDEX"."""
    h = 0xcbf29ce484222325
    for b in f'{key}\n{index}'.encode():
        h = ((h ^ b) * 0x100000001b3) & (2**64 - 1)
    return '52:54:00:' + ':'.join(f'{(h >> s) & 0xff:02x}' for s in (16, 8, 0))


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def expect_taps(what, want):
    got = taps()
    if got != want:
        raise Failure(f'{what}: TAPs {got}, want {want}')


def errors(args, net, t):
    """Mistakes named before the guest starts; no TAP left behind."""
    base = [args.vmm, '--kernel', args.kernel, '--kvm-device', '/nonexistent/kvm']
    cases = [
        (['--bridge', 'vbr'], 'network is defined but not active (run `minivmm net start vbr`)'),
        (['--bridge', 'nosuchbr'], 'bridge nosuchbr does not exist and no network is defined'),
        (['--tap', 'nosuchtap'], 'tap: nosuchtap does not exist'),
        (['--bridge', 'vbr,mac=01:00:00:00:00:01'], 'a multicast address'),
    ]
    for extra, want in cases:
        r = inh(*(base + extra), check=False, env=net.env, timeout=30)
        if r.returncode == 0 or want not in r.stderr or '/nonexistent/kvm' in r.stderr:
            raise Failure(f'minivmm {shlex.join(extra)}: exit {r.returncode}, stderr '
                          f'{r.stderr!r}, want {want!r} before any KVM access')
    expect_taps('after the refused starts', [])
    return stage(f'{len(cases)} NIC mistakes reported before the guest starts', t)


def vm1_vm2(args, net, t):
    vm1 = Vm(args, net, [('--bridge', 'vbr')])
    vm2 = None
    try:
        vm1.boot(args)
        t = stage('vm1 booted with eth0', t)
        q = command(vm1.con, 'ls /sys/class/net/eth0/queues | tr "\\n" " "', 30)
        if q != ['rx-0 rx-1 tx-0 tx-1']:
            raise Failure(f'eth0 queues {q}, want a pair per vCPU (rx-0 rx-1 tx-0 tx-1)')
        ip1 = vm1.dhcp()
        mac1 = vm1.mac()
        t = stage(f'vm1 leased {ip1} (MAC {mac1}), 2 queue pairs', t)
        vm1.ping('192.168.100.254')
        t = stage('vm1 pings the bridge', t)
        want = sha256(net.blob)
        guest_fetch(vm1.con, f'http://{OUTSIDE_IP}:8080/blob', want)
        t = stage(f'{BLOB_MIB} MiB fetched through the NAT, checksum matches', t)
        out = command(vm1.con, f'nc {OUTSIDE_IP} 9000 < /tmp/fetched; echo rc=$?', 300)
        for _ in range(50):
            if os.path.exists(net.sink) and os.path.getsize(net.sink) == BLOB_MIB << 20:
                break
            time.sleep(0.2)
        if not os.path.exists(net.sink) or sha256(net.sink) != want:
            size = os.path.getsize(net.sink) if os.path.exists(net.sink) else None
            raise Failure(f'{BLOB_MIB} MiB sent from the guest: sink has {size} bytes; {out}')
        t = stage(f'{BLOB_MIB} MiB sent to the outside, checksum matches', t)
        leases = open(os.path.join(net.state, 'leases', 'vbr.leases')).read()
        if f'{mac1} {ip1}' not in leases:
            raise Failure(f'lease file has no "{mac1} {ip1}": {leases!r}')
        # The driver resets the device and starts it again (threads,
        # offloads and queue pairs anew): the same lease, traffic flows.
        out = command(vm1.con, 'rmmod virtio_net && insmod /lib/modules/virtio_net.ko; echo rc=$?; '
                      'sleep 1; ls /sys/class/net', 60)
        if 'rc=0' not in out or not any('eth0' in ln for ln in out):
            raise Failure(f'reloading virtio_net: {out}')
        if vm1.dhcp() != ip1:
            raise Failure('after the driver reload the lease changed')
        vm1.ping('192.168.100.254')
        t = stage('driver reloaded (device reset and started again): same lease, ping', t)
        vm2 = Vm(args, net, [('--bridge', f'vbr,mac={VM2_MAC}')])
        vm2.boot(args)
        if vm2.mac() != VM2_MAC:
            raise Failure(f'vm2 MAC {vm2.mac()}, want {VM2_MAC}')
        ip2 = vm2.dhcp()
        if ip2 == ip1:
            raise Failure(f'vm1 and vm2 both leased {ip1}')
        expect_taps('two VMs', ['vnet0', 'vnet1'])
        vm1.ping(ip2)
        vm2.ping(ip1)
        t = stage(f'vm2 leased {ip2}; the VMs ping each other; TAPs vnet0 and vnet1', t)
        vm1.con.send('poweroff -f\n')
        if vm1.wait('poweroff') != 0:
            raise Failure(f'vm1 exit status {vm1.proc.returncode} after poweroff, want 0')
        expect_taps('after vm1 powered off', ['vnet1'])
        vm2.proc.send_signal(signal.SIGTERM)
        rc = vm2.wait('SIGTERM')
        if rc != 128 + signal.SIGTERM:
            raise Failure(f'vm2 exit status {rc} after SIGTERM, want {128 + signal.SIGTERM}')
        expect_taps('after vm2 got SIGTERM', [])
        return stage('poweroff and SIGTERM: TAPs gone', t)
    finally:
        vm1.kill()
        if vm2:
            vm2.kill()


def abrupt_ends(args, net, t):
    for sig in (signal.SIGKILL, signal.SIGSEGV):
        vm = Vm(args, net, [('--bridge', 'vbr')])
        try:
            vm.boot(args)
            expect_taps('running', ['vnet0'])
            vm.proc.send_signal(sig)
            vm.wait(sig.name)
            expect_taps(f'after {sig.name}', [])
        finally:
            vm.kill()
    t = stage('SIGKILL and SIGSEGV (a crash): TAPs gone', t)
    vm = Vm(args, net, [('--bridge', 'vbr')], tty=True)
    try:
        buf = b''
        end = time.monotonic() + args.boot_timeout
        while l2guest.PROMPT.encode() not in buf:
            if time.monotonic() > end:
                raise Failure(f'vm on a pty: no prompt: {buf[-500:]!r}')
            try:
                buf += os.read(vm.master, 65536)
            except OSError:
                raise Failure(f'vm on a pty ended early: {buf[-500:]!r}')
        expect_taps('running on a pty', ['vnet0'])
        os.write(vm.master, b'\x1d')
        rc = vm.wait('Ctrl+]')
        if rc != 0:
            raise Failure(f'exit status {rc} after Ctrl+], want 0')
        expect_taps('after Ctrl+]', [])
    finally:
        vm.kill()
        os.close(vm.master)
    return stage('Ctrl+]: TAP gone', t)


def mixed(args, net, t):
    """--bridge and --net user on one VM: each NIC reaches its own network."""
    page = os.path.join(os.path.dirname(net.blob), 'page')
    with open(page, 'wb') as f:
        f.write(os.urandom(64 << 10))
    # slirp's 10.0.2.2 is the loopback of minivmm's namespace (H)
    httpd = subprocess.Popen(['ip', 'netns', 'exec', H, 'busybox', 'httpd', '-f',
                              '-p', '127.0.0.1:8081', '-h', os.path.dirname(page)])
    vm = Vm(args, net, [('--bridge', 'vbr'), ('--net', 'user')])
    try:
        vm.boot(args)
        nics = ' '.join(command(vm.con, 'ls /sys/class/net', 30))
        key = os.path.realpath(args.kernel)  # no disk: the kernel keys the MACs
        macs = [vm.mac('eth0'), vm.mac('eth1')] if 'eth1' in nics else []
        want = [default_mac(key, 0), default_mac(key, 1)]
        if macs != want or want[0] == want[1]:
            raise Failure(f'NICs {nics!r}, MACs {macs}, want eth0/eth1 with {want}')
        expect_taps('--bridge vbr --net user', ['vnet0'])
        ip0 = vm.dhcp('eth0')
        lease = udhcpc_lease(vm.con, 'eth1')
        if lease['ip'] != '10.0.2.15' or lease['router'] != '10.0.2.2':
            raise Failure(f'eth1 lease {lease}, want 10.0.2.15 via 10.0.2.2')
        t = stage(f'mixed NICs: eth0 {macs[0]} leased {ip0} on vbr, eth1 {macs[1]} '
                  'leased 10.0.2.15 from libslirp', t)
        # eth1's lease script made 10.0.2.2 the default route: eth0's again
        command(vm.con, 'ip route replace default via 192.168.100.254 dev eth0', 30)
        command(vm.con, 'ip route add 169.254.169.254/32 via 10.0.2.2 dev eth1', 30)
        for dst, dev in (('192.168.100.254', 'eth0'), ('10.200.0.2', 'eth0'),
                         ('10.0.2.2', 'eth1'), ('169.254.169.254', 'eth1')):
            got = ' '.join(command(vm.con, f'ip route get {dst}', 30))
            if f'dev {dev}' not in got:
                raise Failure(f'route to {dst}: {got!r}, want dev {dev}')
        vm.ping('192.168.100.254')
        guest_fetch(vm.con, 'http://10.0.2.2:8081/page', sha256(page), 120)
        command(vm.con, 'M=http://169.254.169.254/latest/meta-data', 10)
        out = command(vm.con, 'timeout 10 wget -q -O - $M/local-ipv4; echo " rc=$?"', 60)
        if '10.0.2.15 rc=0' not in out:
            raise Failure(f'GET $M/local-ipv4 over eth1: {out}, want 10.0.2.15')
        t = stage('mixed NICs: ping .254 over eth0, a page from the loopback through '
                  '10.0.2.2 over eth1, metadata local-ipv4 10.0.2.15 over eth1', t)
        vm.con.send('poweroff -f\n')
        if vm.wait('poweroff') != 0:
            raise Failure(f'exit status {vm.proc.returncode} after poweroff, want 0')
        expect_taps('after the mixed VM powered off', [])
        return stage('mixed NICs: poweroff, exit 0, TAP gone', t)
    finally:
        vm.kill()
        httpd.kill()
        httpd.wait()


def inside(args):
    t_start = t = time.monotonic()
    tmp = tempfile.mkdtemp(prefix='e2e-net-')
    net = Net(tmp, args.vmm)
    try:
        net.setup()
        t = errors(args, net, t)
        net.start()
        t = stage('vbr started from the lab\'s XML', t)
        if 'basic' in args.cases:
            t = vm1_vm2(args, net, t)
        if 'mix' in args.cases:
            t = mixed(args, net, t)
        if 'abrupt' in args.cases:
            t = abrupt_ends(args, net, t)
    except (Failure, subprocess.TimeoutExpired) as e:
        print(f'\n{PROG}: FAIL: {e}', file=sys.stderr)
        return 1
    finally:
        net.cleanup()
        subprocess.run(['rm', '-rf', tmp])
    print(f'{PROG}: PASS: total {time.monotonic() - t_start:.2f} s', file=sys.stderr)
    return 0


def outside(args):
    return run_inside_l1(PROG, __file__, args, ['--cases', ','.join(args.cases)])


CASES = ('basic', 'abrupt', 'mix')


def main():
    ap = argparse.ArgumentParser(prog=PROG)
    ap.add_argument('--vmm', default='minivmm', help="minivmm's path")
    ap.add_argument('--timeout', type=int, default=900, help='limit for the whole L1 run')
    ap.add_argument('--boot-timeout', type=int, default=180)
    ap.add_argument('--cases', type=cases_type(CASES), default=list(CASES),
                    help=f'comma-separated subset of {",".join(CASES)} (default: all)')
    ap.add_argument('--inside', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--kernel', help=argparse.SUPPRESS)
    ap.add_argument('--initrd', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside and os.geteuid() != 0:
        print(f'{PROG}: FAIL: needs root inside L1', file=sys.stderr)
        return 1
    return inside(args) if args.inside else outside(args)


if __name__ == '__main__':
    sys.exit(main())
