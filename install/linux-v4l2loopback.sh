#!/usr/bin/env bash
# Creates the "AvatarCam" virtual webcam on Linux (v4l2loopback) now and at every boot.
# Zoom, Teams, Meet and OBS then list a camera named AvatarCam at /dev/video10.
# Needs root (sudo) and kernel headers for your running kernel (DKMS builds the module).
set -euo pipefail

OPTIONS='devices=1 video_nr=10 card_label="AvatarCam" exclusive_caps=1'
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"

if ! command -v apt-get >/dev/null 2>&1; then
  echo "No apt-get: install v4l2loopback with your package manager, then run: sudo modprobe v4l2loopback $OPTIONS" >&2
  exit 1
fi

$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq v4l2loopback-dkms v4l-utils "linux-headers-$(uname -r)" || {
  echo "Could not install v4l2loopback-dkms or the headers for kernel $(uname -r); install them by hand and re-run." >&2
  exit 1
}

# Persist across reboots: load at boot with our options.
echo "v4l2loopback" | $SUDO tee /etc/modules-load.d/avatarcam.conf >/dev/null
echo "options v4l2loopback $OPTIONS" | $SUDO tee /etc/modprobe.d/avatarcam-v4l2loopback.conf >/dev/null

if lsmod 2>/dev/null | grep -q '^v4l2loopback'; then
  echo "v4l2loopback is already loaded; reloading it with the AvatarCam options (close apps using cameras first)."
  $SUDO modprobe -r v4l2loopback || { echo "The module is busy: close the apps using the camera and re-run." >&2; exit 1; }
fi
if ! $SUDO modprobe v4l2loopback devices=1 video_nr=10 card_label="AvatarCam" exclusive_caps=1; then
  echo "modprobe failed: with Secure Boot on, enrol the DKMS signing key (mokutil --import /var/lib/dkms/mok.pub) and reboot; in a container, load the module on the host." >&2
  exit 1
fi
echo "AvatarCam is at /dev/video10 and will be created at every boot."
