"""Reading one file of any supported format into text (bot.ingest.loaders.load_text)."""

from bot.ingest.loaders.dispatch import (
    SUPPORTED_SUFFIXES,
    LoadedText,
    UnreadableDocument,
    load_text,
    table_row,
)

__all__ = ["SUPPORTED_SUFFIXES", "LoadedText", "UnreadableDocument", "load_text", "table_row"]
