"""Instruction augmentation operators (arXiv 2412.04871): expand, refine, respond, extract, judge,
categorize and rebalance an instruction-tuning set grown from a small seed.

One row type (`rows.InstructionRow`) flows through small steps. Each operator is a module holding
the inputs its template is rendered with, the parser of the teacher's answer and the JSON schema of
its structured output; `calls.ask` is the one place that talks to a teacher, and `stages/instruct_*`
are thin DVC stages (pipeline: `instruct/dvc.yaml`).
"""
