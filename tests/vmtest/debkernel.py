"""Helpers shared by run-kvm, the e2e driver and bench/boot_bench.

Fetches Debian kernel packages with `apt-get download` into a cache outside
the source tree (never installs them), lists the modules an initramfs needs,
and writes deterministic gzip'ed newc cpio archives.

Cache layout (root: $MINIVMM_CACHE, else $XDG_CACHE_HOME/minivmm, else
~/.cache/minivmm):
    kernels/<package>_<debian version>/   the `dpkg -x` tree, depmod'ed;
                                          a `.complete` file marks it usable
    initramfs/<name>-<kernel version>-<hash>.cpio.gz
    lock                                  flock'ed while fetching/building
"""
import contextlib
import fcntl
import glob
import gzip
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time


class Skip(Exception):
    """A prerequisite is missing: the caller skips (exit 77), or fails on CI."""


def ci():
    return os.environ.get('CI', '').lower() == 'true'


def skip_or_fail(prog, reason):
    """Returns the exit status for a missing prerequisite, after saying why."""
    import sys
    if ci():
        print(f'{prog}: FAIL (CI=true, cannot skip): {reason}', file=sys.stderr)
        return 1
    print(f'{prog}: SKIP: {reason}', file=sys.stderr)
    return 77


def cache_dir():
    d = os.environ.get('MINIVMM_CACHE')
    if not d:
        base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
        d = os.path.join(base, 'minivmm')
    return d


@contextlib.contextmanager
def cache_lock():
    d = cache_dir()
    try:
        os.makedirs(d, exist_ok=True)
        f = open(os.path.join(d, 'lock'), 'a+')
    except OSError as e:
        # Read-only cache (e.g. inside the L1 VM): nothing can be built, only used.
        if e.errno in (30, 13):  # EROFS, EACCES
            yield
            return
        raise
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def need_tool(name):
    path = shutil.which(name) or next((p for p in (f'/usr/sbin/{name}', f'/sbin/{name}')
                                       if os.access(p, os.X_OK)), None)
    if not path:
        raise Skip(f'{name} not found (install the Debian package providing it; see scripts/setup.sh)')
    return path


def _run(cmd, **kw):
    try:
        return subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, **kw)
    except FileNotFoundError:
        raise Skip(f'{cmd[0]} not found (this needs a Debian/Ubuntu host with apt, dpkg and kmod)')


