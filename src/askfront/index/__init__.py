"""Stage 2: chunking, embedding, the stored index (FAISS, BM25, SQLite), builds, Ray builds, following the corpus."""
