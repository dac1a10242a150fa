"""The classical methods a geologist would run instead: weights of evidence, logistic regression,
fuzzy overlay, and the benchmark's baselines (random forest, WofE on the training folds).

Imports core and data only, so the prospectivity head can be measured against them.
"""
