"""Real parts for tests and benchmarks: a loopback OpenAI-compatible server with an answer hook."""
