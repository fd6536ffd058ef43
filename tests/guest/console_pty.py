#!/usr/bin/env python3
"""The interactive console, as a user at a terminal meets it.

minivmm runs on a pseudo-terminal (its default console), booting the test
guest with the `echo` verb. Checked:
  - typed input reaches the guest (raw mode: no line editing in between);
  - Ctrl+] stops the VM, the console says so, exit status 0;
  - SIGTERM stops the VM with exit status 128+15;
  - after each, the terminal's settings are exactly what they were.

    console_pty.py MINIVMM GUEST_IMAGE
Exit 0 when all pass, 1 otherwise.
"""
import os
import select
import signal
import subprocess
import sys
import termios
import time

TIMEOUT = 30.0


def read_until(fd, want, seen, timeout=TIMEOUT):
    """Reads from fd into seen (bytearray) until want appears; True if it did."""
    end = time.monotonic() + timeout
    while want not in seen:
        left = end - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return want in seen
        if not chunk:
            return want in seen
        seen += chunk
    return True


def start(minivmm, image):
    master, slave = os.openpty()
    before = termios.tcgetattr(slave)
    proc = subprocess.Popen(
        [minivmm, '--kernel', image, '--memory', '64M', '--cmdline', 'echo'],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
        preexec_fn=lambda: __import__('fcntl').ioctl(0, termios.TIOCSCTTY, 0))
    return proc, master, slave, before


def finish(proc, master, slave, before, seen, failures, name, want_status):
    try:
        status = proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        status = proc.wait()
        failures.append(f'{name}: minivmm did not stop')
    read_until(master, b'\0never', seen, timeout=0.5)   # drain what is left
    if status != want_status:
        failures.append(f'{name}: exit status {status}, want {want_status}')
    after = termios.tcgetattr(slave)
    if after != before:
        failures.append(f'{name}: terminal settings not restored')
    os.close(master)
    os.close(slave)
    sys.stdout.write(f'--- {name} console:\n{seen.decode(errors="replace")}\n')


def case_ctrl_bracket(minivmm, image, failures):
    proc, master, slave, before = start(minivmm, image)
    seen = bytearray()
    if not read_until(master, b'echo: ready', seen):
        failures.append('ctrl-]: the guest never said "echo: ready"')
    else:
        raw = termios.tcgetattr(slave)
        if raw[3] & termios.ICANON or raw[3] & termios.ECHO:
            failures.append('ctrl-]: the terminal is not in raw mode while the VM runs')
        os.write(master, b'hello minivmm\r')
        if not read_until(master, b'echo: hello minivmm', seen):
            failures.append('ctrl-]: typed line did not come back from the guest')
        os.write(master, b'\x1d')
        if not read_until(master, b'Ctrl+] pressed', seen):
            failures.append('ctrl-]: no "Ctrl+] pressed" message')
    finish(proc, master, slave, before, seen, failures, 'ctrl-]', 0)


def case_sigterm(minivmm, image, failures):
    proc, master, slave, before = start(minivmm, image)
    seen = bytearray()
    if not read_until(master, b'echo: ready', seen):
        failures.append('sigterm: the guest never said "echo: ready"')
    proc.send_signal(signal.SIGTERM)
    finish(proc, master, slave, before, seen, failures, 'sigterm', 128 + signal.SIGTERM)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    minivmm, image = sys.argv[1:]
    failures = []
    case_ctrl_bracket(minivmm, image, failures)
    case_sigterm(minivmm, image, failures)
    for f in failures:
        print(f'console_pty: FAIL: {f}')
    print(f'console_pty: {2 - len({f.split(":")[0] for f in failures})} passed, '
          f'{len({f.split(":")[0] for f in failures})} failed')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
