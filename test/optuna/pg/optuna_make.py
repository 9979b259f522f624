"""Make Optuna studies on a storage URL with real Optuna (the interop side of test/optuna/pg*.test.ts).

usage: optuna_make.py URL STUDY N_TRIALS [SEED]
Creates (or loads) STUDY (maximize) and optimises N_TRIALS trials whose outcomes cover every
state, +inf, user and system attrs, float/int(log)/categorical params; plus a 2-objective study
"<STUDY>_mo" with 3 trials.
"""
import math
import sys

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
url, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
study = optuna.create_study(
    study_name=name, storage=url, direction="maximize", load_if_exists=True,
    sampler=optuna.samplers.RandomSampler(seed=seed),
)


def objective(t):
    x = t.suggest_float("x", -1.0, 1.0)
    lr = t.suggest_float("lr", 1e-5, 1e-1, log=True)
    k = t.suggest_int("k", 1, 64, log=True)
    c = t.suggest_categorical("c", ["ppo", "sac", None, 3])
    t.set_user_attr("sharpe", x * 2)
    t.set_user_attr("meta", {"k": [k, c], "s": "é"})
    t.storage.set_trial_system_attr(t._trial_id, "origin", "optuna")
    if t.number % 5 == 3:
        raise optuna.TrialPruned()
    if t.number % 7 == 4:
        raise RuntimeError("boom")
    if t.number == 6:
        return math.inf
    return x + lr


study.optimize(objective, n_trials=n, catch=(RuntimeError,))
mo = optuna.create_study(study_name=name + "_mo", storage=url, directions=["maximize", "minimize"], load_if_exists=True)
mo.optimize(lambda t: (t.suggest_float("a", 0, 1), -math.inf if t.number == 1 else t.suggest_float("b", 0, 1)), n_trials=3)
print(len(study.trials))
