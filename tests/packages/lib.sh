# shellcheck shell=sh disable=SC2154,SC2034
# Shared by clean-root.sh and dms-recipe.sh (sourced): a clean Debian
# root, unpacked afresh, and running commands in it.
#
# new_root SUITE: sets $root to a fresh copy of the pristine root of
# SUITE (bookworm or trixie), made from Debian's archive with nothing but
# apt installed and kept as /var/tmp/dms-clean-SUITE.tar. Its
# policy-rc.d keeps the packages' scripts from starting services, as in
# any chroot. Removed on exit. Mounts are made only in namespaces of
# their own (in_root, in_net): the host's view of $root stays plain
# directories, safe to remove.

say() { echo "$name($suite): $*"; }
fail() { echo "$name($suite): FAILED: $*" >&2; exit 1; }

new_root() {
	cache=/var/tmp/dms-clean-$1.tar
	if [ ! -s "$cache" ]; then
		mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/* *$/\1/p' \
			/etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
		mirror=${mirror:-http://deb.debian.org/debian}
		say "making the clean root from $mirror"
		rm -f "$cache.tmp.tar"
		sh "$top/scripts/mmdebstrap.sh" --quiet --mode=root --variant=apt \
			--customize-hook='printf "#!/bin/sh\nexit 101\n" > "$1/usr/sbin/policy-rc.d"; chmod 755 "$1/usr/sbin/policy-rc.d"' \
			"$1" "$cache.tmp.tar" "deb $mirror $1 main" \
			"deb $mirror $1-updates main" \
			"deb $mirror-security $1-security main"
		mv "$cache.tmp.tar" "$cache"
	fi
	root=$(mktemp -d /var/tmp/dms-clean-root.XXXXXX)
	trap 'rm -rf "$root"' EXIT
	tar -C "$root" -xf "$cache"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
}

# COMMAND in the root, on the host's network (apt-get reaches Debian's
# archive)
in_root() {
	unshare --mount --propagation private -- sh -c '
		root=$1; shift
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
	' sh "$root" "$@"
}

# apt-get install PACKAGES in the root, from Debian's archive; its output
# only when it fails
apt_install() {
	in_root apt-get -q update >/dev/null
	in_root apt-get -q -y install "$@" >"$root/install.log" 2>&1 ||
		{ cat "$root/install.log"; fail "apt-get install $*"; }
}

# SCRIPT (sh) on the host, in a private network namespace, after starting
# the root's Dovecot there; Dovecot is stopped after. In SCRIPT, "r CMD"
# runs CMD in the root and $top is the source tree; ARGS are $1...
in_net() {
	script=$1; shift
	unshare --mount --net --propagation private -- sh -c '
		set -eu
		root=$1 top=$2 script=$3
		shift 3
		ip link set lo up
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		mount -t tmpfs tmpfs "$root/run"
		r() { chroot "$root" /usr/bin/env -i \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
		stop() { r doveadm stop >/dev/null 2>&1 || true; }
		trap stop EXIT
		r dovecot
		eval "$script"
	' sh "$root" "$top" "$script" "$@"
}

# deliver a message to USER (Dovecot's LDA, in the root)
deliver_script='printf "From: a@example.net\nSubject: packaged\n\nhello\n" |
	r /usr/lib/dovecot/dovecot-lda -d "$1" -f a@example.net'
