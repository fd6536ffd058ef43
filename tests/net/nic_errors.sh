#!/bin/bash
# net suite: `minivmm --bridge/--tap` errors a user can act on, each one
# line naming the bridge, TAP or privilege at fault, all before /dev/kvm is
# touched (--kvm-device points nowhere: reaching it means the NIC was
# fine), in a network namespace this script creates (and deletes):
# bridge missing, network defined but not started, no CAP_NET_ADMIN,
# /dev/net/tun missing, TAP busy; and a persistent TAP of an unprivileged
# user's, which that user can use without any privilege; the metadata
# record: none on a plain bridge, published and withdrawn on a started network.
#   nic_errors.sh MINIVMM KERNEL   (KERNEL: a bootable image, the test guest's)
set -u
MV=$1
KERNEL=$2
skip() {
	echo "SKIP: $*"
	if [ "${CI:-}" = true ]; then echo "FAIL: CI=true and the test cannot run"; exit 1; fi
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, TAPs)"
for t in ip setpriv unshare python3; do command -v $t >/dev/null || skip "needs $t"; done
NS=mvnic$$
STATE=$(mktemp -d /tmp/mvnic-state.XXXXXX)
chmod 755 "$STATE"
ip netns add $NS 2>/dev/null || skip "cannot create network namespaces"
HOLDER=
cleanup() {
	[ -n "$HOLDER" ] && kill $HOLDER 2>/dev/null
	ip netns del $NS 2>/dev/null
	rm -rf "$STATE"
}
trap cleanup EXIT
fails=0
in_ns() { ip netns exec $NS "$@"; }
# CASE WANT CMD...: minivmm fails, its stderr has WANT, and it stopped
# before /dev/kvm.
errcase() {
	local what=$1 want=$2 out rc
	shift 2
	out=$("$@" --kernel "$KERNEL" --kvm-device /nonexistent/kvm 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && [[ $out == *"$want"* ]] && [[ $out != *nonexistent/kvm* ]] &&
		[ "$(echo "$out" | wc -l)" -eq 1 ]; then
		echo "ok - $what"
	else
		echo "not ok - $what: exit $rc, output: $out (want one line with: $want)"
		fails=$((fails + 1))
	fi
}
# No TAP may be left behind by a refused start.
no_taps() {
	if in_ns ip -o link show | grep -q vnet; then
		echo "not ok - TAPs left: $(in_ns ip -o link show | grep vnet)"
		fails=$((fails + 1))
	else
		echo "ok - no TAP left behind"
	fi
}

export MINIVMM_STATE_DIR=$STATE
errcase "bridge missing" "bridge nosuch does not exist and no network is defined for it" \
	in_ns "$MV" --bridge nosuch
cat > "$STATE/lab.xml" <<XML
<network><name>lab</name><forward mode='nat'/><bridge name='mvlab0'/>
<ip address='192.168.77.254' netmask='255.255.255.0'/></network>
XML
in_ns "$MV" net define "$STATE/lab.xml" >/dev/null || { echo "not ok - net define"; exit 1; }
errcase "network defined, not started" "network is defined but not active (run \`minivmm net start lab\`)" \
	in_ns "$MV" --bridge lab
in_ns ip link add mvbr0 type bridge
in_ns ip link set mvbr0 up
errcase "no CAP_NET_ADMIN" "needs root or CAP_NET_ADMIN" \
	in_ns setpriv --inh-caps=-all --bounding-set=-net_admin "$MV" --bridge mvbr0
errcase "/dev/net/tun missing" "/dev/net/tun: No such file or directory" \
	in_ns unshare -m sh -c 'mount -t tmpfs none /dev/net && exec "$@"' sh "$MV" --bridge mvbr0
no_taps
errcase "--tap: no such TAP" "tap: nosuchtap does not exist" in_ns "$MV" --tap nosuchtap
in_ns ip tuntap add mvtap0 mode tap user root # a TAP with an owner: others may not use it
# Another program holds the (single-queue) TAP.
ip netns exec $NS python3 -c '
import fcntl, os, struct, sys, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"mvtap0", 0x0002 | 0x1000 | 0x4000))
print("held", flush=True)
time.sleep(60)' > "$STATE/holder.out" &
HOLDER=$!
for _ in $(seq 50); do grep -q held "$STATE/holder.out" 2>/dev/null && break; sleep 0.1; done
errcase "--tap: TAP busy" "tap: mvtap0: Device or resource busy (another program has it open)" \
	in_ns "$MV" --tap mvtap0
