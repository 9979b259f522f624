"""Print a study as Optuna sees it (study.trials), as JSON: usage optuna_dump.py URL STUDY."""
import json
import math
import sys

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name=sys.argv[2], storage=sys.argv[1])


def val(v):
    if v is None:
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


out = {
    "directions": [d.name for d in study.directions],
    "user_attrs": study.user_attrs,
    "trials": [
        {
            "number": t.number,
            "trial_id": t._trial_id,
            "state": t.state.name,
            "values": None if t.values is None else [val(v) for v in t.values],
            "params": t.params,
            "user_attrs": t.user_attrs,
            "system_attrs": t.system_attrs,
            "datetime_start": t.datetime_start.isoformat() if t.datetime_start else None,
        }
        for t in study.trials
    ],
}
print(json.dumps(out))
