#!/bin/sh
# linuxserver.io custom init script (/custom-cont-init.d) for qBittorrent:
# clients on localhost may use the web API without logging in. In gluetun's
# network namespace the only localhost clients are gluetun itself (which
# sets the forwarded port) and qBittorrent; Traefik and the other apps come
# from the proxy network and still log in. Idempotent; the file keeps its
# owner (it is rewritten in place, never replaced).
set -eu

conf="${QBITTORRENT_CONF:-/config/qBittorrent/qBittorrent.conf}"
if [ ! -f "$conf" ]; then
  echo "qbittorrent-localhost-auth: no $conf yet; qBittorrent will ask for a login on localhost" >&2
  exit 0
fi

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
KEY='WebUI\LocalHostAuth' awk '
  # Blank lines are held back, so a line added at the end of [Preferences] goes before them.
  function flush() { while (blanks > 0) { print ""; blanks-- } }
  BEGIN { line = ENVIRON["KEY"] "=false"; done = 0; inside = 0; blanks = 0 }
  /^[ \t\r]*$/ { blanks++; next }
  /^\[.*\]$/ {
    if (inside && !done) { print line; done = 1 }
    flush()
    inside = ($0 == "[Preferences]")
    print
    next
  }
  inside && index($0, ENVIRON["KEY"] "=") == 1 {
    flush()
    if (!done) print line
    done = 1
    next
  }
  { flush(); print }
  END {
    if (done) { flush() }
    else if (inside) { print line; flush() }
    else { flush(); if (NR > 0) print ""; print "[Preferences]"; print line }
  }
' "$conf" >"$tmp"

if cmp -s "$tmp" "$conf"; then
  echo "qbittorrent-localhost-auth: unchanged"
else
  cat "$tmp" >"$conf"
  echo "qbittorrent-localhost-auth: localhost may use the web API without a login"
fi
