"""One thin script per DVC stage; run as `python -m stages.<name>` (see dvc.yaml)."""

from seedforge.reproducible import pin_kernels

# Before any stage imports torch: kernel choice must not depend on the CPU (seedforge.reproducible).
pin_kernels()
