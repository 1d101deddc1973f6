#!/usr/bin/env bash
# The server's container image without a registry or a container engine:
#
#   deploy/image.sh context DIR           DIR gets what deploy/Containerfile copies, and nothing
#                                         else: server, hash.txt, site/ (the build context)
#   deploy/image.sh rootfs DIR            DIR becomes the image's whole file system, made from this
#                                         machine's libraries (`ldd`): /app as in the Containerfile,
#                                         the dynamic loader and libraries, /etc/passwd with
#                                         `nonroot` (65532), /tmp. `tar -C DIR -c . | podman import
#                                         --change 'USER 65532:65532' --change 'ENTRYPOINT
#                                         ["/app/server"]' - IMAGE` turns it into an image.
#   deploy/image.sh check DIR [DB_URL]    runs the rootfs's server under chroot as 65532, the
#                                         root file system read-only (needs root): `server help`,
#                                         `server --version`, and with a
#                                         DATABASE_URL reachable from here, serves: GET /healthz,
#                                         /readyz/process, a page and its hashed stylesheet.
#   deploy/image.sh podman DIR [DB_URL]   imports the rootfs as IMAGE (default
#                                         localhost/accounts:rootfs) and runs it under podman as
#                                         the pod runs it: 65532, read-only, a tmpfs on /tmp, every
#                                         capability dropped, no-new-privileges, kubernetes/base/
#                                         settings.env (production). `server --version`; with
#                                         DB_URL, `server migrate` and serving in a network
#                                         namespace of its own (slirp4netns; 127.0.0.1 in DB_URL
#                                         becomes the host's loopback, 10.0.2.2), port 3000 and 9100
#                                         published: /healthz, /readyz/process, a page, its
#                                         stylesheet, /metrics, then `podman stop` (SIGTERM) exits 0.
#                                         PODMAN_RUNTIME picks the OCI runtime (default: runc when
#                                         cgroups are v1+v2 "hybrid", which crun refuses).
#
# BINARY (default target/release/server) names the binary; hash.txt is taken from beside it and
# the site from SITE (default target/site), so a copy of the same build is used throughout.
set -euo pipefail
cd "$(dirname "$0")/.."

BINARY=${BINARY:-target/release/server}
SITE=${SITE:-target/site}

log() { printf '[image] %s\n' "$*" >&2; }
die() { printf '[image] error: %s\n' "$*" >&2; exit 1; }

artefacts() {
  [ -x "$BINARY" ] || die "$BINARY is missing: scripts/build.sh release builds it (or set BINARY)"
  [ -f "$(dirname "$BINARY")/hash.txt" ] || die "$(dirname "$BINARY")/hash.txt is missing (same build as $BINARY)"
  [ -d "$SITE/pkg" ] || die "$SITE/pkg is missing (scripts/build.sh release)"
}

# DIR/server, DIR/hash.txt, DIR/site/ : the build context of deploy/Containerfile.
context() {
  local dir=${1:?usage: $0 context DIR}
  artefacts
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$BINARY" "$dir/server"
  cp "$(dirname "$BINARY")/hash.txt" "$dir/hash.txt"
  cp -r "$SITE" "$dir/site"
  log "build context in $dir ($(du -sh "$dir" | cut -f1)): podman build -f deploy/Containerfile $dir"
}

rootfs() {
  local dir=${1:?usage: $0 rootfs DIR}
  artefacts
  rm -rf "$dir"
  mkdir -p "$dir/app" "$dir/etc" "$dir/tmp" "$dir/proc"
  chmod 1777 "$dir/tmp"
  cp "$BINARY" "$dir/app/server"
  cp "$(dirname "$BINARY")/hash.txt" "$dir/app/hash.txt"
  cp -r "$SITE" "$dir/app/site"
  chmod -R a-w,a+rX "$dir/app"
  # Every library the binary loads, at the path the loader looks for it, and the loader itself.
  local lib
  for lib in $(ldd "$BINARY" | grep -o '/[^ ]*'); do
    mkdir -p "$dir$(dirname "$lib")"
    cp -L "$lib" "$dir$lib"
  done
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$dir/etc/group"
  log "root file system in $dir ($(du -sh "$dir" | cut -f1)): $(find "$dir" -type f | wc -l) files"
  ldd "$BINARY" | sed 's/^/[image]   /' >&2
}

