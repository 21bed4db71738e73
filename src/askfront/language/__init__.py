"""The one language layer: numbers, scales and units, dates, names (spaCy), used by every stage above."""
