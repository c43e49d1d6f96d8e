"""Files -> cleaned documents -> passages: loaders per format (loaders/), OCR cleaning (clean.py), the
corpus folder (corpus.py), sentence windows with offsets (passages.py), and documents added by
admins (uploads.py)."""
