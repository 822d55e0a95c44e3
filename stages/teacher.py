"""teacher: resolve the chosen teacher profile to what other stages need to know about it.

Writes which local files (model, adapter; if any) the profile reads, and the path and sha256 of
the template generate@i renders for it. `tiny_teacher` and
`teacher_finetune` depend on this small
file rather than on the `teacher` param, so switching between profiles of the same GGUF
(tiny -> tiny_cool) rebuilds nothing, and a profile with no local model (an HTTP server, a hub
GGUF) does not make `dvc repro` train the tiny teacher. DVC templating cannot look a profile up
by a param's value (`${teachers.${teacher}.model}` does not parse), hence this stage.

With `--instruct` it resolves `instruct.teacher` for the instruction pipeline instead, and adds the
model's fingerprint (name, size, hash of its ends, adapter hash): that stage runs on every repro
(`always_changed`, it takes milliseconds) and the operator stages depend on its output, so they
rerun when the chosen teacher's files change and never drag in a loop stage that builds another
profile's model.
"""

from pathlib import Path

from seedforge import stage
from seedforge.config.params import load_params
from seedforge.errors import SeedforgeError
from seedforge.io import write_json
from seedforge.teachers import make_teacher
from seedforge.teachers.prompts import load_template


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--instruct", action="store_true", help="resolve instruct.teacher (with fingerprint)")
    args = p.parse_args()
    params = load_params(args.params)
    if not args.instruct:
        profile = params.teacher_profile
        files = list(profile.local_files())
        if params.annotating:  # annotate@i's teacher (e.g. the tuned adapter) must be built too
            files += params.teachers[params.annotate.teacher].local_files()
        # The template generate@i renders: a profile's own (few-shot) template is not a path DVC
        # can name in dvc.yaml, so its hash is pinned here and generate@i depends on this file.
        template = load_template(profile.template or params.data.template).ref
        info = {
            "backend": profile.backend,
            "local_files": sorted(set(files)),
            "template": template.model_dump(),
        }
        write_json(args.out, info)
        return
    if params.instruct is None:
        raise SeedforgeError(f"{args.params}: key 'instruct': required by the instruction pipeline")
    name = params.instruct.teacher
    profile = params.teachers[name]
    try:
        fingerprint = make_teacher(name, profile).fingerprint()
    except SeedforgeError as e:
        hint = ""
        if any(str(f).startswith("models/tiny_teacher") for f in profile.local_files()):
            hint = " (the loop's offline teacher: build it with `dvc repro tiny_teacher` first)"
        raise SeedforgeError(f"instruct.teacher={name}: {e}{hint}") from None
    info = {"profile": name, "backend": profile.backend, "local_files": profile.local_files()}
    write_json(args.out, {**info, "fingerprint": fingerprint})


if __name__ == "__main__":
    stage.run(main)
