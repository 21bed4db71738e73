"""The usual LangChain recipe, as a user would write it, for comparison with ``askfront index``.

    python benchmarks/langchain_recipe.py CORPUS OUT_DIR MODEL_PATH [--questions eval/demo.jsonl]

DirectoryLoader + TextLoader, RecursiveCharacterTextSplitter(1000, 100), HuggingFaceEmbeddings (same
local all-MiniLM-L6-v2, fp32, as LangChain uses it), FAISS.from_documents, save_local. Prints one JSON
line: chunks, seconds spent building (load + split + embed + index), and recall@5 on the question file
(a top-5 passage contains a gold answer). Needs ``pip install langchain-community langchain-huggingface``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    corpus, out, model = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    questions = Path(sys.argv[sys.argv.index("--questions") + 1]) if "--questions" in sys.argv else None
    from langchain_community.document_loaders import DirectoryLoader, TextLoader
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    started = time.perf_counter()
    docs = DirectoryLoader(corpus, glob="**/*.txt", loader_cls=TextLoader).load()
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100).split_documents(docs)
    embeddings = HuggingFaceEmbeddings(model_name=model)
    store = FAISS.from_documents(chunks, embeddings)
    store.save_local(str(out))
    seconds = time.perf_counter() - started
    recall = None
    if questions:
        rows = [json.loads(line) for line in questions.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if r["answers"]]
        found = 0
        for row in rows:
            hits = store.similarity_search(row["question"], k=5)
            golds = [" ".join(a.lower().split()) for a in row["answers"]]
            found += any(g in " ".join(h.page_content.lower().split()) for h in hits for g in golds)
        recall = found / len(rows)
    print(json.dumps({"chunks": len(chunks), "build_seconds": seconds, "recall@5": recall}))


if __name__ == "__main__":
    main()
