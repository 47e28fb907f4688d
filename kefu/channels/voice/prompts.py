"""Prompts as 8 kHz mono WAV files: text to speech with espeak-ng (local, no network), cached.

A prompt is made once per (voice, text) at first use and kept under ``<var>/voice/prompts``
(named by a digest of the text), so publishing a flow or the first call pays the cost once.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

__all__ = ["PromptError", "prompt_wav", "tone_wav", "wav_seconds"]

VOICES = {"zh-CN": "cmn", "en": "en"}


class PromptError(RuntimeError):
    pass


def wav_seconds(path: Path | str) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())


def prompt_wav(var_dir: Path | str, text: str, *, locale: str = "zh-CN", speed: int = 170) -> Path:
    """The WAV file speaking ``text`` (made with espeak-ng + sox on first use)."""
    voice = VOICES.get(locale, locale)
    key = hashlib.sha256(f"{voice}|{speed}|{text}".encode()).hexdigest()[:24]
    target = Path(var_dir) / "voice" / "prompts" / f"{key}.wav"
    if target.exists():
        return target
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        raise PromptError("espeak-ng and sox are needed for text prompts (apt-get install)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        out = Path(tmp) / "out.wav"
        subprocess.run(
            [espeak, "-v", voice, "-s", str(speed), "-w", str(raw), text],
            check=True,
            capture_output=True,
            timeout=30,
        )
        subprocess.run(
            [sox, str(raw), "-r", "8000", "-c", "1", "-b", "16", str(out)],
            check=True,
            capture_output=True,
            timeout=30,
        )
        out.replace(target)  # atomic: a concurrent caller sees the whole file or none
    return target


def tone_wav(var_dir: Path | str, name: str, freqs: tuple[float, ...], seconds: float) -> Path:
    """A simple tone (music on hold stand-in), written with the stdlib only."""
    import math
    import struct

    target = Path(var_dir) / "voice" / "prompts" / f"{name}.wav"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    rate = 8000
    frames = bytearray()
    for i in range(int(rate * seconds)):
        t = i / rate
        envelope = 0.5 + 0.5 * math.sin(2 * math.pi * 0.5 * t)
        v = sum(math.sin(2 * math.pi * f * t) for f in freqs) / len(freqs)
        frames += struct.pack("<h", int(6000 * envelope * v))
    tmp = target.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    tmp.replace(target)
    return target
