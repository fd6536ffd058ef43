#!/usr/bin/env python3
"""e2e_disk: Debian's own virtio_blk driver on minivmm's virtio-pci disks.

    e2e_disk.py [--vmm PATH] [--timeout SEC]

In one L1 run (tests/vmtest/run-kvm), with images made by qemu-img/qemu-io:
  boot 1 (MSI-X): --disk a.img (pattern 0xab written by qemu-io) is /dev/vda,
    the guest reads the pattern back (2 vCPUs: vda has a request queue and
    an MSI-X vector per vCPU), writes 1 MiB of 0x55 and a marker,
    syncs; --disk b.img is /dev/vdb (pattern 0xcd); --disk c.img,readonly
    is /dev/vdc and refuses a write; while it runs a second minivmm on a.img
    is refused (image lock) before it opens /dev/kvm; poweroff.
  host check: the written bytes are in a.img, c.img and b.img unchanged.
  boot 2 (pci=nomsi: INTx through the DSDT's _PRT): vda reads back what
    boot 1 wrote, and its interrupt is an IO-APIC line.
  boot 2b (acpi=off pci=nomsi: INTx through the MP table), with Debian's
    generic kernel (the cloud kernel lacks CONFIG_X86_MPPARSE): Linux takes
    CPUs, IOAPIC and PCI wiring from the MP table alone; vda reads back,
    takes a write (checked on the host), and its IRQ is the IO-APIC pin
    vmm/layout.h's pci_intx_gsi() gives its slot; ends with reboot -f
    (no ACPI to power off: the i8042 reset ends minivmm with status 0).
  boot 3 (qcow2): an overlay made by qemu-img over a compressed base is
    /dev/vda; the guest reads the base's pattern, writes into it; then
    `qemu-img check` passes and the base's checksum is unchanged.
"""
import argparse
import hashlib
import os
import shlex
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import l2guest  # noqa: E402
from l2guest import dk  # noqa: E402
from e2e import Console, Failure, cases_type, command, stage, vmm_missing  # noqa: E402

PROG = 'e2e_disk'
MIB = 1 << 20
MARKER = 'minivmm-e2e-disk-marker'


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise Failure(f'{shlex.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}')
    return r.stdout


def make_raw(path, size_mib, pattern):
    run(['qemu-img', 'create', '-q', '-f', 'raw', path, f'{size_mib}M'])
    run(['qemu-io', '-f', 'raw', '-c', f'write -P {pattern:#x} 0 1M', path])


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def expect_eq(what, got, want):
    if got != want:
        raise Failure(f'{what}: got {got!r}, want {want!r}')


# Shell helpers typed once per boot, so that the commands stay shorter than
# the console's line (a wrapped echo would mix with the output).
HELPERS = [
    # msum DEV MIB: md5 of one MiB of DEV at MIB
    "msum() { dd if=/dev/$1 bs=1M skip=$2 count=1 2>/dev/null | md5sum | cut -c1-32; }",
    # fill CHAR BYTES DEV SEEK4K: BYTES of CHAR at SEEK4K * 4 KiB
    "fill() { yes $1 | tr -d '\\n' | head -c $2 | "
    "dd of=/dev/$3 bs=4096 seek=$4 conv=fsync 2>/dev/null; }",
]


def expect_mib(con, what, dev, skip_mib, byte):
    """One MiB of dev at skip_mib is all `byte` (compared by md5)."""
    got = command(con, f'msum {dev} {skip_mib}', 60)
    want = hashlib.md5(bytes([byte]) * MIB).hexdigest()
    if got != [want]:
        raise Failure(f'{what}: /dev/{dev} MiB {skip_mib} has md5 {got}, want {want} '
                      f'(all {byte:#04x})')


