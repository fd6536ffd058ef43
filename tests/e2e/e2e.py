#!/usr/bin/env python3
"""e2e: boot Debian's cloud kernel + a busybox initramfs under a VMM with
`--cpus 2 --memory 512M`, drive its console shell, and check the results.

    e2e.py [--vmm PATH|qemu|qemu-microvm] [--timeout SEC]

On the host it fetches the kernel and builds the initramfs (cached, see
tests/vmtest/debkernel.py), then re-runs itself with --inside through
tests/vmtest/run-kvm (directly where KVM is usable, else in the L1 VM).
The VMM is --vmm, overridden by $MINIVMM_E2E_VMM; 'qemu' means
`qemu-system-x86_64 -accel kvm` with its serial port on stdio, so the
driver itself can be proven without minivmm.
"""
import argparse
import os
import re
import select
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import l2guest  # noqa: E402
from l2guest import dk  # noqa: E402

PROG = 'e2e'
ANSI = re.compile(rb'\x1b\[[0-9;?]*[A-Za-z]')


class Failure(Exception):
    pass


class Console:
    """The guest console on the VMM's stdin/stdout pipes."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b''       # everything not consumed by expect() yet
        self.transcript = b''
        self.eof = False

    def _read(self, timeout):
        if self.eof:
            return False
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return True
        data = os.read(self.proc.stdout.fileno(), 65536)
        if not data:
            self.eof = True
            return False
        sys.stdout.buffer.write(data)     # the console, live, for the test log
        sys.stdout.buffer.flush()
        self.buf += data
        self.transcript += data
        return True

    def expect(self, what, timeout, stage):
        """Waits for the bytes `what`; returns what came before it."""
        end = time.monotonic() + timeout
        while what not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise Failure(f'{stage}: no {what!r} within {timeout} s')
            if not self._read(left):
                try:
                    rc = self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    rc = 'none yet'
                raise Failure(f'{stage}: the console closed before {what!r} '
                              f'(VMM exit status {rc})')
        before, self.buf = self.buf.split(what, 1)
        return before

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()


def command(con, cmd, timeout):
    """Types `cmd` at the prompt; returns its output lines (echo removed)."""
    con.send(cmd + '\n')
    out = con.expect(l2guest.PROMPT.encode(), timeout, f'`{cmd}`')
    lines = [ln.strip() for ln in ANSI.sub(b'', out).decode(errors='replace')
             .replace('\r', '').split('\n')]
    # The tty echoes the typed line first.
    while lines and (not lines[0] or lines[0].endswith(cmd)):
        lines.pop(0)
    return [ln for ln in lines if ln]


def udhcpc_lease(con, iface):
    """busybox udhcpc on IFACE with l2guest's script (it sets the address,
    the default route and resolv.conf); returns the lease's fields (ip,
    mask, router, dns) as a dict."""
    out = command(con, f'udhcpc -i {iface} -n -q -f -T 2 -t 10 -s /etc/udhcpc.script', 90)
    lease = [ln for ln in out if ln.startswith('udhcpc-lease:')]
    if not lease:
        raise Failure(f'udhcpc on {iface} got no lease: {out}')
    return dict(kv.split('=', 1) for kv in lease[-1].split()[1:])


def guest_fetch(con, url, want_sha256, timeout=300):
    """The guest's wget of URL into /tmp/fetched; fails unless its SHA-256
    is want_sha256."""
    out = command(con, f'wget -q -O /tmp/fetched {url}; echo rc=$?; sha256sum /tmp/fetched',
                  timeout)
    if 'rc=0' not in out or not any(ln.startswith(want_sha256) for ln in out):
        raise Failure(f'guest fetch of {url}: {out}, want sha256 {want_sha256}')


def irq8_count(con):
    """IRQ 8's count summed over the CPUs, from /proc/interrupts."""
    got = command(con, 'grep rtc0 /proc/interrupts', 30)
    fields = got[0].split() if len(got) == 1 else []
    if not fields or fields[0] != '8:':
        raise Failure(f'/proc/interrupts has no IRQ 8 for rtc0: {got}')
    return sum(int(f) for f in fields[1:] if f.isdigit())


def platform_checks(con):
    """The small devices Linux relies on: the ACPI PM timer passed Linux's
    rate check (acpi_pm registered), the RTC's alarm interrupt reaches the
    guest (a wakealarm fires IRQ 8 and is consumed), hwclock returns.
    Commands stay short: the console wraps lines at 80 columns."""
    got = command(con, 'cat /sys/devices/system/clocksource/clocksource0/available_clocksource', 30)
    if not got or 'acpi_pm' not in got[0].split():
        raise Failure(f'available clocksources {got}: no acpi_pm (PM timer missing or at a wrong rate)')
    before = irq8_count(con)
    command(con, 'cd /sys/class/rtc/rtc0', 10)
    got = command(con, 'echo +1 >wakealarm; sleep 3; echo "a=$(cat wakealarm)"', 30)
    command(con, 'cd /', 10)
    after = irq8_count(con)
    if got != ['a='] or after <= before:
        raise Failure(f'RTC alarm in 1 s: wakealarm after 3 s {got} (want it consumed, [\'a=\']), '
                      f'IRQ 8 count {before} -> {after} (want it to grow)')
    got = command(con, 'hwclock -r >/dev/null && echo hwclock-ok', 30)
    if got != ['hwclock-ok']:
        raise Failure(f'`hwclock -r` printed {got}')


