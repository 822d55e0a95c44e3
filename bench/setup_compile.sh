#!/usr/bin/env bash
# llama-cpp-python's compile with and without .ci/llama_cpp_lib_only.cmake (issue 15): the same
# sdist, an empty pip cache per arm, one arm after the other. Run from the repository root after
# `make setup`; prints one line per arm (seconds, wheel size, load average).
#   bash bench/setup_compile.sh
set -euo pipefail
VERSION=$(sed -n 's/^LLAMA_CPP_VERSION := //p' Makefile)
WORK=$(mktemp -d)
.venv/bin/pip download -q --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$WORK/sdist"
for arm in lib_only before; do
  args="-DLLAVA_BUILD=OFF"
  [ "$arm" = lib_only ] && args="$args -DCMAKE_PROJECT_INCLUDE=$PWD/.ci/llama_cpp_lib_only.cmake"
  mkdir -p "$WORK/$arm/home" "$WORK/$arm/wheel"
  start=$(date +%s.%N)
  HOME="$WORK/$arm/home" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) CMAKE_ARGS="$args" \
    .venv/bin/pip wheel -q --no-deps "$WORK"/sdist/*.tar.gz -w "$WORK/$arm/wheel" >"$WORK/$arm.log" 2>&1
  end=$(date +%s.%N)
  printf '%s: %.0f s, wheel %s bytes, load %s\n' "$arm" "$(echo "$end - $start" | bc)" \
    "$(stat -c %s "$WORK/$arm"/wheel/*.whl)" "$(cut -d' ' -f1-3 /proc/loadavg)"
done
rm -rf "$WORK"
