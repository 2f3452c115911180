"""Small PNG plots for visualizations (matplotlib, Agg backend, imported lazily)."""

from __future__ import annotations

import io
from typing import Any

MAX_POINTS = 1_000_000


def array_png(data: Any) -> bytes | None:
    """A histogram (1-D or many dims) or an image (2-D), subsampled for large arrays."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    import numpy as np

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=80)
    try:
        if data.ndim == 2 and min(data.shape) > 1:
            step = max(1, int(np.ceil(max(data.shape) / 512)))
            img = ax.imshow(data[::step, ::step], aspect="auto", cmap="viridis")
            fig.colorbar(img, ax=ax)
            ax.set_title(f"array {data.shape} {data.dtype}")
        else:
            flat = data.reshape(-1)
            if flat.size > MAX_POINTS:
                flat = flat[:: flat.size // MAX_POINTS + 1]
            finite = flat[np.isfinite(flat)] if np.issubdtype(flat.dtype, np.floating) else flat
            ax.hist(finite, bins=50)
            ax.set_title(f"values of array {data.shape} {data.dtype}")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
