"""DeepHQ's fixed numbers: grids, selectors, step-ratio bounds, coding guards."""

GRIDS = ("centred", "mean")  # where a layer's grid sits inside a coded element's interval (nested.py)
SELECTORS = ("exponent", "threshold")  # the official code's per-channel exponent; a score and thresholds
# the reconstruction of a coded element: its interval's midpoint, or that times a learned gain per
# layer and channel (the official code's dequantisation vector IQV beside its quantisation vector QV)
DEQUANTISATIONS = ("midpoint", "learned")
MAX_STEP_RATIO = 16.0  # step_{l-1} / step_l <= 16: at most 17 children per parent
MIN_STEP_RATIO_GAP = 0.01  # step_{l-1} / step_l >= 1.01: strictly decreasing steps
SCALE_BOUND = 0.11  # CompressAI's lower bound on Gaussian scales
LIKELIHOOD_BOUND = 1e-9  # CompressAI's likelihood_bound
INITIAL_FIRST_STEP, INITIAL_LAST_STEP = 4.0, 0.5
INITIAL_MIN_RATIO = 2.0  # initial step_{l-1} / step_l at least this: every layer cuts its parents
SELECT_ALL_SCORE = 4.0  # initial score: above every initial threshold (everything coded)
MIN_LAYER_SYMBOLS = 8
PAD_TABLE = [0, 65535, 65536]  # symbol 0 with probability 1 - 2^-16, then escape
VALUE_LIMIT = 1e6  # corrupt hyper-latents can give absurd parameters; valid ones are far below
