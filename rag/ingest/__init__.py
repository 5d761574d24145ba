"""Ingest: files -> Document (formats, sections) -> sentences with exact offsets -> chunks -> the store."""
