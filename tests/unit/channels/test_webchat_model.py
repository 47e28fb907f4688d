"""Web chat rules: text, files, ratings, and in-order exactly-once delivery under any
publish order (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu.channels.webchat.model import (
    MAX_TEXT_CHARS,
    ChatRuleError,
    SeqGate,
    check_file,
    check_rating,
    clean_text,
    safe_filename,
)

pytestmark = pytest.mark.unit

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


def test_text_is_trimmed_and_kept_as_typed() -> None:
    assert clean_text("  <b>你好</b> 😀\n第二行 ") == "<b>你好</b> 😀\n第二行"
    assert clean_text("a\x00b\x07c") == "abc"
    with pytest.raises(ChatRuleError) as empty:
        clean_text(" \x00 \n")
    assert empty.value.code == "chat_empty_message"
    with pytest.raises(ChatRuleError) as long:
        clean_text("长" * (MAX_TEXT_CHARS + 1))
    assert long.value.params == {"max": MAX_TEXT_CHARS, "length": MAX_TEXT_CHARS + 1}


def test_files_are_judged_by_their_bytes() -> None:
    assert check_file("a.PNG", 100, PNG).content_type == "image/png"
    assert check_file("bill.pdf", 100, b"%PDF-1.7").image is False
    assert check_file("明细.txt", 10, "话费".encode()).content_type == "text/plain"
    cases = {
        ("evil.png", b"<svg onload=alert(1)>"): "chat_file_type",
        ("evil.html", b"<html>"): "chat_file_type",
        ("a.exe", b"MZ\x90\x00"): "chat_file_type",
        ("photo.jpg", PNG): "chat_file_type_mismatch",
        ("x.zip", b"PK\x03\x04"): "chat_file_type",
        ("bin.txt", b"a\x00b"): "chat_file_type",
    }
    for (name, head), code in cases.items():
        with pytest.raises(ChatRuleError) as refused:
            check_file(name, 10, head)
        assert refused.value.code == code, name
    with pytest.raises(ChatRuleError) as big:
        check_file("a.png", 5 * 1024 * 1024 + 1, PNG)
    assert big.value.code == "chat_file_too_large" and big.value.params["max_mb"] == 5
    assert check_file("a.pdf", 5 * 1024 * 1024 + 1, b"%PDF-").content_type == "application/pdf"
    with pytest.raises(ChatRuleError):
        check_file("a.png", 0, b"")


def test_file_names_cannot_climb_or_inject() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename('C:\\x\\"a<b>.png') == "ab.png"
    assert safe_filename("...") == "file"
    assert len(safe_filename("长" * 300 + ".png")) == 120


def test_rating_is_one_to_five() -> None:
    assert check_rating(1) == 1 and check_rating(5) == 5
    for bad in (0, 6, -1):
        with pytest.raises(ChatRuleError):
            check_rating(bad)


@given(
    n=st.integers(min_value=1, max_value=30),
    resume=st.integers(min_value=0, max_value=10),
    data=st.data(),
)
def test_gate_delivers_in_order_exactly_once(n: int, resume: int, data: st.DataObject) -> None:
    """Numbers 1..n are stored; notifications arrive in any order, some twice, some never.
    The reader (resumed after ``resume``) gets resume+1..(highest notified) in order, once."""
    resume = min(resume, n)
    notified = data.draw(st.lists(st.integers(1, n), max_size=3 * n))
    store = {i: f"m{i}" for i in range(1, n + 1)}

    def load(after: int, before: int) -> list[tuple[int, object]]:
        return [(i, store[i]) for i in range(after + 1, before)]

    gate = SeqGate(last=resume)
    out: list[object] = []
    for seq in notified:
        out.extend(gate.offer(seq, store[seq], load))
    top = max([s for s in notified if s > resume], default=resume)
    assert out == [f"m{i}" for i in range(resume + 1, top + 1)]
    assert gate.last == top and not gate.pending


def test_gate_waits_for_what_the_store_does_not_have_yet() -> None:
    gate = SeqGate()
    assert gate.offer(3, "m3", lambda _a, _b: [(1, "m1")]) == ["m1"]
    assert gate.offer(3, "m3", lambda _a, _b: []) == []  # already waiting: not twice
    assert gate.offer(2, "m2", lambda _a, _b: []) == ["m2", "m3"]
