"""The set-up's llama-cpp-python build: only the libraries the bindings load (issue 15)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from seedforge.testing.project import REPO

LIB_ONLY = REPO / ".ci" / "llama_cpp_lib_only.cmake"

# llama-cpp-python's CMakeLists, reduced to what the include works against: the parent forces
# LLAMA_BUILD_COMMON on in the cache, then adds llama.cpp, whose option() and if() decide.
PARENT = """cmake_minimum_required(VERSION 3.21)
project(llama_cpp NONE)
set(LLAMA_BUILD_COMMON ON CACHE BOOL "Build llama.cpp common library" FORCE)
add_subdirectory(vendor/llama.cpp)
"""
LLAMA_CPP = """project("llama.cpp" NONE)
option(LLAMA_BUILD_COMMON "llama: build common utils library" OFF)
if (LLAMA_BUILD_COMMON)
    message(STATUS "common: built")
else()
    message(STATUS "common: skipped")
endif()
"""


def configure(tmp_path: Path, *args: str) -> str:
    src = tmp_path / "src"
    (src / "vendor" / "llama.cpp").mkdir(parents=True, exist_ok=True)
    (src / "CMakeLists.txt").write_text(PARENT)
    (src / "vendor" / "llama.cpp" / "CMakeLists.txt").write_text(LLAMA_CPP)
    build = tmp_path / f"build{len(list(tmp_path.glob('build*')))}"
    out = subprocess.run(["cmake", "-S", str(src), "-B", str(build), *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_the_include_skips_common_that_the_package_forces_on(tmp_path: Path) -> None:
    assert "common: built" in configure(tmp_path)  # what llama-cpp-python does on its own
    assert "common: skipped" in configure(tmp_path, f"-DCMAKE_PROJECT_INCLUDE={LIB_ONLY}")


def test_make_setup_builds_the_wheel_with_it() -> None:
    out = subprocess.run(["make", "-n", "-B", "setup"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.fail(out.stdout + out.stderr)
    build = next(line for line in out.stdout.splitlines() if "pip wheel" in line or "CMAKE_ARGS=" in line)
    assert f"-DCMAKE_PROJECT_INCLUDE={LIB_ONLY}" in build
