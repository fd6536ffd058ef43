#!/usr/bin/env python3
"""vmtest-harness: checks run-kvm's own contract, in three runs.

1. The command's exit status, stdout and stderr (kept apart), its cwd, the
   --scratch share, the environment passed in (MINIVMM_*, -e, TMPDIR=/tmp),
   the read-only host tree and the writable /tmp all come out as documented.
2. A command outliving --timeout ends run-kvm with 124 and a clear message.
3. /var/tmp (a common place for build trees) is the host's, overlaid: a cwd
   and TMPDIR there work, files there are seen, writes stay in L1. And a cwd
   under /run (not the host's in L1) is refused up front, naming /run.
All use --force-l1: they test the L1 path even on a host with KVM.

    selftest.py RUN_KVM
"""
import os
import re
import subprocess
import sys
import tempfile
import time

FAILS = []


def check(cond, what):
    print(f'{"ok  " if cond else "FAIL"} {what}')
    if not cond:
        FAILS.append(what)


def main():
    run_kvm = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix='vmtest-self.') as d:
        # The host's /tmp is visible in L1 (overlaid), so cwd and this file are.
        marker = os.path.join(d, 'host-file')
        with open(marker, 'w') as f:
            f.write('from-the-host\n')
        script = ('echo "cwd=$(pwd)"; cat host-file; echo "mv=$MINIVMM_SELFTEST tmp=$TMPDIR '
                  'extra=$SELFTEST_EXTRA"; '
                  'if touch /usr/.vmtest-ro 2>/dev/null; then echo ro=no; else echo ro=yes; fi; '
                  'echo w > inside-write && cat inside-write; '
                  'echo result > "$MINIVMM_SCRATCH/result"; '
                  'echo to-stderr >&2; exit 7')
        env = dict(os.environ, MINIVMM_SELFTEST='passed', SELFTEST_EXTRA='extra-ok',
                   TMPDIR='/nonexistent-tmpdir')  # not under /tmp: becomes /tmp in L1
        scratch = os.path.join(d, 'scratch')
        os.mkdir(scratch)
        r = subprocess.run([run_kvm, '--force-l1', '--timeout', '200', '--scratch', scratch,
                            '-e', 'SELFTEST_EXTRA', '--',
                            'sh', '-c', script], cwd=d, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        print('--- run 1 stdout:\n' + r.stdout + '--- run 1 stderr:\n' + r.stderr)
        if r.returncode == 77:
            return 77
        out = r.stdout.splitlines()
        check(r.returncode == 7, f'exit status 7 comes back (got {r.returncode})')
        check(f'cwd={d}' in out, 'same cwd inside')
        check('from-the-host' in out, "host's file visible at the same path")
        check('mv=passed tmp=/tmp extra=extra-ok' in out, 'MINIVMM_*, -e NAME and TMPDIR passed')
        check('ro=yes' in out, "host's / is read-only")
        check('w' in out, '/tmp (overlaid on the host one) is writable')
        check('to-stderr' in r.stderr and 'to-stderr' not in r.stdout, 'stderr kept apart')
        check(not os.path.exists(os.path.join(d, 'inside-write')), 'writes to /tmp stay in L1')
        check(os.listdir(scratch) == ['result'], f'--scratch keeps results, only them ({os.listdir(scratch)})')

    t0 = time.monotonic()
    r = subprocess.run([run_kvm, '--force-l1', '--timeout', '30', '--', 'sh', '-c', 'echo started; sleep 600'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    took = time.monotonic() - t0
    waited = re.search(r'got an L1 slot after ([0-9.]+) s', r.stderr)
    if waited:  # time spent queueing behind other L1 VMs does not count
        took -= float(waited.group(1))
    print('--- run 2 stdout:\n' + r.stdout + '--- run 2 stderr:\n' + r.stderr)
    check(r.returncode == 124, f'time limit gives exit status 124 (got {r.returncode})')
    check('time limit of 30' in r.stderr, 'the time limit is reported')
    check(took < 60, f'run-kvm ended soon after the limit ({took:.1f} s)')

    # Not under /tmp, whose overlay run 1 covers: the /var/tmp one is its own.
    with tempfile.TemporaryDirectory(prefix='vmtest-self.', dir='/var/tmp') as d:
        with open(os.path.join(d, 'file'), 'w') as f:
            f.write('var-tmp-host\n')
        name = os.path.basename(d)
        script = (f'echo "cwd=$(pwd) tmp=$TMPDIR"; '
                  f'cd /var/tmp/{name} && cat file && echo x > new && cat new')
        r = subprocess.run([run_kvm, '--force-l1', '--timeout', '200', '--', 'sh', '-c', script],
                           cwd=d, env=dict(os.environ, TMPDIR=d),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        print('--- run 3 stdout:\n' + r.stdout + '--- run 3 stderr:\n' + r.stderr)
        out = r.stdout.splitlines()
        check(r.returncode == 0, f'cwd under /var/tmp works (exit {r.returncode})')
        check(f'cwd={d} tmp={d}' in out, 'same cwd under /var/tmp inside, TMPDIR there kept')
        check('var-tmp-host' in out, "host's file under /var/tmp visible")
        check('x' in out, '/var/tmp (overlaid on the host one) is writable')
        check(not os.path.exists(os.path.join(d, 'new')), 'writes to /var/tmp stay in L1')
        check('warning' not in r.stderr, 'no warning about /var/tmp or /tmp')

    # Refused before booting L1, so this costs no VM run.
    r = subprocess.run([run_kvm, '--force-l1', '--', 'true'], cwd='/run',
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    print('--- cwd /run stderr:\n' + r.stderr)
    check(r.returncode == 125 and 'cwd /run is not visible in L1: /run' in r.stderr,
          f'a cwd under /run is refused, naming /run (exit {r.returncode})')
    if FAILS:
        print(f'{len(FAILS)} check(s) failed')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
