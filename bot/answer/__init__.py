"""Question -> answer: what it asks (question.py), the reader that finds the span (reader.py, trained by
training.py; extract.py's rules where READER=rules), the sentence shown (sentence.py), "not found"
(abstain.py), English questions (crosslingual/), and the pipeline joining them (pipeline.py: Wenda)."""
