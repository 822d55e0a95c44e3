"""The recipe: `params.yaml` parsed and validated, one model per section, unknown keys refused."""
