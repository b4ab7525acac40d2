"""Memory the app process gives back. Pillow decodes into 16 MiB blocks; glibc serves such blocks from per-thread
heaps once its adaptive mmap threshold has grown, and keeps them after they are freed, so concurrent decodes of large uploads
left about twice as much resident as was ever live (measured with benchmarks/decoding.py). A fixed threshold
makes every allocation of 1 MiB or more an mmap, returned to the system when freed."""
from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
THRESHOLD_BYTES = 2**20


def return_large_allocations() -> bool:
    """Fix glibc's mmap threshold at THRESHOLD_BYTES; False where the C library is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False
