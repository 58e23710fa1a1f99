#!/usr/bin/env bash
# Builds the image and tests it against a real Docker engine (Debian's docker.io), which it
# starts for itself and stops by pid: the default command, module:callable, the
# unprivileged user, logs, the health check, a read-only root file system, docker stop's
# drain, a derived image with requirements.txt, Compose with three replicas behind the
# balancer (one killed), and the Kubernetes manifests. Removes every container and image
# it made. Installs what it needs on Debian. Prints "N passed, N failed".
#
# Docker Hub is not reachable here: when debian:bookworm(-slim) is missing, a stand-in is
# made with debootstrap (test-time only, like the host's extra CA certificates it carries;
# the Dockerfile stays the one users build against the real images).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "docker: skipped: starting a Docker engine needs root (run ./docker/test.sh as root)"
    exit 0
fi
. scripts/lib.sh
RWSGI_PACKAGES="$RWSGI_PACKAGES docker.io docker-compose debootstrap python3-venv"
ensure_packages

# Debian's client, of the engine started here (another docker on PATH may be newer).
docker=/usr/bin/docker
cache="$PWD/target/docker"
mkdir -p "$cache"
work=$(mktemp -d /var/tmp/rwsgi-docker.XXXXXX)
export DOCKER_HOST="unix://$work/docker.sock"
project="rwsgitest$$"
image="rwsgi-test-$$"
dockerd_pid=""

. scripts/checks.sh

cleanup() {
    set +e
    if [ -n "$dockerd_pid" ]; then
        RWSGI_IMAGE="$image" docker-compose -f docker/compose.yaml -p "$project" down -t 5 >/dev/null 2>&1
        ids=$($docker ps -aq --filter "label=rwsgi-test=$$")
        [ -n "$ids" ] && $docker rm -f $ids >/dev/null
        $docker rmi -f "$image" "$image-example" >/dev/null 2>&1
        $docker image prune -f >/dev/null 2>&1
        kill "$dockerd_pid"
        for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    fi
    umount "$work"/exec/netns/* "$work"/data/overlay2/*/merged 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# --- the engine --------------------------------------------------------------------------
setsid dockerd --host "$DOCKER_HOST" --data-root "$work/data" --exec-root "$work/exec" \
    --pidfile "$work/dockerd.pid" >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 300); do
    $docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || { cat "$work/dockerd.log"; exit 1; }
    sleep 0.1
done
$docker info >/dev/null

# --- the base images (stand-ins when there is no registry) -------------------------------
if ! timeout 120 $docker pull -q debian:bookworm-slim >/dev/null 2>&1 ||
    ! timeout 120 $docker pull -q debian:bookworm >/dev/null 2>&1; then
    base="$cache/bookworm-base.tar"
    if [ ! -f "$base" ]; then
        echo "docker: making a debian:bookworm stand-in with debootstrap (once per machine)"
        rootfs="$work/rootfs"
        mirror=$( (grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list \
            /etc/apt/sources.list.d/ 2>/dev/null || true) | head -1 | tr -d ' ')
        debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
            { tail -20 "$work/debootstrap.log"; exit 1; }
        # As Debian's images: the three suites, no package caches, no docs (slim).
        rm -f "$rootfs/etc/apt/sources.list"
        cat > "$rootfs/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
        printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
            'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
            'path-exclude /usr/share/locale/*' > "$rootfs/etc/dpkg/dpkg.cfg.d/docker"
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
            "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
        find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
        # Downloads inside builds pass the same TLS-inspecting egress as the host's.
        mkdir -p "$rootfs/usr/local/share/ca-certificates"
        cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
        tar -C "$rootfs" -cf "$base" .
        rm -rf "$rootfs"
    fi
    # pip in derived builds trusts the system bundle (with those certificates) this way.
    $docker import --change 'CMD ["bash"]' --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
        "$base" debian:bookworm >/dev/null
    $docker tag debian:bookworm debian:bookworm-slim
fi

# --- the image -----------------------------------------------------------------------------
build_log="$work/build.log"
started=$(date +%s)
if $docker build --network host -f docker/Dockerfile -t "$image" . >"$build_log" 2>&1; then
    ok "docker/Dockerfile builds ($(($(date +%s) - started)) s)"
else
    tail -40 "$build_log"
    not_ok "docker/Dockerfile builds"
    part_summary docker
    exit 1
fi
size=$($docker image inspect -f '{{.Size}}' "$image")
mib=$((size / 1024 / 1024))
check "the image is under 200 MB ($mib MiB)" '[ "$mib" -lt 200 ]'
check "no compiler in the image" \
    '! $docker run --rm --entrypoint sh "$image" -c "command -v gcc cc rustc cargo clang" >/dev/null'

# Readable by the container's user 10001.
app="$work/app"
mkdir -p "$app"
cp docker/test-app/wsgi.py "$app/"
chmod 755 "$work" "$app"
chmod 644 "$app/wsgi.py"

