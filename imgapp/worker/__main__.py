"""`python -m imgapp.worker`: a standalone task processor."""

from imgapp.worker.entry import main

raise SystemExit(main())
