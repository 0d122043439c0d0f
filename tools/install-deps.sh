#!/bin/sh
# Install everything bgtransfer needs to build, run its demo and its tests
# on Debian 12 (bookworm). Safe to run again: it installs only what is missing.
set -eu

PACKAGES="
  meson ninja-build pkg-config gcc gettext
  libglib2.0-dev libglib2.0-bin libsoup-3.0-dev libsecret-1-dev libsqlite3-dev
  gobject-introspection libgirepository1.0-dev gir1.2-glib-2.0 gir1.2-soup-3.0
  python3 python3-gi python3-dbusmock python3-pytest gjs
  dbus dbus-daemon nginx-light curl aria2 gnome-keyring libsecret-tools
  python3-pyftpdlib python3-trustme openssl clang-format valgrind vsftpd
  valac bash-completion strace fiu-utils faketime bubblewrap
  zsh fish locales gi-docgen
"

# Node.js and npm run the tus server of the upload tests; the machine's own
# are used when present, Debian's otherwise
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES="$PACKAGES nodejs npm"
fi

top=$(cd "$(dirname "$0")/.." && pwd)
install_npm() {
  # @tus/server and @tus/file-store, at the versions package-lock.json pins
  if [ ! -d "$top/tests/tus/node_modules/@tus/server" ]; then
    echo "install-deps: installing the tus test server from the npm registry"
    (cd "$top/tests/tus" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The CLI's tests run in zh_CN.UTF-8 too: generate that locale (the
# locales package alone does not)
ensure_locale() {
  if locale -a 2>/dev/null | grep -qix 'zh_CN\.utf-\?8'; then
    return
  fi
  echo "install-deps: generating the zh_CN.UTF-8 locale"
  if [ -f /etc/locale.gen ] && command -v locale-gen >/dev/null 2>&1; then
    $SUDO sed -i 's/^# *\(zh_CN\.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    grep -q '^zh_CN\.UTF-8 UTF-8' /etc/locale.gen ||
      echo 'zh_CN.UTF-8 UTF-8' | $SUDO tee -a /etc/locale.gen >/dev/null
    $SUDO locale-gen
  else
    $SUDO localedef -i zh_CN -f UTF-8 zh_CN.UTF-8
  fi
}

SUDO=""
if [ "$(id -u)" != 0 ]; then
  SUDO="sudo"
fi

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  install_npm
  ensure_locale
  echo "install-deps: all dependencies present"
  exit 0
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# nginx must not be started as a system service: policy-rc.d may forbid it and
# the tests run their own unprivileged instances.
$SUDO apt-get install -y -q --no-install-recommends $missing
install_npm
ensure_locale
