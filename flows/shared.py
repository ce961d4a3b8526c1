"""Option lists both flows share: the same ids, so accounts of both are counted together.

Patterns across accounts (E5 widespread, E6 policy) are found by comparing option ids,
so a survivor's "detention-arrest-abduction" and a documenter's must be one id. Steps
with the same id in two flows are the shared lists; their option ids must be equal.
"""

from __future__ import annotations

from collections.abc import Mapping

from flows.spec import Flow

SHARED_LISTS: tuple[str, ...] = (
    "harms",
    "how-often",
    "perpetrators",
    "grounds",
    "rules",
    "others-affected",
    "evidence",
    "needs",
)


def shared_list_mismatches(flows: Mapping[str, Flow]) -> list[str]:
    """One line per shared list whose option ids differ between two flows (or is missing)."""
    problems: list[str] = []
    by_mode = [f for f in flows.values() if f.mode in ("survivor", "documenter")]
    for step_id in SHARED_LISTS:
        having = [f for f in by_mode if f.has_step(step_id)]
        if len(having) < len({f.mode for f in by_mode}):
            missing = sorted(f.id for f in by_mode if not f.has_step(step_id))
            problems.append(f"{step_id}: missing in {', '.join(missing)}")
            continue
        ids = {f.id: tuple(o.id for o in f.step(step_id).options) for f in having}
        if len(set(ids.values())) > 1:
            first, *rest = sorted(ids)
            for other in rest:
                if ids[other] != ids[first]:
                    extra = sorted(set(ids[other]) ^ set(ids[first])) or ["(order)"]
                    problems.append(f"{step_id}: {first} and {other} differ in {', '.join(extra)}")
    return problems
