"""The final dataset: the iteration whose student scored best on the dev set (issue 18).

The loop can make the student worse (a weak teacher's wrong labels), so the last iteration is not
shipped by default: `final` compares every iteration's dev score (`metrics/evaluate/<i>.json`,
the task's mean score, which is accuracy for exact tasks) and takes the best, ties to the
earlier iteration, since it is the smaller dataset that trained as well. The test set plays no
part in the choice, so the final test score stays an honest estimate. Without a dev set there is
nothing to choose on: the last iteration is taken, and the metrics say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seedforge.schema import layout


def choose(evaluations: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """metrics/final.json from each iteration's evaluate metrics.

    >>> ev = {0: {"dev_score": 0.7, "dev_total": 40}, 1: {"dev_score": 0.8, "dev_total": 40},
    ...       2: {"dev_score": 0.8, "dev_total": 40}}
    >>> choose(ev)["iteration"], choose(ev)["chosen_by"]
    (1, 'dev')
    >>> choose({0: {"test_score": 0.9}, 1: {"test_score": 0.5}})["iteration"]
    1
    """
    its = sorted(evaluations)
    with_dev = all(evaluations[i].get("dev_total") and "dev_score" in evaluations[i] for i in its)
    if with_dev:
        best = max(its, key=lambda i: (evaluations[i]["dev_score"], -i))
        score = evaluations[best]["dev_score"]
        ties = [i for i in its if evaluations[i]["dev_score"] == score and i != best]
        reason = f"best dev score ({score}) of iterations {its[0]}-{its[-1]}"
        if ties:
            reason += f"; tied with {', '.join(map(str, ties))}, the earlier wins"
        chosen_by = "dev"
    else:
        best = its[-1]
        reason = "no dev set (data.dev): the last iteration, unchosen; set data.dev to choose on it"
        chosen_by = "last"
    keys = ("dev_accuracy", "dev_score", "test_accuracy", "test_score")
    ev = evaluations[best]
    return {
        "iteration": best,
        "chosen_by": chosen_by,
        "reason": reason,
        **{k: ev.get(k) for k in keys},
        "dataset": layout.dataset(best),
        "student": f"{layout.STUDENTS}/{best}",
        "by_iteration": {str(i): {k: evaluations[i].get(k) for k in keys} for i in its},
    }
