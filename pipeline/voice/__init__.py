"""The real-time voice loop: audio in -> VAD -> streaming ASR -> turn engine -> TTS out.

Each stage is a small module that is testable alone; `loop.VoiceLoop` wires them per session.
"""
