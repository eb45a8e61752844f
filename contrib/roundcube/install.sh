#!/bin/sh
# Install the dms_master Roundcube plugin (contrib/roundcube/dms_master)
# into Roundcube's plugin directory: Debian's /var/lib/roundcube/plugins
# by default. Then add 'dms_master' to $config['plugins'] in Roundcube's
# config.inc.php (contrib/roundcube/README.md).
#
#   sh contrib/roundcube/install.sh [PLUGINS_DIR]
set -eu
src=$(cd "$(dirname "$0")" && pwd)/dms_master
dir=${1:-/var/lib/roundcube/plugins}
[ -d "$dir" ] || { echo "install.sh: $dir: no such directory (is Roundcube installed?)" >&2; exit 1; }
# a new copy beside the old one, then renamed: Roundcube never sees half
tmp=$(mktemp -d "$dir/.dms_master.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -R "$src/." "$tmp/"
chmod -R u=rwX,go=rX "$tmp"
[ -f "$dir/dms_master/config.inc.php" ] && cp -p "$dir/dms_master/config.inc.php" "$tmp/"
rm -rf "$dir/dms_master"
mv "$tmp" "$dir/dms_master"
trap - EXIT
echo "installed $dir/dms_master; add 'dms_master' to \$config['plugins']"
