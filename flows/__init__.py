"""Bytewax dataflows of crisiswatch: sources, parsing, windowing, detection, sinks."""
