#!/usr/bin/env bash
# The domain verbs through the minivmm binary on a temporary state directory
# (no root, no KVM): define from the lab's XML and from flags, list, dominfo,
# domblklist, domiflist, dumpxml, edit (with a failed edit re-opened),
# autostart, undefine; stdout compared byte for byte with virsh's.
set -u
M=${1:?usage: dom_cli.sh path/to/minivmm}
T=$(mktemp -d /tmp/minivmm-domcli.XXXXXX)
trap 'rm -rf "$T"' EXIT
export MINIVMM_STATE_DIR=$T/state
unset VISUAL
fails=0

# check NAME EXPECTED-RC EXPECTED-STDOUT -- COMMAND...
check() {
	local name=$1 rc=$2 want=$3 got st
	shift 4
	got=$("$@" 2>"$T/err"; echo "rc=$?")
	st=${got##*rc=}
	got=${got%rc=*}
	if [ "$st" != "$rc" ] || [ "$got" != "$want" ]; then
		echo "FAIL $name: rc $st (wanted $rc)"
		diff <(printf '%s' "$want") <(printf '%s' "$got") | head -20
		sed 's/^/  stderr: /' "$T/err" | head -5
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}
err_has() {
	if grep -qF -- "$2" "$T/err"; then echo "ok   $1"; else
		echo "FAIL $1: stderr lacks '$2':"; sed 's/^/  /' "$T/err" | head -5
		fails=$((fails + 1))
	fi
}

cat >"$T/vmhost.xml" <<'XML'
<domain type='kvm'>
  <name>vmhost</name>
  <memory unit='KiB'>1024000</memory>
  <currentMemory unit='KiB'>1024000</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='host-passthrough'/>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <devices>
    <emulator>/usr/libexec/qemu-kvm</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/vmhost.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='bridge'>
      <source bridge='vbr'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'/>
    <console type='pty'>
      <target type='serial'/>
    </console>
    <graphics type='vnc' port='-1'/>
  </devices>
</domain>
XML

check "list, nothing defined" 0 $' Id   Name   State\n--------------------\n\n' -- "$M" list --all
check "define the lab XML" 0 "Domain 'vmhost' defined from $T/vmhost.xml"$'\n\n' -- \
	"$M" define "$T/vmhost.xml"
err_has "define warns about <graphics>" "vmhost.xml:34: <graphics> ignored"
err_has "define warns about <emulator>" "vmhost.xml:20: <emulator> ignored"
[ -f "$T/state/domains/vmhost.xml" ] && echo "ok   stored as domains/vmhost.xml" ||
	{ echo "FAIL no domains/vmhost.xml"; fails=$((fails + 1)); }

uuid=$(sed -n 's/.*<uuid>\(.*\)<\/uuid>.*/\1/p' "$T/state/domains/vmhost.xml")
mac=$(sed -n "s/.*<mac address='\(.*\)'\/>.*/\1/p" "$T/state/domains/vmhost.xml")
[[ $uuid =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] &&
	[[ $mac =~ ^52:54:00(:[0-9a-f]{2}){3}$ ]] && echo "ok   uuid $uuid and MAC $mac written back" ||
	{ echo "FAIL uuid '$uuid' / mac '$mac'"; fails=$((fails + 1)); }

# the lab edits node_base.xml (no uuid) and defines it again: same domain
check "define the lab XML again" 0 "Domain 'vmhost' defined from $T/vmhost.xml"$'\n\n' -- \
	"$M" define "$T/vmhost.xml"
grep -q "<uuid>$uuid</uuid>" "$T/state/domains/vmhost.xml" && echo "ok   uuid kept on redefine" ||
	{ echo "FAIL redefine changed the uuid"; fails=$((fails + 1)); }
grep -q "<mac address='$mac'/>" "$T/state/domains/vmhost.xml" && echo "ok   MAC kept on redefine" ||
	{ echo "FAIL redefine changed the MAC"; fails=$((fails + 1)); }

check "list --all" 0 $' Id   Name     State\n-------------------------\n -    vmhost   shut off\n\n' -- \
	"$M" list --all
check "list (running only)" 0 $' Id   Name   State\n--------------------\n\n' -- "$M" list
check "list --all -q" 0 $' -   vmhost   shut off\n' -- "$M" list --all -q
check "list --name --all" 0 $'vmhost\n\n' -- "$M" list --name --all
check "dominfo" 0 "Id:             -
Name:           vmhost
UUID:           $uuid
OS Type:        hvm
State:          shut off
CPU(s):         2
Max memory:     1024000 KiB
Used memory:    1024000 KiB
Persistent:     yes
Autostart:      disable
Managed save:   no
Security model: none
Security DOI:   0

" -- "$M" dominfo vmhost
check "domblklist" 0 ' Target   Source
----------------------------------------------
 vda      /var/lib/libvirt/images/vmhost.img

' -- "$M" domblklist vmhost
check "domiflist" 0 " Interface   Type     Source   Model    MAC
-----------------------------------------------------------
 -           bridge   vbr      virtio   $mac

" -- "$M" domiflist vmhost

# dumpxml is the stored document; defining it again changes nothing
"$M" dumpxml vmhost >"$T/dump.xml" 2>/dev/null
head -c -1 "$T/dump.xml" | cmp -s - "$T/state/domains/vmhost.xml" && echo "ok   dumpxml = stored" ||
	{ echo "FAIL dumpxml differs from the stored file"; fails=$((fails + 1)); }
check "redefine from dumpxml" 0 "Domain 'vmhost' defined from $T/dump.xml"$'\n\n' -- \
	"$M" define "$T/dump.xml"
grep -q "<uuid>$uuid</uuid>" "$T/state/domains/vmhost.xml" && echo "ok   uuid kept" ||
	{ echo "FAIL uuid changed"; fails=$((fails + 1)); }

# refused: another uuid under the same name; a SATA disk
sed "s/<uuid>.*<\/uuid>/<uuid>00000000-0000-4000-8000-000000000001<\/uuid>/" "$T/dump.xml" >"$T/other-uuid.xml"
check "define: same name, other uuid" 1 $'\n' -- "$M" define "$T/other-uuid.xml"
err_has "  names the holder" "domain 'vmhost' already exists with uuid $uuid"
sed "s/bus='virtio'/bus='sata'/; s/<name>vmhost/<name>satavm/; /<uuid>/d" "$T/vmhost.xml" >"$T/sata.xml"
check "define: sata disk refused" 1 $'\n' -- "$M" define "$T/sata.xml"
err_has "  says why, with the line" "sata.xml:24: <target bus='sata'>: minivmm's disks are virtio only"
check "dominfo of an unknown domain" 1 $'\n' -- "$M" dominfo nope
err_has "  virsh's words" "failed to get domain 'nope'"
check "list takes no argument" 1 '' -- "$M" list vmhost
err_has "  said" "list: expected no argument"
check "unknown option" 1 $'\n' -- "$M" list --bogus
err_has "  named" "list: unknown option '--bogus'"

# define from flags, with another state dir given by --state-dir
printf 'QFI\373\0\0\0\3' >"$T/q.img"
truncate -s 1M "$T/r.img"
check "define from flags" 0 $'Domain \'lab2\' defined\n\n' -- \
	"$M" define --state-dir "$T/s2" --name lab2 --disk "$T/q.img" --disk "$T/r.img,readonly" \
	--bridge vbr,mac=52:54:00:00:00:02 --network default --memory 1G --cpus 2
dashes=$(printf "%$((7 + 9 + 9 + ${#T} + 6 + 3))s" "" | tr ' ' -)
check "domblklist --details (flags)" 0 " Type   Device   Target   Source
$dashes
 file   disk     vda      $T/q.img
 file   disk     vdb      $T/r.img

" -- "$M" domblklist lab2 --details --state-dir "$T/s2"
grep -q "<driver name='qemu' type='qcow2'/>" "$T/s2/domains/lab2.xml" &&
	grep -q "<driver name='qemu' type='raw'/>" "$T/s2/domains/lab2.xml" &&
	grep -q "<readonly/>" "$T/s2/domains/lab2.xml" &&
	echo "ok   formats read from the headers, readonly stored" ||
	{ echo "FAIL flags XML:"; cat "$T/s2/domains/lab2.xml"; fails=$((fails + 1)); }
"$M" domiflist lab2 --state-dir "$T/s2" 2>/dev/null | grep -q "^ -           network   default   virtio   52:54:00:" &&
	echo "ok   --network NIC" || { echo "FAIL --network NIC"; fails=$((fails + 1)); }
"$M" dominfo lab2 --state-dir "$T/s2" 2>/dev/null | grep -q "^Max memory:     1048576 KiB$" &&
	echo "ok   --memory 1G" || { echo "FAIL --memory"; fails=$((fails + 1)); }

# autostart
check "autostart" 0 $'Domain \'vmhost\' marked as autostarted\n\n' -- "$M" autostart vmhost
[ -f "$T/state/domains/autostart/vmhost" ] && echo "ok   domains/autostart/vmhost" ||
	{ echo "FAIL no autostart mark"; fails=$((fails + 1)); }
"$M" dominfo vmhost 2>/dev/null | grep -q "^Autostart:      enable$" && echo "ok   dominfo: enable" ||
	{ echo "FAIL dominfo autostart"; fails=$((fails + 1)); }
check "autostart -q says nothing" 0 "" -- "$M" autostart -q vmhost
check "autostart --disable" 0 $'Domain \'vmhost\' unmarked as autostarted\n\n' -- \
	"$M" autostart --disable vmhost

# edit: unchanged, changed, invalid then fixed on the second try, invalid and given up
check "edit, no change" 0 $'Domain \'vmhost\' XML configuration not changed.\n\n' -- \
	env EDITOR=true "$M" edit vmhost
printf '#!/bin/sh\nsed -i "s/>2</>4</" "$1"\n' >"$T/ed4.sh"
chmod +x "$T/ed4.sh"
mkdir "$T/it's tmp"
check "edit (TMPDIR with a quote and a space)" 0 $'Domain \'vmhost\' XML configuration edited.\n\n' -- \
	env EDITOR="$T/ed4.sh" TMPDIR="$T/it's tmp" "$M" edit vmhost
[ -z "$(ls -A "$T/it's tmp")" ] && echo "ok   temporary file removed" ||
	{ echo "FAIL edit left a file"; fails=$((fails + 1)); }
"$M" dominfo vmhost 2>/dev/null | grep -q "^CPU(s):         4$" && echo "ok   edit took effect" ||
	{ echo "FAIL edit did not take effect"; fails=$((fails + 1)); }
cat >"$T/ed.sh" <<'ED'
#!/bin/sh
# first run: break the disk bus; second run: repair it
if [ -e "$0.ran" ]; then sed -i "s/bus='ide'/bus='virtio'/; s/>4</>3</" "$1"
else touch "$0.ran"; sed -i "s/bus='virtio'/bus='ide'/" "$1"; fi
ED
chmod +x "$T/ed.sh"
check "edit: invalid, re-opened, fixed" 0 $'Failed. Try again? [y,n,?]: Domain \'vmhost\' XML configuration edited.\n\n' -- \
	sh -c "echo y | EDITOR='$T/ed.sh' '$M' edit vmhost"
err_has "  the error named the line" "<target bus='ide'>"
"$M" dominfo vmhost 2>/dev/null | grep -q "^CPU(s):         3$" && echo "ok   fixed edit saved" ||
	{ echo "FAIL fixed edit not saved"; fails=$((fails + 1)); }
cp "$T/state/domains/vmhost.xml" "$T/before.xml"
check "edit: invalid, given up" 1 $'Failed. Try again? [y,n,?]: \n' -- \
	sh -c "echo n | EDITOR=\"sed -i s/hvm/exe/\" '$M' edit vmhost"
cmp -s "$T/before.xml" "$T/state/domains/vmhost.xml" && echo "ok   definition unchanged" ||
	{ echo "FAIL definition changed"; fails=$((fails + 1)); }

# a damaged definition is listed, named with its line when read, and can be undefined
printf '<domain type="kvm">\n<name>broken</name>\n<memory>1</memory>\n<hostdev/>\n</domain>\n' \
	>"$T/state/domains/broken.xml"
check "list shows a damaged definition" 0 $' Id   Name     State\n-------------------------\n -    broken   shut off\n -    vmhost   shut off\n\n' -- \
	"$M" list --all
check "dominfo of a damaged definition" 1 $'\n' -- "$M" dominfo broken
err_has "  names file and line" "domains/broken.xml:4: element <hostdev> in <domain> is not supported"
check "undefine a damaged definition" 0 $'Domain \'broken\' has been undefined\n\n' -- \
	"$M" undefine broken
check "undefine an unknown domain" 1 $'\n' -- "$M" undefine nope
err_has "  virsh's words" "failed to get domain 'nope'"
check "a name that is a path" 1 $'\n' -- "$M" dominfo ../../etc/passwd
err_has "  refused" "'../../etc/passwd' is not a valid domain name"

# undefine: the definition and its autostart mark go, the disk stays
"$M" autostart vmhost >/dev/null 2>&1
check "undefine" 0 $'Domain \'vmhost\' has been undefined\n\n' -- "$M" undefine vmhost
[ ! -e "$T/state/domains/vmhost.xml" ] && [ ! -e "$T/state/domains/autostart/vmhost" ] &&
	echo "ok   definition and autostart mark removed" ||
	{ echo "FAIL leftovers"; fails=$((fails + 1)); }
check "undefine --state-dir: disks stay" 0 $'Domain \'lab2\' has been undefined\n\n' -- \
	"$M" undefine lab2 --state-dir "$T/s2"
[ -f "$T/q.img" ] && [ -f "$T/r.img" ] && echo "ok   disk images kept" ||
	{ echo "FAIL disk images removed"; fails=$((fails + 1)); }
check "list --all after undefine" 0 $' Id   Name   State\n--------------------\n\n' -- "$M" list --all
# the state dir is the one `minivmm net` uses
"$M" net list >/dev/null 2>&1 && [ -d "$T/state/networks" ] && echo "ok   shared with minivmm net" ||
	{ echo "FAIL net list on the same state dir"; fails=$((fails + 1)); }

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
