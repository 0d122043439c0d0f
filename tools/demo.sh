#!/bin/bash
# demo.sh: bgtransfer in one minute, on a fresh Debian 12 machine.
#
# Installs what is missing, builds, serves a sample file from a local nginx,
# and downloads it with the bgtransfer CLI: progress, a pause, a resume.
# The service runs on your session bus if it is installed there; otherwise
# the demo starts a private session bus that activates the freshly built one.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/_build"

if [ -z "${BGT_DEMO_INNER:-}" ]; then
  "$top/tools/install-deps.sh"
  if [ -d "$build" ]; then
    meson setup --reconfigure "$build" "$top" >/dev/null
  else
    meson setup "$build" "$top" >/dev/null
  fi
  ninja -C "$build" >/dev/null
  echo "demo: built in $build"

  work=$(mktemp -d /tmp/bgtransfer-demo.XXXXXX)
  export BGT_DEMO_INNER=1 BGT_DEMO_WORK="$work"
  has_service=no
  if [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] &&
    gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
      --method org.freedesktop.DBus.ListActivatableNames 2>/dev/null |
    grep -q "'org.freedesktop.BackgroundTransfer'"; then
    has_service=yes
  fi
  if [ "$has_service" = yes ]; then
    echo "demo: using the bgtransferd of your session bus"
    exec "$0" "$@"
  fi

  # A private session bus that activates the service from the build tree,
  # with its state kept inside the demo's directory
  mkdir -p "$work/services" "$work/state"
  cat >"$work/services/org.freedesktop.BackgroundTransfer.service" <<EOF
[D-BUS Service]
Name=org.freedesktop.BackgroundTransfer
Exec=/usr/bin/env XDG_STATE_HOME=$work/state GSETTINGS_SCHEMA_DIR=$build/data GSETTINGS_BACKEND=memory $build/src/bgtransferd
EOF
  cat >"$work/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=$work</listen>
  <servicedir>$work/services</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
  echo "demo: starting a private session bus for the service"
  exec dbus-run-session --config-file="$work/bus.conf" -- "$0" "$@"
fi

# ---- inside the session ------------------------------------------------
work="$BGT_DEMO_WORK"
export LD_LIBRARY_PATH="$build/libbgtransfer${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export BGTRANSFER_APP_ID=org.freedesktop.BackgroundTransfer.Demo
bgtransfer="$build/libbgtransfer/tools/bgtransfer"

www="$work/www"
mkdir -p "$www" "$work/nginx/tmp" "$work/downloads"
chmod 755 "$work" "$www" "$work/nginx"
head -c $((64 * 1024 * 1024)) /dev/urandom >"$www/sample.bin"
chmod 644 "$www/sample.bin"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events {}
http {
  log_format ranges '\$request_method \$uri \$status range="\$http_range" if-range="\$http_if_range"';
  access_log $work/nginx/access.log ranges;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  server {
    listen 127.0.0.1:$port;
    root $www;
    limit_rate 8m;  # slow enough to watch
  }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
nginx_pid=$!
cleanup() {
  kill "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 50); do
  curl -fsI "http://127.0.0.1:$port/sample.bin" >/dev/null 2>&1 && break
  sleep 0.1
done

url="http://127.0.0.1:$port/sample.bin"
dest="$work/downloads/sample.bin"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say bgtransfer download --no-wait "$url" "$dest"
id=$("$bgtransfer" download --no-wait "$url" "$dest")
echo "$id"

say bgtransfer wait "$id"   "(for two seconds, then Ctrl-C: the download goes on)"
timeout -s INT 2 "$bgtransfer" wait "$id" || true

say bgtransfer pause "$id"
"$bgtransfer" pause "$id"
say bgtransfer show "$id"
"$bgtransfer" show "$id"

say bgtransfer resume "$id"
"$bgtransfer" resume "$id"
say bgtransfer wait "$id"
"$bgtransfer" wait "$id"

say bgtransfer list
"$bgtransfer" list

echo
echo "What nginx saw (the resume asked for the rest with Range and If-Range):"
sed 's/^/  /' "$work/nginx/access.log"
if cmp -s "$www/sample.bin" "$dest"; then
  echo "demo: $dest is byte-identical to what the server has."
else
  echo "demo: the downloaded file differs from the server's!" >&2
  exit 1
fi