check() {
  local dir=${1:?usage: $0 check DIR [DATABASE_URL]} url=${2:-}
  [ "$(id -u)" -eq 0 ] || die "chroot needs root; as $(id -un) there is no way to run the rootfs here"
  [ -x "$dir/app/server" ] || die "$dir is not a rootfs made by \`$0 rootfs\`"
  # As the pod runs it: mount and PID namespaces of its own, the root file system read-only, a
  # scratch /tmp (the emptyDir), and /proc (the server finds hash.txt beside its binary through
  # /proc/self/exe).
  local as=("$(command -v unshare)" --mount --pid --fork sh -c '
    mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&
    mount -t proc proc "$1/proc" && mount -t tmpfs -o size=16m,mode=1777 tmpfs "$1/tmp" &&
    exec "$0" --userspec=65532:65532 "$@"' "$(command -v chroot)" "$dir")
  log "chroot $dir as 65532: /app/server help"
  "${as[@]}" /app/server help >/dev/null || die "server help failed in the rootfs"
  log "  ok: it loads and runs with only the libraries ldd named"
  log "chroot $dir as 65532: /app/server --version"
  "${as[@]}" /app/server --version || die "server --version failed in the rootfs (exit $?)"
  log "  ok"
  [ -n "$url" ] || return 0

  local port metrics pid status=0
  port=$(scripts/postgres.sh free-port)
  metrics=$(scripts/postgres.sh free-port)
  log "serving from the rootfs on 127.0.0.1:$port (the chroot shares this machine's network)"
  env -i DATABASE_URL="$url" LEPTOS_SITE_ROOT=/app/site LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    METRICS_ADDR="127.0.0.1:$metrics" LOG_FORMAT=json "${as[@]}" /app/server >"$dir.log" 2>&1 &
  pid=$!
  local path answer
  for path in /healthz /readyz/process; do
    answer=""
    for _ in $(seq 1 60); do
      answer=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path" || true)
      [ "$answer" = 000 ] || break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    log "  GET $path: $answer"
    [ "$answer" = 200 ] || status=1
  done
  # A page names the hashed stylesheet of hash.txt, and the site serves it.
  local css
  css=$(awk '$1 == "css:" { print "/pkg/accounts." $2 ".css" }' "$dir/app/hash.txt")
  if curl -s "http://127.0.0.1:$port/" | grep -qF "$css"; then
    log "  GET /: names $css (hash.txt read from beside the binary)"
  else
    log "  GET /: does not name $css"; status=1
  fi
  answer=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$css" || true)
  log "  GET $css: $answer"
  [ "$answer" = 200 ] || status=1
  # SIGTERM to the server itself (unshare does not pass signals on), as the kubelet sends it.
  local server
  server=$(ps -o pid= --ppid "$pid" | tr -d ' ')
  kill -TERM "${server:-$pid}" 2>/dev/null || true
  if wait "$pid"; then log "  SIGTERM: drained, exit 0"; else log "  SIGTERM: exit $?"; fi
  [ "$status" -eq 0 ] || { tail -n 20 "$dir.log" >&2; die "the server in the rootfs did not answer as it should"; }
}

# The rootfs as an image under podman, run with the pod's restrictions and settings.
podman_check() {
  local dir=${1:?usage: $0 podman DIR [DATABASE_URL]} url=${2:-}
  local image=${IMAGE:-localhost/accounts:rootfs}
  command -v podman >/dev/null || die "podman is not installed (Debian: apt-get install podman)"
  [ -x "$dir/app/server" ] || die "$dir is not a rootfs made by \`$0 rootfs\`"
  log "podman import $dir as $image (USER 65532:65532, ENTRYPOINT /app/server, the Containerfile's ENV)"
  tar -C "$dir" -c . | podman import --quiet \
    --change 'USER 65532:65532' --change 'ENTRYPOINT ["/app/server"]' --change 'WORKDIR /app' \
    --change 'ENV LEPTOS_SITE_ROOT=/app/site' --change 'ENV LEPTOS_SITE_ADDR=0.0.0.0:3000' \
    - "$image" >/dev/null
  # crun refuses cgroups v1 with a v2 hierarchy beside it ("cgroups in hybrid mode not
  # supported"); runc runs there. Without CAP_SYS_RESOURCE podman's default RLIMIT_NOFILE and
  # RLIMIT_NPROC (1048576) cannot be set: ask for this shell's open-files limit and 4096 processes.
  local runtime=${PODMAN_RUNTIME:-}
  if [ -z "$runtime" ] && [ -d /sys/fs/cgroup/unified ] && command -v runc >/dev/null; then runtime=runc; fi
  local run=(podman run ${runtime:+--runtime "$runtime"}
    --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096
    --user 65532:65532 --read-only --tmpfs /tmp:size=16m,mode=1777
    --cap-drop=ALL --security-opt no-new-privileges)
  log "${run[*]} $image --version"
  "${run[@]}" --rm "$image" --version || die "server --version failed in the container (exit $?)"
  [ -n "$url" ] || return 0

  # The pod's settings (production), its secrets made up here, and its own network namespace:
  # 10.0.2.2 is the host's loopback under slirp4netns, where a local Postgres listens.
  local secret db port metrics name status=0
  secret=$(head -c 30 /dev/urandom | base64)
  db=$(printf '%s' "$url" | sed -E 's#@(127\.0\.0\.1|localhost)([:/])#@10.0.2.2\2#')
  port=$(scripts/postgres.sh free-port)
  metrics=$(scripts/postgres.sh free-port)
  name=accounts-image-$$
  local settings=(--network=slirp4netns:allow_host_loopback=true
    --env-file deploy/kubernetes/base/settings.env -e DATABASE_URL="$db" -e SECRET_KEY="$secret"
    -e SMTP_URL=smtp://127.0.0.1:2525)
  log "server migrate (as the migrations Job runs it)"
  "${run[@]}" --rm "${settings[@]}" "$image" migrate >"$dir.podman.log" 2>&1 \
    || { tail -n 20 "$dir.podman.log" >&2; die "server migrate failed in the container"; }
  log "  ok"
  log "serving in container $name: 127.0.0.1:$port -> 3000, 127.0.0.1:$metrics -> 9100"
  trap 'podman rm -f "'"$name"'" >/dev/null 2>&1 || true' EXIT
  "${run[@]}" -d --name "$name" "${settings[@]}" \
    -p "127.0.0.1:$port:3000" -p "127.0.0.1:$metrics:9100" "$image" >/dev/null
  local path answer
  for path in /healthz /readyz/process; do
    answer=""
    for _ in $(seq 1 60); do
      answer=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path" || true)
      [ "$answer" = 000 ] || break
      [ "$(podman inspect "$name" --format '{{.State.Running}}')" = true ] || break
      sleep 0.5
    done
    log "  GET $path: $answer"
    [ "$answer" = 200 ] || status=1
  done
  log "  runs as: $(podman top "$name" user huser | tail -n 1 | tr -s ' ')"
  local css
  css=$(awk '$1 == "css:" { print "/pkg/accounts." $2 ".css" }' "$dir/app/hash.txt")
  if curl -s "http://127.0.0.1:$port/" | grep -qF "$css"; then
    log "  GET /: names $css"
  else
    log "  GET /: does not name $css"; status=1
  fi
  answer=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$css" || true)
  log "  GET $css: $answer"
  [ "$answer" = 200 ] || status=1
  answer=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$metrics/metrics" || true)
  log "  GET /metrics (port 9100): $answer"
  [ "$answer" = 200 ] || status=1
  podman stop -t 30 "$name" >/dev/null
  answer=$(podman inspect "$name" --format '{{.State.ExitCode}}')
  log "  podman stop (SIGTERM): exit $answer"
  [ "$answer" = 0 ] || status=1
  podman logs "$name" >>"$dir.podman.log" 2>&1 || true
  [ "$status" -eq 0 ] || { tail -n 20 "$dir.podman.log" >&2; die "the server in the container did not answer as it should"; }
}

case "${1:-}" in
  context) shift; context "$@" ;;
  rootfs) shift; rootfs "$@" ;;
  check) shift; check "$@" ;;
  podman) shift; podman_check "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
esac
