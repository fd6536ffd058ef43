#!/usr/bin/env python3
"""e2e_lab: the lab's exact sequence, with minivmm in place of libvirt/QEMU.

    e2e_lab.py [--vmm PATH] [--timeout SEC]

On the host: the CirrOS-like image (tests/images/build-cirros-like, cached).
In one L1 run (tests/vmtest/run-kvm), as root, in the namespaces e2e_net
makes ("host" with the lab's network, "outside" behind the masquerade):
  minivmm img create -F qcow2 -f qcow2 -b cirros-like.qcow2 vmhost.img 20G
  minivmm net define vbr.xml && minivmm net start vbr
  minivmm --disk vmhost.img --bridge vbr        (exactly: default memory and
                                                 vCPUs, console on a terminal)
reaches CirrOS's banner and its login prompt (`minivmm-XXXXXXXX login:`: the
metadata service names it); cirros/gocubsgo logs in; the
guest's address is in the lease file; a file written and synced; `sudo
poweroff` ends minivmm with 0; `qemu-img check` passes on the overlay, the
base is byte-identical; a second boot sees the file.
"""
import argparse
import hashlib
import os
import pty
import re
import select
import shlex
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import l2guest  # noqa: E402
from l2guest import dk  # noqa: E402
from e2e import Failure, stage, vmm_missing  # noqa: E402
import e2e_net  # noqa: E402

PROG = 'e2e_lab'
HERE = os.path.dirname(os.path.realpath(__file__))
BUILD_IMAGE = os.path.join(HERE, '..', 'images', 'build-cirros-like')
MARKER = 'minivmm-lab-marker'
ANSI = re.compile(rb'\x1b\[[0-9;?]*[A-Za-z]')


class PtyVm:
    """minivmm with its console on a terminal, as a student runs it."""

    def __init__(self, cmd, env, cwd):
        print(f'{PROG}: running {shlex.join(cmd)}', file=sys.stderr, flush=True)
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=cwd, start_new_session=True)
        os.close(slave)
        self.fd = master
        self.buf = b''

    def expect(self, what, timeout, where):
        end = time.monotonic() + timeout
        while what.encode() not in ANSI.sub(b'', self.buf):
            left = end - time.monotonic()
            if left <= 0:
                raise Failure(f'{where}: no {what!r} within {timeout} s; last output: '
                              f'{self.buf[-400:]!r}')
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                continue
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                data = b''
            if not data:
                raise Failure(f'{where}: the console closed before {what!r} '
                              f'(exit status {self.proc.poll()})')
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            self.buf += data
        text = ANSI.sub(b'', self.buf).decode(errors='replace')
        before, _, _ = text.partition(what)
        self.buf = self.buf[self.buf.find(what.encode()) + len(what):] \
            if what.encode() in self.buf else b''
        return before

    def send(self, text):
        os.write(self.fd, text.encode())

    def login(self):
        """At `HOST login:`: CirrOS's user and password, to its shell."""
        self.send('cirros\n')
        self.expect('assword:', 30, 'password prompt')
        self.send('gocubsgo\n')
        self.expect('$ ', 30, 'shell after login')

    def shell(self, cmd, timeout=60):
        """Runs CMD at the logged-in shell; returns its output."""
        tag = f'__done{time.monotonic_ns()}__'
        self.send(f'{cmd}; echo {tag[:6]}""{tag[6:]}\n')
        return self.expect(tag, timeout, f'`{cmd}`')

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f'minivmm did not exit within {timeout} s')

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.fd)


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def lab_overlay(args, work):
    """The lab's `img create -F qcow2 -f qcow2 -b cirros.qcow2 vmhost.img 20G`,
    in WORK, over the CirrOS-like base."""
    os.symlink(args.base, os.path.join(work, 'cirros-like.qcow2'))
    r = subprocess.run([args.vmm, 'img', 'create', '-F', 'qcow2', '-f', 'qcow2', '-b',
                        'cirros-like.qcow2', 'vmhost.img', '20G'], cwd=work,
                       capture_output=True, text=True)
    if r.returncode:
        raise Failure(f'img create: {r.stderr}')


def eth0_lease(vm, net, mac=None):
    """eth0's address, in vbr's 192.168.100.0/24 and in its lease file (with
    MAC, when given). Returns the address."""
    ip = vm.shell('ip -4 -o addr show eth0')
    m = re.search(r'inet (192\.168\.100\.\d+)/24', ip)
    if not m:
        raise Failure(f'eth0 has no address in 192.168.100.0/24: {ip!r}')
    leases = open(os.path.join(net.state, 'leases', 'vbr.leases')).read()
    if m.group(1) not in leases or (mac and mac not in leases):
        raise Failure(f'{m.group(1)} / {mac} not in the lease file: {leases!r}')
    return m.group(1)


