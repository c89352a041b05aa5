"""The optional pyannote backend: its loading path fails clearly here, and its turns become an
attribution the same way the default backend's do (checked with the real sample's reference)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from models.diarization_pyannote import PyannoteDiarizer, PyannoteUnavailableError
from models.errors import ModelNotFoundError
from pipeline.integrity.evaluation import read_rttm, score
from pipeline.integrity.external import attribution_from_turns
from pipeline.integrity.timeline import TimeRange, merge_ranges


def _installed() -> bool:
    try:
        return importlib.util.find_spec("pyannote.audio") is not None
    except ModuleNotFoundError:
        return False


def _assert_names_the_fix(error: PyannoteUnavailableError) -> None:
    message = str(error)
    for name in ("DIARIZATION_BACKEND", "PYANNOTE_PIPELINE", "HF_TOKEN", "viva-voce[pyannote]"):
        assert name in message
    assert isinstance(error, ModelNotFoundError)  # /readyz and start-up treat it like any model


def test_missing_package_is_named_with_the_extra() -> None:
    with pytest.raises(PyannoteUnavailableError) as caught:
        PyannoteDiarizer("pyannote/speaker-diarization-community-1", token="hf_x")
    _assert_names_the_fix(caught.value)
    if not _installed():  # the case on this machine: the extra is never installed here
        assert "pyannote.audio cannot be imported" in str(caught.value)


def test_missing_local_directory_is_reported_before_the_import(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-pipeline"
    with pytest.raises(PyannoteUnavailableError) as caught:
        PyannoteDiarizer(str(missing))
    assert f"pyannote pipeline directory {str(missing)!r} not found" in str(caught.value)
    _assert_names_the_fix(caught.value)


def test_empty_setting_is_an_error() -> None:
    with pytest.raises(PyannoteUnavailableError, match="PYANNOTE_PIPELINE is empty"):
        PyannoteDiarizer("")


def test_existing_directory_gets_as_far_as_the_import(tmp_path: Path) -> None:
    with pytest.raises(PyannoteUnavailableError) as caught:
        PyannoteDiarizer(str(tmp_path))
    assert "not found" not in str(caught.value)


def test_speaker_turns_become_an_attribution(shared_data: Path) -> None:
    reference = read_rttm(shared_data / "pyannote-sample.rttm")
    speech = merge_ranges((TimeRange(t.start_s, t.end_s) for t in reference), gap_s=0.3)
    turns = [(t.start_s, t.end_s, t.speaker) for t in reference]
    attribution = attribution_from_turns(turns, list(enumerate(speech)))
    result = score(reference, attribution.ranges)
    # Perfect turns: single-speaker frames right up to the 0.1 s grid; overlapped speech
    # (1.9 s, 8 % of the reference) gets one label, so its second speaker counts as missed.
    assert result.mapping == {"candidate": "speaker90", "other": "speaker91"}
    assert result.attribution_accuracy > 0.99
    assert result.der < 0.12
    assert attribution.ranges_of("other")[0].start_s == pytest.approx(7.5, abs=0.11)


def test_no_turns_means_not_enrolled() -> None:
    attribution = attribution_from_turns([], [(0, TimeRange(0.0, 2.0))])
    assert not attribution.enrolled
    assert [r.label for r in attribution.ranges] == ["unknown"]
