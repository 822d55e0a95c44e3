"""What the pipeline writes: records, the typed rows of the loop's files, and where they live."""
