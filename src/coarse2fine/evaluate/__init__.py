"""Evaluation along the data's journey (docs/evaluation.md): `views` (decoded views per
provider, measured and classified), then `tables` (per image, summaries, BD deltas, checks),
then `reports` (claims, the receiver, the headline). Each sub-package imports only from the
ones before it."""
