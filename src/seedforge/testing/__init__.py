"""Real parts for tests, benchmarks and the repository's own checks: a loopback OpenAI-compatible
server with an answer hook, project copies, planted near-copies, the selection a run should have
made, derived stage deps and the package map."""
