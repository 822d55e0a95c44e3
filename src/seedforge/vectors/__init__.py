"""Embeddings and what runs on them: the encoder, nearest-neighbour search, n-grams, similarity."""
