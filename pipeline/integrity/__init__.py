"""Candidate isolation and integrity: who is speaking, what the candidate alone said, how they
said it. Flags for a human reviewer, never automatic verdicts."""
