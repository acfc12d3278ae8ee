"""The views: every evaluated image through a provider (the uncompressed reference, a classical
anchor, a learned model's real streams, or a model coding on the fly), each decoded view measured
and classified by the one measuring loop (measure.py); the CPIPS distance between views; `c2f
eval` on a folder."""
