#!/usr/bin/env bash
# System packages that synthesis and its tests need: FluidSynth (libfluidsynth,
# used through the pyfluidsynth binding) and two General MIDI soundfonts.
# Installs only what is missing; needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail
need=()
ldconfig -p 2>/dev/null | grep -q 'libfluidsynth\.so' || need+=(libfluidsynth3 fluidsynth)
[ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] || need+=(timgm6mb-soundfont)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || need+=(fluid-soundfont-gm)
if [ ${#need[@]} -eq 0 ]; then
  echo "system dependencies present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v apt-get >/dev/null; then
  echo "please install: ${need[*]} (FluidSynth and GM soundfonts) with your package manager" >&2
  exit 1
fi
echo "installing: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
