"""instruct compare: the distilled expander next to the instruct teacher: judge scores of the
instructions each wrote, dedup rate, and tokens (or cost) per 1,000 rows."""

from pathlib import Path

from seedforge import stage
from seedforge.instruct import stage as istage
from seedforge.instruct.distil import cost, side
from seedforge.instruct.gate import gate
from seedforge.instruct.judge import judge
from seedforge.instruct.rows import read_rows
from seedforge.io import read_json, write_json
from seedforge.teachers.prompts import load_template
from seedforge.vectors.embed import Encoder


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--seed", type=Path, required=True)
    p.add_argument("--teacher", nargs=2, type=Path, required=True, metavar=("ROWS", "METRICS"))
    p.add_argument("--distilled", nargs=2, type=Path, required=True, metavar=("ROWS", "METRICS"))
    p.add_argument("--cache", type=Path, default=None, help="per-call cache folder")
    p.add_argument("--embeddings", type=Path, default=None, help="embedding cache folder")
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    seeds = read_rows(args.seed)
    asker, _ = istage.asker(params, cfg.judge, args.cache)
    template = load_template(cfg.distil.judge_template)
    g = params.gates
    encoder = Encoder(g.model, args.embeddings, g.device, g.batch_size)
    out = {}
    for name, (rows_path, metrics_path), profile in (
        ("teacher", args.teacher, cfg.teacher),
        ("distilled", args.distilled, cfg.distil.profile),
    ):
        rows, m = read_rows(rows_path), read_json(metrics_path)
        # expanded instructions have no response yet: the rubric rates the instruction
        judged = judge(rows, template, asker, cfg.judge.threshold, params.seed, grades_response=False).extra
        dups = len(gate(rows, seeds, [], g, encoder).rejects)
        out[name] = {"profile": profile, **side(rows, m, judged, dups, cost(params, profile, m, len(rows)))}
    encoder.close()
    out["judge"] = {"profile": cfg.teacher, "template": cfg.distil.judge_template}
    write_json(args.metrics, out)


if __name__ == "__main__":
    stage.run(main)
