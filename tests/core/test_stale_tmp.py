"""A checkpoint write killed mid-way leaves ``.last.pt.*.tmp``; resuming the run removes it."""

from vita_cli.core.checkpoint import remove_stale_tmp
from vita_cli.training.trainer import resolve_resume


def test_resume_removes_a_killed_writes_temporary_file(tmp_path):
    (tmp_path / ".last.pt.abc123.tmp").write_bytes(b"")
    (tmp_path / "other.txt").write_text("kept")
    assert resolve_resume("auto", tmp_path) is None  # nothing to resume yet
    assert not (tmp_path / ".last.pt.abc123.tmp").exists()
    assert (tmp_path / "other.txt").exists()
    assert remove_stale_tmp(tmp_path / "missing" / "last.pt") == []
