"""The default answerer: the trained span reader and its answerability verifier."""
