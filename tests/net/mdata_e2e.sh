#!/bin/bash
# net suite: the metadata service on 169.254.169.254, inside network
# namespaces this script creates (and deletes). Two VM-like namespaces on
# the bridge each get their own data (records written as a VM process
# writes them, net/mdata_record.h); a third one on the bridge without a
# lease gets 404; a client off the bridge (an "outside" namespace routed
# through the host, and the host itself) is refused; hostile requests
# (other methods, traversal, a slow client, one VM opening many
# connections) do not stop the service from serving the others.
# No address outside these namespaces is touched.
#   mdata_e2e.sh MVNET     (MVNET: a binary run as `MVNET net ...`)
set -u
MVNET=$1
skip() {
	echo "SKIP: $*"
	if [ "${CI:-}" = true ]; then echo "FAIL: CI=true and the test cannot run"; exit 1; fi
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, bridges, nftables)"
for t in ip nft busybox timeout; do
	command -v $t >/dev/null || skip "needs $t"
done
busybox udhcpc --help >/dev/null 2>&1 || skip "busybox has no udhcpc"
busybox wget --help >/dev/null 2>&1 || skip "busybox has no wget"

SFX=$$
H=mdh$SFX G1=mdg1$SFX G2=mdg2$SFX G3=mdg3$SFX G4=mdg4$SFX O=mdo$SFX
NET=mdn$SFX
NET=${NET:0:12}
ISO=mdi$SFX
ISO=${ISO:0:12}
STATE=$(mktemp -d /tmp/mvmdata-state.XXXXXX)
WORK=$(mktemp -d /tmp/mvmdata-work.XXXXXX)
fails=0
ip netns add $H 2>/dev/null || skip "cannot create network namespaces"

cleanup() {
	ip netns exec $H "$MVNET" net --state-dir "$STATE" stop $NET >/dev/null 2>&1
	ip netns exec $H "$MVNET" net --state-dir "$STATE" stop $ISO >/dev/null 2>&1
	for n in $H $G1 $G2 $G3 $G4 $O; do ip netns del $n 2>/dev/null; done
	rm -rf "$STATE" "$WORK" "/etc/netns/$H"
}
trap cleanup EXIT

ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
inh() { ip netns exec $H "$@"; }
mv() { inh "$MVNET" net --state-dir "$STATE" "$@"; }
MD=http://169.254.169.254
get() { # NS PATH: the body, or failure
	ip netns exec $1 timeout 5 busybox wget -q -O - "$MD$2" 2>/dev/null
}
is() { # NS PATH WANT
	local got
	got=$(get $1 "$2") || { echo "GET $2 from $1 failed"; return 1; }
	[ "$got" = "$3" ] || { echo "GET $2 from $1: '$got', want '$3'"; return 1; }
}
# A raw request from NS through bash's /dev/tcp; prints the status line.
raw() { # NS REQUEST
	ip netns exec $1 timeout 5 bash -c 'exec 3<>/dev/tcp/169.254.169.254/80 || exit 1
		printf "%b" "$1" >&3; head -n 1 <&3 | tr -d "\r"' _ "$2"
}

mkdir -p /etc/netns/$H
echo "nameserver 127.0.0.1" > /etc/netns/$H/resolv.conf	# no DNS needed here
for n in $G1 $G2 $G3 $G4 $O; do ip netns add $n; done
inh ip link set lo up
check "create the network" mv create $NET --subnet 192.168.123.1/24 \
	--dhcp 192.168.123.100-192.168.123.150 --nat
check "the table routes 169.254.169.254:80 from the bridge to the helper" sh -c \
	"ip netns exec $H nft list table ip minivmm-$NET | grep -q 'iifname \"$NET\" ip daddr 169.254.169.254 tcp dport 80 dnat to 192.168.123.1:8775'"

