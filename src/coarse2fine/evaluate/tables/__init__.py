"""The tables of one hierarchy from the views: the per-image table (predictions.py), its summary
and BD deltas, the prior-proof scores, and the checks that the progressive streams and CPIPS
behave as they should."""
