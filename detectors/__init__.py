"""Pure, online detection models and the domain types they read and emit.

Nothing in this package does I/O or knows about Bytewax, Redis or FastAPI, so every
model can be tested by feeding it plain numbers and records.
"""
