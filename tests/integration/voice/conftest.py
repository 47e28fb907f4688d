"""One voice stack per test module (see stack.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.voice.stack import Stack, voice_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with voice_stack(tmp_path_factory.mktemp("voice")) as built:
        yield built
