"""Photos as the study handles them, below every stage: reading and checking an image file
(photos.py) and the study's view of it (view.py: the size every codec codes, the centre crop
every classifier sees)."""
