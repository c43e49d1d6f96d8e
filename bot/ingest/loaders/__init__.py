"""Reading one file of any supported format into raw text (before OCR cleaning): see dispatch.py."""

from bot.ingest.loaders.common import LoadedText, UnreadableDocument, table_row
from bot.ingest.loaders.dispatch import DEFAULT_MAX_BYTES, SUPPORTED_SUFFIXES, load_text

__all__ = ["DEFAULT_MAX_BYTES", "SUPPORTED_SUFFIXES", "LoadedText", "UnreadableDocument", "load_text", "table_row"]
