#!/usr/bin/env bash
# Base images from Debian's packages, for a Docker engine that cannot reach an image registry:
#   shop-debian/bookworm     debootstrap --variant=minbase bookworm into a folder, then `docker import`
#   shop-debian/python:3.11  Debian's python3 and venv on it: the shop Dockerfile's BASE_IMAGE and moto's base
# docker-compose.debian.yml builds PostgreSQL, Redis and moto's S3 server on these. Existing images are kept
# unless --rebuild is given. Needs root (debootstrap). DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR default to the
# mirrors apt uses on this machine, else deb.debian.org. Certificate authorities this machine trusts beyond
# Debian's set (a TLS-inspecting proxy: regular *.pem files in /etc/ssl/certs, /usr/local/share/ca-certificates)
# are trusted in the images too, so pip can reach PyPI from inside a build as it does from here.
set -euo pipefail
cd "$(dirname "$0")"
rebuild=false
[ "${1:-}" = --rebuild ] && rebuild=true
BOOKWORM=${SHOP_DEBIAN_IMAGE:-shop-debian/bookworm:latest}
PYTHON=${SHOP_PYTHON_IMAGE:-shop-debian/python:3.11}

apt_uri() {  # the first URI in apt's sources whose path matches $1
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -E '^[[:space:]]*(deb[[:space:]]|URIs:)' | grep -oE 'https?://[^[:space:]]+' | grep -E "$1" | head -n1 || true
}
mirror=${DEBIAN_MIRROR:-$(apt_uri '/debian/?$')}
mirror=${mirror:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-$(apt_uri '/debian-security/?$')}
security=${security:-http://deb.debian.org/debian-security}

exists() { docker image inspect "$1" >/dev/null 2>&1; }

if $rebuild || ! exists "$BOOKWORM"; then
  rootfs=$(mktemp -d /var/tmp/shop-debian-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  echo "debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$rootfs.log" 2>&1 \
    || { tail -n 30 "$rootfs.log"; exit 1; }
  rm -f "$rootfs.log"
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
    "${mirror%/}" "${mirror%/}" "${security%/}" > "$rootfs/etc/apt/sources.list"
  for ca in /etc/ssl/certs/*.pem /usr/local/share/ca-certificates/*.crt; do
    [ -f "$ca" ] && [ ! -L "$ca" ] || continue
    install -D -m 0644 "$ca" "$rootfs/usr/local/share/ca-certificates/host-$(basename "${ca%.*}").crt"
  done
  # Like Debian's official images: apt deletes downloaded packages and its caches after each run (smaller layers).
  cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$BOOKWORM" >/dev/null
  echo "imported $BOOKWORM"
fi

if $rebuild || ! exists "$PYTHON"; then
  docker build -q -f python.Dockerfile --build-arg "DEBIAN_IMAGE=$BOOKWORM" -t "$PYTHON" . >/dev/null
  echo "built $PYTHON"
fi
