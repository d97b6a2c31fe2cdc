"""faro.sinks.files: story file naming and atomic, private writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import orjson
import pytest

from faro.errors import ConfigError
from faro.model.events import EventType, StoryEvent
from faro.model.story import Story
from faro.sinks.files import (
    CLUSTER_SCOPED_DIR,
    MAX_FILE_NAME,
    OutputError,
    StoryFiles,
    story_path,
    write_atomic,
)

UID = "a1b2c3d4-0000-4000-8000-123456789abc"


def _story(
    resource_type: str = "apps/v1/Deployment", name: str = "web", namespace: str = "default", episode: int = 1
) -> Story:
    return Story(UID, episode, resource_type, name, namespace, "kind-faro", 1767323045.0)


def test_story_path_naming(tmp_path: Path) -> None:
    assert story_path(tmp_path, _story()) == tmp_path / "default" / "deployment-web-a1b2c3d4.json"
    assert (
        story_path(tmp_path, _story("v1/Pod", "api-0", "team-a"))
        == tmp_path / "team-a" / "pod-api-0-a1b2c3d4.json"
    )
    crd = _story("mycompany.com/v1/MyCustomResource", "thing")
    assert story_path(tmp_path, crd).name == "mycustomresource-thing-a1b2c3d4.json"


def test_story_path_episode_suffix(tmp_path: Path) -> None:
    assert story_path(tmp_path, _story(episode=2)).name == "deployment-web-a1b2c3d4-2.json"
    assert story_path(tmp_path, _story(episode=1)).name == "deployment-web-a1b2c3d4.json"


def test_story_path_cluster_scoped(tmp_path: Path) -> None:
    path = story_path(tmp_path, _story("v1/Node", "node-1", namespace=""))
    assert path == tmp_path / CLUSTER_SCOPED_DIR / "node-node-1-a1b2c3d4.json"
    assert CLUSTER_SCOPED_DIR == "_cluster"


def test_story_path_is_safe(tmp_path: Path) -> None:
    path = story_path(
        tmp_path, _story("rbac.authorization.k8s.io/v1/ClusterRole", "system:../x", namespace="")
    )
    assert path.parent == tmp_path / "_cluster"
    assert path.name == "clusterrole-system_.._x-a1b2c3d4.json"
    assert "/" not in path.name


def test_the_longest_kubernetes_name_still_makes_a_story_file(tmp_path: Path) -> None:
    longest = ".".join(["a" * 63] * 3) + "." + "b" * 61  # 253 characters, a valid ConfigMap name
    files = StoryFiles(tmp_path, "1.0.0")
    for episode in (1, 12):
        story = _story("v1/ConfigMap", longest, episode=episode)
        path = files.write(story)  # its temp file name is longer still
        assert len(path.name) <= MAX_FILE_NAME
        assert path.name.startswith("configmap-aaaa") and path.name.endswith(
            "-a1b2c3d4.json" if episode == 1 else "-a1b2c3d4-12.json"
        )
        assert orjson.loads(path.read_bytes())["metadata"]["resource_name"] == longest


def test_write_atomic_mode_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "ns" / "deep" / "story.json"
    write_atomic(path, b'{"a": 1}\n')
    assert path.read_bytes() == b'{"a": 1}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == ["story.json"]
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == ["story.json"]


def test_write_atomic_failure_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "story.json"
    write_atomic(path, b"old")
    with pytest.raises(TypeError):
        write_atomic(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["story.json"]


def test_story_files_write_and_journal(tmp_path: Path) -> None:
    files = StoryFiles(tmp_path, "1.0.0")
    story = _story()
    story.add(StoryEvent(UID, 1767323045.5, EventType.RESOURCE_UPDATE, "faro", "default", "web", "ADDED", {}))
    assert files.journal.write_open([story])
    assert not files.journal.pending(story)
    files.close()
    assert [d["metadata"]["correlation_id"] for d in files.journal.journaled()] == [UID]
    path = files.write(story)
    assert path == tmp_path / "default" / "deployment-web-a1b2c3d4.json"
    doc = orjson.loads(path.read_bytes())
    assert doc["metadata"]["faro_version"] == "1.0.0"
    assert [e["action"] for e in doc["events"]] == ["ADDED"]
    assert path.exists() and story_path(tmp_path, story) == path
    assert files.journal.journaled() == []  # the journal entry is removed once the story is written


def test_a_story_file_from_an_earlier_run_is_never_overwritten(tmp_path: Path) -> None:
    files = StoryFiles(tmp_path, "1.0.0")
    first, again = _story(), _story()  # a restarted Faro numbers episodes from 1 again
    p1 = files.write(first)
    p2 = files.write(again)
    assert p1 != p2 and p1.exists() and p2.exists()
    # The file (name and metadata) takes the next episode; the Story object is not changed.
    assert p2.name.endswith("-2.json") and orjson.loads(p2.read_bytes())["metadata"]["episode"] == 2
    assert again.episode == 1
    assert orjson.loads(p2.read_bytes())["metadata"]["episode"] == 2


def test_prepare_makes_the_directories_and_unprepare_removes_them_while_empty(tmp_path: Path) -> None:
    root = tmp_path / "a" / "out"
    files = StoryFiles(root, "1.0.0")
    files.prepare()
    assert (root / ".journal").is_dir() and list(root.iterdir()) == [root / ".journal"]
    files.unprepare()
    assert not (tmp_path / "a").exists()  # every directory it made, none it did not
    files.prepare()
    files.write(_story())
    files.unprepare()
    assert not (root / ".journal").exists() and (root / "default").is_dir()


def test_prepare_fails_with_one_line_when_the_root_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match=r"^cannot write stories to .*/f/out: Not a directory$"):
        StoryFiles(tmp_path / "f" / "out", "1.0.0").prepare()


def test_a_story_that_cannot_be_written_raises_output_error(tmp_path: Path) -> None:
    files = StoryFiles(tmp_path, "1.0.0")
    (tmp_path / "default").write_text("")  # a file where the namespace's directory should be
    with pytest.raises(OutputError, match=r"^cannot write \S*/default: File exists$"):
        files.write(_story())
