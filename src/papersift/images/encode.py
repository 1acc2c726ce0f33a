"""Rendered or downloaded pictures into small WebP files: trim white margins, fit the width,
and lower the quality (then the size) until the file fits the byte budget."""

from __future__ import annotations

import io
from typing import Any

from ..errors import ImageError

MAX_WIDTH = 800
MAX_BYTES = 60_000
MAX_PIXELS = 40_000_000  # a decoded picture larger than this is refused (decompression bombs)
_QUALITIES = (80, 68, 55, 42, 30)
_INK = 245  # grey levels darker than this count as content when trimming margins
_PAD = 14  # pixels kept around the content
_METHOD = 3  # libwebp effort (0-6): 3 is within a few % of 4's size at two thirds of its time


def trim(img: Any) -> Any:
    """`img` cropped to its non-white content plus a small margin (unchanged if blank)."""
    lut = [255 if v < _INK else 0 for v in range(256)]
    box = img.convert("L").point(lut).getbbox()
    if box is None:
        return img
    x0, y0, x1, y1 = box
    return img.crop((max(0, x0 - _PAD), max(0, y0 - _PAD), min(img.width, x1 + _PAD),
                     min(img.height, y1 + _PAD)))


def ink_fraction(img: Any) -> float:
    """Share of pixels darker than paper: 0 for a blank picture (tests and checks)."""
    hist = img.convert("L").histogram()
    return sum(hist[:_INK]) / max(1, img.width * img.height)


def to_webp(img: Any, max_width: int = MAX_WIDTH, max_bytes: int = MAX_BYTES) -> tuple[bytes, int, int]:
    """WebP bytes, width, height: at most `max_width` wide and `max_bytes` long."""
    from PIL import Image

    if img.mode not in ("RGB", "RGBA", "L"):
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    if img.width > max_width:
        img = img.resize((max_width, max(1, round(img.height * max_width / img.width))),
                         Image.Resampling.LANCZOS)
    for _ in range(4):
        for q in _QUALITIES:
            buf = io.BytesIO()
            img.save(buf, "WEBP", quality=q, method=_METHOD)
            if buf.tell() <= max_bytes:
                return buf.getvalue(), img.width, img.height
        img = img.resize((max(1, img.width * 3 // 4), max(1, img.height * 3 // 4)),
                         Image.Resampling.LANCZOS)
    raise ImageError(f"cannot fit the image in {max_bytes} bytes")


def decode(data: bytes) -> Any:
    """A downloaded picture (PNG, JPEG, WebP, GIF), checked before it is decoded in full."""
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise ImageError(f"picture too large ({img.width}x{img.height} pixels)")
        img.load()
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError(f"not a readable picture ({type(e).__name__})") from None
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)
    if img.mode in ("RGBA", "LA", "P"):  # transparent figures: on white, as in the paper
        rgba = img.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    return img.convert("RGB")
