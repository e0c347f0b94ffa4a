"""Settings (YAML files, then the environment) and ``runtime``, the one module that turns
them into each runtime part's plain config: the flow, the API, the worker and the
connectors take those configs and never read settings themselves."""
