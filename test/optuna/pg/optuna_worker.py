"""Real Optuna optimising a study while capp workers write to it: usage optuna_worker.py URL STUDY STOPFILE MAX.

Loads (or creates, maximize) STUDY and runs trials (param `optuna_x`, a short sleep, user attr
`by`) until STOPFILE exists or MAX trials are done; prints the number of trials it ran.
"""
import os
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
url, name, stop, most = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
study = optuna.create_study(study_name=name, storage=url, direction="maximize", load_if_exists=True)
done = 0
while done < most and not os.path.exists(stop):
    t = study.ask()
    x = t.suggest_float("optuna_x", 0.0, 1.0)
    t.set_user_attr("by", "optuna")
    time.sleep(0.2)
    study.tell(t, x)
    done += 1
print(done)
