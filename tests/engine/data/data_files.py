"""Helpers the data tests share: files written in tmp_path, located errors, leftovers."""

from __future__ import annotations

import os

import pytest

from engine.data.tables import DataError


def make_file(tmp_path, content, name="data.csv"):
    """content (str, UTF-8 encoded, or bytes) written to tmp_path / name; its path."""
    path = tmp_path / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def error_of(call, *args, **kwargs) -> str:
    """The one-line message of the DataError that call(*args, **kwargs) raises."""
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def leftovers(directory) -> list[str]:
    """Temporary files an atomic write left behind in directory."""
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))