kill $HOLDER; wait $HOLDER 2>/dev/null; HOLDER=
# A persistent TAP of user nobody's: nobody uses it without privilege, and
# minivmm gets as far as /dev/kvm. Debian's /dev/net/tun is mode 0666; where
# it is not (containers), a private mount namespace gets such a node.
in_ns ip tuntap add mvtap1 mode tap multi_queue user nobody
in_ns ip link set mvtap1 up
as_nobody() {
	in_ns unshare -m sh -c 'mount -t tmpfs none /dev/net && mknod -m 666 /dev/net/tun c 10 200 &&
		exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$@"' sh "$@"
}
out=$(as_nobody "$MV" --tap mvtap1 --cpus 2 --kernel "$KERNEL" --kvm-device /nonexistent/kvm 2>&1)
if [[ $out == *"/nonexistent/kvm"* ]] && [[ $out != *tap:* ]]; then
	echo "ok - an unprivileged user's own TAP works without privilege"
else
	echo "not ok - unprivileged --tap: $out"
	fails=$((fails + 1))
fi
# Someone else's TAP: refused, naming the reason (a TAP with no owner
# and no group is anyone's, as the kernel has it).
errcase "--tap: another user's TAP" "tap: mvtap0: Operation not permitted" as_nobody "$MV" --tap mvtap0
# The metadata record (net/mdata_record.h): none on a plain bridge (an info
# line says so); on a started network the VM's record is written when its
# NIC joins and removed when it stops (here at the /dev/kvm failure), and
# `net stop` removes the network's record directory.
out=$(in_ns "$MV" --bridge mvbr0 --hostname web1 --kernel "$KERNEL" \
	--kvm-device /nonexistent/kvm 2>&1)
if [[ $out == *"eth0 (bridge mvbr0): not on a started minivmm network: no metadata service, nothing published (--hostname/--ssh-key/--user-data unused)"* ]]; then
	echo "ok - plain bridge: nothing published, said so"
else
	echo "not ok - plain bridge and --hostname: $out"
	fails=$((fails + 1))
fi
cat > "$STATE/md.xml" <<XML
<network><name>md</name><bridge name='mvmd0'/>
<ip address='192.168.78.254' netmask='255.255.255.0'><dhcp><range start='192.168.78.100' end='192.168.78.150'/></dhcp></ip></network>
XML
printf '#!/bin/sh\necho hi\n' > "$STATE/ud.sh"
if in_ns "$MV" net define "$STATE/md.xml" >/dev/null && in_ns "$MV" net start md >/dev/null; then
	out=$(in_ns "$MV" --bridge md,mac=52:54:00:aa:bb:cc --hostname web1 --user-data "$STATE/ud.sh" \
		--uuid 0a1b2c3d-0000-8000-8000-0000000000aa --debug --kernel "$KERNEL" \
		--kvm-device /nonexistent/kvm 2>&1)
	rec="$STATE/run/mdata/mvmd0/52:54:00:aa:bb:cc"
	if [[ $out == *"eth0: metadata for MAC 52:54:00:aa:bb:cc (instance-id 0a1b2c3d-0000-8000-8000-0000000000aa) in $STATE/run/mdata/mvmd0"* ]] &&
		[ ! -e "$rec" ] && [ -d "$STATE/run/mdata/mvmd0" ]; then
		echo "ok - started network: record published, then removed when the VM stopped"
	else
		echo "not ok - started network: record $(ls -A "$STATE/run/mdata/mvmd0" 2>&1); output: $out"
		fails=$((fails + 1))
	fi
	in_ns "$MV" net stop md >/dev/null
	if [ -e "$STATE/run/mdata/mvmd0" ]; then
		echo "not ok - net stop left $STATE/run/mdata/mvmd0"
		fails=$((fails + 1))
	else
		echo "ok - net stop removed run/mdata/mvmd0"
	fi
else
	echo "not ok - net define/start md"
	fails=$((fails + 1))
fi
[ $fails -eq 0 ] && echo "PASS" || echo "FAIL: $fails"
exit $((fails > 0))
