"""The real-time voice loop: audio in -> VAD -> streaming ASR -> turn engine -> TTS out.

Each stage is a small module that is testable alone; `loop.VoiceLoop` wires them per session.
Cut by job: `recognition.Recognition` (the input timeline, VAD, the open answer's words) reports
to `VoiceLoop` (turn-taking, task supervision) through `recognition.RecognitionHooks`;
`turn_writer.TurnWriter` stores the committed turns in order; `playout.Playout` speaks (the
interviewer's voice paced to the client; not `integrity.speakers`, the speaker isolation).
"""
