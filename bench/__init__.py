"""Benchmarks of coarse2fine: coding overhead, progressive decoding, training cost, pipeline time.

Run `python bench/run.py --output bench/results.json --markdown BENCHMARKS.md`; every ratio is
measured side by side in one process run (absolute times on shared machines drift).
"""