def stage(name, t0):
    dt = time.monotonic() - t0
    print(f'\n{PROG}: {name}: {dt:.2f} s', file=sys.stderr, flush=True)
    return time.monotonic()


def inside(args):
    cmd = l2guest.vmm_command(args.vmm, args.kernel, args.initrd)
    print(f'{PROG}: running {shlex.join(cmd)}', file=sys.stderr, flush=True)
    t_start = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    except OSError as e:
        print(f'{PROG}: FAIL: cannot start {cmd[0]}: {e.strerror}', file=sys.stderr)
        return 1
    con = Console(proc)
    try:
        t = t_start
        con.expect(l2guest.READY_MARKER.encode(), args.boot_timeout, 'boot to userspace')
        uptime = con.expect(b'\n', 10, 'boot to userspace').decode(errors='replace').strip()
        t = stage(f'exec to first userspace line (guest kernel uptime {uptime} s)', t)
        con.expect(l2guest.PROMPT.encode(), 30, 'shell prompt')
        t = stage('to the shell prompt', t)
        got = command(con, 'uname -r', 30)
        if got != [args.kver]:
            raise Failure(f'`uname -r` printed {got}, want [{args.kver!r}]')
        t = stage('`uname -r` (ok)', t)
        got = command(con, 'grep -c ^processor /proc/cpuinfo', 30)
        if got != ['2']:
            raise Failure(f'`grep -c ^processor /proc/cpuinfo` printed {got}, want [\'2\']')
        t = stage('processor count (ok: 2)', t)
        platform_checks(con)
        t = stage('PM timer, RTC alarm interrupt, hwclock (ok)', t)
        con.send('poweroff -f\n')
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise Failure('poweroff -f: the VMM did not exit within 60 s')
        t = stage('poweroff -f to VMM exit', t)
        if rc != 0:
            raise Failure(f'the VMM exited with status {rc} after poweroff -f, want 0')
    except Failure as e:
        print(f'\n{PROG}: FAIL: {e}', file=sys.stderr)
        return 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(f'{PROG}: PASS ({args.vmm}): total {time.monotonic() - t_start:.2f} s',
          file=sys.stderr)
    return 0


def cases_type(known):
    """An argparse type for --cases: a comma-separated subset of KNOWN."""
    def parse(text):
        cases = text.split(',')
        bad = [c for c in cases if c not in known]
        if bad or not cases:
            raise argparse.ArgumentTypeError(f'unknown case(s) {bad}; known: {",".join(known)}')
        return cases
    return parse


def vmm_missing(prog, vmm):
    """An error line if VMM (a path, or qemu / qemu-microvm) cannot run."""
    if vmm not in ('qemu', 'qemu-microvm') and not os.access(vmm, os.X_OK):
        return f'{prog}: FAIL: VMM {vmm} is not an executable (build it first)'
    return None


def run_inside_l1(prog, script, args, extra=()):
    """Host side of an e2e driver: fetch/build the L2 guest, check the VMM,
    then run SCRIPT --inside in the L1 harness with the guest's paths and
    EXTRA arguments. Returns the exit status (77/1 when a prerequisite is
    missing, as dk.skip_or_fail says)."""
    try:
        _, kernel, initrd = l2guest.prepare()
    except dk.Skip as e:
        return dk.skip_or_fail(prog, str(e))
    if vmm_missing(prog, args.vmm):
        print(vmm_missing(prog, args.vmm), file=sys.stderr)
        return 1
    cmd = [l2guest.RUN_KVM, '--timeout', str(args.timeout), '--',
           sys.executable, os.path.realpath(script), '--inside', '--vmm', args.vmm,
           '--kernel', kernel, '--initrd', initrd, '--boot-timeout', str(args.boot_timeout)]
    return subprocess.call(cmd + list(extra))


def outside(args):
    try:
        kver, kernel, initrd = l2guest.prepare()
    except dk.Skip as e:
        return dk.skip_or_fail(PROG, str(e))
    if args.prepare_only:
        print(f'kernel={kernel}\ninitrd={initrd}\nversion={kver}\ncmdline={l2guest.CMDLINE}')
        return 0
    if vmm_missing(PROG, args.vmm):
        print(vmm_missing(PROG, args.vmm), file=sys.stderr)
        return 1
    cmd = [l2guest.RUN_KVM, '--timeout', str(args.timeout), '--',
           sys.executable, os.path.realpath(__file__), '--inside', '--vmm', args.vmm,
           '--kver', kver, '--kernel', kernel, '--initrd', initrd,
           '--boot-timeout', str(args.boot_timeout)]
    return subprocess.call(cmd)


def main():
    ap = argparse.ArgumentParser(prog=PROG)
    ap.add_argument('--vmm', default='minivmm',
                    help="minivmm's path, or 'qemu' / 'qemu-microvm' ($MINIVMM_E2E_VMM wins)")
    ap.add_argument('--timeout', type=int, default=600, help='limit for the whole L1 run')
    ap.add_argument('--boot-timeout', type=int, default=180,
                    help='limit from exec to the first userspace line')
    ap.add_argument('--prepare-only', action='store_true',
                    help='fetch/build the guest kernel and initramfs, print their paths, stop')
    ap.add_argument('--inside', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--kver', help=argparse.SUPPRESS)
    ap.add_argument('--kernel', help=argparse.SUPPRESS)
    ap.add_argument('--initrd', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if os.environ.get('MINIVMM_E2E_VMM'):
        args.vmm = os.environ['MINIVMM_E2E_VMM']
    return inside(args) if args.inside else outside(args)


if __name__ == '__main__':
    sys.exit(main())
