"""Reading user data: a source (file, format, fields) becomes task examples and records."""
