"""numpy arrays as ``.npy``, streamed in chunks (no full in-memory copy either way)."""

from __future__ import annotations

import io
from typing import Any, ClassVar

from kubeline.materializers.base import BaseMaterializer

CHUNK = 32 * 1024 * 1024
FILENAME = "data.npy"


def _byte_view(arr: Any) -> memoryview:
    """A flat byte view of a C- or F-contiguous array, in its storage order."""
    base = arr if arr.flags.c_contiguous else arr.T
    return memoryview(base).cast("B") if base.ndim else memoryview(base.reshape(1)).cast("B")


class NumpyMaterializer(BaseMaterializer):
    """numpy.ndarray; metadata: storage_size, shape, dtype, min, max, mean; PNG plot."""

    ASSOCIATED_TYPE_PATHS: ClassVar[tuple[str, ...]] = ("numpy.ndarray",)

    def save(self, data: Any) -> None:
        import numpy as np

        fmt = np.lib.format
        with self.open(FILENAME, "wb", block_size=max(CHUNK, 5 * 2**20)) as f:
            if data.dtype.hasobject:  # pickled objects: see the trust boundary note
                fmt.write_array(f, data, allow_pickle=True)
                return
            arr = data if (data.flags.c_contiguous or data.flags.f_contiguous) \
                else np.ascontiguousarray(data)
            header = fmt.header_data_from_array_1_0(arr)
            buf = io.BytesIO()
            try:
                fmt.write_array_header_1_0(buf, header)
            except ValueError:
                buf = io.BytesIO()
                fmt.write_array_header_2_0(buf, header)
            f.write(buf.getvalue())
            if arr.size:
                view = _byte_view(arr)
                for start in range(0, view.nbytes, CHUNK):
                    f.write(view[start:start + CHUNK])

    def load(self, data_type: type) -> Any:
        import numpy as np

        fmt = np.lib.format
        with self.open(FILENAME, "rb", cache_type="none", block_size=CHUNK) as f:
            version = fmt.read_magic(f)
            read_header = fmt.read_array_header_1_0 if version == (1, 0) \
                else fmt.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            if dtype.hasobject:
                f.seek(0)
                return fmt.read_array(f, allow_pickle=True)
            arr = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
            if arr.size:
                view = _byte_view(arr)
                pos = 0
                while pos < view.nbytes:
                    n = f.readinto(view[pos:pos + CHUNK])
                    if not n:
                        raise EOFError(
                            f"{self.path(FILENAME)} is truncated: {pos} of {view.nbytes} bytes"
                        )
                    pos += n
            return arr

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        import numpy as np

        meta: dict[str, Any] = {"shape": list(data.shape), "dtype": str(data.dtype)}
        if data.size and (np.issubdtype(data.dtype, np.number)) and not np.issubdtype(
                data.dtype, np.complexfloating):
            meta["min"] = data.min()
            meta["max"] = data.max()
            meta["mean"] = data.mean(dtype=np.float64)
        return meta

    def save_visualizations(self, data: Any) -> dict[str, str]:
        import numpy as np

        if not data.size or not np.issubdtype(data.dtype, np.number) or np.issubdtype(
                data.dtype, np.complexfloating):
            return {}
        from kubeline.materializers.plots import array_png

        png = array_png(data)
        if png is None:
            return {}
        self.save_visualization("array.png", png, "image")
        return dict(self.visualizations)
