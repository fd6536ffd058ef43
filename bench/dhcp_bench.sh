#!/bin/bash
# DHCP transactions per second: minivmm's server vs dnsmasq, same range,
# same load, same run, inside namespaces this script creates and deletes.
# Needs root. Prints figures and the ratio; asserts nothing.
#   bench/dhcp_bench.sh [MINIVMM] [SECONDS] [CLIENTS] [INFLIGHT]
# MINIVMM: a binary run as `MINIVMM net ...` (default build/vmm/minivmm,
# else build/tests/net/mvnet). The load generator is compiled here with cc.
set -eu
cd "$(dirname "$0")/.."
MV=${1:-}
SECS=${2:-5}
CLIENTS=${3:-64}
INFLIGHT=${4:-8}
if [ -z "$MV" ]; then
	MV=build/tests/net/mvnet
	build/vmm/minivmm net --help >/dev/null 2>&1 && MV=build/vmm/minivmm
fi
MV=$(realpath "$MV")
[ "$(id -u)" -eq 0 ] || { echo "dhcp_bench: needs root"; exit 1; }
command -v dnsmasq >/dev/null || { echo "dhcp_bench: needs dnsmasq (dnsmasq-base)"; exit 1; }

WORK=$(mktemp -d /tmp/mvdhcpbench.XXXXXX)
H=mvbh$$ C=mvbc$$
LOADGEN=$WORK/dhcp_bench
cc -O2 -D_GNU_SOURCE -I. bench/dhcp_bench.c net/dhcp_msg.c -o "$LOADGEN"

DNSMASQ_PID=
cleanup() {
	[ -n "$DNSMASQ_PID" ] && kill "$DNSMASQ_PID" 2>/dev/null
	ip netns exec $H "$MV" net --state-dir "$WORK/state" stop vbr >/dev/null 2>&1 || true
	ip netns del $H 2>/dev/null || true
	ip netns del $C 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add $H
ip netns add $C
ip link add c0-$$ type veth peer name c1-$$
ip link set c1-$$ netns $H name port0
ip link set c0-$$ netns $C name eth0
ip netns exec $H ip link set lo up
ip netns exec $H ip link set port0 up
ip netns exec $C ip link set eth0 up

RANGE_A=192.168.100.128 RANGE_B=192.168.100.200

echo "== minivmm (leases persisted to $WORK/state/leases/vbr.leases)"
ip netns exec $H "$MV" net --state-dir "$WORK/state" create vbr --subnet 192.168.100.254/24 \
	--dhcp $RANGE_A-$RANGE_B --nat
ip netns exec $H ip link set port0 master vbr
mv_out=$(ip netns exec $C "$LOADGEN" eth0 "$CLIENTS" "$INFLIGHT" "$SECS")
echo "renewals:      $mv_out"
mv_rel=$(ip netns exec $C "$LOADGEN" eth0 "$CLIENTS" "$INFLIGHT" "$SECS" release)
echo "new bindings:  $mv_rel"
ip netns exec $H "$MV" net --state-dir "$WORK/state" stop vbr

# dnsmasq with the DHCP options libvirt gives it, then also with --no-ping
# (by default dnsmasq pings an address before offering it for the first
# time, which dominates the new-binding figure).
ip netns exec $H ip link add vbr type bridge
ip netns exec $H ip addr add 192.168.100.254/24 dev vbr
ip netns exec $H ip link set vbr up
ip netns exec $H ip link set port0 master vbr
dnsmasq_run() { # extra options...
	rm -f "$WORK/dnsmasq.leases"
	ip netns exec $H dnsmasq -k --conf-file=/dev/null --port=0 --bind-interfaces \
		--interface=vbr --except-interface=lo --strict-order --dhcp-authoritative \
		--dhcp-no-override --dhcp-range=$RANGE_A,$RANGE_B,1h \
		--dhcp-leasefile="$WORK/dnsmasq.leases" --pid-file="$WORK/dnsmasq.pid" "$@" \
		2>"$WORK/dnsmasq.log" &
	DNSMASQ_PID=$!
	sleep 0.5
}
echo "== dnsmasq $(dnsmasq --version | head -1 | awk '{print $3}') (leases in $WORK/dnsmasq.leases)"
dnsmasq_run
dq_out=$(ip netns exec $C "$LOADGEN" eth0 "$CLIENTS" "$INFLIGHT" "$SECS")
echo "renewals:      $dq_out"
dq_rel=$(ip netns exec $C "$LOADGEN" eth0 "$CLIENTS" "$INFLIGHT" "$SECS" release)
echo "new bindings:  $dq_rel"
kill "$DNSMASQ_PID"; wait "$DNSMASQ_PID" 2>/dev/null || true
echo "== dnsmasq --no-ping"
dnsmasq_run --no-ping
dn_rel=$(ip netns exec $C "$LOADGEN" eth0 "$CLIENTS" "$INFLIGHT" "$SECS" release)
echo "new bindings:  $dn_rel"

tps() { sed -n 's/.*tps=\([0-9]*\).*/\1/p' <<< "$1"; }
echo "== clients=$CLIENTS inflight=$INFLIGHT seconds=$SECS (DISCOVER/OFFER/REQUEST/ACK per transaction)"
ratio() {
	awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%-13s minivmm %6d tps, dnsmasq %6d tps, ratio minivmm/dnsmasq = %.2f\n", n, a, b, (b ? a / b : 0) }'
}
ratio renewals: "$(tps "$mv_out")" "$(tps "$dq_out")"
ratio new-binding: "$(tps "$mv_rel")" "$(tps "$dq_rel")"
ratio "new (no-ping)": "$(tps "$mv_rel")" "$(tps "$dn_rel")"