cat > "$WORK/udhcpc.sh" <<'EOF2'
#!/bin/sh
case "$1" in
deconfig) ip addr flush dev $interface ;;
bound|renew)
	ip addr add $ip/$mask dev $interface
	[ -z "$router" ] || ip route replace default via $router
	# RFC 3442 routes: "DEST/LEN GATEWAY" pairs
	set -- $staticroutes
	while [ $# -ge 2 ]; do ip route replace $1 via $2 dev $interface; shift 2; done
	echo "$ip" > "$LEASE_FILE" ;;
esac
EOF2
chmod +x "$WORK/udhcpc.sh"
i=0
for n in $G1 $G2 $G3; do
	i=$((i + 1))
	ip link add m0-$SFX type veth peer name m1-$SFX
	ip link set m1-$SFX netns $H name vm$i; inh ip link set vm$i master $NET; inh ip link set vm$i up
	ip link set m0-$SFX netns $n name eth0
	ip netns exec $n ip link set eth0 address 52:54:00:ab:00:0$i
	ip netns exec $n ip link set eth0 up; ip netns exec $n ip link set lo up
done
# outside: a host routed to the guests' subnet and 169.254.169.254 through the host
ip link add o0-$SFX type veth peer name o1-$SFX
ip link set o1-$SFX netns $H name up0; ip link set o0-$SFX netns $O name eth0
inh ip addr add 10.201.0.1/24 dev up0; inh ip link set up0 up
ip netns exec $O ip addr add 10.201.0.2/24 dev eth0; ip netns exec $O ip link set eth0 up
ip netns exec $O ip route add 192.168.123.0/24 via 10.201.0.1
ip netns exec $O ip route add 169.254.169.254/32 via 10.201.0.1

lease() { # NS: udhcpc in NS; prints the address
	LEASE_FILE=$WORK/lease-$1 ip netns exec $1 busybox udhcpc -i eth0 -n -q -f -t 6 -T 2 \
		-s "$WORK/udhcpc.sh" >"$WORK/udhcpc-$1.log" 2>&1 && cat "$WORK/lease-$1"
}
ip1=$(lease $G1); ip2=$(lease $G2)
check "guest 1 leased $ip1" [ -n "$ip1" ]
check "guest 2 leased $ip2" [ -n "$ip2" ]
# guest 3: on the bridge, an address in the range, but no lease
ip netns exec $G3 ip addr add 192.168.123.149/24 dev eth0
ip netns exec $G3 ip route add default via 192.168.123.1

# The records, as a VM process writes them (net/mdata_record.h).
REC=$STATE/run/mdata/$NET	# the bridge is named after the network
record() { # MAC ID HOST KEY USERDATA
	mkdir -p "$REC/.tmp" && printf '%s\n' "$2" > "$REC/.tmp/instance-id" &&
		printf '%s\n' "$3" > "$REC/.tmp/hostname" &&
		printf '%s\n' "$4" > "$REC/.tmp/ssh-keys" &&
		printf "%s" "$5" > "$REC/.tmp/user-data" && command mv "$REC/.tmp" "$REC/$1"
}
record 52:54:00:ab:00:01 11111111-2222-8333-8444-555555555555 vm-one \
	"ssh-ed25519 AAAAkeyone one@lab" $'#!/bin/sh\necho one\n'
record 52:54:00:ab:00:02 66666666-7777-8888-9999-000000000000 vm-two \
	"ssh-ed25519 AAAAkeytwo two@lab" $'#!/bin/sh\necho two\n'
record 52:54:00:ab:00:03 33333333-3333-8333-8333-333333333333 vm-three "" ""

check "guest 1: its instance-id (CirrOS's first request)" \
	is $G1 /2009-04-04/meta-data/instance-id i-11111111-2222-8333-8444-555555555555
check "guest 1: latest/meta-data/ listing" \
	is $G1 /latest/meta-data/ "$(printf 'hostname\ninstance-id\nlocal-hostname\nlocal-ipv4\npublic-keys/')"
check "guest 1: hostname" is $G1 /latest/meta-data/hostname vm-one
check "guest 1: local-hostname" is $G1 /latest/meta-data/local-hostname vm-one
check "guest 1: local-ipv4 is its lease" is $G1 /latest/meta-data/local-ipv4 "$ip1"
check "guest 1: public-keys/" is $G1 /latest/meta-data/public-keys/ 0=minivmm-0
check "guest 1: its key" is $G1 /2009-04-04/meta-data/public-keys/0/openssh-key \
	"ssh-ed25519 AAAAkeyone one@lab"
check "guest 1: its user-data" is $G1 /latest/user-data "$(printf '#!/bin/sh\necho one')"
check "guest 1: NoCloud meta-data" sh -c \
	"ip netns exec $G1 timeout 5 busybox wget -q -O - $MD/nocloud/meta-data | grep -qx 'instance-id: \"11111111-2222-8333-8444-555555555555\"'"
check "guest 2: its own instance-id, not guest 1's" \
	is $G2 /latest/meta-data/instance-id i-66666666-7777-8888-9999-000000000000
check "guest 2: its own key" is $G2 /latest/meta-data/public-keys/0/openssh-key \
	"ssh-ed25519 AAAAkeytwo two@lab"
check "guest 2: its own user-data" is $G2 /latest/user-data "$(printf '#!/bin/sh\necho two')"
check "guest 3 (no lease, though its MAC has a record): nothing" \
	sh -c "! ip netns exec $G3 timeout 5 busybox wget -q -O - $MD/latest/meta-data/instance-id"
check "guest 3: 404 on the wire" [ "$(raw $G3 'GET /latest/meta-data/instance-id HTTP/1.0\r\n\r\n')" = "HTTP/1.1 404 Not Found" ]

check "outside: 169.254.169.254 is not served" \
	sh -c "! ip netns exec $O timeout 5 busybox wget -q -O - $MD/latest/meta-data/instance-id"
check "outside: the helper's port on the bridge address is refused" \
	sh -c "! ip netns exec $O timeout 5 bash -c 'exec 3<>/dev/tcp/192.168.123.1/8775' 2>/dev/null"
# The host's own clients may connect (the kernel delivers local traffic
# over lo to a socket bound to the bridge), but their source is a host
# address with no lease: no VM's data.
check "the host itself gets no VM's data" sh -c \
	"! ip netns exec $H timeout 5 busybox wget -q -O - http://192.168.123.1:8775/latest/meta-data/instance-id"
# Guest 3 takes guest 1's address and answers ARP for it (ARP spoofing):
# the host's neighbour entry then names guest 3's MAC, not the lease's.
ip netns exec $G3 ip addr flush dev eth0
ip netns exec $G3 ip addr add $ip1/24 dev eth0
ip netns exec $G3 ip route add default via 192.168.123.1
inh ip neigh replace $ip1 lladdr 52:54:00:ab:00:03 dev $NET nud reachable
check "guest 3 with guest 1's address and its ARP entry: 404" \
	[ "$(raw $G3 'GET /latest/meta-data/instance-id HTTP/1.0\r\n\r\n')" = "HTTP/1.1 404 Not Found" ]
ip netns exec $G3 ip addr flush dev eth0
inh ip neigh del $ip1 dev $NET

check "POST: 405" [ "$(raw $G1 'POST /latest/user-data HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')" = "HTTP/1.1 405 Method Not Allowed" ]
check "path traversal: 400" [ "$(raw $G1 'GET /latest/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ]
check "encoded dots: 400" [ "$(raw $G1 'GET /latest/%2e%2e/x HTTP/1.1\r\nHost: x\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ]
big=$(head -c 9000 /dev/zero | tr '\0' a)
check "oversized header: 431" [ "$(raw $G1 "GET / HTTP/1.1\r\nHost: x\r\nX: $big\r\n\r\n")" = "HTTP/1.1 431 Request Header Fields Too Large" ]

# Guest 1 opens many connections and sends nothing: it gets its share,
# the others are closed, and guest 2 is still served meanwhile.
ip netns exec $G1 bash -c 'for i in $(seq 20); do exec {fd}<>/dev/tcp/169.254.169.254/80 || exit 1; done; sleep 8' \
	>/dev/null 2>&1 &
hog=$!
sleep 1
check "guest 2 served while guest 1 holds its connections" \
	is $G2 /latest/meta-data/hostname vm-two
check "guest 1's connections beyond its share are closed" sh -c \
	"[ \"\$(ip netns exec $H ss -Htn state established '( sport = :8775 )' | wc -l)\" -le 8 ]"
wait $hog
check "a slow client is cut off (408) after its head timeout" sh -c \
	"ip netns exec $G1 timeout 15 bash -c 'exec 3<>/dev/tcp/169.254.169.254/80; printf \"GET / HT\" >&3; head -n 1 <&3' | grep -q '408'"
check "guest 1 still served" is $G1 /latest/meta-data/hostname vm-one

# An isolated network: no router for its guests, but DHCP gives them a
# route to 169.254.169.254 (option 121) via the bridge, where the table's
# DNAT takes it to the helper.
check "create an isolated network" mv create $ISO --subnet 192.168.124.1/24 \
	--dhcp 192.168.124.100-192.168.124.150 --isolated
ip link add m0-$SFX type veth peer name m1-$SFX
ip link set m1-$SFX netns $H name vm4; inh ip link set vm4 master $ISO; inh ip link set vm4 up
ip link set m0-$SFX netns $G4 name eth0
ip netns exec $G4 ip link set eth0 address 52:54:00:ab:00:04
ip netns exec $G4 ip link set eth0 up
ip4=$(lease $G4)
check "isolated guest leased $ip4" [ -n "$ip4" ]
check "isolated guest: no default route, a route to 169.254.169.254" sh -c \
	"! ip netns exec $G4 ip route | grep -q default &&
	 ip netns exec $G4 ip route | grep -q '^169.254.169.254 via 192.168.124.1'"
REC4=$STATE/run/mdata/$ISO
mkdir -p "$REC4/52:54:00:ab:00:04" && echo iso-vm-4 > "$REC4/52:54:00:ab:00:04/instance-id"
check "isolated guest: its instance-id" is $G4 /latest/meta-data/instance-id i-iso-vm-4
check "isolated guest: hostname defaults from the instance-id" \
	is $G4 /latest/meta-data/hostname minivmm-iso-vm-4
check "stop the isolated network" mv stop $ISO
check "its table is gone" sh -c "! ip netns exec $H nft list table ip minivmm-$ISO >/dev/null 2>&1"

check "stop" mv stop $NET
check "helper's metadata counters logged" grep -q "metadata $NET: .* requests" "$STATE/run/$NET.log"
check "table gone" sh -c "! ip netns exec $H nft list table ip minivmm-$NET >/dev/null 2>&1"

[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
[ $fails -eq 0 ]
