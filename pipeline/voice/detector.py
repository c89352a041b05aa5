"""Speech start/stop from per-frame speech probabilities, with hysteresis.

Pure logic on numbers, so it is tested with synthetic probabilities; the Silero stream that
produces them is `models.vad.SileroStream`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.voice.config import FRAME_MS, VadConfig


@dataclass(frozen=True)
class SpeechStarted:
    start_s: float  # onset of the voiced run that confirmed the start
    barge_in: bool  # confirmed while the interviewer was speaking


@dataclass(frozen=True)
class SpeechStopped:
    end_s: float  # end of the last voiced frame


class SpeechDetector:
    """Feed one probability per frame with the frame's end time; get start/stop transitions."""

    def __init__(self, config: VadConfig, frame_ms: float = FRAME_MS) -> None:
        self.config = config
        self.frame_s = frame_ms / 1000
        self.speaking = False
        self._run_s = 0.0  # voiced run while not speaking
        self._onset_s: float | None = None
        self._silence_s = 0.0  # silence while speaking
        self.last_voiced_end_s = 0.0
        # The end of speech with its soft tail (see `VadConfig.tail_threshold`): what the silence
        # that ends a turn is measured from.
        self.speech_end_s = 0.0
        self._tail_open = False

    @property
    def onset_pending(self) -> bool:
        """Voiced frames that may yet confirm a start: a turn should not end under them."""
        return not self.speaking and self._onset_s is not None

    def update(
        self, probability: float, end_s: float, *, agent_speaking: bool = False
    ) -> SpeechStarted | SpeechStopped | None:
        event = self._update(probability, end_s, agent_speaking)
        self._follow_tail(probability, end_s)
        return event

    def _follow_tail(self, probability: float, end_s: float) -> None:
        cfg = self.config
        if self.speaking and probability >= cfg.stop_threshold:
            self._tail_open = True
            self.speech_end_s = end_s
        elif (
            self._tail_open
            and probability >= cfg.tail_threshold
            and end_s - self.last_voiced_end_s <= cfg.tail_max_ms / 1000 + 1e-9
        ):
            self.speech_end_s = end_s
        else:
            self._tail_open = False

    def _update(
        self, probability: float, end_s: float, agent_speaking: bool
    ) -> SpeechStarted | SpeechStopped | None:
        cfg = self.config
        if not self.speaking:
            threshold = cfg.barge_in_threshold if agent_speaking else cfg.start_threshold
            needed_s = (cfg.barge_in_ms if agent_speaking else cfg.min_speech_ms) / 1000
            if probability >= threshold:
                if self._onset_s is None:
                    self._onset_s = end_s - self.frame_s
                self._run_s += self.frame_s
            elif probability < cfg.stop_threshold:
                self._run_s = 0.0
                self._onset_s = None
            # Between the thresholds a run neither grows nor breaks.
            if self._run_s >= needed_s - 1e-9 and self._onset_s is not None:
                self.speaking = True
                self._silence_s = 0.0
                self.last_voiced_end_s = end_s
                started = SpeechStarted(self._onset_s, barge_in=agent_speaking)
                self._run_s = 0.0
                self._onset_s = None
                return started
            return None
        if probability >= cfg.stop_threshold:
            self._silence_s = 0.0
            self.last_voiced_end_s = end_s
            return None
        self._silence_s += self.frame_s
        if self._silence_s >= cfg.stop_silence_ms / 1000 - 1e-9:
            self.speaking = False
            self._silence_s = 0.0
            return SpeechStopped(self.last_voiced_end_s)
        return None
