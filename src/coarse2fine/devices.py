"""Where a command runs its codec: `--device auto|cpu|cuda[:N]`.

The spelling is checked when the arguments are parsed, without torch (an error there costs no
import); the device itself is resolved once torch is loaded. Decoding on another device than
the encoder's gives the same latents (the entropy parameters are computed in float64 and
decided on coarse grids, docs/models.md "Deterministic entropy parameters"), and a picture that
may differ from the CPU's by the rounding of the float32 synthesis (docs/bitstream.md).
"""

from __future__ import annotations

import argparse
import re

DEVICE_HELP = "where the codec runs: auto (a CUDA GPU if torch sees one, else the CPU), cpu, cuda or cuda:N"
_SPELLING = re.compile(r"auto|cpu|cuda(:\d+)?")


def device_spec(text: str) -> str:
    """--device as given, if it is one of auto, cpu, cuda, cuda:N (argparse type)."""
    if not _SPELLING.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}")
    return text


def resolve_device(spec: str):
    """The torch.device `spec` names; ValueError saying why a CUDA device cannot be used."""
    import torch

    spec = device_spec(spec)
    if spec == "cpu" or (spec == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        built = "without CUDA" if torch.version.cuda is None else f"with CUDA {torch.version.cuda}, but sees no GPU"
        raise ValueError(f"--device {spec}: no CUDA device (this torch {torch.__version__} is built {built})")
    device = torch.device("cuda" if spec == "auto" else spec)
    index = device.index or 0
    if index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise ValueError(f"--device {spec}: torch sees {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    return torch.device("cuda", index)


def codec_on(codec, device):
    """The codec moved to `device`. On a GPU, TF32 is turned off: it would round the float32
    synthesis far more coarsely than the CPU does (the latents are float64 and unaffected)."""
    import torch

    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    codec = codec.to(device)
    if getattr(codec, "_float64_copies", None) is not None:
        # the float64 copies of the entropy-parameter networks are not submodules: made anew there
        object.__setattr__(codec, "_float64_copies", None)
    return codec


def device_of(module) -> object:
    """The device a module's parameters are on (the CPU for one without parameters)."""
    import torch

    parameter = next(iter(module.parameters()), None)
    return parameter.device if parameter is not None else torch.device("cpu")
