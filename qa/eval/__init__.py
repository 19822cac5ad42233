"""Evaluation and fitting: question sets, scores, the fitted models, feedback, `qa eval`."""
