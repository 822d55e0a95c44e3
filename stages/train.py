"""train / retrain@i: fine-tune the student on an iteration's dataset, from the base model.

Under `loop.init: previous` (an ablation) retrain@i starts from iteration i's student instead,
the `--previous` folder, which dvc.yaml declares as a dependency of every retrain stage.
"""

from pathlib import Path

from seedforge import stage
from seedforge.config.params import load_params
from seedforge.errors import SeedforgeError
from seedforge.io import write_json
from seedforge.schema.records import read_records
from seedforge.students import make_student
from seedforge.training import finetune


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--iteration", type=int, required=True)
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--task-info", type=Path, required=True)
    p.add_argument("--models", type=Path, required=True, help="folder of per-iteration students")
    p.add_argument("--previous", type=Path, default=None, help="the previous iteration's student")
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    params = load_params(args.params)
    task = stage.task_info(args.task_info)
    records = read_records(args.dataset)
    if not records:
        raise SeedforgeError(f"{args.dataset}: the dataset is empty")
    init_from = None
    if params.loop.init == "previous" and args.previous is not None:
        # Ablation only: LLM2LLM trains every iteration from the base model.
        init_from = args.previous
        if not init_from.exists():
            raise SeedforgeError(f"loop.init: previous student {init_from} not found")
    student = make_student(params.student, params.student_profile)
    out = args.models / str(args.iteration)
    # Under `accelerate launch` every process trains; only the main one writes.
    with finetune.output_dir(out) as tmp:
        # The same seed every iteration: the only thing that changes between iterations is the data.
        info = student.train(records, task, tmp, seed=params.seed, init_from=init_from)
    if not finetune.is_main_process():
        return
    origins = {o: sum(r.origin == o for r in records) for o in ("seed", "generated")}
    write_json(
        args.metrics,
        {
            "iteration": args.iteration,
            "dataset_size": len(records),
            "generated_total": origins["generated"],
            "init": "base" if init_from is None else init_from.as_posix(),
            **info,
        },
    )
    stage.result(
        "train" if args.iteration == 0 else f"retrain@{args.iteration - 1}",
        f"iteration {args.iteration}: {len(records)} rows ({origins['generated']} generated), "
        f"{info.get('steps')} steps, loss {info.get('first_loss')} -> {info.get('final_loss')}",
    )


if __name__ == "__main__":
    stage.run(main)
