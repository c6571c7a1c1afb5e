#!/bin/sh
# Installs what building, testing and the demo need on Debian 12, with
# apt-get, when anything is missing.  Run as root (or with sudo).
# clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes,
# only recommended by clang-14) are for the fuzz targets (tests/fuzz).
# The tests also use, so that none of them skips: mandoc (man page lint),
# man-db (lexgrog) and groff-base, strace, systemd (systemd-analyze
# verify) and libsystemd-dev (sd_notify), passwd (useradd) and util-linux
# (runuser, setpriv) for the root tests, procps (ps), bash.
# tests/packaging.sh installs the packaging tools itself.
set -e
PKGS="build-essential autoconf automake libtool pkg-config \
libcurl4-openssl-dev libjson-c-dev liblmdb-dev lmdb-utils libyaml-dev \
libinih-dev libcmocka-dev python3 curl jq util-linux \
libmicrohttpd-dev \
clang libclang-rt-14-dev \
mandoc man-db groff-base strace systemd libsystemd-dev passwd procps bash"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "installing:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
