"""Platform connectors, one module per platform API. Adding a platform touches one file plus
the registry below."""
