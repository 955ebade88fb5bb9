#!/usr/bin/env bash
# Regenerate the type stubs of the compiled modules (python/timbrefast/_core.pyi,
# _cuda.pyi) from a development build; tests/test_stubs.py checks them with
# mypy's stubtest against the built modules. Needs: pip install pybind11-stubgen
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
mods=(timbrefast._core)
PYTHONPATH=python python3 -c "import timbrefast._cuda" 2>/dev/null && mods+=(timbrefast._cuda)
PYTHONPATH=python pybind11-stubgen "${mods[@]}" -o "$tmp" --numpy-array-wrap-with-annotated
for m in "${mods[@]}"; do
  name=${m#timbrefast.}
  sed -E -e "s/^__version__: str = .*/__version__: str/" -e "/^__all__: /d" "$tmp/timbrefast/$name.pyi" > "python/timbrefast/$name.pyi"
done
rm -rf "$tmp"
echo "stubs written: ${mods[*]}"
