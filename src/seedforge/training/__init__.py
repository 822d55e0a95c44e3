"""Training and exporting models: fine-tuning, GGUF export, the tiny teacher, the tuned teacher."""
