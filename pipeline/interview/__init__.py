"""The interviewer: planning, answer analysis, the structured and LLM engines, the report."""