def _resolve(meta):
    """meta package (e.g. linux-image-amd64) -> (image package, debian version)."""
    r = _run(['apt-cache', 'depends', meta])
    m = re.search(r'Depends:\s*(linux-image-[0-9][^\s]*)', r.stdout)
    if r.returncode != 0 or not m:
        raise Skip(f'apt-cache cannot resolve {meta}: {r.stderr.strip() or "no linux-image dependency"}')
    pkg = m.group(1)
    r = _run(['apt-cache', 'show', '--no-all-versions', pkg])
    m = re.search(r'^Version:\s*(\S+)', r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise Skip(f'apt-cache has no version for {pkg}')
    return pkg, m.group(1)


def _cached_trees(meta):
    """Already extracted trees whose package matches the meta package's flavour."""
    flavour = meta[len('linux-image-'):]          # 'amd64' or 'cloud-amd64'
    pat = re.compile(r'linux-image-[0-9][0-9.]*-[0-9]+-' + re.escape(flavour) + r'_')
    root = os.path.join(cache_dir(), 'kernels')
    trees = [t for t in glob.glob(os.path.join(root, '*'))
             if pat.match(os.path.basename(t)) and os.path.exists(os.path.join(t, '.complete'))]
    return sorted(trees, key=os.path.getmtime)


def touch_and_prune(used, candidates, keep_days=7):
    """Marks `used` as used now and removes the `candidates` (paths: superseded
    kernels, initramfs of older scripts) no run has used for keep_days."""
    now = time.time()
    try:
        os.utime(used)
    except OSError:
        return  # read-only cache (inside L1): nothing to do
    for p in candidates:
        try:
            if os.path.realpath(p) != os.path.realpath(used) and \
                    now - os.path.getmtime(p) > keep_days * 86400:
                if os.path.isdir(p):
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    os.unlink(p)
        except OSError:
            pass


def kernel_version(tree):
    mods = glob.glob(os.path.join(tree, 'lib', 'modules', '*'))
    if len(mods) != 1:
        raise Skip(f'{tree}: expected one lib/modules/<version> folder')
    return os.path.basename(mods[0])


def fetch_kernel(meta):
    """Returns (kernel version, extracted tree) for Debian's `meta` package.

    Looks the current ABI up with apt-cache (local, no network); downloads
    and extracts only when that exact package version is not cached yet. When
    apt cannot resolve it, falls back to the newest cached tree of the flavour.
    """
    with cache_lock():
        try:
            pkg, ver = _resolve(meta)
        except Skip:
            trees = _cached_trees(meta)
            if trees:
                return kernel_version(trees[-1]), trees[-1]
            raise
        tree = os.path.join(cache_dir(), 'kernels', f'{pkg}_{ver}')
        if os.path.exists(os.path.join(tree, '.complete')):
            touch_and_prune(tree, _cached_trees(meta))
            return kernel_version(tree), tree
        for tool in ('apt-get', 'dpkg', 'depmod'):
            need_tool(tool)
        os.makedirs(os.path.dirname(tree), exist_ok=True)
        with tempfile.TemporaryDirectory(dir=os.path.dirname(tree), prefix='.fetch-') as tmp:
            r = _run(['apt-get', 'download', f'{pkg}={ver}'], cwd=tmp)
            debs = glob.glob(os.path.join(tmp, '*.deb'))
            if r.returncode != 0 or len(debs) != 1:
                raise Skip(f'apt-get download {pkg}={ver} failed: {r.stderr.strip()[-300:]}')
            x = os.path.join(tmp, 'x')
            r = _run(['dpkg', '-x', debs[0], x])
            if r.returncode != 0:
                raise Skip(f'dpkg -x {os.path.basename(debs[0])} failed: {r.stderr.strip()}')
            kver = kernel_version(x)
            r = _run([need_tool('depmod'), '-b', x, kver])
            if r.returncode != 0:
                raise Skip(f'depmod -b {x} {kver} failed: {r.stderr.strip()}')
            open(os.path.join(x, '.complete'), 'w').close()
            shutil.rmtree(tree, ignore_errors=True)
            os.rename(x, tree)
        return kver, tree


def vmlinuz(tree, kver):
    return os.path.join(tree, 'boot', f'vmlinuz-{kver}')


def module_files(tree, kver, modules):
    """The .ko files to insmod, dependencies first, each once, for `modules`."""
    modprobe = need_tool('modprobe')
    out = []
    for mod in modules:
        r = _run([modprobe, '-d', tree, '-S', kver, '--show-depends', mod])
        if r.returncode != 0:
            raise Skip(f'{kver}: module {mod}: {r.stderr.strip()}')
        for line in r.stdout.splitlines():
            w = line.split()
            if len(w) >= 2 and w[0] == 'insmod' and w[1] not in out:
                out.append(w[1])
    return out


def file_hash(paths, extra=b''):
    h = hashlib.sha256(extra)
    for p in paths:
        with open(p, 'rb') as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()[:16]


class Cpio:
    """A newc cpio archive built in memory; every mtime is 0 (reproducible),
    owners are root unless a caller names another uid/gid."""

    def __init__(self):
        self.parts = []
        self.ino = 1

    def _add(self, name, mode, data=b'', uid=0, gid=0):
        name_b = name.encode() + b'\0'
        hdr = '070701' + ''.join(f'{v:08x}' for v in (
            self.ino, mode, uid, gid, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
        self.ino += 1
        rec = hdr.encode() + name_b
        rec += b'\0' * (-len(rec) % 4) + data
        rec += b'\0' * (-len(rec) % 4)
        self.parts.append(rec)

    def dir(self, name, mode=0o755, uid=0, gid=0):
        self._add(name, stat.S_IFDIR | mode, uid=uid, gid=gid)

    def file(self, name, data, mode=0o644, uid=0, gid=0):
        self._add(name, stat.S_IFREG | mode, data, uid, gid)

    def symlink(self, name, target):
        self._add(name, stat.S_IFLNK | 0o777, target.encode())

    def write_gz(self, path, compresslevel=6):
        self._add('TRAILER!!!', 0)
        tmp = path + f'.tmp{os.getpid()}'
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, 'wb') as raw:
            with gzip.GzipFile(fileobj=raw, mode='wb', mtime=0, compresslevel=compresslevel) as gz:
                for p in self.parts:
                    gz.write(p)
        os.rename(tmp, path)


def _is_static_elf(path):
    """True for an x86-64 ELF without a PT_INTERP program header."""
    import struct
    with open(path, 'rb') as f:
        h = f.read(64)
        if len(h) < 64 or h[:4] != b'\x7fELF' or h[4] != 2:
            return False
        phoff, = struct.unpack_from('<Q', h, 32)
        phentsize, phnum = struct.unpack_from('<HH', h, 54)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    return all(struct.unpack_from('<I', ph, i * phentsize)[0] != 3 for i in range(phnum))


def busybox_path():
    for p in (os.environ.get('MINIVMM_BUSYBOX'), '/bin/busybox', '/usr/bin/busybox'):
        if p and os.access(p, os.X_OK) and _is_static_elf(p):
            return p
    raise Skip('no static busybox (install busybox-static)')
