"""Stage 3: finding passages (dense, BM25, hybrid rankers with filters) and exact text across reports."""
