"""One thin script per DVC stage; run as `python -m stages.<name>` (see dvc.yaml)."""

from seedforge.reproducible import pin_kernels

# Before any stage imports torch: kernel choice must not depend on the CPU (seedforge.reproducible).
pin_kernels()

from seedforge.stage import quiet_libraries  # noqa: E402 - after the pins, whatever it imports

# Before transformers loads: a stage's log is its own result line, not libraries' bars (seedforge.stage).
quiet_libraries()
