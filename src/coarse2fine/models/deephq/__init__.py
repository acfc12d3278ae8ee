"""DeepHQ (Lee et al., arXiv 2408.12150): a learned hierarchical quantiser on the mean-scale
hyperprior, one model whose quantisation layers each refine the last (docs/deephq.md).

- `quantizer.`: per layer and latent channel step sizes, strictly decreasing with the layer.
  Layer l cuts an element's current interval by the grid mean + (m + 1/2) step_l; the symbol
  is the child piece holding y, its probability the Gaussian mass of the child over the mass
  of the parent (models/nested.py), so the rate of layers 1..l is -log2 of the mass of the
  layer-l interval. A layer reconstructs an element to the midpoint of its interval.
- `selector.` (selective=True): an importance score per latent element from the hyper
  features and one threshold per layer, t_1 >= t_2 >= ...; layer l codes the elements scoring
  above t_l, so an element coded at a layer is coded at every later one. An element not coded
  keeps its interval and costs nothing; one never coded reconstructs to the mean. The decoder
  derives the same masks from z_hat: nothing is signalled.

Coding follows the codec rules of docs/models.md: means, scales, scores and thresholds come
from the float64 parameter path on a grid, the child CDFs from numpy float64 (models/nested.py),
so a stream decodes to the same latents on any thread count.
"""

from __future__ import annotations

from .codec import DeepHQ
from .coder import LayerCoder
from .constants import GRIDS, MAX_STEP_RATIO, SELECTORS
from .quantizer import HierarchicalStepSizes
from .selection import ExponentSelector, ImportanceSelector

__all__ = [
    "DeepHQ",
    "ExponentSelector",
    "GRIDS",
    "HierarchicalStepSizes",
    "ImportanceSelector",
    "LayerCoder",
    "MAX_STEP_RATIO",
    "SELECTORS",
]
