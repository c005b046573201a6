"""imgapp's test suite."""
