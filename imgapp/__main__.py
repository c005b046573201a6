"""`python -m imgapp ...`: the operator command line."""

from imgapp.cli import main

if __name__ == "__main__":  # not when a spawned child process imports it
    raise SystemExit(main())
