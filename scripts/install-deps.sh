#!/bin/sh
# Installs what insitu needs to build, test and benchmark on Debian 12 (bookworm), from
# Debian's archive only. Run as root (or with sudo available). Does nothing when every
# package is already installed.
set -eu
PACKAGES="build-essential autoconf automake libtool pkg-config ca-certificates tzdata
  libsqlite3-dev sqlite3 libspatialite-dev libjansson-dev libcurl4-openssl-dev libssl-dev
  libxml2-dev libpq-dev libgdal-dev gdal-bin libmicrohttpd-dev libcunit1-dev
  libmosquitto-dev mosquitto mosquitto-clients
  postgresql postgresql-15-postgis-3 python3 python3-gdal python3-numpy python3-shapely
  valgrind wrk curl zip jq openssl clang libclang-rt-14-dev"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing:$missing" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# a throw-away PostgreSQL cluster is started by the tests; the package's own is not needed
[ -d /etc/postgresql-common ] || { $SUDO mkdir -p /etc/postgresql-common && \
  echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null; }
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
