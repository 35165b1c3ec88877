#!/usr/bin/env bash
# Build the Containerfile with podman and run the image as production would: non-root, read-only
# root filesystem, /var/lib/ncp as a volume, keys and certificates mounted read-only; then
# check /health over HTTPS (verified against our CA) and print the figures (image size, time
# from `podman run` to the first 200). Root only; nothing is pushed anywhere.
#
#   scripts/container-smoke.sh            # from a checkout beside ../shared/specs
#   NO_CACHE=1 scripts/container-smoke.sh # the image built again from the base
#
# Why each option (docs/deployment.md, "Container"): these machines have no registry to pull
# a base image from, no systemd and a hybrid cgroup layout; so
# - the base image is a minimal Debian bookworm made with debootstrap from the Debian mirror
#   and imported (BASE), unless it exists already;
# - the build runs with --isolation chroot (no OCI runtime needed to build);
# - the container runs under runc (crun 1.8 refuses hybrid cgroups), with --network host;
# - the ulimits are given explicitly and no higher than the host's (podman's defaults are
#   above what a process without CAP_SYS_RESOURCE may set);
# - BUILD_CA_BUNDLE (default: $PIP_CERT) is mounted over the build's CA bundle for pip only,
#   when the way out goes through a TLS-inspecting proxy; it is not part of the image.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${BASE:-localhost/ncp-base:bookworm}
IMAGE=${IMAGE:-localhost/ncp:smoke}
SPECS=${SPECS:-../shared/specs}
RUNTIME=${RUNTIME:-runc}
PORT=${PORT:-18443}
BUILD_CA_BUNDLE=${BUILD_CA_BUNDLE-${PIP_CERT:-}}
WORK=$(mktemp -d /var/tmp/ncp-container-smoke.XXXXXX)
VOLUME=ncp-smoke-var-$$
CID=""