class Vm:
    def __init__(self, args, disks, cmdline=l2guest.CMDLINE):
        cmd = l2guest.vmm_command(args.vmm, args.kernel, args.initrd, cmdline=cmdline,
                                  disks=disks)
        print(f'{PROG}: running {shlex.join(cmd)}', file=sys.stderr, flush=True)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.con = Console(self.proc)

    def boot(self, args, ndisks):
        self.con.expect(l2guest.READY_MARKER.encode(), args.boot_timeout, 'boot to userspace')
        self.con.expect(l2guest.PROMPT.encode(), 60, 'shell prompt')
        # The modules are loaded; the disks appear once probed.
        want = ' '.join(f'vd{chr(ord("a") + i)}' for i in range(ndisks))
        for _ in range(50):
            got = command(self.con, 'ls /sys/block | grep ^vd | tr "\\n" " "', 30)
            if got and got[0].strip() == want:
                self.helpers()
                return
            time.sleep(0.2)
        # What the kernel said about PCI and virtio, for the report.
        log = command(self.con, 'ls /sys/bus/pci/devices; '
                      'dmesg | grep -iE "pci|virtio|irq|apic|MP" | tail -60', 60)
        print('\n'.join(log), file=sys.stderr)
        raise Failure(f'/sys/block has {got}, want {want!r}')

    def helpers(self):
        for h in HELPERS:
            command(self.con, h, 30)

    def poweroff(self, how='poweroff -f'):
        self.con.send(f'sync; {how}\n')
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise Failure(f'{how}: the VMM did not exit within 60 s')
        if rc != 0:
            raise Failure(f'the VMM exited with status {rc} after {how}, want 0')

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def boot1(args, d, t):
    a, b, c = d['a'], d['b'], d['c']
    vm = Vm(args, [a, b, f'{c},readonly'])
    try:
        vm.boot(args, 3)
        t = stage('boot 1 to the shell with vda, vdb, vdc', t)
        con = vm.con
        expect_eq('vda sectors', command(con, 'cat /sys/block/vda/size', 30), [str(16 * MIB // 512)])
        expect_eq('vdb sectors', command(con, 'cat /sys/block/vdb/size', 30), [str(8 * MIB // 512)])
        expect_mib(con, 'vda MiB 0 (qemu-io pattern)', 'vda', 0, 0xab)
        expect_mib(con, 'vda MiB 1 (never written)', 'vda', 1, 0x00)
        expect_mib(con, 'vdb MiB 0', 'vdb', 0, 0xcd)
        irqs = command(con, 'grep virtio /proc/interrupts', 30)
        if not any('PCI-MSI' in ln and 'req.0' in ln for ln in irqs):
            raise Failure(f'no MSI-X virtio request interrupt in /proc/interrupts: {irqs}')
        # Two vCPUs: a request queue each (VIRTIO_BLK_F_MQ), each with its own vector.
        expect_eq('vda blk-mq hardware queues', command(con, 'ls /sys/block/vda/mq | tr "\\n" " "', 30),
                  ['0 1'])
        for q in ('req.0', 'req.1'):
            if not any('PCI-MSI' in ln and f'virtio0-{q}' in ln for ln in irqs):
                raise Failure(f'no MSI-X interrupt virtio0-{q} in /proc/interrupts: {irqs}')
        t = stage('patterns read back, MSI-X in use, a queue per vCPU', t)

        command(con, f'fill U {MIB} vda 512', 60)
        command(con, f'echo {MARKER} | dd of=/dev/vda bs=1M seek=3 conv=fsync', 30)
        command(con, 'sync', 30)
        expect_mib(con, 'vda MiB 2 after the write', 'vda', 2, 0x55)
        t = stage('guest wrote vda', t)

        expect_eq('vdc read-only flag', command(con, 'cat /sys/block/vdc/ro', 30), ['1'])
        out = command(con, 'echo x | dd of=/dev/vdc bs=512 count=1 conv=fsync; echo rc=$?', 30)
        if 'rc=0' in out or not any(ln.startswith('rc=') for ln in out):
            raise Failure(f'a write to the read-only vdc did not fail: {out}')
        t = stage(f'read-only vdc refused the write ({out[0]})', t)

        # A second VMM on the same image: refused by the lock, before /dev/kvm.
        r = subprocess.run([args.vmm, '--kernel', args.kernel, '--disk', a,
                            '--kvm-device', '/nonexistent/kvm'],
                           capture_output=True, text=True, timeout=30)
        if r.returncode == 0 or 'locked by another process' not in r.stderr \
                or '/nonexistent/kvm' in r.stderr:
            raise Failure(f'second minivmm on {a}: exit {r.returncode}, stderr {r.stderr!r}')
        t = stage('a second minivmm on vda\'s image is refused (locked)', t)
        vm.poweroff()
        return stage('poweroff', t)
    finally:
        vm.kill()


def host_check(d, sums, t):
    with open(d['a'], 'rb') as f:
        img = f.read()
    expect_eq('a.img MiB 0', img[:MIB], b'\xab' * MIB)
    expect_eq('a.img MiB 2 (written in the guest)', img[2 * MIB:3 * MIB] == b'U' * MIB, True)
    expect_eq('a.img marker', img[3 * MIB:3 * MIB + len(MARKER) + 1], (MARKER + '\n').encode())
    expect_eq('b.img checksum', sha256(d['b']), sums['b'])
    expect_eq('c.img (read-only) checksum', sha256(d['c']), sums['c'])
    return stage('host sees the guest\'s writes; vdb and the read-only vdc unchanged', t)


def boot2_intx(args, d, t):
    vm = Vm(args, [d['a']], cmdline=l2guest.CMDLINE + ' pci=nomsi')
    try:
        vm.boot(args, 1)
        con = vm.con
        expect_mib(con, 'vda MiB 2 in boot 2', 'vda', 2, 0x55)
        got = command(con, f'dd if=/dev/vda bs=1M skip=3 count=1 2>/dev/null | head -c {len(MARKER)}',
                      30)
        expect_eq('marker in boot 2', got, [MARKER])
        irqs = command(con, 'grep virtio /proc/interrupts', 30)
        if not any('IO-APIC' in ln for ln in irqs) or any('PCI-MSI' in ln for ln in irqs):
            raise Failure(f'virtio is not on an IO-APIC line with pci=nomsi: {irqs}')
        t = stage(f'boot 2 (INTx): data of boot 1 read back; {irqs[0]}', t)
        vm.poweroff()
        return stage('poweroff', t)
    finally:
        vm.kill()


ACPI_OFF_MARKER = 'minivmm-e2e-acpi-off'


def pci_intx_gsi(slot, pin=0):
    """vmm/layout.h's pci_intx_gsi(): the IOAPIC pin of a slot's INTx."""
    return 16 + (slot + pin) % 8


def boot2b_acpi_off(args, d, t):
    mp_args = argparse.Namespace(**vars(args))
    mp_args.kernel, mp_args.initrd = args.mp_kernel, args.mp_initrd
    vm = Vm(mp_args, [d['a']], cmdline=l2guest.CMDLINE + ' acpi=off pci=nomsi')
    try:
        vm.boot(args, 1)
        con = vm.con
        mp = command(con, 'dmesg | grep -c "Intel MultiProcessor Specification v1.4"', 30)
        expect_eq('MP table found by Linux (dmesg lines)', mp, ['1'])
        expect_eq('CPUs online (from the MP table)', command(con, 'cat /sys/devices/system/cpu/online',
                                                            30), ['0-1'])
        expect_eq('/sys/firmware/acpi with acpi=off',
                  command(con, 'ls -d /sys/firmware/acpi 2>/dev/null; echo end', 30), ['end'])
        expect_mib(con, 'vda MiB 0 (qemu-io pattern) with acpi=off', 'vda', 0, 0xab)
        command(con, f'echo {ACPI_OFF_MARKER} | dd of=/dev/vda bs=1M seek=4 conv=fsync', 30)
        # The PCI function behind vda and the IRQ Linux gave it.
        pcidev = command(con, 'basename $(readlink -f /sys/block/vda/device/..)', 30)
        if len(pcidev) != 1 or not pcidev[0].startswith('0000:00:'):
            raise Failure(f'vda\'s PCI device: {pcidev}')
        slot = int(pcidev[0].split(':')[2].split('.')[0], 16)
        gsi = pci_intx_gsi(slot)
        expect_eq(f'IRQ of {pcidev[0]}', command(con, f'cat /sys/bus/pci/devices/{pcidev[0]}/irq',
                                                 30), [str(gsi)])
        irqs = command(con, 'grep virtio /proc/interrupts', 30)
        line = [ln for ln in irqs if ln.strip().startswith(f'{gsi}:')]
        if len(line) != 1 or 'IO-APIC' not in line[0] or 'fasteoi' not in line[0] \
                or any('PCI-MSI' in ln for ln in irqs):
            raise Failure(f'virtio is not on IO-APIC pin {gsi} (level) with acpi=off: {irqs}')
        counts = [int(x) for x in line[0].split()[1:3] if x.isdigit()]
        if not counts or sum(counts) == 0:
            raise Failure(f'no interrupt counted on IRQ {gsi}: {line[0]}')
        t = stage(f'boot 2b (acpi=off, MP table INTx): vda at {pcidev[0]} read and written; '
                  f'{line[0].strip()}', t)
        vm.poweroff('reboot -f')
        t = stage('reboot -f', t)
    finally:
        vm.kill()
    with open(d['a'], 'rb') as f:
        f.seek(4 * MIB)
        got = f.read(len(ACPI_OFF_MARKER) + 1)
    expect_eq('a.img MiB 4 (written with acpi=off)', got, (ACPI_OFF_MARKER + '\n').encode())
    return stage('host sees the acpi=off boot\'s write', t)


def qcow2_overlay(args, tmp, t):
    base_raw, base = os.path.join(tmp, 'base.raw'), os.path.join(tmp, 'base.qcow2')
    top = os.path.join(tmp, 'top.qcow2')
    make_raw(base_raw, 8, 0x5a)
    run(['qemu-img', 'convert', '-c', '-f', 'raw', '-O', 'qcow2', base_raw, base])
    run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, top])
    base_sum = sha256(base)
    vm = Vm(args, [top])
    try:
        vm.boot(args, 1)
        con = vm.con
        expect_mib(con, 'overlay MiB 0 (from the compressed base)', 'vda', 0, 0x5a)
        command(con, f'fill U {MIB} vda 256', 60)
        command(con, 'fill V 4096 vda 1', 60)
        expect_mib(con, 'overlay MiB 1 after the write', 'vda', 1, 0x55)
        vm.poweroff()
    finally:
        vm.kill()
    run(['qemu-img', 'check', top])
    out = run(['qemu-io', '-f', 'qcow2', '-c', 'read -P 0x55 1M 1M', '-c',
               'read -P 0x56 4096 4096', '-c', 'read -P 0x5a 0 4096', top])
    if 'Pattern verification failed' in out:
        raise Failure(f'qemu-io on the overlay: {out}')
    expect_eq('base checksum', sha256(base), base_sum)
    return stage('qcow2 overlay: written in the guest, qemu-img check ok, base unchanged', t)


def inside(args):
    t_start = t = time.monotonic()
    tmp = tempfile.mkdtemp(prefix='e2e-disk-')
    try:
        d = {k: os.path.join(tmp, f'{k}.img') for k in 'abc'}
        make_raw(d['a'], 16, 0xab)
        make_raw(d['b'], 8, 0xcd)
        make_raw(d['c'], 4, 0xef)
        sums = {k: sha256(d[k]) for k in 'bc'}
        if 'msix' in args.cases:
            t = boot1(args, d, t)
            t = host_check(d, sums, t)
        if 'intx' in args.cases:
            if 'msix' not in args.cases:
                raise Failure('case intx reads what case msix wrote: run both')
            t = boot2_intx(args, d, t)
        if 'acpi-off' in args.cases:
            t = boot2b_acpi_off(args, d, t)
        if 'qcow2' in args.cases:
            t = qcow2_overlay(args, tmp, t)
    except (Failure, subprocess.TimeoutExpired) as e:
        print(f'\n{PROG}: FAIL: {e}', file=sys.stderr)
        return 1
    finally:
        subprocess.run(['rm', '-rf', tmp])
    print(f'{PROG}: PASS: total {time.monotonic() - t_start:.2f} s', file=sys.stderr)
    return 0


def validate_first(vmm, kernel):
    """Host side, no KVM needed: --disk mistakes are reported before /dev/kvm
    is opened (here a path that does not exist), naming the flag or file."""
    cases = [
        (['--disk', '/nonexistent/disk.img'], '/nonexistent/disk.img: cannot open'),
        (['--disk', 'x.img,bogus'], "--disk: unknown option 'bogus'"),
        (['--disk', ',readonly'], '--disk: needs a file name'),
    ]
    for extra, want in cases:
        r = subprocess.run([vmm, '--kernel', kernel, '--kvm-device', '/nonexistent/kvm'] + extra,
                           capture_output=True, text=True, timeout=30)
        if r.returncode == 0 or want not in r.stderr or '/nonexistent/kvm' in r.stderr:
            raise Failure(f'minivmm {shlex.join(extra)}: exit {r.returncode}, '
                          f'stderr {r.stderr!r}, want {want!r} before any KVM access')
    print(f'{PROG}: {len(cases)} --disk mistakes reported before /dev/kvm', file=sys.stderr)


def outside(args):
    for tool in ('qemu-img', 'qemu-io'):
        if subprocess.run(['sh', '-c', f'command -v {tool}'], capture_output=True).returncode:
            return dk.skip_or_fail(PROG, f'{tool} not found (Debian package qemu-utils)')
    try:
        kver, kernel, initrd = l2guest.prepare()
    except dk.Skip as e:
        return dk.skip_or_fail(PROG, str(e))
    if vmm_missing(PROG, args.vmm):
        print(vmm_missing(PROG, args.vmm), file=sys.stderr)
        return 1
    try:
        validate_first(args.vmm, kernel)
    except (Failure, subprocess.TimeoutExpired) as e:
        print(f'{PROG}: FAIL: {e}', file=sys.stderr)
        return 1
    mp = ['--mp-kernel', '', '--mp-initrd', '']
    if 'acpi-off' in args.cases:
        try:
            _, mp[1], mp[3] = l2guest.prepare(l2guest.L2_MPPARSE_META)
        except dk.Skip as e:
            return dk.skip_or_fail(PROG, str(e))
    cmd = [l2guest.RUN_KVM, '--timeout', str(args.timeout), '--',
           sys.executable, os.path.realpath(__file__), '--inside', '--vmm', args.vmm,
           '--kernel', kernel, '--initrd', initrd, '--boot-timeout', str(args.boot_timeout),
           '--cases', ','.join(args.cases)] + mp
    return subprocess.call(cmd)


CASES = ('msix', 'intx', 'acpi-off', 'qcow2')


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
    ap.add_argument('--mp-kernel', help=argparse.SUPPRESS)
    ap.add_argument('--mp-initrd', help=argparse.SUPPRESS)
    args = ap.parse_args()
    return inside(args) if args.inside else outside(args)


if __name__ == '__main__':
    sys.exit(main())
