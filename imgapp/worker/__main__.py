"""`python -m imgapp.worker`: a standalone task processor."""

from imgapp.worker.processor import main

raise SystemExit(main())
