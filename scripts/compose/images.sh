#!/usr/bin/env bash
# Makes every image the compose stack needs available without a registry: an image that is
# present is kept, one that pulls is pulled, and the rest are built here from Debian packages,
# npm and Maven Central (docker/local-images/README.md) and tagged under the stack's names.
# Usage: scripts/compose/images.sh [--no-pull] [--rebuild] [--list]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
src=$root/docker/local-images
work=${LOCAL_IMAGES_DIR:-$root/.cache/local-images}
base=payment-ingest-local/debian:bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
pull=1
rebuild=0
list=0

usage() {
  sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  echo
  echo "  --no-pull   do not try a registry (air-gapped: build what is not present)"
  echo "  --rebuild   build every buildable image again, even when present"
  echo "  --list      print the images the stack uses and how each would be provided"
}
for arg in "$@"; do
  case "$arg" in
    --no-pull) pull=0 ;;
    --rebuild) rebuild=1 ;;
    --list) list=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "images.sh: unknown option \"$arg\" (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf 'images: %s\n' "$*"; }
die() { printf 'images.sh: %s\n' "$*" >&2; exit 1; }

# Every image named by docker-compose.yml or the service's Dockerfile (FROM).
stack_images() {
  {
    sed -n 's/^[[:space:]]*image:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$root/docker-compose.yml"
    sed -n 's/^FROM[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$root/Dockerfile"
  } | grep -v '\$' | sort -u
}

# The recipe under docker/local-images for an image name, or nothing when none exists.
recipe() {
  case "$1" in
    denoland/deno:*) echo deno ;;
    postgres:*) echo postgres ;;
    apache/kafka:*) echo kafka ;;
    prom/prometheus:*) echo prometheus ;;
    prom/alertmanager:*) echo alertmanager ;;
  esac
}

present() { docker image inspect "$1" >/dev/null 2>&1; }

build_base() {
  if present "$base" && [ "$rebuild" = 0 ]; then return 0; fi
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  local rootfs=$work/rootfs
  rm -rf "$rootfs"
  mkdir -p "$rootfs"
  log "debootstrap bookworm (minbase) from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed (log: $work/debootstrap.log)"; }
  # The host's CA certificates: apt, npm and Maven fetches made during image builds may pass a
  # proxy that re-signs HTTPS. Files under /usr/local/share survive update-ca-certificates.
  mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/usr/local/share/ca-certificates"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  fi
  # No services start inside image builds (as in Debian's own container images).
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod +x "$rootfs/usr/sbin/policy-rc.d"
  printf 'APT::Install-Recommends "false";\n' >"$rootfs/etc/apt/apt.conf.d/90no-recommends"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
    -c 'CMD ["/bin/bash"]' - "$base" >/dev/null
  rm -rf "$rootfs"
  log "built $base"
}

# Copies a recipe into a fresh build context and adds what it needs from npm or Maven.
context() {
  local name=$1 image=$2 ctx=$work/ctx-$1
  rm -rf "$ctx"
  mkdir -p "$ctx"
  cp -r "$src/$name/." "$ctx/"
  case "$name" in
    deno)
      local version=${image#*:} pkg=$work/npm-deno
      rm -rf "$pkg" && mkdir -p "$pkg"
      npm install --silent --no-save --prefix "$pkg" "deno@$version" >/dev/null 2>&1 ||
        die "npm could not install deno@$version"
      cp "$pkg/node_modules/@deno/linux-x64-glibc/deno" "$ctx/deno"
      ;;
    kafka)
      local version=${image#*:}
      grep -q "<kafka.version>$version</kafka.version>" "$root/scripts/kafka/pom.xml" ||
        die "$image: scripts/kafka/pom.xml fetches another Kafka version (set kafka.version)"
      # The same jars as the local broker (scripts/kafka.sh), fetched once for both.
      bash "$root/scripts/kafka.sh" fetch
      mkdir -p "$ctx/libs"
      cp "${KAFKA_LOCAL_DIR:-$root/.cache/kafka}/jars/"*.jar "$ctx/libs/"
      ;;
  esac
  echo "$ctx"
}

build() {
  local image=$1 name=$2 ctx
  build_base
  ctx=$(context "$name" "$image")
  log "building $image from docker/local-images/$name"
  docker build --build-arg "BASE=$base" -t "$image" "$ctx" >"$work/build-$name.log" 2>&1 ||
    { tail -n 30 "$work/build-$name.log" >&2; die "docker build of $image failed (log: $work/build-$name.log)"; }
  rm -rf "$ctx"
}

mkdir -p "$work"
if [ "$list" = 0 ]; then
  docker info >/dev/null 2>&1 || die "no Docker engine answers (start dockerd, or check DOCKER_HOST)"
fi
for image in $(stack_images); do
  name=$(recipe "$image")
  if [ "$list" = 1 ]; then
    how="registry only"
    [ -z "$name" ] || how="built from docker/local-images/$name when not present or pullable"
    printf '%-34s %s\n' "$image" "$how"
    continue
  fi
  if present "$image" && { [ "$rebuild" = 0 ] || [ -z "$name" ]; }; then
    log "$image present"
  elif [ "$pull" = 1 ] && timeout 300 docker pull -q "$image" >/dev/null 2>&1; then
    log "$image pulled"
  elif [ -n "$name" ]; then
    build "$image" "$name"
  else
    log "$image: not present, not pullable and not buildable here (services using it cannot start)"
  fi
done
