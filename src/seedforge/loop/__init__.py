"""The LLM2LLM loop, one module per step: prepare, select, generate, candidates, evaluate, annotate."""
