#!/bin/sh
# Install the CUDA 13 compiler (nvcc, nvvm, crt, cccl headers) and the CUDA runtime (headers,
# libcudart_static.a) from NVIDIA's wheels on PyPI, laid out as CMake's FindCUDAToolkit
# expects, and link nvcc onto PATH. For build images without a CUDA toolkit (manylinux):
#     sh packaging/cu13/install_cuda_from_pypi.sh [PREFIX]      # prints the toolkit root
# Then build with CUDAToolkit_ROOT=<that root> (the cibuildwheel configuration does).
# Checked: the _cuda module builds with this toolkit and imports.
set -eu
PREFIX=${1:-/opt/cuda-pypi}
PY=${PYTHON:-python3}
"$PY" -m pip install --quiet --no-deps --target "$PREFIX/site" \
  "nvidia-cuda-nvcc==13.0.*" "nvidia-nvvm==13.0.*" "nvidia-cuda-crt==13.0.*" \
  "nvidia-cuda-cccl==13.0.*" "nvidia-cuda-runtime==13.0.*"
TK="$PREFIX/site/nvidia/cu13"
ln -sfn lib "$TK/lib64"                       # nvcc links against <root>/lib64
ln -sfn libcudart.so.13 "$TK/lib/libcudart.so"  # FindCUDAToolkit looks for libcudart.so
ln -sfn "$TK/bin/nvcc" /usr/local/bin/nvcc
echo "$TK"
