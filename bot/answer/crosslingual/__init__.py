"""English questions over Chinese text: English words -> Chinese terms through CC-CEDICT."""
