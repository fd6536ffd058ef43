#!/bin/bash
# net suite: the lab's NAT network started by minivmm inside network
# namespaces this script creates (and deletes); a real DHCP client
# (busybox udhcpc) in a "guest" namespace; an "outside" namespace reached
# through the masquerade. No address outside these namespaces is touched.
#   net_e2e.sh MVNET     (MVNET: a binary run as `MVNET net ...`)
set -u
MVNET=$1
skip() {
	echo "SKIP: $*"
	if [ "${CI:-}" = true ]; then echo "FAIL: CI=true and the test cannot run"; exit 1; fi
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, bridges, nftables)"
for t in ip nft busybox setpriv unshare nsenter; do
	command -v $t >/dev/null || skip "needs $t"
done
busybox udhcpc --help >/dev/null 2>&1 || skip "busybox has no udhcpc"

SFX=$$
H=mvh$SFX G=mvg$SFX O=mvo$SFX
STATE=$(mktemp -d /tmp/mvnet-state.XXXXXX)
WORK=$(mktemp -d /tmp/mvnet-work.XXXXXX)
DNSPID=
fails=0
ip netns add $H 2>/dev/null || skip "cannot create network namespaces"

cleanup() {
	local f
	for f in "$STATE"/networks/*.xml; do
		[ -e "$f" ] || continue
		f=${f##*/}
		ip netns exec $H "$MVNET" net --state-dir "$STATE" stop "${f%.xml}" >/dev/null 2>&1
	done
	[ -n "$DNSPID" ] && kill "$DNSPID" 2>/dev/null
	for n in $H $G $O; do ip netns del $n 2>/dev/null; done
	rm -rf "$STATE" "$WORK" "/etc/netns/$H"
}
trap cleanup EXIT

ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
inh() { ip netns exec $H "$@"; }
ing() { ip netns exec $G "$@"; }
mv() { inh "$MVNET" net --state-dir "$STATE" "$@"; }
not() { ! "$@"; }
none_exist() { local f; for f; do [ ! -e "$f" ] || return 1; done; }
# The DHCP helper the test started, never "any process named mvdhcp-NAME":
# the user's own network of the same name (in another namespace, or for
# real) is none of ours. Its pid is the one in our state dir's run record
# (run/NAME.run: "pid=N ifindex=..."), which is removed at stop, so
# helper_running remembers it (with its start time, so a reused pid is not
# mistaken for it) for helper_gone.
declare -A HELPER # NAME -> "PID STARTTIME" of its helper, when last seen running
helper_comm() { local c=mvdhcp-$1; echo "${c:0:15}"; } # as the kernel cuts it
proc_stat() { # PID -> "STATE STARTTIME" (fields 3 and 22 of /proc/PID/stat)
	local s; s=$(cat /proc/$1/stat 2>/dev/null) && [ -n "$s" ] || return 1
	set -- ${s##*) } # after the comm, which may hold spaces or parens
	echo "$1 ${20}"
}
# A zombie counts as gone (one may remain where PID 1 does not reap
# orphans: containers).
helper_running() { # NAME
	local pid st
	pid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$STATE/run/$1.run" 2>/dev/null)
	[ -n "$pid" ] && [ "$pid" -gt 0 ] || { echo "no helper pid in $STATE/run/$1.run"; return 1; }
	[ "$(cat /proc/$pid/comm 2>/dev/null)" = "$(helper_comm $1)" ] &&
		st=$(proc_stat $pid) && [ "${st%% *}" != Z ] || { echo "helper pid $pid of $1 is not running"; return 1; }
	HELPER[$1]="$pid ${st#* }"
}
helper_gone() { # NAME: the helper helper_running last saw is no more
	local rec=${HELPER[$1]:-} st
	[ -n "$rec" ] || { echo "no running helper of $1 was seen"; return 1; }
	st=$(proc_stat ${rec%% *}) || return 0
	[ "${st%% *}" = Z ] || [ "${st#* }" != "${rec#* }" ] && return 0 # exited, or the pid was reused
	[ "$(cat /proc/${rec%% *}/comm 2>/dev/null)" = "$(helper_comm $1)" ] || return 0
	echo "helper of $1 (pid ${rec%% *}) still running"; return 1
}
# For a start that failed before any pid was recorded: no live helper of
# NAME in the test's host namespace $H (processes elsewhere are not ours).
no_helper_in_h() { # NAME
	local ns d st
	ns=$(stat -L -c %d:%i /run/netns/$H) || return 1
	for d in /proc/[0-9]*; do
		[ "$(cat $d/comm 2>/dev/null)" = "$(helper_comm $1)" ] || continue
		[ "$(stat -L -c %d:%i $d/ns/net 2>/dev/null)" = "$ns" ] || continue
		st=$(proc_stat ${d#/proc/}) && [ "${st%% *}" != Z ] || continue
		echo "helper of $1 (pid ${d#/proc/}) in $H"; return 1
	done
}


# The host's resolver, as seen by `ip netns exec $H`: the outside host,
# which runs a tiny DNS server (dnsmasq, DNS only). Guests are handed the
# bridge address, where minivmm's forwarder relays to that resolver.
mkdir -p /etc/netns/$H
echo "nameserver 10.200.0.2" > /etc/netns/$H/resolv.conf

ip netns add $G; ip netns add $O
inh ip link set lo up
ip link add o0-$SFX type veth peer name o1-$SFX
ip link set o1-$SFX netns $H name up0; ip link set o0-$SFX netns $O name eth0
inh ip addr add 10.200.0.1/24 dev up0; inh ip link set up0 up
ip netns exec $O ip addr add 10.200.0.2/24 dev eth0; ip netns exec $O ip link set eth0 up
ip netns exec $O ip link set lo up
ip link add g0-$SFX type veth peer name g1-$SFX
ip link set g1-$SFX netns $H name vnet0; inh ip link set vnet0 up; ip link set g0-$SFX netns $G name eth0
ing ip link set eth0 address 52:54:00:12:34:56; ing ip link set eth0 up; ing ip link set lo up
if command -v dnsmasq >/dev/null; then
	ip netns exec $O dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts \
		--listen-address=10.200.0.2 --bind-interfaces --port=53 \
		--address=/gw.lab.test/10.200.0.99 --pid-file="$WORK/dns.pid" &
	DNSPID=$!
fi

rules_before=$(inh nft list ruleset)
links_before=$(inh ip -o link show | awk -F': ' '{print $2}' | sort)
fwd_before=$(inh cat /proc/sys/net/ipv4/ip_forward)

# The lab's network XML (lab-notes.md) plus an MTU and a static host.
cat > "$WORK/vbr.xml" <<'XML'
<network>
  <name>vbr</name>
  <forward mode='nat'/>
  <bridge name='vbr' stp='on' delay='0'/>
  <mtu size='1400'/>
  <ip address='192.168.100.254' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.100.128' end='192.168.100.200'/>
      <host mac='52:54:00:12:34:57' ip='192.168.100.10' name='web'/>
    </dhcp>
  </ip>
</network>
XML

check "define" mv define "$WORK/vbr.xml"
check "autostart" mv autostart vbr
check "start" mv start vbr
check "bridge has the address" sh -c "ip netns exec $H ip -o addr show dev vbr | grep -q 'inet 192.168.100.254/24'"
check "table installed" inh nft list table ip minivmm-vbr
check "DHCP helper running" helper_running vbr
check "list shows active" sh -c "ip netns exec $H '$MVNET' net --state-dir '$STATE' list | grep -q 'vbr *active *yes'"

cat > "$WORK/udhcpc.sh" <<EOF2
#!/bin/sh
# udhcpc event script: apply the lease, record what the server sent.
case "\$1" in
deconfig) ip addr flush dev \$interface ;;
bound|renew)
	ip addr add \$ip/\$mask dev \$interface
	ip route replace default via \$router
	echo "ip=\$ip mask=\$mask router=\$router dns=\$dns lease=\$lease mtu=\$mtu hostname=\$hostname" > "$WORK/lease" ;;
esac
EOF2
chmod +x "$WORK/udhcpc.sh"
dhcp() { # [udhcpc options]
	rm -f "$WORK/lease"
	inh ip link set vnet0 master vbr
	ing busybox udhcpc "$@" -i eth0 -n -q -f -t 6 -T 2 -s "$WORK/udhcpc.sh" >"$WORK/udhcpc.log" 2>&1 &&
		[ -s "$WORK/lease" ] || { cat "$WORK/udhcpc.log"; return 1; }
}
val() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$WORK/lease"; }

# Ask for .150 the first time; after the restart the client asks for
# nothing, so getting .150 again shows the server remembered it.
check "udhcpc gets a lease" dhcp -r 192.168.100.150
cat "$WORK/lease" 2>/dev/null
ip1=$(val ip)
last=${ip1##*.}
check "address $ip1 in range" sh -c "[ '${ip1%.*}' = 192.168.100 ] && [ '$last' -ge 128 ] && [ '$last' -le 200 ]"
check "router option" [ "$(val router)" = 192.168.100.254 ]
check "DNS option (the bridge's forwarder)" [ "$(val dns)" = 192.168.100.254 ]
check "lease time option" [ "$(val lease)" = 3600 ]
check "subnet mask option" [ "$(val mask)" = 24 ]
check "MTU option" [ "$(val mtu)" = 1400 ]
check "ping the outside host through the masquerade" ing busybox ping -c 1 -W 3 10.200.0.2
check "outside has no route to the guest subnet (so the ping needed the masquerade)" \
	sh -c "! ip netns exec $O ip route get 192.168.100.150 >/dev/null 2>&1"
if [ -n "$DNSPID" ]; then
	check "the DNS server handed out answers (relayed to the host's resolver)" \
		sh -c "ip netns exec $G busybox nslookup gw.lab.test $(val dns) 2>&1 | grep -q 10.200.0.99"
fi

check "stop" mv stop vbr
check "helper gone" helper_gone vbr
# run/vbr.log: the last run's log, kept after stop with its counters.
check "the helper's log is kept after stop, with its final counters" \
	grep -q 'dhcp vbr: stopping; [1-9][0-9]* received, 0 malformed, [1-9][0-9]* offers, [1-9][0-9]* acks' "$STATE/run/vbr.log"
check "start again" mv start vbr
check "... starts the log afresh" \
	sh -c "grep -q 'dhcp vbr: serving' '$STATE/run/vbr.log' && ! grep -q stopping '$STATE/run/vbr.log'"
ing ip addr flush dev eth0
check "udhcpc gets a lease after restart" dhcp
check "same address after restart ($ip1)" [ "$(val ip)" = "$ip1" ]
ing ip addr flush dev eth0
ing ip link set eth0 address 52:54:00:12:34:57
check "static host gets a lease" dhcp
check "static host: its address and name" [ "$(val ip) $(val hostname)" = "192.168.100.10 web" ]
ing ip addr flush dev eth0
ing ip link set eth0 address 52:54:00:12:34:56
check "lease file records it" grep -q "52:54:00:12:34:56 $ip1" "$STATE/leases/vbr.leases"

# Errors: one line each, nothing half-created.
errcase() { # NAME EXPECTED-TEXT CMD...
	local name=$1 want=$2; shift 2
	local out; out=$("$@" 2>&1); local rc=$?
	if [ $rc -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && printf '%s' "$out" | grep -q "$want"; then
		ok "error: $name"
	else
		bad "error: $name (rc=$rc, output: $out)"
	fi
}
cat > "$WORK/overlap.xml" <<'XML'
<network><name>ovl</name><forward mode='nat'/><bridge name='ovl'/>
<ip address='192.168.0.1' prefix='16'/></network>
XML
errcase "overlapping subnet" "overlaps network vbr" mv define "$WORK/overlap.xml"
errcase "range outside subnet" "outside subnet" \
	mv create out1 --subnet 10.10.0.1/24 --dhcp 10.11.0.2-10.11.0.9 --nat
errcase "unsupported element" "element <dns> in <network> is not supported" \
	mv define /dev/stdin <<< "<network><name>x</name><dns/></network>"
errcase "undefined network" "not defined" mv start nosuch
errcase "already active" "already active" mv start vbr
errcase "second DHCP server on the bridge" "already served by its DHCP helper" mv serve vbr
# Nothing left behind by a failed start: no bridge (or the one that was
# there untouched), table, helper, run record, definition or log, and the
# ruleset and ip_forward as they were.
nothing_left() { # NAME [BRIDGE-IFINDEX-THAT-MUST-REMAIN]
	if [ -n "${2:-}" ]; then
		[ "$(inh cat /sys/class/net/$1/ifindex 2>/dev/null)" = "$2" ] || { echo "bridge $1 changed"; return 1; }
		[ -z "$(inh ip -o addr show dev $1)" ] || { echo "bridge $1 got an address"; return 1; }
	else
		not inh ip link show $1 2>/dev/null || { echo "bridge $1 left"; return 1; }
	fi
	not inh nft list table ip minivmm-$1 2>/dev/null || { echo "table left"; return 1; }
	no_helper_in_h $1 || { echo "helper left"; return 1; }
	none_exist "$STATE/run/$1.run" "$STATE/run/$1.run.tmp" "$STATE/run/$1.log" "$STATE/networks/$1.xml" \
		"$STATE/autostart/$1" "$STATE/leases/$1.leases" || { echo "state files left"; return 1; }
	[ "$(inh nft list ruleset)" = "$rules_now" ] || { echo "ruleset changed"; return 1; }
	[ "$(inh cat /proc/sys/net/ipv4/ip_forward)" = "$fwd_now" ] || { echo "ip_forward changed"; return 1; }
}
mv stop vbr >/dev/null
rules_now=$(inh nft list ruleset) fwd_now=$(inh cat /proc/sys/net/ipv4/ip_forward)
inh ip link add busy type bridge
busy_idx=$(inh cat /sys/class/net/busy/ifindex)
errcase "bridge name taken" "error: net busy: an interface named busy already exists" \
	mv create busy --subnet 10.30.0.1/24 --dhcp 10.30.0.10-10.30.0.20 --nat
check "... nothing left behind, the existing bridge untouched" nothing_left busy "$busy_idx"
inh ip link del busy
# A failure at start's last step (the run record cannot be written: a
# directory in the way), after the bridge, address, ip_forward, table and
# helper are all in place: every one of them is undone.
mkdir -p "$STATE/run/rb.run.tmp"
errcase "start fails after the bridge exists" "error: net: writing $STATE/run/rb.run: Is a directory" \
	mv create rb --subnet 10.90.0.1/24 --dhcp 10.90.0.10-10.90.0.20 --nat
rmdir "$STATE/run/rb.run.tmp"
check "... nothing left behind" nothing_left rb
mv start vbr >/dev/null
check "vbr: its helper running again" helper_running vbr
inh ip link add addrd type bridge; inh ip addr add 10.40.0.9/24 dev addrd
errcase "subnet already on the host" "overlaps 10.40.0.9/24 on addrd" \
	mv create hostovl --subnet 10.40.0.1/24 --dhcp 10.40.0.10-10.40.0.20 --nat
check "nothing half-created (no bridge, no table)" \
	sh -c "! ip netns exec $H ip link show hostovl 2>/dev/null && ! ip netns exec $H nft list table ip minivmm-hostovl 2>/dev/null"
inh ip link del addrd
mv create unpriv --subnet 10.50.0.1/24 --no-start --nat >/dev/null
chmod -R a+rwX "$STATE"
errcase "no permission" "needs root or CAP_NET_ADMIN" \
	inh setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
	"$MVNET" net --state-dir "$STATE" start unpriv
check "unprivileged start created nothing" sh -c "! ip netns exec $H ip link show unpriv 2>/dev/null"

# A lease file that cannot be written (a full file system: a small tmpfs
# on leases/, in a mount namespace of the helper's own): the client's
# REQUEST gets no ACK (nor its retries: they must not pass as renewals)
# while the write fails, and the client gets its lease once the file can
# be written again.
cp "$STATE/leases/vbr.leases" "$WORK/vbr.leases.saved"
mv create lf --subnet 10.95.0.1/24 --dhcp 10.95.0.10-10.95.0.20 --isolated --no-start >/dev/null
unshare -m sh -c "mount -t tmpfs -o size=64k mvleases '$STATE/leases' &&
	exec ip netns exec $H '$MVNET' net --state-dir '$STATE' start lf" >/dev/null
lfpid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$STATE/run/lf.run" 2>/dev/null)
check "lf: its helper running" helper_running lf
inlf() { nsenter --mount=/proc/$lfpid/ns/mnt "$@"; }
lf_dhcp() {
	ing busybox udhcpc -i eth0 -n -q -f -t 3 -T 1 -s "$WORK/udhcpc.sh" >"$WORK/udhcpc.log" 2>&1
}
if [ -n "$lfpid" ] && inlf grep -q mvleases /proc/mounts; then
	rm -f "$WORK/lease"
	inh ip link set vnet0 master lf
	ing ip link set eth0 address 52:54:00:00:95:01
	for i in $(seq 50); do # STP: the new port forwards after a few seconds
		[ "$(inh cat /sys/class/net/vnet0/brport/state)" = 3 ] && break
		sleep 0.2
	done
	inlf sh -c "dd if=/dev/zero of='$STATE/leases/fill' bs=4k 2>/dev/null; true"
	check "lease file unwritable: the client gets no lease" not lf_dhcp
	check "... although it was offered one and asked for it (only the ACK was withheld)" \
		grep -Eq '(sending|broadcasting) select for 10\.95\.0\.' "$WORK/udhcpc.log"
	check "... no lease obtained, nothing applied" \
		sh -c "! grep -q 'lease of' '$WORK/udhcpc.log' && [ ! -e '$WORK/lease' ]"
	check "... the write failure is logged" \
		grep -q "writing lease file $STATE/leases/lf.leases: No space left on device" "$STATE/run/lf.log"
	inlf rm -f "$STATE/leases/fill"
	check "lease file writable again: the client gets its lease" lf_dhcp
	check "... recorded in the lease file" \
		inlf grep -q "52:54:00:00:95:01 $(val ip) " "$STATE/leases/lf.leases"
	ing ip addr flush dev eth0
	ing ip link set eth0 address 52:54:00:12:34:56
	inh ip link set vnet0 nomaster
else
	bad "lease file unwritable: could not start lf with a tmpfs on leases/"
fi
check "lf: stop" mv stop lf
check "lf: helper gone" helper_gone lf
check "lf: undefine" mv undefine lf
check "vbr's lease file was not touched" cmp -s "$STATE/leases/vbr.leases" "$WORK/vbr.leases.saved"

# A helper whose bridge disappears (e.g. its namespace was deleted) exits.
inh ip link del vbr
sleep 3
check "helper exits when its bridge is gone" helper_gone vbr
check "stop after the bridge vanished reports inactive" not mv stop vbr
check "... and removes the table left behind" not inh nft list table ip minivmm-vbr
check "... and restores ip_forward" [ "$(inh cat /proc/sys/net/ipv4/ip_forward)" = "$fwd_before" ]
check "start again after that" mv start vbr
check "route mode: create" mv create rt --subnet 10.60.0.1/24 --route
check "route mode: forward rules, no masquerade" \
	sh -c "ip netns exec $H nft list table ip minivmm-rt | grep -q 'oifname \"rt\" ip daddr 10.60.0.0/24 accept' &&
	       ! ip netns exec $H nft list table ip minivmm-rt | grep -q masquerade"
check "route mode: stop" mv stop rt
check "route mode: undefine" mv undefine rt
check "stop before autostart" mv stop vbr
check "start --autostart starts vbr" sh -c "ip netns exec $H '$MVNET' net --state-dir '$STATE' start --autostart | grep -q 'Network vbr started'"
check "final stop" mv stop vbr
check "undefine" mv undefine vbr
check "... removes the helper's log and the run record" \
	none_exist "$STATE/run/vbr.log" "$STATE/run/vbr.run"

# Two forwarding networks: ip_forward goes back to what it was before the
# first one started only when the last one stops, whichever stops first.
fwd() { inh cat /proc/sys/net/ipv4/ip_forward; }
fwd_pair() { # BEFORE FIRST-TO-START FIRST-TO-STOP
	local other=fa
	[ "$2" = fa ] && other=fb
	inh sh -c "echo $1 > /proc/sys/net/ipv4/ip_forward"
	mv start "$2" >/dev/null && mv start $other >/dev/null && [ "$(fwd)" = 1 ] &&
		mv stop "$3" >/dev/null && [ "$(fwd)" = 1 ] &&
		mv stop "$([ "$3" = fa ] && echo fb || echo fa)" >/dev/null && [ "$(fwd)" = "$1" ]
}
mv create fa --subnet 10.70.0.1/24 --nat --no-start >/dev/null
mv create fb --subnet 10.71.0.1/24 --route --no-start >/dev/null
for before in 0 1; do
	for first in fa fb; do
		for stop1 in fa fb; do
			check "ip_forward $before: start $first first, stop $stop1 first -> $before" \
				fwd_pair $before $first $stop1
		done
	done
done
inh sh -c "echo $fwd_before > /proc/sys/net/ipv4/ip_forward"
check "undefine the two forwarding networks" sh -c "ip netns exec $H '$MVNET' net --state-dir '$STATE' undefine fa >/dev/null && ip netns exec $H '$MVNET' net --state-dir '$STATE' undefine fb >/dev/null"
check "undefine unpriv" mv undefine unpriv

# undefine when part of the state cannot be removed (a read-only bind
# mount, in a mount namespace of its own): refused with one line, and the
# network stays defined with its autostart mark and leases.
mv create rof --subnet 10.80.0.1/24 --isolated --no-start >/dev/null
mv autostart rof >/dev/null
echo "2000 52:54:00:00:00:01 10.80.0.5 x" > "$STATE/leases/rof.leases"
undefine_ro() { # SUBDIR
	unshare -m sh -c "mount --bind '$STATE/$1' '$STATE/$1' && mount -o remount,bind,ro '$STATE/$1' &&
		exec ip netns exec $H '$MVNET' net --state-dir '$STATE' undefine rof"
}
errcase "undefine with networks/ read-only" \
	"error: net: removing $STATE/networks/rof.xml: Read-only file system" undefine_ro networks
check "... definition, autostart mark and leases all kept" \
	sh -c "[ -e '$STATE/networks/rof.xml' ] && [ -e '$STATE/autostart/rof' ] && grep -q 10.80.0.5 '$STATE/leases/rof.leases'"
errcase "undefine with leases/ read-only" \
	"error: net: removing $STATE/leases/rof.leases: Read-only file system" undefine_ro leases
check "... definition, autostart mark and leases all kept" \
	sh -c "[ -e '$STATE/networks/rof.xml' ] && [ -e '$STATE/autostart/rof' ] && grep -q 10.80.0.5 '$STATE/leases/rof.leases'"
check "... and it still autostarts" sh -c "ip netns exec $H '$MVNET' net --state-dir '$STATE' list | grep -q 'rof *inactive *yes'"
check "undefine rof once writable" mv undefine rof
check "... removes definition, autostart mark and leases" \
	none_exist "$STATE/networks/rof.xml" "$STATE/autostart/rof" "$STATE/autostart/rof.undefining" \
	"$STATE/leases/rof.leases" "$STATE/leases/rof.leases.undefining"
check "nftables ruleset as before" [ "$(inh nft list ruleset)" = "$rules_before" ]
check "links as before" [ "$(inh ip -o link show | awk -F': ' '{print $2}' | sort)" = "$links_before" ]
check "ip_forward as before" [ "$(inh cat /proc/sys/net/ipv4/ip_forward)" = "$fwd_before" ]

echo "$fails failure(s)"
[ $fails -eq 0 ]
