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
READY_MARKER = 'MINIVMM-E2E: userspace up'
PROMPT = '[e2e]# '
CMDLINE = 'console=ttyS0 quiet panic=-1 rdinit=/init'

INIT = f'''#!/bin/busybox sh
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/ TERM=dumb
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "{READY_MARKER} $(cut -d' ' -f1 /proc/uptime)"
export PS1='{PROMPT}'
# An interactive shell on the console; setsid+cttyhack give it a controlling tty.
while true; do setsid cttyhack sh -i; done
'''


def prepare():
    """Host side: returns (kernel version, vmlinuz, initrd), fetched/built into the cache."""
    kver, tree = dk.fetch_kernel(L2_META)
    busybox = dk.busybox_path()
    key = dk.file_hash([busybox, os.path.realpath(__file__), dk.__file__])
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
            c.write_gz(path)
    return kver, dk.vmlinuz(tree, kver), path


def vmm_command(vmm, kernel, initrd, cpus=2, memory='512M', cmdline=CMDLINE):
    """The command booting the L2 guest with its console on stdin/stdout.

    vmm: 'qemu' (default pc machine), 'qemu-microvm', or the path of minivmm.
    """
    if vmm in ('qemu', 'qemu-microvm'):
        cmd = ['qemu-system-x86_64', '-accel', 'kvm', '-cpu', 'host',
               '-smp', str(cpus), '-m', memory,
               '-nodefaults', '-no-user-config', '-display', 'none', '-nic', 'none',
               '-no-reboot', '-serial', 'stdio', '-monitor', 'none',
               '-kernel', kernel, '-initrd', initrd, '-append', cmdline]
        if vmm == 'qemu-microvm':
            cmd[1:1] = ['-M', 'microvm']
        return cmd
    return [vmm, '--kernel', kernel, '--initrd', initrd, '--cmdline', cmdline,
            '--cpus', str(cpus), '--memory', memory, '--console', '-']
