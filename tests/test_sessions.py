"""Visitors' pairs expire by age, count and size; leftovers of interrupted work are swept."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from amint_demo.errors import InvalidPair
from amint_demo.runtime import PairRegistry, housekeeping, sessions
from amint_demo.settings import Settings


def _fake_pair(root: Path, session: str, name: str, age_s: float, size: int = 1000) -> Path:
    folder = root / session / name
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")
    (folder / "weights.safetensors").write_bytes(b"\0" * size)
    (folder.with_suffix(".zip")).write_bytes(b"\0" * 10)
    stamp = time.time() - age_s
    for path in (folder / "manifest.json", folder / "weights.safetensors", folder.with_suffix(".zip"), folder):
        os.utime(path, (stamp, stamp))
    return folder


def test_expired_pairs_and_their_downloads_are_removed(tmp_path):
    old = _fake_pair(tmp_path, "a", "old", age_s=7200)
    new = _fake_pair(tmp_path, "a", "new", age_s=10)
    removed = sessions.prune(tmp_path, sessions.SessionPolicy(ttl_s=3600, max_pairs=10, max_bytes=10**9))
    assert removed == [old]
    assert not old.exists() and not old.with_suffix(".zip").exists()
    assert new.is_dir() and new.with_suffix(".zip").is_file()


def test_oldest_pairs_go_first_beyond_the_count_cap(tmp_path):
    pairs = [_fake_pair(tmp_path, f"s{i % 2}", f"p{i}", age_s=100 - i) for i in range(5)]
    sessions.prune(tmp_path, sessions.SessionPolicy(ttl_s=3600, max_pairs=3, max_bytes=10**9))
    assert [p.is_dir() for p in pairs] == [False, False, True, True, True]


def test_reserve_makes_room_for_the_pair_about_to_be_written(tmp_path):
    pairs = [_fake_pair(tmp_path, "s", f"p{i}", age_s=100 - i) for i in range(3)]
    sessions.prune(tmp_path, sessions.SessionPolicy(ttl_s=3600, max_pairs=3, max_bytes=10**9), reserve=1)
    assert [p.is_dir() for p in pairs] == [False, True, True]


def test_total_size_cap(tmp_path):
    pairs = [_fake_pair(tmp_path, "s", f"p{i}", age_s=100 - i, size=4000) for i in range(4)]
    sessions.prune(tmp_path, sessions.SessionPolicy(ttl_s=3600, max_pairs=100, max_bytes=9000))
    assert [p.is_dir() for p in pairs] == [False, False, True, True]


def test_stale_leftovers_and_empty_sessions_are_swept_fresh_ones_kept(tmp_path):
    stale = tmp_path / "s" / ".amint-1.job.abc"
    fresh = tmp_path / "s" / ".amint-2.abc.tmp"
    orphan = tmp_path / "s" / "gone.zip"
    for folder in (stale, fresh):
        folder.mkdir(parents=True)
    orphan.write_bytes(b"zip")
    past = time.time() - 2 * sessions.STRAY_GRACE_S
    os.utime(stale, (past, past))
    os.utime(orphan, (past, past))
    (tmp_path / "empty").mkdir()
    sessions.prune(tmp_path, sessions.SessionPolicy())
    assert not stale.exists() and not orphan.exists() and fresh.is_dir()
    assert not (tmp_path / "empty").exists()


def test_policy_from_environment():
    environ = {"AMINT_SESSION_TTL_S": "60", "AMINT_SESSION_MAX_PAIRS": "2", "AMINT_SESSION_MAX_MB": "1.5"}
    settings = Settings.from_env(environ, gpu=False)
    assert sessions.SessionPolicy.from_settings(settings) == sessions.SessionPolicy(60.0, 2, int(1.5 * 2**20))


# --------------------------------------------------------------------------- what a client may name


@pytest.mark.parametrize("value", ["/etc", "/", "..", ".", "", "../pretrained", "/tmp", "pretrained/../../etc",
                                   "x" * 5000, "a\0b"], ids=lambda v: repr(v[:20]))
def test_paths_outside_the_app_folders_are_refused(value, tmp_path):
    with pytest.raises(InvalidPair, match="unknown pair|no longer available"):
        PairRegistry(tmp_path / "zoo", tmp_path / "sessions").resolve(value)


def test_a_link_out_of_the_session_folder_is_refused(tmp_path):
    outside = _fake_pair(tmp_path, "elsewhere", "pair", age_s=0)
    (tmp_path / "sessions" / "key").mkdir(parents=True)
    (tmp_path / "sessions" / "key" / "link").symlink_to(outside)
    with pytest.raises(InvalidPair, match="unknown pair"):
        PairRegistry(tmp_path / "zoo", tmp_path / "sessions").resolve(str(tmp_path / "sessions" / "key" / "link"))


def test_an_expired_session_pair_is_a_user_error(tmp_path):
    with pytest.raises(InvalidPair, match="no longer available"):
        PairRegistry(tmp_path / "zoo", tmp_path).get_pair(str(tmp_path / "key" / "amint-gone"))


def test_committed_and_session_pairs_resolve(tmp_path):
    registry = PairRegistry(tmp_path / "zoo", tmp_path / "sessions")
    committed = _fake_pair(tmp_path, "zoo", "p", age_s=0)
    mine = _fake_pair(tmp_path, "sessions", "key/amint-1", age_s=0)
    assert registry.resolve("p") == committed
    assert registry.resolve(str(mine)) == mine


def test_sweep_removes_abandoned_partial_uploads_and_expired_pairs(tmp_path, monkeypatch):
    uploads, root = tmp_path / "gradio", tmp_path / "sessions"
    (uploads / "3f2a").mkdir(parents=True)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    settings = Settings(session_dir=root, session_ttl_s=3600, upload_stale_s=300)
    stamp = time.time() - 600
    abandoned, writing, foreign = uploads / "tmpab12cd_x", uploads / "tmpwriting1", uploads / "tmp-notes.txt"
    complete = uploads / "3f2a" / "photo.png"  # a finished upload: Gradio's own cleanup owns it
    for path in (abandoned, writing, foreign, complete):
        path.write_bytes(b"\x89PNG" + b"\0" * 100)
    for path in (abandoned, foreign, complete):
        os.utime(path, (stamp, stamp))
    expired, fresh = _fake_pair(root, "s", "expired", age_s=7200), _fake_pair(root, "s", "fresh", age_s=10)
    removed = housekeeping.sweep(settings)
    assert sorted(removed) == sorted([abandoned, expired])
    assert writing.exists() and foreign.exists() and complete.exists() and fresh.exists()
    assert not abandoned.exists() and not expired.exists()


def test_sweep_never_touches_the_shared_temporary_folder(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old = tmp_path / "tmpab12cd_x"
    old.write_bytes(b"x")
    os.utime(old, (1, 1))
    assert housekeeping.stale_partial_uploads(tmp_path, 300, time.time()) == []
