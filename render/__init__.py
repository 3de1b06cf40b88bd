"""Pure functions that build the configuration files services read, as plain data.

`render_<thing>(settings, ...) -> dict`; `serialise` turns the data into
text with a real YAML/JSON library. Tests hand the results to the real tools.
"""
