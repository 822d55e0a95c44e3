"""teacher: resolve the chosen teacher profile to what other stages need to know about it.

Writes which local files (model, adapter; if any) the profile reads. `tiny_teacher` and
`teacher_finetune` depend on this small
file rather than on the `teacher` param, so switching between profiles of the same GGUF
(tiny -> tiny_cool) rebuilds nothing, and a profile with no local model (an HTTP server, a hub
GGUF) does not make `dvc repro` train the tiny teacher. DVC templating cannot look a profile up
by a param's value (`${teachers.${teacher}.model}` does not parse), hence this stage.
"""

from pathlib import Path

from seedforge import stage
from seedforge.io import write_json
from seedforge.params import load_params


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    params = load_params(args.params)
    profile = params.teacher_profile
    files = list(profile.local_files())
    if params.annotating:  # annotate@i's teacher (e.g. the tuned adapter) must be built too
        files += params.teachers[params.annotate.teacher].local_files()
    write_json(args.out, {"backend": profile.backend, "local_files": sorted(set(files))})


if __name__ == "__main__":
    stage.run(main)
