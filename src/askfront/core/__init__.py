"""Shared at the bottom of the pipeline: the data types, errors, settings and the one cache helper."""
