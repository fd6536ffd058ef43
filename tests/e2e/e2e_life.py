#!/usr/bin/env python3
"""e2e_life: the lab's VM life cycle with minivmm's virsh verbs.

    e2e_life.py [--vmm PATH] [--timeout SEC]

On the host: the CirrOS-like image (tests/images/build-cirros-like, cached).
In one L1 run (tests/vmtest/run-kvm), as root, on the lab's network vbr
(the namespaces e2e_net makes):
  minivmm img create -F qcow2 -f qcow2 -b cirros-like.qcow2 vmhost.img 20G
  minivmm define vmhost.xml     node_base.xml with the lab's edits (name
                                vmhost, 1024000 KB, 2 vCPUs, vmhost.img, vbr)
  minivmm list --all            ` -    vmhost   shut off`
  minivmm start vmhost          `Domain 'vmhost' started`
  minivmm console vmhost        virsh's two lines, CirrOS's banner and
                                `vmhost login:` (its name, from the metadata service);
                                Ctrl+] detaches, the VM runs on
  minivmm dominfo / domblklist / domiflist   running, 2 CPUs, vda, vnet0 bridge
                                vbr virtio 52:54:00:...
  console again: log in, the lease is in the lease file
  minivmm suspend / resume      paused, then running
  minivmm shutdown vmhost       the power button: CirrOS's acpid powers off
  minivmm list --all            shut off; undefine; the overlay passes qemu-img check.
"""
import os
import re
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from e2e import Failure, stage  # noqa: E402
import e2e_net  # noqa: E402
from e2e_lab import PtyVm, cirros_main, eth0_lease, run_on_lab  # noqa: E402

PROG = 'e2e_life'

# node_base.xml as the lab hands it out, with the lab's edits (lines 2-5, 25, 29).
NODE_BASE = """<domain type='kvm'>
  <name>vmhost</name>
  <memory unit='KB'>1024000</memory>
  <currentMemory unit='KB'>1024000</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
    <bootmenu enable='yes'/>
    <bios useserial='yes'/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='host-passthrough'>
  </cpu>
  <clock offset='localtime'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <devices>
    <emulator>/usr/libexec/qemu-kvm</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='bridge'>
      <source bridge='vbr'/>
      <model type='virtio'/>
    </interface>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <serial type='pty'></serial>
    <console type='pty'>
      <target type='serial'/>
    </console>
    <graphics type='vnc' port='-1'/>
    <video><model type='cirrus'/></video>
    <input type='tablet' bus='usb'/>
    <memballoon model='virtio'></memballoon>
  </devices>
</domain>
"""


class Life:
    def __init__(self, vmm, net, work):
        self.vmm, self.net, self.work = vmm, net, work

    def cmd(self, *args):
        # In the "host" namespace: the VM process a `start` forks joins vbr there.
        return ['ip', 'netns', 'exec', e2e_net.H, self.vmm, *args]

    def run(self, *args, want=0):
        r = subprocess.run(self.cmd(*args), capture_output=True, text=True,
                           env=self.net.env, cwd=self.work, timeout=120)
        print(f'{PROG}: $ minivmm {" ".join(args)}\n{r.stdout}{r.stderr}', file=sys.stderr,
              flush=True)
        if want is not None and r.returncode != want:
            raise Failure(f'minivmm {" ".join(args)}: exit {r.returncode}, want {want}: '
                          f'{r.stdout}{r.stderr}')
        return r.stdout

    def state(self):
        out = self.run('list', '--all')
        m = re.search(r'^\s*(\S+)\s+vmhost\s+(\S.*?)\s*$', out, re.M)
        return (m.group(1), m.group(2)) if m else (None, None)

    def wait_state(self, want, timeout):
        end = time.monotonic() + timeout
        while True:
            got = self.state()
            if got[1] == want:
                return got
            if time.monotonic() > end:
                raise Failure(f'list --all: vmhost is {got[1]!r}, want {want!r} '
                              f'after {timeout} s')
            time.sleep(1)

    def console(self):
        return PtyVm(self.cmd('console', 'vmhost'), self.net.env, self.work)


def expect_line(out, regex, what):
    if not re.search(regex, out, re.M):
        raise Failure(f'{what}: no line matching {regex!r} in:\n{out}')


