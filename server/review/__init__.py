"""Reviewing what the interviews produced: the report as a PDF, human review of flagged reports, and the bias audits with the self-reported demographic categories only they may read."""
