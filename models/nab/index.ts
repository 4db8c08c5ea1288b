/**
 * NAB (Numenta Anomaly Benchmark) scoring, implemented from Lavin & Ahmad,
 * "Evaluating Real-time Anomaly Detection Algorithms - the Numenta Anomaly
 * Benchmark" (ICMLA 2015) and NAB's documentation. The scoring is pure
 * functions; openNabCorpus (nab-corpus.ts) reads a NAB-layout folder.
 */
export { scaledSigmoid, truePositiveReward } from './scaled-sigmoid.js'
export { probationaryLength, NAB_PROBATION_PERCENT } from './probation.js'
export { windowSpans, type NabWindow, type WindowSpan } from './anomaly-windows.js'
export { planFileScoring, type FileScoringPlan } from './file-scoring-plan.js'
export { optimiseThresholds, weightedScore, type OptimisedThreshold, type ScoredFile } from './threshold-sweep.js'
export { scoreFileAtThreshold, type FileResult } from './file-result.js'
export { normalisedScore } from './normalised-score.js'
export { scoreNabCorpus, type NabCorpusFile, type NabCorpusScore, type ProfileResult, type ScoreCorpusOptions } from './score-corpus.js'
export { parseCombinedWindows } from './combined-windows.js'
export { parseProfiles, NAB_DEFAULT_PROFILES, type CostMatrix, type NabProfiles } from './profiles.js'
export { NabError } from './nab-error.js'
export { openNabCorpus, NAB_LABELS_FILE, type NabCorpus, type NabCorpusEntry } from './nab-corpus.js'
