"""The noVNC console proxy (Nova's nova-novncproxy; port 6080, `overcast serve novncproxy`):
a websocket that a browser's noVNC opens with the token of a console URL, joined to the VNC
server of the instance (QEMU's VNC socket on this host, or a host and port).

- `GET /vnc_auto.html`, `/vnc_lite.html`, `/<file>`: the noVNC pages from `[novncproxy] web`
  (Debian's `novnc` package installs them in /usr/share/novnc); 404 when not installed.
- websocket `/` or `/websockify` with `?token=` (or a `token` cookie, as Nova's proxy
  accepts): the token is checked (compute/consoles.py: known, not expired, its server not
  deleted), else the websocket is refused; then bytes flow both ways, binary frames
  (subprotocol `binary`, as noVNC asks).

The proxy reads the compute database, so it runs where Compute's API does. LIMITATION: a VNC
socket path is reached only when the guest runs on this machine (`overcast up`); a guest on
another compute host needs that host to listen on TCP (not yet).
"""
