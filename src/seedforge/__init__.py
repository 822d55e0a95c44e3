"""seedforge: a declarative dataset compiler for fine-tuning when labelled data is scarce."""

__version__ = "0.1.0"
