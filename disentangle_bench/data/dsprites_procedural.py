"""``dsprites-procedural``: an offline replica of dSprites rendered in pure numpy.

Same factor grid, values and row-major ordering as the real file (see :mod:`.dsprites_spec`), binary
1×64×64 images. This is a *replica*, not the original LÖVE rendering (Matthey et al. 2017): the
geometry below was chosen to match what is documented about the real images, not measured from
them.

Geometry (in pixels, pixel ``i`` covering ``[i, i + 1)``; a pixel is on iff its centre is inside):

* square of side ``20.5 · scale``; ellipse of axes ``24.5 · scale`` by ``12.25 · scale``
  (long axis horizontal at orientation 0); heart = the classic curve
  ``x = 16 sin³t, y = 13 cos t − 5 cos 2t − 2 cos 3t − cos 4t`` (the shape referenced in
  dsprites-dataset issue #2) scaled to width ``20.42 · scale``, point up, lobes on top.
  The sizes are calibrated so that the mean pixel over the whole grid is ≈ 0.0425 (the
  published mean of the real file).
* orientation rotates the sprite about its centre, counter-clockwise on screen.
* the sprite centre moves in 1-pixel steps from 16.5 to 47.5 (posX left→right, posY top→bottom),
  i.e. the support lies in the central half of the frame and no pixel ever leaves it.

Rendering: the 720 (shape, scale, orientation) masks are rasterised once per process into a
33×33 box (about 0.1 s) and pasted at the position, so sampling is fast with no disk cache, and the
result is a pure function of the factors (coordinates are rounded to 1e-9 before the inside test,
so last-bit differences in ``sin``/``cos`` between machines cannot flip a pixel).
"""

from __future__ import annotations

import functools

import numpy as np

from . import dsprites_spec as spec

BOX = 33  # sprite box side; the box's top-left corner is (posY, posX) in pixels
SQUARE_SIDE = 20.5
ELLIPSE_AXES = (24.5, 12.25)  # full length along x, y at orientation 0
HEART_WIDTH = 20.42
_HEART_VERTICES = 256


def _heart_polygon() -> np.ndarray:
    """Closed heart outline, centred on its bounding box, width 1, y pointing down (screen)."""
    t = np.linspace(0.0, 2.0 * np.pi, _HEART_VERTICES, endpoint=False)
    x = 16.0 * np.sin(t) ** 3
    y = 13.0 * np.cos(t) - 5.0 * np.cos(2 * t) - 2.0 * np.cos(3 * t) - np.cos(4 * t)
    y = -y  # screen y points down: lobes on top, point at the bottom
    width = x.max() - x.min()
    x = (x - (x.max() + x.min()) / 2) / width
    y = (y - (y.max() + y.min()) / 2) / width
    return np.stack([x, y], axis=1)


def _inside_polygon(px: np.ndarray, py: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd rule: is each point (px, py) inside the closed polygon?"""
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    px, py = px[..., None], py[..., None]
    straddles = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    return (straddles & (px < x_cross)).sum(axis=-1) % 2 == 1


def render_sprites(shape: int, scale: float, angles: np.ndarray) -> np.ndarray:
    """Boolean masks (len(angles), BOX, BOX) of one sprite at each angle, centred in the box
    (centre at 16.5, 16.5)."""
    centre = BOX / 2
    grid = np.arange(BOX) + 0.5 - centre
    gx, gy = np.meshgrid(grid, grid)  # gy: rows (down), gx: columns (right)
    # Rotating the sprite counter-clockwise on screen (y down) = rotating the sample points the
    # other way into the sprite's own frame.
    cos = np.cos(np.asarray(angles, dtype=float))[:, None, None]
    sin = np.sin(np.asarray(angles, dtype=float))[:, None, None]
    u = np.round(cos * gx - sin * gy, 9)
    v = np.round(sin * gx + cos * gy, 9)
    if shape == 0:
        half = SQUARE_SIDE * scale / 2
        return (np.abs(u) < half) & (np.abs(v) < half)
    if shape == 1:
        a, b = ELLIPSE_AXES[0] * scale / 2, ELLIPSE_AXES[1] * scale / 2
        return (u / a) ** 2 + (v / b) ** 2 < 1.0
    if shape == 2:
        width = HEART_WIDTH * scale
        return _inside_polygon(u / width, v / width, _heart_polygon())
    raise ValueError(f"shape class must be 0, 1 or 2, got {shape}")


def render_sprite_masks() -> np.ndarray:
    """All sprites: bool (3, 6, 40, BOX, BOX) indexed by (shape, scale, orientation) class."""
    _, _, scales, angles, _, _ = spec.factor_values()
    return np.stack([
        np.stack([render_sprites(shape, scale, angles) for scale in scales])
        for shape in range(3)
    ])


@functools.lru_cache(maxsize=1)
def _cached_masks() -> np.ndarray:
    masks = render_sprite_masks()
    masks.setflags(write=False)
    return masks


class ProceduralDSprites(spec.BinaryDSprites):
    """dSprites rendered procedurally on the exact grid of the real file (offline default)."""

    name = "dsprites-procedural"

    def __init__(self) -> None:
        self._sprites = _cached_masks().reshape(-1, BOX, BOX).view(np.uint8)

    def masks(self, factors: np.ndarray) -> np.ndarray:
        factors = self._check_factors(factors)
        n = len(factors)
        sprite = (factors[:, 1] * 6 + factors[:, 2]) * 40 + factors[:, 3]
        images = np.zeros((n, spec.IMAGE_SIZE, spec.IMAGE_SIZE), dtype=np.uint8)
        # Every BOX×BOX window of each image, as a writeable view: one fancy-indexed assignment
        # pastes all the sprites (window (posY, posX) of image i).
        windows = np.lib.stride_tricks.sliding_window_view(
            images, (BOX, BOX), axis=(1, 2), writeable=True
        )
        windows[np.arange(n), factors[:, 5], factors[:, 4]] = self._sprites[sprite]
        return images