run() { $docker run -d --label "rwsgi-test=$$" "$@"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# GET, retried while the server starts (an empty reply or a refused connection).
fetch() {
    local url=$1 deadline=$((SECONDS + ${2:-60}))
    while [ $SECONDS -lt $deadline ]; do
        if curl -sf -m 10 "$url"; then return 0; fi
        sleep 0.5
    done
    return 1
}
# grep reads the whole log: `grep -q` would stop at the first match, and `docker logs`,
# still writing, would die of SIGPIPE, which pipefail turns into a failure.
wait_log() {
    local c=$1 needle=$2 deadline=$((SECONDS + 60))
    while [ $SECONDS -lt $deadline ]; do
        $docker logs "$c" 2>&1 | grep -- "$needle" >/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# The default command, published with -p.
port=$(free_port)
c=$(run -p "127.0.0.1:$port:8000" -v "$app:/app:ro" "$image")
body=$(fetch "http://127.0.0.1:$port/" || true)
check "the default command serves /app/wsgi.py on port 8000 ($body)" '[[ "$body" == host=* ]]'
check "Apache and the application run as the unprivileged user 10001" '[[ "$body" == *uid=10001* ]]'
if wait_log "$c" "resuming normal operations" && wait_log "$c" "\"GET / HTTP/1.1\" 200"; then
    ok "logs go to the container's stdout/stderr (access log and Apache's)"
else
    $docker logs "$c" 2>&1 | tail -20
    not_ok "logs go to the container's stdout/stderr (access log and Apache's)"
fi
check "a HEALTHCHECK is declared" \
    '[ "$($docker inspect -f "{{json .Config.Healthcheck}}" "$c")" != null ]'
health=""
for _ in $(seq 120); do
    health=$($docker inspect -f '{{.State.Health.Status}}' "$c")
    [ "$health" = healthy ] && break
    sleep 0.5
done
check "the health check reports healthy ($health)" '[ "$health" = healthy ]'

# docker stop: a request in flight finishes, and the container exits 0.
slow="$work/slow.out"
curl -s -m 60 "http://127.0.0.1:$port/slow" >"$slow" &
curl_pid=$!
wait_log "$c" "slow request started" || true
$docker stop -t 30 "$c" >/dev/null
wait "$curl_pid" || true
check "docker stop lets the request in flight finish ($(cat "$slow"))" '[ "$(cat "$slow")" = finished ]'
check "the container exits 0 after docker stop" \
    '[ "$($docker inspect -f "{{.State.ExitCode}}" "$c")" = 0 ]'

# A module entry point, on the host's network.
port=$(free_port)
run --network host -v "$app:/app:ro" "$image" wsgi:application --port "$port" \
    --log-to-terminal --access-log >/dev/null
body=$(fetch "http://127.0.0.1:$port/" || true)
check "module:callable (wsgi:application) is served" '[[ "$body" == host=* ]]'

# A read-only root file system, with a tmpfs for the server root.
port=$(free_port)
run --network host --read-only --tmpfs /tmp -v "$app:/app:ro" "$image" /app/wsgi.py \
    --port "$port" --log-to-terminal >/dev/null
body=$(fetch "http://127.0.0.1:$port/" || true)
check "--read-only with a tmpfs at /tmp serves" '[[ "$body" == host=* ]]'

# A derived image: requirements.txt into a venv rwsgi uses.
$docker tag "$image" rwsgi
if $docker build --network host -t "$image-example" docker/example >"$work/example.log" 2>&1; then
    ok "the derived image (docker/example) builds, installing requirements.txt"
    port=$(free_port)
    run --network host "$image-example" /app/wsgi.py --port "$port" --log-to-terminal >/dev/null
    body=$(fetch "http://127.0.0.1:$port/" || true)
    check "it serves the Flask application from the venv ($body)" '[[ "$body" == *\"prefix\":\"/venv\"* ]]'
else
    tail -20 "$work/example.log"
    not_ok "the derived image (docker/example) builds, installing requirements.txt"
fi
$docker rmi rwsgi >/dev/null

# Compose: three replicas behind the balancer; one killed.
port=$(free_port)
compose() {
    RWSGI_IMAGE="$image" RWSGI_APP="$app" RWSGI_PORT="$port" \
        docker-compose -f docker/compose.yaml -p "$project" "$@"
}
if compose up -d --no-build --scale app=3 >"$work/compose.log" 2>&1; then
    hosts=$(for _ in $(seq 30); do fetch "http://127.0.0.1:$port/" 60 | sed -n 's/^host=\([^ ]*\).*/\1/p'; done | sort -u)
    count=$(printf '%s\n' "$hosts" | grep -c . || true)
    check "Compose: requests through the balancer reach more than one replica ($count of 3)" \
        '[ "$count" -ge 2 ]'
    victim=$(compose ps -q app | sed -n 1p)  # sed reads it all: no SIGPIPE under pipefail
    $docker kill "$victim" >/dev/null
    answered=0
    for _ in $(seq 30); do
        [[ "$(curl -s -m 10 "http://127.0.0.1:$port/")" == host=* ]] && answered=$((answered + 1))
    done
    check "Compose: with one replica killed, requests keep succeeding ($answered of 30)" \
        '[ "$answered" -eq 30 ]'
    compose down -t 5 >/dev/null 2>&1
else
    cat "$work/compose.log"
    not_ok "Compose: the replicas and the balancer start"
fi

# Kubernetes: the manifests validate, and carry what rwsgi needs.
venv="$cache/k8s-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    env -u PIP_FIND_LINKS "$venv/bin/pip" install -q kubernetes-validate pyyaml
fi
k8s=$("$venv/bin/python" docker/k8s/check.py 2>&1 || true)
echo "$k8s"
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$k8s" || true)
if [ -n "$summary" ]; then
    passed=$((passed + $(cut -d' ' -f1 <<<"$summary")))
    failed=$((failed + $(cut -d' ' -f3 <<<"$summary")))
else
    not_ok "docker/k8s/check.py ran"
fi

part_summary docker
[ "$failed" -eq 0 ]
