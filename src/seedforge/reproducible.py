"""The same training on another machine gives the same bytes: pin what torch would pick per CPU.

Measured (issue 18): two 2-core machines of one kind trained different teacher adapters from the
same inputs, while each machine reproduced itself byte for byte. torch, MKL and oneDNN choose
their vector kernels from the CPU found at run time (AVX2 here, AVX-512 elsewhere), and those
kernels sum in different orders. The variables below fix that choice to AVX2, which every x86
machine we target has, and ask cuBLAS for its deterministic workspace. They are read once, when
the libraries load, so `pin_kernels()` must run before the first `import torch`: every stage
script does it through `stages/__init__.py`. A value the user set already is kept.

Inside training, `training.finetune.fit` adds the rest: deterministic algorithms and a fixed
thread count (`TRAIN_THREADS`), since a reduction split over more threads sums in another order.
"""

from __future__ import annotations

import os
import sys

PINNED = {
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's own vectorised kernels
    "MKL_CBWR": "AVX2",  # MKL's conditional numerical reproducibility: one code path on any CPU
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN (mkldnn) kernels
    "CUBLAS_WORKSPACE_CONFIG": ":4096:8",  # deterministic cuBLAS on a GPU
}


def pin_kernels() -> bool:
    """Set the variables above unless set; False when torch was already loaded (too late)."""
    for key, value in PINNED.items():
        os.environ.setdefault(key, value)
    return "torch" not in sys.modules
