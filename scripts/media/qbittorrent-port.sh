#!/bin/sh
# Run by gluetun (VPN_PORT_FORWARDING_UP_COMMAND) each time the VPN connects
# or reconnects with a forwarded port: make that port qBittorrent's listening
# port, bound to the VPN interface. qBittorrent shares gluetun's network
# namespace, so its web API is on 127.0.0.1 and, with localhost
# authentication off (qbittorrent-localhost-auth.sh), needs no login.
#
# Usage: qbittorrent-port.sh PORTS [INTERFACE]   (PORTS as gluetun's {{PORTS}}: comma-separated, first is used)
# Environment: QBITTORRENT_URL (default http://127.0.0.1:8080), QBITTORRENT_TRIES (default 60),
#              QBITTORRENT_WAIT (seconds between tries, default 2)
set -eu

ports="${1:-}"
interface="${2:-}"
port="${ports%%,*}"
case "$port" in
  '' | *[!0-9]*)
    echo "qbittorrent-port: expected a port number, got '$ports'" >&2
    exit 64
    ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  echo "qbittorrent-port: port $port is out of range 1-65535" >&2
  exit 64
fi
case "$interface" in
  *[!A-Za-z0-9_.-]*)
    echo "qbittorrent-port: not an interface name: '$interface'" >&2
    exit 64
    ;;
esac

url="${QBITTORRENT_URL:-http://127.0.0.1:8080}/api/v2/app/setPreferences"
prefs="\"listen_port\":$port,\"random_port\":false,\"upnp\":false"
if [ -n "$interface" ]; then
  prefs="$prefs,\"current_network_interface\":\"$interface\""
fi
tries="${QBITTORRENT_TRIES:-60}"
attempt=1
# After a reconnect qBittorrent may still be starting: retry for a while.
until wget -q -O /dev/null --post-data "json={$prefs}" "$url"; do
  if [ "$attempt" -ge "$tries" ]; then
    echo "qbittorrent-port: qBittorrent did not take port $port after $tries tries" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep "${QBITTORRENT_WAIT:-2}"
done
echo "qbittorrent-port: listening port set to $port${interface:+ on $interface}"
