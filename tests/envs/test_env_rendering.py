"""The numpy-only feeder picture."""

from __future__ import annotations

import numpy as np

from thermogrid_env.envs.rendering import PALETTE, RED, render_feeder


def _picture(v: np.ndarray) -> np.ndarray:
    return render_feeder(
        v_pu=v, v_min_pu=0.9, v_max_pu=1.1, branch_loading=np.linspace(0, 1.3, 10),
        t_indoor_c=np.array([18.0, 21.0, 24.0]), t_min_c=20.0, t_max_c=23.0, hot_spot_c=70.0,
        trafo_loading=0.6, progress=0.5, height=200, width=300,
    )


def test_shape_dtype_and_violations_in_red() -> None:
    ok = _picture(np.full(12, 1.0))
    assert ok.shape == (200, 300, 3) and ok.dtype == np.uint8
    bad = _picture(np.r_[np.full(11, 1.0), 1.14])
    top_panel_red = lambda img: np.all(img[:80] == PALETTE[RED], axis=-1).sum()  # noqa: E731
    assert top_panel_red(bad) > top_panel_red(ok)


def test_degenerate_inputs() -> None:
    img = render_feeder(
        v_pu=np.zeros(0), v_min_pu=0.9, v_max_pu=1.1, branch_loading=np.array([np.nan]),
        t_indoor_c=np.zeros(0), t_min_c=20.0, t_max_c=23.0, hot_spot_c=500.0, trafo_loading=9.0,
        progress=2.0, height=60, width=80,
    )
    assert img.shape == (60, 80, 3)
