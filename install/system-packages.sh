#!/usr/bin/env bash
# Installs the system packages avatarcam needs. Idempotent: when everything is present it
# changes nothing and asks no package server.
#
# Debian/Ubuntu: handled here with apt.
# macOS (Homebrew), the equivalents:
#   brew install portaudio espeak-ng flite festival ffmpeg sox
#   (no PulseAudio/Xvfb needed: Core Audio and the macOS hotkey API are used; the virtual
#    camera is OBS Studio's Virtual Camera: brew install --cask obs, start it once.)
# Windows: install OBS Studio (for its Virtual Camera), ffmpeg and espeak-ng from their
#   installers and put them on PATH; PortAudio ships inside the sounddevice wheel.
set -euo pipefail

PACKAGES=(
  libportaudio2          # PortAudio: microphone capture through sounddevice
  libasound2-plugins     # ALSA's pulse plugin, so PortAudio reaches PulseAudio/PipeWire
  libsndfile1            # audio file decoding (soundfile)
  ffmpeg                 # M4A decoding, mp4 muxing with sound
  sox                    # audio conversions in tests and docs
  espeak-ng libespeak-ng1 # speech synthesis (demo, training data, tests)
  flite                  # a second synthesizer for training data
  festival festvox-kallpc16k # a third synthesizer and its voice
  pulseaudio pulseaudio-utils # sound server; tests run a private one with a null sink
  xvfb xdotool           # a virtual X display and key presses for the hotkey tests
  libgl1 libglib2.0-0    # OpenCV/MediaPipe runtime libraries
  build-essential linux-libc-dev # compiles evdev, which pynput needs on Linux
  python3-venv python3-dev
)

if ! command -v apt-get >/dev/null 2>&1; then
  if [[ "$(uname -s)" == "Darwin" ]]; then
    echo "macOS: run 'brew install portaudio espeak-ng flite festival ffmpeg sox' (see the top of $0)."
  else
    echo "No apt-get here: install the equivalents of these packages with your package manager: ${PACKAGES[*]}"
  fi
  exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "system packages: all present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "Missing packages (${missing[*]}) and no root rights: ask an administrator to apt-get install them." >&2
    exit 1
  fi
fi
echo "system packages: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
