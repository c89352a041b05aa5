"""Optional speaker diarization with pyannote.audio (`DIARIZATION_BACKEND=pyannote`).

Not installed by default: `pip install 'viva-voce[pyannote]'`. Its pipelines need weights from
a local directory (`PYANNOTE_PIPELINE=/path/to/pipeline`) or the Hugging Face hub
(`PYANNOTE_PIPELINE=pyannote/speaker-diarization-community-1` with `HF_TOKEN`, the weights being
gated). Nothing is packaged, so an empty setting is an error. On this project's offline CPU
machines it cannot run: PyPI's torchaudio for it is a CUDA build that does not load beside the
pinned CPU torch, and the hub is out of reach; the default Resemblyzer backend is used there.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from models.errors import ModelNotFoundError

SETTING = "PYANNOTE_PIPELINE"
EXTRA = "viva-voce[pyannote]"
SAMPLE_RATE = 16000


class PyannoteUnavailableError(ModelNotFoundError):
    """The pyannote backend was chosen but cannot be used; the message says how to fix it."""

    def __init__(self, detail: str) -> None:
        self.setting = SETTING
        self.package = EXTRA
        RuntimeError.__init__(
            self,
            f"{detail} (DIARIZATION_BACKEND=pyannote needs `pip install '{EXTRA}'` and "
            f"{SETTING} set to a local pipeline directory, or to a Hugging Face pipeline name "
            "with HF_TOKEN; or set DIARIZATION_BACKEND=resemblyzer, the offline default)",
        )


def _local_directory(source: str) -> Path | None:
    """The directory `source` names, if it is written as a path; None for a hub name."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if source.startswith(("/", ".", "~")):
        raise PyannoteUnavailableError(f"pyannote pipeline directory {source!r} not found")
    return None


class PyannoteDiarizer:
    """A loaded pyannote.audio diarization pipeline, on CPU."""

    def __init__(self, source: str, token: str = "") -> None:
        if not source:
            raise PyannoteUnavailableError(
                f"{SETTING} is empty and no pyannote pipeline is packaged"
            )
        # Checked before importing, so a wrong path is reported as such, installed or not.
        local = _local_directory(source)
        try:
            from pyannote.audio import Pipeline
        except ImportError as exc:  # also torchaudio failing to load beside CPU torch
            raise PyannoteUnavailableError(f"pyannote.audio cannot be imported: {exc}") from exc
        # pyannote.audio 4 takes `token`; 3.x took `use_auth_token`.
        auth = (
            "token"
            if "token" in inspect.signature(Pipeline.from_pretrained).parameters
            else "use_auth_token"
        )
        try:
            pipeline = Pipeline.from_pretrained(str(local or source), **{auth: token or None})
        except Exception as exc:  # hub, network, gating and checkpoint errors alike
            raise PyannoteUnavailableError(
                f"pyannote pipeline {source!r} could not be loaded: {exc}"
            ) from exc
        if pipeline is None:  # 3.x returns None for gated weights without a token
            raise PyannoteUnavailableError(f"pyannote pipeline {source!r} needs HF_TOKEN")
        self.pipeline = pipeline
        self.source = source

    def diarize(self, audio16k: np.ndarray) -> list[tuple[float, float, str]]:
        """(start_s, end_s, speaker) turns of 16 kHz mono audio. Blocking, and slow on CPU."""
        import torch

        waveform = torch.from_numpy(np.asarray(audio16k, dtype=np.float32))[None, :]
        output = self.pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE})
        # pyannote.audio 4 wraps the annotation; 3.x returns it.
        annotation = getattr(output, "speaker_diarization", output)
        return [
            (float(turn.start), float(turn.end), str(speaker))
            for turn, _, speaker in annotation.itertracks(yield_label=True)
        ]
