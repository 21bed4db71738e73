"""The rule answerer kept for comparison (spaCy rules over sentences), and the attribution helpers."""
