"""What every stage shares about Chinese text: the one definition of a Chinese character (cjk.py) and
folding for matching (fold.py: full-width to half-width, traditional to simplified, lower case)."""
