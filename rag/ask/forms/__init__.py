"""Question forms: readings of a question about two things, or of a bridge to a second hop."""
