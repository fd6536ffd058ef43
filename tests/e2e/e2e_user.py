#!/usr/bin/env python3
"""e2e_user: Debian's virtio_net driver on minivmm's `--net user` (libslirp),
minivmm run as an unprivileged user (nobody) inside L1.

    e2e_user.py [--vmm PATH] [--timeout SEC]

In one L1 run (tests/vmtest/run-kvm):
  errors: a hostfwd host port already in use, as nobody: a one-line error
    naming the forward, before /dev/kvm is touched.
  vm (--net user,hostfwd=tcp::8022-:80, as uid 65534, no capabilities):
    busybox udhcpc gets 10.0.2.15 with router 10.0.2.2 and DNS 10.0.2.3;
    the guest resolves web.e2e.test through slirp's DNS forwarder 10.0.2.3
    (to a dnsmasq on L1's loopback, minivmm's /etc/resolv.conf pointing at
    it in a mount namespace) and fetches a 4 MiB file from an HTTP server
    on L1's loopback at the address it resolved, 10.0.2.2 (the gateway),
    checksum matching; the host fetches the same file
    from a busybox httpd in the guest through 127.0.0.1:8022, checksum
    matching; the guest fetches http://169.254.169.254/latest/meta-data/
    instance-id and hostname and gets the VM's (--uuid, the default
    hostname minivmm-<first 8 hex digits>), answered inside minivmm, while
    169.254.169.254:22 and 169.254.1.1 get nothing (dropped before libslirp);
    poweroff: exit status 0.
"""
import argparse
import hashlib
import os
import shutil
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import l2guest  # noqa: E402
from e2e import (Console, Failure, run_inside_l1, command, guest_fetch, stage,  # noqa: E402
                 udhcpc_lease)

PROG = 'e2e_user'
BLOB_MIB = 4
NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
          '--inh-caps=-all', '--']
