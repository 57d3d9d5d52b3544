"""Core: what every stage shares and nothing else: errors that name their file, line or key; reading
JSON and YAML and writing files atomically; network probes; where bundled suites and cards live; language codes.

May import: nothing of harness (the foundation every other package stands on).
"""
