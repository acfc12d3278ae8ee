"""What the tables say: the paired claim of a method against its ablation and the baselines (with
its statistics and the seed repeats), the confidence-driven receiver, the headline for DVC, and a
training job's BD-rate against its steps."""
