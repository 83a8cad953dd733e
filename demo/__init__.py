"""The datanectar demo project: synthetic weather, every storage format, offline."""
