"""Reading finished runs: snapshots, provenance, diff, checks and the HTML report."""
