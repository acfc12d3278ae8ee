"""Classical anchors: real Pillow encodes; JPEG 2000 decoded from real codestream prefixes."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from coarse2fine.evaluate.views.anchors import JPEG2000, CodestreamError, build_anchor, layer_prefixes


def photo() -> Image.Image:
    # A real photograph shipped in the foolbox wheel (its data folder is read, never imported).
    spec = importlib.util.find_spec("foolbox")
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    return Image.open(folder / "imagenet_00_243.jpg").convert("RGB").crop((0, 0, 256, 192))


def pillow_layer_decode(data: bytes, layers: int) -> np.ndarray:
    """Pillow's own n-layer decode of the full codestream. Its `layers` attribute is only passed
    to the decoder together with `reduce`, so we set the decoder arguments directly."""
    im = Image.open(io.BytesIO(data))
    tile = im.tile[0]
    args = (tile.args[0], 0, layers, *tile.args[3:])
    im.tile = [ImageFile._Tile(tile.codec_name, tile.extents, tile.offset, args)]
    return np.asarray(im.convert("RGB"))


def test_jpeg2000_prefixes_decode_like_pillow_layers_and_grow():
    image = photo()
    anchor = JPEG2000(layer_bpp=[0.1, 0.3, 1.0])
    data = anchor.encode(image)
    prefixes = layer_prefixes(data)
    assert len(prefixes) == 3 and prefixes[-1] == data
    sizes = [len(p) for p in prefixes]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3
    errors = []
    for n, prefix in enumerate(prefixes, start=1):
        decoded = np.asarray(Image.open(io.BytesIO(prefix)).convert("RGB"))
        assert np.array_equal(decoded, pillow_layer_decode(data, n))
        errors.append(np.abs(decoded.astype(int) - np.asarray(image)).mean())
    assert errors[0] > errors[1] > errors[2]
    # the layer targets are rates: the actual prefix sizes land near them
    bpp = [8 * s / (image.width * image.height) for s in sizes]
    assert bpp[0] < 0.2 and 0.15 < bpp[1] < 0.45 and bpp[2] <= 1.05


def test_prefixes_share_everything_but_the_tile_length():
    data = JPEG2000(layer_bpp=[0.1, 0.5]).encode(photo())
    first = layer_prefixes(data)[0]
    sot = data.index(b"\xff\x90")
    assert first[: sot + 6] == data[: sot + 6] and first[sot + 10 : -2] == data[sot + 10 : len(first) - 2]
    assert first[-2:] == b"\xff\xd9"


def test_codestream_without_packet_lengths_is_refused():
    buf = io.BytesIO()
    photo().save(buf, format="JPEG2000", no_jp2=True, quality_mode="rates", quality_layers=[40, 10])
    with pytest.raises(CodestreamError, match="plt=True"):
        layer_prefixes(buf.getvalue())
    with pytest.raises(CodestreamError, match="SOC"):
        layer_prefixes(b"\x00" * 20)


@pytest.mark.parametrize("name", ["jpeg", "webp"])
def test_quality_grid_bytes_are_the_encoded_size(name):
    image = photo()
    views = list(build_anchor(name, {"qualities": [10, 60]}).views(image))
    assert [v.rate_point for v in views] == ["q010", "q060"]
    assert views[0].num_bytes < views[1].num_bytes
    fmt = {"jpeg": "JPEG", "webp": "WEBP"}[name]
    for view in views:
        assert view.decoded.size == image.size and view.decoded.mode == "RGB"
    buf = io.BytesIO()
    image.save(buf, **build_anchor(name, {"qualities": [10]}).save_kwargs(10))
    assert buf.tell() == views[0].num_bytes and Image.open(buf).format == fmt


def test_bad_anchor_settings_are_named():
    with pytest.raises(KeyError, match="unknown anchor"):
        build_anchor("bpg")
    with pytest.raises(ValueError, match="1..100"):
        build_anchor("jpeg", {"qualities": [0]})
    with pytest.raises(ValueError, match="strictly increasing"):
        build_anchor("jpeg2000", {"layer_bpp": [0.4, 0.1]})
