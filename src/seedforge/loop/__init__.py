"""The LLM2LLM loop, one module per stage: prepare, select, generate, candidates and filter, evaluate,
annotate, summary."""