def drain(con, seconds):
    """Reads the replayed ring (what the guest printed while nobody was
    attached) and forgets it: later expects see only new output."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        r, _, _ = select.select([con.fd], [], [], left)
        if r and os.read(con.fd, 65536) == b'':
            break
    con.buf = b''


def detach(con, life):
    con.send('\x1d')
    rc = con.wait(30)
    if rc != 0:
        raise Failure(f'console: exit status {rc} after Ctrl+], want 0')
    if life.state()[1] != 'running':
        raise Failure('the VM did not keep running after Ctrl+]')


def lifecycle(args, net, work, t):
    life = Life(args.vmm, net, work)
    disk = os.path.join(work, 'vmhost.img')
    xml = os.path.join(work, 'vmhost.xml')
    with open(xml, 'w') as f:
        f.write(NODE_BASE.replace('{disk}', disk))
    out = life.run('define', xml)
    if f"Domain 'vmhost' defined from {xml}" not in out:
        raise Failure(f'define: {out!r}')
    if life.state() != ('-', 'shut off'):
        raise Failure(f'list --all after define: {life.state()}')
    t = stage('define from node_base.xml; list --all: - vmhost shut off', t)

    out = life.run('start', 'vmhost')
    if "Domain 'vmhost' started" not in out:
        raise Failure(f'start: {out!r}')
    vid, st = life.state()
    if st != 'running' or not (vid or '').isdigit():
        raise Failure(f'list --all after start: Id {vid!r}, state {st!r}')
    t = stage(f'start: running, Id {vid}', t)

    con = life.console()
    try:
        con.expect("Connected to domain 'vmhost'", 30, 'console')
        con.expect('Escape character is ^]', 10, 'console')
        con.expect("login as 'cirros' user. default password: 'gocubsgo'. use 'sudo' for root.",
                   args.boot_timeout, 'banner')
        con.send('\n')
        con.expect('vmhost login:', 60, 'login prompt (the host name from the metadata service)')
        t = stage('console: virsh lines, banner, `vmhost login:`', t)
        detach(con, life)
    finally:
        con.close()
    t = stage('Ctrl+] detached; the VM runs on', t)

    info = life.run('dominfo', 'vmhost')
    expect_line(info, r'^State:\s+running$', 'dominfo')
    expect_line(info, r'^CPU\(s\):\s+2$', 'dominfo')
    expect_line(info, r'^Max memory:\s+1000000 KiB$', 'dominfo')
    expect_line(info, rf'^Id:\s+{vid}$', 'dominfo')
    expect_line(life.run('domblklist', 'vmhost'), rf'^\s*vda\s+{re.escape(disk)}\s*$',
                'domblklist')
    ifl = life.run('domiflist', 'vmhost')
    m = re.search(r'^\s*(vnet\d+)\s+bridge\s+vbr\s+virtio\s+(52:54:00(:[0-9a-f]{2}){3})\s*$',
                  ifl, re.M)
    if not m:
        raise Failure(f'domiflist: no "vnetN bridge vbr virtio 52:54:00:..." line:\n{ifl}')
    mac = m.group(2)
    t = stage(f'dominfo running; domblklist vda; domiflist {m.group(1)} bridge vbr {mac}', t)

    con = life.console()
    try:
        con.expect('Escape character is ^]', 30, 'console (second)')
        drain(con, 2)  # the ring holds the earlier prompt and the banner
        con.send('\n')
        con.expect('vmhost login:', 60, 'login prompt (second)')
        con.login()
        ip = eth0_lease(con, net, mac)
        con.shell('sync')
        detach(con, life)
    finally:
        con.close()
    t = stage(f'console: logged in, eth0 {ip} leased to {mac}; detached', t)

    life.run('suspend', 'vmhost')
    life.wait_state('paused', 10)
    life.run('resume', 'vmhost')
    life.wait_state('running', 10)
    t = stage('suspend: paused; resume: running', t)

    out = life.run('shutdown', 'vmhost')
    if "Domain 'vmhost' is being shutdown" not in out:
        raise Failure(f'shutdown: {out!r}')
    vid, _ = life.wait_state('shut off', 120)
    if vid != '-':
        raise Failure(f'list --all after shutdown: Id {vid!r}, want -')
    t = stage('shutdown: the power button, acpid powered CirrOS off; list: shut off', t)

    out = life.run('undefine', 'vmhost')
    if "Domain 'vmhost' has been undefined" not in out:
        raise Failure(f'undefine: {out!r}')
    if 'vmhost' in life.run('list', '--all'):
        raise Failure('list --all still shows vmhost after undefine')
    if not os.path.exists(disk):
        raise Failure('undefine removed the disk image')
    r = subprocess.run(['qemu-img', 'check', disk], capture_output=True, text=True)
    if r.returncode:
        raise Failure(f'qemu-img check on the overlay: exit {r.returncode}: {r.stdout}{r.stderr}')
    return stage('undefine: gone from list, the image stays and passes qemu-img check', t)


def show_log(net, work):
    log = os.path.join(net.state, 'domains', 'run', 'vmhost.log')
    if os.path.exists(log):
        print(f'{PROG}: the VM log, last lines:\n' + open(log, errors='replace').read()[-3000:],
              file=sys.stderr)


def inside(args):
    def cleanup(net, work, failed):
        if failed:
            show_log(net, work)
        subprocess.run(Life(args.vmm, net, work).cmd('destroy', 'vmhost'), env=net.env,
                       capture_output=True)
    return run_on_lab(PROG, args, lambda net, work, t: lifecycle(args, net, work, t), cleanup)


if __name__ == '__main__':
    sys.exit(cirros_main(PROG, __file__, inside))
