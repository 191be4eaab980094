"""A fast, dependency-free picture of the feeder state as an ``(H, W, 3)`` uint8 RGB array.

Drawn with numpy only (no matplotlib), in about a millisecond at the default size, for videos of episodes
(``gymnasium.wrappers.RecordVideo``). Panels, top to bottom (no text, fixed axes):

* a thin progress bar of the episode (elapsed steps);
* bus voltages (one bar per bus, axis 0.85-1.15 pu), grey lines at the band limits and a dark line
  at 1 pu; bars inside the band blue, outside red;
* branch loading (one bar per branch, the transformer first, axis 0-1.5), a line at 1; green below
  0.8, orange below 1, red above;
* indoor temperatures of the heat-pump houses (axis: comfort band ± 5 K), lines at the band
  limits; blue below, green inside, red above;
* right column: the transformer hot spot (axis 0-140 °C, lines at 98 °C, where the relative aging
  rate is 1, and at 120 °C) and the transformer loading (axis 0-1.5).
"""

from __future__ import annotations

import numpy as np

#: The colours; pictures are drawn as a label image of indices into this palette.
PALETTE = np.array([
    [255, 255, 255],  # white
    [170, 170, 170],  # grey
    [40, 40, 40],  # dark
    [50, 110, 200],  # blue
    [60, 170, 80],  # green
    [240, 150, 30],  # orange
    [210, 40, 40],  # red
], np.uint8)
WHITE, GREY, DARK, BLUE, GREEN, ORANGE, RED = range(len(PALETTE))

#: Default picture size [px].
HEIGHT, WIDTH = 360, 640
_MARGIN = 6


def _bars(
    label: np.ndarray,
    box: tuple[int, int, int, int],
    values: np.ndarray,
    lo: float,
    hi: float,
    colors: np.ndarray,
    lines: tuple[tuple[float, int], ...] = (),
) -> None:
    """Draw one bar per value into ``label[y0:y1, x0:x1]`` (vectorised, no per-bar loop)."""
    y0, y1, x0, x1 = box
    h, w = y1 - y0, x1 - x0
    region = label[y0:y1, x0:x1]
    region[0, :] = region[-1, :] = GREY
    region[:, 0] = region[:, -1] = GREY
    n = len(values)
    if n and h > 2 and w > 2:
        cols = np.arange(w)
        bar = np.minimum(cols * n // w, n - 1)
        in_bar = (cols * n - bar * w) < 0.75 * w  # leave a gap between bars
        frac = np.clip((np.nan_to_num(np.asarray(values, float)) - lo) / (hi - lo), 0.0, 1.0)
        top = (h - 1) - np.round(frac * (h - 2)).astype(np.int64)
        top_col = np.where(in_bar, top[bar], h)  # gaps: no bar
        inner = region[:-1]
        inner[...] = np.where(np.arange(h - 1)[:, None] >= top_col[None, :], colors[bar][None, :], inner)
    for value, color in lines:
        row = (h - 1) - int(round(np.clip((value - lo) / (hi - lo), 0.0, 1.0) * (h - 2)))
        region[min(max(row, 0), h - 1), :] = color


def _pick(values: np.ndarray, thresholds: tuple[float, ...], palette: tuple[int, ...]) -> np.ndarray:
    """Colour of each value: ``palette[i]`` for the i-th interval between the thresholds."""
    return np.asarray(palette, np.uint8)[np.searchsorted(np.asarray(thresholds), values, side="right")]


def render_feeder(
    *,
    v_pu: np.ndarray,
    v_min_pu: float,
    v_max_pu: float,
    branch_loading: np.ndarray,
    t_indoor_c: np.ndarray,
    t_min_c: float,
    t_max_c: float,
    hot_spot_c: float,
    trafo_loading: float,
    progress: float,
    height: int = HEIGHT,
    width: int = WIDTH,
) -> np.ndarray:
    """The feeder state as an RGB picture.

    Args:
        v_pu: ``(n_bus,)`` bus voltages [pu].
        v_min_pu, v_max_pu: Voltage band [pu].
        branch_loading: ``(n_branch,)`` loading [-].
        t_indoor_c: ``(n_hp,)`` indoor temperatures [°C].
        t_min_c, t_max_c: Comfort band [°C].
        hot_spot_c: Transformer hot spot [°C].
        trafo_loading: Transformer loading [-].
        progress: Share of the episode played, in [0, 1].
        height, width: Size [px].

    Returns:
        ``(height, width, 3)`` uint8 array.
    """
    img = np.full((height, width), WHITE, np.uint8)  # label image, coloured at the end
    m = _MARGIN
    bar_h = max(4, height // 40)
    img[m:m + bar_h, m:width - m] = GREY
    img[m:m + bar_h, m:m + int(round(np.clip(progress, 0.0, 1.0) * (width - 2 * m)))] = DARK
    top = 2 * m + bar_h
    right_w = max(40, width // 8)
    x_main = width - 2 * m - right_w - m
    panel_h = (height - top - 3 * m) // 3
    rows = [(top + i * (panel_h + m), top + i * (panel_h + m) + panel_h) for i in range(3)]
    v = np.asarray(v_pu, float)
    _bars(img, (*rows[0], m, m + x_main), v, 0.85, 1.15,
          np.where((v < v_min_pu) | (v > v_max_pu), RED, BLUE).astype(np.uint8),
          ((v_min_pu, GREY), (v_max_pu, GREY), (1.0, DARK)))
    loading = np.asarray(branch_loading, float)
    _bars(img, (*rows[1], m, m + x_main), loading, 0.0, 1.5,
          _pick(loading, (0.8, 1.0), (GREEN, ORANGE, RED)), ((1.0, DARK),))
    t = np.asarray(t_indoor_c, float)
    _bars(img, (*rows[2], m, m + x_main), t, t_min_c - 5.0, t_max_c + 5.0,
          _pick(t, (t_min_c, t_max_c + 1e-9), (BLUE, GREEN, RED)), ((t_min_c, GREY), (t_max_c, GREY)))
    x_r = width - m - right_w
    half = right_w // 2
    hs = np.array([hot_spot_c], float)
    _bars(img, (rows[0][0], rows[2][1], x_r, x_r + half - 2), hs, 0.0, 140.0,
          _pick(hs, (98.0, 120.0), (GREEN, ORANGE, RED)), ((98.0, GREY), (120.0, DARK)))
    tl = np.array([trafo_loading], float)
    _bars(img, (rows[0][0], rows[2][1], x_r + half, x_r + right_w), tl, 0.0, 1.5,
          _pick(tl, (0.8, 1.0), (GREEN, ORANGE, RED)), ((1.0, DARK),))
    return PALETTE.take(img, axis=0)