def run_on_lab(prog, args, body, cleanup=None):
    """In L1: the lab's network vbr started (e2e_net's namespaces) and its
    overlay vmhost.img in a temporary WORK, then BODY(net, work, t). Prints
    PASS or FAIL; CLEANUP(net, work, failed) runs before the network goes."""
    t0 = t = time.monotonic()
    failed = True
    tmp = tempfile.mkdtemp(prefix=f'{prog}-')
    net = e2e_net.Net(tmp, args.vmm)
    work = os.path.join(tmp, 'lab')
    os.mkdir(work)
    try:
        net.setup()
        lab_overlay(args, work)
        net.start()
        t = stage('img create; net define && net start vbr', t)
        body(net, work, t)
        failed = False
    except (Failure, subprocess.TimeoutExpired, subprocess.CalledProcessError, OSError) as e:
        print(f'\n{prog}: FAIL: {e}', file=sys.stderr)
        return 1
    finally:
        if cleanup:
            cleanup(net, work, failed)
        net.cleanup()
        subprocess.run(['rm', '-rf', tmp])
    print(f'{prog}: PASS: total {time.monotonic() - t0:.2f} s', file=sys.stderr)
    return 0


def boot_and_login(args, net, work, boot_no):
    cmd = ['ip', 'netns', 'exec', e2e_net.H, args.vmm, '--disk', 'vmhost.img', '--bridge', 'vbr']
    vm = PtyVm(cmd, net.env, work)
    try:
        t = time.monotonic()
        if boot_no == 1:
            vm.expect('info: copying initramfs to /dev/vda1', args.boot_timeout, 'first boot')
        vm.expect("login as 'cirros' user. default password: 'gocubsgo'. use 'sudo' for root.",
                  args.boot_timeout, 'banner')
        # CirrOS names itself after the metadata's local-hostname (minivmm's
        # default: minivmm- and the UUID's first 8 hex digits)
        vm.expect(' login:', 60, 'login prompt')
        stage(f'boot {boot_no}: banner and `HOSTNAME login:`', t)
        vm.login()
        return vm
    except Exception:
        vm.close()
        raise


def lab_sequence(args, net, work, t):
    base_sum = sha256(args.base)
    vm = boot_and_login(args, net, work, 1)
    try:
        ip = eth0_lease(vm, net)
        vm.shell(f'echo {MARKER} > /home/cirros/lab.txt; sync')
        t = stage(f'logged in; eth0 {ip} is in the lease file; file written', t)
        vm.send('sudo poweroff\n')
        rc = vm.wait(120)
        if rc != 0:
            raise Failure(f'minivmm exit status {rc} after sudo poweroff, want 0')
    finally:
        vm.close()
    t = stage('sudo poweroff: minivmm exited 0', t)
    r = subprocess.run(['qemu-img', 'check', os.path.join(work, 'vmhost.img')],
                       capture_output=True, text=True)
    if r.returncode:
        raise Failure(f'qemu-img check on the overlay: exit {r.returncode}: {r.stdout}{r.stderr}')
    if sha256(args.base) != base_sum:
        raise Failure('the base image changed')
    t = stage('qemu-img check passes; the base is byte-identical', t)
    vm = boot_and_login(args, net, work, 2)
    try:
        out = vm.shell('cat /home/cirros/lab.txt')
        if MARKER not in out:
            raise Failure(f'second boot: the file is not there: {out!r}')
        vm.send('sudo poweroff\n')
        vm.wait(120)
    finally:
        vm.close()
    stage('second boot sees the file', t)


def inside(args):
    return run_on_lab(PROG, args, lambda net, work, t: lab_sequence(args, net, work, t))


def outside_cirros(prog, script, args):
    """Host side of a driver on the CirrOS-like image: build (or find) the
    image, then run SCRIPT --inside --base IMAGE in one L1 run."""
    if vmm_missing(prog, args.vmm):
        print(vmm_missing(prog, args.vmm), file=sys.stderr)
        return 1
    r = subprocess.run([BUILD_IMAGE], stdout=subprocess.PIPE, text=True)
    if r.returncode == 77:
        return dk.skip_or_fail(prog, 'build-cirros-like lacks a prerequisite (see above)')
    if r.returncode:
        print(f'{prog}: FAIL: build-cirros-like exited {r.returncode}', file=sys.stderr)
        return 1
    cmd = [l2guest.RUN_KVM, '--timeout', str(args.timeout), '--',
           sys.executable, os.path.realpath(script), '--inside', '--vmm', args.vmm,
           '--base', r.stdout.strip(), '--boot-timeout', str(args.boot_timeout)]
    return subprocess.call(cmd)


def cirros_main(prog, script, inside, timeout=1200):
    """main() of a driver on the CirrOS-like image: its options, then INSIDE
    (in L1) or outside_cirros (on the host)."""
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument('--vmm', default='minivmm', help="minivmm's path")
    ap.add_argument('--timeout', type=int, default=timeout, help='limit for the whole L1 run')
    ap.add_argument('--boot-timeout', type=int, default=400)
    ap.add_argument('--inside', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--base', help=argparse.SUPPRESS)
    args = ap.parse_args()
    return inside(args) if args.inside else outside_cirros(prog, script, args)


if __name__ == '__main__':
    sys.exit(cirros_main(PROG, __file__, inside))
