"""Silero VAD v6 (the ONNX file shipped inside faster-whisper), driven frame by frame.

faster-whisper's own wrapper resets the recurrent state on every call, so streaming drives the
onnxruntime session directly and carries `h`, `c` and the last 64 samples between frames, except
across digital silence (see `SileroStream.probability`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.errors import ModelNotFoundError

SETTING = "VAD_MODEL"
PACKAGE = "faster-whisper"
FRAME_SAMPLES = 512  # 32 ms at 16 kHz
CONTEXT_SAMPLES = 64
SAMPLE_RATE = 16000
# A frame with no sample above one 16-bit step is digital silence (a muted microphone, a client
# sending zeros while the interviewer speaks, padding): no microphone's noise floor is that low.
DIGITAL_SILENCE = 1.0 / 32768


def default_model_path() -> Path:
    try:
        from faster_whisper.utils import get_assets_path
    except ImportError as exc:
        raise ModelNotFoundError(SETTING, PACKAGE, "faster-whisper not installed") from exc
    return Path(get_assets_path()) / "silero_vad_v6.onnx"


class SileroVAD:
    """The shared ONNX session; one `SileroStream` per audio stream holds the state."""

    def __init__(self, source: str = "") -> None:
        import onnxruntime

        path = Path(source) if source else default_model_path()
        if not path.is_file():
            raise ModelNotFoundError(
                SETTING, PACKAGE, f"Silero VAD ONNX file {str(path)!r} not found"
            )
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), providers=["CPUExecutionProvider"], sess_options=opts
            )
        except Exception as exc:
            raise ModelNotFoundError(
                SETTING, PACKAGE, f"{str(path)!r} is not a VAD model: {exc}"
            ) from exc
        self.source = str(path)

    def stream(self) -> SileroStream:
        return SileroStream(self)


class SileroStream:
    """Stateful speech probability for consecutive 512-sample frames of one stream."""

    def __init__(self, vad: SileroVAD) -> None:
        self._session = vad.session
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    def probability(self, frame: np.ndarray) -> float:
        """Speech probability of one 512-sample float32 frame at 16 kHz."""
        if frame.shape != (FRAME_SAMPLES,):
            raise ValueError(f"VAD frames are {FRAME_SAMPLES} samples, got {frame.shape}")
        if not np.any(np.abs(frame) > DIGITAL_SILENCE):
            # Digital silence starts the state afresh. Carried through it, the state drifts
            # frame after frame and never settles: the same answer after 60 or 333 frames of
            # zeros got speech probabilities up to 0.4 apart, so where its turn started and its
            # segments were cut depended on how long the client had sent silence before it,
            # i.e. on timing (issue 28). Fresh, whatever came before.
            self.reset()
        x = np.concatenate([self._context, frame.astype(np.float32, copy=False)])[None, :]
        out, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = frame[-CONTEXT_SAMPLES:].astype(np.float32, copy=True)
        return float(np.asarray(out).reshape(-1)[0])
