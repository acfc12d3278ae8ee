"""Evaluation: decoded views per provider (views, anchors, learned), metrics, prob-sum tables
per hierarchy with bootstrap intervals (table) and Bjontegaard deltas (bd). docs/evaluation.md."""
