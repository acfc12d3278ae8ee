"""Images <-> `.c2f` streams through a codec's compress/decompress (CompressAI rANS).

Encoding pads the image to the codec's multiple (replicate padding), codes it, and writes the
original size so decoding crops back. Decoding validates the whole container first (magic,
version, CRCs, limits, model identity, the codec's layout), checks the declared size against
the pixel limit and every payload's length against what its symbols can need, and only then
hands segments to the entropy decoder; each payload is given zero padding that bounds how far
CompressAI's rANS decoder can read on a corrupt-but-CRC-valid payload (docs/bitstream.md,
"Limits and threats").
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch

from coarse2fine import rans
from coarse2fine.container import SEGMENT_FRAMING, Bitstream, Cut, Header, parse_bitstream, parse_received
from coarse2fine.devices import device_of
from coarse2fine.limits import check_pixels
from coarse2fine.models.padding import crop_to_size, pad_to_multiple

from .errors import BitstreamError, ResourceLimitError
from .identity import model_identity

# The backbone contract: y is at 4x the resolution of the hyper-latent z.
LATENT_TO_HYPER = 4


@dataclass(frozen=True)
class DecodedImage:
    image: torch.Tensor  # (1, 3, H, W) in [0, 1], cropped to the original size
    latents: torch.Tensor  # the decoded latent y_hat (blocks after `level` are zero)
    level: int
    header: Header
    cut: Cut | None = None  # where a cut stream ended (decoded with allow_cut); None if it did not


def _check_image(x: torch.Tensor, max_pixels: int | None) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected one RGB image as a (1, 3, H, W) tensor, got {shape}")
    height, width = x.shape[-2:]
    check_pixels(int(width), int(height), max_pixels, "image to encode")
    if not x.is_floating_point() or not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError("image values must be finite floats in [0, 1]")


@contextmanager
def _memory_named(what: str):
    # Allocation failures (Python's MemoryError, torch's "can't allocate memory") become a
    # named error; nothing else is caught.
    try:
        yield
    except MemoryError as exc:
        raise ResourceLimitError(
            f"{what}: out of memory ({exc or 'MemoryError'}); lower max_pixels or free memory"
        ) from exc
    except RuntimeError as exc:
        if "allocate" not in str(exc):
            raise
        raise ResourceLimitError(f"{what}: out of memory ({str(exc).splitlines()[0]})") from exc


def header_for(codec, width: int, height: int) -> Header:
    return Header(
        model_identity(codec),
        int(width),
        int(height),
        int(codec.pad_multiple),
        tuple(int(c) for c in codec.level_blocks),
    )


@dataclass(frozen=True)
class EncodedImage:
    data: bytes  # the .c2f stream, every level
    latents: torch.Tensor  # the quantised latent y_hat the encoder coded (all levels)
    level_latents: tuple  # what decoding the first 1, 2, ... segments must give back


def encode_image(codec, x: torch.Tensor, max_pixels: int | None = None) -> bytes:
    """A `.c2f` stream holding every level of image x (1, 3, H, W) in [0, 1].

    ResourceLimitError if x has more than `max_pixels` pixels (None: coarse2fine.limits'
    default) or memory runs out."""
    return compress_image(codec, x, max_pixels).data


@torch.no_grad()
def compress_image(codec, x: torch.Tensor, max_pixels: int | None = None) -> EncodedImage:
    """Like encode_image, keeping the encoder's latents to check decoding against."""
    _check_image(x, max_pixels)
    height, width = x.shape[-2:]
    padded, _ = pad_to_multiple(x.to(device_of(codec)), codec.pad_multiple)
    header = header_for(codec, width, height)
    # A rate-controlled codec (RMPGC) aims its target bpp at the original pixels, not the padded.
    with _memory_named(f"encoding a {width}x{height} image"):
        enc = codec.compress(padded, pixels=int(width) * int(height))
    strings = enc["strings"]
    expected_shape = tuple(s // codec.pad_multiple for s in header.padded_size)
    if tuple(enc["shape"]) != expected_shape:
        raise RuntimeError(
            f"codec returned hyper-latent shape {tuple(enc['shape'])}, the format assumes {expected_shape}"
        )
    if len(strings) != 1 + header.num_levels_total:
        raise RuntimeError(
            f"codec returned {len(strings)} string groups for {header.num_levels_total} levels plus the hyper-latent"
        )
    data = Bitstream(header, strings[0][0], tuple(s[0] for s in strings[1:])).to_bytes()
    # A codec whose prefixes are not a masking of the full latent (nested quantisation)
    # reports them itself; otherwise they follow from y_hat.
    levels = enc["y_hat_levels"]  # what decoding each prefix must give (models/interface.py)
    return EncodedImage(data, enc["y_hat"].cpu(), tuple(level.cpu() for level in levels))


def check_compatible(codec, header: Header) -> None:
    """Raise BitstreamError unless `codec` is the model the stream was written with."""
    expected = model_identity(codec)
    if header.model_id != expected:
        raise BitstreamError(
            f"wrong model: the stream was written by model {header.model_id.hex()}, "
            f"this codec is {expected.hex()} (other config, weights or entropy tables)"
        )
    if header.pad_multiple != codec.pad_multiple or header.level_channels != tuple(codec.level_blocks):
        # unreachable unless identities collide; kept so a layout mismatch never reaches the decoder
        raise BitstreamError(f"stream layout {header.level_channels}/{header.pad_multiple} does not match the codec")


def _symbol_counts(codec, header: Header) -> tuple[int, list[int]]:
    z_h, z_w = (s // header.pad_multiple for s in header.padded_size)
    z_channels = int(getattr(getattr(codec, "entropy_bottleneck", None), "channels", max(header.level_channels)))
    y_positions = z_h * z_w * LATENT_TO_HYPER**2
    return z_channels * z_h * z_w, [c * y_positions for c in header.level_channels]


def _check_payload_lengths(codec, stream: Bitstream, cut: Cut | None = None) -> tuple[int, list[int]]:
    """The symbol counts of the segments, after checking no payload is longer than they can need
    (a longer one is not what an encoder wrote, and would only buy the decoder more padding).
    A cut segment's declared length is held to the same bound: beyond it, the length field is
    corrupt and the stream was not merely cut."""
    hyper_symbols, level_symbols = _symbol_counts(codec, stream.header)
    named = [("hyper-latent segment", len(stream.hyper), hyper_symbols)]
    named += [(f"level {k} segment", len(p), n) for k, (p, n) in enumerate(zip(stream.levels, level_symbols), 1)]
    if cut is not None and cut.declared is not None:
        named.append((f"cut level {cut.level} segment", cut.declared - SEGMENT_FRAMING, level_symbols[cut.level - 1]))
    for name, length, symbols in named:
        if length > rans.max_payload_bytes(symbols):
            raise BitstreamError(
                f"{name}: payload of {length} bytes is longer than its {symbols} symbols "
                f"can take ({rans.max_payload_bytes(symbols)} bytes at most)"
            )
    return hyper_symbols, level_symbols


@torch.no_grad()
def decode_bitstream(
    codec, data: bytes, level: int | None = None, max_pixels: int | None = None, allow_cut: bool = False
) -> DecodedImage:
    """Decode `data` at `level` (default: every level present), cropped to the original size.

    BitstreamError for a stream that is not valid for `codec`; ResourceLimitError if its header
    declares more than `max_pixels` pixels once padded (None: coarse2fine.limits' default),
    checked before any decoding work, or if memory runs out. A stream that ends inside a level
    segment is an error, or with `allow_cut` decodes its complete levels (the result's `cut`
    says what was lost; container.parse_received).
    """
    header, cut, level, strings, z_shape = _received_strings(codec, data, level, max_pixels, allow_cut)
    with _memory_named(f"decoding a {header.width}x{header.height} stream"):
        out = codec.decompress(strings, z_shape)
    return _decoded_image(out, header, level, cut)


@torch.no_grad()
def decode_every_level(codec, data: bytes, max_pixels: int | None = None) -> list[DecodedImage]:
    """The stream decoded at each of its levels 1..L (errors as decode_bitstream's). In one pass
    where the codec decodes its prefixes that way (`decompress_levels`: DeepHQ, whose layers
    each refine the last); level by level otherwise."""
    header, cut, level, strings, z_shape = _received_strings(codec, data, None, max_pixels, False)
    with _memory_named(f"decoding a {header.width}x{header.height} stream"):
        if hasattr(codec, "decompress_levels"):
            outs = codec.decompress_levels(strings, z_shape)
        else:
            outs = [codec.decompress(strings[: 1 + k], z_shape) for k in range(1, level + 1)]
    return [_decoded_image(out, header, k, cut) for k, out in enumerate(outs, 1)]


def _received_strings(codec, data: bytes, level: int | None, max_pixels: int | None, allow_cut: bool):
    """(header, cut, level, the rANS strings of the hyper-latent and levels 1..level, z's shape)
    of a stream checked against `codec` (decode_bitstream's checks, before any decoding work)."""
    if allow_cut:
        received = parse_received(data)
        stream, cut = received.stream, received.cut
    else:
        stream, cut = parse_bitstream(data), None
    header = stream.header
    check_compatible(codec, header)
    if level is None:
        level = stream.num_levels
    if not isinstance(level, int) or not 1 <= level <= stream.num_levels:
        lost = f"; {cut.describe(header.num_levels_total)}" if cut else ""
        raise BitstreamError(f"level {level} is not in this stream (it holds levels 1..{stream.num_levels}{lost})")
    padded_h, padded_w = header.padded_size
    check_pixels(padded_w, padded_h, max_pixels, "stream to decode (its declared size, padded)")
    hyper_symbols, level_symbols = _check_payload_lengths(codec, stream, cut)
    z_shape = tuple(s // header.pad_multiple for s in header.padded_size)
    with _memory_named(f"decoding a {header.width}x{header.height} stream"):
        strings = [[rans.guarded(stream.hyper, hyper_symbols)]]
        strings += [[rans.guarded(p, n)] for p, n in zip(stream.levels[:level], level_symbols)]
    return header, cut, level, strings, z_shape


def _decoded_image(out: dict, header: Header, level: int, cut) -> DecodedImage:
    x_hat = out["x_hat"]
    # Garbage latents can overflow the synthesis transform; the image must still be an image.
    x_hat = torch.nan_to_num(x_hat.float(), nan=0.0, posinf=1.0, neginf=0.0).clamp_(0, 1)
    # on the CPU whatever the codec's device: what callers save, measure and compare
    image = crop_to_size(x_hat, (header.height, header.width)).cpu()
    return DecodedImage(image, out["y_hat"].cpu(), level, header, cut)


@torch.no_grad()
def estimated_bits(codec, x: torch.Tensor) -> list[float]:
    """The likelihood estimate of the bits of levels 1..L (cumulative, hyper-latent included).

    This is the rate the paper reports; it sits beside the actual file sizes so the coding
    overhead (container, rANS flush, table quantisation) stays visible.
    """
    _check_image(x, None)
    padded, _ = pad_to_multiple(x.to(device_of(codec)), codec.pad_multiple)
    with torch.no_grad():
        likelihoods = codec.eval().likelihoods(padded)
    bits = -torch.log2(likelihoods["z"]).sum().item()
    cumulative = []
    for level_likelihoods in likelihoods["y"]:
        bits += -torch.log2(level_likelihoods).sum().item()
        cumulative.append(bits)
    return cumulative


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) in [0, 1] -> (H, W, 3) uint8, the form decoded images are saved and compared in."""
    return x[0].clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).contiguous()
