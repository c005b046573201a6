"""Browser tests: Debian Chromium driving the app as `make run` serves it."""
