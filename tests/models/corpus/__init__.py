"""Small but real-structured vision and sequence models for the counting corpus (one per file)."""
