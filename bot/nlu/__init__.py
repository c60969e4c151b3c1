"""Understanding free text: which language a message is in (and, later, what it asks)."""
