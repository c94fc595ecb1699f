"""Story -> findings: segment, align, judge (offline engine or LLM), report."""
