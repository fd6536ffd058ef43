"""The L2 guest of the e2e suite and bench/boot_bench: Debian's cloud kernel
plus a busybox-static initramfs, and the VMM command lines that boot it.

prepare() runs on the host (it may download); everything else also works
inside the L1 VM, where the cache is read-only.
"""
import glob
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'vmtest'))
import debkernel as dk  # noqa: E402

RUN_KVM = os.path.realpath(os.path.join(HERE, '..', 'vmtest', 'run-kvm'))
L2_META = 'linux-image-cloud-amd64'
# Debian's generic kernel (also L1's): unlike the cloud kernel it has
# CONFIG_X86_MPPARSE, so with acpi=off it reads the MP table (the cloud
# kernel then disables the APIC and runs on the 8259 alone).
L2_MPPARSE_META = 'linux-image-amd64'
READY_MARKER = 'MINIVMM-E2E: userspace up'
PROMPT = '[e2e]# '
CMDLINE = 'console=ttyS0 quiet panic=-1 rdinit=/init'
# virtio-blk on PCI; the cloud kernel has these as modules (=m), in
# dependency order (modules.dep), loaded by /init after the ready marker so
# boot timings do not include them.
VIRTIO_MODULES = ['drivers/virtio/virtio_ring', 'drivers/virtio/virtio',
                  'drivers/virtio/virtio_pci_modern_dev', 'drivers/virtio/virtio_pci_legacy_dev',
                  'drivers/virtio/virtio_pci', 'drivers/block/virtio_blk',
                  'net/core/failover', 'drivers/net/net_failover', 'drivers/net/virtio_net']
# busybox udhcpc's lease script (it has no default one): applies the lease
# and prints it on one line for the tests.
UDHCPC_SCRIPT = '''#!/bin/sh
case "$1" in
deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "udhcpc-lease: ip=$ip mask=$mask router=$router dns=$dns" ;;
esac
'''

INIT = f'''#!/bin/busybox sh
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /etc
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/ TERM=dumb
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "{READY_MARKER} $(cut -d' ' -f1 /proc/uptime)"
for m in {' '.join(os.path.basename(m) for m in VIRTIO_MODULES)}; do
    insmod /lib/modules/$m.ko 2>/dev/null
done
export PS1='{PROMPT}'
# An interactive shell on the console; setsid+cttyhack give it a controlling tty.
while true; do setsid cttyhack sh -i; done
'''


def prepare(meta=L2_META, extra_files=()):
    """Host side: returns (kernel version, vmlinuz, initrd), fetched/built into the cache.

    extra_files: (path in the initramfs, host file) pairs added as executables
    (e.g. bench/net_bench's static netperf_tool in bin/); their names and
    contents are part of the cache key.
    """
    kver, tree = dk.fetch_kernel(meta)
    busybox = dk.busybox_path()
    extra = sorted(extra_files)
    key = dk.file_hash([busybox, os.path.realpath(__file__), dk.__file__] + [h for _, h in extra],
                       '\n'.join(dest for dest, _ in extra).encode())
    path = os.path.join(dk.cache_dir(), 'initramfs', f'l2-{kver}-{key}.cpio.gz')
    with dk.cache_lock():
        if os.path.exists(path):
            dk.touch_and_prune(path, glob.glob(os.path.join(os.path.dirname(path), 'l2-*.cpio.gz')))
        else:
            c = dk.Cpio()
            for d in ('bin', 'dev', 'proc', 'sys', 'tmp'):
                c.dir(d)
            with open(busybox, 'rb') as f:
                c.file('bin/busybox', f.read(), 0o755)
            c.file('init', INIT.encode(), 0o755)
            c.dir('etc')
            c.file('etc/udhcpc.script', UDHCPC_SCRIPT.encode(), 0o755)
            c.dir('lib')
            c.dir('lib/modules')
            for m in VIRTIO_MODULES:
                with open(os.path.join(tree, 'lib', 'modules', kver, 'kernel', m + '.ko'), 'rb') as f:
                    c.file(f'lib/modules/{os.path.basename(m)}.ko', f.read(), 0o644)
            for dest, host in extra:
                with open(host, 'rb') as f:
                    c.file(dest, f.read(), 0o755)
            c.write_gz(path)
    return kver, dk.vmlinuz(tree, kver), path


def vmm_command(vmm, kernel, initrd, cpus=2, memory='512M', cmdline=CMDLINE, disks=(), nics=()):
    """The command booting the L2 guest with its console on stdin/stdout.

    vmm: 'qemu' (default pc machine), 'qemu-microvm', or the path of minivmm.
    nics: minivmm NIC flags ('--bridge', 'vbr,mac=...'); for QEMU, TAP names
    (each made beforehand, attached with vhost=off and mq when cpus > 1), or
    'user:OPTS' for -netdev user,OPTS (libslirp, as minivmm's --net user).
    disks: minivmm --disk specs (FILE[,readonly][,format=...]); for QEMU, raw
    or qcow2 virtio-blk drives (vda, vdb, ... in order).
    """
    if vmm in ('qemu', 'qemu-microvm'):
        cmd = ['qemu-system-x86_64', '-accel', 'kvm', '-cpu', 'host',
               '-smp', str(cpus), '-m', memory,
               '-nodefaults', '-no-user-config', '-display', 'none',
               '-no-reboot', '-serial', 'stdio', '-monitor', 'none',
               '-kernel', kernel, '-initrd', initrd, '-append', cmdline]
        if vmm == 'qemu-microvm':
            cmd[1:1] = ['-M', 'microvm']
        for d in disks:
            path, *opts = d.split(',')
            fmt = next((o.split('=', 1)[1] for o in opts if o.startswith('format=')), 'raw')
            ro = ',readonly=on' if 'readonly' in opts else ''
            cmd += ['-drive', f'file={path},format={fmt},if=virtio{ro}']
        for i, tap in enumerate(nics):
            if tap.startswith('user:'):  # QEMU's user networking, 'user:' + its netdev options
                cmd += ['-netdev', f'user,id=n{i}' + (',' + tap[5:] if tap[5:] else ''),
                        '-device', f'virtio-net-pci,netdev=n{i}']
                continue
            mq = f',queues={cpus}' if cpus > 1 else ''
            cmd += ['-netdev', f'tap,id=n{i},ifname={tap},script=no,downscript=no,vhost=off{mq}',
                    '-device', f'virtio-net-pci,netdev=n{i}' +
                    (f',mq=on,vectors={2 * cpus + 2}' if cpus > 1 else '')]
        if not nics:
            cmd += ['-nic', 'none']
        return cmd
    cmd = [vmm, '--kernel', kernel, '--initrd', initrd, '--cmdline', cmdline,
           '--cpus', str(cpus), '--memory', memory, '--console', '-']
    for d in disks:
        cmd += ['--disk', d]
    for flag, spec in nics:
        cmd += [flag, spec]
    return cmd
