#!/bin/sh
# pkg-version.sh [DESCRIBE [COUNT]]
#
# Prints tamon's package version, the part before "-r<release>", for the
# OpenWrt SDK (openwrt/Makefile, luci-app-tamon/Makefile) and for
# "make ipk" (scripts/ipk), so that both name packages the same way.
# DESCRIBE is "git describe --always --dirty" (the version tamond -version
# prints), COUNT the number of commits; both are read from git if not given.
#
#   v1.2.3              1.2.3
#   v1.2.3-4-g0abc123   1.2.3.4~0abc123    4 commits after the tag
#   v1.3.0-rc1          1.3.0~rc1          "~" sorts before the release
#   0abc123             0.0.COUNT~0abc123  no tag yet: the commit count orders
#   ...-dirty           ... .dirty         uncommitted changes
#   anything else       0.0.0              (not a git checkout)
#
# The result uses only [0-9A-Za-z.~], which opkg and apk both accept.
set -eu

cd "$(dirname "$0")/.."
describe=${1-}
count=${2-}
if [ -z "$describe" ]; then
	describe=$(git describe --always --dirty 2>/dev/null) || describe=
fi

dirty=
case $describe in
*-dirty)
	dirty=.dirty
	describe=${describe%-dirty}
	;;
esac

# clean TAG: strip one leading "v", turn "-" into "~" and anything else
# outside [0-9A-Za-z.~] into "."; print nothing unless it starts with a digit.
clean() {
	t=${1#v}
	case $t in
	[0-9]*) printf '%s\n' "$t" | tr -- '-' '~' | tr -c -- '0-9A-Za-z.~\n' '.' ;;
	esac
}

ahead=$(printf '%s\n' "$describe" | sed -n 's/^\(.*\)-\([0-9][0-9]*\)-g\([0-9a-f][0-9a-f]*\)$/\1 \2 \3/p')
if [ -n "$ahead" ]; then
	# shellcheck disable=SC2086 # three words: tag, commits, hash
	set -- $ahead
	tag=$(clean "$1")
	if [ -n "$tag" ]; then
		echo "$tag.$2~$3$dirty"
		exit 0
	fi
	describe=$3
fi

case $describe in
'' | *[!0-9a-f]*) ;;
*)
	if [ -z "$count" ]; then
		count=$(git rev-list --count HEAD 2>/dev/null) || count=0
	fi
	echo "0.0.$count~$describe$dirty"
	exit 0
	;;
esac

tag=$(clean "$describe")
if [ -n "$tag" ]; then
	echo "$tag$dirty"
else
	echo "0.0.0"
fi
