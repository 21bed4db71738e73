"""The askfront command line."""
