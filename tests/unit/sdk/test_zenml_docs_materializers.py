"""ZenML's "Materializers" page, pure parts: the page's custom materializer round trip (files
written through ``self.artifact_store.open``, its visualization and metadata), one
materializer for every output, the global registry, the temporary-directory helper."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from kubeline.artifact_store import ArtifactStore

pytestmark = pytest.mark.unit
DOCS = Path(__file__).resolve().parents[3] / "examples" / "zenml_docs"
sys.path.insert(0, str(DOCS))
import materializers_page as m  # noqa: E402


def test_the_pages_materializer_round_trip(tmp_path: Path) -> None:
    store = ArtifactStore.local(str(tmp_path / "store"))
    mat = m.MyClassMaterializer(store.uri("a"), store)
    obj = m.MyClass(name="test", records=[1, 2, 3])
    mat.save(obj)
    (uri, kind), = mat.save_visualizations(obj).items()
    assert kind == "html" and store.read_bytes(uri).startswith(b"<h1>test</h1>")
    assert mat.extract_metadata(obj) == {"name": "test", "created_at": "2025-03-01",
                                         "num_records": 3}
    assert len(mat.content_hash()) == 64 and mat.storage_size > 0
    loaded = m.MyClassMaterializer(mat.uri, store).load(m.MyClass)
    assert loaded.to_dict() == obj.to_dict()


def test_one_materializer_for_every_output_and_per_output() -> None:
    spec = m.custom_pipeline.compile(source_root=DOCS).spec
    assert spec.steps[0].outputs[0].materializer == "materializers_page.MyClassMaterializer"
    assert m.create_my_class.options.output_materializers == {"*": m.MyClassMaterializer}


def test_registering_a_materializer_globally() -> None:
    from kubeline.materializers.base_materializer import BaseMaterializer
    from kubeline.materializers.materializer_registry import materializer_registry

    class FastPandasMaterializer(BaseMaterializer):
        ...

    before = materializer_registry.lookup(pd.DataFrame)
    try:
        materializer_registry.register_and_overwrite_type(
            key=pd.DataFrame, type_=FastPandasMaterializer)
        assert materializer_registry[pd.DataFrame] is FastPandasMaterializer
    finally:
        materializer_registry._types.pop(pd.DataFrame, None)
    assert materializer_registry.lookup(pd.DataFrame) == before


def test_temporary_directory_helper(tmp_path: Path) -> None:
    store = ArtifactStore.local(str(tmp_path / "store"))
    mat = m.MyClassMaterializer(store.uri("b"), store)
    with mat.get_temporary_directory() as temp_dir:
        (Path(temp_dir) / "x").write_text("1")
        kept = Path(temp_dir)
    assert not kept.exists()


def test_unmaterialized_inputs_compile_as_references() -> None:
    spec = m.example_pipeline.compile(source_root=DOCS).spec
    steps = {s.id: s for s in spec.steps}
    assert {i.name: i.unmaterialized for i in steps["step_4"].inputs} == {"dict_": True,
                                                                          "list_": True}
    assert not any(i.unmaterialized for i in steps["step_3"].inputs)
