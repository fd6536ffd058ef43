#!/usr/bin/env python3
"""The running half of the VM life cycle with the tiny test guest (suite
guest, inside the L1 VM of tests/vmtest/run-kvm, as root):

define -> start -> list (running) -> console (the guest's output, typing,
Ctrl+] detaches, a second client refused) -> dominfo/domblklist/domiflist ->
suspend/resume -> a malformed socket request -> destroy -> list --all (shut
off); shutdown answered by the guest's power-button handler (pwrbtn);
kill -9 of the VM process (state recovers, start works again); two
concurrent starts (one VM); a disk held by a running VM; undefine of a
running VM.

    life_guest.py MINIVMM GUEST_PVH_ELF
Exit 0 pass, 1 fail, 77 skip (no /dev/kvm, not root; a failure with CI=true).
"""
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

MINIVMM, GUEST = sys.argv[1], sys.argv[2]
BRIDGE = "mvlbr"
failures = []


def skip(why):
    if os.environ.get("CI") == "true":
        print(f"life_guest: FAIL: {why} (CI=true: not skipping)")
        sys.exit(1)
    print(f"life_guest: SKIP: {why}")
    sys.exit(77)


def check(cond, what):
    print(("  ok   " if cond else "  FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def mv(*args, timeout=60):
    r = subprocess.run([MINIVMM, *args, "--state-dir", STATE], capture_output=True,
                       text=True, timeout=timeout)
    print(f"$ minivmm {' '.join(args)} -> {r.returncode}\n{r.stdout}{r.stderr}", end="",
          flush=True)
    return r


def run_file(name, suffix):
    return os.path.join(STATE, "domains", "run", name + suffix)


def wait_for(pred, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def state_of(name):
    r = mv("list", "--all")
    for line in r.stdout.splitlines():
        cells = line.split(None, 2)
        if len(cells) == 3 and cells[1] == name:
            return cells[0], cells[2].strip()
    return None, None


def log_text(name):
    try:
        with open(run_file(name, ".log"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def console_session(name):
    """console NAME in a pty: the banner and the guest's replayed output,
    a line typed and echoed, a second client refused, Ctrl+] detaches."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(MINIVMM, [MINIVMM, "console", name, "--state-dir", STATE])
    out = b""

    def read_until(text, seconds):
        nonlocal out
        end = time.time() + seconds
        while text not in out and time.time() < end:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        return text in out

    check(read_until(b"Escape character is ^] (Ctrl + ])", 20), "console: virsh's banner")
    check(read_until(b"minivmm test guest", 20), "console: the guest's output replayed")
    check(read_until(b"pwrbtn: armed", 20), "console: the guest waits for the power button")
    second = mv("console", name)
    check(second.returncode == 1 and "in use by another client" in second.stderr,
          "console: a second client gets a clear error")
    os.write(fd, b"hello life\r")
    check(read_until(b"echo: hello life", 30), "console: typed line echoed by the guest")
    os.write(fd, b"\x1d")
    _, status = os.waitpid(pid, 0)
    check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "console: Ctrl+] detaches, exit 0")
    os.close(fd)


def raw_request(name, line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(run_file(name, ".sock"))
    s.sendall(line)
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)


def main():
    if os.geteuid() != 0:
        skip("needs root (a bridge, TAPs)")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("no usable /dev/kvm (run through tests/vmtest/run-kvm)")
    subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)
    subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)
    disk = os.path.join(STATE, "shared.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    try:
        lifecycle(disk)
    finally:
        for n in ("lg", "lg2"):
            subprocess.run([MINIVMM, "destroy", n, "--state-dir", STATE], capture_output=True)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)


def lifecycle(disk):
    r = mv("define", "--name", "lg", "--kernel", GUEST, "--cmdline", "pwrbtn", "--memory", "64M",
           "--bridge", BRIDGE, "--disk", disk)
    check(r.returncode == 0, "define")
    r = mv("start", "lg")
    check(r.returncode == 0 and r.stdout.startswith("Domain 'lg' started\n"), "start: virsh's text")
    check(oct(os.stat(run_file("lg", ".sock")).st_mode & 0o777) == "0o600", "socket mode 0600")
    check(state_of("lg") == ("1", "running"), "list: Id 1, running")
    r = mv("start", "lg")
    check(r.returncode == 1 and "already active" in r.stderr, "start twice: already active")

    console_session("lg")
    check(state_of("lg")[1] == "running", "after detaching: still running")

    r = mv("dominfo", "lg")
    check("State:          running" in r.stdout and "Id:             1" in r.stdout
          and "CPU time:" in r.stdout, "dominfo: running, Id, CPU time")
    r = mv("domblklist", "lg")
    check(f" vda      {disk}" in r.stdout, "domblklist: vda and the file")
    r = mv("domiflist", "lg")
    check(" vnet" in r.stdout and "bridge" in r.stdout and BRIDGE in r.stdout,
          "domiflist: vnetN while running")

    r = mv("suspend", "lg")
    check(r.stdout.startswith("Domain 'lg' suspended"), "suspend: virsh's text")
    check(state_of("lg")[1] == "paused", "list: paused")
    r = mv("resume", "lg")
    check(r.stdout.startswith("Domain 'lg' resumed"), "resume: virsh's text")
    check(state_of("lg")[1] == "running", "list: running again")

    bad = raw_request("lg", b"{not json\n")
    check(bad.get("ok") is False and "not JSON" in bad.get("error", ""), "socket: bad JSON refused")
    bad = raw_request("lg", b'{"cmd":"frob"}\n')
    check(bad.get("ok") is False and "unknown cmd" in bad.get("error", ""), "socket: unknown cmd")
    bad = raw_request("lg", b"x" * 5000)
    check(bad.get("ok") is False and "longer than 4096" in bad.get("error", ""),
          "socket: a huge line refused")
    st = raw_request("lg", b'{"cmd":"status"}\n')
    check(st.get("ok") and st.get("state") == "running" and st.get("name") == "lg"
          and st["nics"][0]["ifname"].startswith("vnet"), "socket: status after bad requests")
    stats = raw_request("lg", b'{"cmd":"stats"}\n')
    check(stats.get("ok") and stats.get("cpu_time_ns", 0) > 0 and "exits" in stats, "socket: stats")

    r = mv("define", "--name", "lg2", "--kernel", GUEST, "--cmdline", "pwrbtn", "--memory", "64M",
           "--disk", disk)
    r = mv("start", "lg2")
    check(r.returncode == 1 and "locked" in r.stderr and "'lg'" in r.stderr,
          "a disk used by a running VM: refused, the holder named")

    r = mv("destroy", "lg")
    check(r.stdout.startswith("Domain 'lg' destroyed"), "destroy: virsh's text")
    check(state_of("lg") == ("-", "shut off"), "list --all: shut off")
    check(not os.path.exists(run_file("lg", ".pid")) and not os.path.exists(run_file("lg", ".sock")),
          "destroy: run files removed")

    r = mv("start", "lg")
    # Id 2 went to lg2's failed start (Ids count start attempts, as libvirt's)
    check(state_of("lg") == ("3", "running"), "start again: Id 3")
    check(wait_for(lambda: "pwrbtn: armed" in log_text("lg"), 30), "guest armed the power button")
    r = mv("shutdown", "lg")
    check(r.stdout.startswith("Domain 'lg' is being shutdown"), "shutdown: virsh's text")
    check(wait_for(lambda: state_of("lg")[1] == "shut off", 30), "shutdown: the guest powered off")
    check("pwrbtn: pressed" in log_text("lg"), "shutdown: through the power button")

    # reboot: the power button, and the guest's power-off restarts it (on_reboot restart)
    r = mv("start", "lg")
    check(wait_for(lambda: log_text("lg").count("pwrbtn: armed") >= 3, 30), "guest armed again")
    r = mv("reboot", "lg")
    check(r.stdout.startswith("Domain 'lg' is being rebooted"), "reboot: virsh's text")
    check(wait_for(lambda: log_text("lg").count("pwrbtn: armed") >= 4, 30)
          and state_of("lg")[1] == "running", "reboot: the guest ran again, same process")
    mv("destroy", "lg")

    # shutdown --timeout: a guest that ignores the button (echo) is destroyed
    mv("define", "--name", "lg2", "--kernel", GUEST, "--cmdline", "echo", "--memory", "64M")
    mv("start", "lg2")
    check(wait_for(lambda: "echo: ready" in log_text("lg2"), 30), "echo guest ready")
    r = mv("shutdown", "lg2", "--timeout", "3")
    check(r.returncode == 0 and "Domain 'lg2' destroyed" in r.stdout
          and state_of("lg2")[1] == "shut off", "shutdown --timeout: destroyed after it")

    # autostart-all: the autostart domains (and networks) start
    mv("autostart", "lg2")
    r = mv("autostart-all")
    check(r.returncode == 0 and "Domain 'lg2' started" in r.stdout
          and state_of("lg2")[1] == "running" and state_of("lg")[1] == "shut off",
          "autostart-all: the autostart domain only")
    mv("destroy", "lg2")

    r = mv("start", "lg")
    with open(run_file("lg", ".pid")) as f:
        pid = int(f.read())
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10)
    check(state_of("lg") == ("-", "shut off"), "kill -9: shut off")
    check(not os.path.exists(run_file("lg", ".pid")) and not os.path.exists(run_file("lg", ".state")),
          "kill -9: stale run files removed")
    r = mv("start", "lg")
    check(r.returncode == 0, "kill -9: start works again")
    mv("destroy", "lg")

    procs = [subprocess.Popen([MINIVMM, "start", "lg", "--state-dir", STATE],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    print(outs)
    check(sorted(o[2] for o in outs) == [0, 1] and
          sum("started" in o[0] for o in outs) == 1, "two concurrent starts: started once")
    lines = [l for l in mv("list").stdout.splitlines() if " lg " in l + " "]
    check(len(lines) == 1 and "running" in lines[0], "two concurrent starts: one VM")

    r = mv("undefine", "lg")
    check(r.returncode == 0 and state_of("lg")[1] == "running", "undefine: a running VM runs on")
    r = mv("dominfo", "lg")
    check("State:          running" in r.stdout and "Persistent:     no" in r.stdout,
          "undefine: dominfo still works, not persistent")
    r = mv("destroy", "lg")
    check(state_of("lg") == (None, None), "undefined and destroyed: gone from list --all")
    mv("undefine", "lg2")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="life-guest-") as d:
        STATE = d
        main()
    if failures:
        print(f"life_guest: FAIL ({len(failures)}): " + "; ".join(failures))
        sys.exit(1)
    print("life_guest: PASS")
