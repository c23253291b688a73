"""Evaluation: metrics (`metrics`), prediction tables and `evaluate_predictions` (`predictions`),
classical no-reference baselines (`classical`), literature numbers (`reported`), result tables (`tables`,
rendered by `markdown`) and figures (`figures`)."""
