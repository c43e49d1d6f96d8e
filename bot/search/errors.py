"""What can make an index unusable, each with what the user should do (`problem: remedy`)."""

from __future__ import annotations

from typing import Any


class IndexUnusable(RuntimeError):
    """Base for index problems a user can act on: `problem` says what is wrong, `remedy` what to do,
    and the message is both (`The index file … is missing: run 'wenda index' to rebuild.`)."""

    remedy = "run 'wenda index' to rebuild."

    def __init__(self, problem: str, remedy: str | None = None):
        self.problem = problem
        self.remedy = remedy or type(self).remedy
        super().__init__(f"{problem}: {self.remedy}")


class IndexMissing(IndexUnusable):
    remedy = "run 'wenda index' to build one."


class IndexMismatch(IndexUnusable):
    """The index was built with other settings (model, format) than the ones in force."""


class IndexDamaged(IndexUnusable):
    """Files are missing, truncated or do not match their checksums."""


class IndexBusy(IndexUnusable):
    """Another process is building the index."""

    remedy = "try again when it is done."


class EmptyCorpus(IndexUnusable):
    """The corpus folder holds no readable text; nothing was written. `skipped`: the files that could not be read."""

    remedy = "add .txt, .md, .docx, .pdf or .html files."

    def __init__(self, problem: str, remedy: str | None = None, skipped: list[dict[str, Any]] | None = None):
        super().__init__(problem, remedy)
        self.skipped = skipped or []


class MilvusUnavailable(IndexUnusable):
    """INDEX_BACKEND=milvus, and pymilvus is not installed or Milvus cannot be reached."""

    remedy = "check MILVUS_URI and MILVUS_TOKEN, or set INDEX_BACKEND=faiss."
