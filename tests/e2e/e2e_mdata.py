#!/usr/bin/env python3
"""e2e_mdata: the CirrOS-like image finds itself in minivmm's metadata service.

    e2e_mdata.py [--vmm PATH] [--timeout SEC]

On the host: the CirrOS-like image (tests/images/build-cirros-like, cached).
In one L1 run, as root, on the lab's network started by `minivmm net` (the
namespaces of e2e_net):
  minivmm --disk vmhost.img --bridge vbr --uuid U --hostname web1 \\
          --ssh-key id.pub --user-data ud.sh
boots with its ec2 data-source step on (menu.lst's command line: no
dslist=none). Checked: the step succeeds at its first try and takes under
2 s (from `checking http://169.254.169.254/...` to `successful after 1/20`,
timed on the console as it arrives); the guest's instance-id is i-U, its
host name web1 (status lines, the login prompt, `hostname`); the #!
user-data ran and printed its marker on the console; the key is in cirros's
authorized_keys; /sys/class/dmi/id/product_uuid (the image has no
dmidecode) is U; the record is in run/mdata/vbr/MAC while the VM runs and
gone after `sudo poweroff`, and `net stop` removes run/mdata/vbr.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from e2e import Failure, stage  # noqa: E402
import e2e_lab  # noqa: E402
import e2e_net  # noqa: E402

PROG = 'e2e_mdata'
UUID = '5f0c2e9a-1b2d-4c3e-8f40-0123456789ab'
HOSTNAME = 'web1'
KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2eMinivmmMetadataTestKeyOnly e2e@minivmm'
MARKER = 'minivmm-user-data-marker'
USER_DATA = f'#!/bin/sh\necho "{MARKER} host=$(hostname)"\n'
STEP_LIMIT = 2.0


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def ds_step(vm, boot_timeout):
    """Waits through the ec2 step; returns (seconds on the console, the
    success line)."""
    vm.expect('checking http://169.254.169.254/2009-04-04/instance-id', boot_timeout,
              'the ec2 data source')
    t = time.monotonic()
    before = vm.expect('successful after ', 60, 'the ec2 step succeeding')
    dt = time.monotonic() - t
    line = 'successful after ' + vm.expect('\n', 10, 'the ec2 success line').strip()
    if 'failed' in before:
        raise Failure(f'the ec2 step had failed tries before success: {before.strip()!r}')
    return dt, line


def record_dir(net):
    return os.path.join(net.state, 'run', 'mdata', 'vbr')


def check_record(net):
    """The VM's record while it runs: one MAC directory, instance-id U."""
    d = record_dir(net)
    macs = os.listdir(d) if os.path.isdir(d) else []
    if len(macs) != 1:
        raise Failure(f'{d}: want one record while the VM runs, found {macs}')
    with open(os.path.join(d, macs[0], 'instance-id')) as f:
        iid = f.read().strip()
    if iid != UUID:
        raise Failure(f'{d}/{macs[0]}/instance-id is {iid!r}, want {UUID}')
    return macs[0]


def guest_checks(vm):
    out = vm.shell('hostname')
    if HOSTNAME not in out.split():
        raise Failure(f'`hostname` printed {out!r}, want {HOSTNAME}')
    out = vm.shell('cat /home/cirros/.ssh/authorized_keys')
    if KEY not in out:
        raise Failure(f'authorized_keys: {out!r}, want the --ssh-key line')
    out = vm.shell('sudo cat /sys/class/dmi/id/product_uuid')
    if UUID not in out.lower():
        raise Failure(f'/sys/class/dmi/id/product_uuid: {out!r}, want {UUID}')
    out = vm.shell('cat /run/cirros/data/instance-id')
    if f'i-{UUID}' not in out:
        raise Failure(f'the guest\'s instance-id: {out!r}, want i-{UUID}')


def boot(args, net, work):
    cmd = ['ip', 'netns', 'exec', e2e_net.H, args.vmm, '--disk', 'vmhost.img', '--bridge', 'vbr',
           '--uuid', UUID, '--hostname', HOSTNAME, '--ssh-key', 'id.pub', '--user-data', 'ud.sh']
    vm = e2e_lab.PtyVm(cmd, net.env, work)
    try:
        t = time.monotonic()
        dt, line = ds_step(vm, args.boot_timeout)
        t = stage(f'ec2 data-source step: {dt:.2f} s on the console ({line})', t)
        if not line.startswith('successful after 1/20 tries') or \
                not line.endswith(f'iid=i-{UUID}'):
            raise Failure(f'ec2 step: {line!r}, want the first try and iid=i-{UUID}')
        if dt >= STEP_LIMIT:
            raise Failure(f'ec2 step took {dt:.2f} s, want under {STEP_LIMIT} s')
        vm.expect(f'{MARKER} host={HOSTNAME}', 60, 'the user-data marker')
        vm.expect(f'instance-id: i-{UUID}', 60, 'the status\'s instance-id')
        vm.expect(f'local-hostname: {HOSTNAME}', 10, 'the status\'s local-hostname')
        vm.expect(f'{HOSTNAME} login:', 60, 'the login prompt with the host name')
        t = stage('user-data marker, status and `web1 login:`', t)
        vm.login()
        return vm
    except Exception:
        vm.close()
        raise


def mdata_sequence(args, net, work, t):
    write(os.path.join(work, 'id.pub'), KEY + '\n')
    write(os.path.join(work, 'ud.sh'), USER_DATA)
    vm = boot(args, net, work)
    try:
        mac = check_record(net)
        guest_checks(vm)
        t = stage(f'host name, key, product_uuid, instance-id in the guest; record {mac}', t)
        vm.send('sudo poweroff\n')
        rc = vm.wait(120)
        if rc != 0:
            raise Failure(f'minivmm exit status {rc} after sudo poweroff, want 0')
    finally:
        vm.close()
    left = os.listdir(record_dir(net)) if os.path.isdir(record_dir(net)) else []
    if left:
        raise Failure(f'records left after poweroff: {left}')
    net.mv('stop', 'vbr')
    if os.path.exists(record_dir(net)):
        raise Failure(f'{record_dir(net)} still there after net stop')
    stage('poweroff: record removed; net stop: run/mdata/vbr removed', t)


def inside(args):
    return e2e_lab.run_on_lab(PROG, args, lambda net, work, t: mdata_sequence(args, net, work, t))


if __name__ == '__main__':
    sys.exit(e2e_lab.cirros_main(PROG, __file__, inside, timeout=900))
