"""Primary sources: extract, chunk, embed, store and search.

This package imports neither ``checker`` nor ``bot``; it takes its settings as plain
arguments and its clients (chromadb, openai, httpx) from the caller.
"""
