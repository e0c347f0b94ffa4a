"""Model files the project builds and loads offline: the MiniLM teacher, the distilled
static embedding table and its projection, and the sentiment model's weights."""
