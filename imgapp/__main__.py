"""`python -m imgapp ...`: the operator command line."""

from imgapp.cli import main

raise SystemExit(main())
