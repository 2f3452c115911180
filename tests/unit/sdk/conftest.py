"""Unit tests of the SDK (``sdk/kubeline``), laid out like the package.

The helper modules next to this file (``moto_s3``, ``sample_steps``) are imported by
tests in the subfolders, so this folder is put on ``sys.path``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
