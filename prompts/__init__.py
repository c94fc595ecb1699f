"""The LLM's instructions, as versioned text files shipped as package data."""
