"""Stage 4: turning retrieved passages into answers with citations; the answerers and the conversation."""
