"""Readers for file formats that need more than decoding: each turns a file's bytes into text
with the structure the rest of the pipeline reads by offset (pages, headings)."""
