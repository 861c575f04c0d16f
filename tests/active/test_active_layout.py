"""The folder layout's class folder names and its refusal to write into a used folder."""
import numpy as np
import pytest

from ssvae.active.layout import class_folders, folder_name, write_layout
from ssvae.data.hierarchy import LabelHierarchy


def test_class_names_become_single_folder_names():
    h = LabelHierarchy("mixed", ["T-shirt/top", "Bag", ".hidden"], ["target", "other"], [0, 0, 1])
    assert class_folders(h) == ["target/T-shirt-top", "target/Bag", "other/_.hidden"]
    # folder data qualifies a sub-class used under two super-classes as 'super/sub'
    q = LabelHierarchy("folder", ["animals/cats", "objects/cats"], ["animals", "objects"], [0, 1])
    assert class_folders(q) == ["animals/cats", "objects/cats"]
    assert folder_name("a\\b") == "a-b"


def test_a_used_out_folder_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep")
    h = LabelHierarchy("h", ["a", "b"], ["x", "y"], [0, 1])
    with pytest.raises(FileExistsError, match="not an empty folder"):
        write_layout(tmp_path / "out", tmp_path, [], np.zeros(0, dtype=np.int64), 1, {}, {}, h)
    assert (tmp_path / "out" / "mine.txt").read_text() == "keep"
