/** The `--quick` preset of the training core (its own module: cheap to import from commands). */

/** Settings `--quick` applies (a 4-trial study in well under a minute on 2 cores; the demo uses it). */
export const QUICK_PRESET = Object.freeze({
  nTrials: 4,
  folds: 2,
  /** CPCV with N = 3, k = 1: 3 trainings per trial, one path over all the training bars. */
  cpcvGroups: 3,
  cpcvTestGroups: 1,
  embargoBars: 24,
  windowDays: 40,
  episodeBars: 240,
  ppoEpochs: 2,
});
