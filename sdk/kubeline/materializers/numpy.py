"""numpy arrays as ``.npy``, streamed in chunks (no full in-memory copy either way)."""

from __future__ import annotations

import io
import struct
from typing import Any, ClassVar

from kubeline.errors import ArtifactIntegrityError, ArtifactStoreError
from kubeline.materializers.base import BaseMaterializer

CHUNK = 16 * 2**20  # hashed and handed to the writer at a time
HEAD_READ = 64 * 2**10  # first read: the header (and all of a small array)
FILENAME = "data.npy"
#: Object arrays (pickled elements) are saved under this name instead: only a file saved
#: as such is ever loaded with ``allow_pickle=True``.
OBJECTS_FILENAME = "objects.npy"


def npy_header(arr: Any) -> bytes:
    """The ``.npy`` magic and header of ``arr`` (format 1.0, or 2.0 for huge headers)."""
    import numpy as np

    fmt = np.lib.format
    header = fmt.header_data_from_array_1_0(arr)
    buf = io.BytesIO()
    try:
        fmt.write_array_header_1_0(buf, header)
    except ValueError:
        buf = io.BytesIO()
        fmt.write_array_header_2_0(buf, header)
    return buf.getvalue()


def header_end(prefix: bytes, path: str) -> int:
    """Where the data starts, from the first bytes of an ``.npy`` file."""
    if len(prefix) < 10 or not prefix.startswith(b"\x93NUMPY"):
        raise ArtifactStoreError(f"{path} is not an .npy file (bad magic); save it again")
    if prefix[6] == 1:
        return 10 + struct.unpack("<H", prefix[8:10])[0]
    if len(prefix) < 12:
        raise ArtifactStoreError(f"{path} is truncated inside its .npy header")
    return 12 + struct.unpack("<I", prefix[8:12])[0]


def parse_header(head: bytes) -> tuple[tuple[int, ...], bool, Any] | None:
    """(shape, fortran_order, dtype) of a complete ``.npy`` header; None for versions >= 3."""
    import numpy as np

    fmt = np.lib.format
    f = io.BytesIO(head)
    version = fmt.read_magic(f)
    if version == (1, 0):
        return fmt.read_array_header_1_0(f)
    if version == (2, 0):
        return fmt.read_array_header_2_0(f)
    return None


def _byte_view(arr: Any) -> memoryview:
    """A flat byte view of a C- or F-contiguous array, in its storage order."""
    base = arr if arr.flags.c_contiguous else arr.T
    return memoryview(base).cast("B") if base.ndim else memoryview(base.reshape(1)).cast("B")


class NumpyMaterializer(BaseMaterializer):
    """numpy.ndarray; metadata: storage_size, shape, dtype, min, max, mean; PNG plot.

    Save: the ``.npy`` header, then the array's own memory in chunks, hashed and uploaded as
    it goes (no full-size copy). Load: the header, then the bytes straight into ``np.empty``.
    """

    ASSOCIATED_TYPE_PATHS: ClassVar[tuple[str, ...]] = ("numpy.ndarray",)

    def save(self, data: Any) -> None:
        import numpy as np

        fmt = np.lib.format
        if data.dtype.hasobject:  # pickled objects: see docs/security.md
            with self.open(OBJECTS_FILENAME, "wb") as f:
                fmt.write_array(f, data, allow_pickle=True)
            return
        with self.open(FILENAME, "wb") as f:
            arr = data if (data.flags.c_contiguous or data.flags.f_contiguous) \
                else np.ascontiguousarray(data)
            f.write(npy_header(arr))
            if arr.size:
                view = _byte_view(arr)
                for start in range(0, view.nbytes, CHUNK):
                    f.write(view[start:start + CHUNK])

    def load(self, data_type: type) -> Any:
        import numpy as np

        store, path = self.artifact_store, self.path(FILENAME)
        if not store.exists(path) and store.exists(self.path(OBJECTS_FILENAME)):
            self.allow_unpickling("an object array (pickled elements)")
            with store.open(self.path(OBJECTS_FILENAME), "rb") as f:
                return np.lib.format.read_array(f, allow_pickle=True)
        size = store.size(path)
        prefix = store.read_range(path, 0, min(size, HEAD_READ))
        end = header_end(prefix, path)
        if end > len(prefix):
            prefix = store.read_range(path, 0, end)
        parsed = parse_header(prefix[:end])
        if parsed is None:  # an .npy version this fast path does not parse: numpy reads it
            with store.open(path, "rb") as f:
                return np.lib.format.read_array(f, allow_pickle=False)
        shape, fortran, dtype = parsed
        if dtype.hasobject:
            raise ArtifactIntegrityError(
                f"{path} declares an object dtype ({dtype}) but was not saved as an object "
                f"array ({OBJECTS_FILENAME}): refusing to unpickle it")
        arr = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
        if size != end + arr.nbytes:
            raise ArtifactStoreError(
                f"{path} has {size} bytes but its header says {end + arr.nbytes} "
                f"(shape {shape}, dtype {dtype}): the file is truncated or not written by "
                "this materializer; save the artifact again")
        if arr.nbytes:
            view = _byte_view(arr)
            have = prefix[end:end + arr.nbytes]
            view[:len(have)] = have
            if len(have) < arr.nbytes:
                store.read_into(path, view[len(have):], offset=end + len(have))
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
