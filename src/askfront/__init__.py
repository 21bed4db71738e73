"""askfront: offline question answering with citations over a folder of conflict reports."""

__version__ = "0.1.0"
