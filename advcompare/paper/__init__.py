"""The paper check: its reference figures, verdicts, causes and claims."""