FWD_PORT = 8022
WEB_NAME = 'web.e2e.test'
VM_UUID = '0d5e7a1c-3b2f-4e6d-9a8b-c7d6e5f4a3b2'
MDATA = 'http://169.254.169.254'
# minivmm (and so slirp's DNS forwarder) sees a resolv.conf naming the
# test's dnsmasq; the rest of L1 keeps its own.
WITH_RESOLV = ['unshare', '--mount', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"']


def readable_copy(path, tmp):
    """The cache is under root's home: nobody gets its own copy."""
    dst = os.path.join(tmp, os.path.basename(path))
    shutil.copyfile(path, dst)
    os.chmod(dst, 0o644)
    return dst


def port_in_use(args, kernel, t):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        spec = f'user,hostfwd=tcp::{port}-:80'
        r = subprocess.run(NOBODY + [args.vmm, '--kernel', kernel, '--kvm-device',
                                     '/nonexistent/kvm', '--net', spec],
                           capture_output=True, text=True, timeout=30)
        want = (f"--net '{spec}': hostfwd tcp 127.0.0.1:{port} -> 10.0.2.15:80: cannot listen "
                "on the host port: Address already in use")
        if r.returncode == 0 or want not in r.stderr or '/nonexistent/kvm' in r.stderr \
                or len(r.stderr.strip().splitlines()) != 1:
            raise Failure(f'port in use: exit {r.returncode}, stderr {r.stderr!r}, want one '
                          f'line {want!r} before any KVM access')
    finally:
        s.close()
    return stage('a hostfwd port in use: one line, before /dev/kvm', t)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def guest_run(args, kernel, initrd, blob, resolv, t):
    cmd = WITH_RESOLV + [resolv] + NOBODY + l2guest.vmm_command(args.vmm, kernel, initrd,
                                       nics=[('--net', f'user,hostfwd=tcp::{FWD_PORT}-:80')])
    cmd += ['--uuid', VM_UUID]
    print(f'{PROG}: running {shlex.join(cmd)}', file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    con = Console(proc)
    try:
        con.expect(l2guest.READY_MARKER.encode(), args.boot_timeout, 'boot to userspace')
        con.expect(l2guest.PROMPT.encode(), 60, 'shell prompt')
        for _ in range(50):
            if 'eth0' in ' '.join(command(con, 'ls /sys/class/net', 30)):
                break
            time.sleep(0.2)
        else:
            raise Failure('no eth0 in the guest')
        uid = subprocess.run(['ps', '-o', 'uid=', '-p', str(proc.pid)], capture_output=True,
                             text=True).stdout.strip()
        t = stage(f'booted with eth0, minivmm running as uid {uid}', t)
        lease = udhcpc_lease(con, 'eth0')
        want = {'ip': '10.0.2.15', 'mask': '24', 'router': '10.0.2.2', 'dns': '10.0.2.3'}
        if lease != want:
            raise Failure(f'lease {lease}, want {want}')
        t = stage('DHCP: 10.0.2.15/24, router 10.0.2.2, DNS 10.0.2.3', t)
        t = metadata(con, t)
        out = command(con, f'nslookup {WEB_NAME} 10.0.2.3', 60)
        # "Address:\t10.0.2.3:53" is the server; the answers follow "Name:"
        addrs = [ln.split()[-1] for ln in out if ln.startswith('Address:')
                 and not ln.endswith(':53')]
        if addrs != ['10.0.2.2']:
            raise Failure(f'nslookup {WEB_NAME} through 10.0.2.3: {out}, want 10.0.2.2')
        t = stage(f'{WEB_NAME} resolved through 10.0.2.3 to 10.0.2.2', t)
        guest_fetch(con, f'http://{addrs[0]}:8080/blob', sha256(blob))
        t = stage(f'{BLOB_MIB} MiB from L1\'s loopback through 10.0.2.2, checksum matches', t)
        command(con, 'mkdir -p /tmp/www && cp /tmp/fetched /tmp/www/page && '
                'httpd -p 80 -h /tmp/www; echo started', 30)
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with direct.open(f'http://127.0.0.1:{FWD_PORT}/page', timeout=120) as r:
            got = r.read()
        if sha256(got) != sha256(blob):
            raise Failure(f'host fetch through 127.0.0.1:{FWD_PORT}: {len(got)} bytes, '
                          'checksum differs')
        t = stage(f'the host fetched {BLOB_MIB} MiB from the guest\'s httpd through '
                  f'127.0.0.1:{FWD_PORT}, checksum matches', t)
        con.send('poweroff -f\n')
        rc = proc.wait(timeout=60)
        if rc != 0:
            raise Failure(f'exit status {rc} after poweroff, want 0')
        return stage('poweroff: exit status 0', t)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def metadata(con, t):
    """169.254.169.254:80 answered by minivmm from this VM's data; the rest
    of 169.254.0.0/16 unreachable (never a host connection)."""
    want = {'instance-id': 'i-' + VM_UUID, 'hostname': 'minivmm-' + VM_UUID[:8],
            'local-ipv4': '10.0.2.15'}
    for item, value in want.items():
        # (busybox 1.35's wget -T crashes: timeout(1) bounds it instead)
        out = command(con, f'timeout 10 wget -q -O - {MDATA}/latest/meta-data/{item}; '
                      'echo " rc=$?"', 60)
        if f'{value} rc=0' not in out:
            raise Failure(f'GET {MDATA}/latest/meta-data/{item}: {out}, want {value!r}')
    t = stage(f'metadata: instance-id {VM_UUID}, hostname {want["hostname"]}, '
              'local-ipv4 10.0.2.15 from 169.254.169.254', t)
    for url in ('http://169.254.169.254:22/', 'http://169.254.1.1/latest/meta-data/'):
        out = command(con, f'timeout 3 wget -q -O - {url} >/dev/null 2>&1; echo rc=$?', 60)
        if 'rc=0' in out:
            raise Failure(f'GET {url} succeeded: {out}, want it unreachable')
    return stage('169.254.169.254:22 and 169.254.1.1: unreachable', t)


def inside(args):
    t_start = t = time.monotonic()
    tmp = tempfile.mkdtemp(prefix='e2e-user-')
    os.chmod(tmp, 0o755)
    www = os.path.join(tmp, 'www')
    os.mkdir(www)
    blob = os.urandom(BLOB_MIB << 20)
    with open(os.path.join(www, 'blob'), 'wb') as f:
        f.write(blob)
    subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=False)
    httpd = subprocess.Popen(['busybox', 'httpd', '-f', '-p', '127.0.0.1:8080', '-h', www])
    resolv = os.path.join(tmp, 'resolv.conf')
    with open(resolv, 'w') as f:
        f.write('nameserver 127.0.0.1\n')
    os.chmod(resolv, 0o644)
    dns = subprocess.Popen(['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts',
                            '--listen-address=127.0.0.1', '--bind-interfaces', '--port=53',
                            f'--pid-file={tmp}/dnsmasq.pid', f'--address=/{WEB_NAME}/10.0.2.2'])
    try:
        # the L1 machine is the test's: let nobody use KVM
        os.chmod('/dev/kvm', 0o666)
        kernel = readable_copy(args.kernel, tmp)
        initrd = readable_copy(args.initrd, tmp)
        t = port_in_use(args, kernel, t)
        t = guest_run(args, kernel, initrd, blob, resolv, t)
    except (Failure, subprocess.TimeoutExpired, OSError) as e:
        print(f'\n{PROG}: FAIL: {e}', file=sys.stderr)
        return 1
    finally:
        for p in (httpd, dns):
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f'{PROG}: PASS: total {time.monotonic() - t_start:.2f} s', file=sys.stderr)
    return 0


def outside(args):
    return run_inside_l1(PROG, __file__, args)


def main():
    ap = argparse.ArgumentParser(prog=PROG)
    ap.add_argument('--vmm', default='minivmm', help="minivmm's path")
    ap.add_argument('--timeout', type=int, default=900, help='limit for the whole L1 run')
    ap.add_argument('--boot-timeout', type=int, default=180)
    ap.add_argument('--inside', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--kernel', help=argparse.SUPPRESS)
    ap.add_argument('--initrd', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside and os.geteuid() != 0:
        print(f'{PROG}: FAIL: needs root inside L1 (to open /dev/kvm to nobody)', file=sys.stderr)
        return 1
    return inside(args) if args.inside else outside(args)


if __name__ == '__main__':
    sys.exit(main())
