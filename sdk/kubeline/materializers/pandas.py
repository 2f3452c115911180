"""pandas DataFrame and Series as parquet (pyarrow); HTML table visualization."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from kubeline.materializers.base import BaseMaterializer

DATA = "data.parquet"
PICKLED = "data.pkl"
SCHEMA = "schema.json"
SERIES_COLUMN = "__series__"
MAX_LISTED = 100
PREVIEW_ROWS = 100


class PandasMaterializer(BaseMaterializer):
    """DataFrame/Series; metadata: storage_size, shape, columns, dtypes.

    Frames whose column names are not all strings cannot be parquet: they are
    stored with pandas' pickle format instead (see the trust boundary note).
    """

    ASSOCIATED_TYPE_PATHS: ClassVar[tuple[str, ...]] = (
        "pandas.DataFrame", "pandas.core.frame.DataFrame",
        "pandas.Series", "pandas.core.series.Series",
    )

    def save(self, data: Any) -> None:
        import pandas as pd

        is_series = isinstance(data, pd.Series)
        frame = data.to_frame(name=SERIES_COLUMN) if is_series else data
        parquet = all(isinstance(c, str) for c in frame.columns)
        schema = {"kind": "Series" if is_series else "DataFrame",
                  "format": "parquet" if parquet else "pickle",
                  "name": data.name if is_series and _jsonable(data.name) else None}
        if parquet:
            with self.open(DATA, "wb") as f:
                frame.to_parquet(f, engine="pyarrow")
        else:
            with self.open(PICKLED, "wb") as f:
                data.to_pickle(f, compression=None)
        with self.open(SCHEMA, "wb") as f:
            f.write(json.dumps(schema, sort_keys=True).encode())

    def load(self, data_type: type) -> Any:
        import pandas as pd

        with self.open(SCHEMA, "rb") as f:
            schema = json.loads(f.read())
        if schema["format"] == "pickle":
            # Never on schema.json's say-so alone: only verified files are unpickled.
            self.allow_unpickling("a pickled pandas object")
            with self.open(PICKLED, "rb") as f:
                return pd.read_pickle(f, compression=None)
        with self.open(DATA, "rb") as f:
            frame = pd.read_parquet(f, engine="pyarrow")
        if schema["kind"] == "Series":
            series = frame[SERIES_COLUMN]
            series.name = schema.get("name")
            return series
        return frame

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        import pandas as pd

        if isinstance(data, pd.Series):
            return {"shape": list(data.shape), "dtype": str(data.dtype),
                    "name": str(data.name) if data.name is not None else None}
        return {
            "shape": list(data.shape),
            "columns": [str(c) for c in list(data.columns)[:MAX_LISTED]],
            "dtypes": {str(c): str(t) for c, t in list(data.dtypes.items())[:MAX_LISTED]},
        }

    def save_visualizations(self, data: Any) -> dict[str, str]:
        import pandas as pd

        frame = data.to_frame() if isinstance(data, pd.Series) else data
        html = frame.head(PREVIEW_ROWS).to_html(border=0, max_cols=MAX_LISTED)
        note = f"<p>{len(frame)} rows x {frame.shape[1]} columns" + (
            f" (first {PREVIEW_ROWS} shown)" if len(frame) > PREVIEW_ROWS else "") + "</p>"
        self.save_visualization("table.html", (html + note).encode(), "html")
        return dict(self.visualizations)


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))