cleanup() {
  [ -n "$CID" ] && podman --runtime "$RUNTIME" rm -f "$CID" >/dev/null 2>&1 || true
  podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v podman >/dev/null || { echo "container-smoke: podman is not installed" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "container-smoke: run as root (rootful podman)" >&2; exit 2; }

nproc_max=$(ulimit -u)
pid_max=$(cat /proc/sys/kernel/pid_max)
[ "$nproc_max" = unlimited ] || [ "$nproc_max" -gt "$pid_max" ] && nproc_max=$pid_max
limits=(--ulimit "nofile=$(ulimit -n):$(ulimit -n)" --ulimit "nproc=$nproc_max:$nproc_max")
podman_run=(podman --runtime "$RUNTIME" run --network host "${limits[@]}")

# 1. The base image, without a registry.
if ! podman image exists "$BASE"; then
  echo "== base image $BASE (debootstrap bookworm, minbase + python3)"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm \
    "$WORK/rootfs" >"$WORK/debootstrap.log"
  rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/* \
    "$WORK"/rootfs/usr/share/doc/* "$WORK"/rootfs/usr/share/man/*
  tar -C "$WORK/rootfs" --numeric-owner -c . | podman import - "$BASE" >/dev/null
  rm -rf "$WORK/rootfs"
fi

# 2. The image.
echo "== build $IMAGE from Containerfile (BASE=$BASE)"
build=(podman build --isolation chroot --network host -f Containerfile
       --build-arg "BASE=$BASE" --build-context "specs=$SPECS" -t "$IMAGE")
[ -n "$BUILD_CA_BUNDLE" ] && build+=(-v "$BUILD_CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro")
[ -n "${NO_CACHE:-}" ] && build+=(--no-cache)
start=$(date +%s)
"${build[@]}" . >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
build_s=$(( $(date +%s) - start ))
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")

# 3. Keys and certificates (a development PKI and key ring, made by the image itself) in a
#    folder that the server mounts read-only, and the schema in the volume.
mkdir -p "$WORK/etc"
chown 10001:10001 "$WORK/etc"
"${podman_run[@]}" --rm -v "$WORK/etc:/etc/ncp" -e NCP_ENVIRONMENT=development \
  -e NCP_VAR_DIR=/etc/ncp -e NCP_PKI_DIR=/etc/ncp/pki "$IMAGE" pki init >/dev/null
"${podman_run[@]}" --rm -v "$WORK/etc:/etc/ncp" --entrypoint /opt/ncp/venv/bin/python "$IMAGE" \
  -c "from pathlib import Path; from ncp.store.keys import KeyRing; \
KeyRing.load_or_create(Path('/etc/ncp/keys/master-keys.json'))"
podman volume create "$VOLUME" >/dev/null
env=(-e NCP_DATABASE_URL=sqlite:////var/lib/ncp/ncp.sqlite
     -e NCP_TLS_CERT=/etc/ncp/pki/lu/tls-server.pem -e NCP_TLS_KEY=/etc/ncp/pki/lu/tls-server.key
     -e NCP_SIGNING_CERT=/etc/ncp/pki/lu/signing.pem -e NCP_SIGNING_KEY=/etc/ncp/pki/lu/signing.key
     -e NCP_TRUST_LIST=/etc/ncp/pki/trust-list.json -e NCP_PKI_DIR=/etc/ncp/pki
     -e NCP_MASTER_KEYS=/etc/ncp/keys/master-keys.json -e "NCP_PORT=$PORT")
mounts=(--read-only --tmpfs /run/ncp:rw,mode=0700,U --tmpfs /tmp
        -v "$VOLUME:/var/lib/ncp" -v "$WORK/etc:/etc/ncp:ro")
"${podman_run[@]}" --rm "${mounts[@]}" "${env[@]}" "$IMAGE" db upgrade >/dev/null

# 4. Serve, and wait for /health.
echo "== run (read-only root, $VOLUME on /var/lib/ncp, /etc/ncp read-only, port $PORT)"
t0=$(date +%s.%N)
CID=$("${podman_run[@]}" -d "${mounts[@]}" "${env[@]}" "$IMAGE")
health=""
for _ in $(seq 1 300); do
  if health=$(curl -fsS --max-time 2 --cacert "$WORK/etc/pki/lu/ca.pem" \
      "https://localhost:$PORT/health" 2>/dev/null); then
    break
  fi
  if [ "$(podman inspect --format '{{.State.Running}}' "$CID")" != true ]; then
    podman logs "$CID" | tail -30
    echo "container-smoke: the container exited" >&2
    exit 1
  fi
  health=""
  sleep 0.2
done
t1=$(date +%s.%N)
[ -n "$health" ] || { podman logs "$CID" | tail -30; echo "no /health answer" >&2; exit 1; }

# 5. What production relies on: not root, root filesystem read-only, writes in the volume.
uid=$(podman exec "$CID" /opt/ncp/venv/bin/python -c 'import os; print(os.getuid())')
# EROFS, not EACCES: refused because the filesystem is read-only, not only for want of rights
rofs=$(podman exec "$CID" /opt/ncp/venv/bin/python -c '
import errno
try:
    open("/opt/ncp/x", "w")
    print("writable")
except OSError as e:
    print(errno.errorcode[e.errno])')
[ "$rofs" = EROFS ] || { echo "container-smoke: root filesystem: $rofs" >&2; exit 1; }
written=$(podman exec "$CID" /opt/ncp/venv/bin/python -c \
  'import os; print(" ".join(sorted(os.listdir("/var/lib/ncp"))))')
rss=$(podman exec "$CID" /opt/ncp/venv/bin/python -c \
  'print(next(l.split()[1] for l in open("/proc/1/status") if l.startswith("VmRSS")))')

echo "== container smoke $(date -u '+%Y-%m-%d %H:%M') UTC, load $(cut -d' ' -f1 /proc/loadavg)"
echo "   podman $(podman --version | awk '{print $3}'), runtime $RUNTIME, base $BASE"
echo "   build: ${build_s} s; image size: $(( size / 1000000 )) MB"
echo "   /health: $health"
printf '   from podman run to the first /health 200: %.1f s\n' "$(echo "$t1 - $t0" | bc)"
echo "   uid in the container: $uid; a write on the root filesystem: $rofs"
echo "   in the volume: $written; RSS of ncp serve: $(( rss / 1024 )) MiB"
